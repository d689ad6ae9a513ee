"""Causal discovery with causal-learn, and how the discovered structure compares with the graph's claims.

PC runs a chi-square or G-square test on discrete data and Fisher-z on continuous (or mixed) data; FCI
allows latent confounders and returns a PAG; GES searches scores (BDeu for discrete, BIC otherwise).
The graph's accepted edges can enter as background knowledge: each accepted edge X -> Y is required
and Y -> X forbidden. causal-learn's PC and FCI only *orient* by required edges (a CI test may still
drop them) and its GES takes no knowledge at all, so required edges are restored and the orientation
rules (Meek) re-run after the search: what the curators know always holds in the result.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd

from reasoning.data import variable_kind

Method = Literal["pc", "fci", "ges"]
IndependenceTest = Literal["auto", "chisq", "gsq", "fisherz"]
Mark = Literal["tail", "arrow", "circle"]
DiscoveryVerdict = Literal["supported", "contradicted", "reversed", "notTestable"]

METHODS: tuple[str, ...] = ("pc", "fci", "ges")
TESTS: tuple[str, ...] = ("auto", "chisq", "gsq", "fisherz")


@dataclass(frozen=True)
class DiscoveredEdge:
    """An edge of a CPDAG / PAG with the mark at each end (``a`` tail, ``b`` arrow means a -> b)."""

    a: str
    b: str
    mark_a: Mark
    mark_b: Mark

    @property
    def kind(self) -> str:
        """``directed``, ``undirected``, ``bidirected`` or ``partial`` (a circle mark at some end)."""
        if "circle" in (self.mark_a, self.mark_b):
            return "partial"
        if self.mark_a == "tail" and self.mark_b == "tail":
            return "undirected"
        if self.mark_a == "arrow" and self.mark_b == "arrow":
            return "bidirected"
        return "directed"

    def mark_at(self, node: str) -> Mark:
        return self.mark_a if node == self.a else self.mark_b

    def points_into(self, node: str) -> bool:
        return self.mark_at(node) == "arrow"

    def __str__(self) -> str:
        left = {"tail": "-", "arrow": "<", "circle": "o"}[self.mark_a]
        right = {"tail": "-", "arrow": ">", "circle": "o"}[self.mark_b]
        return f"{self.a} {left}-{right} {self.b}"


@dataclass(frozen=True)
class BackgroundKnowledgeSpec:
    """Edges the search must keep (``required``, as cause -> effect) and directions it must not use."""

    required: tuple[tuple[str, str], ...] = ()
    forbidden: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_edges(cls, accepted: Iterable[tuple[str, str]], variables: Iterable[str]) -> BackgroundKnowledgeSpec:
        """Accepted X -> Y between two observed variables: X -> Y required, Y -> X forbidden."""
        known = set(variables)
        req = sorted({(a, b) for a, b in accepted if a in known and b in known and a != b})
        both = {(a, b) for a, b in req if (b, a) in set(req)}
        req = [e for e in req if e not in both]  # a 2-cycle among accepted edges says nothing about direction
        return cls(tuple(req), tuple(sorted((b, a) for a, b in req)))

    def __bool__(self) -> bool:
        return bool(self.required or self.forbidden)

    def describe(self) -> str:
        return f"{len(self.required)} required, {len(self.forbidden)} forbidden" if self else "none"


@dataclass(frozen=True)
class DiscoveryResult:
    """A discovered structure over the analysed variables and how it was obtained."""

    method: str
    test: str
    alpha: float
    variables: tuple[str, ...]
    edges: tuple[DiscoveredEdge, ...]
    background: str
    samples: int
    seconds: float
    skipped: Mapping[str, str] = field(default_factory=dict)
    """Variables left out of the search, with the reason (constant, no data, ...)."""

    def edge(self, x: str, y: str) -> DiscoveredEdge | None:
        for e in self.edges:
            if {e.a, e.b} == {x, y}:
                return e
        return None

    def directed_pairs(self) -> set[tuple[str, str]]:
        out = set()
        for e in self.edges:
            if e.kind == "directed":
                out.add((e.a, e.b) if e.mark_b == "arrow" else (e.b, e.a))
        return out


def choose_test(frame: pd.DataFrame) -> str:
    """Chi-square when every variable is discrete; Fisher-z when any is continuous."""
    kinds = {variable_kind(frame[c]) for c in frame.columns}
    return "chisq" if kinds <= {"binary", "discrete"} else "fisherz"


def _marks(edge: object) -> tuple[str, str, Mark, Mark]:
    names = {"TAIL": "tail", "ARROW": "arrow", "CIRCLE": "circle"}  # Endpoint is not hashable: go by name
    e1, e2 = edge.get_endpoint1().name, edge.get_endpoint2().name  # type: ignore[attr-defined]
    return (edge.get_node1().get_name(), edge.get_node2().get_name(),  # type: ignore[attr-defined]
            names.get(e1, "circle"), names.get(e2, "circle"))  # type: ignore[return-value]


def _to_causallearn_bk(spec: BackgroundKnowledgeSpec) -> object:
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge

    bk = BackgroundKnowledge()
    for a, b in spec.required:
        bk.add_required_by_node(GraphNode(a), GraphNode(b))
    for a, b in spec.forbidden:
        bk.add_forbidden_by_node(GraphNode(a), GraphNode(b))
    return bk


def _enforce_required(cg: Any, spec: BackgroundKnowledgeSpec, bk: Any, *, meek: bool) -> Any:
    """Put every required edge back as X -> Y, then let Meek's rules propagate the new orientations."""
    from causallearn.utils.PCUtils import Meek

    graph = cg.G
    nodes = {n.get_name(): n for n in graph.get_nodes()}
    for a, b in spec.required:
        na, nb = nodes[a], nodes[b]
        existing = graph.get_edge(na, nb)
        if existing is not None:
            graph.remove_edge(existing)
        graph.add_directed_edge(na, nb)
    for a, b in spec.forbidden:
        e = graph.get_edge(nodes[a], nodes[b])
        if e is not None and graph.is_directed_from_to(nodes[a], nodes[b]):
            graph.remove_edge(e)
            graph.add_directed_edge(nodes[b], nodes[a])
    return Meek.meek(cg, background_knowledge=bk) if meek else cg


