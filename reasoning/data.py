"""Tables of observations: reading them, mapping their columns to graph concepts, telling variable types.

A user brings any table (CSV or Parquet, one column per variable). A column belongs to a concept when
its name, slugged, equals the concept IRI's local name (``pleural_effusion``), the slug of its label,
or the Open-i label name of one of the 14 findings (``Effusion``), so the IU-Xray finding matrix and
the gold label file work as they are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from kg.claims import slug
from kg.concepts import default_table, finding_for_concept_iri
from kg.namespaces import CONCEPT, local_name

VariableKind = Literal["binary", "discrete", "continuous", "constant", "empty", "non-numeric"]
"""What a column holds; only binary, discrete and continuous columns can be analysed."""

ID_COLUMNS = ("report_id", "filename", "id", "study_id", "image_id")
"""Columns that name rows rather than measure anything; never mapped to a concept."""

MAX_DISCRETE_LEVELS = 10


class DataError(ValueError):
    """A table that cannot be read or used as asked (the message says what and where)."""


@dataclass(frozen=True, eq=False)
class DataTable:
    """A table of observations with a content digest, so results can say exactly which data they used."""

    frame: pd.DataFrame
    name: str
    digest: str
    """SHA-256 of the file bytes (or of the frame's values when given in memory)."""

    @property
    def rows(self) -> int:
        return int(len(self.frame))

    @property
    def label(self) -> str:
        """``openi_labels.csv (sha256:1a2b3c4d5e6f, 3851 rows)``: the value of ``mcrag:dataset``."""
        return f"{self.name} (sha256:{self.digest[:12]}, {self.rows} rows)"


def _frame_digest(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    h = hashlib.sha256(hashed.tobytes())
    h.update("|".join(map(str, frame.columns)).encode("utf-8"))
    return h.hexdigest()


def load_table(source: str | Path | pd.DataFrame | DataTable, *, split: str | None = None,
               name: str | None = None) -> DataTable:
    """Read a CSV / Parquet file (or wrap a frame); ``split`` keeps the rows of one ``split`` value."""
    if isinstance(source, DataTable):
        table = source
    elif isinstance(source, pd.DataFrame):
        table = DataTable(source.reset_index(drop=True), name or "<dataframe>", _frame_digest(source))
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"data file {path} not found")
        raw = path.read_bytes()
        suffix = "".join(path.suffixes[-2:]).lower()
        try:
            if suffix.endswith((".parquet", ".pq")):
                frame = pd.read_parquet(path)
            elif suffix.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
                frame = pd.read_csv(path, sep="\t" if suffix.endswith(".tsv") else ",")
            else:
                raise DataError(f"{path}: unknown table format {path.suffix!r}; use .csv, .tsv or .parquet")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as err:
            raise DataError(f"{path}: cannot read the table: {err}") from None
        except ImportError as err:  # Parquet needs a pyarrow built for this NumPy
            raise DataError(f"{path}: Parquet support is unavailable ({err}); convert the table to CSV") from None
        table = DataTable(frame, name or path.name, hashlib.sha256(raw).hexdigest())
    if split is not None:
        if "split" not in table.frame.columns:
            raise DataError(f"{table.name} has no 'split' column, so --split {split!r} cannot be applied")
        kept = table.frame[table.frame["split"].astype(str) == split].reset_index(drop=True)
        if kept.empty:
            values = sorted(map(str, table.frame["split"].dropna().unique()))
            raise DataError(f"{table.name}: no row has split={split!r} (values: {', '.join(values)})")
        table = DataTable(kept, f"{table.name}[split={split}]", table.digest)
    return table


def variable_kind(values: pd.Series) -> VariableKind:
    """Binary (two values), discrete (a few integer levels), continuous, or why the column is unusable."""
    if values.dtype == bool:
        values = values.astype(int)
    if not pd.api.types.is_numeric_dtype(values):
        return "non-numeric"
    present = values.dropna()
    if present.empty:
        return "empty"
    levels = present.unique()
    if len(levels) == 1:
        return "constant"
    if len(levels) == 2:
        return "binary"
    if len(levels) <= MAX_DISCRETE_LEVELS and np.all(np.mod(levels, 1) == 0):
        return "discrete"
    return "continuous"


def numeric_values(values: pd.Series) -> pd.Series:
    """The column as floats; a two-valued column becomes 0/1 (larger value = 1) so effects read as risk differences."""
    if values.dtype == bool:
        values = values.astype(int)
    out = values.astype(float)
    levels = np.sort(out.dropna().unique())
    if len(levels) == 2 and not (levels[0] == 0.0 and levels[1] == 1.0):
        out = (out == levels[1]).astype(float).where(out.notna())
    return out


@dataclass(frozen=True)
class ConceptRef:
    """A graph concept as the column matcher sees it."""

    iri: str
    label: str = ""
    synonyms: tuple[str, ...] = ()
    """``skos:altLabel`` values: matched last, after the local name, label and Open-i name."""


def concept_keys(concept: ConceptRef) -> tuple[str, ...]:
    """Slugged names a column may carry for this concept, most specific first."""
    keys = [slug(local_name(concept.iri))]
    if concept.label:
        keys.append(slug(concept.label))
    openi = finding_for_concept_iri(concept.iri)
    if openi:
        keys.append(slug(openi))
    keys.extend(slug(s) for s in concept.synonyms)
    return tuple(dict.fromkeys(keys))


def _exact_names(concept: ConceptRef) -> tuple[str, ...]:
    """Column names that name this concept exactly, as written: its local name, then its vocabulary key.

    The vocabulary key (``Edema``) is the Open-i / starter name of a table concept; written exactly,
    it beats another concept whose local name merely folds to the same slug (``edema``, edema of any
    tissue), so an Open-i ``Edema`` column stays pulmonary edema whatever else the graph holds.
    """
    out = [local_name(concept.iri)]
    c = default_table().resolve(concept.iri) if concept.iri.startswith(str(CONCEPT)) else None
    if c is not None and c.vocabulary_key:
        out.append(c.vocabulary_key)
    return tuple(out)


@dataclass(frozen=True)
class ColumnMap:
    """Which column carries which concept; concepts without a column are simply absent."""

    by_iri: Mapping[str, str] = field(default_factory=dict)
    unmatched_columns: tuple[str, ...] = ()

    def column(self, iri: str) -> str | None:
        return self.by_iri.get(iri)


def map_columns(columns: Iterable[str], concepts: Iterable[ConceptRef]) -> ColumnMap:
    """Match table columns to concepts by local name, label slug, Open-i label name or synonym.

    A column whose slug is some concept's local name wins over a label or Open-i match, so a table that
    names concepts exactly is never mis-read.
    """
    cols = [c for c in columns if str(c).lower() not in ID_COLUMNS and str(c).lower() != "split"]
    by_slug: dict[str, str] = {}
    for c in cols:
        by_slug.setdefault(slug(str(c)), str(c))
    raw = {str(c) for c in cols}
    chosen: dict[str, tuple[int, str]] = {}
    claimed: dict[str, tuple[int, str]] = {}  # column -> (rank, iri): one column serves one concept
    for concept in concepts:
        exact = [(rank, name) for rank, name in enumerate(_exact_names(concept))]
        folded = [(2 + rank, by_slug.get(key)) for rank, key in enumerate(concept_keys(concept))]
        for rank, col in [*((r, n if n in raw else None) for r, n in exact), *folded]:
            if col is None:
                continue
            prev = claimed.get(col)
            if prev is not None and prev[0] <= rank:
                break
            if prev is not None:
                chosen.pop(prev[1], None)
            chosen[concept.iri] = (rank, col)
            claimed[col] = (rank, concept.iri)
            break
    by_iri = {iri: col for iri, (_, col) in chosen.items()}
    used = set(by_iri.values())
    return ColumnMap(by_iri, tuple(c for c in map(str, cols) if c not in used))
