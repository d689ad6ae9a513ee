"""Metric implementations against known values and against scikit-learn / hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from benchmarks.metrics import (
    PRF,
    binary_scores,
    bleu,
    bootstrap_auc,
    clinical_efficacy,
    column_prf,
    hallucination_rate,
    macro_f1,
    meteor,
    roc_auc,
    rouge_l,
    tokenize,
    traceability,
)


def test_bleu_identical_is_one_and_disjoint_is_zero() -> None:
    ref = ["the heart is normal in size and the lungs are clear ."]
    assert bleu(ref, ref)["bleu4"] == pytest.approx(1.0)
    assert bleu(ref, ["xx yy zz ww vv uu tt ss rr qq pp oo mm"])["bleu1"] == 0.0


def test_bleu_hand_computed() -> None:
    # hyp "the cat sat on the mat" vs ref "the cat is on the mat": 6 tokens each, brevity penalty 1
    # clipped unigram matches 5/6; bigrams: the-cat, on-the, the-mat match of 5 -> 3/5
    out = bleu(["the cat is on the mat"], ["the cat sat on the mat"])
    assert out["bleu1"] == pytest.approx(5 / 6)
    assert out["bleu2"] == pytest.approx(math.sqrt(5 / 6 * 3 / 5))


def test_rouge_l_hand_computed() -> None:
    # LCS of "a b c d" and "a c d e" is "a c d" (3): P = R = 3/4
    assert rouge_l(["a b c d"], ["a c d e"]) == pytest.approx(0.75)
    assert rouge_l(["lungs are clear"], ["lungs are clear"]) == pytest.approx(1.0)


def test_meteor_orders_candidates() -> None:
    ref = ["the lungs are clear bilaterally"]
    assert meteor(ref, ref) > 0.95
    assert meteor(ref, ["the lungs are clear"]) > meteor(ref, ["large pleural effusion"])


def test_tokenize_splits_punctuation_and_lowercases() -> None:
    assert tokenize("No pneumothorax. XXXX intact.") == ["no", "pneumothorax", ".", "xxxx", "intact", "."]


def test_binary_scores_match_sklearn() -> None:
    y = np.array([0, 0, 1, 1, 1, 0, 1])
    s = np.array([0.1, 0.6, 0.7, 0.4, 0.9, 0.2, 0.55])
    sc = binary_scores(y, s, 0.5)
    pred = (s >= 0.5).astype(int)
    assert sc.accuracy == pytest.approx(accuracy_score(y, pred))
    assert sc.f1 == pytest.approx(f1_score(y, pred))
    assert sc.auc == pytest.approx(roc_auc_score(y, s))
    assert math.isnan(binary_scores([1, 1], [0.2, 0.3]).auc)


def test_clinical_efficacy_and_hallucination() -> None:
    gold = [("Effusion",), ("Cardiomegaly", "Edema"), ()]
    pred = [("Effusion", "Pneumothorax"), ("Cardiomegaly",), ("Nodule",)]
    ce = clinical_efficacy(gold, pred, ["Effusion", "Cardiomegaly", "Edema", "Pneumothorax", "Nodule"])
    assert ce["ce_precision"] == pytest.approx(2 / 4)
    assert ce["ce_recall"] == pytest.approx(2 / 3)
    assert hallucination_rate(gold, pred) == pytest.approx(2 / 4)
    assert traceability([{"Effusion": ["image:Effusion"], "Nodule": []}]) == pytest.approx(0.5)


def test_one_macro_f1_for_classes_and_for_label_columns() -> None:
    y, pred = np.array([1, 1, 0, 0, 1, 0]), np.array([1, 0, 0, 1, 1, 0])
    per_class = [column_prf((pred == c).tolist(), (y == c).tolist()).f1 for c in (0, 1)]
    assert macro_f1(y, pred) == pytest.approx(sum(per_class) / 2)
    # label matrices: the mean runs over the chosen columns only (a finding without gold positives is left out)
    gold = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    found = np.array([[1, 1, 0], [0, 1, 1], [0, 1, 0], [0, 0, 0]])
    cols = [column_prf(found[:, j].tolist(), gold[:, j].tolist()) for j in range(3)]
    assert cols[2] == PRF(0, 1, 0)
    assert macro_f1(gold, found, columns=[0, 1]) == pytest.approx((cols[0].f1 + cols[1].f1) / 2)
    assert macro_f1(gold, found) == pytest.approx((cols[0].f1 + cols[1].f1) / 3)


def test_one_roc_auc_is_the_rank_statistic_and_nan_for_one_class() -> None:
    y = np.array([0, 0, 1, 1, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.9])  # ties across classes count a half
    pairs = [(a, b) for a, ya in zip(s, y, strict=True) if ya for b, yb in zip(s, y, strict=True) if not yb]
    mann_whitney = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) / len(pairs)
    assert roc_auc(y, s) == pytest.approx(mann_whitney) == pytest.approx(roc_auc_score(y, s))
    assert math.isnan(roc_auc([1, 1, 1], [0.2, 0.5, 0.9]))


def test_bootstrap_interval_is_of_the_same_auc() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(60) < 0.4).astype(int)
    s = np.round(rng.random(60) + 0.5 * y, 1)  # ties
    # one group: every resample is the whole set, so the interval collapses onto roc_auc
    assert bootstrap_auc(y, s, ["one"] * 60, n=20) == (round(roc_auc(y, s), 4), round(roc_auc(y, s), 4))
    lo, hi = bootstrap_auc(y, s, [f"p{i // 2}" for i in range(60)], n=300)
    assert lo < roc_auc(y, s) < hi
    assert all(math.isnan(v) for v in bootstrap_auc(np.ones(4, int), s[:4], ["a", "b", "c", "d"], n=10))
