"""The report x finding matrix: observational data for validating causal claims.

Agreed format (the validator reads it): CSV with ``report_id``, ``split``, then the 14 Open-i label
names in ``openi_labels.csv`` order with 1 = present and 0 = absent or not mentioned (uncertain counts
as present unless asked otherwise), then extra 0/1 concept columns (``support_device`` first: a
confounder worth adjusting for) and metadata. A ``.parquet`` path writes the same table as Parquet.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from kg.concepts import FINDINGS, MATRIX_EXTRA_KEYS
from kg.mining.core.documents import ReportFindings

META_COLUMNS: tuple[str, ...] = ("study_id", "n_images", "view")


def matrix_columns(extra: bool = True) -> list[str]:
    return ["report_id", "split", *FINDINGS, *(MATRIX_EXTRA_KEYS if extra else ()), *(META_COLUMNS if extra else ())]


def matrix_row(rf: ReportFindings, *, uncertain_as_present: bool = True, extra: bool = True) -> dict[str, str | int]:
    positive = {"present", "uncertain"} if uncertain_as_present else {"present"}
    statuses = dict(rf.statuses)
    row: dict[str, str | int] = {"report_id": rf.report_id, "split": rf.split}
    for key in (*FINDINGS, *(MATRIX_EXTRA_KEYS if extra else ())):
        row[key] = 1 if statuses.get(key) in positive else 0
    if extra:
        meta = dict(rf.meta)
        row["study_id"] = rf.report_id.split("_", 1)[0]
        row["n_images"] = meta.get("n_images", "")
        row["view"] = meta.get("view", "")
    return row


def write_matrix(rows: Iterable[ReportFindings], out: Path | str, *, uncertain_as_present: bool = True,
                 extra: bool = True) -> Path:
    """Write the matrix (CSV, or Parquet for a ``.parquet`` path) atomically; returns the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cols = matrix_columns(extra)
    data = [matrix_row(rf, uncertain_as_present=uncertain_as_present, extra=extra) for rf in rows]
    tmp = out.with_name(out.name + ".part")
    if out.suffix.lower() == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as err:
            raise ValueError(f"Parquet output needs a working pyarrow ({err}); write a .csv instead") from None

        table = pa.table({c: [r.get(c, "") for r in data] for c in cols})
        pq.write_table(table, tmp)
    else:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=cols)
            writer.writeheader()
            writer.writerows(data)
    tmp.replace(out)
    return out