class CITestCache:
    """Conditional-independence tests shared between searches over the same data.

    PC's cost is its CI tests, and a test's p-value does not depend on the background knowledge, so
    a second search over the same columns (for example one without knowledge, to judge the accepted
    edges) reuses every p-value the first one computed. Keyed by the data's bytes and the test name.
    """

    def __init__(self) -> None:
        self._tests: dict[tuple[str, str], Any] = {}

    def get(self, x: np.ndarray, test: str) -> Any:
        from causallearn.utils.cit import CIT

        key = (hashlib.sha1(np.ascontiguousarray(x).tobytes() + str(x.shape).encode()).hexdigest(), test)
        if key not in self._tests:
            self._tests[key] = CIT(x, test)
        return self._tests[key]


def _pc(x: np.ndarray, alpha: float, cit: Any, bk: Any, names: list[str], max_k: int | None) -> Any:
    """causal-learn's PC (stable skeleton, sepset colliders with priority 2, Meek rules), as its
    ``pc`` runs it by default, but over a CI-test object the caller may share between searches."""
    from causallearn.utils.PCUtils import Meek, SkeletonDiscovery, UCSepset
    from causallearn.utils.PCUtils.BackgroundKnowledgeOrientUtils import orient_by_background_knowledge

    cg = SkeletonDiscovery.skeleton_discovery(x, alpha, cit, True, background_knowledge=bk, verbose=False,
                                              show_progress=False, node_names=names, max_k=max_k)
    if bk is not None:
        orient_by_background_knowledge(cg, bk)
    cg = UCSepset.uc_sepset(cg, 2, background_knowledge=bk)
    return Meek.meek(cg, background_knowledge=bk)


