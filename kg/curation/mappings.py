"""SKOS mappings of a concept to HPO, DOID and MeSH, added and removed as audited, undoable acts.

A curator maps a concept with ``skos:exactMatch``, ``skos:closeMatch`` or ``skos:broadMatch`` to an
external term given as a CURIE (``HP:0002202``, ``DOID:552``, ``MESH:D010996``) or its IRI. An added
mapping goes into the ``curated`` graph; a removed one leaves every graph that held it. Each act is a
revision of the concept (``kg.revisions``: one ``mcrag:change`` named after the SKOS property), is
checked against the SHACL shapes first (an exact match is never also a broader match) and is undone
by :func:`undo_mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from kg.claims import EXTERNAL_PREFIXES, external_iri
from kg.curation.index import CurationIndex, adopt_write
from kg.errors import CurationConflictError, CurationError, ShapeViolationError, UnknownClaimError
from kg.namespaces import NAMED_GRAPHS, SKOS
from kg.revisions import (
    CurationRecord,
    FieldChange,
    curator_iri,
    iri_nt,
    new_activity_iri,
    parse_nt_term,
    read_revisions,
    revision_statements,
)
from kg.store.base import Store, Term

MAPPING_PROPERTIES: dict[str, str] = {"exact": str(SKOS.exactMatch), "close": str(SKOS.closeMatch),
                                      "broad": str(SKOS.broadMatch)}
"""Mapping kind -> SKOS property."""
MAPPING_SCHEMES: tuple[str, ...] = ("HP", "DOID", "MESH")
"""Terminologies a curator maps to: the Human Phenotype Ontology, the Disease Ontology and MeSH."""

CONCEPT_BY_NAME_QUERY = """SELECT DISTINCT ?c WHERE {
  ?c skos:prefLabel|skos:altLabel|rdfs:label ?l FILTER (LCASE(STR(?l)) = ?name)
  FILTER NOT EXISTS { ?c a mcrag:CausalClaim } } LIMIT 6"""
"""Concepts whose label or synonym is ``?name`` (bound, lower case)."""

MAPPINGS_QUERY = """SELECT ?p ?t WHERE {{ {concept} ?p ?t FILTER (?p IN (skos:exactMatch, skos:closeMatch, skos:broadMatch)) }}"""


def resolve_concept_iri(store: Store, name: str) -> str:
    """A concept IRI from its IRI, label or synonym; CurationError when none or several match."""
    text = name.strip().strip("<>")
    if text.startswith(("http://", "https://")):
        try:
            iri = ox.NamedNode(text).value
        except ValueError:
            raise CurationError(f"{name!r} is not a valid IRI") from None
        if not store.ask(f"ASK {{ {iri_nt(iri)} skos:prefLabel|rdfs:label ?l }}"):
            raise UnknownClaimError(f"no concept {iri} in the store")
        return iri
    found = sorted(r["c"] or "" for r in store.select(CONCEPT_BY_NAME_QUERY, bindings={"name": Term.literal(text.lower())}))
    if not found:
        raise UnknownClaimError(f"no concept named {name!r} (label or synonym)")
    if len(found) > 1:
        raise CurationError(f"{name!r} names several concepts ({', '.join(found[:5])}); give the IRI")
    return found[0]


def mapping_target(target: str) -> str:
    """The IRI of an HPO, DOID or MeSH term from its CURIE or IRI."""
    text = target.strip().strip("<>")
    if text.startswith(("http://", "https://")):
        bases = [EXTERNAL_PREFIXES[p] for p in MAPPING_SCHEMES]
        if not any(text.startswith(b) and len(text) > len(b) for b in bases):
            raise CurationError(f"{text} is not an HPO, DOID or MeSH term IRI")
        return ox.NamedNode(text).value
    prefix = text.split(":", 1)[0].upper()
    if prefix not in MAPPING_SCHEMES or ":" not in text or not text.split(":", 1)[1].strip():
        raise CurationError(f"{target!r} is not an HPO, DOID or MeSH id; write HP:0002202, DOID:552 or MESH:D010996")
    local = text.split(":", 1)[1].strip()
    if not local.replace("_", "").isalnum():
        raise CurationError(f"{target!r} is not an HPO, DOID or MeSH id")
    return external_iri(f"{prefix}:{local}")


def concept_mappings(store: Store, concept: str) -> dict[str, list[str]]:
    """The concept's exact, close and broad matches."""
    kinds = {v: k for k, v in MAPPING_PROPERTIES.items()}
    out: dict[str, list[str]] = {k: [] for k in MAPPING_PROPERTIES}
    for r in store.select(MAPPINGS_QUERY.format(concept=iri_nt(concept))):
        if r["p"] in kinds and r["t"] and r["t"] not in out[kinds[r["p"]]]:
            out[kinds[r["p"]]].append(r["t"])
    return out


@dataclass(frozen=True)
class _MappingChange:
    concept: str
    prop: str
    target: str
    add: bool


def _check_shapes(store: Store, change: _MappingChange, prov: list[str]) -> None:
    from kg.curation.conformance import apply, neighbourhood, new_violations

    before = neighbourhood(store, [], [change.concept])
    statement = f"{iri_nt(change.concept)} {iri_nt(change.prop)} {iri_nt(change.target)} ."
    after = apply(before, [] if change.add else [statement], ([statement] if change.add else []) + prov)
    found = new_violations(before, after, [change.concept])
    if found:
        raise ShapeViolationError(f"refused by the SHACL shapes, nothing was changed: {found[0].focus_node}: "
                                  f"{found[0].message}", violations=tuple(str(v) for v in found))


