"""Causal discovery per source and over the pooled sources, with the source as a context variable.

causal-learn's PC (or FCI) runs over a conditional-independence test computed from sufficient
statistics: per source, the count, the means and the centred cross-products of every variable it
records. A test of X and Y given S then costs a few small matrix inversions whatever the number of
rows, so the pooled ~430,000 studies need no subsampling. The test is Fisher's z on the partial
correlation (a linear test on 0/1 labels, as causal-learn's ``fisherz``) over the sources that record
every variable involved (test-wise deletion: a source without a column takes no part). With
``source`` in the conditioning set the correlation is within sources; a test of X against ``source``
is the F test of source indicators in the regression of X on S, so the source acts as the context
variable of joint causal inference: nothing causes it, and a variable whose distribution shifts
between sources is its child. A pair that no source records together is never declared independent.

Background knowledge: the concept table's tiers as causal-learn tiers (the source first, then
demographics, diseases, acquisition, findings, devices), so no edge points into an earlier tier.
With hundreds of thousands of rows every dependence is "significant", so the test also declares
independence below a minimum partial correlation (``min_effect``).
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from kg.concepts import TIERS, ConceptTable
from reasoning.discovery import DiscoveredEdge, DiscoveryResult
from reasoning.source_frames import SourceFrame

CONTEXT = "source"
Method = Literal["pc", "fci"]
DISCOVERY_CONFOUNDERS = ("age", "sex=male", "view=AP")


@dataclass(frozen=True)
class DiscoverySettings:
    method: Method = "pc"
    alpha: float = 1e-3
    min_effect: float = 0.02
    """Partial correlations (and source effect sizes, as sqrt of eta^2) below this count as independent."""
    max_depth: int = 2
    """Largest conditioning set PC / FCI tries."""
    min_positive: int = 20
    """A concept takes part in a source's statistics only with this many positive studies there."""
    confounders: tuple[str, ...] = DISCOVERY_CONFOUNDERS


@dataclass(frozen=True, eq=False)
class SourceStatistics:
    """Sufficient statistics of one source over the variables it records."""

    source: str
    names: tuple[str, ...]
    n: int
    mean: np.ndarray
    scatter: np.ndarray
    """Centred cross-products (n - 1 times the covariance)."""


def discovery_variables(frame: SourceFrame, table: ConceptTable, settings: DiscoverySettings) -> dict[str, np.ndarray]:
    """The variables a source contributes: concepts with enough positives, age, male sex, an AP film.

    A gap in age, sex or view gets the source's mean; a variable that does not vary is left out.
    """
    out: dict[str, np.ndarray] = {}
    meta = frame.meta

    def filled(values: pd.Series) -> np.ndarray | None:
        v = values.astype(float)
        return None if v.notna().sum() < 2 else v.fillna(v.mean()).to_numpy()

    if "age" in settings.confounders and "age" in meta:
        age = filled(pd.to_numeric(meta["age"], errors="coerce") / 10.0)
        if age is not None:
            out["age"] = age
    if "sex=male" in settings.confounders and "sex" in meta:
        sex = meta["sex"].astype("string")
        male = filled((sex == "M").astype("Float64").where(sex.notna()))
        if male is not None:
            out["sex=male"] = male
    if "view=AP" in settings.confounders and "view" in meta:
        view = meta["view"].astype("string")
        ap = filled(view.isin(["AP", "AP supine"]).astype("Float64").where(view.notna()))
        if ap is not None:
            out["view=AP"] = ap
    for c in frame.concepts:
        if c not in table:
            continue
        v = frame.covariate(c).to_numpy(dtype=float)
        if int((v == 1).sum()) >= settings.min_positive:
            out[c] = v
    return {k: v for k, v in out.items() if np.std(v) > 0}


def source_statistics(frame: SourceFrame, table: ConceptTable, settings: DiscoverySettings) -> SourceStatistics:
    variables = discovery_variables(frame, table, settings)
    names = tuple(variables)
    x = np.column_stack([variables[k] for k in names]) if names else np.zeros((frame.rows, 0))
    mean = x.mean(axis=0)
    xc = x - mean
    return SourceStatistics(frame.source, names, int(len(x)), mean, xc.T @ xc)


