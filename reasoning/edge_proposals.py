"""Edges proposed from the pooled sources: discovery finds the pairs, the cross-source verdict keeps them.

Every pair adjacent in the pooled discovery graph (source as context, tiers as knowledge) between two
graph concepts (diseases, findings, devices: not the demographics or the reading's confounders they
were adjusted for) is a candidate, unless one concept is a kind of the other (a definitional, not a
causal, dependence) or no two sources record both. Its direction comes from the tiers, then
discovery, then invariance; undirected pairs are set aside. A candidate becomes a proposal when the
cross-source rule validates it with no source counted as its producer: the same sign, excluding 0,
in at least two sources. A proposal carries everything a curator needs (sources, method, parameters,
per-source and pooled effect); writing it to the store is the caller's business.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from kg.concepts import ConceptTable
from reasoning.cross_source import (
    CandidateEdge,
    CrossSourceSettings,
    CrossSourceVerdict,
    Direction,
    PooledEffect,
    SourceDesign,
    SourceEffect,
    SourceResult,
    build_designs,
    decide_direction,
    estimate_in_source,
    judge,
)
from reasoning.source_discovery import DiscoverySettings, DiscoverySummary, discover_sources
from reasoning.source_frames import SourceFrame

GRAPH_TIERS = ("disease", "finding", "device")


@dataclass(frozen=True)
class EdgeProposal:
    """A data-proposed causal edge, with its provenance."""

    cause: str
    effect: str
    sources: tuple[str, ...]
    """Sources whose adjusted effect has the claimed sign with an interval excluding 0."""
    method: str
    parameters: Mapping[str, str | float | int]
    pooled: PooledEffect
    """Inverse-variance pooled adjusted effect over the sources that estimate it."""
    per_source: tuple[SourceResult, ...]
    direction: Direction
    reason: str


@dataclass(frozen=True)
class ProposalRun:
    proposals: tuple[EdgeProposal, ...]
    candidates: int
    unoriented: tuple[tuple[str, str, str], ...]
    """Adjacent pairs left out because no tier, discovery or invariance orients them (with why)."""
    rejected: Mapping[str, int]
    """Oriented candidates not proposed, by verdict."""
    seconds: float
    discovery: DiscoverySummary


def _parameters(d: DiscoverySettings, s: CrossSourceSettings) -> dict[str, str | float | int]:
    out: dict[str, str | float | int] = {f"discovery.{k}": (v if isinstance(v, (int, float, str)) else str(v))
                                         for k, v in asdict(d).items()}
    out.update({f"estimation.{k}": (v if isinstance(v, (int, float, str)) else str(v)) for k, v in asdict(s).items()})
    return out


def propose_edges(frames: Mapping[str, SourceFrame], table: ConceptTable, *,
                  settings: CrossSourceSettings | None = None, discovery: DiscoverySummary | None = None,
                  discovery_settings: DiscoverySettings | None = None,
                  designs: Mapping[str, SourceDesign] | None = None,
                  exclude: Iterable[tuple[str, str]] = ()) -> ProposalRun:
    """Propose edges from the pooled sources (pure: nothing is written)."""
    started = time.perf_counter()
    settings = settings or CrossSourceSettings()
    if discovery is None:
        discovery = discover_sources(frames, table, discovery_settings)
    designs = designs or build_designs(frames, settings)
    skip = {tuple(p) for p in exclude}
    cache: dict[tuple[str, str, str], SourceResult] = {}

    def results(c: str, e: str) -> list[SourceResult]:
        out = []
        for s, d in designs.items():
            if (s, c, e) not in cache:
                cache[(s, c, e)] = estimate_in_source(d, c, e, table, settings)
            out.append(cache[(s, c, e)])
        return out

    method = (f"{discovery.settings.method.upper()} over the pooled sources with the source as context and the "
              "concept tiers as background knowledge; direction by tiers, then discovery, then invariance; "
              f"kept when the adjusted effect agrees in at least {settings.min_sources} sources")
    params = _parameters(discovery.settings, settings)
    proposals, unoriented = [], []
    rejected: dict[str, int] = {}
    candidates = 0
    for a, b in discovery.adjacent_pairs():
        if a not in table or b not in table:
            continue
        if table[a].tier not in GRAPH_TIERS or table[b].tier not in GRAPH_TIERS or table.definitional(a, b):
            continue
        if len(discovery.co_observed.get(frozenset((a, b)), ())) < settings.min_sources:
            continue
        candidates += 1
        same_tier = table.tier_rank(a) == table.tier_rank(b)
        fwd = [r for r in results(a, b) if isinstance(r, SourceEffect)]
        bwd = [r for r in results(b, a) if isinstance(r, SourceEffect)] if same_tier else []
        direction = decide_direction(a, b, table, discovery, fwd, bwd, settings)
        if direction.cause is None or direction.effect is None:
            unoriented.append((a, b, direction.detail))
            continue
        cause, effect = direction.cause, direction.effect
        if (cause, effect) in skip:
            continue
        verdict: CrossSourceVerdict = judge(CandidateEdge(cause, effect, label="proposed"), results(cause, effect),
                                            direction, reverse_is_candidate=False, settings=settings)
        if verdict.verdict != "validated" or verdict.pooled is None:
            rejected[verdict.verdict] = rejected.get(verdict.verdict, 0) + 1
            continue
        proposals.append(EdgeProposal(cause, effect, verdict.supporting, method, params, verdict.pooled,
                                      verdict.per_source, direction, verdict.reason))
    proposals.sort(key=lambda p: -abs(p.pooled.value))
    return ProposalRun(tuple(proposals), candidates, tuple(unoriented), rejected, time.perf_counter() - started,
                       discovery)
