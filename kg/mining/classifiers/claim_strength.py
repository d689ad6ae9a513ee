"""Claim strength of a sentence: no relation, direct causal, conditional (hedged) causal or correlational.

Learnt from Yu et al. (2019)'s PubMed conclusion sentences. A linear model reads word 1-3-grams,
character 2-5-grams and the sentence's structure features (:mod:`.text_features`), so that "X may
reduce Y" (conditional), "X reduced Y" (direct) and "X was associated with lower Y" (correlational) are
told apart by how the claim is worded rather than by a cue list alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC
from spacy.tokens import Doc, Span

from kg.mining.classifiers.corpora import STRENGTH_LABELS, StrengthSentence
from kg.mining.classifiers.persistence import load_pickled, save_pickled
from kg.mining.classifiers.text_features import parse, structure_features

MODEL_FILE = "claim_strength.pkl"
META_FILE = "claim_strength.json"

Sentence = str | Span | Doc


@dataclass(frozen=True)
class ClaimStrength:
    """The predicted strength of one sentence's claim and the probability of each class."""

    label: str
    """``none``, ``direct``, ``conditional`` or ``correlational``."""
    probabilities: tuple[tuple[str, float], ...]

    @property
    def confidence(self) -> float:
        return dict(self.probabilities)[self.label]


def _views(sentences: Sequence[Sentence]) -> tuple[list[str], list[str]]:
    """(text, structure-feature string) per sentence; strings are parsed first."""
    texts = [s if isinstance(s, str) else s.text for s in sentences]
    to_parse = [i for i, s in enumerate(sentences) if isinstance(s, str)]
    parsed: dict[int, Span | Doc] = {}
    if to_parse:
        for i, d in zip(to_parse, parse([texts[i] for i in to_parse]), strict=True):
            parsed[i] = d
    feats = []
    for i, s in enumerate(sentences):
        span = parsed.get(i, s)
        feats.append(" ".join(structure_features(span)))  # type: ignore[arg-type]
    return texts, feats


@dataclass
class SentenceVectorizer:
    """Word n-grams + character n-grams + structure features, the last block weighted up."""

    structure_weight: float = 2.0
    words: TfidfVectorizer = field(default_factory=lambda: TfidfVectorizer(ngram_range=(1, 3), sublinear_tf=True))
    chars: TfidfVectorizer = field(default_factory=lambda: TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))
    structure: TfidfVectorizer = field(default_factory=lambda: TfidfVectorizer(
        token_pattern=r"\S+", lowercase=False, sublinear_tf=True))

    def fit(self, texts: Sequence[str], feats: Sequence[str]) -> SentenceVectorizer:
        self.words.fit(texts)
        self.chars.fit(texts)
        self.structure.fit(feats)
        return self

    def transform(self, texts: Sequence[str], feats: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([self.words.transform(texts), self.chars.transform(texts),
                          self.structure.transform(feats) * self.structure_weight]).tocsr()


@dataclass
class ClaimStrengthModel:
    """A fitted claim-strength classifier."""

    vectorizer: SentenceVectorizer
    classifier: CalibratedClassifierCV
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    report: dict[str, Any] = field(default_factory=dict)

    def predict(self, sentences: Sequence[Sentence]) -> list[ClaimStrength]:
        """One prediction per sentence (a string is parsed; a parsed Span or Doc is used as it is)."""
        if not sentences:
            return []
        texts, feats = _views(sentences)
        proba = self.classifier.predict_proba(self.vectorizer.transform(texts, feats))
        classes = [str(c) for c in self.classifier.classes_]
        out = []
        for row in proba:
            k = int(np.argmax(row))
            out.append(ClaimStrength(classes[k], tuple((c, round(float(p), 4)) for c, p in zip(classes, row,
                                                                                                  strict=True))))
        return out

    def save(self, folder: Path | str) -> Path:
        return save_pickled(self, folder, MODEL_FILE, META_FILE, {"trained_at": self.trained_at, **self.report})

    @classmethod
    def load(cls, folder: Path | str) -> ClaimStrengthModel:
        return load_pickled(cls, folder, MODEL_FILE)


def _fit(texts: list[str], feats: list[str], y: np.ndarray, c: float
         ) -> tuple[SentenceVectorizer, CalibratedClassifierCV]:
    """One linear SVM (fast on sparse n-grams) fitted on all rows, its scores mapped to probabilities by
    sigmoids fitted on 3-fold out-of-fold scores (a single model to run at prediction time)."""
    vec = SentenceVectorizer().fit(texts, feats)
    folds = max(2, min(3, int(min(np.unique(y, return_counts=True)[1]))))
    svm = LinearSVC(C=c, class_weight="balanced", random_state=0)
    clf = CalibratedClassifierCV(svm, method="sigmoid", cv=folds, ensemble=False)
    clf.fit(vec.transform(texts, feats), y)
    return vec, clf


def cross_validated_macro_f1(rows: Sequence[StrengthSentence], c: float, *, folds: int = 5, seed: int = 0,
                             feats: list[str] | None = None) -> float:
    """Macro F1 of out-of-fold predictions (vectorizers refit inside each fold)."""
    from sklearn.metrics import f1_score

    texts = [r.text for r in rows]
    feats = feats if feats is not None else _views(texts)[1]
    y = np.array([r.label for r in rows])
    pred = np.empty(len(rows), dtype=object)
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y):
        vec, clf = _fit([texts[i] for i in tr], [feats[i] for i in tr], y[tr], c)
        pred[te] = clf.predict(vec.transform([texts[i] for i in te], [feats[i] for i in te]))
    return float(f1_score(y, pred.astype(str), average="macro", labels=list(STRENGTH_LABELS)))


def train_claim_strength(rows: Sequence[StrengthSentence], *, c_grid: Sequence[float] = (0.1, 0.3, 1.0),
                         folds: int = 5, seed: int = 0) -> ClaimStrengthModel:
    """Choose C by cross-validation on ``rows``, then fit on all of them."""
    if len({r.label for r in rows}) < 2:
        raise ValueError("claim-strength training needs at least two classes")
    texts = [r.text for r in rows]
    feats = _views(texts)[1]
    y = np.array([r.label for r in rows])
    folds = max(2, min(folds, int(min(np.unique(y, return_counts=True)[1]))))
    cv = {c: cross_validated_macro_f1(rows, c, folds=folds, seed=seed, feats=feats) for c in c_grid}
    best = max(cv, key=lambda k: cv[k])
    vec, clf = _fit(texts, feats, y, best)
    report = {"training_sentences": len(rows), "C": best, "folds": folds,
              "cv_macro_f1": {str(k): round(v, 4) for k, v in cv.items()}}
    return ClaimStrengthModel(vec, clf, report=report)
