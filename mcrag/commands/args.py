"""Checks of command-line values shared by several commands; each failure is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

from kg.statuses import TRUSTED_STATUSES
from mcrag.errors import UserInputError

TRUSTED_DEFAULT = ",".join(TRUSTED_STATUSES)
"""The default of every ``--status`` / ``--statuses`` option: the curated graph."""


def data_file(data: str) -> str:
    """A data table that exists (CSV or Parquet)."""
    path = Path(data)
    if not path.is_file():
        raise UserInputError(f"data file {data} not found (give a CSV or Parquet table, one column per variable)")
    return str(path)


def status_list(text: str) -> list[str]:
    """``accepted,validated`` -> ``["accepted", "validated"]``."""
    return [s.strip() for s in text.split(",") if s.strip()]
