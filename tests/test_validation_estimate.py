"""Model building, identification (backdoor / front-door / IV), DoWhy estimation and refutation."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from reasoning.estimate import estimate_effect
from reasoning.identify import identify, is_valid_adjustment, optimal_adjustment_set
from reasoning.model import NotTestable, build_model
from reasoning.refute import refute
from reasoning.synthetic import random_scm


def _g(*edges: str) -> nx.DiGraph:
    return nx.DiGraph([tuple(e.split(">")) for e in edges])


def test_model_is_the_ancestral_subgraph_with_the_claimed_edge() -> None:
    g = _g("z>x", "z>y", "y>w", "q>w")
    m = build_model(g, "x", "y", {"x", "y", "z", "w", "q"})
    assert set(m.nodes) == {"x", "y", "z"} and ("x", "y") in m.edges
    assert m.latent == ()


def test_reverse_claim_is_dropped_but_another_cycle_is_not_testable() -> None:
    m = build_model(_g("y>x"), "x", "y", {"x", "y"})
    assert m.edges == (("x", "y"),)
    with pytest.raises(NotTestable, match="cyclic subgraph: .*a.*b"):
        build_model(_g("a>b", "b>a", "a>x"), "x", "y", {"x", "y", "a", "b"})


def test_missing_variable_is_not_testable() -> None:
    with pytest.raises(NotTestable, match="no data column for y"):
        build_model(_g("x>y"), "x", "y", {"x"})


def test_backdoor_uses_the_optimal_adjustment_set() -> None:
    g = _g("z>x", "z>y", "x>m", "m>y", "p>y", "x>y")
    ident = identify(build_model(g, "x", "y", set(g.nodes)))
    assert ident.kind == "backdoor"
    assert set(ident.adjustment_set) == {"z", "p"}  # parents of causal nodes minus forbidden (m is a mediator)
    assert optimal_adjustment_set(g, "x", "y") == {"z", "p"}
    assert not is_valid_adjustment(g, "x", "y", {"m"})
    assert "z = {p, z}" in ident.estimand


def test_latent_confounder_blocks_backdoor_then_iv_or_frontdoor_or_nothing() -> None:
    observed = {"x", "y", "i", "m"}
    iv = identify(build_model(_g("u>x", "u>y", "i>x"), "x", "y", observed))
    assert iv.kind == "iv" and iv.instruments == ("i",)
    fd = identify(build_model(_g("u>x", "u>y"), "x", "y", observed, mediator="m"))
    assert fd.kind == "frontdoor" and fd.frontdoor_set == ("m",)
    none = identify(build_model(_g("u>x", "u>y"), "x", "y", {"x", "y"}))
    assert not none.identified and "latent u" in none.reason
    observed_blocker = identify(build_model(_g("u>z", "z>x", "u>y"), "x", "y", {"x", "y", "z"}))
    assert observed_blocker.kind == "backdoor" and observed_blocker.adjustment_set == ("z",)


def test_linear_gaussian_effect_is_recovered_with_its_interval() -> None:
    scm = random_scm(8, 12, "linear", seed=11)
    frame = scm.observed_frame(4000, seed=11)
    x, y = "x01", "x04"
    if not nx.has_path(scm.graph, x, y):
        x, y = next((u, v) for u, v in scm.observed_edges())
    ident = identify(build_model(scm.graph, x, y, scm.observed))
    fitted = estimate_effect(frame, ident)
    truth = scm.true_effect(x, y)
    assert fitted.result.ci_low <= truth <= fitted.result.ci_high
    assert abs(fitted.result.value - truth) < 0.05
    assert fitted.result.scale == f"per unit of {x}" and fitted.result.samples == 4000


def test_binary_risk_difference_with_confounding_is_close_to_the_truth() -> None:
    rng = np.random.default_rng(5)
    n = 6000
    z = (rng.random(n) < 0.5).astype(float)
    x = (rng.random(n) < np.where(z == 1, 0.7, 0.2)).astype(float)
    y = (rng.random(n) < 0.1 + 0.3 * x + 0.4 * z).astype(float)  # true risk difference 0.3
    frame = pd.DataFrame({"x": x, "y": y, "z": z})
    ident = identify(build_model(_g("z>x", "z>y"), "x", "y", {"x", "y", "z"}))
    fitted = estimate_effect(frame, ident)
    assert fitted.result.scale == "risk difference"
    assert abs(fitted.result.value - 0.3) < 0.04
    naive = frame[frame.x == 1].y.mean() - frame[frame.x == 0].y.mean()
    assert naive > 0.45  # confounded, which the adjustment removes
    outcomes = refute(fitted, refuters=("placebo_treatment", "random_common_cause", "data_subset", "bootstrap"),
                      num_simulations=10)
    assert [o.refuter for o in outcomes] == ["placebo_treatment", "random_common_cause", "data_subset", "bootstrap"]
    assert all(o.passed for o in outcomes)
    placebo = outcomes[0]
    assert placebo.new_effect is not None and abs(placebo.new_effect) < 0.05


def test_frontdoor_and_iv_estimates_go_through_dowhy_estimators() -> None:
    rng = np.random.default_rng(6)
    n = 5000
    u = rng.standard_normal(n)
    i = rng.standard_normal(n)
    x = i + u + rng.standard_normal(n)
    m = 0.8 * x + rng.standard_normal(n)
    y = 0.5 * m + u + rng.standard_normal(n)  # effect of x on y: 0.4
    frame = pd.DataFrame({"x": x, "y": y, "m": m, "i": i})
    fd = identify(build_model(_g("u>x", "u>y"), "x", "y", {"x", "y", "m"}, mediator="m"))
    fitted_fd = estimate_effect(frame, fd, bootstrap_simulations=20)
    assert abs(fitted_fd.result.value - 0.4) < 0.06 and "two_stage" in fitted_fd.result.estimator
    iv = identify(build_model(_g("u>x", "u>y", "i>x"), "x", "y", {"x", "y", "i"}))
    fitted_iv = estimate_effect(frame, iv, bootstrap_simulations=20)
    assert abs(fitted_iv.result.value - 0.4) < 0.1 and fitted_iv.result.ci_low < 0.4 < fitted_iv.result.ci_high
    outcomes = refute(fitted_iv, num_simulations=5)
    by_name = {o.refuter: o for o in outcomes}
    assert by_name["random_common_cause"].passed is None and "adjustment" in by_name["random_common_cause"].note


def test_unknown_refuter_is_a_clear_error() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.random(200) < 0.5, "y": rng.random(200) < 0.5}).astype(float)
    fitted = estimate_effect(frame, identify(build_model(_g("x>y"), "x", "y", {"x", "y"})))
    with pytest.raises(ValueError, match="unknown refuter"):
        refute(fitted, refuters=("dummy_outcome",))


def test_a_cycle_of_proposed_edges_is_broken_at_its_weakest_edge() -> None:
    g = nx.DiGraph()
    g.add_edge("a", "b", trusted=False, support=5)
    g.add_edge("b", "a", trusted=False, support=1)  # a contradicting, rarer mined claim
    g.add_edge("b", "x", trusted=True, support=1)
    m = build_model(g, "x", "y", {"a", "b", "x", "y"})
    assert m.dropped == (("b", "a"),) and ("a", "b") in m.edges
    g.edges["b", "a"]["trusted"] = True
    g.edges["a", "b"]["trusted"] = True
    with pytest.raises(NotTestable, match="cyclic subgraph"):
        build_model(g, "x", "y", {"a", "b", "x", "y"})


def test_a_weak_instrument_is_not_testable() -> None:
    rng = np.random.default_rng(9)
    n = 3000
    u = rng.standard_normal(n)
    i = rng.standard_normal(n)
    x = 0.01 * i + u + rng.standard_normal(n)  # the instrument barely moves the treatment
    y = 0.5 * x + u + rng.standard_normal(n)
    iv = identify(build_model(_g("u>x", "u>y", "i>x"), "x", "y", {"x", "y", "i"}))
    with pytest.raises(NotTestable, match="weak instrument i: first-stage F"):
        estimate_effect(pd.DataFrame({"x": x, "y": y, "i": i}), iv)


def test_iv_uses_the_strongest_single_instrument() -> None:
    rng = np.random.default_rng(10)
    n = 4000
    u = rng.standard_normal(n)
    strong = (rng.random(n) < 0.5).astype(float)
    rare = (rng.random(n) < 0.002).astype(float)
    x = strong + 0.2 * rare + u + rng.standard_normal(n)
    y = 0.5 * x + u + rng.standard_normal(n)
    frame = pd.DataFrame({"x": x, "y": y, "s": strong, "r": rare})
    iv = identify(build_model(_g("u>x", "u>y", "s>x", "r>x"), "x", "y", {"x", "y", "s", "r"}))
    assert set(iv.instruments) == {"r", "s"}
    fitted = estimate_effect(frame, iv, bootstrap_simulations=20)
    assert "Wald on s" in fitted.result.estimator and abs(fitted.result.value - 0.5) < 0.15
