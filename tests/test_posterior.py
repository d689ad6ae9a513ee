"""The graph posterior on tiny synthetic sources where the truth is known.

A chain ``A -> B -> C`` is simulated in two sources; a view confounder (AP films for the sick in
training, for the well at test) and a front end that leans on it test the backdoor reading.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from reasoning.posterior import (
    Edge,
    FitSettings,
    GraphPosterior,
    LabelSettings,
    PosteriorError,
    calibrated_reading,
    finding_graph,
    fit_network,
    fit_reading,
    label_data,
    logit,
    reference_marginals,
)

CHAIN = [("A", "B"), ("B", "C")]
NODES = ["A", "B", "C"]


def chain(n: int, rng: np.random.Generator, p_b: tuple[float, float] = (0.1, 0.7)) -> pd.DataFrame:
    a = rng.random(n) < 0.3
    b = rng.random(n) < np.where(a, p_b[1], p_b[0])
    c = rng.random(n) < np.where(b, 0.6, 0.05)
    return pd.DataFrame({"A": a, "B": b, "C": c}).astype(float)


@pytest.fixture(scope="module")
def network():
    rng = np.random.default_rng(0)
    s1 = chain(4000, rng).assign(source="s1")
    s2 = chain(4000, rng).assign(source="s2")
    return fit_network(NODES, CHAIN, label_data([s1, s2], NODES))


@pytest.fixture(scope="module")
def posterior(network):
    return GraphPosterior.build(network, calibrated_reading({"A": 0.3, "B": 0.3, "C": 0.2}))


# ------------------------------------------------------------------------------------ soft evidence
def test_fitted_tables_recover_the_simulated_chain(network) -> None:
    _, b = network.cpd("B")  # b[x_B, x_A]
    assert b[1, 1] == pytest.approx(0.7, abs=0.04) and b[1, 0] == pytest.approx(0.1, abs=0.02)
    assert network.node_record("A").prevalence == pytest.approx(0.3, abs=0.02)


def test_soft_evidence_moves_the_posterior_the_right_way(posterior) -> None:
    prior = posterior.priors
    low = posterior.posterior({"B": 0.05}).as_dict()
    high = posterior.posterior({"B": 0.95}).as_dict()
    # the read finding, its cause and its effect all follow the evidence, in the right direction
    for node in NODES:
        assert low[node] < prior[node] < high[node]
    # evidence on the effect reaches the cause through the chain, weaker than on B itself
    via_c = posterior.posterior({"C": 0.95}).as_dict()
    assert prior["A"] < via_c["A"] and via_c["A"] - prior["A"] < via_c["B"] - prior["B"]
    # an uninformative reading (the prevalence it is calibrated to) leaves the prior
    flat = posterior.posterior({"B": 0.3}).as_dict()
    assert flat == pytest.approx(prior, abs=1e-9)


def test_batched_marginals_match_pgmpy_variable_elimination(network, posterior) -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        lam = {n: (float(rng.uniform(0.05, 1)), float(rng.uniform(0.05, 1))) for n in NODES if rng.random() < 0.8}
        like = np.ones((1, 3, 2))
        for i, n in enumerate(NODES):
            if n in lam:
                like[0, i] = lam[n]
        fast = posterior.compiled.marginals(like)[0]
        ref = reference_marginals(network, lam)
        assert fast == pytest.approx([ref[n] for n in NODES], abs=1e-9)


def test_one_case_answers_well_under_50_ms(posterior) -> None:
    r = posterior.posterior({"A": 0.2, "B": 0.8, "C": 0.6}, "PA")
    assert r.seconds < 0.05
    assert {f.node for f in r.findings} == set(NODES) and all(f.front_end is not None for f in r.findings)


# ---------------------------------------------------------------------------------- interventions
def test_do_differs_from_conditioning_upstream_and_matches_it_downstream(network, posterior) -> None:
    prior = posterior.priors
    seen = posterior.posterior({"B": 0.999}).as_dict()  # B observed (almost surely) present
    done = posterior.interventional({"B": 1}, {}).as_dict()
    # seeing B raises its cause; setting B does not touch it
    assert seen["A"] > prior["A"] + 0.2
    assert done["A"] == pytest.approx(prior["A"], abs=1e-9)
    assert done["B"] == 1.0
    # downstream, with no confounding on the chain, do(B=1) and B=1 give the same C
    _, c = network.cpd("C")
    assert done["C"] == pytest.approx(c[1, 1], abs=1e-9)
    assert seen["C"] == pytest.approx(c[1, 1], abs=0.01)
    # with evidence on C, do(B=0) still leaves A at its prior, while seeing B absent lowers it;
    # and C, cut from its cause, is less likely than under the same evidence alone
    cf = posterior.interventional({"B": 0}, {"C": 0.9}).as_dict()
    absent = posterior.posterior({"B": 0.001, "C": 0.9}).as_dict()
    assert cf["A"] == pytest.approx(prior["A"], abs=1e-9) and absent["A"] < prior["A"] - 0.1
    assert cf["C"] < posterior.posterior({"C": 0.9}).as_dict()["C"] - 0.2
    ref = reference_marginals(network, {}, do={"B": 1})
    assert [done[n] for n in NODES] == pytest.approx([ref[n] for n in NODES], abs=1e-9)


def test_interventional_query_needs_a_valid_intervention(posterior) -> None:
    with pytest.raises(PosteriorError, match="at least one do"):
        posterior.interventional({}, {"B": 0.5})
    with pytest.raises(PosteriorError, match="unknown node"):
        posterior.interventional({"Z": 1}, {})
    with pytest.raises(PosteriorError, match="must set 0 or 1"):
        posterior.interventional({"B": 2}, {})


# ------------------------------------------------------------------------ the view confounder
def _scored(rng: np.random.Generator, n: int, ap_if_b: float, ap_if_not_b: float, shortcut: float) -> pd.DataFrame:
    """A chain with a view that follows B (P(AP | B)) and a front end that adds ``shortcut`` to every
    logit on AP films: separation 1.5 logits per finding, unit noise."""
    f = chain(n, rng)
    ap = rng.random(n) < np.where(f["B"] == 1, ap_if_b, ap_if_not_b)
    f["view"] = np.where(ap, "AP", "PA")
    for col in NODES:
        f[f"s_{col}"] = 1.5 * f[col] + rng.standard_normal(n) + shortcut * ap
    return f


def test_backdoor_reading_removes_a_planted_view_shortcut_and_the_plain_one_does_not(network) -> None:
    rng = np.random.default_rng(2)
    # training: the sick (B) are filmed AP; the front end learnt to read AP films 2 logits higher
    train = _scored(rng, 6000, 0.8, 0.2, shortcut=2.0)
    # test: the association is reversed, the front end (and its shortcut) are the same
    test = _scored(rng, 6000, 0.2, 0.8, shortcut=2.0)
    scores = train[[f"s_{c}" for c in NODES]].set_axis(NODES, axis=1)
    readings = {m: fit_reading(scores, train[NODES], train["view"], m) for m in ("backdoor", "plain")}
    assert set(readings["backdoor"].fits["B"].offsets) == {"AP", "PA"} and not readings["plain"].fits["B"].offsets
    # the planted shortcut is recovered as the AP-minus-PA offset
    offsets = readings["backdoor"].fits["B"].offsets
    assert offsets["AP"] - offsets["PA"] == pytest.approx(2.0, abs=0.1)
    test_scores = test[[f"s_{c}" for c in NODES]].set_axis(NODES, axis=1)
    auc, gap = {}, {}
    for mode, reading in readings.items():
        post = GraphPosterior.build(network, reading).posterior_batch(test_scores, test["view"].tolist())["B"]
        auc[mode] = roc_auc_score(test["B"], post)
        neg = test["B"] == 0
        gap[mode] = post[neg & (test["view"] == "AP")].mean() - post[neg & (test["view"] == "PA")].mean()
    # within a view the front end separates B at AUC about 0.86, plus what A and C add
    own = np.mean([roc_auc_score(test.loc[test["view"] == v, "B"], test.loc[test["view"] == v, "s_B"])
                   for v in ("AP", "PA")])
    assert auc["backdoor"] >= own - 0.01
    assert auc["plain"] < auc["backdoor"] - 0.05
    # a well film reads the same in either view under the backdoor reading, not under the plain one
    assert abs(gap["backdoor"]) < 0.03 and gap["plain"] > 0.15
    # the raw front end carries the shortcut too
    assert roc_auc_score(test["B"], test["s_B"]) < auc["backdoor"] - 0.05


def test_a_view_with_few_positives_still_gets_its_offset() -> None:
    rng = np.random.default_rng(8)
    f = _scored(rng, 4000, 0.02, 0.5, shortcut=1.5)  # AP films: about 1,400, of which few have B
    scores = f[[f"s_{c}" for c in NODES]].set_axis(NODES, axis=1)
    assert ((f["view"] == "AP") & (f["B"] == 1)).sum() < 20
    fit = fit_reading(scores, f[NODES], f["view"], "backdoor").fits["B"]
    assert fit.offsets["AP"] - fit.offsets["PA"] == pytest.approx(1.5, abs=0.15)


def test_reading_falls_back_from_a_thin_view_stratum() -> None:
    rng = np.random.default_rng(3)
    f = _scored(rng, 3000, 0.5, 0.5, shortcut=1.0)
    f.loc[f.index[:40], "view"] = "AP supine"  # fewer than min_per_view (50) labelled scores
    scores = f[[f"s_{c}" for c in NODES]].set_axis(NODES, axis=1)
    r = fit_reading(scores, f[NODES], f["view"], "backdoor")
    assert r.stratum_used("B", "AP supine") == "AP"
    assert r.stratum_used("B", None) == "*" and r.stratum_used("B", "lateral") == "*"
    with pytest.raises(PosteriorError, match="no score model"):
        r.log_lr("Z", np.zeros(2), ["PA", "PA"])


# --------------------------------------------------------------------------- sources and labels
def test_an_edge_reported_by_one_source_records_that_source() -> None:
    rng = np.random.default_rng(4)
    s1 = chain(3000, rng).assign(source="s1")
    s2 = chain(3000, rng).drop(columns="A").assign(source="s2")  # s2 has no column for A
    net = fit_network(NODES, CHAIN, label_data([s1, s2], NODES))
    assert net.record("A", "B").sources == ("s1",)
    assert [e.source for e in net.record("A", "B").effects] == ["s1"]
    assert net.record("B", "C").sources == ("s1", "s2")
    assert GraphPosterior.build(net, calibrated_reading({"B": 0.3})).edge_sources()[Edge("A", "B")] == ("s1",)
    # A's prevalence comes from s1 alone: s2's missing column is not read as absent
    assert net.node_record("A").sources == ("s1",)
    assert net.node_record("A").prevalence == pytest.approx(0.3, abs=0.03)


def test_an_edge_whose_effect_differs_across_sources_says_so_and_which_sources_it_used() -> None:
    rng = np.random.default_rng(5)
    s1 = chain(3000, rng, p_b=(0.1, 0.7)).assign(source="s1")
    s2 = chain(3000, rng, p_b=(0.1, 0.7)).assign(source="s2")
    s3 = chain(3000, rng, p_b=(0.5, 0.1)).assign(source="s3")  # A protects against B here
    data = label_data([s1, s2, s3], NODES)
    pooled = fit_network(NODES, CHAIN, data).record("A", "B")
    assert pooled.differs and pooled.heterogeneity_p is not None and pooled.heterogeneity_p < 1e-6
    assert pooled.sources == ("s1", "s2", "s3")
    signs = {e.source: e.excludes_zero for e in pooled.effects}
    assert signs == {"s1": 1, "s2": 1, "s3": -1}
    agreeing = fit_network(NODES, CHAIN, data, FitSettings(source_policy="agreeing")).record("A", "B")
    assert agreeing.sources == ("s1", "s2")
    assert [s for s, _ in agreeing.excluded_sources] == ["s3"]
    assert agreeing.to_json()["excluded_sources"][0]["source"] == "s3"
    # an edge that agrees everywhere is not flagged
    assert not fit_network(NODES, CHAIN, data).record("B", "C").differs
    # the invariant policy keeps only edges whose effect holds across sources
    invariant = fit_network(NODES, CHAIN, data, FitSettings(source_policy="invariant"))
    assert not invariant.record("A", "B").used and invariant.record("A", "B").reason == "effect differs across sources"
    assert invariant.record("B", "C").used and invariant.graph.parents("B") == ()


def test_the_invariant_policy_cannot_test_an_edge_one_source_reports() -> None:
    rng = np.random.default_rng(7)
    s1 = chain(3000, rng).assign(source="s1")
    s2 = chain(3000, rng).drop(columns="A").assign(source="s2")
    net = fit_network(NODES, CHAIN, label_data([s1, s2], NODES), FitSettings(source_policy="invariant"))
    assert net.record("A", "B").reason == "invariance untestable: one source reports both ends"
    assert net.record("B", "C").used


def test_uncertain_labels_follow_the_policy() -> None:
    f = pd.DataFrame({"source": "s", "A": [1.0] * 10 + [0.0] * 10 + [-1.0] * 20 + [np.nan] * 50})
    data = label_data([f], ["A"])
    prev = {}
    for policy in ("soft", "zeros", "ones", "drop"):
        counts = data.family_counts(["A"], LabelSettings(policy))
        prev[policy] = counts.loc[counts["A"] == 1, "_weight"].sum() / counts["_weight"].sum()
    assert prev == pytest.approx({"soft": 0.5, "zeros": 0.25, "ones": 0.75, "drop": 0.5})
    assert data.family_counts(["A"], LabelSettings("drop"))["_weight"].sum() == 20
    assert data.family_counts(["A"], LabelSettings("soft"))["_weight"].sum() == 40  # blanks never counted
    with pytest.raises(PosteriorError, match="uncertain-label policy"):
        LabelSettings("maybe")  # type: ignore[arg-type]


def test_blanks_read_absent_only_for_a_mentions_only_source() -> None:
    a = pd.DataFrame({"A": [1.0, np.nan, np.nan, -1.0]})
    b = pd.DataFrame({"A": [1.0, np.nan]})
    data = label_data({"chexpert": a, "other": b}, ["A", "B"], blank_absent=("chexpert",))
    assert data.reported("A") == {"chexpert": 4, "other": 1}
    assert data.reported("B") == {}  # a column the source does not have stays missing
    counts = data.family_counts(["A"], LabelSettings("zeros"))
    assert counts.groupby("source")["_weight"].sum().to_dict() == {"chexpert": 4.0, "other": 1.0}


def test_label_values_outside_the_encoding_are_refused() -> None:
    with pytest.raises(PosteriorError, match="column 'A' holds 2"):
        label_data([pd.DataFrame({"source": "s", "A": [1, 2]})], ["A"])


# ----------------------------------------------------------------------------- structure trimming
def test_a_cycle_is_broken_at_the_later_edge_and_recorded() -> None:
    g = finding_graph(["A", "B", "C"], [("A", "B"), ("B", "C"), ("C", "A"), ("A", "A"), ("X", "A")])
    assert g.edges == (Edge("A", "B"), Edge("B", "C"))
    assert [d.edge for d in g.dropped] == [Edge("C", "A"), Edge("A", "A")]
    assert "cycle" in g.dropped[0].reason


def test_parent_cap_and_unreported_pairs_are_recorded() -> None:
    rng = np.random.default_rng(6)
    n = 3000
    base = pd.DataFrame({k: (rng.random(n) < 0.3).astype(float) for k in ("P1", "P2", "P3")})
    base["Y"] = (rng.random(n) < 0.05 + 0.5 * base["P1"] + 0.3 * base["P2"] + 0.1 * base["P3"]).astype(float)
    s1 = base.assign(source="s1")
    s2 = pd.DataFrame({"Q": (rng.random(n) < 0.3).astype(float), "source": "s2"})
    nodes = ["P1", "P2", "P3", "Q", "Y"]
    net = fit_network(nodes, [("P3", "Y"), ("P2", "Y"), ("P1", "Y"), ("Q", "Y")], label_data([s1, s2], nodes),
                      FitSettings(max_parents=2))
    assert set(net.graph.parents("Y")) == {"P1", "P2"}  # the two strongest
    assert "parent cap" in net.record("P3", "Y").reason
    assert net.record("Q", "Y").reason == "no training source reports both ends"
    assert not net.record("Q", "Y").used and not net.record("P3", "Y").used


def test_bad_requests_are_clear_errors(posterior) -> None:
    with pytest.raises(PosteriorError, match="not model nodes"):
        posterior.posterior({"Z": 0.5})
    with pytest.raises(PosteriorError, match=r"must lie in \[0, 1\]"):
        posterior.posterior({"B": 1.5})
    f = pd.DataFrame({"source": "s", "A": [1.0, 0.0], "B": [np.nan, np.nan]})
    with pytest.raises(PosteriorError, match="no training source reports B"):
        fit_network(["A", "B"], [("A", "B")], label_data([f], ["A", "B"]))


def test_logit_is_finite_at_the_ends() -> None:
    assert np.isfinite(logit(np.array([0.0, 1.0]))).all()
