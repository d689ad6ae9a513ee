"""The one seam every triple store implements, with declared capabilities.

Callers (mining, validation, curation, the HTTP service) talk to :class:`Store` only, so an embedded
Oxigraph folder and a remote SPARQL 1.1 endpoint are interchangeable by one setting.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from kg.formats import RdfFormatName, ResultsFormatName


@dataclass(frozen=True)
class StoreCapabilities:
    """What a backend can do; callers check these instead of the backend's type."""

    persistent: bool
    """Data survives a restart."""
    atomic_load: bool
    """A load either applies whole or not at all."""
    atomic_update: bool
    """A SPARQL update applies whole or not at all."""
    native_parsers: bool
    """RDF is parsed by compiled (Rust) parsers in-process rather than pure Python."""
    graph_store_protocol: bool
    """Bulk transfer via the SPARQL 1.1 Graph Store HTTP Protocol."""
    query_cancellation: bool
    """A running query can be stopped at its time limit."""


@dataclass(frozen=True)
class Term:
    """An RDF term in the SPARQL 1.1 results JSON shape (``uri``, ``literal``, ``bnode``)."""

    kind: Literal["uri", "literal", "bnode", "triple"]
    value: str
    datatype: str | None = None
    lang: str | None = None

    @classmethod
    def iri(cls, value: str) -> Term:
        """A named node; the IRI is validated when the query runs."""
        return cls("uri", value)

    @classmethod
    def literal(cls, value: str | int | float | bool, datatype: str | None = None, lang: str | None = None) -> Term:
        """A literal; Python numbers and booleans get their XSD datatype."""
        xsd = "http://www.w3.org/2001/XMLSchema#"
        if datatype is None and lang is None and not isinstance(value, str):
            datatype = xsd + ("boolean" if isinstance(value, bool) else "integer" if isinstance(value, int)
                              else "double")
            value = str(value).lower() if isinstance(value, bool) else str(value)
        return cls("literal", str(value), datatype, lang)

    def n3(self) -> str:
        """The term in Turtle/N-Triples syntax."""
        if self.kind == "uri":
            return f"<{self.value}>"
        if self.kind == "bnode":
            return f"_:{self.value}"
        if self.kind == "triple":
            return f"<< {self.value} >>"
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        if self.lang:
            return f'"{escaped}"@{self.lang}'
        if self.datatype and self.datatype != "http://www.w3.org/2001/XMLSchema#string":
            return f'"{escaped}"^^<{self.datatype}>'
        return f'"{escaped}"'

    def to_json(self) -> dict[str, str]:
        out = {"type": self.kind, "value": self.value}
        if self.datatype:
            out["datatype"] = self.datatype
        if self.lang:
            out["xml:lang"] = self.lang
        return out

    def __str__(self) -> str:
        return self.value


Row = tuple[Term | None, ...]
Bindings = Mapping[str, Term]
"""Values for query variables, substituted by the store (never by string concatenation)."""


@dataclass
class QueryResult:
    """The answer to any SPARQL query form, in one value object."""

    form: Literal["select", "ask", "graph"]
    variables: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[tuple[Term, Term, Term]] = field(default_factory=list)

    def dicts(self) -> list[dict[str, str | None]]:
        """SELECT rows as ``{variable: lexical value}`` dicts, the shape most callers want."""
        return [
            {v: (t.value if t is not None else None) for v, t in zip(self.variables, row, strict=True)}
            for row in self.rows
        ]

    def column(self, variable: str) -> list[str | None]:
        i = self.variables.index(variable)
        return [t.value if (t := row[i]) is not None else None for row in self.rows]

    def __len__(self) -> int:
        if self.form == "select":
            return len(self.rows)
        if self.form == "graph":
            return len(self.triples)
        return 1


@dataclass(frozen=True)
class LoadReport:
    """What a load did: how many quads the store gained and from which source."""

    source: str
    format: str
    graph: str | None
    quads_before: int
    quads_after: int

    @property
    def added(self) -> int:
        return self.quads_after - self.quads_before


class Store(ABC):
    """Abstract triple/quad store with SPARQL 1.1 query and update."""

    capabilities: StoreCapabilities
    location: str
    read_only: bool = False
    generation: int = 0
    """Writes made through this object (update, load, clear), counted: a cache of what the store holds
    (``kg.curation.index``) is fresh while the count it was built at still holds. Writes made by
    another process or client are not counted; an embedded store is locked to one process."""

    def _wrote(self) -> None:
        self.generation += 1

    @abstractmethod
    def query(self, sparql: str, *, timeout: float | None = None, max_rows: int | None = None,
              union_default_graph: bool = True, bindings: Bindings | None = None) -> QueryResult:
        """Run a SPARQL query; by default the default graph is the union of all named graphs.

        ``bindings`` pre-binds variables (``{"claim": Term.iri(...)}``): the safe way to put user
        input into a template query.
        """

    @abstractmethod
    def query_serialized(self, sparql: str, results_format: ResultsFormatName, *,
                         timeout: float | None = None, union_default_graph: bool = True) -> tuple[bytes, str]:
        """Run a query and return its serialized results with their media type (the fast path)."""

    @abstractmethod
    def update(self, sparql: str) -> None:
        """Run a SPARQL 1.1 update."""

    @abstractmethod
    def load(self, source: Path | bytes | str, fmt: RdfFormatName | None = None, *, graph: str | None = None,
             base_iri: str | None = None, source_name: str | None = None, bulk: bool | None = None) -> LoadReport:
        """Load an RDF document as one transaction (where ``capabilities.atomic_load``).

        ``bulk`` asks for the backend's fast path for large files (see each backend for its guarantees).
        """

    @abstractmethod
    def export(self, out: BinaryIO, fmt: RdfFormatName, *, graph: str | None = None) -> None:
        """Write the store (or one graph) in an RDF format."""

    @abstractmethod
    def named_graphs(self) -> list[str]:
        """IRIs of the named graphs that hold at least one quad."""

    @abstractmethod
    def count(self, graph: str | None = None) -> int:
        """Number of quads in the store, or in one named graph."""

    @abstractmethod
    def clear(self, graph: str | None = None) -> None:
        """Remove every quad, or every quad of one graph."""

    def insert_nquads(self, nquads: str) -> LoadReport:
        """Add quads given as N-Quads text in one transaction: the write path of miners and curators."""
        return self.load(nquads.encode("utf-8"), "nquads", source_name="<nquads>")

    def ask(self, sparql: str) -> bool:
        result = self.query(sparql)
        if result.form != "ask" or result.boolean is None:
            raise ValueError("not an ASK query")
        return result.boolean

    def select(self, sparql: str, bindings: Bindings | None = None) -> list[dict[str, str | None]]:
        return self.query(sparql, bindings=bindings).dicts()

    def iter_graph_sizes(self) -> Iterator[tuple[str, int]]:
        for g in self.named_graphs():
            yield g, self.count(g)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files or connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
