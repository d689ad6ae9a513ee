"""Recorded confounders of the training images, and the rule that keeps the front end off them.

In ``nih_1000`` the abnormal films are more often PA, darker and later in their patients' follow-up
than the normal ones, and in the COVID collection COVID-19 goes with AP (bedside) films. A model that
learns those shortcuts looks good on its own validation split and fails elsewhere. Two things are done
about it, both fixed before any test run:

* training films are reweighted by ``P(class) / P(class | confounder cell)``, the cell being the
  film's view, brightness bin and follow-up bin (:data:`CONFOUNDERS` says which apply to a source),
  so in the reweighted data the confounders no longer predict the class;
* settings and checkpoints are chosen by the worst view stratum of a confounder-matched AUC on
  validation (:func:`matched_auc`: abnormal films are compared only with normal films of the same
  view, brightness bin and follow-up bin), not by the in-distribution validation loss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vlm.data import Record
from vlm.labels import LABEL_INDEX

CONFOUNDERS: dict[str, tuple[str, ...]] = {
    "nih_1000": ("view", "brightness", "follow_up"),
    "cxr_covid": ("view",),
}
"""Per source, the recorded confounders of its class (:func:`target_class`); other sources get weight 1."""
PROPENSITY_CLIP = (0.1, 0.9)
"""Cell propensities are clipped here so that no film weighs more than nine times its class share."""
SMOOTHING = 2.0
"""Pseudo-films of the source's class mix added to every cell (small cells lean on the prior)."""
TEXTURE_BINS = 3
"""The texture statistic (:func:`texture_statistic`) is cut at its terciles when it is a confounder."""
TEXTURE_CONFOUNDERS: dict[str, tuple[str, ...]] = {**CONFOUNDERS, "nih_1000": (*CONFOUNDERS["nih_1000"], "texture")}
""":data:`CONFOUNDERS` with ``nih_1000``'s texture statistic added: its two folders were made differently,
and fine texture separates them beyond what brightness, view and follow-up explain."""


def _quantile_edges(values: np.ndarray | None, bins: int) -> tuple[float, ...]:
    v = np.asarray(values if values is not None else [], dtype=np.float64)
    if not len(v) or bins < 2:
        return ()
    return tuple(float(e) for e in np.unique(np.quantile(v, np.linspace(0, 1, bins + 1)[1:-1])))


def texture_statistic(pixels: np.ndarray) -> np.ndarray:
    """Per film, the mean absolute difference of horizontally adjacent pixels over the film's own standard
    deviation: how much fine texture and noise the film carries, whatever its exposure. ``pixels`` is a
    stack (N, H, W) or one film (H, W)."""
    a = np.asarray(pixels, dtype=np.float64)
    one = a.ndim == 2
    a = a[None] if one else a
    if a.shape[0] == 0:
        return np.zeros(0)
    d = np.abs(np.diff(a, axis=2)).mean(axis=(1, 2))
    out = d / np.maximum(a.std(axis=(1, 2)), 1e-6)
    return out[:1] if one else out


