"""Claim ids as people type them: the stored claims whose hash starts with a given prefix."""

from __future__ import annotations

from kg.namespaces import ID
from kg.store.base import Store, Term


def claims_with_prefix(store: Store, prefix: str, limit: int = 6) -> list[str]:
    """IRIs of up to ``limit`` claims whose id starts with ``prefix`` (sorted)."""
    rows = store.select("SELECT DISTINCT ?c WHERE { ?c a mcrag:CausalClaim FILTER(STRSTARTS(STR(?c), ?p)) } "
                        f"LIMIT {int(limit)}", bindings={"p": Term.literal(str(ID["claim/"]) + prefix)})
    return sorted(r["c"] or "" for r in rows)
