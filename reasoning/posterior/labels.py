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

from collections.abc import Collection, Mapping, Sequence
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
    """Study x concept labels of several sources: a float matrix (1, 0, -1, NaN) and a source per row."""

    values: np.ndarray
    """(studies, concepts) float32: 1 present, 0 absent, -1 uncertain, NaN not reported."""
    source_codes: np.ndarray
    """(studies,) index into :attr:`sources`."""
    sources: tuple[str, ...]
    concepts: tuple[str, ...]

    def _columns(self, columns: Sequence[str]) -> list[int]:
        index = {c: i for i, c in enumerate(self.concepts)}
        unknown = [c for c in columns if c not in index]
        if unknown:
            raise PosteriorError(f"graph posterior: no label column {', '.join(map(repr, unknown))}")
        return [index[c] for c in columns]

    def reporting(self, columns: Sequence[str]) -> dict[str, int]:
        """Per source: studies that report every one of ``columns`` (sources with none left out)."""
        rows = ~np.isnan(self.values[:, self._columns(columns)]).any(axis=1)
        n = np.bincount(self.source_codes[rows], minlength=len(self.sources))
        return {s: int(k) for s, k in zip(self.sources, n, strict=True) if k > 0}

    def reported(self, concept: str) -> dict[str, int]:
        """Per source: studies with a definite or uncertain value for ``concept`` (0 sources: not reported)."""
        return self.reporting([concept])

    def positives(self, concept: str) -> int:
        return int((self.values[:, self._columns([concept])[0]] == 1).sum())

    def family_counts(self, columns: Sequence[str], settings: LabelSettings,
                      sources: Sequence[str] | None = None) -> pd.DataFrame:
        """Weighted counts of every 0/1 combination of ``columns`` per source, over the studies that
        report all of them; uncertain cells resolved by ``settings``. Columns: ``source``, the
        concepts, :data:`WEIGHT`."""
        cols = list(columns)
        v = self.values[:, self._columns(cols)]
        rows = ~np.isnan(v).any(axis=1)
        if sources is not None:
            wanted = [i for i, s in enumerate(self.sources) if s in set(sources)]
            rows &= np.isin(self.source_codes, wanted)
        k = len(cols)
        digits = (v[rows] + 1).astype(np.int64)  # -1, 0, 1 -> 0, 1, 2
        code = digits @ (3 ** np.arange(k, dtype=np.int64)) + self.source_codes[rows] * 3 ** k
        n = np.bincount(code, minlength=len(self.sources) * 3 ** k)
        seen = np.flatnonzero(n)
        if len(seen) == 0:
            return pd.DataFrame(columns=["source", *cols, WEIGHT])
        agg = pd.DataFrame({"source": np.asarray(self.sources, dtype=object)[seen // 3 ** k]})
        for i, c in enumerate(cols):
            agg[c] = (seen // 3 ** i) % 3 - 1
        agg[WEIGHT] = n[seen].astype(np.float64)
        for c in cols:
            agg = _resolve_uncertain(agg, c, settings)
        if agg.empty:
            return pd.DataFrame(columns=["source", *cols, WEIGHT])
        agg[cols] = agg[cols].astype(np.int64)
        return agg.groupby(["source", *cols], sort=True)[WEIGHT].sum().reset_index()


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


def label_data(frames: Sequence[pd.DataFrame] | Mapping[str, pd.DataFrame], concepts: Sequence[str], *,
               blank_absent: Collection[str] = ()) -> LabelData:
    """One :class:`LabelData` over ``concepts`` from source matrices (each with a ``source`` column,
    or given as ``{source: frame}``). A concept a source has no column for stays missing there.

    ``blank_absent`` names sources whose labeler marks mentions only, so that a blank cell in one of
    their columns means "not mentioned" and reads absent (CheXpert's convention: a "No Finding" study
    is blank in every finding column). A column such a source does not have stays missing."""
    items = list(frames.items()) if isinstance(frames, Mapping) else [(None, f) for f in frames]
    if not items:
        raise PosteriorError("graph posterior: no label table given")
    blocks, names = [], []
    for name, f in items:
        if name is None and "source" not in f.columns:
            raise PosteriorError("graph posterior: a label table has no 'source' column")
        names.append(np.full(len(f), str(name), dtype=object) if name is not None
                     else f["source"].astype(str).to_numpy(dtype=object))
        block = np.full((len(f), len(concepts)), np.nan, dtype=np.float32)
        for j, c in enumerate(concepts):
            if c in f.columns:
                vals = pd.to_numeric(f[c], errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)
                bad = ~np.isnan(vals) & ~np.isin(vals, (1.0, 0.0, -1.0))
                if bad.any():
                    raise PosteriorError(f"graph posterior: column {c!r} holds {vals[bad][0]:g}; "
                                         "expected 1, 0, -1 or blank")
                block[:, j] = vals
        mentions_only = np.isin(names[-1], list(blank_absent))
        if mentions_only.any():
            own = np.array([c in f.columns for c in concepts])
            rows = np.flatnonzero(mentions_only)
            sub = block[rows][:, own]
            sub[np.isnan(sub)] = 0.0
            block[np.ix_(rows, np.flatnonzero(own))] = sub
        blocks.append(block)
    source = np.concatenate(names)
    sources, codes = np.unique(source, return_inverse=True)
    return LabelData(np.concatenate(blocks), codes.astype(np.int64), tuple(map(str, sources)), tuple(concepts))
