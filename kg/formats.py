"""RDF and SPARQL-results format names, file extensions and media types in one table."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from kg.errors import UnsupportedFormatError

RdfFormatName = Literal["turtle", "ntriples", "nquads", "trig", "rdfxml", "jsonld", "n3"]
ResultsFormatName = Literal["json", "xml", "csv", "tsv"]

RDF_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    # name: (media type, extensions)
    "turtle": ("text/turtle", (".ttl", ".turtle")),
    "ntriples": ("application/n-triples", (".nt",)),
    "nquads": ("application/n-quads", (".nq",)),
    "trig": ("application/trig", (".trig",)),
    "rdfxml": ("application/rdf+xml", (".rdf", ".owl", ".xml")),
    "jsonld": ("application/ld+json", (".jsonld", ".json")),
    "n3": ("text/n3", (".n3",)),
}

QUAD_FORMATS = {"nquads", "trig", "jsonld"}

RESULTS_FORMATS: dict[str, str] = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}

ALIASES = {"ttl": "turtle", "nt": "ntriples", "nq": "nquads", "xml": "rdfxml", "rdf/xml": "rdfxml",
           "json-ld": "jsonld", "owl": "rdfxml"}


def rdf_format_name(name: str) -> RdfFormatName:
    """Normalise a user-given RDF format name (``ttl``, ``json-ld`` ...)."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in RDF_FORMATS:
        raise UnsupportedFormatError(f"unknown RDF format {name!r}; use one of {', '.join(RDF_FORMATS)}")
    return key  # type: ignore[return-value]


def guess_rdf_format(path: Path | str) -> RdfFormatName:
    """The RDF format implied by a file name (``.ttl.gz`` is not supported: decompress first)."""
    suffix = Path(path).suffix.lower()
    for name, (_, exts) in RDF_FORMATS.items():
        if suffix in exts:
            return name  # type: ignore[return-value]
    raise UnsupportedFormatError(
        f"{path}: cannot tell the RDF format from extension {suffix!r}; pass --format "
        f"({', '.join(RDF_FORMATS)})"
    )


def rdf_media_type(name: RdfFormatName) -> str:
    return RDF_FORMATS[name][0]


def rdf_format_from_media_type(media_type: str) -> RdfFormatName:
    base = media_type.split(";")[0].strip().lower()
    for name, (mt, _) in RDF_FORMATS.items():
        if mt == base:
            return name  # type: ignore[return-value]
    if base in ("application/x-turtle",):
        return "turtle"
    raise UnsupportedFormatError(f"unsupported RDF media type {media_type!r}")


def results_format_name(name: str) -> ResultsFormatName:
    key = name.lower()
    if key not in RESULTS_FORMATS:
        raise UnsupportedFormatError(f"unknown results format {name!r}; use one of {', '.join(RESULTS_FORMATS)}")
    return key  # type: ignore[return-value]
