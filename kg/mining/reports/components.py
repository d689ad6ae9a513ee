"""The finding matcher of the report pipeline (the causal statements are in :mod:`kg.mining.reports.causal`).

It is a registered factory, so the pipeline is plain spaCy config and each worker process builds
its own copy (medspaCy's rule objects do not pickle, so ``nlp.pipe(n_process=...)`` is not an option).
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc, Span

from kg.mining.core.factory_annotations import resolved
from kg.mining.core.term_matcher import TermIndex, TermMatch, compile_term
from kg.mining.reports.causal import FINDINGS_GROUP
from kg.mining.reports.lexicon import ANCHORED_RULES, report_terms

__all__ = ["FINDINGS_GROUP", "ReportFindingMatcher", "make_report_matcher"]

_CLAUSE_BREAKS = frozenset({",", ";", ":", "and", "with", "but"})
"""An organ word and a state word on either side of these belong to different phrases
("stable heart size, enlarged and tortuous aorta")."""


class ReportFindingMatcher:
    """Marks every finding / concept mention of a report as a span labelled with its key."""

    def __init__(self, labeler_dir: str | None, chexpert: bool = True) -> None:
        mention, unmention = report_terms(labeler_dir, chexpert=chexpert)
        self.mentions = TermIndex(mention)
        self.unmentions = TermIndex(unmention)
        self.anchored = [(r.key, TermIndex({"a": r.anchors}), [compile_term(s)[0] for s in r.states], r.window)
                         for r in ANCHORED_RULES]

    def __call__(self, doc: Doc) -> Doc:
        words = [t.lower_ for t in doc]
        found = self.mentions.match(words)
        found.extend(self._anchored(doc, words))
        cancel = self.unmentions.match(words)
        keep: dict[tuple[int, int, str], TermMatch] = {}
        for m in found:
            if any(c.key == m.key and c.start <= m.start and m.end <= c.end for c in cancel):
                continue
            keep.setdefault((m.start, m.end, m.key), m)
        ordered = sorted(keep.values(), key=lambda m: (m.start, -(m.end - m.start)))
        spans: list[Span] = []
        for m in ordered:  # drop a match nested inside a longer match of the same key
            if any(s.label_ == m.key and s.start <= m.start and m.end <= s.end for s in spans):
                continue
            spans.append(Span(doc, m.start, m.end, label=m.key, kb_id=m.term))
        doc.spans[FINDINGS_GROUP] = spans
        return doc

    def _anchored(self, doc: Doc, words: list[str]) -> list[TermMatch]:
        out: list[TermMatch] = []
        for key, anchors, states, window in self.anchored:
            hits = anchors.match(words)
            if not hits:
                continue
            for h in hits:
                sent = doc[h.start].sent
                lo, hi = max(sent.start, h.start - window), min(sent.end, h.end + window)
                for j in range(lo, hi):
                    if h.start <= j < h.end:
                        continue
                    between = words[h.end:j] if j >= h.end else words[j + 1:h.start]
                    if any(b in _CLAUSE_BREAKS for b in between):
                        continue
                    w = words[j]
                    if any((k == "=" and w == v) or (k == "^" and w.startswith(v)) for k, v in states):
                        out.append(TermMatch(j, j + 1, key, f"{doc[h.start].lower_}~{w}"))
        return out


@Language.factory("mcrag_report_matcher", default_config={"labeler_dir": "", "chexpert": True})
@resolved
def make_report_matcher(nlp: Language, name: str, labeler_dir: str, chexpert: bool) -> ReportFindingMatcher:
    return ReportFindingMatcher(labeler_dir or None, chexpert)
