"""A learned Open-i indexer over the report miner's mention statuses, to test whether learning helps.

For each (report, Open-i label) with at least one mention in the findings or impression, the features
are the rule status overall and per section, each mention's term and status, its ConText cues, and
whether it is one side of an alternative; a logistic regression (one model over all labels, with
label-specific and shared features) predicts the gold label. Reports without a mention are negative,
as for the rules. Compared with the rules in the same cross-validation folds, over several seeds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from kg.mining.core.documents import ReportFindings
from kg.mining.reports.lexicon import OPENI_LABEL_SOURCES
from kg.mining.reports.openi import is_alternative

_RANK = {"present": 3, "uncertain": 2, "absent": 1}
COUNTED = ("findings", "impression")


def label_features(rf: ReportFindings, label: str) -> dict[str, float] | None:
    """Features of one report for one label, or None when the report never mentions it."""
    keys = OPENI_LABEL_SOURCES.get(label, (label,))
    ms = [m for m in rf.mentions if m.key in keys and m.section in COUNTED]
    if not ms:
        return None
    d: dict[str, float] = {}
    best = max(ms, key=lambda m: _RANK[m.status]).status
    d[f"best={best}"] = d[f"{label}|best={best}"] = 1.0
    d[f"{label}|rule={int(label in rf.labels)}"] = 1.0
    for sec in COUNTED:
        in_sec = [m for m in ms if m.section == sec]
        b = max(in_sec, key=lambda m: _RANK[m.status]).status if in_sec else "none"
        d[f"{sec}={b}"] = d[f"{label}|{sec}={b}"] = 1.0
    for m in ms:
        term = re.sub(r"x{4}", "_", (m.term or m.text).lower())
        d[f"{label}|term={term}|{m.status}"] = 1.0
        for c in m.cues:
            d[f"cue={c}|{m.status}"] = d[f"{label}|cue={c}"] = 1.0
        if is_alternative(m):
            d["alternative"] = d[f"{label}|alternative"] = 1.0
        if m.historical:
            d["historical"] = 1.0
    return d


def cross_validated(rows: Sequence[ReportFindings], gold: np.ndarray, labels: Sequence[str], *, seed: int,
                    folds: int = 5, c: float = 1.0, threshold: float = 0.5) -> np.ndarray:
    """0/1 predictions (reports x labels) of the learned indexer, each report predicted by the model
    trained on the other folds (folds drawn by ``seed``)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    feats = [[label_features(rf, lab) for lab in labels] for rf in rows]
    order = np.random.default_rng(seed).permutation(len(rows))
    fold_of = np.empty(len(rows), dtype=int)
    fold_of[order] = np.arange(len(rows)) % folds
    pred = np.zeros((len(rows), len(labels)), dtype=int)
    for k in range(folds):
        train = [(feats[i][j], gold[i, j]) for i in np.where(fold_of != k)[0] for j in range(len(labels))
                 if feats[i][j] is not None]
        vec = DictVectorizer()
        x = vec.fit_transform([f for f, _ in train])
        y = np.array([g for _, g in train])
        model = LogisticRegression(C=c, max_iter=2000).fit(x, y)
        cells = [(i, j) for i in np.where(fold_of == k)[0] for j in range(len(labels)) if feats[i][j] is not None]
        if cells:
            p = model.predict_proba(vec.transform([feats[i][j] for i, j in cells]))[:, 1]
            for (i, j), pij in zip(cells, p, strict=True):
                pred[i, j] = int(pij >= threshold)
    return pred
