"""spaCy components of the report pipeline: finding matcher and in-report causal statements.

Both are registered factories, so the pipeline is plain spaCy config and each worker process builds
its own copy (medspaCy's rule objects do not pickle, so ``nlp.pipe(n_process=...)`` is not an option).
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc, Span

from kg.mining.core.causal_cues import CueIndex, hedge_certainty
from kg.mining.core.factory_annotations import resolved
from kg.mining.core.term_matcher import TermIndex, TermMatch, compile_term
from kg.mining.reports.lexicon import ANCHORED_RULES, report_terms

FINDINGS_GROUP = "findings"
"""Span group that holds finding mentions (they may overlap: "nodular opacity" is a nodule and an opacity)."""

if not Doc.has_extension("report_causal"):
    Doc.set_extension("report_causal", default=None)


@dataclass(frozen=True)
class ReportCausal:
    """An in-report causal statement between two finding mentions (indices into the findings group)."""

    cause: int
    effect: int
    cue: str
    certainty: str
    polarity: str


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
            spans.append(Span(doc, m.start, m.end, label=m.key))
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
                    w = words[j]
                    if any((k == "=" and w == v) or (k == "^" and w.startswith(v)) for k, v in states):
                        out.append(TermMatch(j, j + 1, key, f"{doc[h.start].lower_}~{w}"))
        return out


_PASSIVE_ATELECTASIS = frozenset({"compressive", "passive", "relaxation", "adjacent", "associated", "underlying"})


class ReportCausalStatements:
    """Finds "<effect> secondary to / due to <cause>" and "<cause> causing <effect>" inside a report."""

    def __init__(self, max_gap: int = 6) -> None:
        self.cues = CueIndex()
        self.max_gap = max_gap

    def __call__(self, doc: Doc) -> Doc:
        spans = list(doc.spans.get(FINDINGS_GROUP, []))
        found: list[ReportCausal] = []
        if len(spans) >= 2:
            words = [t.lower_ for t in doc]
            hits = self.cues.hits(words)
            for hit in hits if hits else ():
                if hit.weak and hit.cue not in ("related to", "from"):
                    continue
                left = [i for i, s in enumerate(spans) if s.end <= hit.start and hit.start - s.end <= self.max_gap
                        and s.sent.start == doc[hit.start].sent.start]
                right = [i for i, s in enumerate(spans) if s.start >= hit.end and s.start - hit.end <= self.max_gap
                         and s.sent.start == doc[hit.start].sent.start]
                if not left or not right:
                    continue
                a = max(left, key=lambda i: spans[i].end)
                b = min(right, key=lambda i: spans[i].start)
                if spans[a].label_ == spans[b].label_:
                    continue
                cause, effect = (a, b) if hit.direction == "cause_first" else (b, a)
                sent_words = words[spans[a].sent.start:spans[a].sent.end]
                polarity = "negative" if _negated_cue(words, hit.start) else "positive"
                found.append(ReportCausal(cause, effect, hit.cue, hedge_certainty(sent_words), polarity))
            found.extend(self._passive_atelectasis(spans))
        doc._.report_causal = found
        return doc

    @staticmethod
    def _passive_atelectasis(spans: list[Span]) -> list[ReportCausal]:
        """"effusion with compressive atelectasis": the effusion is the stated cause of the collapse."""
        out = []
        for i, s in enumerate(spans):
            if s.label_ != "Atelectasis" or s.start == 0:
                continue
            if s.doc[s.start - 1].lower_ not in _PASSIVE_ATELECTASIS:
                continue
            for j, t in enumerate(spans):
                if t.label_ == "Effusion" and t.sent.start == s.sent.start and t.end <= s.start:
                    out.append(ReportCausal(j, i, f"{s.doc[s.start - 1].lower_} atelectasis", "probable", "positive"))
        return out


def _negated_cue(words: list[str], cue_start: int) -> bool:
    before = words[max(0, cue_start - 2):cue_start]
    return "not" in before or "unlikely" in before


@Language.factory("mcrag_report_matcher", default_config={"labeler_dir": "", "chexpert": True})
@resolved
def make_report_matcher(nlp: Language, name: str, labeler_dir: str, chexpert: bool) -> ReportFindingMatcher:
    return ReportFindingMatcher(labeler_dir or None, chexpert)


@Language.factory("mcrag_report_causal", default_config={"max_gap": 6})
@resolved
def make_report_causal(nlp: Language, name: str, max_gap: int) -> ReportCausalStatements:
    return ReportCausalStatements(max_gap)
