"""Causal discovery (causal-learn) and its comparison with the graph's claims, on SCMs with known graphs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reasoning.discovery import BackgroundKnowledgeSpec, compare_with_graph, discover, structure_from
from reasoning.synthetic import random_scm


def _collider_frame(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    """a -> c <- b, c -> d: the v-structure orients every edge."""
    rng = np.random.default_rng(seed)
    a = rng.random(n) < 0.4
    b = rng.random(n) < 0.4
    c = rng.random(n) < np.where(a & b, 0.9, np.where(a | b, 0.6, 0.1))
    d = rng.random(n) < np.where(c, 0.8, 0.15)
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": d}).astype(int)


def test_pc_chisq_recovers_a_v_structure_and_its_consequence() -> None:
    result = discover(_collider_frame(), method="pc")
    assert result.test == "chisq"
    assert structure_from(result) == {frozenset("ac"): "a->c", frozenset("bc"): "b->c", frozenset("cd"): "c->d"}


def test_comparison_names_supported_reversed_contradicted_and_untestable() -> None:
    result = discover(_collider_frame(), method="pc", test="gsq")
    verdicts = compare_with_graph(result, [("a", "c"), ("c", "a"), ("a", "b"), ("a", "d"), ("a", "zz")])
    assert verdicts[("a", "c")].verdict == "supported"
    assert verdicts[("c", "a")].verdict == "reversed"
    assert verdicts[("a", "b")].verdict == "contradicted"  # marginally independent causes of the collider
    assert verdicts[("a", "d")].verdict == "supported" and "through c" in verdicts[("a", "d")].reason
    assert verdicts[("a", "zz")].verdict == "notTestable" and "no data column" in verdicts[("a", "zz")].reason


def test_constant_column_is_skipped_with_its_reason() -> None:
    frame = _collider_frame().assign(flat=1)
    result = discover(frame, method="pc")
    assert "flat" not in result.variables and result.skipped["flat"] == "column is constant"
    assert compare_with_graph(result, [("flat", "a")])[("flat", "a")].verdict == "notTestable"


def test_background_knowledge_orients_a_chain_that_data_leave_open() -> None:
    rng = np.random.default_rng(1)
    n = 3000
    a = rng.random(n) < 0.4
    b = rng.random(n) < np.where(a, 0.8, 0.2)
    c = rng.random(n) < np.where(b, 0.8, 0.2)
    frame = pd.DataFrame({"a": a, "b": b, "c": c}).astype(int)
    bare = discover(frame, method="pc")
    assert {e.kind for e in bare.edges} == {"undirected"}  # a chain is Markov equivalent to its reversals
    spec = BackgroundKnowledgeSpec.from_edges([("a", "b")], frame.columns)
    assert spec.forbidden == (("b", "a"),)
    known = discover(frame, method="pc", background=spec)
    assert structure_from(known) == {frozenset("ab"): "a->b", frozenset("bc"): "b->c"}  # Meek rule 1 follows
    assert known.background == "1 required, 1 forbidden"


def test_required_edge_survives_a_ci_test_that_would_drop_it() -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.random(500) < 0.5, "b": rng.random(500) < 0.5}).astype(int)
    assert discover(frame).edges == ()
    forced = discover(frame, background=BackgroundKnowledgeSpec((("a", "b"),), (("b", "a"),)))
    assert structure_from(forced) == {frozenset("ab"): "a->b"}


def test_fisherz_on_linear_gaussian_data_and_fci_marks_a_latent_confounder() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    u = rng.standard_normal(n)
    a = rng.standard_normal(n)
    b = rng.standard_normal(n)
    x = a + u + 0.5 * rng.standard_normal(n)
    y = b + u + 0.5 * rng.standard_normal(n)
    frame = pd.DataFrame({"a": a, "b": b, "x": x, "y": y})  # u is hidden: x <-> y
    pc = discover(frame, method="pc")
    assert pc.test == "fisherz"
    fci = discover(frame, method="fci")
    edge = fci.edge("x", "y")
    assert edge is not None and edge.kind == "bidirected"
    assert compare_with_graph(fci, [("x", "y")])[("x", "y")].verdict == "contradicted"


def test_ges_runs_on_discrete_and_continuous_data() -> None:
    scm = random_scm(6, 6, "linear", seed=4)
    result = discover(scm.observed_frame(1500, seed=4), method="ges")
    assert result.method == "ges" and len(result.edges) >= 4
    binary = discover(_collider_frame(1500), method="ges")
    assert frozenset("ac") in structure_from(binary)


def test_unknown_method_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown discovery method"):
        discover(_collider_frame(100), method="lingam")


def test_searches_sharing_a_cache_reuse_every_independence_test() -> None:
    from causallearn.search.ConstraintBased.PC import pc

    from reasoning.discovery import CITestCache

    frame = random_scm(7, 8, seed=3).sample(3000, seed=3)
    cache = CITestCache()
    bare = discover(frame, method="pc", cache=cache)
    (cit,) = cache._tests.values()
    tested = len(cit.pvalue_cache)
    spec = BackgroundKnowledgeSpec.from_edges([tuple(sorted(frame.columns)[:2])], frame.columns)
    discover(frame, method="pc", background=spec, cache=cache)
    assert tested > 10 and len(cit.pvalue_cache) == tested  # the second search computed nothing new
    # the shared-test search is causal-learn's PC: same edges as its own entry point
    cols = [str(c) for c in bare.variables]
    lib = pc(frame[cols].to_numpy(dtype=float), alpha=0.05, indep_test=bare.test, stable=True,
             show_progress=False, node_names=cols)
    assert sorted(str(e) for e in bare.edges) == sorted(str(e) for e in lib.G.get_graph_edges())
