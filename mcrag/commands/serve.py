"""``mcrag serve``: the HTTP service (SPARQL 1.1 Protocol, REST API, web UI)."""

from __future__ import annotations

import errno
import socket

import typer

from mcrag.commands.common import StoreOption, open_configured_store
from mcrag.errors import UserInputError
from mcrag.settings import load_settings

SHUTDOWN_GRACE_S = 2
"""After SIGTERM, how long requests in flight may take to finish before the server stops anyway."""


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is announced (a busy port is one clear error)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise UserInputError(f"port {port} on {host} is already in use; pick another with --port") from None
        raise UserInputError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(host: str = typer.Option("127.0.0.1", help="Interface to bind."),
          port: int = typer.Option(8000, help="TCP port."),
          store: str | None = StoreOption,
          query_timeout: float | None = typer.Option(None, help="Seconds before a query is stopped."),
          max_rows: int | None = typer.Option(None, help="Largest result a query may return.")) -> None:
    """Serve SPARQL (read-only unless MCRAG_TOKEN is set), the REST API and the web UI."""
    import uvicorn

    from mcrag.service.app import create_app

    if not 0 < port < 65536:
        raise UserInputError(f"--port must be between 1 and 65535, got {port}")
    settings = load_settings(store=store, query_timeout=query_timeout, max_rows=max_rows)
    st = open_configured_store(settings, read_only_fallback=True)  # a locked or unreadable store fails here
    try:
        sock = _bind(host, port)
        app = create_app(settings, store=st)
        writes = "need the bearer token" if settings.token else "disabled"
        if st.read_only:
            writes = "impossible (the store is read-only)"
        banner = (f"MCRAG serving {settings.store_location} at http://{host}:{port}/ "
                  f"(SPARQL at /sparql, API docs at /docs; writes {writes})")

        class _Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets)
                if self.started:  # only now does the port answer
                    typer.echo(banner)

        # A keep-alive longer than typical client pools avoids the race where the server closes an idle
        # connection just as a client reuses it.
        config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=75,
                                timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
        _Server(config).run(sockets=[sock])
    finally:
        st.close()
