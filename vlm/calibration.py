"""Temperature scaling of the diagnosis head on a validation split, and the numbers that judge it.

A probability shown beside a finding has to mean what it says, so after training one temperature
per label (where the validation split has enough positives and negatives; a shared one otherwise)
is fitted by minimising the validation negative log-likelihood. Masked entries (``-1``) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class TemperatureFit:
    """Per-label temperatures and the calibration error (ECE) and NLL before and after applying them."""

    temperatures: tuple[float, ...]
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    fitted_labels: tuple[str, ...]


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, bins: int = 10) -> float:
    """ECE over all annotated (label, case) entries, equal-width bins."""
    mask = targets >= 0
    p, y = probs[mask].astype(np.float64), targets[mask].astype(np.float64)
    if p.size == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    err = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            err += sel.mean() * abs(p[sel].mean() - y[sel].mean())
    return float(err)


def _nll(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    loss = F.binary_cross_entropy_with_logits(logits / t, targets.clamp_min(0), reduction="none")
    return (loss * mask).sum() / mask.sum().clamp_min(1)


def _fit(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> float:
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = _nll(logits, targets, mask, log_t.exp())
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def fit_temperatures(logits: np.ndarray, targets: np.ndarray, label_names: list[str] | tuple[str, ...],
                     min_each: int = 10) -> TemperatureFit:
    """Per-label temperatures where a label has ``min_each`` positives and negatives; a shared one elsewhere."""
    lg = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(targets, dtype=torch.float64)
    mask = (y >= 0).to(torch.float64)
    shared = _fit(lg, y, mask) if mask.sum() > 0 else 1.0
    temps, fitted = [], []
    for j, name in enumerate(label_names):
        pos = int(((y[:, j] == 1)).sum())
        neg = int(((y[:, j] == 0)).sum())
        if pos >= min_each and neg >= min_each:
            temps.append(_fit(lg[:, j:j + 1], y[:, j:j + 1], mask[:, j:j + 1]))
            fitted.append(name)
        else:
            temps.append(shared)
    t = torch.tensor(temps, dtype=torch.float64)
    before = torch.sigmoid(lg).numpy()
    after = torch.sigmoid(lg / t).numpy()
    return TemperatureFit(tuple(float(x) for x in temps), expected_calibration_error(before, targets),
                       expected_calibration_error(after, targets), float(_nll(lg, y, mask, torch.ones(1))),
                       float(_nll(lg, y, mask, t)), tuple(fitted))
