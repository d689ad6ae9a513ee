"""Read every chosen source, then write all their matrices, so a failure anywhere writes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import reasoning.sources.chexpert as chexpert
import reasoning.sources.iu_xray as iu_xray
import reasoning.sources.nih as nih
import reasoning.sources.padchest as padchest
import reasoning.sources.vindr as vindr
from kg.concepts import ConceptTable, load_concept_table
from reasoning.sources.base import (
    ImportedSource,
    ImportReport,
    SourceError,
    SourceMatrix,
    write_parquet_atomic,
)
from reasoning.sources.mapping import load_source_map

READERS: dict[str, Callable[..., SourceMatrix]] = {
    padchest.SOURCE: padchest.read,
    nih.SOURCE: nih.read,
    chexpert.SOURCE: chexpert.read,
    vindr.SOURCE: vindr.read,
    iu_xray.SOURCE: iu_xray.read,
}
SOURCES: tuple[str, ...] = tuple(READERS)


def read_source(source: str, cxr_labels_dir: str | Path, *, table: ConceptTable | None = None,
                progress: bool = True) -> SourceMatrix:
    """One source as a :class:`SourceMatrix` (nothing written)."""
    if source not in READERS:
        raise SourceError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    folder = Path(cxr_labels_dir)
    if not folder.is_dir():
        raise SourceError(f"cxr_labels folder {folder} not found")
    table = table or load_concept_table()
    return READERS[source](folder, table, load_source_map(source, table), progress=progress)


def import_sources(cxr_labels_dir: str | Path, out_dir: str | Path, sources: Sequence[str] = SOURCES, *,
                   table: ConceptTable | None = None, progress: bool = True) -> ImportReport:
    """Write ``<out_dir>/<source>.parquet`` for each source; returns what was written.

    All sources are read first; a bad file, an unknown label or a missing column in any of them raises
    :class:`SourceError` before a single file is written, and each file is written to a temporary
    name and renamed.
    """
    unknown = [s for s in sources if s not in READERS]
    if unknown:
        raise SourceError(f"unknown source(s) {', '.join(unknown)}; use {', '.join(SOURCES)}")
    if not sources:
        raise SourceError("no source chosen")
    started = time.perf_counter()
    table = table or load_concept_table()
    read: list[tuple[SourceMatrix, float]] = []
    for s in dict.fromkeys(sources):
        t0 = time.perf_counter()
        m = read_source(s, cxr_labels_dir, table=table, progress=progress)
        read.append((m, time.perf_counter() - t0))
    out = Path(out_dir)
    written = []
    for m, seconds in read:
        t0 = time.perf_counter()
        path = write_parquet_atomic(m.frame, out / f"{m.source}.parquet")
        written.append(ImportedSource(
            m.source, str(path), m.studies, int(m.frame["patient_id"].nunique()), m.concept_columns, m.counts(),
            dict(m.unmapped_seen), m.files, m.notes, round(seconds + time.perf_counter() - t0, 3)))
    return ImportReport(str(out), tuple(written), round(time.perf_counter() - started, 3))
