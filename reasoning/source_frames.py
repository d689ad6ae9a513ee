"""Source matrices as numeric analysis frames: labels decoded by a stated policy, confounders encoded.

A matrix (see :mod:`reasoning.sources.base`) keeps 1 / 0 / -1 / <NA>. Analyses need numbers, so:

* as the treatment or outcome of an estimate, uncertain (-1) rows are left out by default (or read
  present / absent) and not reported (<NA>) reads absent, the usual reading of a report that does
  not mention a finding; a row whose every concept is not reported (an excluded or unindexed study)
  is always left out;
* as an adjustment covariate or a discovery variable, uncertain reads 0.5;
* confounders become columns: age (decades from 50, and its square), and one indicator per level of
  sex, view, device maker and labelling method other than the source's commonest. A missing age gets
  the mean and an indicator column, a missing category its own indicator, so no row is lost to a gap.

A column that does not vary within a source is dropped for that source: it can neither confound
nor be estimated there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from kg.concepts import ConceptTable

UncertainPolicy = Literal["exclude", "present", "absent"]
CONFOUNDER_GROUPS: tuple[str, ...] = ("age", "sex", "view", "device_maker", "label_method")
META = ("study_id", "patient_id", "source", "view", "age", "sex", "device_maker", "label_method", "n_images")


@dataclass(frozen=True, eq=False)
class SourceFrame:
    """One source ready for estimation and discovery."""

    source: str
    codes: pd.DataFrame
    """Concept columns as float: 1, 0, -1 (uncertain), NaN (not reported); rows that report something."""
    confounders: pd.DataFrame
    """Encoded confounder columns (float, no gaps)."""
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Confounder group (``age``, ``view`` ...) -> its encoded columns."""
    dropped_rows: int = 0
    """Rows left out because every concept was not reported."""
    meta: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The raw confounder columns (view, age, sex, device maker, labelling method) of the same rows."""

    @property
    def rows(self) -> int:
        return int(len(self.codes))

    @property
    def concepts(self) -> tuple[str, ...]:
        return tuple(self.codes.columns)

    def has(self, concept: str) -> bool:
        return concept in self.codes.columns

    def variable(self, concept: str, uncertain: UncertainPolicy = "exclude") -> pd.Series:
        """A concept as a treatment or outcome: 1 / 0, NaN where the row must be left out."""
        v = self.codes[concept].fillna(0.0)
        if uncertain == "exclude":
            return v.where(v != -1)
        return v.replace(-1.0, 1.0 if uncertain == "present" else 0.0)

    def covariate(self, concept: str) -> pd.Series:
        """A concept as an adjustment covariate or discovery variable: uncertain 0.5, not reported 0."""
        return self.codes[concept].fillna(0.0).replace(-1.0, 0.5)


def _encode_confounders(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[str, ...]]]:
    out: dict[str, np.ndarray] = {}
    groups: dict[str, tuple[str, ...]] = {}
    n = len(frame)
    if "age" in frame and frame["age"].notna().sum() > 1 and frame["age"].nunique() > 1:
        age = pd.to_numeric(frame["age"], errors="coerce").astype(float)
        decades = ((age - 50.0) / 10.0)
        filled = decades.fillna(decades.mean()).to_numpy()
        cols = {"age": filled, "age_sq": filled ** 2}
        if age.isna().any():
            cols["age_missing"] = age.isna().to_numpy(dtype=float)
        out.update(cols)
        groups["age"] = tuple(cols)
    for group in ("sex", "view", "device_maker", "label_method"):
        if group not in frame:
            continue
        values = frame[group].astype("string")
        present = values.dropna()
        if present.nunique() + int(values.isna().any() and len(present) > 0) < 2:
            continue
        levels = present.value_counts()
        cols = {}
        for level in levels.index[1:]:  # the commonest level is the reference
            cols[f"{group}={level}"] = (values == level).fillna(False).to_numpy(dtype=float)
        if values.isna().any():
            cols[f"{group}=missing"] = values.isna().to_numpy(dtype=float)
        cols = {k: v for k, v in cols.items() if 0 < v.sum() < n}
        if cols:
            out.update(cols)
            groups[group] = tuple(cols)
    return pd.DataFrame(out, index=frame.index), groups


def source_frame(matrix: pd.DataFrame, table: ConceptTable, source: str | None = None) -> SourceFrame:
    """Turn one source matrix into a :class:`SourceFrame` (concept columns known to the table only)."""
    name = source or (str(matrix["source"].iloc[0]) if "source" in matrix and len(matrix) else "source")
    concepts = [c for c in matrix.columns if c not in META and c in table]
    codes = matrix[concepts].astype("float64")
    reported = codes.notna().any(axis=1)
    codes = codes[reported]
    varying = [c for c in concepts if codes[c].fillna(0.0).nunique() > 1]
    confounders, groups = _encode_confounders(matrix.loc[reported])
    meta = matrix.loc[reported, [c for c in CONFOUNDER_GROUPS if c in matrix]].reset_index(drop=True)
    return SourceFrame(name, codes[varying].reset_index(drop=True), confounders.reset_index(drop=True), groups,
                       int((~reported).sum()), meta)


def load_source_frames(matrices: Mapping[str, pd.DataFrame | str | Path], table: ConceptTable) -> dict[str, SourceFrame]:
    """Source name -> frame, from frames or Parquet paths (as :func:`~reasoning.sources.import_sources` writes)."""
    out = {}
    for name, m in matrices.items():
        frame = m if isinstance(m, pd.DataFrame) else pd.read_parquet(m)
        out[name] = source_frame(frame, table, name)
    return out
