"""The confounder rule: inverse-propensity weights that balance recorded confounders, weighted and
matched AUCs, and the training sampler that uses them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from vlm.confounders import (
    balancing_weights,
    fit_propensities,
    matched_auc,
    target_class,
    weighted_auc,
    worst_view_matched_auc,
)
from vlm.data import Record
from vlm.labels import LABEL_INDEX, LABELS


def _record(i: int, abnormal: int, view: str, follow_up: int = 0, source: str = "nih_1000") -> Record:
    labels = [0] * len(LABELS)
    labels[LABEL_INDEX["normal"]] = 1 - abnormal
    labels[LABEL_INDEX["Pneumonia"]] = abnormal
    return Record(f"{source}/{i}", source, "train", labels=tuple(labels), view=view, follow_up=follow_up,
                  group=f"p{i}")


def _confounded(n: int = 400, seed: int = 0) -> tuple[list[Record], np.ndarray, np.ndarray]:
    """Abnormal films more often PA, darker and later in follow-up (each about as strong as in nih_1000)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.5
    view = np.where(rng.random(n) < np.where(y, 0.6, 0.35), "PA", "AP")
    bright = rng.normal(np.where(y, 0.48, 0.52), 0.05)
    follow = rng.poisson(np.where(y, 3.0, 1.0))
    recs = [_record(i, int(a), str(v), int(f)) for i, (a, v, f) in enumerate(zip(y, view, follow, strict=True))]
    return recs, bright, y.astype(int)


def test_weighted_auc_matches_sklearn_and_ignores_unlabelled_entries():
    rng = np.random.default_rng(0)
    s = rng.random(300).round(2)  # ties on purpose
    y = (rng.random(300) < 0.4).astype(int)
    w = rng.uniform(0.2, 3.0, 300)
    assert weighted_auc(s, y) == pytest.approx(roc_auc_score(y, s))
    assert weighted_auc(s, y, w) == pytest.approx(roc_auc_score(y, s, sample_weight=w))
    y2 = y.copy()
    y2[:50] = -1
    assert weighted_auc(s, y2) == pytest.approx(roc_auc_score(y[50:], s[50:]))
    assert np.isnan(weighted_auc(s, np.zeros(300, int)))


def test_propensity_weights_take_the_confounders_out_of_the_class():
    recs, bright, y = _confounded(2000)
    w = balancing_weights(recs, bright, fit_propensities(recs, bright))
    pa = np.array([r.view == "PA" for r in recs]).astype(float)
    late = np.array([(r.follow_up or 0) >= 3 for r in recs]).astype(float)
    for z in (pa, -bright, late):
        before, after = weighted_auc(z, y) - 0.5, weighted_auc(z, y, w) - 0.5
        assert before > 0.1, "the confounder predicts the class before weighting"
        assert abs(after) < 0.5 * before, "and at most half as well after (clipping bounds the weights)"
    assert w.min() > 0 and w.max() <= 9.0 + 1e-9
    assert weighted_auc(np.ones(len(y)), y, w) == 0.5
    other = [_record(0, 1, "PA", source="pediatric_cxr")]
    assert balancing_weights(other, np.zeros(1), fit_propensities(recs, bright)).tolist() == [1.0]


def test_matched_auc_gives_a_confounder_no_credit_and_keeps_real_signal():
    rng = np.random.default_rng(1)
    n = 600
    y = (rng.random(n) < 0.5).astype(int)
    level = np.where(rng.random(n) < np.where(y, 0.8, 0.2), 1, 0)  # a two-level confounder
    cells = [(int(v),) for v in level]
    assert weighted_auc(level.astype(float), y) > 0.75
    assert matched_auc(level.astype(float), y, cells) == pytest.approx(0.5)
    signal = y + rng.normal(0, 0.7, n)
    assert matched_auc(signal, y, cells) > 0.8
    assert np.isnan(matched_auc(signal, y, [(k,) for k in range(n)]))


def test_worst_view_matched_auc_reports_each_view_and_the_lower_one():
    recs, bright, y = _confounded(600, seed=3)
    rng = np.random.default_rng(3)
    good_on_pa = np.where(np.array([r.view for r in recs]) == "PA", y + rng.normal(0, 0.3, len(y)),
                          rng.random(len(y)))
    worst, per = worst_view_matched_auc(good_on_pa, recs, bright)
    assert set(per) == {"AP", "PA"} and per["PA"] > 0.9 and per["AP"] < 0.65 and worst == per["AP"]
    assert target_class(recs[0]) == y[0]
    covid = Record("cxr_covid/x", "cxr_covid", "train",
                   labels=tuple(1 if n == "COVID-19" else -1 for n in LABELS))
    assert target_class(covid) == 1


def test_a_texture_statistic_can_be_a_confounder_cell_and_its_weights_balance_it():
    from vlm.confounders import TEXTURE_CONFOUNDERS, texture_statistic

    recs, bright, y = _confounded(2000, seed=3)
    rng = np.random.default_rng(4)
    tex = rng.normal(np.where(y == 1, 0.52, 0.48), 0.08)  # one folder grainier than the other
    plain = balancing_weights(recs, bright, fit_propensities(recs, bright))
    models = fit_propensities(recs, bright, TEXTURE_CONFOUNDERS, texture=tex)
    w = balancing_weights(recs, bright, models, texture=tex)
    assert weighted_auc(tex, y, plain) - 0.5 > 0.1, "the recorded confounders leave the texture link in place"
    assert weighted_auc(tex, y, w) - 0.5 < 0.5 * (weighted_auc(tex, y, plain) - 0.5)
    with pytest.raises(ValueError, match="texture"):
        fit_propensities(recs, bright, TEXTURE_CONFOUNDERS)
    flat, grainy = np.full((8, 8), 0.5), np.random.default_rng(0).random((8, 8))
    flat[:, 4:] = 0.6
    stats = texture_statistic(np.stack([flat, grainy]))
    assert stats.shape == (2,) and stats[1] > stats[0] > 0
    assert texture_statistic(flat).shape == (1,) and texture_statistic(np.zeros((0, 4, 4))).shape == (0,)
