"""Every benchmark metric, with the established implementations, so our numbers sit beside published ones.

Classification: scikit-learn (one ROC AUC, :func:`roc_auc`; one macro F1, :func:`macro_f1`). Extraction
against gold sets and columns: :class:`PRF` counts. Report generation: nltk ``corpus_bleu`` (BLEU-1..4, whitespace tokens
of the lower-cased, punctuation-split text, as R2Gen's evaluation does), ``rouge-score`` ROUGE-L
(F-measure, averaged over reports). METEOR needs WordNet for its synonym stage; nltk's data cannot
be fetched on an offline machine, so :func:`meteor` uses nltk's METEOR with exact and Porter-stem
matching only when WordNet is absent (it then scores at most what full METEOR would) and says so
in :data:`METEOR_VARIANT`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens; IU-Xray's ``XXXX`` anonymisation stays a token."""
    return _TOKEN.findall((text or "").lower())


# ---------------------------------------------------------------------------------------- classification
@dataclass(frozen=True)
class BinaryScores:
    accuracy: float
    f1: float
    auc: float
    precision: float
    recall: float
    n: int

    def to_json(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def roc_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """ROC AUC of ``scores`` (scikit-learn); NaN when the labels hold one class only."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(labels, dtype=int)
    return float(roc_auc_score(y, np.asarray(scores, dtype=float))) if len(set(y.tolist())) == 2 else float("nan")


def bootstrap_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, groups: Sequence[str],
                  n: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% interval of :func:`roc_auc`, resampling groups (e.g. the films of a patient together).

    Each resample's AUC is the same statistic in its rank form (Mann-Whitney U over n1 x n0, ties
    counting a half, ranks from scipy), which equals :func:`roc_auc` up to float rounding and costs a
    fiftieth of scikit-learn's call, so a thousand resamples stay cheap.
    """
    from scipy.stats import rankdata

    y, s = np.asarray(labels, dtype=int), np.asarray(scores, dtype=float)
    names = sorted(set(groups))
    pos = {g: i for i, g in enumerate(names)}
    gid = np.array([pos[g] for g in groups])
    members = [np.flatnonzero(gid == i) for i in range(len(names))]
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n):
        rows = np.concatenate([members[j] for j in rng.integers(0, len(names), len(names))])
        yr = y[rows]
        n1 = int(yr.sum())
        n0 = len(yr) - n1
        if n1 and n0:
            ranks = rankdata(s[rows])
            vals.append(float((ranks[yr == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)))
    if not vals:
        return float("nan"), float("nan")
    lo, hi = np.percentile(vals, (2.5, 97.5))
    return round(float(lo), 4), round(float(hi), 4)


def binary_scores(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                  threshold: float = 0.5) -> BinaryScores:
    """Accuracy, F1, precision, recall at ``threshold`` and ROC AUC of ``scores`` (NaN with one class)."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    pred = (s >= threshold).astype(int)
    auc = roc_auc(y, s)
    return BinaryScores(float(accuracy_score(y, pred)), float(f1_score(y, pred, zero_division=0)), auc,
                        float(precision_score(y, pred, zero_division=0)), float(recall_score(y, pred, zero_division=0)),
                        int(len(y)))


def macro_f1(labels: Sequence[int] | np.ndarray, preds: Sequence[int] | np.ndarray, *,
             columns: Sequence[int] | None = None) -> float:
    """Macro F1 (scikit-learn): the mean F1 over classes of 1-D labels, or over the columns of 0/1 label
    matrices; ``columns`` restricts the mean (e.g. to findings with gold positives)."""
    from sklearn.metrics import f1_score

    return float(f1_score(np.asarray(labels), np.asarray(preds), average="macro", zero_division=0,
                          labels=None if columns is None else list(columns)))


# ---------------------------------------------------------------------------------------- extraction
@dataclass(frozen=True)
class PRF:
    """Counts and the precision, recall and F1 derived from them."""

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


# ---------------------------------------------------------------------------------------- text generation
def bleu(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, float]:
    """Corpus BLEU-1..4 (nltk, one reference per hypothesis, no smoothing)."""
    from nltk.translate.bleu_score import corpus_bleu

    refs = [[tokenize(r)] for r in references]
    hyps = [tokenize(h) for h in hypotheses]
    weights = [(1.0,), (0.5, 0.5), (1 / 3, 1 / 3, 1 / 3), (0.25, 0.25, 0.25, 0.25)]
    return {f"bleu{n + 1}": float(corpus_bleu(refs, hyps, weights=w)) for n, w in enumerate(weights)}


def rouge_l(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Mean ROUGE-L F-measure (rouge-score, no stemming) over report pairs."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    vals = [scorer.score(r, h)["rougeL"].fmeasure for r, h in zip(references, hypotheses, strict=True)]
    return float(np.mean(vals)) if vals else 0.0


def _wordnet_available() -> bool:
    try:
        from nltk.corpus import wordnet

        wordnet.synsets("lung")
        return True
    except LookupError:
        return False


class _NoSynonyms:
    """Stands in for WordNet in nltk's METEOR: no synonym matches (exact and stem stages only)."""

    @staticmethod
    def synsets(*_: object, **__: object) -> list[object]:
        return []


METEOR_VARIANT = "nltk meteor_score (exact+stem+WordNet synonyms)" if _wordnet_available() else \
    "nltk meteor_score, exact+Porter-stem stages only (WordNet data not installed: synonym stage off)"


def meteor(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Mean sentence METEOR (nltk; see :data:`METEOR_VARIANT` for the matching stages used)."""
    from nltk.translate.meteor_score import meteor_score

    wn = None if _wordnet_available() else _NoSynonyms()
    vals = []
    for r, h in zip(references, hypotheses, strict=True):
        kwargs = {} if wn is None else {"wordnet": wn}
        vals.append(meteor_score([tokenize(r)], tokenize(h), **kwargs))
    return float(np.mean(vals)) if vals else 0.0


def generation_scores(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, float]:
    out = bleu(references, hypotheses)
    out["meteor"] = meteor(references, hypotheses)
    out["rouge_l"] = rouge_l(references, hypotheses)
    return out


# ---------------------------------------------------------------------------------------- findings in outputs
def clinical_efficacy(gold: Sequence[Iterable[str]], predicted: Sequence[Iterable[str]],
                      labels: Sequence[str]) -> dict[str, float]:
    """Micro precision / recall / F1 of positive findings (the CE metrics of report generation)."""
    tp = fp = fn = 0
    keep = set(labels)
    for g, p in zip(gold, predicted, strict=True):
        gs, ps = set(g) & keep, set(p) & keep
        tp += len(gs & ps)
        fp += len(ps - gs)
        fn += len(gs - ps)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"ce_precision": prec, "ce_recall": rec, "ce_f1": f1}


def hallucination_rate(gold: Sequence[Iterable[str]], asserted: Sequence[Iterable[str]]) -> float:
    """Share of findings asserted in outputs that the ground truth does not contain."""
    total = wrong = 0
    for g, a in zip(gold, asserted, strict=True):
        aset = set(a)
        total += len(aset)
        wrong += len(aset - set(g))
    return wrong / total if total else 0.0


def traceability(traces: Sequence[Mapping[str, Sequence[str]]]) -> float:
    """Share of asserted findings that cite at least one evidence item.

    Each element maps an asserted finding to the evidence items cited for it (image prediction,
    exemplar, validated edge, literature claim); an empty list is an uncited assertion.
    """
    total = cited = 0
    for t in traces:
        for items in t.values():
            total += 1
            cited += bool(items)
    return cited / total if total else 1.0
