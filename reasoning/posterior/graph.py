"""The causal structure a graph posterior is built on: a DAG over concept ids, from a list of edges.

The product passes the validated graph; a benchmark may pass a hand-checked list. Either may hold an
edge whose end is not a model node, or a pair of edges that closes a cycle (a claim and its reverse
both stated). A Bayesian network needs a DAG, so edges are taken in the order given (the caller
lists the strongest first) and one that would close a cycle is left out and recorded, never
silently lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import networkx as nx


class PosteriorError(ValueError):
    """A graph posterior that cannot be built or asked as requested; the message says what is wrong."""


@dataclass(frozen=True)
class Edge:
    """A causal edge ``cause -> effect`` between two concept ids."""

    cause: str
    effect: str

    def __str__(self) -> str:
        return f"{self.cause} -> {self.effect}"


@dataclass(frozen=True)
class DroppedEdge:
    """An edge of the given graph that the model does not use, and why."""

    edge: Edge
    reason: str


@dataclass(frozen=True)
class FindingGraph:
    """A DAG over the model's nodes, with the given edges it could not keep."""

    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]
    dropped: tuple[DroppedEdge, ...] = ()

    def parents(self, node: str) -> tuple[str, ...]:
        return tuple(e.cause for e in self.edges if e.effect == node)

    def children(self, node: str) -> tuple[str, ...]:
        return tuple(e.effect for e in self.edges if e.cause == node)

    def digraph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        g.add_edges_from((e.cause, e.effect) for e in self.edges)
        return g

    def topological(self) -> tuple[str, ...]:
        """Nodes with every cause before its effects (ties in the given node order)."""
        rank = {n: i for i, n in enumerate(self.nodes)}
        return tuple(nx.lexicographical_topological_sort(self.digraph(), key=rank.__getitem__))


def as_edges(pairs: Iterable[tuple[str, str] | Edge]) -> tuple[Edge, ...]:
    return tuple(p if isinstance(p, Edge) else Edge(str(p[0]), str(p[1])) for p in pairs)


def finding_graph(nodes: Sequence[str], edges: Iterable[tuple[str, str] | Edge]) -> FindingGraph:
    """The DAG over ``nodes`` that keeps each given edge, in order, unless it leaves the nodes,
    repeats an edge, is a self-loop or closes a cycle with the edges kept before it."""
    if len(set(nodes)) != len(nodes):
        raise PosteriorError("graph posterior: a node is listed twice")
    if not nodes:
        raise PosteriorError("graph posterior: no node to build a model over")
    inside = set(nodes)
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    kept: list[Edge] = []
    dropped: list[DroppedEdge] = []
    for e in as_edges(edges):
        if e.cause not in inside or e.effect not in inside:
            continue  # outside the model: not a loss, the model was asked about other nodes
        if e.cause == e.effect:
            dropped.append(DroppedEdge(e, "a self-loop"))
        elif g.has_edge(e.cause, e.effect):
            continue
        elif nx.has_path(g, e.effect, e.cause):
            path = nx.shortest_path(g, e.effect, e.cause)
            dropped.append(DroppedEdge(e, "would close the cycle " + " -> ".join([*path, e.effect])))
        else:
            g.add_edge(e.cause, e.effect)
            kept.append(e)
    return FindingGraph(tuple(nodes), tuple(kept), tuple(dropped))