@dataclass(frozen=True)
class Binning:
    """How confounders are cut into cells: brightness at quantiles of a reference set, follow-up at fixed cuts."""

    names: tuple[str, ...]
    brightness_edges: tuple[float, ...] = ()
    follow_up_cuts: tuple[int, ...] = (1, 3, 10)
    texture_edges: tuple[float, ...] = ()

    @classmethod
    def fit(cls, brightness: np.ndarray, names: Sequence[str], brightness_bins: int = 5,
            follow_up_cuts: Sequence[int] = (1, 3, 10), texture: np.ndarray | None = None,
            texture_bins: int = TEXTURE_BINS) -> Binning:
        if "texture" in names and texture is None:
            raise ValueError("the texture confounder needs each film's texture statistic")
        edges = _quantile_edges(brightness, brightness_bins)
        tex = _quantile_edges(texture, texture_bins) if texture is not None and "texture" in names else ()
        return cls(tuple(names), edges, tuple(follow_up_cuts), tex)

    def cells(self, records: Sequence[Record], brightness: np.ndarray,
              texture: np.ndarray | None = None) -> list[tuple[int, ...]]:
        """The confounder cell of each record: (view, brightness bin, follow-up bin, texture bin) as named."""
        cols: list[np.ndarray] = []
        for name in self.names:
            if name == "view":
                cols.append(np.array([view_code(r.view) for r in records]))
            elif name == "brightness":
                cols.append(np.searchsorted(np.array(self.brightness_edges), np.asarray(brightness), side="right"))
            elif name == "follow_up":
                cols.append(np.searchsorted(np.array(self.follow_up_cuts), [r.follow_up or 0 for r in records],
                                            side="right"))
            elif name == "texture":
                if texture is None:
                    raise ValueError("the texture confounder needs each film's texture statistic")
                cols.append(np.searchsorted(np.array(self.texture_edges), np.asarray(texture), side="right"))
            else:
                raise ValueError(f"unknown confounder {name!r}; use view, brightness, follow_up or texture")
        if not cols:
            return [()] * len(records)
        return [tuple(int(c) for c in row) for row in np.stack(cols, axis=1)]


def view_code(view: str) -> int:
    v = view.strip().upper()
    return 0 if v.startswith("AP") else 1 if v == "PA" else 2


def target_class(record: Record) -> int:
    """The class whose association with the confounders is broken: COVID-19 in the COVID collection,
    abnormal (not ``normal``) elsewhere; -1 when the label is unknown."""
    if record.source == "cxr_covid":
        return int(record.labels[LABEL_INDEX["COVID-19"]])
    normal = record.labels[LABEL_INDEX["normal"]]
    return -1 if normal < 0 else 1 - int(normal)


@dataclass
class PropensityModel:
    """``P(class | confounder cell)`` of one source: smoothed cell frequencies on its training films."""

    binning: Binning
    prior: float
    cells: dict[tuple[int, ...], float]

    @classmethod
    def fit(cls, records: Sequence[Record], brightness: np.ndarray, names: Sequence[str],
            texture: np.ndarray | None = None) -> PropensityModel:
        y = np.array([target_class(r) for r in records])
        known = y >= 0
        binning = Binning.fit(np.asarray(brightness)[known], names,
                              texture=None if texture is None else np.asarray(texture)[known])
        prior = float(y[known].mean()) if known.any() else 0.5
        counts: dict[tuple[int, ...], list[float]] = {}
        for cell, label, ok in zip(binning.cells(records, brightness, texture), y, known, strict=True):
            if ok:
                c = counts.setdefault(cell, [0.0, 0.0])
                c[0] += label
                c[1] += 1
        cells = {k: (pos + SMOOTHING * prior) / (n + SMOOTHING) for k, (pos, n) in counts.items()}
        return cls(binning, prior, cells)

    def propensity(self, records: Sequence[Record], brightness: np.ndarray,
                   texture: np.ndarray | None = None) -> np.ndarray:
        """Clipped ``P(class = 1 | cell)`` per record (the prior for a cell not seen in fitting)."""
        p = np.array([self.cells.get(c, self.prior) for c in self.binning.cells(records, brightness, texture)],
                     dtype=np.float64)
        return np.clip(p, *PROPENSITY_CLIP)

    def weights(self, records: Sequence[Record], brightness: np.ndarray, texture: np.ndarray | None = None
                ) -> np.ndarray:
        """``P(class) / P(class | cell)`` per record (1 where the class is unknown)."""
        y = np.array([target_class(r) for r in records])
        p = self.propensity(records, brightness, texture)
        w = np.ones(len(records))
        pos, neg = y == 1, y == 0
        w[pos] = self.prior / p[pos]
        w[neg] = (1 - self.prior) / (1 - p[neg])
        return w