def _write(store: Store, change: _MappingChange, action: str, curator: str, reason: str,
           undoes: str | None = None) -> CurationRecord:
    if not curator or not curator.strip():
        raise CurationError("a curation act needs the curator's identity (--curator or $MCRAG_CURATOR)")
    if not reason or not reason.strip():
        raise CurationError("a curation act needs a reason")
    field = change.prop.rsplit("#", 1)[-1]
    target_nt = iri_nt(change.target)
    fc = FieldChange(field, None if change.add else target_nt, target_nt if change.add else None)
    now = datetime.now(UTC)
    act = new_activity_iri("curate", now)
    prov = revision_statements(activity=act, claim=change.concept, action=action, agent=curator_iri(curator),
                               agent_label=curator, reason=reason, when=now, previous_status=None, new_status=None,
                               from_version=None, to_version=None, changes=[fc], undoes=undoes)
    _check_shapes(store, change, prov)
    c, p = iri_nt(change.concept), iri_nt(change.prop)
    curated = iri_nt(NAMED_GRAPHS["curated"])
    nl = "\n  "
    if change.add:
        update = f"""INSERT {{ GRAPH {curated} {{ {c} {p} {target_nt} .
  {nl.join(prov)} }} }}
WHERE {{ FILTER NOT EXISTS {{ {c} {p} {target_nt} }} }}"""
    else:
        update = f"""DELETE {{ GRAPH ?g {{ {c} {p} {target_nt} }} }}
INSERT {{ GRAPH {curated} {{
  {nl.join(prov)} }} }}
WHERE {{ GRAPH ?g {{ {c} {p} {target_nt} }} }}"""
    before = store.generation
    store.update(update)

    def patch(index: CurationIndex) -> None:
        kind = next(k for k, v in MAPPING_PROPERTIES.items() if v == change.prop)
        k = index.concepts.pos.get(change.concept)
        have = index.concept_mappings[k].get(kind, ()) if k is not None else ()
        index.patch_mappings(change.concept, kind, [*have, change.target] if change.add else
                             [t for t in have if t != change.target])

    written = store.ask(f"ASK {{ {iri_nt(act)} a prov:Activity }}")
    adopt_write(store, before, patch if written else None)
    if not written:
        raise CurationConflictError("the mapping changed while this act was written; nothing was changed")
    return CurationRecord(act, change.concept, action, curator.strip(), reason.strip(), now, None, None,
                          changes=(fc,), undoes=undoes)


def map_concept(store: Store, concept: str, kind: str, target: str, curator: str, reason: str, *,
                remove: bool = False) -> CurationRecord:
    """Add (or with ``remove``, withdraw) the mapping ``concept skos:<kind>Match target``."""
    if kind not in MAPPING_PROPERTIES:
        raise CurationError(f"mapping kind must be one of {', '.join(MAPPING_PROPERTIES)}, not {kind!r}")
    iri = resolve_concept_iri(store, concept)
    term = mapping_target(target)
    prop = MAPPING_PROPERTIES[kind]
    exists = store.ask(f"ASK {{ {iri_nt(iri)} {iri_nt(prop)} {iri_nt(term)} }}")
    if remove and not exists:
        raise CurationConflictError(f"{iri} has no skos:{kind}Match {term}; nothing to remove")
    if not remove and exists:
        raise CurationConflictError(f"{iri} already has skos:{kind}Match {term}")
    return _write(store, _MappingChange(iri, prop, term, not remove), "unmap" if remove else "map", curator, reason)


def undo_mapping(store: Store, concept: str, curator: str, reason: str) -> CurationRecord:
    """Revert the concept's latest mapping act that is not undone yet (if the mapping is still as it left it)."""
    iri = resolve_concept_iri(store, concept)
    open_acts = [r for r in read_revisions(store, iri) if r.action in ("map", "unmap") and r.undone_by is None
                 and r.changes]
    if not open_acts:
        raise CurationConflictError(f"concept {iri} has no mapping act left to undo")
    last = open_acts[-1]
    ch = last.changes[0]
    prop = next((p for p in MAPPING_PROPERTIES.values() if p.rsplit("#", 1)[-1] == ch.field), None)
    term_nt = ch.new or ch.old
    if prop is None or term_nt is None:
        raise CurationConflictError(f"cannot read the mapping act {last.activity}; nothing was changed")
    target = parse_nt_term(term_nt).value
    exists = store.ask(f"ASK {{ {iri_nt(iri)} {iri_nt(prop)} {iri_nt(target)} }}")
    added = last.action == "map"
    if exists != added:
        raise CurationConflictError(f"cannot undo {last.action} of {last.time.isoformat()}: the mapping has changed "
                                    "since; nothing was changed")
    return _write(store, _MappingChange(iri, prop, target, not added), "undo", curator, reason, undoes=last.activity)


__all__ = ["MAPPING_PROPERTIES", "MAPPING_SCHEMES", "concept_mappings", "map_concept", "mapping_target",
           "resolve_concept_iri", "undo_mapping"]