class PooledCITest:
    """A causal-learn CI test over per-source sufficient statistics (see the module docstring)."""

    method = "pooled_fisherz"

    def __init__(self, statistics: Sequence[SourceStatistics], variables: Sequence[str], *, context: bool,
                 min_effect: float, untestable_p: float = 1.0) -> None:
        self.variables = list(variables)
        self.context = context
        self.min_effect = min_effect
        self.untestable_p = untestable_p
        index = {v: i for i, v in enumerate(self.variables)}
        n_var, n_src = len(self.variables), len(statistics)
        self.present = np.zeros((n_src, n_var), dtype=bool)
        self.scatter = np.zeros((n_src, n_var, n_var))
        self.mean = np.zeros((n_src, n_var))
        self.n = np.array([s.n for s in statistics], dtype=float)
        for k, st in enumerate(statistics):
            idx = [index[v] for v in st.names]
            self.present[k, idx] = True
            self.scatter[k][np.ix_(idx, idx)] = st.scatter
            self.mean[k, idx] = st.mean
        self.context_index = index.get(CONTEXT, -1) if context else -1
        self.cache: dict[tuple[int, int, tuple[int, ...]], float] = {}
        self.tests = 0
        self.untestable: set[tuple[int, int]] = set()
        """Pairs tested without any source recording all the variables involved."""

    def _matrices(self, variables: Sequence[int]) -> tuple[np.ndarray, np.ndarray, float, int]:
        """(total scatter, within-source scatter, N, sources) over the sources recording every variable."""
        idx = np.asarray(variables, dtype=np.intp)
        sel = np.flatnonzero(self.present[:, idx].all(axis=1))
        if len(sel) == 0:
            return np.zeros(0), np.zeros(0), 0.0, 0
        within = self.scatter[np.ix_(sel, idx, idx)].sum(axis=0)
        n = self.n[sel]
        means = self.mean[np.ix_(sel, idx)]
        n_tot = float(n.sum())
        d = means - (n[:, None] * means).sum(axis=0) / n_tot
        total = within + (d * n[:, None]).T @ d
        return total, within, n_tot, len(sel)

    @staticmethod
    def _partial(scatter: np.ndarray) -> float:
        """Partial correlation of the first two variables given the rest."""
        d = np.sqrt(np.clip(np.diag(scatter), 1e-300, None))
        corr = scatter / np.outer(d, d)
        try:
            prec = np.linalg.inv(corr)
        except np.linalg.LinAlgError:
            prec = np.linalg.pinv(corr)
        r = -prec[0, 1] / np.sqrt(abs(prec[0, 0] * prec[1, 1]))
        return float(np.clip(r, -0.999999, 0.999999))

    @staticmethod
    def _rss(scatter: np.ndarray) -> float:
        """Residual sum of squares of the first variable regressed on the others."""
        if scatter.shape[0] == 1:
            return float(scatter[0, 0])
        a, b, c = scatter[0, 0], scatter[0, 1:], scatter[1:, 1:]
        try:
            return float(a - b @ np.linalg.solve(c, b))
        except np.linalg.LinAlgError:
            return float(a - b @ np.linalg.pinv(c) @ b)

    def __call__(self, x: int, y: int, condition_set: Any = None) -> float:
        s_idx = tuple(sorted(int(i) for i in (condition_set or ())))
        key = (min(int(x), int(y)), max(int(x), int(y)), s_idx)
        if key not in self.cache:
            self.tests += 1
            self.cache[key] = self._test(key[0], key[1], s_idx)
        return self.cache[key]

    def _test(self, x: int, y: int, s_idx: tuple[int, ...]) -> float:
        ctx = self.context_index
        cond = [i for i in s_idx if i != ctx]
        if ctx >= 0 and ctx in (x, y):
            other = y if x == ctx else x
            total, within, n_tot, k = self._matrices([other, *cond])
            if k < 2:  # one environment cannot show a shift: no evidence either way
                if cond:
                    return 0.0  # this conditioning set cannot separate the pair
                self.untestable.add((x, y))
                return self.untestable_p
            rss_t, rss_w = self._rss(total), self._rss(within)
            if rss_t <= 0 or rss_w <= 0:
                return 1.0
            eta2 = max(rss_t - rss_w, 0.0) / rss_t
            df2 = n_tot - k - len(cond)
            if np.sqrt(eta2) < self.min_effect or df2 <= 0:
                return 1.0
            f = ((rss_t - rss_w) / (k - 1)) / (rss_w / df2)
            return float(stats.f.sf(f, k - 1, df2))
        by_source = ctx >= 0 and ctx in s_idx
        total, within, n_tot, k = self._matrices([x, y, *cond])
        if k == 0:
            if not self.present[:, [x, y]].all(axis=1).any():
                self.untestable.add((x, y))
                return self.untestable_p
            return 0.0  # no source records this conditioning set with the pair: it cannot separate them
        scatter = within if by_source and k > 1 else total
        if np.any(np.diag(scatter)[:2] <= 0):
            return 1.0
        r = self._partial(scatter)
        dof = n_tot - len(cond) - 3 - (k - 1 if by_source else 0)
        if abs(r) < self.min_effect or dof <= 0:
            return 1.0
        z = 0.5 * np.log((1 + r) / (1 - r)) * np.sqrt(dof)
        return float(2 * stats.norm.sf(abs(z)))


