"""Any SPARQL 1.1 endpoint (Fuseki, GraphDB, QLever, an Oxigraph server, another MCRAG) behind the seam.

Queries and updates use the SPARQL 1.1 Protocol; loads use the Graph Store HTTP Protocol when the
endpoint offers it, else one ``INSERT DATA`` update built from locally parsed (Oxigraph) quads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, BinaryIO

import httpx
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
from kg.formats import (
    QUAD_FORMATS,
    RESULTS_FORMATS,
    RdfFormatName,
    ResultsFormatName,
    guess_rdf_format,
    rdf_format_name,
    rdf_media_type,
)
from kg.namespaces import sparql_prologue
from kg.store.base import Bindings, LoadReport, QueryResult, Store, StoreCapabilities, Term
from kg.store.oxigraph import _RDF, _syntax_error_line, with_values

_ALL_QUADS = ("{ GRAPH ?g { ?s ?p ?o } } UNION "
              "{ ?s ?p ?o FILTER NOT EXISTS { GRAPH ?g2 { ?s ?p ?o } } }")
"""Every quad once, whether or not the endpoint's default graph is the union of its named graphs."""


def _term(d: dict[str, Any]) -> Term:
    kind = d["type"]
    if kind == "typed-literal":
        kind = "literal"
    return Term(kind, d["value"], d.get("datatype"), d.get("xml:lang"))


def _with_prologue(sparql: str) -> str:
    """Declare MCRAG's prefixes unless the text declares its own (a redeclared prefix is legal)."""
    return sparql_prologue() + sparql


