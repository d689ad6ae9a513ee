"""SPARQL 1.1 Protocol: GET/POST query and POST update at ``/sparql``.

A caller's SPARQL never runs in the server process: queries and trial runs of updates go to worker
processes (:mod:`kg.store.sandbox`) that are killed at the deadline or when they outgrow their memory
cap, so the client gets a clear 503 or 400 and the server's CPU and memory are its own again.
SERVICE and LOAD are refused unless their target is allow-listed. Bodies are counted while they
arrive and refused (413) at the limit, never buffered whole first.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from kg.errors import (
    KGError,
    MalformedQueryError,
    QueryTimeoutError,
    ReadOnlyStoreError,
    ResultTooLargeError,
    StoreUnavailableError,
)
from kg.namespaces import PREFIXES
from kg.results_format import render
from kg.store.base import Store
from kg.store.guard import RemoteAccessRefusedError, UncheckableQueryError, check_remote_access
from kg.store.oxigraph import OxigraphStore
from kg.store.sandbox import QuerySandbox, ResourceLimitError, SandboxBusyError, SandboxLimits
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


_sandbox_lock = threading.Lock()


def sandbox_for(app: Any) -> QuerySandbox | None:
    """The app's query workers, started on first use (``None`` for a remote store, which has its own limits)."""
    store: Store = app.state.store
    if not isinstance(store, OxigraphStore):
        return None
    with _sandbox_lock:
        sandbox: QuerySandbox | None = getattr(app.state, "sandbox", None)
        if sandbox is None or sandbox.store is not store:
            settings: Settings = app.state.settings
            sandbox = QuerySandbox(store, SandboxLimits(workers=settings.query_workers,
                                                        memory_mb=settings.query_memory_mb,
                                                        allow_remote=settings.remote_allow))
            app.state.sandbox = sandbox
        return sandbox


def http_error(err: KGError) -> HTTPException:
    """The status a store error means to a client: 4xx for the request's fault, 503 for limits and outages."""
    if isinstance(err, QueryTimeoutError | SandboxBusyError):
        return HTTPException(503, str(err), headers={"Retry-After": "5"})
    if isinstance(err, StoreUnavailableError):
        return HTTPException(503, str(err))
    if isinstance(err, ReadOnlyStoreError):
        return HTTPException(405, str(err))
    if isinstance(err, ResultTooLargeError | ResourceLimitError | RemoteAccessRefusedError |
                  UncheckableQueryError | MalformedQueryError):
        return HTTPException(400, str(err))
    return HTTPException(400, str(err))


def _query(app: Any, settings: Settings, sparql: str, fmt: str) -> tuple[bytes, str]:
    sandbox = sandbox_for(app)
    if sandbox is not None:
        return sandbox.query(sparql, fmt, timeout=settings.query_timeout, max_rows=settings.max_rows)
    check_remote_access(sparql, settings.remote_allow, PREFIXES)
    result = app.state.store.query(sparql, timeout=settings.query_timeout, max_rows=settings.max_rows)
    return render(result, fmt)


def _update(app: Any, settings: Settings, sparql: str) -> None:
    sandbox = sandbox_for(app)
    if sandbox is not None:
        sandbox.update(sparql, timeout=settings.query_timeout)
        return
    check_remote_access(sparql, settings.remote_allow, PREFIXES)
    app.state.store.update(sparql)


async def run_query(request: Request, sparql: str) -> Response:
    """Evaluate under the configured deadline, memory cap and row limit; map failures to HTTP errors."""
    settings: Settings = request.app.state.settings
    _, fmt = _negotiate(request.headers.get("accept", ""))
    try:
        body, media = await run_in_threadpool(_query, request.app, settings, sparql, fmt)
    except KGError as err:
        raise http_error(err) from None
    return Response(body, media_type=media)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it (or its declared length) passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise HTTPException(400, "Content-Length is not a number") from None
        if size > limit:
            raise HTTPException(413, f"request body of {size} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise HTTPException(413, f"request body over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_body(request: Request) -> tuple[str | None, str | None]:
    """(query, update) from a POST in any of the protocol's three encodings."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    settings: Settings = request.app.state.settings
    if ctype not in ("application/sparql-query", "application/sparql-update", "application/x-www-form-urlencoded", ""):
        raise HTTPException(415, f"unsupported content type {ctype!r}; use application/sparql-query, "
                                 "application/sparql-update or a form")
    raw = await read_body(request, settings.max_upload_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "request body is not UTF-8") from None
    if ctype == "application/sparql-query":
        return text, None
    if ctype == "application/sparql-update":
        return None, text
    try:
        form = parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=100)
    except ValueError as err:
        raise HTTPException(400, f"malformed form body: {err}") from None
    return form.get("query", [None])[0], form.get("update", [None])[0]


@router.get("/sparql", summary="SPARQL 1.1 query (GET)")
async def sparql_get(request: Request, query: str | None = None) -> Response:
    settings: Settings = request.app.state.settings
    require_read(request, settings)
    if not query:
        raise HTTPException(400, "missing 'query' parameter")
    return await run_query(request, query)


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
            await run_in_threadpool(_update, request.app, settings, update)
        except KGError as err:
            raise http_error(err) from None
        return Response(status_code=204)
    require_read(request, settings)
    if not query:
        raise HTTPException(400, "missing query: send 'query' or 'update'")
    return await run_query(request, query)


@router.post("/store", summary="Graph Store Protocol: add an RDF document to a graph (one transaction)",
             status_code=204, openapi_extra={"requestBody": {"content": {
                 m: {"schema": {"type": "string"}} for m in ("text/turtle", "application/n-triples",
                                                            "application/n-quads", "application/trig",
                                                            "application/rdf+xml", "application/ld+json")}}})
async def gsp_post(request: Request, graph: str | None = None, default: str | None = None) -> Response:
    from kg.errors import MalformedRDFError, UnsupportedFormatError
    from kg.formats import rdf_format_from_media_type
    from kg.load_claims import load_with_claims
    from kg.namespaces import graph_iri
    from mcrag import __version__

    settings: Settings = request.app.state.settings
    require_write(request, settings)
    try:
        fmt = rdf_format_from_media_type(request.headers.get("content-type", ""))
    except UnsupportedFormatError as err:
        raise HTTPException(415, str(err)) from None
    body = await read_body(request, settings.max_upload_bytes)
    target = graph_iri(graph) if graph else None
    if target is not None and not target.startswith(("http://", "https://", "urn:")):
        raise HTTPException(400, f"graph must be an absolute IRI or a known graph name, got {graph!r}")
    try:
        await run_in_threadpool(load_with_claims, request.app.state.store, body, fmt, target, __version__,
                                name="POST /store request body", extractor="mcrag serve: POST /store")
    except MalformedRDFError as err:
        raise HTTPException(400, str(err)) from None
    except KGError as err:
        raise http_error(err) from None
    return Response(status_code=204)
