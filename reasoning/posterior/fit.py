"""Fit a discrete Bayesian network (pgmpy) on a causal graph and multi-source label tables.

Each node gets a conditional table P(node | parents) estimated by pgmpy's ``BayesianEstimator``
(BDeu prior) from the weighted counts of the studies that report the node and all its parents.
Sources differ in what they report, so a family is fitted on the sources that report all of it
(complete cases per family; nothing is imputed), and a parent is kept only when some source
reports it together with the node and the parents kept before it:

1. a graph parent that no training source reports together with the node is left out;
2. parents are ranked by the strength of their pooled association with the node (|log OR|) and
   added while some source reports the whole family, up to ``max_parents`` (so that conditional
   tables keep enough studies per cell and exact inference stays cheap);
3. each kept edge records its per-source effect and whether it differs across sources; under
   ``source_policy="agreeing"`` a source whose effect lies on the other side of 0 from the pooled
   effect is left out of that family's counts, and the record names it; under ``"invariant"`` an
   edge is kept only when two or more sources report both ends and its effect does not differ
   across them (the source as the environment), and a left-out edge says which test it failed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import chi2

from reasoning.posterior.graph import Edge, FindingGraph, PosteriorError, as_edges, finding_graph
from reasoning.posterior.labels import WEIGHT, LabelData, LabelSettings
from reasoning.posterior.provenance import EdgeRecord, NodeRecord, SourceEffect

logging.getLogger("pgmpy").setLevel(logging.WARNING)  # pgmpy logs every data type it infers at INFO

SourcePolicy = Literal["pool", "agreeing", "invariant"]
SOURCE_POLICIES: tuple[str, ...] = ("pool", "agreeing", "invariant")


@dataclass(frozen=True)
class FitSettings:
    """How the network's structure is trimmed to the data and its tables estimated."""

    max_parents: int = 3
    min_studies: int = 50
    """A source counts as reporting a family when at least this many of its studies report all of it."""
    equivalent_sample_size: float = 2.0
    """BDeu prior strength (pseudo-studies spread over each table)."""
    labels: LabelSettings = field(default_factory=LabelSettings)
    source_policy: SourcePolicy = "pool"
    """``pool`` every reporting source; ``agreeing`` leaves out a source whose effect lies on the other
    side of 0; ``invariant`` keeps only edges whose effect holds across sources (reported by two or
    more, and not differing), the source as the environment."""
    heterogeneity_alpha: float = 0.01
    heterogeneity_log_or: float = math.log(2.0)
    """An effect differs across sources when the Q test rejects at alpha *and* some source's log odds
    ratio lies this far from the pooled one (with 100k studies the test alone flags trivial
    differences), or when two sources' intervals exclude 0 on opposite sides."""

    def __post_init__(self) -> None:
        if self.max_parents < 0:
            raise PosteriorError("max_parents must be 0 or more")
        if self.source_policy not in SOURCE_POLICIES:
            raise PosteriorError(f"unknown source policy {self.source_policy!r}; use {', '.join(SOURCE_POLICIES)}")


@dataclass(frozen=True, eq=False)
class FittedNetwork:
    """A pgmpy network over the model's nodes, with where every table came from."""

    model: Any
    """``pgmpy.models.DiscreteBayesianNetwork`` with a ``TabularCPD`` per node (states 0 and 1)."""
    graph: FindingGraph
    """The edges the network uses (the given graph's edges after trimming)."""
    edges: tuple[EdgeRecord, ...]
    """Every given edge between two model nodes: used or left out, with sources and effects."""
    nodes: tuple[NodeRecord, ...]
    settings: FitSettings

    def cpd(self, node: str) -> tuple[tuple[str, ...], np.ndarray]:
        """(variables, table) with ``table[x_node, x_parent1, ...] = P(node = x_node | parents)``."""
        c = self.model.get_cpds(node)
        return tuple(c.variables), np.asarray(c.get_values(), dtype=np.float64).reshape([2] * len(c.variables))

    def record(self, cause: str, effect: str) -> EdgeRecord:
        for r in self.edges:
            if r.edge.cause == cause and r.edge.effect == effect:
                return r
        raise PosteriorError(f"graph posterior: no edge {cause} -> {effect} among the given edges")

    def node_record(self, node: str) -> NodeRecord:
        for r in self.nodes:
            if r.node == node:
                return r
        raise PosteriorError(f"graph posterior: no node {node!r}")

    def to_json(self) -> dict[str, Any]:
        return {"nodes": [n.to_json() for n in self.nodes], "edges": [e.to_json() for e in self.edges],
                "settings": {"max_parents": self.settings.max_parents, "min_studies": self.settings.min_studies,
                             "equivalent_sample_size": self.settings.equivalent_sample_size,
                             "uncertain": self.settings.labels.uncertain,
                             "uncertain_present": self.settings.labels.uncertain_present,
                             "source_policy": self.settings.source_policy}}


