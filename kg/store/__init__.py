"""Store seam and the factory that picks a backend from one location setting."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from kg.store.base import LoadReport, QueryResult, Store, StoreCapabilities, Term
from kg.store.oxigraph import OxigraphStore
from kg.store.remote import RemoteSparqlStore


def open_store(location: str | Path | None, *, token: str | None = None, read_only: bool = False,
               create: bool = True, update_url: str | None = None, gsp_url: str | None = None,
               read_only_fallback: bool = False) -> Store:
    """Open a store from one setting: a folder path, ``:memory:``, or a SPARQL endpoint URL.

    For a bare server root (``http://host:7878``) the Oxigraph server layout is assumed
    (``/query``, ``/update``, ``/store``); for any other URL the same URL serves query and update
    (SPARQL 1.1 Protocol), unless ``update_url`` / ``gsp_url`` say otherwise.
    """
    if location is None or str(location) == ":memory:":
        return OxigraphStore(None)
    text = str(location)
    if text.startswith(("http://", "https://")):
        parsed = urlparse(text)
        if parsed.path in ("", "/"):
            root = text.rstrip("/")
            return RemoteSparqlStore(f"{root}/query", update_url or f"{root}/update", gsp_url or f"{root}/store",
                                     token=token, read_only=read_only)
        return RemoteSparqlStore(text, update_url, gsp_url, token=token, read_only=read_only)
    return OxigraphStore(Path(text), create=create, read_only=read_only, read_only_fallback=read_only_fallback)


__all__ = [
    "LoadReport",
    "OxigraphStore",
    "QueryResult",
    "RemoteSparqlStore",
    "Store",
    "StoreCapabilities",
    "Term",
    "open_store",
]
