"""Retrieval modes: semantic similarity, causal filtering, confounder adjustment, counterfactual exemplars."""

from __future__ import annotations

import numpy as np
import pytest

from reasoning.evidence import causal_subgraph, concept_iris_for
from vlm.counterfactual import noisy_or
from vlm.errors import InputError
from vlm.index import Exemplar, index_from_vectors
from vlm.labels import LABEL_INDEX, LABELS
from vlm.retrieval import RetrievalSettings, Retriever, check_mode, consistency_weights

D = 32


def _bits(*names: str) -> int:
    return sum(1 << LABEL_INDEX[n] for n in names)


def _near(q: np.ndarray, sim: float, seed: int) -> np.ndarray:
    """A unit vector with cosine ``sim`` to unit ``q``."""
    r = np.random.default_rng(seed).standard_normal(D).astype(np.float32)
    r -= r.dot(q) * q
    r /= np.linalg.norm(r)
    return (sim * q + np.sqrt(1 - sim ** 2) * r).astype(np.float32)


@pytest.fixture()
def query() -> np.ndarray:
    q = np.random.default_rng(42).standard_normal(D).astype(np.float32)
    return q / np.linalg.norm(q)


def _index(query: np.ndarray, cases: list[tuple[float, tuple[str, ...], str, int]]):
    """cases: (similarity to the query, findings, stratum, known-bits) plus far-away filler."""
    vecs, lb, kb, strata, ex = [], [], [], [], []
    for i, (sim, findings, stratum, known) in enumerate(cases):
        vecs.append(_near(query, sim, i))
        lb.append(_bits(*findings))
        kb.append(known)
        strata.append(stratum)
        ex.append(Exemplar(f"case-{i}", stratum.split("|")[0], "train", stratum.split("|")[1], "x", findings, f"text {i}"))
    for j in range(200):
        vecs.append(_near(query, -0.5, 1000 + j))
        lb.append(_bits("normal"))
        kb.append(_bits("normal", "Effusion"))
        strata.append("filler|PA|x")
        ex.append(Exemplar(f"filler-{j}", "filler", "train", "PA", "x", ("normal",), ""))
    return index_from_vectors(np.stack(vecs), np.array(lb, np.uint32), np.array(kb, np.uint32), strata,
                              exemplars=ex, hnsw_m=16, ef_construction=100)


ALL = (1 << len(LABELS)) - 1


def test_mode_names_are_checked():
    assert check_mode("causal") == "causal"
    with pytest.raises(InputError, match="none, semantic, causal"):
        check_mode("magic")


def test_consistency_weights_follow_the_graph(bootstrapped_store):
    g = causal_subgraph(bootstrapped_store, concept_iris_for(["Effusion"]), hops=2)
    w = consistency_weights(g, ["Effusion"])
    assert w[LABEL_INDEX["Effusion"]] == 1.0
    assert w[LABEL_INDEX["Atelectasis"]] == pytest.approx(0.7), "effusion causes atelectasis: one hop"
    assert w[LABEL_INDEX["Consolidation"]] == pytest.approx(0.4), "via pneumonia: two hops"
    assert w[LABEL_INDEX["Hernia"]] == 0.0 and w[LABEL_INDEX["normal"]] == 0.0
    normal = consistency_weights(None, [])
    assert normal[LABEL_INDEX["normal"]] == 1.0 and normal.sum() == 1.0


def test_causal_mode_drops_inconsistent_exemplars_that_semantic_keeps(bootstrapped_store, query):
    idx = _index(query, [
        (0.95, ("Hernia",), "a|PA", ALL),  # most similar, causally unrelated to effusion
        (0.90, ("Effusion",), "a|PA", ALL),
        (0.85, ("Atelectasis",), "a|PA", ALL),  # an effect of effusion
        (0.80, ("normal",), "a|PA", ALL),
    ])
    r = Retriever(idx, RetrievalSettings(k=3, counterfactuals=0))
    sem = r.semantic(query)
    assert [h.exemplar.id for h in sem.hits] == ["case-0", "case-1", "case-2"]
    g = causal_subgraph(bootstrapped_store, concept_iris_for(["Effusion"]), hops=2)
    probs = dict.fromkeys(LABELS, 0.05) | {"Effusion": 0.9}
    cau = r.causal(query, probs, g)
    ids = [h.exemplar.id for h in cau.hits]
    assert "case-0" not in ids and "case-3" not in ids
    assert ids[:2] == ["case-1", "case-2"]
    assert cau.hits[0].consistency == 1.0 and cau.hits[1].consistency == pytest.approx(0.7)
    assert cau.dropped >= 2