def _background(variables: Sequence[str], table: ConceptTable, context: bool) -> Any:
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge

    bk = BackgroundKnowledge()
    offset = 1 if context else 0
    for v in variables:
        if v == CONTEXT:
            tier = 0
        elif v in ("age", "sex=male"):
            tier = offset + TIERS.index("demographic")
        elif v == "view=AP":
            tier = offset + TIERS.index("acquisition")
        else:
            tier = offset + TIERS.index(table[v].tier)
        bk.add_node_to_tier(GraphNode(v), tier)
    return bk


def _marks(edge: Any) -> tuple[str, str, str, str]:
    names = {"TAIL": "tail", "ARROW": "arrow", "CIRCLE": "circle"}
    e1, e2 = edge.get_endpoint1().name, edge.get_endpoint2().name
    return (edge.get_node1().get_name(), edge.get_node2().get_name(), names.get(e1, "circle"), names.get(e2, "circle"))


def run_discovery(statistics: Sequence[SourceStatistics], table: ConceptTable, settings: DiscoverySettings, *,
                  context: bool, label: str) -> tuple[DiscoveryResult, PooledCITest]:
    """PC or FCI over the union of the sources' variables (with the source node when ``context``)."""
    from causallearn.graph.GraphNode import GraphNode  # noqa: F401  (causal-learn is imported lazily)

    variables = sorted({n for s in statistics for n in s.names})
    if context and len(statistics) > 1:
        variables = [CONTEXT, *variables]
    else:
        context = False
    # PC removes a pair no source records together (nothing to test, nothing to keep) and is then told
    # that every other node separates it, so no collider is read off a pair without evidence; FCI keeps it
    test = PooledCITest(statistics, variables, context=context, min_effect=settings.min_effect,
                        untestable_p=1.0 if settings.method == "pc" else 0.0)
    bk = _background(variables, table, context)
    started = time.perf_counter()
    dummy = np.zeros((max(len(variables) + 1, 2), len(variables)))
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if settings.method == "pc":
            from causallearn.utils.PCUtils import Meek, SkeletonDiscovery, UCSepset
            from causallearn.utils.PCUtils.BackgroundKnowledgeOrientUtils import (
                orient_by_background_knowledge,
            )

            cg = SkeletonDiscovery.skeleton_discovery(dummy, settings.alpha, test, True, background_knowledge=bk,
                                                      verbose=False, show_progress=False, node_names=variables,
                                                      max_k=settings.max_depth)
            everyone = tuple(range(len(variables)))
            for i, j in test.untestable:
                cg.sepset[i, j] = cg.sepset[j, i] = [everyone]
            orient_by_background_knowledge(cg, bk)
            cg = UCSepset.uc_sepset(cg, 2, background_knowledge=bk)
            cg = Meek.meek(cg, background_knowledge=bk)
            graph = cg.G
        else:
            from causallearn.search.ConstraintBased.FCI import fci
            from causallearn.utils.cit import CIT_Base, register_ci_test

            class _Wrapped(CIT_Base):  # FCI accepts only CIT_Base instances
                def __init__(self, inner: PooledCITest) -> None:  # no data to hash: the statistics are inside
                    self.inner, self.method = inner, inner.method

                def __call__(self, x: int, y: int, condition_set: Any = None) -> float:
                    return self.inner(x, y, condition_set)

            class _Bound(CIT_Base):  # causal-learn builds its test from a registered class: hand it ours
                def __new__(cls, data: Any, **kwargs: Any) -> Any:
                    return _Wrapped(test)

            register_ci_test(PooledCITest.method, _Bound)
            graph, _ = fci(dummy, independence_test_method=PooledCITest.method, alpha=settings.alpha,
                           depth=settings.max_depth, background_knowledge=bk, show_progress=False,
                           node_names=variables)
    edges = tuple(sorted((DiscoveredEdge(*_marks(e)) for e in graph.get_graph_edges()),  # type: ignore[arg-type]
                         key=lambda e: (e.a, e.b)))
    n = sum(s.n for s in statistics)
    return (DiscoveryResult(settings.method, "pooled fisherz (sufficient statistics)", settings.alpha,
                            tuple(variables), edges, f"tiers ({label})", n, time.perf_counter() - started), test)


