"""How the front end's score depends on the finding and the view: the soft evidence a posterior reads.

The view (projection) confounds the reading: sicker patients are filmed AP, and a front end trained
where AP films carry more (or fewer) findings learns to lean on the view. The view causes no disease,
so the posterior never learns a finding prior from it. What it does model is the front end's own
mechanism, the distribution of its score given the finding and the view, which is the same wherever
the front end is used (``backdoor`` reading). The soft evidence on a finding is then the likelihood
ratio of the case's score under present vs absent *in the case's own view*: the part of the score
that the view alone explains cancels.

The ``plain`` reading fits the same model ignoring the view (pooled over views): its likelihood
ratio mixes the training sources' view-finding association into the evidence, which is the
shortcut the backdoor reading removes. ``calibrated`` needs no labelled scores: it takes the front
end's probability as calibrated to a known prevalence and divides the prior odds out.

The score model of a finding is an equal-variance Gaussian on the front end's logit whose mean is
``m_y + offset_v``: the separation between present and absent is shared across views and the view
moves every score of its films by its own offset (estimated by least squares from all the labelled
scores of that view, present and absent alike, so a view with few positives still gets its offset):
``log LR(s, v) = (m1 - m0) / sd^2 * (s - offset_v - (m1 + m0) / 2)``. A view with too few labelled
scores borrows its parent's offset (AP supine -> AP), else the offset of the pooled view mix (the
plain reading's), and :meth:`ScoreReading.stratum_used` says which.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from reasoning.posterior.graph import PosteriorError

ReadingMode = Literal["backdoor", "plain", "calibrated"]
READING_MODES: tuple[str, ...] = ("backdoor", "plain", "calibrated")
POOLED = "*"
UNKNOWN_VIEW = "unknown"
VIEW_PARENT: dict[str, str] = {"AP supine": "AP"}
"""A view stratum with too few scores borrows its parent's fit before the pooled one."""
_EPS = 1e-6


def view_stratum(view: object) -> str:
    """The stratum of a recorded view (blank -> ``unknown``)."""
    if view is None or (isinstance(view, float) and math.isnan(view)) or view is pd.NA:
        return UNKNOWN_VIEW
    text = str(view).strip()
    return text if text and text.lower() != "nan" else UNKNOWN_VIEW


@dataclass(frozen=True)
class ScoreFit:
    """Front-end logit given the finding: class means (pooled view mix), sd, per-view offsets, counts."""

    mean_absent: float
    mean_present: float
    sd: float
    absent: int
    present: int
    offsets: Mapping[str, float] = field(default_factory=dict)
    """View stratum -> shift of every score of that view from the pooled means (backdoor reading only)."""

    def log_lr(self, logit: np.ndarray, offset: float | np.ndarray = 0.0) -> np.ndarray:
        slope = (self.mean_present - self.mean_absent) / (self.sd ** 2)
        centre = 0.5 * (self.mean_present + self.mean_absent) + offset
        return slope * (np.asarray(logit, dtype=np.float64) - centre)

    def to_json(self) -> dict[str, Any]:
        return {"mean_absent": round(self.mean_absent, 4), "mean_present": round(self.mean_present, 4),
                "sd": round(self.sd, 4), "absent": self.absent, "present": self.present,
                "view_offsets": {k: round(v, 4) for k, v in self.offsets.items()}}


