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


# -- the front end read against its confounder stratum ---------------------------------------------
def _sig(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))


def _scored_index(query: np.ndarray, cells: dict[tuple[str, bool], tuple[int, float]], scored: bool = True):
    """Exemplars per (view, has COVID-19): (count, front-end logit of COVID-19); all near the query."""
    vecs, lb, kb, strata, ex, scores = [], [], [], [], [], []
    for (view, covid), (count, lg) in cells.items():
        for _ in range(count):
            i = len(vecs)
            findings = ("COVID-19", "Pneumonia") if covid else ("Pneumonia",)
            vecs.append(_near(query, 0.9 if view == "AP" else 0.6, i))
            lb.append(_bits(*findings))
            kb.append(_bits("COVID-19", "Pneumonia", "normal"))
            strata.append(f"s|{view}|x")
            ex.append(Exemplar(f"case-{i}", "s", "train", view, "x", findings, f"text {i}"))
            row = np.full(len(LABELS), np.nan, np.float32)
            row[LABEL_INDEX["COVID-19"]] = _sig(lg)
            scores.append(row)
    return index_from_vectors(np.stack(vecs), np.array(lb, np.uint32), np.array(kb, np.uint32), strata,
                              exemplars=ex, hnsw_m=16, ef_construction=100,
                              front_end=np.stack(scores) if scored else None)


def _probs(p: float) -> dict[str, float]:
    return dict.fromkeys(LABELS, 0.0) | {"COVID-19": p, "Pneumonia": 1.0}


def test_front_end_offset_is_the_stratum_mean_against_the_weighted_mean(query):
    # AP: 30 exemplars at logit +2; PA: 10 at logit -1 -> weighted mean 1.25, offsets +0.75 / -2.25
    idx = _scored_index(query, {("AP", True): (30, 2.0), ("PA", True): (10, -1.0)})
    off = idx.front_end_offsets(LABEL_INDEX["COVID-19"], "stratum")
    ap, pa = idx.stratum_code("s|AP|x"), idx.stratum_code("s|PA|x")
    assert off.reference == pytest.approx(1.25, abs=1e-4)
    assert off.offsets[ap] == pytest.approx(0.75, abs=1e-4) and off.offsets[pa] == pytest.approx(-2.25, abs=1e-4)
    r = Retriever(idx, RetrievalSettings(front_end_adjustment="stratum"))
    for stratum, shift in (("s|AP|x", -0.75), ("s|PA|x", 2.25)):
        out, adj = r.adjust_front_end(_probs(0.5), query, stratum)
        assert np.log(out["COVID-19"] / (1 - out["COVID-19"])) == pytest.approx(shift, abs=1e-4)
        assert adj.stratum == stratum and adj.stratum_from == "given"
        assert adj.shifts["COVID-19"] == pytest.approx(shift, abs=1e-4)
        assert out["Pneumonia"] == 1.0, "labels the index holds no scores for are left alone"
    # without metadata the stratum is the one the query embedding sits nearest to (AP here)
    _, inferred = r.adjust_front_end(_probs(0.5), query)
    assert inferred.stratum == "s|AP|x" and inferred.stratum_from == "nearest-centroid"


def test_stratum_finding_offsets_discount_only_the_direct_effect_of_the_stratum(query):
    # same per-finding logits in both views, different finding mix: the marginal offset is pure case mix
    mix = {("AP", True): (24, 2.0), ("AP", False): (6, -2.0), ("PA", True): (6, 2.0), ("PA", False): (24, -2.0)}
    idx = _scored_index(query, mix)
    c = LABEL_INDEX["COVID-19"]
    assert abs(idx.front_end_offsets(c, "stratum").offsets).max() > 1.0
    assert np.allclose(idx.front_end_offsets(c, "stratum-finding").offsets, 0.0, atol=1e-4)
    # a view that adds +1 logit to every film, whatever the finding, is taken off exactly
    shifted = _scored_index(query, {**mix, ("AP", True): (24, 3.0), ("AP", False): (6, -1.0)})
    off = shifted.front_end_offsets(c, "stratum-finding")
    ap, pa = shifted.stratum_code("s|AP|x"), shifted.stratum_code("s|PA|x")
    assert off.offsets[ap] - off.offsets[pa] == pytest.approx(1.0, abs=1e-4)


