"""Embedded, on-disk (or in-memory) Oxigraph store: the default backend.

Parsing, query evaluation and result serialisation all happen in Oxigraph's Rust code; Python only
moves bytes and small result sets.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import pyoxigraph as ox

from kg.errors import (
    KGError,
    MalformedQueryError,
    MalformedRDFError,
    QueryTimeoutError,
    ReadOnlyStoreError,
    ResultTooLargeError,
    StoreUnavailableError,
)
from kg.formats import QUAD_FORMATS, RdfFormatName, ResultsFormatName, guess_rdf_format, rdf_format_name
from kg.namespaces import PREFIXES
from kg.store.base import Bindings, LoadReport, QueryResult, Store, StoreCapabilities, Term
from kg.store.xml_guard import check_rdfxml

_RDF = {
    "turtle": ox.RdfFormat.TURTLE,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "nquads": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "jsonld": ox.RdfFormat.JSON_LD,
    "n3": ox.RdfFormat.N3,
}
_RESULTS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
BULK_THRESHOLD_BYTES = 256 * 1024 * 1024
"""Files above this size take the bulk path even when not asked (a transaction would hold them in memory)."""
JOURNAL_NAME = "MCRAG_BULK_LOAD.json"
"""Written before a bulk load starts and removed when it ends; found on open, it means a crash."""
log = logging.getLogger(__name__)


def write_json_atomically(path: Path, payload: object) -> None:
    """Write, fsync, then rename: a reader sees the old file or the whole new one."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def term_from_ox(node: Any) -> Term:
    """Convert a pyoxigraph term to the backend-neutral :class:`Term`."""
    if isinstance(node, ox.NamedNode):
        return Term("uri", node.value)
    if isinstance(node, ox.BlankNode):
        return Term("bnode", node.value)
    if isinstance(node, ox.Literal):
        dt = node.datatype.value
        if node.language:
            return Term("literal", node.value, None, node.language)
        return Term("literal", node.value, None if dt in (_XSD_STRING, _LANG_STRING) else dt)
    if isinstance(node, ox.Triple):
        return Term("triple", f"{node.subject} {node.predicate} {node.object}")
    raise TypeError(f"unexpected term {node!r}")


def term_to_ox(term: Term) -> Any:
    """A validated pyoxigraph term; a malformed IRI or language tag is a MalformedQueryError."""
    try:
        if term.kind == "uri":
            return ox.NamedNode(term.value)
        if term.kind == "bnode":
            return ox.BlankNode(term.value)
        if term.kind == "literal":
            if term.lang:
                return ox.Literal(term.value, language=term.lang)
            if term.datatype:
                return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype))
            return ox.Literal(term.value)
    except ValueError as err:
        raise MalformedQueryError(f"invalid value {term.value!r} for a query parameter: {err}") from None
    raise MalformedQueryError(f"unsupported parameter term kind {term.kind!r}")


_WHERE_BRACE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def with_values(sparql: str, bindings: Bindings) -> str:
    """Bind variables with an inline VALUES block of validated, escaped terms.

    The block opens the outermost WHERE group, so filters and optionals of that group see the
    bound values. Oxigraph's own substitution only binds projected variables; VALUES binds any
    variable and works on every SPARQL 1.1 endpoint, so both backends share it.
    """
    names = list(bindings)
    values = " ".join(str(term_to_ox(bindings[n])) for n in names)
    block = f" VALUES ({' '.join('?' + n for n in names)}) {{ ({values}) }} "
    m = _WHERE_BRACE.search(sparql)
    at = m.end() if m else sparql.find("{") + 1
    if at <= 0:
        raise MalformedQueryError("cannot bind parameters: the query has no group pattern")
    return sparql[:at] + block + sparql[at:]


def _unwritable(err: OSError) -> bool:
    text = str(err).lower()
    return err.errno in (errno.EROFS, errno.EACCES, errno.EPERM) or "read-only file system" in text or \
        "permission denied" in text


def _syntax_error_line(err: SyntaxError) -> int | None:
    if err.lineno:
        return int(err.lineno)
    if len(err.args) > 1 and isinstance(err.args[1], tuple) and len(err.args[1]) > 1:
        return int(err.args[1][1]) if err.args[1][1] is not None else None
    return None


