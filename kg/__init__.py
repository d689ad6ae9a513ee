"""Knowledge-graph layer: ontology, provenance-tracked causal claims and the RDF store seam.

This is the bottom layer: it imports nothing from ``reasoning``, ``vlm`` or the ``mcrag`` shell.
"""

from __future__ import annotations

from kg.errors import KGError, MalformedQueryError, MalformedRDFError, StoreUnavailableError
from kg.store import Store, StoreCapabilities, open_store

__all__ = [
    "KGError",
    "MalformedQueryError",
    "MalformedRDFError",
    "Store",
    "StoreCapabilities",
    "StoreUnavailableError",
    "open_store",
]
