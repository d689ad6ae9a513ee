"""The findings noise model hits the requested ROC AUC and stays calibrated."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from benchmarks.noise import noisy_probabilities, separation_for_auc


@pytest.mark.parametrize("auc", [0.7, 0.8, 0.9, 0.95])
def test_noise_model_hits_requested_auc(auc: float) -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((40000, 1)) < 0.15).astype(int)
    p = noisy_probabilities(y, auc, [0.15], rng)
    assert roc_auc_score(y[:, 0], p[:, 0]) == pytest.approx(auc, abs=0.01)
    assert p.mean() == pytest.approx(0.15, abs=0.01)  # calibrated: mean probability = prevalence


def test_auc_one_is_gold_and_bad_auc_rejected() -> None:
    y = np.array([[0, 1], [1, 0]])
    assert np.array_equal(noisy_probabilities(y, 1.0, [0.5, 0.5], np.random.default_rng(0)), y)
    assert separation_for_auc(0.5) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        separation_for_auc(0.4)
