"""What one sentence claims about two of its mentions: kind, direction, polarity and strength together.

The relation-kind model says which kind and which direction; the negation model (ConText features and a
learnt layer) says whether the object mention is negated, and a negation on the dependency path joining
the two ("did not cause", "failed to induce") negates the claim too; the claim-strength model says how
strongly the sentence states it, and a hedge that governs the pair ("a suspected cause of") weakens a
direct claim to a conditional one. Strength follows the kind: an association is correlational, and a
causal reading of a sentence worded as a correlation becomes an association.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from spacy.tokens import Span

from kg.mining.classifiers.claim_strength import ClaimStrengthModel
from kg.mining.classifiers.negation import NegationModel, Target
from kg.mining.classifiers.pair_features import pair_hedged, path_negated
from kg.mining.classifiers.relation_kinds import DIRECTED, RelationKindModel, RelationPrediction, ordered

CLAIM_STRENGTHS: tuple[str, ...] = ("direct", "conditional", "correlational", "none")
EDGE_MIN_CONFIDENCE = 0.5
"""A causal edge needs its kind to be more likely than not; a weaker reading stays a claim, not an edge."""

RELATION_DIR = "relation_kinds"
NEGATION_DIR = "negation"
STRENGTH_DIR = "claim_strength"


@dataclass(frozen=True)
class PairClaim:
    """A sentence's claim about a mention pair (``subject`` -> ``object`` for directed kinds)."""

    subject: Span
    object: Span
    kind: str
    negated: bool
    strength: str
    """``direct``, ``conditional``, ``correlational`` or ``none`` (kind ``none``)."""
    confidence: float
    """Probability of the kind (both directions summed for directed kinds)."""
    strength_confidence: float

    @property
    def is_certain_positive_cause(self) -> bool:
        """A claim that would become a causal edge stated as fact: a positive, direct ``causes`` reading
        whose probability reaches :data:`EDGE_MIN_CONFIDENCE`."""
        return (self.kind == "causes" and not self.negated and self.strength == "direct"
                and self.confidence >= EDGE_MIN_CONFIDENCE)


def claim_strength_for(kind: str, sentence_strength: str, hedged: bool = False) -> tuple[str, str]:
    """(kind, strength) from the predicted kind, the sentence's strength and a hedge on the pair.

    A causal reading of a sentence worded as a correlation is an association; a hedge that governs the
    pair makes a direct claim conditional even where the sentence as a whole reads as direct.
    """
    if kind == "none":
        return kind, "none"
    if kind == "associated":
        return kind, "correlational"
    if kind == "causes" and sentence_strength == "correlational":
        return "associated", "correlational"
    if sentence_strength in ("conditional", "correlational"):
        return kind, sentence_strength
    return kind, "conditional" if hedged else "direct"


@dataclass
class PairClaimReader:
    """The three models together; :meth:`read` turns mention pairs into :class:`PairClaim` objects."""

    relations: RelationKindModel
    negation: NegationModel
    strength: ClaimStrengthModel

    @classmethod
    def load(cls, folder: Path | str) -> PairClaimReader:
        """Load the three models from ``folder/relation_kinds``, ``folder/negation``, ``folder/claim_strength``."""
        folder = Path(folder)
        return cls(RelationKindModel.load(folder / RELATION_DIR), NegationModel.load(folder / NEGATION_DIR),
                   ClaimStrengthModel.load(folder / STRENGTH_DIR))

    def save(self, folder: Path | str) -> Path:
        folder = Path(folder)
        self.relations.save(folder / RELATION_DIR)
        self.negation.save(folder / NEGATION_DIR)
        self.strength.save(folder / STRENGTH_DIR)
        return folder

    def read(self, pairs: Sequence[tuple[Span, Span]],
             kinds: Sequence[RelationPrediction] | None = None) -> list[PairClaim]:
        """Claims of (a, b) mention pairs, each pair within one sentence of a parsed Doc.

        ``kinds`` are the pairs' relation-kind predictions when the caller has them already (the
        document scorer makes them too). Negation and strength are read only where the kind is not
        ``none`` (a pair with no relation has neither), which keeps the cost per abstract low.
        """
        if not pairs:
            return []
        if kinds is None:
            kinds = self.relations.predict(pairs)
        elif len(kinds) != len(pairs):
            raise ValueError(f"{len(kinds)} kind predictions for {len(pairs)} pairs")
        objects = []
        for (a, b), k in zip(pairs, kinds, strict=True):
            first, second, _ = ordered(a, b)
            subj, obj = (first, second) if k.subject_first or k.kind not in DIRECTED else (second, first)
            objects.append((subj, obj))
        related = [i for i, k in enumerate(kinds) if k.kind != "none"]
        sentences = {(id(pairs[i][0].doc), pairs[i][0].sent.start): pairs[i][0].sent for i in related}
        strengths = dict(zip(sentences, self.strength.predict(list(sentences.values())), strict=True))
        targets = [Target(obj.sent.text, obj.start_char - obj.sent.start_char, obj.end_char - obj.sent.start_char)
                   for _, obj in (objects[i] for i in related)]
        negs = dict(zip(related, self.negation.predict(targets), strict=True))
        out = []
        for i, ((a, _), k, (subj, obj)) in enumerate(zip(pairs, kinds, objects, strict=True)):
            if k.kind == "none":
                out.append(PairClaim(subj, obj, "none", False, "none", k.confidence, 0.0))
                continue
            first, second, _ = ordered(subj, obj)
            negated = negs[i].negated or path_negated(first, second)
            st = strengths[(id(a.doc), a.sent.start)]
            kind, strength = claim_strength_for(k.kind, st.label, pair_hedged(first, second))
            out.append(PairClaim(subj, obj, kind, negated, strength, k.confidence, st.confidence))
        return out
