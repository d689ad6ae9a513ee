"""The edge view: one edge (cause, relation, effect) with its claims, its validation per source and its comments.

The same edge mined from seven abstracts is one edge with seven claims: the view lists each claim
(sentence, source, extractor, confidence, status, version, latest verdict), the validation of the
edge per data source (the latest result of each source over the edge's claims, newest first) and
the discussion on the edge and on its claims. An act on the edge is an act on the claims the curator
selects (:func:`kg.curation.acts.bulk`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kg.curation.comments import Comment, comments_on
from kg.curation.index import CurationIndex, Verdict, index_for
from kg.curation.search import ClaimHit, EdgeRow, edge_row, hit, resolve_edge
from kg.store.base import Store
from kg.validations import SourceEffectRecord, read_validations


@dataclass(frozen=True)
class SourceVerdict:
    """The latest verdict one validation run's data gave on the edge, with how many of its claims carry it.

    A cross-source run (``kg.validations``: ``mcrag:sourceEffect``) also gives the effect in each data
    source it used (``effects``) and the verdict across them."""

    verdict: Verdict
    claims: int
    effects: tuple[SourceEffectRecord, ...] = ()
    across_sources: str | None = None
    holds_across_sources: bool | None = None
    direction_basis: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.verdict.to_json(), "claims": self.claims, "effects": [asdict(e) for e in self.effects],
                "across_sources": self.across_sources, "holds_across_sources": self.holds_across_sources,
                "direction_basis": self.direction_basis}


@dataclass(frozen=True)
class EdgeDetail:
    """Everything a curator needs to decide on an edge."""

    row: EdgeRow
    claims: list[ClaimHit]
    total_claims: int
    offset: int
    validations: list[SourceVerdict]
    comments: list[Comment] = field(default_factory=list)
    claim_comments: dict[str, list[Comment]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.row.to_json(), "members": [c.to_json() for c in self.claims], "total_claims": self.total_claims,
                "offset": self.offset, "validations": [v.to_json() for v in self.validations],
                "comments": [c.to_json() for c in self.comments],
                "claim_comments": {k.rsplit("/", 1)[-1]: [c.to_json() for c in v]
                                   for k, v in self.claim_comments.items()}}


def per_source(index: CurationIndex, members: np.ndarray, store: Store | None = None) -> list[SourceVerdict]:
    """The latest result of each data source over the claims, newest first; with ``store``, each result's
    effect per source and verdict across sources (cross-source runs) are read for it."""
    best: dict[str, tuple[Verdict, int]] = {}
    count: dict[tuple[str, str], int] = {}
    for i in members.tolist():
        for v in index.verdicts[i]:
            count[(v.source, v.result)] = count.get((v.source, v.result), 0) + 1
            cur = best.get(v.source)
            if cur is None or (_t(v), v.result) > (_t(cur[0]), cur[0].result):
                best[v.source] = (v, i)
    views = sorted(best.values(), key=lambda vi: (_t(vi[0]), vi[0].result), reverse=True)
    out = []
    for v, i in views:
        full = None
        if store is not None:  # one claim that carries the result: its full record has the per-source effects
            full = next((r for r in read_validations(store, [index.claims[i]]).get(index.claims[i], [])
                         if r.result == v.result), None)
        out.append(SourceVerdict(v, count[(v.source, v.result)], full.per_source if full else (),
                                 full.across_sources if full else None, full.holds_across_sources if full else None,
                                 full.direction_basis if full else None))
    return out


def _t(v: Verdict) -> float:
    return -math.inf if math.isnan(v.time) else v.time


def edge_detail(store: Store, edge: str, *, limit: int = 100, offset: int = 0,
                index: CurationIndex | None = None) -> EdgeDetail:
    """The edge (its IRI or hash) with a page of its claims (most important first), verdicts and comments."""
    idx = index or index_for(store)
    with idx.lock:
        idx.ensure()
        k = resolve_edge(idx, edge)
        priority = idx.priorities()
        members = idx.edge_members[k]
        row = edge_row(idx, k, priority=priority)
        ordered = members[np.lexsort((members, -priority[members]))]
        page = ordered[max(offset, 0):max(offset, 0) + max(1, min(limit, 500))]
        claims = [hit(idx, int(i), priority) for i in page]
        validations = per_source(idx, members, store)
    found = comments_on(store, [row.edge, *(c.claim for c in claims)])
    return EdgeDetail(row, claims, len(members), max(offset, 0), validations, found.pop(row.edge, []), found)


__all__ = ["EdgeDetail", "SourceVerdict", "edge_detail", "per_source"]

