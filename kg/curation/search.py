"""Search and filters over claims and edges, with facet counts and keyset paging, on the curation index.

A :class:`ClaimFilter` names what a curator is looking for: text, a concept (its label, a synonym
(``skos:altLabel``), a mapped id such as ``MESH:D010996``, or its IRI), relation kinds, statuses,
scopes (``mcrag:scope``), sources (a named graph, a collection such as ``iu_xray``, or a document),
a confidence range, the latest verdict, and "changed since". Facets are counted the way faceted
search engines count them: each facet over the claims every *other* filter keeps, so a curator sees
what ticking another value would add. Pages follow a cursor (the last row's sort key and IRI), so
page 50 costs what page 1 costs and rows do not shift under a reader when others are added.
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from kg.claims import RELATION_KINDS, external_iri
from kg.curation.index import CurationIndex, Verdict
from kg.errors import CurationError
from kg.namespaces import ID, NAMED_GRAPHS, local_name
from kg.statuses import STATUS_RANK, STATUSES

SCOPE_VALUES: tuple[str, ...] = ("cardiopulmonary", "chest", "general")
"""The values of ``mcrag:scope`` (a plain literal on claims and concepts)."""
NO_VALUE = "none"
"""Filter value for "no scope" or "not validated"."""
VERDICT_VALUES: tuple[str, ...] = (*STATUSES, "mixed")

ClaimSort = Literal["priority", "confidence", "changed", "label"]
EdgeSort = Literal["priority", "claims", "label"]
CLAIM_SORTS: tuple[str, ...] = ("priority", "confidence", "changed", "label")
EDGE_SORTS: tuple[str, ...] = ("priority", "claims", "label")
FACETS: tuple[str, ...] = ("status", "relation", "scope", "graph", "collection", "verdict")
MAX_PAGE = 500


@dataclass(frozen=True)
class ClaimFilter:
    """What to look for; every field left empty keeps every claim."""

    text: str | None = None
    """Words in the claim's label, its sentence or its document's identifier (case-insensitive)."""
    concept: str | None = None
    """A concept by label, synonym, mapped id (``MESH:D010996``, ``HP:0002202``) or IRI."""
    role: Literal["any", "cause", "effect"] = "any"
    relations: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    """``cardiopulmonary``, ``chest``, ``general`` or ``none``."""
    sources: tuple[str, ...] = ()
    """A named graph (``literature`` or its IRI), a collection (``iu_xray``) or a document (id or IRI)."""
    min_confidence: float | None = None
    max_confidence: float | None = None
    verdicts: tuple[str, ...] = ()
    """The latest validation verdict, or ``none`` for claims no run has judged."""
    changed_since: datetime | None = None
    polarity: Literal["positive", "negative"] | None = None
    edge: str | None = None
    """Only the claims of one edge (its IRI or the hash after ``id:edge/``)."""

    def check(self) -> None:
        """Refuse a value that names nothing (:class:`~kg.errors.CurationError`, a 4xx / exit 2)."""
        for name, given, allowed in (("relation", self.relations, RELATION_KINDS), ("status", self.statuses, STATUSES),
                                     ("scope", self.scopes, (*SCOPE_VALUES, NO_VALUE)),
                                     ("verdict", self.verdicts, (*VERDICT_VALUES, NO_VALUE))):
            bad = [v for v in given if v not in allowed]
            if bad:
                raise CurationError(f"unknown {name} {bad[0]!r}; use one of {', '.join(allowed)}")
        for name, v in (("min confidence", self.min_confidence), ("max confidence", self.max_confidence)):
            if v is not None and not (0.0 <= v <= 1.0):
                raise CurationError(f"{name} must lie in [0, 1], not {v}")
        if self.min_confidence is not None and self.max_confidence is not None \
                and self.min_confidence > self.max_confidence:
            raise CurationError("min confidence is above max confidence")
        if self.role not in ("any", "cause", "effect"):
            raise CurationError(f"role must be any, cause or effect, not {self.role!r}")
        if self.text is not None and len(self.text) > 500:
            raise CurationError("search text is longer than 500 characters")


@dataclass(frozen=True)
class ClaimHit:
    """One claim as a search result lists it."""

    row: int
    claim: str
    edge: str
    label: str
    subject: str
    subject_label: str
    relation: str
    object: str
    object_label: str
    polarity: str
    status: str
    version: int
    confidence: float | None
    scope: str | None
    graph: str
    collection: str | None
    source: str
    sentence: str
    verdict: str | None
    priority: float
    changed: datetime | None
    certainty: str | None = None
    extractor: str | None = None
    generated: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "row"}
        out["generated"] = self.generated.isoformat() if self.generated else None
        out["claim_id"] = self.claim.rsplit("/", 1)[-1]
        out["edge_id"] = self.edge.rsplit("/", 1)[-1]
        out["changed"] = self.changed.isoformat() if self.changed else None
        return out


@dataclass(frozen=True)
class EdgeRow:
    """One edge (cause, relation, effect): its claims counted by status, and why it matters."""

    edge: str
    subject: str
    subject_label: str
    relation: str
    object: str
    object_label: str
    claims: int
    matching: int
    """Claims of the edge the filter keeps."""
    statuses: dict[str, int]
    status: str
    """The strongest status among its claims (``kg.statuses.STATUS_ORDER``)."""
    negative: int
    documents: int
    max_confidence: float | None
    priority: float
    verdict: str | None

    @property
    def label(self) -> str:
        return f"{self.subject_label} {self.relation} {self.object_label}"

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "edge_id": self.edge.rsplit("/", 1)[-1], "label": self.label}


@dataclass(frozen=True)
class Page:
    """A page of results with facet counts over the whole result set and the cursor of the next page."""

    items: list[Any]
    total: int
    facets: dict[str, dict[str, int]]
    next_cursor: str | None
    sort: str
    concepts: tuple[str, ...] = ()
    """The concepts the concept filter matched (their IRIs)."""

    def to_json(self) -> dict[str, Any]:
        return {"items": [i.to_json() for i in self.items], "total": self.total, "facets": self.facets,
                "next_cursor": self.next_cursor, "sort": self.sort, "concepts": list(self.concepts)}


# ------------------------------------------------------------------------------------------- cursor
def _encode_cursor(key: float, tie: str) -> str:
    raw = json.dumps([key if math.isfinite(key) else str(key), tie]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, tie = json.loads(raw)
        return float(key), str(tie)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise CurationError("the page cursor is not one this service made; start again without it") from None


def _after(keys: np.ndarray, ties: np.ndarray, cursor: str | None, tie_order: Sequence[str]) -> np.ndarray:
    """Mask of the rows that come after the cursor in (key, tie) order; ``tie_order`` is sorted."""
    if not cursor:
        return np.ones(len(keys), dtype=bool)
    ck, ct = _decode_cursor(cursor)
    first_after = bisect.bisect_right(tie_order, ct)
    return (keys > ck) | ((keys == ck) & (ties >= first_after))


def _top(keys: np.ndarray, ties: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest (key, tie) pairs, in order."""
    if len(keys) > 4 * k:
        kth = np.partition(keys, k - 1)[k - 1]
        keep = np.flatnonzero(keys <= kth)
        order = np.lexsort((ties[keep], keys[keep]))
        return keep[order[:k]]
    return np.lexsort((ties, keys))[:k]


