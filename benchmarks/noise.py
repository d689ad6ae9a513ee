"""A front end of known quality: gold finding labels through an equal-variance Gaussian noise model.

Without IU-Xray images the VQA and report benchmarks are findings-conditioned: a finding with gold
label ``y`` gets the score ``z = d*y + e`` with ``e ~ N(0, 1)``, so positives and negatives are two
unit Gaussians ``d`` apart and the ROC AUC is ``Phi(d / sqrt 2)`` exactly; ``d`` is set from the
requested AUC. Scores become calibrated probabilities through the Bayes posterior with the finding's
training prevalence as the prior, so a downstream threshold of 0.5 means what it says. AUC 1.0 is
the gold labels themselves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm


def separation_for_auc(auc: float) -> float:
    """``d`` with ``Phi(d / sqrt 2) = auc`` (infinite at 1.0)."""
    if not 0.5 <= auc <= 1.0:
        raise ValueError(f"a front-end AUC must lie in [0.5, 1], got {auc}")
    if auc >= 1.0:
        return math.inf
    return math.sqrt(2.0) * float(norm.ppf(auc))


def noisy_probabilities(gold: np.ndarray, auc: float, prevalence: Sequence[float] | np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Calibrated probabilities (same shape as the 0/1 matrix ``gold``) from a front end of ROC ``auc``."""
    y = np.asarray(gold, dtype=np.float64)
    d = separation_for_auc(auc)
    if math.isinf(d):
        return y.copy()
    z = d * y + rng.standard_normal(y.shape)
    prior = np.clip(np.asarray(prevalence, dtype=np.float64), 1e-4, 1 - 1e-4)
    logit = d * z - 0.5 * d * d + np.log(prior / (1 - prior))
    return 1.0 / (1.0 + np.exp(-logit))
