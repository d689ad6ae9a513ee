"""Metric implementations against known values and against scikit-learn / hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from benchmarks.metrics import (
    binary_scores,
    bleu,
    clinical_efficacy,
    hallucination_rate,
    meteor,
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