def fit_propensities(records: Sequence[Record], brightness: np.ndarray,
                     confounders: Mapping[str, Sequence[str]] = CONFOUNDERS,
                     texture: np.ndarray | None = None) -> dict[str, PropensityModel]:
    """One propensity model per source that has recorded confounders (fitted on the given films);
    ``texture`` (:func:`texture_statistic` per film) is needed where a source names ``texture``."""
    out: dict[str, PropensityModel] = {}
    src = np.array([r.source for r in records])
    for source, names in confounders.items():
        rows = np.flatnonzero(src == source)
        if len(rows):
            out[source] = PropensityModel.fit([records[i] for i in rows], np.asarray(brightness)[rows], names,
                                              None if texture is None else np.asarray(texture)[rows])
    return out


def balancing_weights(records: Sequence[Record], brightness: np.ndarray, models: Mapping[str, PropensityModel],
                      texture: np.ndarray | None = None) -> np.ndarray:
    """Inverse-propensity weight per record from its source's model (1 for sources without one)."""
    w = np.ones(len(records))
    src = np.array([r.source for r in records])
    for source, model in models.items():
        rows = np.flatnonzero(src == source)
        if len(rows):
            w[rows] = model.weights([records[i] for i in rows], np.asarray(brightness)[rows],
                                    None if texture is None else np.asarray(texture)[rows])
    return w


def weighted_auc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> float:
    """ROC AUC over the entries labelled 0 / 1 (others ignored), with optional sample weights; ties
    count half; NaN when a class is missing."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=np.float64)
    keep = (y == 0) | (y == 1)
    s, y, w = s[keep], y[keep], w[keep]
    if not (y == 1).any() or not (y == 0).any():
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    s, y, w = s[order], y[order], w[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    wn = np.add.reduceat(np.where(y == 0, w, 0.0), starts)
    wp = np.add.reduceat(np.where(y == 1, w, 0.0), starts)
    below = np.cumsum(wn) - wn
    return float((wp * (below + 0.5 * wn)).sum() / (wp.sum() * wn.sum()))


def matched_auc(scores: np.ndarray, labels: np.ndarray, cells: Sequence[tuple[int, ...]]) -> float:
    """AUC over (positive, negative) pairs in the same confounder cell only: what the score separates
    that the confounders cannot. NaN when no cell holds both classes."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, c in enumerate(cells):
        if y[i] in (0, 1):
            groups.setdefault(c, []).append(i)
    num = den = 0.0
    for rows in groups.values():
        ys = y[rows]
        npos, nneg = int((ys == 1).sum()), int((ys == 0).sum())
        if npos and nneg:
            a = weighted_auc(s[rows], ys)
            num += a * npos * nneg
            den += npos * nneg
    return num / den if den else float("nan")


VALIDATION_BRIGHTNESS_BINS = 3
VALIDATION_FOLLOW_UP_CUTS = (1,)
"""Validation cells are coarser than training cells (fewer films): brightness terciles, first film or later."""


def worst_view_matched_auc(scores: np.ndarray, records: Sequence[Record], brightness: np.ndarray
                           ) -> tuple[float, dict[str, float]]:
    """The selection rule's figure: per view (AP, PA), the :func:`matched_auc` of abnormal against normal
    within cells of brightness tercile and follow-up (first film or later); the lowest of them and all."""
    y = np.array([target_class(r) for r in records])
    binning = Binning.fit(np.asarray(brightness)[y >= 0], ("brightness", "follow_up"),
                          VALIDATION_BRIGHTNESS_BINS, VALIDATION_FOLLOW_UP_CUTS)
    cells = binning.cells(records, brightness)
    views = np.array([r.view.strip().upper() for r in records])
    per: dict[str, float] = {}
    for v in sorted(set(views.tolist())):
        rows = np.flatnonzero(views == v)
        a = matched_auc(np.asarray(scores)[rows], y[rows], [cells[i] for i in rows])
        if not math.isnan(a):
            per[v] = a
    return (min(per.values()) if per else float("nan")), per
