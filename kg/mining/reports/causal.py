"""In-report causal statements: what a radiologist says explains what.

Two kinds of statement link two finding mentions of one sentence:

* causation: "<effect> secondary to / due to / from <cause>", "<cause> causing <effect>", and "effusion with
  compressive / adjacent atelectasis" -> ``causes``;
* explanation: "<observation> consistent with / representing / may reflect <diagnosis>" -> the diagnosis
  ``manifestsAs`` the observation ("hyperexpanded lungs consistent with emphysema").

Each statement keeps its cue, a certainty (from the cue and the hedges around it, IU-Xray's ``XXXX``
anonymisation just before a cue counting as a hedge: it mostly hides "likely") and a polarity ("not due
to", "unlikely to represent" are negative). Mentions that are negated, or on either side of an
alternative ("due to effusion versus hyperinflation"), are never linked across it.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.language import Language
from spacy.tokens import Doc, Span

from kg.mining.core.causal_cues import (
    CAUSE_FIRST_CUES,
    EFFECT_FIRST_CUES,
    HEDGE_POSSIBLE,
    HEDGE_PROBABLE,
    CueIndex,
)
from kg.mining.core.factory_annotations import resolved

FINDINGS_GROUP = "findings"
"""Span group that holds finding mentions (they may overlap: "nodular opacity" is a nodule and an opacity)."""

if not Doc.has_extension("report_causal"):
    Doc.set_extension("report_causal", default=None)

EXPLANATION_CUES: dict[str, str] = {
    "consistent with": "probable", "most consistent with": "probable", "compatible with": "probable",
    "most compatible with": "probable", "representing": "probable", "likely representing": "probable",
    "probably representing": "probable", "represents": "probable", "likely represents": "probable",
    "reflecting": "probable", "likely reflecting": "probable", "indicative of": "probable",
    "characteristic of": "probable", "compatible with a": "probable",
    "may represent": "possible", "could represent": "possible", "might represent": "possible",
    "possibly representing": "possible", "may reflect": "possible", "could reflect": "possible",
    "suggestive of": "possible", "most suggestive of": "probable", "suggesting": "possible",
    "concerning for": "possible", "worrisome for": "possible", "may be related to": "possible",
    "possibly related to": "possible", "may be due to": "possible", "may be secondary to": "possible",
    "could be due to": "possible", "could be secondary to": "possible", "likely due to": "probable",
    "likely secondary to": "probable", "probably due to": "probable", "probably secondary to": "probable",
}
"""Cues whose observation comes first and whose explanation follows, with the certainty the cue itself
states. The ``due to`` / ``secondary to`` forms here carry their hedge; plain ones are causation cues."""

_CAUSATION_CUES_USED = frozenset({"related to", "from"})
"""Weak cues still read in reports: "scarring from old granulomatous disease", "opacity related to atelectasis"."""
_NEIGHBOURING = frozenset({"compressive", "passive", "relaxation", "adjacent", "associated", "underlying"})
_BREAKS = frozenset({"versus", "vs", "vs.", ";", "but", "however"})
_NEGATORS = frozenset({"not", "unlikely", "no", "without"})
_RANK = {"possible": 0, "probable": 1, "certain": 2}
_CERTAINTY = ("possible", "probable", "certain")


@dataclass(frozen=True)
class ReportCausal:
    """A statement linking two finding mentions (indices into the findings span group)."""

    cause: int
    effect: int
    cue: str
    certainty: str
    polarity: str
    relation: str = "causes"
    """``causes`` or ``manifestsAs`` (an explanation: the cause is the diagnosis, the effect its appearance)."""


class ReportCausalStatements:
    """Finds causation and explanation statements between the finding mentions of each sentence."""

    def __init__(self, max_gap: int = 6) -> None:
        self.cues = CueIndex(CAUSE_FIRST_CUES, (*EFFECT_FIRST_CUES, *EXPLANATION_CUES))
        self.max_gap = max_gap

    def __call__(self, doc: Doc) -> Doc:
        spans = list(doc.spans.get(FINDINGS_GROUP, []))
        found: list[ReportCausal] = []
        if len(spans) >= 2:
            words = [t.lower_ for t in doc]
            for hit in self.cues.hits(words):
                explanation = hit.cue in EXPLANATION_CUES
                if hit.weak and not explanation and hit.cue not in _CAUSATION_CUES_USED:
                    continue
                st = self._statement(doc, words, spans, hit.start, hit.end, hit.cue, explanation,
                                     hit.direction == "cause_first")
                if st is not None:
                    found.append(st)
            found.extend(_neighbouring_atelectasis(spans))
        doc._.report_causal = found
        return doc

    def _statement(self, doc: Doc, words: list[str], spans: list[Span], start: int, end: int, cue: str,
                   explanation: bool, cause_first: bool) -> ReportCausal | None:
        sent = doc[start].sent
        gap = 3 if cue in ("from", "related to") else self.max_gap
        left = [i for i, s in enumerate(spans) if s.end <= start and start - s.end <= gap and s.start >= sent.start
                and not _BREAKS & set(words[s.end:start])]
        right = [i for i, s in enumerate(spans) if s.start >= end and s.start - end <= gap and s.end <= sent.end
                 and not _BREAKS & set(words[end:s.start])]
        if not left or not right:
            return None
        a = max(left, key=lambda i: spans[i].end)
        b = min(right, key=lambda i: spans[i].start)
        if spans[a].label_ == spans[b].label_ or _negated(spans[a], start) or _negated(spans[b], start):
            return None
        cause, effect = (a, b) if cause_first and not explanation else (b, a)
        window = words[max(sent.start, spans[a].start - 3):spans[b].end]
        certainty = _hedge(window)
        if explanation:
            certainty = min(certainty, EXPLANATION_CUES[cue], key=_RANK.__getitem__)
        if start > 0 and words[start - 1] == "xxxx":
            certainty = min(certainty, "probable", key=_RANK.__getitem__)
        before = set(words[max(sent.start, start - 2):start])
        polarity = "negative" if before & _NEGATORS or (end < len(words) and words[end] == "not") else "positive"
        return ReportCausal(cause, effect, cue, certainty, polarity, "manifestsAs" if explanation else "causes")


def _negated(span: Span, cue_start: int | None = None) -> bool:
    """A negated mention ("no effusion"); a negation just before the causal cue ("not due to") negates the
    statement instead, and leaves the mention alone."""
    if not span._.is_negated:
        return False
    if cue_start is None:
        return True
    return any(m.category == "NEGATED_EXISTENCE" and not cue_start - 2 <= m.modifier_span[0] < cue_start
               for m in span._.modifiers)


def _hedge(words: list[str]) -> str:
    ws = set(words)
    if ws & HEDGE_POSSIBLE or ws & {"versus", "vs", "or"}:
        return "possible"
    if ws & HEDGE_PROBABLE:
        return "probable"
    return "certain"


def _neighbouring_atelectasis(spans: list[Span]) -> list[ReportCausal]:
    """"effusion with compressive / adjacent atelectasis": the effusion is the stated cause of the collapse."""
    out = []
    for i, s in enumerate(spans):
        if s.label_ != "Atelectasis" or s.start == 0 or _negated(s):
            continue
        word = s.doc[s.start - 1].lower_
        if word not in _NEIGHBOURING:
            continue
        for j, t in enumerate(spans):
            if t.label_ == "Effusion" and t.sent.start == s.sent.start and t.end <= s.start and not _negated(t):
                out.append(ReportCausal(j, i, f"{word} atelectasis", "probable", "positive"))
    return out


@Language.factory("mcrag_report_causal", default_config={"max_gap": 6})
@resolved
def make_report_causal(nlp: Language, name: str, max_gap: int) -> ReportCausalStatements:
    return ReportCausalStatements(max_gap)
