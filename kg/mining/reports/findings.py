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
from kg.concepts import as_concept, default_table
from kg.mining.core.documents import Document, FindingMention, ReportFindings
from kg.mining.core.sections import IGNORED_SECTIONS
from kg.mining.reports.components import FINDINGS_GROUP
from kg.mining.reports.lexicon import OPENI_LABEL_SOURCES
from kg.mining.reports.openi import openi_labels

REPORT_EXTRACTOR = "mcrag-report-miner"
REPORT_EXTRACTOR_VERSION = "2.0"

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


def _section(span: Span, document: Document | None = None) -> str:
    """The reader's section when it knows them (Open-i XML), else the one medspaCy's sectionizer found."""
    if document is not None and document.sections:
        return document.section_at(span.start_char) or ""
    return str(getattr(span._, "section_category", None) or "")


def report_mentions(doc: Doc, document: Document | None = None) -> list[FindingMention]:
    """Every finding mention of a processed report, in text order."""
    out = []
    for span in doc.spans.get(FINDINGS_GROUP, []):
        cues = tuple(f"{m.category}:{m.rule.literal.lower()}" for m in span._.modifiers)
        out.append(FindingMention(span.label_, mention_status(span), span.start_char, span.end_char,  # type: ignore[arg-type]
                                  span.text, _section(span, document), bool(span._.is_historical),
                                  span.kb_id_, cues))
    return out


def report_findings(doc: Doc, document: Document, *, keep_mentions: bool = False) -> ReportFindings:
    """Aggregate the mentions of one report into one status per key."""
    best: dict[str, str] = {}
    mentions = report_mentions(doc, document)
    for m in mentions:
        if m.section in IGNORED_SECTIONS:
            continue
        if _RANK[m.status] > _RANK.get(best.get(m.key, ""), 0):
            best[m.key] = m.status
    for label, sources in OPENI_LABEL_SOURCES.items():
        ranked = [best[k] for k in sources if k in best]
        if ranked:
            best[label] = max(ranked, key=_RANK.__getitem__)
    return ReportFindings(document.doc_id, document.split, tuple(sorted(best.items())), document.meta,
                          tuple(mentions) if keep_mentions else (), openi_labels(mentions, best))


REPORT_SCOPE = "chest"
"""Every statement of a chest radiograph report is about the chest."""


def report_claims(doc: Doc, document: Document, *, generated_at: datetime | None = None) -> Iterator[CausalClaim]:
    """Causal claims stated in a report's findings or impression ("atelectasis secondary to the effusion",
    "hyperexpanded lungs consistent with emphysema"), each with its document, section, sentence and the
    sentence's character offsets in the document's text."""
    spans = list(doc.spans.get(FINDINGS_GROUP, []))
    when = generated_at or datetime.now(UTC)
    table = default_table()
    for st in doc._.report_causal or ():
        cause, effect = spans[st.cause], spans[st.effect]
        # mention keys are the concept table's vocabulary keys (``Effusion``, ``heart_failure``)
        cc, ec = table.by_vocabulary_key(cause.label_), table.by_vocabulary_key(effect.label_)
        if cc is None or ec is None or cc.id == ec.id:
            continue
        section = _section(cause, document)
        if section in IGNORED_SECTIONS:  # why the exam was done, not what it showed
            continue
        c, e = as_concept(cc), as_concept(ec)
        sent = cause.sent
        text = sent.text.rstrip()
        certainty: Certainty = st.certainty
        yield CausalClaim(
            subject=c, object=e, relation=st.relation, polarity=st.polarity, certainty=certainty,
            confidence=_RULE_CONFIDENCE[st.certainty],
            span=SourceSpan(document.doc_id, text, sent.start_char, sent.start_char + len(text), document.source,
                            section or None),
            mechanism=None, extractor=REPORT_EXTRACTOR, extractor_version=REPORT_EXTRACTOR_VERSION,
            generated_at=when, scope=REPORT_SCOPE)