# ------------------------------------------------------------------------------------------- concepts
_CURIE = re.compile(r"^[A-Za-z]+:[A-Za-z0-9_.]+$")


def match_concepts(index: CurationIndex, query: str) -> list[int]:
    """Concept codes a query names: an IRI, a mapped id, or a label / synonym / local name.

    Exact matches (case-insensitive) win; only when there is none do labels and synonyms that contain
    the query count.
    """
    q = query.strip()
    if not q:
        return []
    if q.startswith(("http://", "https://")):
        k = index.concepts.pos.get(q)
        if k is not None:
            return [k]
        return [c for c, maps in enumerate(index.concept_mappings) if any(q in v for v in maps.values())]
    lower = q.lower()
    exact: list[int] = []
    if _CURIE.match(q):
        try:
            target = external_iri(q)
        except ValueError:
            target = None
        for c in range(len(index.concepts)):
            if any(n.lower() == lower for n in index.concept_notations[c]) or \
                    (target and any(target in v for v in index.concept_mappings[c].values())):
                exact.append(c)
        if exact:
            return exact
    contains: list[int] = []
    for c, iri in enumerate(index.concepts.values):
        names = (index.concept_label[c], *index.concept_synonyms[c], local_name(iri).replace("_", " ") if iri else "")
        low = [n.lower() for n in names if n]
        if lower in low:
            exact.append(c)
        elif any(lower in n for n in low):
            contains.append(c)
    return exact or contains


# ------------------------------------------------------------------------------------------- filtering
def _edge_key(edge: str) -> str:
    text = edge.strip().strip("<>")
    if text.startswith("id:"):
        text = text[3:]
    if text.startswith(("http://", "https://")):
        return text
    return str(ID[text if text.startswith("edge/") else f"edge/{text}"])


