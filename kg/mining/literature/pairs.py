"""Candidate pairs: two mentions of different concepts in one sentence, of kinds that can be related.

Pathophysiology needs more than chemical -> disease: disease -> finding or sign, finding -> finding,
disease -> complication, exposure, procedure or device -> disease. A pair is admissible when one side is
a disease (diseases, findings, signs and processes share that kind) and the other is a disease, a
chemical, an exposure or an intervention. The pair is unordered here: which side is the subject is read
from the wording by the relation-kind model, never from the kinds. Of several mentions of the same two
concepts in a sentence, the closest two stand for the pair.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from spacy.tokens import Doc, Span

from kg.mining.classifiers.corpora import Mention
from kg.mining.classifiers.sentence_pairs import SentencePair, mention_spans

PARTNERS: dict[str, frozenset[str]] = {
    "Disease": frozenset({"Disease", "Chemical", "Exposure", "Intervention"}),
    "Chemical": frozenset({"Disease"}),
    "Exposure": frozenset({"Disease"}),
    "Intervention": frozenset({"Disease"}),
}
"""Mention kind -> the kinds it can be paired with."""


def admissible(kind_a: str, kind_b: str) -> bool:
    return kind_b in PARTNERS.get(kind_a, frozenset())


@dataclass(frozen=True)
class MentionPair:
    """Two mentions of one sentence in text order, with the number of other mentions between them."""

    first: Mention
    second: Mention
    first_span: Span
    second_span: Span
    between: int

    @property
    def ids(self) -> tuple[str, str]:
        return (self.first.ids[0], self.second.ids[0])

    def oriented(self, cause_kind: str = "Chemical", effect_kind: str = "Disease") -> SentencePair | None:
        """The pair as the document scorer sees it (cause kind first), or None when it is not that pair."""
        kinds = (self.first.kind, self.second.kind)
        if kinds == (cause_kind, effect_kind):
            return SentencePair(self.first.ids[0], self.second.ids[0], self.first_span, self.second_span, self.between)
        if kinds == (effect_kind, cause_kind):
            return SentencePair(self.second.ids[0], self.first.ids[0], self.second_span, self.first_span, self.between)
        return None


def mention_pairs(doc: Doc, mentions: Sequence[Mention]) -> list[MentionPair]:
    """The admissible pairs of each sentence, the closest two mentions per pair of concepts."""
    by_sent: dict[int, list[tuple[Mention, Span]]] = defaultdict(list)
    for m, s in mention_spans(doc, mentions):
        by_sent[s.sent.start].append((m, s))
    out: list[MentionPair] = []
    for items in by_sent.values():
        items.sort(key=lambda x: x[1].start)
        best: dict[frozenset[str], tuple[int, int, int]] = {}
        for i, (ma, sa) in enumerate(items):
            for j in range(i + 1, len(items)):
                mb, sb = items[j]
                if ma.ids[0] == mb.ids[0] or sb.start < sa.end or not admissible(ma.kind, mb.kind):
                    continue
                key = frozenset((ma.ids[0], mb.ids[0]))
                gap = sb.start - sa.end
                if key not in best or gap < best[key][0]:
                    best[key] = (gap, i, j)
        for _, i, j in sorted(best.values(), key=lambda x: (x[1], x[2])):
            (ma, sa), (mb, sb) = items[i], items[j]
            between = sum(1 for _, s in items if s.start >= sa.end and s.end <= sb.start)
            out.append(MentionPair(ma, mb, sa, sb, between))
    return out