class OxigraphStore(Store):
    """A pyoxigraph store in a folder (``path``) or in memory (``path=None``)."""

    def __init__(self, path: Path | str | None = None, *, create: bool = True, read_only: bool = False,
                 read_only_fallback: bool = False) -> None:
        """Open (or with ``create``, make) a store folder; ``read_only_fallback`` opens read-only when
        the folder cannot be written (a read-only mount, no write permission)."""
        self.location = str(path) if path is not None else ":memory:"
        self.read_only = read_only
        self.capabilities = StoreCapabilities(
            persistent=path is not None,
            atomic_load=True,
            atomic_update=True,
            native_parsers=True,
            graph_store_protocol=False,
            query_cancellation=False,
        )
        self._write_lock = threading.RLock()
        self.generation = 0
        """Bumped by every write through this object: readers elsewhere reopen when it moves."""
        if path is None:
            self._store = ox.Store()
            return
        folder = Path(path)
        if not folder.exists() and (not create or read_only):
            raise StoreUnavailableError(f"store folder {folder} does not exist; create it with `mcrag kg init "
                                        f"--store {folder}`")
        if folder.exists() and not folder.is_dir():
            raise StoreUnavailableError(f"store location {folder} is a file, not a folder")
        if folder.is_dir() and not (folder / "CURRENT").exists():
            if not create or read_only:
                raise StoreUnavailableError(f"{folder} is not a store (it has no CURRENT file); give the folder "
                                            "a store lives in, or create one with `mcrag kg init --store FOLDER`")
            if any(folder.iterdir()):
                raise StoreUnavailableError(f"{folder} holds other files and is not a store; give an empty or "
                                            "new folder for a new store")
        try:
            if read_only:
                self._store = ox.Store.read_only(str(folder))
            else:
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                    self._store = ox.Store(str(folder))
                except OSError as err:
                    if not read_only_fallback or not _unwritable(err):
                        raise
                    self._store = ox.Store.read_only(str(folder))
                    self.read_only = True
                    log.warning("store folder %s cannot be written (%s): opened read-only", folder, err)
                else:
                    self.recover()
        except (OSError, RuntimeError) as err:
            text = str(err)
            if "lock" in text.lower():
                raise StoreUnavailableError(
                    f"store folder {folder} is locked by another process (is `mcrag serve` running on it?); "
                    "stop it or query that server with --store http://HOST:PORT/sparql"
                ) from None
            if "corrupt" in text.lower():
                raise StoreUnavailableError(f"store folder {folder} is damaged ({text}); restore it from a "
                                            "backup or an export") from None
            raise StoreUnavailableError(f"cannot open store folder {folder}: {text}") from None

    @classmethod
    def wrap(cls, raw: ox.Store, location: str, *, read_only: bool = False) -> OxigraphStore:
        """Put the store seam around an already open pyoxigraph store (query sandboxes use it)."""
        self = cls.__new__(cls)
        self.location, self.read_only, self._store = location, read_only, raw
        self.capabilities = StoreCapabilities(persistent=location != ":memory:", atomic_load=True,
                                              atomic_update=True, native_parsers=True,
                                              graph_store_protocol=False, query_cancellation=False)
        self._write_lock = threading.RLock()
        self.generation = 0
        return self

    @property
    def write_lock(self) -> threading.RLock:
        """Held by every write; hold it to keep the store still across several steps."""
        return self._write_lock

    # -- queries ---------------------------------------------------------------------------------
    def _run(self, sparql: str, union_default_graph: bool, bindings: Bindings | None = None) -> Any:
        if bindings:
            sparql = with_values(sparql, bindings)
        try:
            return self._store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=union_default_graph)
        except SyntaxError as err:
            raise MalformedQueryError(f"SPARQL syntax error: {err.args[0] if err.args else err}") from None
        except OSError as err:
            raise StoreUnavailableError(f"store read failed: {err}") from None

    def query(self, sparql: str, *, timeout: float | None = None, max_rows: int | None = None,
              union_default_graph: bool = True, bindings: Bindings | None = None) -> QueryResult:
        deadline = time.monotonic() + timeout if timeout else None
        raw = self._run(sparql, union_default_graph, bindings)
        failure: Exception | None = None
        try:
            return self._collect(raw, deadline, max_rows, timeout)
        except (QueryTimeoutError, ResultTooLargeError) as err:
            # pyoxigraph iterators are bound to the thread that made them: re-raise a fresh error so
            # no traceback keeps the iterator alive until another thread collects it.
            failure = type(err)(str(err))
        del raw
        raise failure

    def _collect(self, raw: Any, deadline: float | None, max_rows: int | None,
                 timeout: float | None) -> QueryResult:
        if isinstance(raw, ox.QueryBoolean):
            return QueryResult("ask", boolean=bool(raw))
        if isinstance(raw, ox.QueryTriples):
            triples = []
            for i, t in enumerate(raw):
                self._check(i, deadline, max_rows)
                triples.append((term_from_ox(t.subject), term_from_ox(t.predicate), term_from_ox(t.object)))
            return QueryResult("graph", triples=triples)
        variables = [v.value for v in raw.variables]
        rows: list[tuple[Term | None, ...]] = []
        for i, solution in enumerate(raw):
            self._check(i, deadline, max_rows)
            values = [solution[v] for v in variables]
            rows.append(tuple(term_from_ox(x) if x is not None else None for x in values))
        if deadline is not None and time.monotonic() > deadline:
            raise QueryTimeoutError(f"query ran past its {timeout:g} s limit")
        return QueryResult("select", variables=variables, rows=rows)

    @staticmethod
    def _check(i: int, deadline: float | None, max_rows: int | None) -> None:
        if max_rows is not None and i >= max_rows:
            raise ResultTooLargeError(f"query returned more than {max_rows} results; add a LIMIT")
        if deadline is not None and i % 256 == 0 and time.monotonic() > deadline:
            raise QueryTimeoutError("query ran past its time limit and was stopped")

    def query_serialized(self, sparql: str, results_format: ResultsFormatName, *, timeout: float | None = None,
                         union_default_graph: bool = True) -> tuple[bytes, str]:
        raw = self._run(sparql, union_default_graph)
        if isinstance(raw, ox.QueryTriples):
            # CONSTRUCT/DESCRIBE: serialise as N-Triples (the graph analogue of a results format).
            return raw.serialize(format=ox.RdfFormat.N_TRIPLES) or b"", "application/n-triples"
        fmt = _RESULTS[results_format]
        if isinstance(raw, ox.QueryBoolean) and results_format in ("csv", "tsv"):
            fmt = ox.QueryResultsFormat.JSON
        return raw.serialize(format=fmt) or b"", fmt.media_type

    # -- writes ----------------------------------------------------------------------------------
    def _writable(self) -> None:
        if self.read_only:
            raise ReadOnlyStoreError(f"store {self.location} is open read-only")

    def update(self, sparql: str) -> None:
        self._writable()
        with self._write_lock:
            self.generation += 1
            try:
                self._store.update(sparql, prefixes=PREFIXES)
            except SyntaxError as err:
                raise MalformedQueryError(f"SPARQL update syntax error: {err.args[0] if err.args else err}") from None

    def load(self, source: Path | bytes | str, fmt: RdfFormatName | None = None, *, graph: str | None = None,
             base_iri: str | None = None, source_name: str | None = None, bulk: bool | None = None) -> LoadReport:
        """Load one document; malformed input leaves the store unchanged.

        The default path is one transaction. ``bulk=True`` (automatic for files over
        ``BULK_THRESHOLD_BYTES``) uses Oxigraph's bulk loader, about 3x faster and with flat memory:
        the file is parsed in full first, the target graphs must be empty, and a journal in the store
        folder lets the next open undo a load that a crash interrupted.
        """
        self._writable()
        is_path = isinstance(source, Path)
        name = source_name or (str(source) if is_path else "<input>")
        if fmt is None:
            if not is_path:
                raise ValueError("format is required when loading bytes")
            fmt = guess_rdf_format(source)  # type: ignore[arg-type]
        fmt = rdf_format_name(fmt)
        if is_path and not Path(source).is_file():  # type: ignore[arg-type]
            raise MalformedRDFError("file not found", source=name)
        if bulk is None:
            bulk = is_path and Path(source).stat().st_size > BULK_THRESHOLD_BYTES  # type: ignore[arg-type]
        if bulk and not is_path:
            raise ValueError("bulk loads read from a file path")
        if fmt == "rdfxml":  # before the lock: entities and deep nesting never reach the parser
            check_rdfxml(Path(source) if is_path else source, name)  # type: ignore[arg-type]
        before = len(self._store)
        kwargs: dict[str, Any] = {"format": _RDF[fmt], "base_iri": base_iri or "https://w3id.org/mcrag/base/"}
        if graph:
            kwargs["to_graph"] = ox.NamedNode(graph)  # triples go there; quads keep their own graph
        with self._write_lock:
            self.generation += 1
            try:
                if bulk:
                    self._bulk_load(Path(source), kwargs, graph)  # type: ignore[arg-type]
                elif is_path:
                    self._store.load(path=str(source), **kwargs)
                else:
                    self._store.load(source, **kwargs)  # type: ignore[arg-type]
            except SyntaxError as err:
                msg = err.args[0] if err.args else str(err)
                raise MalformedRDFError(f"{msg} (nothing was loaded)", source=name,
                                        line=_syntax_error_line(err)) from None
            except ValueError as err:
                raise MalformedRDFError(f"{err} (nothing was loaded)", source=name) from None
        return LoadReport(name, fmt, graph, before, len(self._store))

    # -- bulk loads with a crash journal ---------------------------------------------------------
    @property
    def _journal(self) -> Path | None:
        return Path(self.location) / JOURNAL_NAME if self.capabilities.persistent else None

    def _bulk_load(self, path: Path, kwargs: dict[str, Any], graph: str | None) -> None:
        targets: set[str] = {graph} if graph else set()
        default_graph_used = False
        # Full parse first (native, streaming): a malformed file writes nothing.
        for quad in ox.parse(path=str(path), format=kwargs["format"], base_iri=kwargs["base_iri"]):
            g = getattr(quad, "graph_name", None)
            if isinstance(g, ox.NamedNode):
                targets.add(g.value)
            elif not graph:
                default_graph_used = True
        if default_graph_used:
            raise KGError(f"{path}: a bulk load needs a target graph for its triples (use --graph)")
        busy = [g for g in sorted(targets) if self.count(g) > 0]
        if busy:
            raise KGError(f"{path}: bulk loads go into empty graphs so an interrupted load can be undone; "
                          f"graph(s) {', '.join(busy)} already hold data (load without --bulk, or into a new graph)")
        journal = self._journal
        if journal is not None:
            write_json_atomically(journal, {"file": str(path), "graphs": sorted(targets)})
        self._store.bulk_load(path=str(path), **kwargs)
        self._store.flush()
        if journal is not None:
            journal.unlink(missing_ok=True)

    def recover(self) -> list[str]:
        """Undo a bulk load that a crash interrupted: drop the graphs it was filling (they were empty)."""
        journal = self._journal
        if journal is None or not journal.exists() or self.read_only:
            return []
        try:
            entry = json.loads(journal.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entry = {"graphs": []}
        graphs = [str(g) for g in entry.get("graphs", [])]
        for g in graphs:
            self._store.remove_graph(ox.NamedNode(g))
        self._store.flush()
        journal.unlink(missing_ok=True)
        log.warning("undid an interrupted bulk load of %s (graphs %s)", entry.get("file"), ", ".join(graphs))
        return graphs

    def export(self, out: BinaryIO, fmt: RdfFormatName, *, graph: str | None = None) -> None:
        fmt = rdf_format_name(fmt)
        if graph is not None:
            self._store.dump(out, format=_RDF[fmt], from_graph=ox.NamedNode(graph))
        elif fmt in QUAD_FORMATS:
            self._store.dump(out, format=_RDF[fmt])
        else:
            # A triple format cannot hold named graphs: write the union of all graphs (streamed).
            triples = (ox.Triple(q.subject, q.predicate, q.object) for q in self._store)
            ox.serialize(triples, out, format=_RDF[fmt], prefixes=PREFIXES if fmt == "turtle" else None)

    def named_graphs(self) -> list[str]:
        return sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))

    def count(self, graph: str | None = None) -> int:
        if graph is None:
            return len(self._store)
        res = self.query("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
                         bindings={"g": Term.iri(graph)})
        return int(res.column("n")[0] or 0)

    def clear(self, graph: str | None = None) -> None:
        self._writable()
        with self._write_lock:
            self.generation += 1
            if graph is None:
                self._store.clear()
            else:
                self._store.remove_graph(ox.NamedNode(graph))

    def flush(self) -> None:
        self._store.flush()

    def close(self) -> None:
        if hasattr(self, "_store") and not self.read_only and self.capabilities.persistent:
            with contextlib.suppress(OSError):
                self._store.flush()
        self.__dict__.pop("_store", None)

    @property
    def raw(self) -> ox.Store:
        """The underlying pyoxigraph store, for callers that need Oxigraph-specific features."""
        return self._store
