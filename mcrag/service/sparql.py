"""SPARQL 1.1 Protocol: GET/POST query and POST update at ``/sparql``.

Queries run in a worker thread under a deadline: the client gets a clear 503 when the limit passes
and the server goes on serving; streaming results also stop at the deadline inside the store.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from kg.errors import MalformedQueryError, QueryTimeoutError, ResultTooLargeError
from kg.results_format import to_csv, to_ntriples, to_sparql_json, to_sparql_xml, to_tsv
from kg.store.base import QueryResult, Store
from mcrag.service.auth import require_read, require_write
from mcrag.settings import Settings

router = APIRouter(tags=["sparql"])

_RESULT_TYPES = [
    ("application/sparql-results+json", "json"),
    ("application/json", "json"),
    ("application/sparql-results+xml", "xml"),
    ("application/xml", "xml"),
    ("text/csv", "csv"),
    ("text/tab-separated-values", "tsv"),
]


def _negotiate(accept: str) -> tuple[str, str]:
    accept = accept.lower()
    best: tuple[float, int, str, str] | None = None
    for part in accept.split(","):
        fields = part.strip().split(";")
        media = fields[0].strip()
        q = 1.0
        for f in fields[1:]:
            if f.strip().startswith("q="):
                try:
                    q = float(f.strip()[2:])
                except ValueError:
                    q = 0.0
        for rank, (mt, name) in enumerate(_RESULT_TYPES):
            if media in (mt, "*/*", "application/*") or (media == "text/*" and mt.startswith("text/")):
                cand = (q, -rank, mt, name)
                if best is None or cand > best:
                    best = cand
                break
    if best is None or best[0] <= 0:
        return "application/sparql-results+json", "json"
    return best[2], best[3]


def _render(result: QueryResult, accept: str) -> Response:
    if result.form == "graph":
        return Response(to_ntriples(result), media_type="application/n-triples")
    media, name = _negotiate(accept)
    if name == "xml":
        return Response(to_sparql_xml(result), media_type="application/sparql-results+xml")
    if name == "csv" and result.form == "select":
        return Response(to_csv(result), media_type="text/csv")
    if name == "tsv" and result.form == "select":
        return Response(to_tsv(result), media_type="text/tab-separated-values")
    return Response(to_sparql_json(result), media_type="application/sparql-results+json")


async def run_query(store: Store, settings: Settings, sparql: str) -> QueryResult:
    """Evaluate under the configured deadline and row limit; map failures to HTTP errors."""
    timeout = settings.query_timeout
    try:
        return await asyncio.wait_for(
            run_in_threadpool(store.query, sparql, timeout=timeout, max_rows=settings.max_rows), timeout=timeout)
    except TimeoutError:
        raise HTTPException(503, f"query ran past the {timeout:g} s time limit and was stopped") from None
    except QueryTimeoutError as err:
        raise HTTPException(503, str(err)) from None
    except MalformedQueryError as err:
        raise HTTPException(400, str(err)) from None
    except ResultTooLargeError as err:
        raise HTTPException(400, str(err)) from None


async def _read_body(request: Request) -> tuple[str | None, str | None]:
    """(query, update) from a POST in any of the protocol's three encodings."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    settings: Settings = request.app.state.settings
    raw = await request.body()
    if len(raw) > settings.max_upload_bytes:
        raise HTTPException(413, f"request body over {settings.max_upload_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "request body is not UTF-8") from None
    if ctype == "application/sparql-query":
        return text, None
    if ctype == "application/sparql-update":
        return None, text
    if ctype in ("application/x-www-form-urlencoded", ""):
        form = parse_qs(text, keep_blank_values=True)
        query = form.get("query", [None])[0]
        update = form.get("update", [None])[0]
        return query, update
    raise HTTPException(415, f"unsupported content type {ctype!r}; use application/sparql-query, "
                             "application/sparql-update or a form")


@router.get("/sparql", summary="SPARQL 1.1 query (GET)")
async def sparql_get(request: Request, query: str | None = None) -> Response:
    settings: Settings = request.app.state.settings
    require_read(request, settings)
    if not query:
        raise HTTPException(400, "missing 'query' parameter")
    result = await run_query(request.app.state.store, settings, query)
    return _render(result, request.headers.get("accept", ""))


@router.post("/sparql", summary="SPARQL 1.1 query or update (POST)",
             openapi_extra={"requestBody": {"content": {
                 "application/sparql-query": {"schema": {"type": "string"}},
                 "application/sparql-update": {"schema": {"type": "string"}},
                 "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                     "query": {"type": "string"}, "update": {"type": "string"}}}}}}})
async def sparql_post(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    query, update = await _read_body(request)
    if update is not None:
        require_write(request, settings)
        if not update.strip():
            raise HTTPException(400, "empty update")
        try:
            await run_in_threadpool(request.app.state.store.update, update)
        except MalformedQueryError as err:
            raise HTTPException(400, str(err)) from None
        return Response(status_code=204)
    require_read(request, settings)
    if not query:
        raise HTTPException(400, "missing query: send 'query' or 'update'")
    result = await run_query(request.app.state.store, settings, query)
    return _render(result, request.headers.get("accept", ""))


@router.post("/store", summary="Graph Store Protocol: add an RDF document to a graph (one transaction)",
             status_code=204, openapi_extra={"requestBody": {"content": {
                 m: {"schema": {"type": "string"}} for m in ("text/turtle", "application/n-triples",
                                                            "application/n-quads", "application/trig",
                                                            "application/rdf+xml", "application/ld+json")}}})
async def gsp_post(request: Request, graph: str | None = None, default: str | None = None) -> Response:
    from kg.errors import MalformedRDFError, UnsupportedFormatError
    from kg.formats import rdf_format_from_media_type
    from kg.namespaces import graph_iri

    settings: Settings = request.app.state.settings
    require_write(request, settings)
    try:
        fmt = rdf_format_from_media_type(request.headers.get("content-type", ""))
    except UnsupportedFormatError as err:
        raise HTTPException(415, str(err)) from None
    body = await request.body()
    if len(body) > settings.max_upload_bytes:
        raise HTTPException(413, f"request body over {settings.max_upload_bytes} bytes")
    target = graph_iri(graph) if graph else None
    if target is not None and not target.startswith(("http://", "https://", "urn:")):
        raise HTTPException(400, f"graph must be an absolute IRI or a known graph name, got {graph!r}")
    try:
        await run_in_threadpool(request.app.state.store.load, body, fmt, graph=target, source_name="request body")
    except MalformedRDFError as err:
        raise HTTPException(400, str(err)) from None
    return Response(status_code=204)
