"""REST API beside the SPARQL endpoint: causal evidence, claims and their neighbourhood, the web UI.

User input reaches SPARQL only as a claim id checked against its pattern or as an IRI that
``kg.claim_reader`` checks before it writes it into a ``VALUES`` block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from kg.claim_reader import read_claim
from kg.errors import UnknownClaimError
from kg.store import Store
from mcrag.service import curation_api, infer_api
from mcrag.service.auth import require_read
from mcrag.service.claim_ids import CLAIM_ID_PATTERN, claim_iri
from mcrag.service.graphview import neighbourhood, render_svg
from mcrag.settings import Settings

WEB = Path(__file__).resolve().parent.parent / "web"
router = APIRouter(prefix="/api")


def _ctx(request: Request) -> tuple[Store, Settings]:
    settings: Settings = request.app.state.settings
    require_read(request, settings)
    return request.app.state.store, settings


@router.get("/evidence", tags=["evidence"], summary="Causal subgraph around findings or concepts")
async def evidence(request: Request,
                   finding: Annotated[list[str], Query(description="Open-i finding names, e.g. Effusion")] = [],  # noqa: B006
                   concept: Annotated[list[str], Query(description="Concept IRIs")] = [],  # noqa: B006
                   hops: Annotated[int, Query(ge=0, le=4)] = 2,
                   max_edges: Annotated[int, Query(ge=1, le=500)] = 60,
                   include_proposed: Annotated[bool, Query(description="Also proposed edges, marked as not "
                                                                       "trusted")] = False,
                   all_scopes: Annotated[bool, Query(description="Every claim scope, not only chest and "
                                                                 "cardiopulmonary")] = False) -> dict[str, Any]:
    """Accepted and validated chest edges by default; proposed ones (marked) and other scopes only when asked."""
    from reasoning.evidence import CHEST_SCOPES, causal_subgraph, concept_iris_for

    store, _ = _ctx(request)
    seeds = list(concept_iris_for(finding)) + concept
    unknown = [f for f in finding if not concept_iris_for([f])]
    if unknown:
        raise HTTPException(422, f"unknown finding name(s): {', '.join(unknown)}")
    if not seeds:
        raise HTTPException(422, "give at least one finding= or concept=")
    for c in concept:
        if not c.startswith(("http://", "https://", "urn:")) or any(ch in c for ch in "<>\"{}| \\^`"):
            raise HTTPException(422, f"not an IRI: {c!r}")
    sub = await run_in_threadpool(lambda: causal_subgraph(store, seeds, hops=hops, max_edges=max_edges,
                                                          include_proposed=include_proposed,
                                                          scopes=None if all_scopes else CHEST_SCOPES))
    return sub.to_json()


@router.get("/claims/{claim_id}/neighbourhood.svg", tags=["claims"], summary="Picture of a claim's neighbourhood",
            response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
async def claim_neighbourhood(request: Request, claim_id: Annotated[str, PathParam(pattern=CLAIM_ID_PATTERN)],
                              hops: Annotated[int, Query(ge=1, le=3)] = 1) -> Response:
    store, _ = _ctx(request)
    iri = claim_iri(claim_id)
    try:
        claim = await run_in_threadpool(read_claim, store, iri)
    except UnknownClaimError:
        raise HTTPException(404, f"no claim {claim_id}") from None
    edges = await run_in_threadpool(neighbourhood, store, list(claim.pair), hops)
    return Response(render_svg(edges, highlight=iri), media_type="image/svg+xml")


def register_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` from files installed with the package, so the page works offline."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Any:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title="MCRAG API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")


def register(app: FastAPI) -> None:
    """Mount the API, the curation and inference routes, and the web UI."""
    app.include_router(router)
    app.include_router(curation_api.router)
    app.include_router(infer_api.router)

    register_docs(app)

    @app.get("/api/prefixes", tags=["service"], summary="The prefixes SPARQL text may use without declaring them")
    async def prefixes() -> dict[str, str]:
        from kg.namespaces import PREFIXES

        return dict(PREFIXES)

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/ui/")

    @app.get("/ui/", include_in_schema=False)
    async def ui_index() -> FileResponse:
        return FileResponse(WEB / "index.html", media_type="text/html")

    @app.get("/ui/{asset}", include_in_schema=False)
    async def ui_asset(asset: str) -> FileResponse:
        allowed = {"app.js": "text/javascript", "style.css": "text/css", "index.html": "text/html"}
        if asset not in allowed:
            raise HTTPException(404, "no such asset")
        return FileResponse(WEB / asset, media_type=allowed[asset])