def test_perfect_confounding_is_not_identifiable_and_leaves_the_reading_alone(query):
    idx = _scored_index(query, {("AP", True): (20, 2.0), ("PA", False): (20, -2.0)})
    r = Retriever(idx, RetrievalSettings(front_end_adjustment="stratum-finding"))
    out, adj = r.adjust_front_end(_probs(0.7), query, "s|PA|x")
    assert out == _probs(0.7)
    assert adj is not None and not adj.shifts and "not identifiable" in adj.skipped[0]


def test_one_stratum_or_no_scores_changes_nothing(query):
    one = _scored_index(query, {("AP", True): (20, 2.0), ("AP", False): (20, -2.0)})
    unscored = _scored_index(query, {("AP", True): (20, 2.0), ("PA", True): (20, -2.0)}, scored=False)
    for idx in (one, unscored):
        for method in ("stratum", "stratum-finding"):
            out, adj = Retriever(idx, RetrievalSettings(front_end_adjustment=method)).adjust_front_end(
                _probs(0.7), query, "s|AP|x")
            assert out == _probs(0.7) and adj is None


def _grounder(idx, method="stratum"):
    """The product grounder with an injected front end (its public ``findings`` / ``query_embedding`` inputs)."""
    from tests.fixtures.vlm.builders import InjectedFindingsBackend
    from vlm.infer import Grounder

    return Grounder(InjectedFindingsBackend(), idx, settings=RetrievalSettings(front_end_adjustment=method))


def _infer(grounder, query, p, retrieval, stratum):
    return grounder.infer(None, "diagnose", None, retrieval, findings=_probs(p), query_embedding=query, stratum=stratum)


def _grounded(idx, query, p, stratum, method="stratum"):
    return _infer(_grounder(idx, method), query, p, "causal", stratum)


def test_causal_posterior_moves_by_the_stratum_offset(query):
    cells = {("AP", True): (30, 2.0), ("PA", True): (10, -1.0)}
    scored, plain = _scored_index(query, cells), _scored_index(query, cells, scored=False)
    p = 0.8  # logit 1.386: stays above 0.5 after -0.75, so retrieval is the same either way
    before = _grounded(plain, query, p, "s|AP|x")
    after = _grounded(scored, query, p, "s|AP|x")
    assert [h.exemplar.id for h in before.exemplars] == [h.exemplar.id for h in after.exemplars]
    fb = {f.name: f for f in before.findings}["COVID-19"]
    fa = {f.name: f for f in after.findings}["COVID-19"]
    assert fa.probability == fb.probability == pytest.approx(p), "the front end's own reading is still shown"
    assert fa.prior == pytest.approx(fb.prior)
    expected = 0.75 * _sig(np.log(p / (1 - p)) - 0.75) + 0.25 * fb.prior
    assert fa.posterior == pytest.approx(expected, abs=1e-4)
    assert after.adjustment.shifts["COVID-19"] == pytest.approx(-0.75, abs=1e-4)
    assert before.adjustment is None
    js = after.to_json()["front_end_adjustment"]
    assert js["stratum"] == "s|AP|x" and js["logit_shift"]["COVID-19"] == pytest.approx(-0.75, abs=1e-3)
    assert any("confounder stratum s|AP|x" in n for n in after.notes)
    # other modes never adjust
    sem = _infer(_grounder(scored), query, p, "semantic", "s|AP|x")
    assert sem.adjustment is None


def test_without_scores_or_with_one_stratum_the_causal_result_is_unchanged(query):
    cells = {("AP", True): (20, 2.0), ("AP", False): (20, -2.0)}
    a = _grounded(_scored_index(query, cells), query, 0.7, "s|AP|x").to_json()
    b = _grounded(_scored_index(query, cells, scored=False), query, 0.7, "s|AP|x").to_json()
    a.pop("timings_ms"), b.pop("timings_ms")
    assert a == b and a["front_end_adjustment"] is None


