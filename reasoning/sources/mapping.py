"""Source label -> chest concept, from one mapping file per source in ``ontologies/source_maps/``.

Each file lists every label the source uses: either the concept it maps to, with the SKOS relation
from the label to the concept (``exactMatch``, ``closeMatch``, ``broadMatch`` when the concept is
broader than the label, ``narrowMatch`` when it is narrower), or no concept and the reason it is
left out. A label in the data that the file does not list stops the import with an error naming it.

IU-Xray's file maps Open-i MeSH headings (``Pulmonary Edema``) and, on extra rows, a heading with
one qualifier (``Pulmonary Edema`` / ``interstitial``): a term ``Pulmonary Edema/interstitial/mild``
yields the heading's concept and every matching qualifier's concept.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kg.concepts import ConceptTable
from reasoning.sources.base import SourceError

RELATIONS = ("exactMatch", "closeMatch", "broadMatch", "narrowMatch")


def map_key(label: str) -> str:
    """Case-, space- and underscore-insensitive key (``Pleural_Thickening`` == ``pleural thickening``)."""
    return re.sub(r"[\s_]+", " ", label.strip().lower())


@dataclass(frozen=True)
class LabelMapping:
    """One row of a mapping file."""

    label: str
    concept: str | None
    relation: str = ""
    reason: str = ""
    qualifier: str = ""


@dataclass(frozen=True)
class SourceMap:
    """A source's labels (by :func:`map_key`) and, for IU-Xray, its heading/qualifier rules."""

    source: str
    path: str
    labels: Mapping[str, LabelMapping]
    qualifiers: Mapping[tuple[str, str], LabelMapping]

    def unknown(self, labels: Iterable[str]) -> list[str]:
        return sorted({x for x in labels if map_key(x) not in self.labels})

    def concept_of(self, label: str) -> str | None:
        return self.labels[map_key(label)].concept

    def concepts(self) -> tuple[str, ...]:
        """Every concept this source can express, in the order of first appearance."""
        seen = [m.concept for m in self.labels.values() if m.concept]
        seen += [m.concept for m in self.qualifiers.values() if m.concept]
        return tuple(dict.fromkeys(seen))

    def lookup(self) -> dict[str, str | None]:
        """:func:`map_key` of every label -> its concept (``None`` when unmapped on purpose)."""
        return {k: m.concept for k, m in self.labels.items()}


def map_path(source: str) -> Path:
    return Path(str(resources.files("ontologies").joinpath("source_maps", f"{source}.csv")))


def load_source_map(source: str, table: ConceptTable, path: str | Path | None = None) -> SourceMap:
    """Read and check a mapping file: every concept exists, every unmapped label says why."""
    p = Path(path) if path is not None else map_path(source)
    if not p.is_file():
        raise SourceError(f"{source}: mapping file {p} not found")
    try:
        with p.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except UnicodeDecodeError as err:
        raise SourceError(f"{source}: mapping file {p} is not UTF-8 text ({err})") from None
    label_col = "heading" if rows and "heading" in rows[0] else "label"
    labels: dict[str, LabelMapping] = {}
    qualifiers: dict[tuple[str, str], LabelMapping] = {}
    for i, row in enumerate(rows, start=2):
        where = f"{p.name}, line {i}"
        label = (row.get(label_col) or "").strip()
        qual = (row.get("qualifier") or "").strip()
        concept = (row.get("concept") or "").strip() or None
        relation = (row.get("match") or "").strip()
        reason = (row.get("reason") or "").strip()
        if not label:
            raise SourceError(f"{where}: empty {label_col}")
        if concept is None and not reason:
            raise SourceError(f"{where}: {label!r} maps to no concept and gives no reason")
        if concept is not None:
            if concept not in table:
                raise SourceError(f"{where}: {label!r} maps to {concept!r}, which is not in the chest concept table")
            if relation not in RELATIONS:
                raise SourceError(f"{where}: match {relation!r} for {label!r}; use one of {', '.join(RELATIONS)}")
        entry = LabelMapping(label, concept, relation, reason, qual)
        if qual:
            key = (map_key(label), map_key(qual))
            if key in qualifiers:
                raise SourceError(f"{where}: {label!r} / {qual!r} is listed twice")
            qualifiers[key] = entry
        else:
            if map_key(label) in labels:
                raise SourceError(f"{where}: {label!r} is listed twice")
            labels[map_key(label)] = entry
    for h, q in qualifiers:
        if h not in labels:
            raise SourceError(f"{p.name}: qualifier row {h!r} / {q!r} has no row for the heading itself")
    return SourceMap(source, str(p), labels, qualifiers)
