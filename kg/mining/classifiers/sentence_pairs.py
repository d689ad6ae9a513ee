"""Mention pairs of a sentence: the closest cause and effect mention of each concept pair.

Shared by the training-example builders (:mod:`.relation_kinds`) and the document scorer
(:mod:`.document_relations`), so both see the same pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from spacy.tokens import Doc, Span

from kg.mining.classifiers.corpora import Mention


@dataclass(frozen=True)
class SentencePair:
    """One co-occurrence of a cause and an effect mention in a sentence, ready for the kind model."""

    cause_id: str
    effect_id: str
    cause: Span
    effect: Span
    between: int

    @property
    def cause_first(self) -> bool:
        return self.cause.start < self.effect.start


def mention_spans(doc: Doc, mentions: Sequence[Mention]) -> list[tuple[Mention, Span]]:
    out = []
    for m in mentions:
        if not m.ids:
            continue
        span = doc.char_span(m.start, m.end, alignment_mode="expand")
        if span is not None and len(span):
            out.append((m, span))
    return out


def sentence_pairs(doc: Doc, mentions: Sequence[Mention], cause_kind: str = "Chemical",
                   effect_kind: str = "Disease") -> list[SentencePair]:
    """Closest (cause, effect) mention pair per concept pair and sentence."""
    by_sent: dict[int, list[tuple[Mention, Span]]] = defaultdict(list)
    for m, s in mention_spans(doc, mentions):
        by_sent[s.sent.start].append((m, s))
    out = []
    for items in by_sent.values():
        best: dict[tuple[str, str], tuple[int, Span, Span]] = {}
        for mc, sc in items:
            if mc.kind != cause_kind:
                continue
            for me, se in items:
                if me.kind != effect_kind or me.ids[0] == mc.ids[0] or (sc.start < se.end and se.start < sc.end):
                    continue
                gap = abs(sc.start - se.start)
                key = (mc.ids[0], me.ids[0])
                if key not in best or gap < best[key][0]:
                    best[key] = (gap, sc, se)
        for (c, e), (_, sc, se) in best.items():
            lo, hi = sorted((sc, se), key=lambda s: s.start)
            between = sum(1 for _, s in items if s.start >= lo.end and s.end <= hi.start)
            out.append(SentencePair(c, e, sc, se, between))
    return out
