"""The trained relation classifier: which candidate pairs a document states as cause -> effect.

Two stages, both fit on training documents only:

1. (optional) a logistic regression over MiniLM embeddings of the entity-marked evidence sentence,
   whose out-of-fold score becomes one more feature, so the model learns wordings beyond the patterns;
2. gradient-boosted trees over the pattern, position, frequency and prior features (plus 1.).

The out-of-fold scores of stage 2 fit an isotonic calibration (so ``confidence`` means what it says)
and the decision threshold that maximises F1. Folds group by document, priors of a training row come
from the other folds only.
"""

from __future__ import annotations

import json
import logging
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from kg.mining.literature.relations import FEATURE_NAMES, Candidate, Priors, apply_priors

log = logging.getLogger(__name__)

MODEL_FILE = "relation_model.pkl"
META_FILE = "relation_model.json"
RELATION_EXTRACTOR = "mcrag-literature-miner"
RELATION_MODEL_VERSION = "1.0"

Embedder = Callable[[Sequence[str]], np.ndarray]


@dataclass
class TrainingDoc:
    """One training document: its candidates, the gold keys among them and its prior-learning record."""

    candidates: list[Candidate]
    gold: set[tuple[str, str, str]]
    corpus: str
    record: Any = None
    """The :class:`~kg.mining.core.documents.Document` whose mentions and relations feed :class:`Priors`."""


@dataclass
class RelationModel:
    """A fitted classifier with its calibration, threshold and training-corpus priors."""

    trees: HistGradientBoostingClassifier
    calibrator: IsotonicRegression
    threshold: float
    priors: Priors
    embedding_model: LogisticRegression | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    """Best-F1 threshold per training corpus (``bc5cdr``: abstracts, ``ade``: single sentences)."""
    version: str = RELATION_MODEL_VERSION
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_embeddings(self) -> bool:
        return self.embedding_model is not None

    def features(self, cands: Sequence[Candidate], embed: Embedder | None = None) -> np.ndarray:
        cands = apply_priors(cands, self.priors)
        x = np.array([c.features for c in cands], dtype=np.float64).reshape(len(cands), len(FEATURE_NAMES))
        if self.embedding_model is not None:
            if embed is None:
                raise ValueError("this relation model needs sentence embeddings; pass an embedder")
            emb = embed([c.marked for c in cands]) if cands else np.zeros((0, 384))
            score = self.embedding_model.predict_proba(emb)[:, 1] if len(cands) else np.zeros(0)
            x = np.column_stack([x, score])
        return x

    def confidence(self, cands: Sequence[Candidate], embed: Embedder | None = None) -> np.ndarray:
        """Calibrated probability that each candidate is a stated cause -> effect relation."""
        if not cands:
            return np.zeros(0)
        raw = self.trees.predict_proba(self.features(cands, embed))[:, 1]
        return np.clip(self.calibrator.predict(raw), 0.0, 1.0)

    def save(self, folder: Path | str) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (MODEL_FILE + ".part")
        with tmp.open("wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(folder / MODEL_FILE)
        meta = {"version": self.version, "trained_at": self.trained_at, "threshold": self.threshold,
                "uses_embeddings": self.uses_embeddings, "features": list(FEATURE_NAMES), **self.report}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return folder / MODEL_FILE

    @classmethod
    def load(cls, folder: Path | str) -> RelationModel:
        path = Path(folder) / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no relation model at {path}; train one with `mcrag mine train-relations`")
        with path.open("rb") as fh:
            model = pickle.load(fh)  # noqa: S301 - our own artefact, written by save()
        if not isinstance(model, cls):
            raise ValueError(f"{path} does not hold a relation model")
        return model


def _trees() -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=15,
                                          l2_regularization=1.0, random_state=0)


