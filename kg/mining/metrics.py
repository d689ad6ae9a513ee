"""Precision, recall and F1 over sets and over binary label columns."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PRF:
    """Counts and the scores derived from them."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4)}


def set_prf(predicted: Iterable[Hashable], gold: Iterable[Hashable]) -> PRF:
    """Scores of a predicted set against a gold set (e.g. (pmid, chemical, disease) triples)."""
    p, g = set(predicted), set(gold)
    return PRF(len(p & g), len(p - g), len(g - p))


def column_prf(predicted: Sequence[int], gold: Sequence[int]) -> PRF:
    """Scores of one 0/1 column against its gold column."""
    if len(predicted) != len(gold):
        raise ValueError(f"columns differ in length: {len(predicted)} vs {len(gold)}")
    tp = sum(1 for p, g in zip(predicted, gold, strict=True) if p and g)
    fp = sum(1 for p, g in zip(predicted, gold, strict=True) if p and not g)
    fn = sum(1 for p, g in zip(predicted, gold, strict=True) if g and not p)
    return PRF(tp, fp, fn)


def macro_f1(scores: Mapping[str, PRF], *, require_positives: bool = True) -> float:
    """Mean F1 over labels; labels without gold positives are left out when ``require_positives``."""
    used = [s.f1 for s in scores.values() if not require_positives or s.tp + s.fn > 0]
    return sum(used) / len(used) if used else 0.0
