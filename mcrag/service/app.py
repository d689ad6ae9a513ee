"""FastAPI application factory: one process serves the SPARQL endpoint, the REST API and the UI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kg.errors import KGError
from kg.store import Store, open_store
from mcrag import __version__
from mcrag.service import api, curation_api, sparql
from mcrag.service.limits import BodyLimit
from mcrag.settings import Settings, load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the service; ``store`` may be passed in (tests), else it is opened from the settings."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = store is None
        app.state.store = store or open_store(settings.store_location, token=settings.token,
                                              update_url=settings.update_url, gsp_url=settings.gsp_url)
        sparql.sandbox_for(app)  # query workers start with the server, not on the first query
        curation_api.warm_index(app.state.store)  # search's index is built while the server starts answering
        try:
            yield
        finally:
            sandbox = getattr(app.state, "sandbox", None)
            if sandbox is not None:
                sandbox.close()
                app.state.sandbox = None
            if own:
                app.state.store.close()

    app = FastAPI(title="MCRAG", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Causal knowledge graph with a SPARQL 1.1 endpoint, evidence, inference and curation.")
    app.state.settings = settings
    if store is not None:
        app.state.store = store
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"],
                           allow_headers=["*"])

    @app.exception_handler(KGError)
    async def _kg_error(_: Request, err: KGError) -> JSONResponse:
        from mcrag.service.sparql import http_error

        mapped = http_error(err)
        return JSONResponse({"detail": mapped.detail}, status_code=mapped.status_code, headers=mapped.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, err: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse({"detail": f"internal error ({type(err).__name__}); the request changed nothing "
                                       "that was not committed, and the server goes on serving"}, status_code=500)

    @app.get("/health", tags=["service"])
    async def health() -> dict[str, object]:
        st: Store = app.state.store
        return {"status": "ok", "version": __version__, "store": st.location,
                "capabilities": st.capabilities.__dict__}

    app.include_router(sparql.router)
    api.register(app)
    return app