def discover(frame: pd.DataFrame, *, method: Method | str = "pc", test: IndependenceTest | str = "auto",
             alpha: float = 0.05, background: BackgroundKnowledgeSpec | None = None,
             max_depth: int | None = None, cache: CITestCache | None = None) -> DiscoveryResult:
    """Learn a CPDAG (PC, GES) or PAG (FCI) from the frame's columns; rows with a gap are left out.

    Constant or empty columns cannot take part and are reported in ``skipped`` rather than failing
    the run. Searches given the same ``cache`` share their PC independence tests.
    """
    if method not in METHODS:
        raise ValueError(f"unknown discovery method {method!r}; use one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise ValueError(f"unknown independence test {test!r}; use one of {', '.join(TESTS)}")
    skipped: dict[str, str] = {}
    usable = []
    for c in frame.columns:
        kind = variable_kind(frame[c])
        if kind in ("binary", "discrete", "continuous"):
            usable.append(c)
        else:
            skipped[str(c)] = f"column is {kind}"
    data = frame[usable].dropna()
    spec = background or BackgroundKnowledgeSpec()
    spec = BackgroundKnowledgeSpec(
        tuple(e for e in spec.required if e[0] in usable and e[1] in usable),
        tuple(e for e in spec.forbidden if e[0] in usable and e[1] in usable))
    chosen_test = choose_test(data) if test == "auto" else str(test)
    started = time.perf_counter()
    if len(usable) < 2 or len(data) < 10:
        why = "fewer than two usable variables" if len(usable) < 2 else f"only {len(data)} complete rows"
        for c in usable:
            skipped[str(c)] = why
        return DiscoveryResult(str(method), chosen_test, alpha, (), (), spec.describe(), len(data), 0.0, skipped)
    names = [str(c) for c in usable]
    x = data.to_numpy(dtype=float)
    bk = _to_causallearn_bk(spec) if spec else None
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # causal-learn's pandas / numpy deprecation chatter
        if method == "pc":
            cit = (cache or CITestCache()).get(x, chosen_test)
            cg = _pc(x, alpha, cit, bk, names, max_depth)
            if spec:
                cg = _enforce_required(cg, spec, bk, meek=True)
            graph = cg.G
        elif method == "fci":
            from causallearn.search.ConstraintBased.FCI import fci

            graph, _ = fci(x, independence_test_method=chosen_test, alpha=alpha, background_knowledge=bk,
                           show_progress=False, node_names=names, depth=-1 if max_depth is None else max_depth)
            if spec:
                graph = _enforce_required(SimpleNamespace(G=graph), spec, bk, meek=False).G
        else:
            from causallearn.graph.GraphClass import CausalGraph
            from causallearn.search.ScoreBased.GES import ges

            discrete = chosen_test in ("chisq", "gsq")
            record = ges(x, score_func="local_score_BDeu" if discrete else "local_score_BIC", node_names=names)
            cg = CausalGraph(len(names), names)
            cg.G = record["G"]
            if spec:
                from causallearn.utils.PCUtils.BackgroundKnowledgeOrientUtils import (
                    orient_by_background_knowledge,
                )

                orient_by_background_knowledge(cg, bk)
                cg = _enforce_required(cg, spec, bk, meek=True)
            graph = cg.G
    edges = tuple(sorted((DiscoveredEdge(*_marks(e)) for e in graph.get_graph_edges()), key=lambda e: (e.a, e.b)))
    return DiscoveryResult(str(method), chosen_test, alpha, tuple(names), edges, spec.describe(), len(data),
                           time.perf_counter() - started, skipped)


@dataclass(frozen=True)
class EdgeComparison:
    """How one claimed cause -> effect fares against the discovered structure."""

    cause: str
    effect: str
    verdict: DiscoveryVerdict
    reason: str


def _possibly_directed_path(result: DiscoveryResult, source: str, target: str) -> list[str] | None:
    """Shortest path source ... target on which no edge has an arrowhead at its source-side end (Zhang 2008)."""
    g = nx.DiGraph()
    g.add_nodes_from(result.variables)
    for e in result.edges:
        if not e.points_into(e.a):
            g.add_edge(e.a, e.b)
        if not e.points_into(e.b):
            g.add_edge(e.b, e.a)
    try:
        return list(nx.shortest_path(g, source, target))
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None


def compare_with_graph(result: DiscoveryResult, claimed: Iterable[tuple[str, str]],
                       labels: Mapping[str, str] | None = None) -> dict[tuple[str, str], EdgeComparison]:
    """Per claimed edge: supported, contradicted, reversed, or not testable (and why).

    A claim of causation need not be a direct edge (heart failure causes effusion through interstitial
    edema), so a possibly-directed path from cause to effect counts as support, named in the reason.
    """
    lab = dict(labels or {})

    def name(v: str) -> str:
        return lab.get(v, v)

    out: dict[tuple[str, str], EdgeComparison] = {}
    analysed = set(result.variables)
    for x, y in claimed:
        if x not in analysed or y not in analysed:
            missing = [v for v in (x, y) if v not in analysed]
            why = "; ".join(f"{name(v)}: {result.skipped.get(v, 'no data column')}" for v in missing)
            out[(x, y)] = EdgeComparison(x, y, "notTestable", f"not in the discovery data ({why})")
            continue
        e = result.edge(x, y)
        if e is not None:
            if e.kind == "bidirected":
                verdict, reason = "contradicted", f"{name(x)} <-> {name(y)}: a latent common cause, no causal edge"
            elif e.points_into(x):
                verdict, reason = "reversed", f"discovered {name(y)} -> {name(x)}"
            elif e.kind == "directed":
                verdict, reason = "supported", f"discovered {name(x)} -> {name(y)}"
            else:
                verdict, reason = "supported", f"adjacent ({e.kind}); the data leave the orientation open"
            out[(x, y)] = EdgeComparison(x, y, verdict, reason)  # type: ignore[arg-type]
            continue
        forward = _possibly_directed_path(result, x, y)
        if forward:
            via = ", ".join(name(v) for v in forward[1:-1])
            out[(x, y)] = EdgeComparison(x, y, "supported", f"indirect: a causal path through {via}")
            continue
        backward = _possibly_directed_path(result, y, x)
        if backward:
            via = ", ".join(name(v) for v in backward[1:-1])
            out[(x, y)] = EdgeComparison(x, y, "reversed", f"indirect path from {name(y)} to {name(x)} through {via}")
            continue
        out[(x, y)] = EdgeComparison(x, y, "contradicted",
                                     f"no causal path from {name(x)} to {name(y)} in the discovered structure")
    return out


def structure_from(result: DiscoveryResult) -> dict[frozenset[str], str]:
    """Pair -> ``a->b`` / ``a<->b`` / ``a--b`` (undetermined) for every adjacent pair."""
    out = {}
    for e in result.edges:
        if e.kind == "directed":
            a, b = (e.a, e.b) if e.mark_b == "arrow" else (e.b, e.a)
            out[frozenset((a, b))] = f"{a}->{b}"
        elif e.kind == "bidirected":
            out[frozenset((e.a, e.b))] = "<->"
        else:
            out[frozenset((e.a, e.b))] = "--"
    return out


__all__: Sequence[str] = [
    "BackgroundKnowledgeSpec", "DiscoveredEdge", "DiscoveryResult", "EdgeComparison", "compare_with_graph",
    "choose_test", "discover", "structure_from",
]