# ------------------------------------------------------------------------------------------ effects
def source_effects(counts: pd.DataFrame, cause: str, effect: str) -> tuple[SourceEffect, ...]:
    """Per source: log odds ratio of ``effect`` given ``cause`` from weighted family counts (Haldane +0.5)."""
    out = []
    for src, g in counts.groupby("source", sort=True):
        t = np.full((2, 2), 0.5)
        for (c, e), w in g.groupby([cause, effect])[WEIGHT].sum().items():
            t[int(c), int(e)] += float(w)
        lor = math.log(t[1, 1] * t[0, 0] / (t[1, 0] * t[0, 1]))
        se = math.sqrt(float((1.0 / t).sum()))
        out.append(SourceEffect(str(src), lor, lor - 1.96 * se, lor + 1.96 * se, float(g[WEIGHT].sum())))
    return tuple(out)


def pooled_effect(effects: Sequence[SourceEffect]) -> tuple[float, float | None]:
    """Inverse-variance pooled log OR and Cochran's Q p-value (None with one source)."""
    se = np.array([(e.high - e.low) / (2 * 1.96) for e in effects])
    b = np.array([e.log_odds_ratio for e in effects])
    w = 1.0 / np.maximum(se, 1e-9) ** 2
    pooled = float((w * b).sum() / w.sum())
    if len(effects) < 2:
        return pooled, None
    q = float((w * (b - pooled) ** 2).sum())
    return pooled, float(chi2.sf(q, len(effects) - 1))


def _differs(effects: Sequence[SourceEffect], pooled: float, p: float | None, s: FitSettings) -> bool:
    signs = {e.excludes_zero for e in effects} - {0}
    spread = max((abs(e.log_odds_ratio - pooled) for e in effects), default=0.0)
    return (p is not None and p < s.heterogeneity_alpha and spread > s.heterogeneity_log_or) or len(signs) == 2


# ------------------------------------------------------------------------------------------ fitting
def _reporting_sources(data: LabelData, columns: Sequence[str], min_studies: int) -> tuple[str, ...]:
    return tuple(sorted(s for s, n in data.reporting(columns).items() if n >= min_studies))


def _choose_parents(node: str, candidates: Sequence[str], data: LabelData, s: FitSettings,
                    records: dict[Edge, EdgeRecord]) -> list[str]:
    strength: dict[str, float] = {}
    for p in candidates:
        if not _reporting_sources(data, [node, p], s.min_studies):
            records[Edge(p, node)] = EdgeRecord(Edge(p, node), False, "no training source reports both ends")
            continue
        counts = data.family_counts([p, node], s.labels)
        effects = source_effects(counts, p, node)
        pooled, pval = pooled_effect(effects)
        if s.source_policy == "invariant":
            if len(effects) < 2:
                records[Edge(p, node)] = EdgeRecord(Edge(p, node), False, "invariance untestable: one source reports "
                                                    "both ends", effects=effects, pooled_log_odds_ratio=pooled)
                continue
            if _differs(effects, pooled, pval, s):
                records[Edge(p, node)] = EdgeRecord(Edge(p, node), False, "effect differs across sources",
                                                    effects=effects, pooled_log_odds_ratio=pooled,
                                                    heterogeneity_p=pval, differs=True)
                continue
        strength[p] = abs(pooled)
    kept: list[str] = []
    for p in sorted(strength, key=lambda x: (-strength[x], candidates.index(x))):
        if len(kept) >= s.max_parents:
            records[Edge(p, node)] = EdgeRecord(Edge(p, node), False, f"parent cap ({s.max_parents} stronger parents kept)")
        elif not _reporting_sources(data, [node, *kept, p], s.min_studies):
            records[Edge(p, node)] = EdgeRecord(Edge(p, node), False,
                                                "no training source reports it together with " + ", ".join(kept))
        else:
            kept.append(p)
    return kept