def _source_mask(index: CurationIndex, sources: Sequence[str]) -> np.ndarray:
    mask = np.zeros(len(index.claims), dtype=bool)
    for name in sources:
        found = False
        g = index.graphs.pos.get(NAMED_GRAPHS.get(name, name))
        if g is not None:
            mask |= index.graph == g
            found = True
        c = index.collections.pos.get(name)
        if c is not None and name:
            mask |= index.collection == c
            found = True
        d = index.documents.pos.get(name)
        if d is None:
            d = next((index.documents.pos[doc] for doc, ident in index.doc_identifier.items() if ident == name), None)
        if d is not None and name:
            mask |= index.document == d
            found = True
        if not found:
            known = sorted({k for k, v in NAMED_GRAPHS.items() if v in index.graphs.pos} | set(index.collections.values[1:]))
            raise CurationError(f"no source named {name!r}; give a graph, a collection ({', '.join(known)}) "
                                "or a document id")
    return mask


def _masks(index: CurationIndex, f: ClaimFilter) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """One mask per filter that is set (the facets' own filters under their names)."""
    f.check()
    n = len(index.claims)
    masks: dict[str, np.ndarray] = {}
    concepts: tuple[str, ...] = ()
    if f.text and f.text.strip():
        blob, starts = index.text()
        hit = np.zeros(n, dtype=bool)
        rows: list[int] = []
        needle = " ".join(f.text.lower().split())
        at = blob.find(needle)
        while at >= 0:
            rows.append(at)
            at = blob.find(needle, at + 1)
        if rows:
            hit[np.searchsorted(starts, np.array(rows), side="right") - 1] = True
        masks["text"] = hit
    if f.concept:
        codes = match_concepts(index, f.concept)
        concepts = tuple(index.concepts.values[c] for c in codes)
        arr = np.array(codes or [-2], dtype=np.int32)
        cause, effect = np.isin(index.subject, arr), np.isin(index.object, arr)
        masks["concept"] = cause if f.role == "cause" else effect if f.role == "effect" else cause | effect
    if f.edge:
        index._derive()
        k = index.edge_pos.get(_edge_key(f.edge))
        masks["edge"] = index.edge_of == k if k is not None else np.zeros(n, dtype=bool)
    if f.relations:
        masks["relation"] = np.isin(index.relation, [index.relations.pos[r] for r in f.relations])
    if f.statuses:
        masks["status"] = np.isin(index.status, [STATUSES.index(s) for s in f.statuses])
    if f.scopes:
        codes = [0 if s == NO_VALUE else index.scopes.pos.get(s, -2) for s in f.scopes]
        masks["scope"] = np.isin(index.scope, codes)
    if f.sources:
        masks["graph"] = _source_mask(index, f.sources)
    if f.min_confidence is not None or f.max_confidence is not None:
        conf = index.confidence
        m = ~np.isnan(conf)
        if f.min_confidence is not None:
            m &= conf >= f.min_confidence - 1e-9
        if f.max_confidence is not None:
            m &= conf <= f.max_confidence + 1e-9
        masks["confidence"] = m
    if f.verdicts:
        codes = [0 if v == NO_VALUE else index.verdict_names.pos.get(v, -2) for v in f.verdicts]
        masks["verdict"] = np.isin(index.verdict, codes)
    if f.changed_since is not None:
        since = f.changed_since if f.changed_since.tzinfo else f.changed_since.replace(tzinfo=UTC)
        masks["changed"] = np.nan_to_num(index.changed, nan=-np.inf) >= since.timestamp()
    if f.polarity:
        masks["polarity"] = index.polarity == (1 if f.polarity == "positive" else 0)
    return masks, concepts


def _combine(masks: dict[str, np.ndarray], n: int, skip: str | None = None) -> np.ndarray:
    out = np.ones(n, dtype=bool)
    for name, m in masks.items():
        if name != skip:
            out &= m
    return out


def _facets(index: CurationIndex, masks: dict[str, np.ndarray]) -> dict[str, dict[str, int]]:
    n = len(index.claims)
    graph_names = {v: k for k, v in NAMED_GRAPHS.items()}
    columns: dict[str, tuple[np.ndarray, list[str]]] = {
        "status": (index.status, list(STATUSES)),
        "relation": (index.relation, index.relations.values),
        "scope": (index.scope, [v or NO_VALUE for v in index.scopes.values]),
        "graph": (index.graph, [graph_names.get(g, g) for g in index.graphs.values]),
        "collection": (index.collection, [v or NO_VALUE for v in index.collections.values]),
        "verdict": (index.verdict, [v or NO_VALUE for v in index.verdict_names.values]),
    }
    out: dict[str, dict[str, int]] = {}
    for name, (col, names) in columns.items():
        keep = _combine(masks, n, skip=name)
        counts = np.bincount(col[keep].astype(np.int64), minlength=len(names))
        out[name] = {names[k]: int(c) for k, c in enumerate(counts) if c}
    return out


