"""Options and helpers shared by the command modules."""

from __future__ import annotations

import re
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from kg.store import Store, open_store
from mcrag.errors import UserInputError
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


_FULL_ID = re.compile(r"[0-9a-f]{20,64}")


class PlainTable(Table):
    """A rich table whose cells are shown as written: never read as markup, ids never cut short.

    Values come from the store (labels, estimands, mechanisms) and may hold brackets such as ``[red]``
    or ``[95% CI]``; rich would take those for style tags and drop them. A cell that is a claim hash
    keeps its full width, so what is shown can be pasted back into a command.
    """

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        cells = []
        for i, cell in enumerate(renderables):
            if isinstance(cell, str):
                if _FULL_ID.fullmatch(cell) and i < len(self.columns):
                    col = self.columns[i]
                    col.min_width = max(col.min_width or 0, len(cell))
                    col.no_wrap = True
                cell = Text(cell)
            cells.append(cell)
        super().add_row(*cells, **kwargs)


def resolve_claim(store: Store, text: str) -> str:
    """A claim IRI from what a user typed: an IRI, ``id:claim/<hash>``, the hash, or a unique prefix of it.

    Tables show ids in full, but a prefix is quicker to type: it is expanded when exactly one claim
    has it, and refused naming the candidates when several do.
    """
    from kg.claim_ids import claims_with_prefix

    bare = text.strip()
    if not re.fullmatch(r"[0-9a-f]{4,19}", bare):
        return text
    found = claims_with_prefix(store, bare)
    if not found:
        raise UserInputError(f"no claim id starts with {bare!r}; `mcrag curate queue` lists claims with their ids")
    if len(found) > 1:
        names = ", ".join(f.rsplit("/", 1)[-1] for f in found[:5])
        raise UserInputError(f"{bare!r} is the start of several claim ids ({names}{', ...' if len(found) > 5 else ''}); "
                             "type more of it")
    return found[0]
