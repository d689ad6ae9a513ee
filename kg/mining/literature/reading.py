"""What a batch of parsed documents says about its mention pairs: kind, direction, polarity, strength.

One pass per batch, each model called once for the whole batch:

1. the relation-kind model reads every candidate pair (:mod:`.pairs`) of every document;
2. the document scorer (:mod:`kg.mining.classifiers.document_relations`) scores every chemical -> disease
   pair of each document from those same kind predictions (so a drug named in the title and its adverse
   effect named later still count), and decides which of them is a ``causes`` relation; a pair whose
   likeliest stating sentence reads as a treatment, prevention or association gets no cause from it (the
   sentence's own reading stands); otherwise up to three stating sentences, likeliest first, are read and
   the first that states it as a plain cause (not negated, not merely correlational) is its evidence, else
   the likeliest's own reading stands;
3. a pair is read further only when it is related: a chemical -> disease pair the scorer accepts, or any
   other pair whose most likely kind is not ``none`` (a chemical -> disease pair whose sentence reads as a
   treatment, prevention or association keeps that kind); a pair the sentence only lists, exemplifies or
   names ("X and Y", "illnesses such as X", "X is a type of Y": :func:`~kg.mining.classifiers.pair_features.listing_structure`)
   states no relation and is not read, and a cause the scorer finds only across sentences is kept when the
   title names the chemical (the scorer learnt from abstracts, not from pages);
4. negation and claim strength (:class:`~kg.mining.classifiers.pair_claims.PairClaimReader`) are read for
   those pairs only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from spacy.tokens import Doc, Span

from kg.mining.classifiers.causal_direction import stated_direction
from kg.mining.classifiers.corpora import Mention
from kg.mining.classifiers.document_relations import (
    DocumentCandidate,
    DocumentRelationScorer,
    document_candidates,
)
from kg.mining.classifiers.negation import Target
from kg.mining.classifiers.pair_claims import PairClaim, PairClaimReader
from kg.mining.classifiers.pair_features import listing_structure
from kg.mining.classifiers.relation_kinds import CLASSES, RelationPrediction, features_of
from kg.mining.classifiers.sentence_pairs import SentencePair
from kg.mining.literature.pairs import MentionPair, mention_pairs


@dataclass(frozen=True)
class ParsedDocument:
    """A document after the pipeline: its id, title length, parse and normalised mentions."""

    doc_id: str
    title_end: int
    doc: Doc
    mentions: tuple[Mention, ...]


@dataclass(frozen=True)
class Reading:
    """One related pair of one document: ``subject`` -> ``object`` for directed kinds."""

    doc_id: str
    subject: Mention
    object: Mention
    kind: str
    """``causes``, ``treats``, ``prevents`` or ``associated``."""
    negated: bool
    strength: str
    """``direct``, ``conditional`` or ``correlational``."""
    confidence: float
    """Probability of the kind (for a document-level cause: the document scorer's)."""
    evidence: tuple[int, int]
    """Character range of the stating sentence (of both sentences when the pair is never in one)."""
    document_level: bool = False
    """Decided by the document scorer."""

    @property
    def edge(self) -> bool:
        """A causal statement made as fact: ``causes``, not negated, direct."""
        return self.kind == "causes" and not self.negated and self.strength == "direct"


@dataclass
class LiteratureReader:
    """The sentence models (kinds, negation, strength) and the document scorer, read batch-wise."""

    claims: PairClaimReader
    scorer: DocumentRelationScorer | None = None

    def read(self, docs: Sequence[ParsedDocument]) -> list[list[Reading]]:
        pairs = [mention_pairs(d.doc, d.mentions) for d in docs]
        flat = [p for ps in pairs for p in ps]
        kinds = self.claims.relations.predict_features(
            [features_of(p.first_span, p.second_span, p.between) for p in flat])
        kind_of = {id(p): k for p, k in zip(flat, kinds, strict=True)}
        accepted, doc_cands = self._document_causes(docs, pairs, kind_of)
        chosen: list[tuple[int, MentionPair, RelationPrediction, bool]] = []
        group_of: list[tuple[int, tuple[str, str]] | None] = []  # a document-level cause's sentences share one
        cross: list[tuple[int, DocumentCandidate, float]] = []
        for i, ps in enumerate(pairs):
            stating: dict[tuple[str, str], list[tuple[float, MentionPair]]] = defaultdict(list)
            for p in ps:
                if listing_structure(p.first_span, p.second_span) is not None:
                    continue
                k = kind_of[id(p)]
                sp = p.oriented()
                if sp is not None and self.scorer is not None:
                    key = (sp.cause_id, sp.effect_id)
                    if key in accepted[i]:
                        stating[key].append((k.kind_probability("causes", sp.cause_first), p))
                    if k.kind == "causes" or k.kind == "none":
                        continue
                elif k.kind == "none":
                    continue
                decided = sentence_kind(p, k)
                if decided is not None:
                    chosen.append((i, p, decided, False))
                    group_of.append(None)
            for key, score in accepted[i].items():
                if key in stating:
                    ranked = sorted(stating[key], key=lambda t: -t[0])
                    if kind_of[id(ranked[0][1])].kind not in ("causes", "none"):  # a treatment sentence is none
                        continue
                    for _, p in [r for r in ranked if kind_of[id(r[1])].kind in ("causes", "none")][:MAX_STATING]:
                        sp = p.oriented()
                        assert sp is not None
                        chosen.append((i, p, _forced_cause(sp.cause_first, score), True))
                        group_of.append((i, key))
                else:
                    cand = next((c for c in doc_cands[i] if (c.cause_id, c.effect_id) == key), None)
                    if cand is not None:
                        cross.append((i, cand, score))
        read = self.claims.read([(p.first_span, p.second_span) for _, p, _, _ in chosen], [k for _, _, k, _ in chosen])
        out: list[list[Reading]] = [[] for _ in docs]
        groups: dict[tuple[int, tuple[str, str]], list[Reading]] = defaultdict(list)
        for (i, p, _, from_doc), claim, group in zip(chosen, read, group_of, strict=True):
            if claim.kind == "none":
                continue
            if group is None:
                out[i].append(_reading(docs[i].doc_id, p, claim, from_doc))
            else:
                groups[group].append(_reading(docs[i].doc_id, p, claim, from_doc))
        for (i, _), readings in groups.items():
            out[i].append(_document_cause(readings))
        for n, r in self._cross_sentence([(docs[i], cand, score) for i, cand, score in cross]):
            out[cross[n][0]].append(r)
        return out

    def _document_causes(self, docs: Sequence[ParsedDocument], pairs: Sequence[list[MentionPair]],
                         kind_of: dict[int, RelationPrediction]
                         ) -> tuple[list[dict[tuple[str, str], float]], list[list[DocumentCandidate]]]:
        """Per document, the (chemical, disease) pairs the document scorer accepts with their score, and
        every pair it scored."""
        cands: list[list[DocumentCandidate]] = [[] for _ in docs]
        if self.scorer is None:
            return [{} for _ in docs], cands
        flat: list[DocumentCandidate] = []
        for i, (d, ps) in enumerate(zip(docs, pairs, strict=True)):
            preds: dict[tuple[str, str], list[tuple[SentencePair, RelationPrediction]]] = defaultdict(list)
            for p in ps:
                sp = p.oriented(self.scorer.cause_kind, self.scorer.effect_kind)
                if sp is not None:
                    preds[(sp.cause_id, sp.effect_id)].append((sp, kind_of[id(p)]))
            cands[i] = document_candidates(d.doc_id, d.title_end, d.doc, d.mentions, preds, self.scorer.priors,
                                           self.scorer.cause_kind, self.scorer.effect_kind)
            flat += cands[i]
        scores = iter(self.scorer.score(flat) if flat else np.zeros(0))
        out: list[dict[tuple[str, str], float]] = [{} for _ in docs]
        for i, cs in enumerate(cands):
            for c in cs:
                score = float(next(scores))
                if score >= self.scorer.threshold:
                    out[i][(c.cause_id, c.effect_id)] = score
        return out, cands

    def _cross_sentence(self, cands: Sequence[tuple[ParsedDocument, DocumentCandidate, float]]
                        ) -> list[tuple[int, Reading]]:
        """Causes the documents state only across sentences, as (index into ``cands``, reading): each kept
        when the title names the chemical (the document scorer learnt from abstracts, whose titles name the
        drug they study); the evidence is the title and the effect's first sentence, negation is read at the
        effect, strength from its sentence -- one negation and one strength call for all of them."""
        picked: list[tuple[int, ParsedDocument, Mention, Mention, tuple[int, int], Span, float]] = []
        for n, (d, cand, score) in enumerate(cands):
            choice = _cross_sentence_pair(d, cand)
            if choice is not None:
                c, e, evidence, sent = choice
                picked.append((n, d, c, e, evidence, sent, score))
        if not picked:
            return []
        negs = self.claims.negation.predict([Target(sent.text, e.start - sent.start_char, e.end - sent.start_char)
                                             for _, _, _, e, _, sent, _ in picked])
        strengths = self.claims.strength.predict([sent for _, _, _, _, _, sent, _ in picked])
        out = []
        for (n, d, c, e, evidence, _, score), neg, st in zip(picked, negs, strengths, strict=True):
            strength = "conditional" if st.label == "conditional" else "direct"
            out.append((n, Reading(d.doc_id, c, e, "causes", neg.negated, strength, round(score, 4), evidence,
                                   document_level=True)))
        return out


def _cross_sentence_pair(d: ParsedDocument, cand: DocumentCandidate
                         ) -> tuple[Mention, Mention, tuple[int, int], Span] | None:
    """The chemical mention in the title and the disease mention nearest to it (fewest sentences apart,
    then fewest characters) for a cross-sentence cause, with the evidence range and the effect's sentence;
    None when the title does not name the chemical."""
    spans = {}
    for m in d.mentions:
        if m.ids and m.ids[0] in (cand.cause_id, cand.effect_id):
            span = d.doc.char_span(m.start, m.end, alignment_mode="expand")
            if span is not None and len(span):
                spans[m] = span
    cause = [(m, s) for m, s in spans.items() if m.ids[0] == cand.cause_id]
    effect = [(m, s) for m, s in spans.items() if m.ids[0] == cand.effect_id]
    if not cause or not effect:
        return None
    sent_no = {s.start: i for i, s in enumerate(d.doc.sents)}
    options = []
    for mc, sc in cause:
        for me, se in effect:
            if mc.start < d.title_end:
                gap = abs(sent_no[sc.sent.start] - sent_no[se.sent.start])
                options.append((gap, abs(mc.start - me.start), mc, sc, me, se))
    if not options:
        return None
    _, _, c, c_span, e, e_span = min(options, key=lambda o: (o[0], o[1]))
    sents = sorted((c_span.sent, e_span.sent), key=lambda s: s.start_char)
    return c, e, (sents[0].start_char, sents[1].end_char), e_span.sent


def sentence_kind(p: MentionPair, k: RelationPrediction) -> RelationPrediction | None:
    """The kind a sentence gives a pair, with its direction: the model's, except that a causal construction
    on the path joining the mentions (:func:`~kg.mining.classifiers.causal_direction.stated_direction`)
    decides a cause's direction, and a ``causes`` reading of a pair other than chemical -> disease (kinds of
    pair the model learnt no causes from) needs one; without it the pair is not read (None)."""
    if k.kind != "causes":
        return k
    direction = stated_direction(p.first_span, p.second_span)
    if direction is None:
        return k if p.oriented() is not None else None
    forward = direction == "forward"
    if forward == k.subject_first:
        return k
    return RelationPrediction(k.kind, forward, k.confidence, k.probabilities)


MAX_STATING = 3
"""Sentences read for a document-level cause: the likeliest to state it first."""


def _document_cause(readings: Sequence[Reading]) -> Reading:
    """One reading of a document-level cause from its stating sentences, likeliest first: the first that
    states it as a cause without negation, else the likeliest's own reading (so an abstract that states a
    cause plainly in one sentence and as a correlation in another keeps the cause, while a negated or
    correlational statement stands when no sentence states more)."""
    return next((r for r in readings if r.kind == "causes" and not r.negated), readings[0])


def _forced_cause(cause_first: bool, score: float) -> RelationPrediction:
    """The document scorer's verdict as a kind prediction: ``causes`` from the chemical to the disease."""
    cls = "causes>" if cause_first else "causes<"
    return RelationPrediction("causes", cause_first, round(score, 4), tuple((c, 1.0 if c == cls else 0.0) for c in CLASSES))


def _reading(doc_id: str, p: MentionPair, claim: PairClaim, from_doc: bool) -> Reading:
    forward = claim.subject.start == p.first_span.start
    subj, obj = (p.first, p.second) if forward else (p.second, p.first)
    sent = p.first_span.sent
    return Reading(doc_id, subj, obj, claim.kind, claim.negated, claim.strength, round(claim.confidence, 4),
                   (sent.start_char, sent.end_char), document_level=from_doc)
