"""The read side of curation: the review queue, a claim's detail, and its audit trail."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import numpy as np

from kg.claim_reader import claim_sources, read_claim
from kg.claims import ClaimSource
from kg.curation.comments import comments_on
from kg.curation.index import CurationIndex, Verdict, index_for
from kg.curation.records import ClaimDetail, ReviewItem, resolve_claim_iri
from kg.errors import UnknownClaimError
from kg.namespaces import mcrag_local
from kg.revisions import CurationRecord, read_revisions, sort_trail
from kg.statuses import REVIEWABLE_STATUSES, STATUSES
from kg.store.base import Store
from kg.validations import ValidationRecord, read_validations

_EPOCH = datetime.min.replace(tzinfo=UTC)


def sentences_and_sources(store: Store, claims: Iterable[str]) -> dict[str, tuple[list[str], list[ClaimSource]]]:
    """Each claim's distinct sentences, and its sources one per document."""
    out: dict[str, tuple[list[str], list[ClaimSource]]] = {}
    for c, rows in claim_sources(store, claims).items():
        sentences: list[str] = []
        sources: list[ClaimSource] = []
        for s in rows:
            if s.sentence and s.sentence not in sentences:
                sentences.append(s.sentence)
            if s.document and all(x.document != s.document for x in sources):
                sources.append(s)
        out[c] = (sentences, sources)
    return out


def review_queue(store: Store, limit: int = 20, *, statuses: Sequence[str] = REVIEWABLE_STATUSES,
                 index: CurationIndex | None = None) -> list[ReviewItem]:
    """Claims awaiting a decision, most important first: uncertain verdicts on high-impact edges.

    Impact grows with how much of the graph lies downstream of the edge's effect, with how many claims
    state the edge, and with whether it touches one of the 14 radiology findings the VLM grounds on.
    Priority = (0.2 + uncertainty) x impact, so a sure verdict on a central edge can still outrank a
    doubtful one on a leaf. The uncertainty is the one validation stored with its latest verdict.
    The ranking and each item's latest validation come from the curation index (``kg.curation.index``);
    a claim's detail has the full results with their refutations.
    """
    idx = index or index_for(store)
    with idx.lock:
        idx.ensure()
        priority = idx.priorities()
        wanted = np.isin(idx.status, [STATUSES.index(s) for s in statuses if s in STATUSES])
        rows = np.flatnonzero(wanted)
        k = max(int(limit), 0)
        if not k or not len(rows):
            return []
        keys = -priority[rows]
        if len(rows) > 4 * k:
            kth = np.partition(keys, k - 1)[k - 1]
            rows, keys = rows[keys <= kth], keys[keys <= kth]
        top = [int(i) for i in rows[np.lexsort((rows, keys))[:k]]]
        picked = [(idx.record(i), float(idx.uncertainty[i]), float(idx.impact[i]), float(priority[i]),
                   int(idx.downstream[idx.object[i]]), int(idx.pair_support[i]), bool(idx.touches[i]),
                   idx.sentence[i], idx.source_of(i), idx.verdicts[i][0] if idx.verdicts[i] else None) for i in top]
    out = []
    for record, unc, impact, prio, downstream, support, touches, sentence, source, verdict in picked:
        latest = _as_record(verdict) if verdict is not None else None
        why = "not validated yet" if latest is None else f"{latest.verdict} (uncertainty {unc:.2f})"
        why += f"; {downstream} concept(s) downstream, {support} claim(s) on this edge"
        if touches:
            why += ", touches a radiology finding"
        out.append(ReviewItem(record=record, validation=latest, uncertainty=unc, impact=impact, priority=prio, why=why,
                              sentences=(sentence,) if sentence else (), sources=(source,) if source else ()))
    return out


def _as_record(v: Verdict) -> ValidationRecord:
    """The index's copy of a validation result as the record readers know (refutations are in the detail)."""
    def num(x: float) -> float | None:
        return None if math.isnan(x) else x
    return ValidationRecord(
        result=v.result, activity=None, time=datetime.fromtimestamp(v.time, UTC) if not math.isnan(v.time) else None,
        verdict=v.verdict or None, discovery=None, estimand=None, estimator=None, effect=num(v.effect),
        ci_low=num(v.ci_low), ci_high=num(v.ci_high), sample_size=None, dataset=v.dataset or None,
        reason=v.reason or None, uncertainty=num(v.uncertainty))


def claim_detail(store: Store, claim_iri: str) -> ClaimDetail:
    """The claim with its sentences, sources, validation results (newest first) and audit trail."""
    claim = resolve_claim_iri(claim_iri)
    record = read_claim(store, claim)
    sentences, sources = sentences_and_sources(store, [claim]).get(claim, ([], []))
    scope = store.select(f"SELECT ?s WHERE {{ <{claim}> mcrag:scope ?s }} LIMIT 1")
    return ClaimDetail(record=record, sentences=tuple(sentences), sources=tuple(sources),
                       validations=tuple(read_validations(store, [claim]).get(claim, [])),
                       history=tuple(history(store, claim)),
                       scope=mcrag_local(scope[0]["s"]) if scope else None,
                       comments=tuple(comments_on(store, [claim]).get(claim, [])))


def history(store: Store, claim_iri: str) -> list[CurationRecord]:
    """The claim's audit trail, oldest first: every curation act and every validation verdict.

    For a concept, an edge or a release (given by IRI) it is the acts on it: mappings, comments.

    A run that moved the claim's status appears as that move (with its versions and change); a run
    that only attached its result appears with the verdict it reached.
    """
    claim = resolve_claim_iri(claim_iri)
    if not store.ask(f"ASK {{ <{claim}> a mcrag:CausalClaim }}"):
        # a concept's mapping acts, an edge's comments, a release: their revisions alone
        records = read_revisions(store, claim)
        if not records and not store.ask(f"ASK {{ <{claim}> skos:prefLabel|rdfs:label|a ?x }}"):
            raise UnknownClaimError(f"no causal claim {claim} in the store")
        return records
    records = read_revisions(store, claim)
    runs_with_moves = {r.informed_by for r in records if r.informed_by}
    for v in read_validations(store, [claim]).get(claim, []):
        if v.activity and v.activity in runs_with_moves:
            continue
        agent_rows = store.select(f"""SELECT ?who WHERE {{ <{v.activity}> prov:wasAssociatedWith ?ag .
            ?ag rdfs:label ?who }} LIMIT 1""") if v.activity else []
        records.append(CurationRecord(
            activity=v.activity or v.result, claim=claim, action="validate",
            agent=(agent_rows[0]["who"] or "") if agent_rows else "", reason=v.reason or "",
            time=v.time or _EPOCH, previous_status=None, new_status=v.verdict))
    return sort_trail(records)