def test_backdoor_weight_and_stratum_discount_demote_confounded_matches(bootstrapped_store, query):
    # Effusion is over-represented in the "portable" stratum; a rare department-film effusion ranks up
    cases = [(0.90, ("Effusion",), "a|portable", ALL)] + [(0.2, ("Effusion",), "a|portable", ALL)] * 30
    cases += [(0.88, ("Effusion",), "a|department", ALL)] + [(0.2, ("normal",), "a|department", ALL)] * 30
    idx = _index(query, cases)
    g = causal_subgraph(bootstrapped_store, concept_iris_for(["Effusion"]), hops=1)
    probs = dict.fromkeys(LABELS, 0.0) | {"Effusion": 0.9}
    plain = Retriever(idx, RetrievalSettings(k=2, backdoor_power=0.0, stratum_discount=0.0, counterfactuals=0))
    adjusted = Retriever(idx, RetrievalSettings(k=2, counterfactuals=0))
    assert plain.causal(query, probs, g).hits[0].exemplar.id == "case-0"
    top = adjusted.causal(query, probs, g).hits[0]
    assert top.exemplar.id == "case-31" and top.weight > 1.0


def test_counterfactual_exemplar_differs_in_the_cause(bootstrapped_store, query):
    idx = _index(query, [
        (0.95, ("Effusion", "Atelectasis"), "a|PA", ALL),
        (0.90, ("Effusion", "Atelectasis"), "a|PA", ALL),
        (0.60, ("Cardiomegaly",), "a|PA", ALL),  # no effusion, no atelectasis: the nearest "do(effusion=0)" case
    ])
    g = causal_subgraph(bootstrapped_store, concept_iris_for(["Effusion", "Atelectasis"]), hops=1)
    probs = dict.fromkeys(LABELS, 0.02) | {"Effusion": 0.9, "Atelectasis": 0.8}
    res = Retriever(idx, RetrievalSettings(k=2, candidates=2)).causal(query, probs, g)
    toggles = [c for c in res.counterfactuals if c.kind == "toggle-cause"]
    assert toggles, "a predicted cause with an observable effect yields a counterfactual exemplar"
    c = next(c for c in toggles if c.effect == "Atelectasis")
    assert c.cause == "Effusion" and c.exemplar.id == "case-2" and "Effusion" not in c.exemplar.findings
    assert c.claim_id in {e.claim_id for e in g.edges} and c.edge_ref
    assert c.expected is not None and c.expected < c.factual
    assert c.observed is False and c.agrees is True and c.engine == "noisy-or"


def test_contrast_case_when_no_cause_is_observable(bootstrapped_store, query):
    idx = _index(query, [(0.9, ("Hernia",), "a|PA", ALL), (0.7, ("normal",), "a|PA", ALL)])
    probs = dict.fromkeys(LABELS, 0.0) | {"Hernia": 0.9}
    g = causal_subgraph(bootstrapped_store, concept_iris_for(["Hernia"]), hops=1)
    res = Retriever(idx).causal(query, probs, g)
    assert res.counterfactuals[0].kind == "contrast"
    assert "Hernia" not in res.counterfactuals[0].exemplar.findings


def test_noisy_or_keeps_other_causes(bootstrapped_store):
    g = causal_subgraph(bootstrapped_store, concept_iris_for(["Atelectasis"]), hops=1)
    eff, pnx, atel = concept_iris_for(["Effusion", "Pneumothorax", "Atelectasis"])
    both = noisy_or(g, {eff: 1.0, pnx: 1.0}, atel, {})
    one = noisy_or(g, {eff: 1.0, pnx: 1.0}, atel, {eff: 0.0})
    none = noisy_or(g, {eff: 0.0, pnx: 0.0}, atel, {})
    assert both > one > none
