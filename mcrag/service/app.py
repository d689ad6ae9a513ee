"""FastAPI application factory: one process serves the SPARQL endpoint, the REST API and the UI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kg.errors import KGError
from kg.store import Store, open_store
from mcrag import __version__
from mcrag.service import api, sparql
from mcrag.settings import Settings, load_settings


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """Build the service; ``store`` may be passed in (tests), else it is opened from the settings."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = store is None
        app.state.store = store or open_store(settings.store_location, token=settings.token,
                                              update_url=settings.update_url, gsp_url=settings.gsp_url)
        try:
            yield
        finally:
            if own:
                app.state.store.close()

    app = FastAPI(title="MCRAG", version=__version__, lifespan=lifespan,
                  description="Causal knowledge graph with a SPARQL 1.1 endpoint, evidence, inference and curation.")
    app.state.settings = settings
    if store is not None:
        app.state.store = store
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"],
                           allow_headers=["*"])

    @app.exception_handler(KGError)
    async def _kg_error(_: Request, err: KGError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=400)

    @app.get("/health", tags=["service"])
    async def health() -> dict[str, object]:
        st: Store = app.state.store
        return {"status": "ok", "version": __version__, "store": st.location,
                "capabilities": st.capabilities.__dict__}

    app.include_router(sparql.router)
    api.register(app)
    return app
