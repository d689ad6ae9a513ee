"""Multi-source label tables as a graph posterior fits them: what each source reports, and how.

Rows are studies from several sources (the matrices of :mod:`reasoning.sources`); a concept cell is
1 (present), 0 (absent), -1 (uncertain) or missing. Missing means two different things and both are
kept apart: a source that has no column for a concept does not report it at all, and a study whose
cell is blank was not reported on. Either way the cell says nothing and is never read as absent.

Uncertain cells are resolved per :class:`LabelSettings`: shared between present and absent with a
weight (``soft``, the default), read as absent (``zeros``) or present (``ones``), or left out of
every count they would enter (``drop``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from reasoning.posterior.graph import PosteriorError

UncertainPolicy = Literal["soft", "zeros", "ones", "drop"]
UNCERTAIN_POLICIES: tuple[str, ...] = ("soft", "zeros", "ones", "drop")
WEIGHT = "_weight"
"""The weight column of aggregated counts (the name pgmpy's weighted estimators read)."""


@dataclass(frozen=True)
class LabelSettings:
    """How uncertain labels enter the counts."""

    uncertain: UncertainPolicy = "soft"
    uncertain_present: float = 0.5
    """Under ``soft``: the share of an uncertain cell counted as present."""

    def __post_init__(self) -> None:
        if self.uncertain not in UNCERTAIN_POLICIES:
            raise PosteriorError(f"unknown uncertain-label policy {self.uncertain!r}; use one of "
                                 f"{', '.join(UNCERTAIN_POLICIES)}")
        if not 0.0 <= self.uncertain_present <= 1.0:
            raise PosteriorError(f"uncertain_present must lie in [0, 1], got {self.uncertain_present}")


@dataclass(frozen=True, eq=False)
class LabelData:
    """Study x concept labels of several sources in one frame (``source`` column + float concept columns)."""

    frame: pd.DataFrame
    concepts: tuple[str, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(sorted(self.frame["source"].unique()))

    def reported(self, concept: str) -> dict[str, int]:
        """Per source: studies with a definite or uncertain value for ``concept`` (0 sources: not reported)."""
        col = self.frame[concept]
        counts = col.notna().groupby(self.frame["source"], observed=True).sum()
        return {str(s): int(n) for s, n in counts.items() if n > 0}

    def positives(self, concept: str) -> int:
        return int((self.frame[concept] == 1).sum())

    def family_counts(self, columns: Sequence[str], settings: LabelSettings,
                      sources: Sequence[str] | None = None) -> pd.DataFrame:
        """Weighted counts of every 0/1 combination of ``columns`` per source, over the studies that
        report all of them; uncertain cells resolved by ``settings``. Columns: ``source``, the
        concepts, :data:`WEIGHT`."""
        cols = list(columns)
        unknown = [c for c in cols if c not in self.frame.columns]
        if unknown:
            raise PosteriorError(f"graph posterior: no label column {', '.join(map(repr, unknown))}")
        sub = self.frame[["source", *cols]]
        if sources is not None:
            sub = sub[sub["source"].isin(list(sources))]
        sub = sub[sub[cols].notna().all(axis=1)]
        if sub.empty:
            return pd.DataFrame(columns=["source", *cols, WEIGHT])
        agg = sub.groupby(["source", *cols], observed=True).size().rename(WEIGHT).reset_index()
        agg[WEIGHT] = agg[WEIGHT].astype(np.float64)
        for c in cols:
            agg = _resolve_uncertain(agg, c, settings)
        if agg.empty:
            return pd.DataFrame(columns=["source", *cols, WEIGHT])
        agg[cols] = agg[cols].astype(np.int64)
        out = agg.groupby(["source", *cols], observed=True)[WEIGHT].sum().reset_index()
        out["source"] = out["source"].astype(str)
        return out


def _resolve_uncertain(agg: pd.DataFrame, col: str, settings: LabelSettings) -> pd.DataFrame:
    unc = agg[col] == -1
    if not unc.any():
        return agg
    rest = agg[~unc]
    u = agg[unc]
    if settings.uncertain == "drop":
        return rest.reset_index(drop=True)
    if settings.uncertain == "zeros":
        return pd.concat([rest, u.assign(**{col: 0})], ignore_index=True)
    if settings.uncertain == "ones":
        return pd.concat([rest, u.assign(**{col: 1})], ignore_index=True)
    q = settings.uncertain_present
    parts = [rest]
    if q > 0:
        parts.append(u.assign(**{col: 1, WEIGHT: u[WEIGHT] * q}))
    if q < 1:
        parts.append(u.assign(**{col: 0, WEIGHT: u[WEIGHT] * (1 - q)}))
    return pd.concat(parts, ignore_index=True)


def label_data(frames: Sequence[pd.DataFrame] | Mapping[str, pd.DataFrame], concepts: Sequence[str]) -> LabelData:
    """One :class:`LabelData` over ``concepts`` from source matrices (each with a ``source`` column,
    or given as ``{source: frame}``). A concept a source has no column for stays missing there."""
    items = list(frames.items()) if isinstance(frames, Mapping) else [(None, f) for f in frames]
    if not items:
        raise PosteriorError("graph posterior: no label table given")
    parts = []
    for name, f in items:
        if name is None and "source" not in f.columns:
            raise PosteriorError("graph posterior: a label table has no 'source' column")
        part = pd.DataFrame(index=f.index)
        part["source"] = (pd.Series(str(name), index=f.index) if name is not None
                          else f["source"].astype(str))
        for c in concepts:
            if c in f.columns:
                vals = pd.to_numeric(f[c], errors="coerce").astype("float32")
                bad = vals.notna() & ~vals.isin([1.0, 0.0, -1.0])
                if bad.any():
                    raise PosteriorError(f"graph posterior: column {c!r} holds {vals[bad].iloc[0]!r}; "
                                         "expected 1, 0, -1 or blank")
                part[c] = vals.to_numpy()
            else:
                part[c] = np.float32(np.nan)
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    return LabelData(frame, tuple(concepts))
