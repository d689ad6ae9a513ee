"""The graph posterior in the product: the store's trusted chest graph, the front end's reading given the view,
the answer / counterfactual checks reading it, the per-source note, persistence and bad views."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kg.claims import CausalClaim, Concept, SourceSpan, write_claims
from kg.concepts import concept_for_finding
from kg.namespaces import NAMED_GRAPHS
from reasoning.posterior import FitSettings, ScoreFit, ScoreReading, fit_network, label_data
from reasoning.posterior.chest import ChestEdge, ChestNetwork, chest_edges, chest_nodes
from tests.fixtures.vlm.builders import HashTextEncoder, tiny_assets
from vlm.errors import InputError
from vlm.infer import Grounder
from vlm.posterior import FrontEndPosterior, calibrated_fit, check_view, fit_front_end_reading

NODES = ("pneumonia", "consolidation", "pleural_effusion", "lung_nodule")


def _tables(seed: int = 0) -> pd.DataFrame:
    """Two sources: pneumonia causes consolidation (strongly in one, weakly in the other), effusion follows
    pneumonia a little, nodules are independent."""
    rng = np.random.default_rng(seed)
    frames = []
    for src, strength, n in (("a", 0.7, 4000), ("b", 0.2, 4000)):
        pn = rng.random(n) < 0.2
        cons = np.where(pn, rng.random(n) < strength, rng.random(n) < 0.05)
        eff = np.where(pn, rng.random(n) < 0.3, rng.random(n) < 0.08)
        nod = rng.random(n) < 0.1
        frames.append(pd.DataFrame({"source": src, "pneumonia": pn.astype(float), "consolidation": cons.astype(float),
                                    "pleural_effusion": eff.astype(float), "lung_nodule": nod.astype(float)}))
    return pd.concat(frames, ignore_index=True)


def _network() -> ChestNetwork:
    edges = (ChestEdge("pneumonia", "consolidation", "accepted", "c1"),
             ChestEdge("pneumonia", "pleural_effusion", "accepted", "c2"))
    data = label_data([_tables()], list(NODES))
    net = fit_network(NODES, [(e.cause, e.effect) for e in edges], data, FitSettings())
    return ChestNetwork(net, edges, ("a", "b"), "test-key")


def _reading(ap_offset: float = 0.0) -> ScoreReading:
    fits = {n: calibrated_fit(0.2) for n in NODES}
    fits["pneumonia"] = ScoreFit(-1.0, 1.0, 1.0, 100, 100, {"AP": ap_offset, "PA": -ap_offset})
    return ScoreReading("backdoor", fits, {})


@pytest.fixture(scope="module")
def posterior() -> FrontEndPosterior:
    return FrontEndPosterior(_network(), _reading(ap_offset=1.0))


def test_the_posterior_combines_evidence_along_the_graph(posterior):
    low = posterior.read({"Pneumonia": 0.1, "Consolidation": 0.2, "Nodule": 0.2}, "PA")
    high = posterior.read({"Pneumonia": 0.9, "Consolidation": 0.2, "Nodule": 0.2}, "PA")
    assert high.labels["Pneumonia"] > low.labels["Pneumonia"]
    assert high.labels["Consolidation"] > low.labels["Consolidation"], "the effect follows its cause"
    assert high.labels["Nodule"] == pytest.approx(low.labels["Nodule"]), "an unlinked finding does not move"
    assert set(high.labels) == {"Pneumonia", "Consolidation", "Effusion", "Nodule"}
    assert high.read == {"Pneumonia": 0.9, "Consolidation": 0.2, "Nodule": 0.2}


def test_the_view_is_read_by_the_backdoor_offsets(posterior):
    ap = posterior.read({"Pneumonia": 0.7}, "AP").labels["Pneumonia"]
    pa = posterior.read({"Pneumonia": 0.7}, "PA").labels["Pneumonia"]
    pooled = posterior.read({"Pneumonia": 0.7}, None).labels["Pneumonia"]
    assert ap < pooled < pa, "a view that raises every score gives the same score less weight"
    assert posterior.read({"Pneumonia": 0.7}, "AP").result.findings[0].stratum == "AP"


def test_counterfactual_queries_ask_the_same_model_under_do(posterior):
    probs = {"Pneumonia": 0.9, "Consolidation": 0.6}
    do, factual = posterior.expected_under_do(probs, "PA", "pneumonia", "consolidation")
    assert factual == pytest.approx(posterior.read(probs, "PA").labels["Consolidation"])
    assert do < factual
    assert posterior.expected_under_do(probs, "PA", "https://w3id.org/mcrag/concept/pneumonia",
                                       "https://w3id.org/mcrag/concept/consolidation")[0] == pytest.approx(do)
    assert posterior.expected_under_do(probs, "PA", "pneumonia", "heart_failure") is None


def test_an_edge_whose_effect_differs_across_sources_names_the_sources_it_used(posterior):
    note = posterior.edge_note("https://w3id.org/mcrag/concept/pneumonia", "https://w3id.org/mcrag/concept/consolidation")
    assert note is not None and "differs across sources" in note and "a" in note and "b" in note
    assert posterior.edge_note("https://w3id.org/mcrag/concept/pneumonia",
                               "https://w3id.org/mcrag/concept/lung_nodule") is None


def test_front_end_prior_keeps_the_calibration_and_adds_the_structure():
    fp = FrontEndPosterior(_network(), _reading(), prior="front-end")
    alone = fp.read({"Nodule": 0.37}, None).labels["Nodule"]
    assert alone == pytest.approx(0.37, abs=1e-6), "an unlinked finding keeps the front end's probability"
    with_cause = fp.read({"Pneumonia": 0.95, "Consolidation": 0.3}, None).labels["Consolidation"]
    without = fp.read({"Pneumonia": 0.02, "Consolidation": 0.3}, None).labels["Consolidation"]
    assert with_cause > 0.3 > without


def test_the_reading_is_fitted_where_labelled_scores_suffice_and_label_free_elsewhere():
    rng = np.random.default_rng(1)
    n = 400
    y = (rng.random(n) < 0.3).astype(float)
    views = np.where(rng.random(n) < 0.5, "AP", "PA")
    logits = pd.DataFrame({"pneumonia": 2 * y - 1 + 0.8 * (views == "AP") + rng.standard_normal(n),
                           "lung_nodule": rng.normal(-2.0, 1.0, n)})
    labels = pd.DataFrame({"pneumonia": y, "lung_nodule": np.nan})
    reading, how = fit_front_end_reading(logits, labels, list(views), ["pneumonia", "lung_nodule"])
    off = reading.fits["pneumonia"].offsets
    assert off["AP"] - off["PA"] == pytest.approx(0.8, abs=0.3)
    assert "score model" in how["pneumonia"] and "mean" in how["lung_nodule"]
    mean_p = float((1 / (1 + np.exp(-logits["lung_nodule"]))).mean())
    lr = reading.log_lr("lung_nodule", np.array([np.log(mean_p / (1 - mean_p))]), ["PA"])
    assert lr[0] == pytest.approx(0.0, abs=1e-6), "a film scored like the average film carries no evidence"


def test_save_and_load_round_trip(tmp_path, posterior):
    posterior.save(tmp_path / "index", tmp_path / "cache")
    back = FrontEndPosterior.load(tmp_path / "index")
    assert back is not None
    probs = {"Pneumonia": 0.8, "Effusion": 0.3}
    assert back.read(probs, "AP").labels == pytest.approx(posterior.read(probs, "AP").labels)
    assert FrontEndPosterior.load(tmp_path / "nothing") is None


def test_views_are_checked():
    assert check_view("ap") == "AP" and check_view(None) is None and check_view("unknown") is None
    with pytest.raises(ValueError, match="unknown view"):
        check_view("lateral")


def test_store_edges_are_trusted_chest_edges_between_table_concepts_strongest_first(bootstrapped_store):
    drug = Concept("http://id.nlm.nih.gov/mesh/D012254", "ribavirin", "Drug")
    write_claims(bootstrapped_store, [
        CausalClaim(drug, concept_for_finding("Pneumonia"), status="validated",
                    span=SourceSpan("p1", "Ribavirin caused pneumonia.", 0, 20, source="bc5cdr"), extractor="t"),
        CausalClaim(concept_for_finding("Emphysema"), concept_for_finding("Effusion"), status="proposed",
                    span=SourceSpan("p2", "x", 0, 1, source="bc5cdr"), extractor="t"),
    ], NAMED_GRAPHS["literature"])
    edges = chest_edges(bootstrapped_store)
    pairs = {(e.cause, e.effect) for e in edges}
    assert ("pneumonia", "consolidation") in pairs and ("covid19", "pneumonia") in pairs
    assert not any(e.cause == "emphysema" and e.effect == "pleural_effusion" for e in edges), "proposed stays out"
    assert all(e.status in ("accepted", "validated") for e in edges)
    assert len(pairs) == len(edges)
    data = label_data([_tables()], list(NODES) + ["covid19"])
    nodes = chest_nodes(edges, data, ["pneumonia", "consolidation", "lung_nodule"])
    assert nodes[:3] == ("pneumonia", "consolidation", "lung_nodule")
    assert "covid19" not in nodes, "a concept no label table reports is not a node"


@pytest.fixture(scope="module")
def grounder_with_posterior(posterior):
    from vlm.grounding import starter_store

    a = tiny_assets()
    return Grounder.load(a["model"], a["index"], starter_store(), text_encoder=HashTextEncoder(), posterior=posterior)


def test_causal_answers_read_the_graph_posterior_and_other_modes_do_not(grounder_with_posterior, posterior):
    g = grounder_with_posterior
    vec = {"Pneumonia": 0.9, "Consolidation": 0.4, "Nodule": 0.05}
    causal = g.infer(None, "diagnose", retrieval="causal", findings=vec, view="AP")
    expected = posterior.read({**dict.fromkeys(causal.probabilities("probability"), 0.0), **vec}, "AP").labels
    got = causal.probabilities()
    for name, p in expected.items():
        assert got[name] == pytest.approx(p, abs=1e-6)
    assert causal.graph_posterior is not None and causal.view == "AP"
    assert causal.to_json()["graph_posterior"]["view"] == "AP"
    none = g.infer(None, "diagnose", retrieval="none", findings=vec)
    assert none.graph_posterior is None and none.probabilities()["Consolidation"] == pytest.approx(0.4)
    assert any("differs across sources" in n for n in causal.notes)
    assert "differs across sources" in causal.answer, "the answer says which sources an edge it cites used"
    checks = [c for c in causal.counterfactuals if c.effect is not None]
    assert checks
    for c in checks:
        both = c.cause in posterior.label_node and c.effect in posterior.label_node
        assert (c.engine == "graph-posterior") == both, "checks between two network nodes ask the network"


def test_a_bad_view_is_refused(grounder_with_posterior):
    with pytest.raises(InputError, match="unknown view"):
        grounder_with_posterior.infer(None, "diagnose", retrieval="causal", findings={"Pneumonia": 0.9},
                                      view="sideways")