def test_front_end_scores_survive_save_and_load(tmp_path, query):
    from vlm.index import ExemplarIndex

    idx = _scored_index(query, {("AP", True): (5, 2.0), ("PA", True): (5, -1.0)})
    back = ExemplarIndex.load(idx.save(tmp_path / "scored"))
    assert np.array_equal(np.isnan(back.front_end), np.isnan(idx.front_end))
    assert np.allclose(np.nan_to_num(back.front_end), np.nan_to_num(idx.front_end))
    plain = _scored_index(query, {("AP", True): (5, 2.0)}, scored=False)
    assert ExemplarIndex.load(plain.save(tmp_path / "plain")).front_end is None


# -- a held-out calibration set for the offsets ----------------------------------------------------
def _calibrate(idx, cells: dict[tuple[str, bool], tuple[int, float]]):
    """Attach held-out scores per (view, has COVID-19): (count, logit)."""
    scores, strata, lb, kb = [], [], [], []
    for (view, covid), (count, lg) in cells.items():
        for _ in range(count):
            row = np.full(len(LABELS), np.nan, np.float32)
            row[LABEL_INDEX["COVID-19"]] = _sig(lg)
            scores.append(row)
            strata.append(f"s|{view}|x")
            lb.append(_bits("COVID-19", "Pneumonia") if covid else _bits("Pneumonia"))
            kb.append(_bits("COVID-19", "Pneumonia", "normal"))
    return idx.set_calibration(np.stack(scores), strata, np.array(lb, np.uint32), np.array(kb, np.uint32), "held out")


MEMORISED = {("AP", True): (10, 3.0), ("AP", False): (10, -3.0), ("PA", True): (10, 3.0), ("PA", False): (10, -3.0)}
HELD_OUT = {("AP", True): (8, 2.0), ("AP", False): (8, 0.0), ("PA", True): (8, 0.0), ("PA", False): (8, -2.0)}


def test_offsets_come_from_the_calibration_set_when_the_index_holds_one(query):
    # memorised train scores show no view effect; the held-out ones show AP +2 logits within each class
    idx = _scored_index(query, MEMORISED)
    c = LABEL_INDEX["COVID-19"]
    ap, pa = idx.stratum_code("s|AP|x"), idx.stratum_code("s|PA|x")
    assert np.allclose(idx.front_end_offsets(c, "stratum-finding").offsets, 0.0, atol=1e-4)
    _calibrate(idx, HELD_OUT)
    off = idx.front_end_offsets(c, "stratum-finding")
    assert off.source == "calibration"
    assert off.offsets[ap] == pytest.approx(1.0, abs=1e-4) and off.offsets[pa] == pytest.approx(-1.0, abs=1e-4)
    own = idx.front_end_offsets(c, "stratum-finding", "exemplars")
    assert own.source == "exemplars" and np.allclose(own.offsets, 0.0, atol=1e-4)
    r = Retriever(idx, RetrievalSettings(front_end_adjustment="stratum-finding"))
    out, adj = r.adjust_front_end(_probs(0.5), query, "s|AP|x")
    assert adj.scores_from == "calibration" and adj.to_json()["scores_from"] == "calibration"
    assert np.log(out["COVID-19"] / (1 - out["COVID-19"])) == pytest.approx(-1.0, abs=1e-4)
    assert "held-out calibration scores" in adj.note()
    forced = Retriever(idx, RetrievalSettings(front_end_adjustment="stratum-finding", front_end_scores="exemplars"))
    out2, adj2 = forced.adjust_front_end(_probs(0.5), query, "s|AP|x")
    assert adj2.scores_from == "exemplars" and out2["COVID-19"] == pytest.approx(0.5, abs=1e-6)


def test_a_calibration_set_alone_is_enough_and_strata_the_index_lacks_are_dropped(query):
    idx = _scored_index(query, MEMORISED, scored=False)
    r = Retriever(idx, RetrievalSettings(front_end_adjustment="stratum"))
    assert r.adjust_front_end(_probs(0.5), query, "s|AP|x") == (_probs(0.5), None)
    cal = _calibrate(idx, {**HELD_OUT, ("LAT", True): (3, 5.0)})
    assert len(cal) == 32, "cases of a stratum the index lacks are dropped"
    out, adj = r.adjust_front_end(_probs(0.5), query, "s|PA|x")
    assert adj.scores_from == "calibration" and out["COVID-19"] > 0.5
    with pytest.raises(ValueError):
        bad = Retriever(idx, RetrievalSettings(front_end_scores="bogus"))
        bad.adjust_front_end(_probs(0.5), query, "s|PA|x")