def _direction_of(result: DiscoveryResult, a: str, b: str) -> tuple[str, str] | None:
    """a -> b when the edge has an arrowhead at b and none at a (a tail, or FCI's circle); None otherwise."""
    e = result.edge(a, b)
    if e is None:
        return None
    at_a, at_b = e.mark_at(a), e.mark_at(b)
    if at_b == "arrow" and at_a != "arrow":
        return (a, b)
    if at_a == "arrow" and at_b != "arrow":
        return (b, a)
    return None


@dataclass(frozen=True)
class DiscoverySummary:
    """Pooled and per-source structures, and how to read a direction from them."""

    pooled: DiscoveryResult
    per_source: Mapping[str, DiscoveryResult]
    settings: DiscoverySettings
    seconds: float
    tests: int
    untestable: int
    co_observed: Mapping[frozenset[str], tuple[str, ...]] = field(default_factory=dict)
    """Variable pair -> sources recording both."""

    def orientation(self, a: str, b: str) -> tuple[tuple[str, str] | None, str]:
        """(cause, effect) from the pooled graph, else from the per-source graphs when they agree."""
        pooled = _direction_of(self.pooled, a, b)
        if pooled is not None:
            return pooled, f"pooled {self.pooled.method.upper()} with source as context: {pooled[0]} -> {pooled[1]}"
        votes: dict[tuple[str, str], list[str]] = {}
        for s, r in self.per_source.items():
            d = _direction_of(r, a, b)
            if d is not None:
                votes.setdefault(d, []).append(s)
        if len(votes) == 1:
            (d, srcs), = votes.items()
            if len(srcs) >= 2:
                return d, f"{self.pooled.method.upper()} per source orients {d[0]} -> {d[1]} in {', '.join(srcs)}"
        e = self.pooled.edge(a, b)
        state = "not adjacent in the pooled graph" if e is None else f"pooled graph leaves it {e}"
        if votes:
            state += "; per-source orientations: " + ", ".join(f"{d[0]} -> {d[1]} ({', '.join(s)})" for d, s in votes.items())
        return None, state

    def adjacent_pairs(self) -> list[tuple[str, str]]:
        return [(e.a, e.b) for e in self.pooled.edges if CONTEXT not in (e.a, e.b)]


def discover_sources(frames: Mapping[str, SourceFrame], table: ConceptTable,
                     settings: DiscoverySettings | None = None, *, per_source: bool = True) -> DiscoverySummary:
    """Sufficient statistics per source, then discovery per source and pooled with the source as context."""
    settings = settings or DiscoverySettings()
    started = time.perf_counter()
    st = [source_statistics(f, table, settings) for f in frames.values()]
    pooled, test = run_discovery(st, table, settings, context=True, label="pooled, source as context")
    per: dict[str, DiscoveryResult] = {}
    tests, untestable = test.tests, len(test.untestable)
    if per_source:
        for s in st:
            r, t = run_discovery([s], table, settings, context=False, label=s.source)
            per[s.source] = r
            tests += t.tests
    co: dict[frozenset[str], tuple[str, ...]] = {}
    names = sorted({n for s in st for n in s.names})
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            co[frozenset((a, b))] = tuple(s.source for s in st if a in s.names and b in s.names)
    return DiscoverySummary(pooled, per, settings, time.perf_counter() - started, tests, untestable, co)