class RemoteSparqlStore(Store):
    """A store reached over HTTP with the SPARQL 1.1 Protocol."""

    def __init__(self, query_url: str, update_url: str | None = None, gsp_url: str | None = None, *,
                 token: str | None = None, timeout: float = 60.0, read_only: bool = False) -> None:
        self.location = query_url
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp_url = gsp_url
        self.read_only = read_only
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(timeout=timeout, headers=headers)
        self.capabilities = StoreCapabilities(
            persistent=True,
            atomic_load=True,  # one GSP request or one INSERT DATA update
            atomic_update=True,
            native_parsers=True,
            graph_store_protocol=gsp_url is not None,
            query_cancellation=True,  # the client stops waiting; the server enforces its own limit
        )

    # -- HTTP helpers ----------------------------------------------------------------------------
    def _post(self, url: str, *, timeout: float | None = None, **kwargs: Any) -> httpx.Response:
        try:
            resp = self._http.post(url, timeout=timeout or self._http.timeout, **kwargs)
        except httpx.TimeoutException:
            raise QueryTimeoutError(f"{url} did not answer within the time limit") from None
        except httpx.HTTPError as err:
            raise StoreUnavailableError(f"SPARQL endpoint {url} is unreachable: {err}") from None
        self._raise_for(resp, url)
        return resp

    @staticmethod
    def _raise_for(resp: httpx.Response, url: str) -> None:
        if resp.status_code < 400:
            return
        text = resp.text[:2000]
        if resp.status_code == 400:
            raise MalformedQueryError(f"endpoint rejected the request: {text}")
        if resp.status_code in (401, 403):
            raise ReadOnlyStoreError(f"endpoint {url} refused the write ({resp.status_code}): {text}")
        if resp.status_code in (408, 503, 504) and "time" in text.lower():
            raise QueryTimeoutError(text)
        if resp.status_code == 413:
            raise ResultTooLargeError(text)
        raise KGError(f"endpoint {url} answered {resp.status_code}: {text}")

    # -- queries ---------------------------------------------------------------------------------
    def query(self, sparql: str, *, timeout: float | None = None, max_rows: int | None = None,
              union_default_graph: bool = True, bindings: Bindings | None = None) -> QueryResult:
        accept = f"{RESULTS_FORMATS['json']}, application/n-triples;q=0.9"
        if bindings:
            sparql = with_values(sparql, bindings)
        resp = self._post(self.query_url, timeout=timeout, data={"query": _with_prologue(sparql)},
                          headers={"Accept": accept})
        ctype = resp.headers.get("content-type", "")
        if "n-triples" in ctype or "turtle" in ctype:
            triples = []
            for t in ox.parse(resp.content, format=ox.RdfFormat.N_TRIPLES if "n-triples" in ctype else ox.RdfFormat.TURTLE):
                from kg.store.oxigraph import term_from_ox

                triples.append((term_from_ox(t.subject), term_from_ox(t.predicate), term_from_ox(t.object)))
            return QueryResult("graph", triples=triples)
        payload = json.loads(resp.content)
        if "boolean" in payload:
            return QueryResult("ask", boolean=bool(payload["boolean"]))
        variables: list[str] = list(payload["head"].get("vars", []))
        solutions: list[dict[str, dict[str, Any]]] = payload["results"]["bindings"]
        if max_rows is not None and len(solutions) > max_rows:
            raise ResultTooLargeError(f"query returned more than {max_rows} results; add a LIMIT")
        rows = [tuple(_term(b[v]) if v in b else None for v in variables) for b in solutions]
        return QueryResult("select", variables=variables, rows=rows)

    def query_serialized(self, sparql: str, results_format: ResultsFormatName, *, timeout: float | None = None,
                         union_default_graph: bool = True) -> tuple[bytes, str]:
        accept = f"{RESULTS_FORMATS[results_format]}, application/n-triples;q=0.9"
        resp = self._post(self.query_url, timeout=timeout, data={"query": _with_prologue(sparql)},
                          headers={"Accept": accept})
        return resp.content, resp.headers.get("content-type", RESULTS_FORMATS[results_format])

    # -- writes ----------------------------------------------------------------------------------
    def _writable(self) -> None:
        if self.read_only:
            raise ReadOnlyStoreError(f"store {self.location} is configured read-only")

    def update(self, sparql: str) -> None:
        self._writable()
        self._post(self.update_url, content=_with_prologue(sparql).encode("utf-8"),
                   headers={"Content-Type": "application/sparql-update"})
        self._wrote()

    def load(self, source: Path | bytes | str, fmt: RdfFormatName | None = None, *, graph: str | None = None,
             base_iri: str | None = None, source_name: str | None = None, bulk: bool | None = None) -> LoadReport:
        """One Graph Store Protocol request or one INSERT DATA update (``bulk`` changes nothing here)."""
        self._writable()
        is_path = isinstance(source, Path)
        name = source_name or (str(source) if is_path else "<input>")
        if fmt is None:
            if not is_path:
                raise ValueError("format is required when loading bytes")
            fmt = guess_rdf_format(source)  # type: ignore[arg-type]
        fmt = rdf_format_name(fmt)
        if isinstance(source, Path):
            data = source.read_bytes()
        else:
            data = source.encode() if isinstance(source, str) else source
        if fmt == "rdfxml":
            from kg.store.xml_guard import check_rdfxml

            check_rdfxml(data, name)
        # Parse locally first (native parser): a malformed file is reported with its line and never sent.
        staging = ox.Store()
        try:
            kwargs: dict[str, Any] = {"format": _RDF[fmt], "base_iri": base_iri or "https://w3id.org/mcrag/base/"}
            if graph:
                kwargs["to_graph"] = ox.NamedNode(graph)
            staging.load(data, **kwargs)
        except SyntaxError as err:
            msg = err.args[0] if err.args else str(err)
            raise MalformedRDFError(f"{msg} (nothing was loaded)", source=name, line=_syntax_error_line(err)) from None
        before = self.count()
        nquads = ox.serialize(staging, format=ox.RdfFormat.N_QUADS)
        if self.gsp_url and graph and fmt not in QUAD_FORMATS:
            self._post(self.gsp_url, params={"graph": graph}, content=data,
                       headers={"Content-Type": rdf_media_type(fmt)})
        elif self.gsp_url and not graph:
            self._post(self.gsp_url, content=nquads, headers={"Content-Type": "application/n-quads"})
        else:
            self._post(self.update_url, content=self._insert_data(staging).encode("utf-8"),
                       headers={"Content-Type": "application/sparql-update"})
        self._wrote()
        return LoadReport(name, fmt, graph, before, self.count())

    @staticmethod
    def _insert_data(staging: ox.Store) -> str:
        parts = ["INSERT DATA {"]
        by_graph: dict[str, list[str]] = {}
        for q in staging:
            key = "" if isinstance(q.graph_name, ox.DefaultGraph) else str(q.graph_name)
            by_graph.setdefault(key, []).append(f"{q.subject} {q.predicate} {q.object} .")
        for g, lines in by_graph.items():
            if g:
                parts.append(f"GRAPH {g} {{")
            parts.extend(lines)
            if g:
                parts.append("}")
        parts.append("}")
        return "\n".join(parts)

    def export(self, out: BinaryIO, fmt: RdfFormatName, *, graph: str | None = None) -> None:
        fmt = rdf_format_name(fmt)
        if graph:
            sparql = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
            triples = self.query(sparql).triples
            text = "".join(f"{s.n3()} {p.n3()} {o.n3()} .\n" for s, p, o in triples)
            quads = ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES)
            ox.serialize(quads, out, format=_RDF[fmt])
            return
        rows = self.query(f"SELECT ?s ?p ?o ?g WHERE {{ {_ALL_QUADS} }}", union_default_graph=False).rows
        lines = []
        for s, p, o, g in rows:
            assert s is not None and p is not None and o is not None
            lines.append(f"{s.n3()} {p.n3()} {o.n3()}{' ' + g.n3() if g else ''} .\n")
        staging = ox.Store()
        staging.load("".join(lines).encode(), format=ox.RdfFormat.N_QUADS)
        if fmt in QUAD_FORMATS:
            ox.serialize(staging, out, format=_RDF[fmt])
        else:
            ox.serialize((ox.Triple(q.subject, q.predicate, q.object) for q in staging), out, format=_RDF[fmt])

    def named_graphs(self) -> list[str]:
        res = self.query("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(v for v in res.column("g") if v)

    def count(self, graph: str | None = None) -> int:
        if graph:
            q = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        else:
            q = f"SELECT (COUNT(*) AS ?n) WHERE {{ {_ALL_QUADS} }}"
        value = self.query(q).column("n")[0]
        return int(value or 0)

    def clear(self, graph: str | None = None) -> None:
        self.update(f"CLEAR GRAPH <{graph}>" if graph else "CLEAR ALL")

    def close(self) -> None:
        self._http.close()
