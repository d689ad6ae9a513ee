"""The DPO-trained source policy of the VQA benchmark: the loss, and training on a toy preference set."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from benchmarks.preference import (
    FEATURES,
    SourcePolicy,
    dpo_loss,
    preference_pairs,
    train_dpo,
    tune,
)


def test_dpo_loss_matches_hand_computation() -> None:
    # margin = (-0.5 - -1.0) - (-2.0 - -1.5) = 0.5 + 0.5 = 1.0; beta 0.5 -> -log sigmoid(0.5)
    loss = dpo_loss(*(torch.tensor([v], dtype=torch.float64) for v in (-0.5, -2.0, -1.0, -1.5)), 0.5)
    assert float(loss) == pytest.approx(-math.log(1 / (1 + math.exp(-0.5))), abs=1e-9)
    assert float(loss) == pytest.approx(0.474077, abs=1e-6)
    # the policy equal to the reference: log 2
    z = torch.zeros(3, dtype=torch.float64)
    assert float(dpo_loss(z, z, z, z, 2.0)) == pytest.approx(math.log(2), abs=1e-9)


def _toy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Evidence is right when retrieval is similar (feature 3 high), the own reading otherwise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    y = rng.integers(0, 2, size=n)
    trust_ev = x[:, 3] > 0
    p_ev = np.where(trust_ev, y, 1 - y).astype(float) * 0.8 + 0.1
    p_own = np.where(trust_ev, 1 - y, y).astype(float) * 0.8 + 0.1
    return x, p_own, p_ev, y


def test_pairs_keep_only_disagreements() -> None:
    x = np.eye(3, len(FEATURES))
    xs, chosen = preference_pairs(x, np.array([0.9, 0.2, 0.7]), np.array([0.1, 0.3, 0.2]), np.array([0, 1, 1]))
    assert len(xs) == 2 and chosen.tolist() == [1, 0]


def test_training_moves_the_policy_toward_the_chosen_source() -> None:
    x, p_own, p_ev, y = _toy(400, 0)
    xs, chosen = preference_pairs(x, p_own, p_ev, y)
    ref = SourcePolicy.uniform()
    pol = train_dpo(xs, chosen, beta=1.0, epochs=150, reference=ref)
    w = pol.p_evidence(xs)
    assert w[chosen == 1].mean() > 0.8 and w[chosen == 0].mean() < 0.2
    vx, vo, ve, vy = _toy(200, 1)
    assert np.mean((pol.answer(vx, vo, ve) >= 0.5) == (vy == 1)) > 0.9
    assert np.mean((ref.answer(vx, vo, ve) >= 0.5) == (vy == 1)) < 0.7


def test_tune_picks_from_the_grid() -> None:
    pol, info = tune(_toy(200, 2), _toy(100, 3), betas=(0.5, 1.0), epochs=(10, 50))
    assert set(info["val_accuracy"]) == {"beta=0.5,epochs=10", "beta=0.5,epochs=50", "beta=1.0,epochs=10",
                                         "beta=1.0,epochs=50"}
    assert info["val_accuracy"][info["chosen"]] == max(info["val_accuracy"].values())
    assert info["pairs"] == 200
