"""Every version of a claim, rebuilt from its revisions, and the field-by-field difference of any two.

A claim's current fields are in the store; each revision (``kg.revisions``) says which version it
read and produced and the old and new value of each field it changed. Walking the revisions back
from the current version gives the claim's fields at every earlier version; a version bump with no
revision (a validation run that confirmed the status) changed no field. Values are N-Triples terms;
:func:`readable` shows one the way a curator reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kg.curation.acts import _FIELD_PREDICATES, _read_state
from kg.curation.records import resolve_claim_iri
from kg.errors import CurationError
from kg.namespaces import PREFIXES, mcrag_local
from kg.revisions import FieldChange, parse_nt_term, read_revisions, same_term, term_nt

FIELDS: tuple[str, ...] = tuple(_FIELD_PREDICATES)
"""The fields a version holds (those an act may change)."""


def readable(term: str | None) -> str:
    """An N-Triples term as a curator reads it: ``mcrag:`` values by name, other IRIs prefixed, literals bare."""
    if term is None:
        return "(none)"
    try:
        node = parse_nt_term(term)
    except (SyntaxError, ValueError):
        return term
    value = node.value
    if term.startswith("<"):
        local = mcrag_local(value)
        if local != value:
            return str(local)
        best = max(((p, ns) for p, ns in PREFIXES.items() if value.startswith(ns) and len(value) > len(ns)),
                   key=lambda x: len(x[1]), default=None)
        return f"{best[0]}:{value[len(best[1]):]}" if best else value
    return value


def change_json(ch: FieldChange) -> dict[str, Any]:
    """A field change with its raw terms and their readable forms."""
    return {"field": ch.field, "old": ch.old, "new": ch.new, "old_text": readable(ch.old), "new_text": readable(ch.new)}


@dataclass(frozen=True)
class ClaimVersion:
    """The claim's fields at one version, and the act that produced that version (none for version 1)."""

    version: int
    values: dict[str, str | None]
    activity: str | None = None
    action: str | None = None
    agent: str | None = None
    time: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "values": self.values,
                "text": {k: readable(v) for k, v in self.values.items()}, "activity": self.activity,
                "action": self.action, "agent": self.agent, "time": self.time.isoformat() if self.time else None}


def claim_versions(store: Any, claim: str) -> list[ClaimVersion]:
    """The claim at every version from 1 to the current one, oldest first."""
    iri = resolve_claim_iri(claim)
    state = _read_state(store, iri)
    current = {f: (term_nt(state.terms[f][0]) if state.terms.get(f) else None) for f in FIELDS}
    by_to = {r.to_version: r for r in read_revisions(store, iri) if r.to_version is not None}
    out = []
    values = dict(current)
    for v in range(state.record.version, 0, -1):
        rev = by_to.get(v)
        out.append(ClaimVersion(v, dict(values), rev.activity if rev else None, rev.action if rev else None,
                                rev.agent if rev else None, rev.time if rev else None))
        if rev is not None:
            for ch in rev.changes:
                if ch.field in values:
                    values[ch.field] = ch.old
    return list(reversed(out))


def compare_versions(store: Any, claim: str, a: int, b: int) -> list[FieldChange]:
    """The fields that differ between versions ``a`` and ``b`` of the claim (old = at ``a``, new = at ``b``)."""
    versions = {v.version: v for v in claim_versions(store, claim)}
    for n in (a, b):
        if n not in versions:
            raise CurationError(f"claim has versions 1 to {max(versions)}; there is no version {n}")
    va, vb = versions[a].values, versions[b].values
    return [FieldChange(f, va.get(f), vb.get(f)) for f in FIELDS if not same_term(va.get(f), vb.get(f))]


__all__ = ["FIELDS", "ClaimVersion", "change_json", "claim_versions", "compare_versions", "readable"]