def _fit_cpd(node: str, parents: Sequence[str], counts: pd.DataFrame, ess: float) -> Any:
    from pgmpy.estimators import BaseEstimator, BayesianEstimator
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    family = [node, *parents]
    data = counts[[*family, WEIGHT]].reset_index(drop=True)
    states = {v: [0, 1] for v in family}
    if not parents:
        # pgmpy's BayesianEstimator rebuilds the model from its edges, which loses a lone node:
        # its weighted state counts plus the BDeu pseudo-counts give the same table
        n = BaseEstimator(data, state_names=states).state_counts(node, weighted=True)
        values = n.reindex([0, 1]).fillna(0.0).to_numpy(dtype=np.float64).reshape(2, 1) + ess / 2.0
        return TabularCPD(node, 2, values / values.sum(), state_names={node: [0, 1]})
    sub = DiscreteBayesianNetwork([(p, node) for p in parents])
    est = BayesianEstimator(sub, data, state_names=states)
    return est.estimate_cpd(node, prior_type="BDeu", equivalent_sample_size=ess, weighted=True)


def fit_network(nodes: Sequence[str], edges: Iterable[tuple[str, str] | Edge], data: LabelData,
                settings: FitSettings | None = None) -> FittedNetwork:
    """A fitted network over ``nodes`` whose structure is ``edges`` trimmed as the module says."""
    from pgmpy.models import DiscreteBayesianNetwork

    s = settings or FitSettings()
    missing = [n for n in nodes if n not in data.concepts]
    if missing:
        raise PosteriorError(f"graph posterior: no label column for node(s) {', '.join(missing)}")
    unreported = [n for n in nodes if not _reporting_sources(data, [n], 1)]
    if unreported:
        raise PosteriorError(f"graph posterior: no training source reports {', '.join(unreported)}")
    given = finding_graph(nodes, as_edges(edges))
    records: dict[Edge, EdgeRecord] = {d.edge: EdgeRecord(d.edge, False, d.reason) for d in given.dropped}
    cpds = []
    kept_edges: list[Edge] = []
    node_records = []
    for node in given.topological():
        parents = _choose_parents(node, list(given.parents(node)), data, s, records)
        sources = _reporting_sources(data, [node, *parents], s.min_studies if parents else 1)
        counts = data.family_counts([node, *parents], s.labels, sources)
        effects = {p: source_effects(counts, p, node) for p in parents}
        excluded: list[tuple[str, str]] = []
        if s.source_policy == "agreeing" and len(sources) > 1:
            for p in parents:
                pooled, _ = pooled_effect(effects[p])
                sign = 1 if pooled > 0 else -1
                excluded += [(e.source, f"its {p} -> {node} effect ({e.log_odds_ratio:+.2f}) lies on the other "
                              f"side of 0 from the pooled {pooled:+.2f}")
                             for e in effects[p] if e.excludes_zero == -sign]
            drop = {src for src, _ in excluded}
            if drop and drop != set(sources):
                sources = tuple(x for x in sources if x not in drop)
                counts = counts[counts["source"].isin(sources)]
            else:
                excluded = []
        cpds.append(_fit_cpd(node, parents, counts, s.equivalent_sample_size))
        total = float(counts[WEIGHT].sum())
        prev = float(counts.loc[counts[node] == 1, WEIGHT].sum() / total) if total else float("nan")
        node_records.append(NodeRecord(node, tuple(parents), tuple(sources), total, prev))
        for p in parents:
            pooled, pval = pooled_effect(effects[p])
            edge = Edge(p, node)
            kept_edges.append(edge)
            records[edge] = EdgeRecord(edge, True, "", tuple(sources), effects[p], pooled, pval,
                                       _differs(effects[p], pooled, pval, s),
                                       tuple((src, why) for src, why in excluded))
    model = DiscreteBayesianNetwork([(e.cause, e.effect) for e in kept_edges])
    model.add_nodes_from(nodes)
    model.add_cpds(*cpds)
    model.check_model()
    order = {e: i for i, e in enumerate(as_edges(edges))}
    ordered = tuple(sorted(records.values(), key=lambda r: order.get(r.edge, len(order))))
    by_node = {r.node: r for r in node_records}
    return FittedNetwork(model, FindingGraph(tuple(nodes), tuple(kept_edges)), ordered,
                         tuple(by_node[n] for n in nodes), s)
