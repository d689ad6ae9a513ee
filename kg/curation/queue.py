"""The read side of curation: the review queue, a claim's detail, and its audit trail."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import networkx as nx

from kg.claim_reader import claim_sources, concept_labels, read_claim, read_claims
from kg.claims import ClaimSource
from kg.curation.records import ClaimDetail, ReviewItem, resolve_claim_iri
from kg.errors import UnknownClaimError
from kg.namespaces import local_name
from kg.revisions import CurationRecord, read_revisions, sort_trail
from kg.statuses import LIVE_STATUSES, REVIEWABLE_STATUSES
from kg.store.base import Store
from kg.validations import UNVALIDATED_UNCERTAINTY, read_validations
from kg.vocabulary import FINDING_CONCEPTS

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


def review_queue(store: Store, limit: int = 20, *, statuses: Sequence[str] = REVIEWABLE_STATUSES) -> list[ReviewItem]:
    """Claims awaiting a decision, most important first: uncertain verdicts on high-impact edges.

    Impact grows with how much of the graph lies downstream of the edge's effect, with how many claims
    state the edge, and with whether it touches one of the 14 radiology findings the VLM grounds on.
    Priority = (0.2 + uncertainty) x impact, so a sure verdict on a central edge can still outrank a
    doubtful one on a leaf. The uncertainty is the one validation stored with its latest verdict.
    """
    claims = read_claims(store, labels=False)
    live = nx.DiGraph()
    per_edge: dict[tuple[str, str], int] = {}
    for c in claims:
        per_edge[c.pair] = per_edge.get(c.pair, 0) + 1
        if c.polarity == "positive" and c.status in LIVE_STATUSES and c.subject != c.object:
            live.add_edge(c.subject, c.object)
    wanted = [c for c in claims if c.status in statuses]
    findings = {c.iri for c in FINDING_CONCEPTS.values()}
    validations = read_validations(store, [c.claim for c in wanted])
    items = []
    for c in wanted:
        downstream = len(nx.descendants(live, c.object)) if c.object in live else 0
        support = per_edge.get(c.pair, 1)
        touches = c.subject in findings or c.object in findings
        impact = 1.0 + math.log1p(downstream) + math.log1p(support - 1) + (0.5 if touches else 0.0)
        views = validations.get(c.claim)
        latest = views[0] if views else None
        if latest is None:
            unc = UNVALIDATED_UNCERTAINTY
            why = "not validated yet"
        else:
            unc = latest.uncertainty if latest.uncertainty is not None else UNVALIDATED_UNCERTAINTY
            why = f"{latest.verdict} (uncertainty {unc:.2f})"
        why += f"; {downstream} concept(s) downstream, {support} claim(s) on this edge"
        if touches:
            why += ", touches a radiology finding"
        items.append(ReviewItem(record=c, validation=latest, uncertainty=unc, impact=round(impact, 4),
                                priority=round((0.2 + unc) * impact, 4), why=why))
    items.sort(key=lambda i: (-i.priority, i.claim))
    top = items[:max(limit, 0)]
    if not top:
        return []
    texts = sentences_and_sources(store, [i.claim for i in top])
    labels = concept_labels(store, {i.record.subject for i in top} | {i.record.object for i in top})
    out = []
    for i in top:
        r = i.record
        sentences, sources = texts.get(i.claim, ([], []))
        record = replace(r, subject_label=labels.get(r.subject, local_name(r.subject)),
                         object_label=labels.get(r.object, local_name(r.object)))
        out.append(replace(i, record=record, sentences=tuple(sentences),
                           sources=tuple(x.citation or x.identifier or x.document for x in sources)))
    return out


def claim_detail(store: Store, claim_iri: str) -> ClaimDetail:
    """The claim with its sentences, sources, validation results (newest first) and audit trail."""
    claim = resolve_claim_iri(claim_iri)
    record = read_claim(store, claim)
    sentences, sources = sentences_and_sources(store, [claim]).get(claim, ([], []))
    return ClaimDetail(record=record, sentences=tuple(sentences), sources=tuple(sources),
                       validations=tuple(read_validations(store, [claim]).get(claim, [])),
                       history=tuple(history(store, claim)))


def history(store: Store, claim_iri: str) -> list[CurationRecord]:
    """The claim's audit trail, oldest first: every curation act and every validation verdict.

    A run that moved the claim's status appears as that move (with its versions and change); a run
    that only attached its result appears with the verdict it reached.
    """
    claim = resolve_claim_iri(claim_iri)
    if not store.ask(f"ASK {{ <{claim}> a mcrag:CausalClaim }}"):
        raise UnknownClaimError(f"no causal claim {claim} in the store")
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
