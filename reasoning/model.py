"""The causal model for one edge: the graph's ancestral subgraph around cause and effect.

Identification of P(effect | do(cause)) only needs the ancestors of the two variables, so the model is
that subgraph: small even when the graph is large, and the place where a cycle among the graph's
claims shows up. Concepts without a data column stay in the model as latent variables, so a latent
common cause (heart failure, say) is taken into account rather than ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx


class NotTestable(Exception):
    """This edge cannot be tested on these data; the message says why (shown to users as the reason)."""


@dataclass(frozen=True)
class CausalModelSpec:
    """A DAG over variable names with the treatment, the outcome and which variables the data observe."""

    treatment: str
    outcome: str
    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    observed: frozenset[str]
    dropped: tuple[tuple[str, str], ...] = ()
    """Proposed edges left out of the model because they closed a cycle (weakest support first)."""

    @property
    def latent(self) -> tuple[str, ...]:
        return tuple(n for n in self.nodes if n not in self.observed)

    def digraph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        g.add_edges_from(self.edges)
        for n in self.nodes:
            g.nodes[n]["observed"] = "yes" if n in self.observed else "no"
        return g


def _cycle_text(g: nx.DiGraph) -> str:
    cycle = nx.find_cycle(g)
    names = [u for u, _ in cycle] + [cycle[0][0]]
    return " -> ".join(names)


def build_model(graph: nx.DiGraph, treatment: str, outcome: str, observed: Iterable[str], *,
                mediator: str | None = None) -> CausalModelSpec:
    """The model for testing ``treatment -> outcome``: that edge, plus every edge among their ancestors.

    A claim that names its mediator (heart failure causes edema *through* raised venous pressure)
    asserts treatment -> mediator -> outcome instead of a direct edge, which is what lets a front-door
    estimand apply. The reverse edge (outcome -> treatment), if the graph also claims it, is left out:
    it is the rival hypothesis, not an assumption. Other cycles are broken at their weakest proposed
    edge (edge attributes ``trusted`` and ``support`` from :func:`reasoning.graph.causal_digraph`; an
    edge without them counts as trusted); a cycle of trusted edges makes the edge untestable.
    """
    obs = frozenset(observed)
    for v in (treatment, outcome):
        if v not in obs:
            raise NotTestable(f"no data column for {v}")
    g = nx.DiGraph(graph)
    g.add_nodes_from((treatment, outcome))
    if g.has_edge(outcome, treatment):
        g.remove_edge(outcome, treatment)
    if mediator and mediator not in (treatment, outcome):
        if g.has_edge(treatment, outcome):
            g.remove_edge(treatment, outcome)
        g.add_edge(treatment, mediator)
        g.add_edge(mediator, outcome)
    else:
        g.add_edge(treatment, outcome)
    tested = {(treatment, outcome), (treatment, mediator), (mediator, outcome)}
    dropped: list[tuple[str, str]] = []
    while True:
        keep = {treatment, outcome} | nx.ancestors(g, treatment) | nx.ancestors(g, outcome)
        sub = g.subgraph(keep)
        try:
            cycle = nx.find_cycle(sub)
        except nx.NetworkXNoCycle:
            break
        # Mined claims contradict each other (A -> B in one report, B -> A in another): a cycle through
        # proposed edges is broken at its weakest one; a cycle of trusted edges is a real conflict.
        weak = [(u, v) for u, v in cycle if (u, v) not in tested and not sub.edges[u, v].get("trusted", True)]
        if not weak:
            raise NotTestable(f"cyclic subgraph: {_cycle_text(sub.subgraph({u for u, _ in cycle}))}")
        victim = min(weak, key=lambda e: (sub.edges[e].get("support", 1), e))
        g.remove_edge(*victim)
        dropped.append(victim)
    sub = g.subgraph(keep).copy()
    nodes = tuple(sorted(sub.nodes))
    return CausalModelSpec(treatment, outcome, nodes, tuple(sorted(sub.edges)), frozenset(n for n in nodes if n in obs),
                           tuple(dropped))
