"""Where each parameter of a graph posterior came from: sources, per-source effects, left-out edges.

An edge's parameters are read from the sources that report its effect together with all the
effect's parents in the model. When the edge's effect differs across those sources (Cochran's Q, or
two sources whose intervals exclude 0 on opposite sides), the record says so, lists each source's
effect, and names the sources whose counts the model used and any it left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reasoning.posterior.graph import Edge


@dataclass(frozen=True)
class SourceEffect:
    """An edge's association in one source: log odds ratio of the effect given the cause, 95% interval."""

    source: str
    log_odds_ratio: float
    low: float
    high: float
    studies: float
    """Studies (weighted, uncertain cells shared) that report both ends."""

    @property
    def excludes_zero(self) -> int:
        """+1 or -1 when the interval lies above or below 0, else 0."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "log_odds_ratio": round(self.log_odds_ratio, 4),
                "ci95": [round(self.low, 4), round(self.high, 4)], "studies": round(self.studies, 1)}


@dataclass(frozen=True)
class EdgeRecord:
    """One edge of the given graph inside the model: used (with its sources) or left out (with the reason)."""

    edge: Edge
    used: bool
    reason: str = ""
    sources: tuple[str, ...] = ()
    """Sources whose counts gave the effect's parameters (empty when the edge is not used)."""
    effects: tuple[SourceEffect, ...] = ()
    pooled_log_odds_ratio: float | None = None
    heterogeneity_p: float | None = None
    differs: bool = False
    """The effect differs across sources (Q test below the settings' alpha, or opposite signs)."""
    excluded_sources: tuple[tuple[str, str], ...] = ()
    """(source, why) for sources that report the family but whose counts were not used."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cause": self.edge.cause, "effect": self.edge.effect, "used": self.used}
        if self.reason:
            out["reason"] = self.reason
        if self.used:
            out["sources"] = list(self.sources)
        if self.effects:
            out["per_source"] = [e.to_json() for e in self.effects]
        if self.pooled_log_odds_ratio is not None:
            out["pooled_log_odds_ratio"] = round(self.pooled_log_odds_ratio, 4)
        if self.heterogeneity_p is not None:
            out["heterogeneity_p"] = float(f"{self.heterogeneity_p:.3g}")
        if self.effects:
            out["differs_across_sources"] = self.differs
        if self.excluded_sources:
            out["excluded_sources"] = [{"source": s, "why": w} for s, w in self.excluded_sources]
        return out


@dataclass(frozen=True)
class NodeRecord:
    """A node's conditional table: its parents and the sources its counts came from."""

    node: str
    parents: tuple[str, ...]
    sources: tuple[str, ...]
    studies: float
    prevalence: float
    """Present share among the counted studies (uncertain cells shared as configured)."""

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "parents": list(self.parents), "sources": list(self.sources),
                "studies": round(self.studies, 1), "prevalence": round(self.prevalence, 4)}
