"""``mcrag serve``: the HTTP service (SPARQL 1.1 Protocol, REST API, web UI)."""

from __future__ import annotations

import typer

from mcrag.commands.common import StoreOption
from mcrag.settings import load_settings


def serve(host: str = typer.Option("127.0.0.1", help="Interface to bind."),
          port: int = typer.Option(8000, help="TCP port."),
          store: str | None = StoreOption,
          query_timeout: float | None = typer.Option(None, help="Seconds before a query is stopped."),
          max_rows: int | None = typer.Option(None, help="Largest result a query may return.")) -> None:
    """Serve SPARQL (read-only unless MCRAG_TOKEN is set), the REST API and the web UI."""
    import uvicorn

    from mcrag.service.app import create_app

    settings = load_settings(store=store, query_timeout=query_timeout, max_rows=max_rows)
    app = create_app(settings)
    typer.echo(f"MCRAG serving {settings.store_location} at http://{host}:{port}/ "
               f"(SPARQL at /sparql, API docs at /docs; writes {'need the bearer token' if settings.token else 'disabled'})")
    # A keep-alive longer than typical client pools avoids the race where the server closes an idle
    # connection just as a client reuses it.
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_keep_alive=75)
