"""What every source importer shares: the matrix layout, the typed result, checked reading and atomic writing.

A source matrix has one row per study and these columns, in this order:

* ``study_id``, ``patient_id``, ``source``;
* confounders of the reading: ``view`` (``PA``, ``AP``, ``AP supine``, ``lateral``, ``other``: the frontal
  projection of the study when it has one, the sickest first), ``age`` (years), ``sex`` (``F`` / ``M``),
  ``device_maker``, ``label_method`` (``human`` or ``model``), ``n_images``;
* one column per concept of the chest concept table that the source can express, as a nullable
  ``Int8``: 1 present, 0 absent, -1 uncertain, <NA> not reported.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

PRESENT, ABSENT, UNCERTAIN = 1, 0, -1
META_COLUMNS: tuple[str, ...] = ("study_id", "patient_id", "source", "view", "age", "sex", "device_maker",
                                 "label_method", "n_images")
CONFOUNDER_COLUMNS: tuple[str, ...] = ("view", "age", "sex", "device_maker", "label_method")
VIEWS: tuple[str, ...] = ("AP supine", "AP", "PA", "lateral", "other")
"""Study view, most telling first: a study with an AP supine image is an AP supine study."""
LABEL_METHODS = ("human", "model")


class SourceError(ValueError):
    """A source file that cannot be imported as it is; the message names the file and the column or label."""


@dataclass(frozen=True)
class SourceMatrix:
    """One source read into the common layout (nothing written yet)."""

    source: str
    frame: pd.DataFrame
    concept_columns: tuple[str, ...]
    files: tuple[str, ...]
    unmapped_seen: Mapping[str, int] = field(default_factory=dict)
    """Source labels met in the data that map to no concept on purpose, with how many rows carry them."""
    notes: tuple[str, ...] = ()
    """How the source's encoding was read (e.g. VinDr's three readers), for the import report."""

    @property
    def studies(self) -> int:
        return int(len(self.frame))

    def counts(self) -> dict[str, dict[str, int]]:
        """Per concept column: rows present, uncertain, absent and not reported."""
        out = {}
        for c in self.concept_columns:
            col = self.frame[c]
            out[c] = {"present": int((col == PRESENT).sum()), "uncertain": int((col == UNCERTAIN).sum()),
                      "absent": int((col == ABSENT).sum()), "not_reported": int(col.isna().sum())}
        return out


@dataclass(frozen=True)
class ImportedSource:
    """A source written to Parquet: where, how big, and its label counts."""

    source: str
    path: str
    studies: int
    patients: int
    concept_columns: tuple[str, ...]
    counts: Mapping[str, Mapping[str, int]]
    unmapped_seen: Mapping[str, int]
    files: tuple[str, ...]
    notes: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class ImportReport:
    """Every source of one :func:`~reasoning.sources.import_sources` call."""

    out_dir: str
    sources: tuple[ImportedSource, ...]
    seconds: float

    def paths(self) -> dict[str, str]:
        return {s.source: s.path for s in self.sources}


# ------------------------------------------------------------------------------------------ reading
def require_file(folder: Path, name: str, source: str) -> Path:
    path = Path(folder) / name
    if not path.is_file():
        raise SourceError(f"{source}: file {path} not found (is {folder} the cxr_labels folder?)")
    return path


def read_table(path: Path, source: str, *, required: Sequence[str], optional: Sequence[str] = (),
               dtype: Mapping[str, object] | None = None, all_columns: bool = False) -> pd.DataFrame:
    """Read a (gzipped) CSV with the columns a source needs; a clear :class:`SourceError` otherwise.

    Only ``required`` and present ``optional`` columns are parsed unless ``all_columns``; a missing
    required column, a file that is not UTF-8 text or not gzip where it says so names the file.
    """
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8").columns
    except UnicodeDecodeError as err:
        raise SourceError(f"{source}: {path.name} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    except (gzip.BadGzipFile, zlib.error, EOFError) as err:
        raise SourceError(f"{source}: {path.name} is not a valid gzip file ({err})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise SourceError(f"{source}: {path.name} is not a readable CSV table ({err})") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise SourceError(f"{source}: {path.name} has no column {', '.join(repr(c) for c in missing)} "
                          f"(columns: {', '.join(map(str, header[:12]))}{' ...' if len(header) > 12 else ''})")
    usecols = None if all_columns else [c for c in (*required, *optional) if c in header]
    try:
        return pd.read_csv(path, usecols=usecols, dtype=dtype, encoding="utf-8", low_memory=False)
    except UnicodeDecodeError as err:
        raise SourceError(f"{source}: {path.name} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    except (gzip.BadGzipFile, zlib.error, EOFError) as err:
        raise SourceError(f"{source}: {path.name} is not a valid gzip file ({err})") from None
    except (pd.errors.ParserError, ValueError) as err:
        raise SourceError(f"{source}: {path.name} cannot be parsed ({err})") from None


def unknown_labels_error(source: str, file: str, column: str, unknown: Iterable[str], map_file: str) -> SourceError:
    names = sorted(set(unknown))
    shown = ", ".join(repr(x) for x in names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return SourceError(f"{source}: {file} column {column!r} holds label(s) {shown} that {map_file} neither maps "
                       "nor lists as unmapped; add them to the mapping file")


# --------------------------------------------------------------------------------------- the layout
def view_rank(views: pd.Series) -> pd.Series:
    """Rank of each view in :data:`VIEWS`; a blank view ranks last, so any recorded view of the study wins."""
    ranks = {v: i for i, v in enumerate(VIEWS)}
    return views.map(ranks).fillna(len(VIEWS)).astype(np.int8)


def study_view(ranks: pd.Series) -> pd.Series:
    """Turn (grouped) view ranks back to view names (<NA> when no image of the study recorded one)."""
    return ranks.map(dict(enumerate(VIEWS))).astype("string")


def labels_from_long(studies: pd.Index, study: pd.Series, concept: pd.Series, columns: Sequence[str],
                     value: pd.Series | None = None) -> pd.DataFrame:
    """Study x concept table from long (study, concept[, value]) pairs; missing pairs read absent (0).

    With ``value`` the largest value per cell wins on the order present > uncertain > absent.
    """
    if value is None:
        value = pd.Series(np.full(len(study), PRESENT, dtype=np.int8), index=study.index)
    rank = value.map({ABSENT: 0, UNCERTAIN: 1, PRESENT: 2}).astype(np.int8)
    long = pd.DataFrame({"study": study.to_numpy(), "concept": concept.to_numpy(), "rank": rank.to_numpy()})
    cell = long.groupby(["study", "concept"], sort=False)["rank"].max()
    wide = cell.unstack("concept")
    wide = wide.reindex(index=studies, columns=list(columns))
    codes = wide.to_numpy(dtype=float)
    out = np.where(np.isnan(codes), ABSENT, np.choose(np.nan_to_num(codes).astype(int), [ABSENT, UNCERTAIN, PRESENT]))
    return pd.DataFrame(out.astype(np.int8), index=studies, columns=list(columns)).astype("Int8")


def assemble(source: str, meta: pd.DataFrame, labels: pd.DataFrame, *, not_reported: pd.Series | None = None) -> pd.DataFrame:
    """The source matrix in the common layout; ``not_reported`` marks rows whose labels are all <NA>."""
    out = pd.DataFrame(index=meta.index)
    out["study_id"] = meta["study_id"].astype("string")
    out["patient_id"] = meta["patient_id"].astype("string") if "patient_id" in meta else pd.Series(
        pd.NA, index=meta.index, dtype="string")
    out["source"] = source
    out["view"] = meta["view"].astype("string") if "view" in meta else pd.Series(pd.NA, index=meta.index, dtype="string")
    out["age"] = pd.to_numeric(meta["age"], errors="coerce").astype("float32") if "age" in meta else np.float32("nan")
    out.loc[(out["age"] < 0) | (out["age"] > 110), "age"] = np.nan
    out["sex"] = meta["sex"].astype("string") if "sex" in meta else pd.Series(pd.NA, index=meta.index, dtype="string")
    for col in ("device_maker", "label_method"):
        out[col] = meta[col].astype("string") if col in meta else pd.Series(pd.NA, index=meta.index, dtype="string")
    out["n_images"] = meta["n_images"].astype("Int16") if "n_images" in meta else pd.Series(1, index=meta.index, dtype="Int16")
    labels = labels.reindex(meta.index)
    if not_reported is not None and bool(not_reported.any()):
        rows = not_reported.reindex(meta.index, fill_value=False).to_numpy(dtype=bool)
        labels = labels.copy()
        labels.loc[rows, :] = pd.NA
    out = pd.concat([out, labels.astype("Int8")], axis=1)
    out["source"] = out["source"].astype("category")
    for col in ("view", "sex", "device_maker", "label_method"):
        out[col] = out[col].astype("category")
    return out.reset_index(drop=True)


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write to ``<name>.part`` beside the target, then rename: a reader never sees half a file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


Reader = Callable[..., SourceMatrix]