def test_the_grounder_applies_a_calibration_set_on_an_index_without_exemplar_scores(query):
    idx = _scored_index(query, MEMORISED, scored=False)
    _calibrate(idx, HELD_OUT)
    r = _grounded(idx, query, 0.5, "s|PA|x")
    assert r.adjustment is not None and r.adjustment.scores_from == "calibration"

def test_without_a_calibration_set_the_output_is_as_before(query):
    idx = _scored_index(query, HELD_OUT)
    c = LABEL_INDEX["COVID-19"]
    for method in ("stratum", "stratum-finding"):
        auto = idx.front_end_offsets(c, method)
        own = idx.front_end_offsets(c, method, "exemplars")
        assert auto.source == own.source == "exemplars"
        assert np.array_equal(auto.offsets, own.offsets) and auto.reference == own.reference
        assert idx.front_end_offsets(c, method, "calibration") is None
        a = _grounded(idx, query, 0.7, "s|AP|x", method).to_json()
        explicit = Retriever(idx, RetrievalSettings(front_end_adjustment=method, front_end_scores="exemplars"))
        out, adj = explicit.adjust_front_end(_probs(0.7), query, "s|AP|x")
        assert a["front_end_adjustment"]["scores_from"] == "exemplars"
        assert a["front_end_adjustment"]["logit_shift"]["COVID-19"] == pytest.approx(adj.shifts["COVID-19"], abs=1e-4)
    # offsets of the known example above are unchanged: AP +0.75 / PA -2.25
    ref = _scored_index(query, {("AP", True): (30, 2.0), ("PA", True): (10, -1.0)})
    off = ref.front_end_offsets(c, "stratum")
    assert off.offsets[ref.stratum_code("s|AP|x")] == pytest.approx(0.75, abs=1e-4)


def test_the_calibration_set_survives_save_and_load(tmp_path, query):
    from vlm.index import ExemplarIndex

    idx = _scored_index(query, MEMORISED)
    _calibrate(idx, HELD_OUT)
    back = ExemplarIndex.load(idx.save(tmp_path / "calibrated"))
    assert back.calibration is not None and len(back.calibration) == 32
    assert back.calibration.description == "held out"
    c = LABEL_INDEX["COVID-19"]
    assert np.allclose(back.front_end_offsets(c, "stratum-finding").offsets,
                       idx.front_end_offsets(c, "stratum-finding").offsets)
    plain = _scored_index(query, MEMORISED)
    assert ExemplarIndex.load(plain.save(tmp_path / "plain")).calibration is None


def test_nearest_without_takes_the_nearer_of_candidates_and_exact_scan(query):
    """Whatever candidates an approximate search returns, the exact scan's nearer case wins."""
    idx = _index(query, [
        (0.95, ("Effusion",), "a|PA", ALL),
        (0.90, ("Cardiomegaly",), "a|PA", ALL),  # the true nearest case without effusion
    ])
    r = Retriever(idx, RetrievalSettings(k=2, candidates=2))
    far = 2  # filler-0: rows follow the order the cases were given in
    assert idx.exemplar(far).id == "filler-0"
    # a candidate list that holds only a far case lacking effusion (as a poor approximate search might)
    rows, sims = np.array([0, far]), np.array([0.95, -0.5], dtype=np.float32)
    row, sim = r._nearest_without(query, rows, sims, "Effusion", set())
    assert idx.exemplar(row).id == "case-1" and sim == pytest.approx(0.90, abs=1e-3)
    # and a candidate that is the nearest stays chosen
    row, _ = r._nearest_without(query, np.array([1]), np.array([0.90], dtype=np.float32), "Effusion", set())
    assert idx.exemplar(row).id == "case-1"