def hit(index: CurationIndex, i: int, priority: np.ndarray) -> ClaimHit:
    s, o = int(index.subject[i]), int(index.object[i])
    conf = float(index.confidence[i])
    verdict = index.verdict_names.values[int(index.verdict[i])] or None
    return ClaimHit(
        row=i, claim=index.claims[i], edge=index.edge_ids[int(index.edge_of[i])], label=index.label[i],
        subject=index.concepts.values[s], subject_label=index.concept_label[s], relation=index.relation_of(i),
        object=index.concepts.values[o], object_label=index.concept_label[o],
        polarity="positive" if index.polarity[i] else "negative", status=index.status_of(i),
        version=int(index.version[i]), confidence=None if math.isnan(conf) else conf, scope=index.scope_of(i),
        graph=index.graphs.values[int(index.graph[i])],
        collection=index.collections.values[int(index.collection[i])] or None, source=index.source_of(i),
        sentence=index.sentence[i], verdict=verdict, priority=float(priority[i]), changed=index.changed_time(i),
        certainty=(None, "certain", "probable", "possible")[int(index.certainty[i])],
        extractor=index.extractors.values[int(index.extractor[i])] or None,
        generated=None if math.isnan(float(index.generated[i])) else datetime.fromtimestamp(float(index.generated[i]), UTC))


def _claim_keys(index: CurationIndex, sort: str, priority: np.ndarray) -> np.ndarray:
    if sort == "priority":
        return -priority
    if sort == "confidence":
        return -np.nan_to_num(index.confidence, nan=-1.0)
    if sort == "changed":
        return -np.nan_to_num(index.changed, nan=0.0)
    return index.label_ranks()


def search_claims(index: CurationIndex, f: ClaimFilter, *, sort: str = "priority", limit: int = 50,
                  cursor: str | None = None, facets: bool = True) -> Page:
    """One page of the claims ``f`` keeps, in ``sort`` order (ties by claim IRI), with facet counts."""
    if sort not in CLAIM_SORTS:
        raise CurationError(f"unknown sort {sort!r}; use one of {', '.join(CLAIM_SORTS)}")
    limit = max(1, min(int(limit), MAX_PAGE))
    with index.lock:
        index.ensure()
        index._derive()
        priority = index.priorities()
        masks, concepts = _masks(index, f)
        n = len(index.claims)
        keep = _combine(masks, n)
        rows = np.flatnonzero(keep)
        keys = _claim_keys(index, sort, priority)[rows]
        after = _after(keys, rows, cursor, index.claims)
        rows, keys = rows[after], keys[after]
        top = rows[_top(keys, rows, limit)] if len(rows) else rows
        items = [hit(index, int(i), priority) for i in top]
        more = len(rows) > len(top)
        next_cursor = _encode_cursor(float(_claim_keys(index, sort, priority)[top[-1]]), index.claims[int(top[-1])]) \
            if more and len(top) else None
        return Page(items, int(keep.sum()), _facets(index, masks) if facets else {}, next_cursor, sort, concepts)


# ------------------------------------------------------------------------------------------- edges
def _strongest(counts: dict[str, int]) -> str:
    return min(counts, key=lambda s: STATUS_RANK.get(s, len(STATUS_RANK))) if counts else "proposed"


def edge_row(index: CurationIndex, k: int, members: np.ndarray | None = None, priority: np.ndarray | None = None,
             matching: int | None = None) -> EdgeRow:
    """The row of edge ``k`` (its position in ``index.edge_ids``)."""
    s, r, o = index.edge_key[k]
    members = index.edge_members[k] if members is None else members
    priority = index.priorities() if priority is None else priority
    statuses: dict[str, int] = {}
    for code, count in zip(*np.unique(index.status[members], return_counts=True), strict=True):
        statuses[STATUSES[int(code)]] = int(count)
    conf = index.confidence[members]
    conf = conf[~np.isnan(conf)]
    latest: Verdict | None = None
    for i in members.tolist():
        for v in index.verdicts[i][:1]:
            if latest is None or (v.time, v.result) > (latest.time, latest.result):
                latest = v
    positive = members[index.polarity[members] == 1]
    strongest = _strongest({STATUSES[int(c)]: 1 for c in index.status[positive]}) if len(positive) else \
        _strongest(statuses)
    return EdgeRow(
        edge=index.edge_ids[k], subject=index.concepts.values[s], subject_label=index.concept_label[s],
        relation=index.relations.values[r], object=index.concepts.values[o], object_label=index.concept_label[o],
        claims=len(members), matching=len(members) if matching is None else matching, statuses=statuses,
        status=strongest, negative=int(len(members) - len(positive)),
        documents=len(set(index.document[members].tolist()) - {0}),
        max_confidence=float(conf.max()) if len(conf) else None,
        priority=float(priority[members].max()) if len(members) else 0.0,
        verdict=latest.verdict if latest else None)


