"""From a processed report to its finding statuses and its causal claims.

A report's status for a finding aggregates its mentions: any affirmed mention makes it present, else
any uncertain one makes it uncertain, else a negated one makes it absent. Mentions in the indication,
history, comparison and technique sections are kept (flagged) but do not count.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from spacy.tokens import Doc, Span

from kg.claims import CausalClaim, Certainty, SourceSpan
from kg.concepts import REPORT_CONCEPTS
from kg.mining.core.documents import Document, FindingMention, ReportFindings
from kg.mining.core.sections import IGNORED_SECTIONS
from kg.mining.reports.components import FINDINGS_GROUP

REPORT_EXTRACTOR = "mcrag-report-miner"
REPORT_EXTRACTOR_VERSION = "1.0"

_RANK = {"present": 3, "uncertain": 2, "absent": 1}
_RULE_CONFIDENCE: dict[str, float] = {"certain": 0.9, "probable": 0.7, "possible": 0.5}
"""Confidence of a report pattern claim by its stated certainty (rule prior, not a trained score)."""


def mention_status(span: Span) -> str:
    """present / absent / uncertain from the span's ConText attributes."""
    if span._.is_negated:
        return "absent"
    if span._.is_uncertain or span._.is_hypothetical:
        return "uncertain"
    return "present"


def _section(span: Span) -> str:
    return str(getattr(span._, "section_category", None) or "")


def report_mentions(doc: Doc) -> list[FindingMention]:
    """Every finding mention of a processed report, in text order."""
    out = []
    for span in doc.spans.get(FINDINGS_GROUP, []):
        out.append(FindingMention(span.label_, mention_status(span), span.start_char, span.end_char,  # type: ignore[arg-type]
                                  span.text, _section(span), bool(span._.is_historical)))
    return out


def report_findings(doc: Doc, document: Document, *, keep_mentions: bool = False) -> ReportFindings:
    """Aggregate the mentions of one report into one status per key."""
    best: dict[str, str] = {}
    mentions = report_mentions(doc)
    for m in mentions:
        if m.section in IGNORED_SECTIONS:
            continue
        if _RANK[m.status] > _RANK.get(best.get(m.key, ""), 0):
            best[m.key] = m.status
    return ReportFindings(document.doc_id, document.split, tuple(sorted(best.items())), document.meta,
                          tuple(mentions) if keep_mentions else ())


def report_claims(doc: Doc, document: Document, *, generated_at: datetime | None = None) -> Iterator[CausalClaim]:
    """Causal claims stated inside a report ("atelectasis secondary to the effusion")."""
    spans = list(doc.spans.get(FINDINGS_GROUP, []))
    when = generated_at or datetime.now(UTC)
    for st in doc._.report_causal or ():
        cause, effect = spans[st.cause], spans[st.effect]
        c, e = REPORT_CONCEPTS.get(cause.label_), REPORT_CONCEPTS.get(effect.label_)
        if c is None or e is None or c.iri == e.iri:
            continue
        sent = cause.sent
        section = _section(cause) or None
        certainty: Certainty = st.certainty
        yield CausalClaim(
            subject=c, object=e, relation="causes", polarity=st.polarity, certainty=certainty,
            confidence=_RULE_CONFIDENCE[st.certainty],
            span=SourceSpan(document.doc_id, sent.text, sent.start_char, sent.end_char, document.source, section),
            mechanism=None, extractor=REPORT_EXTRACTOR, extractor_version=REPORT_EXTRACTOR_VERSION,
            generated_at=when)
