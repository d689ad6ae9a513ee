"""Options and helpers shared by the command modules."""

from __future__ import annotations

import typer

from kg.store import Store, open_store
from mcrag.settings import Settings, load_settings

StoreOption = typer.Option(None, "--store", "-s", help="Store folder, ':memory:' or SPARQL endpoint URL "
                           "(default: $MCRAG_STORE or var/store).")


def settings_for(store: str | None = None) -> Settings:
    return load_settings(store=store)


def open_configured_store(settings: Settings, *, create: bool = True, read_only: bool = False,
                          read_only_fallback: bool = False) -> Store:
    """The configured store; ``create=False`` never makes files, ``read_only_fallback`` reads unwritable folders."""
    return open_store(settings.store_location, token=settings.token, read_only=read_only, create=create,
                      update_url=settings.update_url, gsp_url=settings.gsp_url,
                      read_only_fallback=read_only_fallback)
