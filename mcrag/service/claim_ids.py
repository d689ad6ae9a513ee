"""Claim ids in URLs: the hash after ``id:claim/``, checked by a pattern before any query runs."""

from __future__ import annotations

from kg.namespaces import ID

CLAIM_ID_PATTERN = r"^[0-9a-f]{8,64}$"


def claim_iri(claim_id: str) -> str:
    """A claim's IRI from its id (the hash after ``id:claim/``)."""
    return str(ID[f"claim/{claim_id}"])