def _fit_trees(x: np.ndarray, y: np.ndarray) -> HistGradientBoostingClassifier:
    """Fit single-threaded: on this many rows OpenMP threads gain little, and on a busy machine their
    spin-waiting made training several times slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return _trees().fit(x, y)


def _best_threshold(scores: np.ndarray, y: np.ndarray, n_gold: int) -> tuple[float, float]:
    """Threshold with the best F1 (recall over ``n_gold``, which counts gold pairs never proposed)."""
    best = (0.5, 0.0)
    for th in np.arange(0.05, 0.95, 0.01):
        pred = scores >= th
        tp = int((pred & y).sum())
        p = tp / max(1, int(pred.sum()))
        r = tp / max(1, n_gold)
        f = 2 * p * r / (p + r) if p + r else 0.0
        if f > best[1]:
            best = (float(th), f)
    return best


def train_relation_model(docs: Sequence[TrainingDoc], *, embed: Embedder | None = None, folds: int = 5,
                         seed: int = 0) -> RelationModel:
    """Fit the classifier on training documents, with cross-validated calibration and threshold."""
    if len(docs) < folds:
        raise ValueError(f"need at least {folds} training documents, got {len(docs)}")
    groups = np.arange(len(docs))
    order = np.random.default_rng(seed).permutation(len(docs))
    fold_of = np.empty(len(docs), dtype=int)
    for k, part in enumerate(np.array_split(order, folds)):
        fold_of[part] = k
    # training rows get priors from the other folds only
    rows: list[Candidate] = []
    y_list: list[bool] = []
    row_doc: list[int] = []
    row_corpus: list[str] = []
    for k in range(folds):
        prior_docs = [d.record for i, d in enumerate(docs) if fold_of[i] != k and d.record is not None]
        priors = Priors.learn(prior_docs)
        for i in np.where(fold_of == k)[0]:
            for c in apply_priors(docs[i].candidates, priors):
                rows.append(c)
                y_list.append(c.key in docs[i].gold)
                row_doc.append(int(i))
                row_corpus.append(docs[i].corpus)
    y = np.array(y_list, dtype=bool)
    row_fold = fold_of[np.array(row_doc)]
    x = np.array([c.features for c in rows], dtype=np.float64)
    n_gold = sum(len(d.gold) for d in docs)
    emb_model = None
    if embed is not None:
        emb = embed([c.marked for c in rows])
        oof = np.zeros(len(rows))
        for k in range(folds):
            tr, te = row_fold != k, row_fold == k
            oof[te] = _embedding_lr().fit(emb[tr], y[tr]).predict_proba(emb[te])[:, 1]
        x = np.column_stack([x, oof])
        emb_model = _embedding_lr().fit(emb, y)
    oof_tree = np.zeros(len(rows))
    for k in range(folds):
        tr, te = row_fold != k, row_fold == k
        oof_tree[te] = _fit_trees(x[tr], y[tr]).predict_proba(x[te])[:, 1]
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(oof_tree, y)
    calibrated = calibrator.predict(oof_tree)
    threshold, cv_f1 = _best_threshold(calibrated, y, n_gold)
    corpus_arr = np.array(row_corpus)
    thresholds: dict[str, float] = {}
    per_corpus: dict[str, float] = {}
    for corpus in sorted(set(row_corpus)):
        sel = corpus_arr == corpus
        thresholds[corpus], per_corpus[corpus] = _best_threshold(
            calibrated[sel], y[sel], sum(len(d.gold) for d in docs if d.corpus == corpus))
    threshold = thresholds.get("bc5cdr", threshold)
    trees = _fit_trees(x, y)
    priors = Priors.learn([d.record for d in docs if d.record is not None])
    del groups
    report = {"cv_f1": round(cv_f1, 4), "cv_f1_per_corpus": {k: round(v, 4) for k, v in per_corpus.items()},
              "thresholds": {k: round(v, 2) for k, v in thresholds.items()}, "training_documents": len(docs), "training_pairs": len(rows),
              "positive_pairs": int(y.sum()), "gold_pairs": n_gold,
              "corpora": sorted({d.corpus for d in docs}), "folds": folds}
    log.info("relation model: CV F1 %.3f at threshold %.2f", cv_f1, threshold)
    return RelationModel(trees, calibrator, threshold, priors, emb_model, thresholds, report=report)


def _embedding_lr() -> LogisticRegression:
    return LogisticRegression(max_iter=2000, C=1.0, class_weight="balanced")


def cross_validated_scores(docs: Sequence[TrainingDoc]) -> dict[str, float]:
    """Document-grouped CV of the tree stage alone (used by tests and quick checks)."""
    x = np.array([c.features for d in docs for c in d.candidates], dtype=np.float64)
    y = np.array([c.key in d.gold for d in docs for c in d.candidates], dtype=bool)
    g = np.array([i for i, d in enumerate(docs) for _ in d.candidates])
    folds = min(5, len(docs))
    oof = np.zeros(len(y))
    for tr, te in GroupKFold(folds).split(x, y, g):
        oof[te] = _fit_trees(x[tr], y[tr]).predict_proba(x[te])[:, 1]
    th, f1 = _best_threshold(oof, y, sum(len(d.gold) for d in docs))
    return {"threshold": th, "f1": f1}