@dataclass(frozen=True)
class ScoreReading:
    """Per finding, the front end's score model given the view; turns logits into log likelihood ratios."""

    mode: ReadingMode
    fits: Mapping[str, ScoreFit]
    """finding -> its score model; empty under ``calibrated``."""
    prevalence: Mapping[str, float]
    """Under ``calibrated``: the prevalence the front end's probabilities are calibrated to."""

    @property
    def findings(self) -> tuple[str, ...]:
        return tuple(self.fits) if self.mode != "calibrated" else tuple(self.prevalence)

    def stratum_used(self, finding: str, view: object) -> str:
        """The view stratum whose offset reads ``finding`` on a film of ``view`` (``*``: the pooled mix)."""
        if self.mode == "calibrated":
            return POOLED
        offsets = self._fit(finding).offsets
        s = view_stratum(view)
        while s not in offsets and s in VIEW_PARENT:
            s = VIEW_PARENT[s]
        return s if s in offsets else POOLED

    def _fit(self, finding: str) -> ScoreFit:
        if finding not in self.fits:
            raise PosteriorError(f"graph posterior: the front end's reading has no score model for {finding!r}")
        return self.fits[finding]

    def log_lr(self, finding: str, logits: np.ndarray, views: Sequence[object] | np.ndarray) -> np.ndarray:
        """log P(score | present, view) - log P(score | absent, view), per case."""
        x = np.asarray(logits, dtype=np.float64)
        if self.mode == "calibrated":
            if finding not in self.prevalence:
                raise PosteriorError(f"graph posterior: no calibration prevalence for {finding!r}")
            p = min(max(self.prevalence[finding], _EPS), 1 - _EPS)
            return x - math.log(p / (1 - p))
        fit = self._fit(finding)
        views = np.asarray(views, dtype=object)
        if views.shape != x.shape:
            raise PosteriorError(f"graph posterior: {len(x)} scores but {len(views)} views")
        if not fit.offsets:
            return fit.log_lr(x)
        strata = np.array([self.stratum_used(finding, v) for v in views], dtype=object)
        offset = np.array([fit.offsets.get(s, 0.0) for s in strata])
        return fit.log_lr(x, offset)

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "fits": {f: fit.to_json() for f, fit in self.fits.items()},
                "prevalence": {k: round(v, 5) for k, v in self.prevalence.items()}}


def logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


def _fit(x: np.ndarray, y: np.ndarray, strata: np.ndarray | None, min_cases: int) -> ScoreFit:
    """Least squares ``x = m_y + offset_v``; offsets are relative to the pooled view mix (weighted mean 0)."""
    offsets: dict[str, float] = {}
    if strata is not None:
        names, counts = np.unique(strata, return_counts=True)
        own = [str(n) for n, c in zip(names, counts, strict=True) if c >= min_cases]
        if len(own) >= 2:
            rows = np.isin(strata, own)
            xs, ys, ss = x[rows], y[rows], strata[rows]
            design = np.column_stack([ys] + [(ss == n).astype(np.float64) for n in own])
            coef, *_ = np.linalg.lstsq(design, xs, rcond=None)
            delta = coef[1:]
            share = np.array([(ss == n).mean() for n in own])
            centre = float((share * delta).sum())
            offsets = {n: float(d - centre) for n, d in zip(own, delta, strict=True)}
            x = xs - np.array([offsets[str(v)] for v in ss])
            y = ys
    a, b = x[y == 0], x[y == 1]
    resid = np.concatenate([a - a.mean(), b - b.mean()])
    sd = float(np.sqrt((resid ** 2).sum() / max(len(resid) - 2 - len(offsets), 1)))
    return ScoreFit(float(a.mean()), float(b.mean()), max(sd, 1e-3), int(len(a)), int(len(b)), offsets)


def fit_reading(logits: pd.DataFrame, labels: pd.DataFrame, views: Sequence[object] | pd.Series,
                mode: ReadingMode = "backdoor", *, min_per_class: int = 20, min_per_view: int = 50) -> ScoreReading:
    """The front end's score model from labelled scores (a calibration set).

    ``logits`` and ``labels`` are cases x findings (labels 1 / 0; -1 and blanks are not counted);
    ``views`` one per case. A finding needs ``min_per_class`` labelled present and absent scores;
    under ``backdoor`` a view gets its own offset with ``min_per_view`` labelled scores of the finding.
    """
    if mode not in ("backdoor", "plain"):
        raise PosteriorError(f"fit_reading fits 'backdoor' or 'plain' readings, not {mode!r}")
    if len(logits) != len(labels) or len(logits) != len(views):
        raise PosteriorError("graph posterior: scores, labels and views must have one row per case")
    strata = np.array([view_stratum(v) for v in views], dtype=object)
    fits: dict[str, ScoreFit] = {}
    for f in logits.columns:
        if f not in labels.columns:
            continue
        x = logits[f].to_numpy(dtype=np.float64)
        y = pd.to_numeric(labels[f], errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(x) & np.isin(y, (0.0, 1.0))
        if (y[ok] == 1).sum() < min_per_class or (y[ok] == 0).sum() < min_per_class:
            continue
        fits[str(f)] = _fit(x[ok], y[ok], strata[ok] if mode == "backdoor" else None, min_per_view)
    return ScoreReading(mode, fits, {})


def calibrated_reading(prevalence: Mapping[str, float]) -> ScoreReading:
    """A reading for a front end whose probabilities are calibrated to ``prevalence`` (no view model)."""
    return ScoreReading("calibrated", {}, dict(prevalence))