def search_edges(index: CurationIndex, f: ClaimFilter, *, sort: str = "priority", limit: int = 50,
                 cursor: str | None = None, facets: bool = True) -> Page:
    """One page of edges with at least one claim ``f`` keeps; facets count claims, as in :func:`search_claims`."""
    if sort not in EDGE_SORTS:
        raise CurationError(f"unknown sort {sort!r}; use one of {', '.join(EDGE_SORTS)}")
    limit = max(1, min(int(limit), MAX_PAGE))
    with index.lock:
        index.ensure()
        index._derive()
        priority = index.priorities()
        masks, concepts = _masks(index, f)
        n, ne = len(index.claims), len(index.edge_ids)
        keep = _combine(masks, n)
        matching = np.bincount(index.edge_of[keep], minlength=ne)
        edges = np.flatnonzero(matching)
        if sort == "priority":  # the best priority among each edge's matching claims
            kept = np.where(keep, priority, -np.inf)[index.edge_order]
            all_keys = -np.maximum.reduceat(kept, index.edge_bounds[:-1]) if ne else np.zeros(0)
        elif sort == "claims":
            all_keys = -index.edge_sizes.astype(np.float64)
        else:
            all_keys = index.edge_label_rank.astype(np.float64)
        keys, ties = all_keys[edges], index.edge_tie_rank[edges]
        after = _after(keys, ties, cursor, index.edge_ids_sorted)
        edges, keys, ties = edges[after], keys[after], ties[after]
        top = edges[_top(keys, ties, limit)] if len(edges) else edges
        items = [edge_row(index, int(k), priority=priority, matching=int(matching[k])) for k in top]
        more = len(edges) > len(top)
        next_cursor = _encode_cursor(float(all_keys[top[-1]]), index.edge_ids[int(top[-1])]) if more and len(top) \
            else None
        return Page(items, int(len(np.flatnonzero(matching))), _facets(index, masks) if facets else {}, next_cursor,
                    sort, concepts)


def resolve_edge(index: CurationIndex, edge: str) -> int:
    """An edge's position from its IRI or the hash after ``id:edge/``; CurationError if none."""
    index._derive()
    k = index.edge_pos.get(_edge_key(edge))
    if k is None:
        from kg.errors import UnknownClaimError

        raise UnknownClaimError(f"no edge {edge} in the store (an edge is named by id:edge/<hash>)")
    return k


def filter_from(**given: Any) -> ClaimFilter:
    """A filter from loose keyword values (comma-separated strings or lists), as the CLI and HTTP give them."""
    def listed(v: Any) -> tuple[str, ...]:
        if v is None or v == "":
            return ()
        items = v if isinstance(v, list | tuple) else str(v).split(",")
        return tuple(s.strip() for s in items if s and s.strip())
    since = given.get("changed_since")
    if isinstance(since, str) and since:
        try:
            since = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise CurationError(f"changed since must be an ISO date or date-time, not {since!r}") from None
    base = ClaimFilter(
        text=given.get("text") or None, concept=given.get("concept") or None, role=given.get("role") or "any",
        relations=listed(given.get("relation")), statuses=listed(given.get("status")), scopes=listed(given.get("scope")),
        sources=listed(given.get("source")), min_confidence=given.get("min_confidence"),
        max_confidence=given.get("max_confidence"), verdicts=listed(given.get("verdict")),
        changed_since=since or None, polarity=given.get("polarity") or None, edge=given.get("edge") or None)
    base.check()
    return base


__all__ = ["CLAIM_SORTS", "EDGE_SORTS", "FACETS", "NO_VALUE", "SCOPE_VALUES", "ClaimFilter", "ClaimHit", "EdgeRow",
           "Page", "edge_row", "hit", "filter_from", "match_concepts", "resolve_edge", "search_claims", "search_edges"]
