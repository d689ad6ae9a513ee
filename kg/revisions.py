"""A claim revision: the PROV record of one act that changed a claim, written and read in one place.

A curator's accept / reject / edit / undo and a validation run's status move are the same kind of
record: a ``mcrag:CurationActivity`` (a ``prov:Activity``) that ``prov:used`` the claim, with who
(``prov:wasAssociatedWith``), when (``prov:endedAtTime``), why (``mcrag:reason``), what it did
(``mcrag:action``, ``mcrag:previousStatus`` / ``mcrag:newStatus``, and one ``mcrag:change`` per field
with the old and new value as N-Triples text) and which claim version it read and produced
(``mcrag:fromVersion`` / ``mcrag:toVersion``). A validation's move also says which run it came from
(``prov:wasInformedBy``). That record is what makes history and undo exact, whoever acted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from kg.claims import slug
from kg.namespaces import ID, MCRAG, XSD, mcrag_local
from kg.store.base import Store, Term

UNDOABLE_ACTIONS: tuple[str, ...] = ("accept", "reject", "edit", "validate")
"""Acts that ``undo`` may revert (an undo itself is not undone; a later act is)."""


@dataclass(frozen=True)
class FieldChange:
    """One field of one act: its value before and after, as N-Triples terms (``None`` = absent)."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class CurationRecord:
    """One entry of a claim's audit trail: a curation act, or a validation run's verdict."""

    activity: str
    claim: str
    action: str
    """``accept``, ``reject``, ``edit``, ``undo`` or ``validate``."""
    agent: str
    """The curator's name (or the validating software for ``validate``)."""
    reason: str
    time: datetime
    previous_status: str | None
    new_status: str | None
    from_version: int | None = None
    to_version: int | None = None
    changes: tuple[FieldChange, ...] = ()
    undoes: str | None = None
    undone_by: str | None = None
    informed_by: str | None = None
    """The validation run a ``validate`` act moved the status for."""
    part_of: str | None = None
    """The bulk act (``mcrag:BulkCurationActivity``) this revision belongs to, if any."""


# ------------------------------------------------------------------------------------ RDF terms
def parse_time(value: str | None) -> datetime | None:
    """An ``xsd:dateTime`` lexical form as an aware datetime (UTC when it names no zone)."""
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def term_nt(term: Term) -> str:
    """A result term back in N-Triples syntax (pyoxigraph escapes it)."""
    if term.kind == "uri":
        return str(ox.NamedNode(term.value))
    if term.kind == "bnode":
        return str(ox.BlankNode(term.value))
    if term.lang:
        return str(ox.Literal(term.value, language=term.lang))
    if term.datatype:
        return str(ox.Literal(term.value, datatype=ox.NamedNode(term.datatype)))
    return str(ox.Literal(term.value))


def parse_nt_term(text: str) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Parse one N-Triples term (as stored in a change record)."""
    quad = next(iter(ox.parse(f"<urn:x:s> <urn:x:p> {text} .".encode(), format=ox.RdfFormat.N_TRIPLES)))
    return quad.object


_NUMERIC = {str(XSD[t]) for t in ("decimal", "double", "float", "integer", "int", "long")}


def same_term(a: str | None, b: str | None) -> bool:
    """Equal as RDF values: the store may write ``"0.600000"^^xsd:decimal`` back as ``"0.6"``."""
    if a is None or b is None:
        return a is b
    if a == b:
        return True
    ta, tb = parse_nt_term(a), parse_nt_term(b)
    if isinstance(ta, ox.Literal) and isinstance(tb, ox.Literal) and ta.datatype.value in _NUMERIC \
            and tb.datatype.value in _NUMERIC:
        try:
            return float(ta.value) == float(tb.value)
        except ValueError:
            return False
    return False


def literal_nt(value: str | int | float, dtype: str | None = None) -> str:
    """A literal in N-Triples syntax: integers as ``xsd:integer``, floats as six-digit ``xsd:decimal``."""
    if isinstance(value, bool):
        raise TypeError("booleans are not curation values")
    if isinstance(value, int):
        return str(ox.Literal(str(value), datatype=ox.NamedNode(str(XSD.integer))))
    if isinstance(value, float):
        return str(ox.Literal(f"{value:.6f}", datatype=ox.NamedNode(str(XSD.decimal))))
    return str(ox.Literal(value, datatype=ox.NamedNode(dtype)) if dtype else ox.Literal(value))


def iri_nt(iri: str) -> str:
    """An IRI in N-Triples syntax (validated by pyoxigraph)."""
    return str(ox.NamedNode(iri))


def status_nt(status: str) -> str:
    return iri_nt(str(MCRAG[status]))


# ------------------------------------------------------------------------------------ writing
def curator_iri(curator: str) -> str:
    """The ``prov:Person`` a curator's name stands for."""
    return str(ID[f"agent/curator/{slug(curator)}"])


def new_activity_iri(kind: str, when: datetime) -> str:
    """A fresh activity IRI: ``id:activity/<kind>/<time>-<random>``."""
    import uuid

    return str(ID[f"activity/{kind}/{when.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}"])


def revision_statements(*, activity: str, claim: str, action: str, agent: str, agent_label: str,
                        agent_class: str = "prov:Person", reason: str, when: datetime, previous_status: str | None,
                        new_status: str | None, from_version: int | None, to_version: int | None,
                        changes: Sequence[FieldChange], undoes: str | None = None, informed_by: str | None = None,
                        part_of: str | None = None, generated: str | None = None) -> list[str]:
    """The triples (SPARQL/N-Triples statements, prefixed names allowed) of one revision of a claim.

    A revision of something without a status or a version (a concept's mappings, a comment) leaves
    those out; ``part_of`` names the bulk act it belongs to, ``generated`` what it made (a comment).
    """
    act = iri_nt(activity)
    ag = iri_nt(agent)
    out = [
        f"{act} a mcrag:CurationActivity ." if part_of else f"{act} a mcrag:CurationActivity , prov:Activity .",
        f"{act} mcrag:action {literal_nt(action)} .",
        f"{act} mcrag:reason {literal_nt(reason.strip())} .",
        f"{act} prov:used {iri_nt(claim)} .",
        f"{act} prov:wasAssociatedWith {ag} .",
        f"{act} prov:endedAtTime {literal_nt(when.isoformat(), str(XSD.dateTime))} .",
        f"{ag} a {agent_class} , prov:Agent .",
        f"{ag} rdfs:label {literal_nt(agent_label.strip())} .",
    ]
    if not part_of:  # a bulk act's member is labelled by the bulk act (and is a prov:Activity by the ontology)
        out.append(f"{act} rdfs:label {literal_nt(f'{action} by {agent_label.strip()}')} .")
    if previous_status is not None:
        out.append(f"{act} mcrag:previousStatus {status_nt(previous_status)} .")
    if new_status is not None:
        out.append(f"{act} mcrag:newStatus {status_nt(new_status)} .")
    if from_version is not None:
        out.append(f"{act} mcrag:fromVersion {literal_nt(from_version)} .")
    if to_version is not None:
        out.append(f"{act} mcrag:toVersion {literal_nt(to_version)} .")
    if part_of:
        out.append(f"{act} dcterms:isPartOf {iri_nt(part_of)} .")
    if generated:
        out.append(f"{act} prov:generated {iri_nt(generated)} .")
    if undoes:
        out.append(f"{act} mcrag:undoes {iri_nt(undoes)} .")
    if informed_by:
        out.append(f"{act} prov:wasInformedBy {iri_nt(informed_by)} .")
    for ch in changes:
        node = iri_nt(f"{activity}/change/{ch.field}")
        out += [f"{act} mcrag:change {node} .", f"{node} mcrag:field {literal_nt(ch.field)} ."]
        if ch.old is not None:
            out.append(f"{node} mcrag:oldValue {literal_nt(ch.old)} .")
        if ch.new is not None:
            out.append(f"{node} mcrag:newValue {literal_nt(ch.new)} .")
    return out


# ------------------------------------------------------------------------------------ reading
REVISIONS_QUERY = """SELECT ?c ?a ?action ?reason ?who ?t ?prev ?new ?fv ?tv ?undoes ?run ?bulk WHERE {{
  VALUES ?c {{ {values} }}
  ?a a mcrag:CurationActivity ; prov:used ?c ; mcrag:action ?action ; prov:endedAtTime ?t .
  OPTIONAL {{ ?a mcrag:reason ?reason }} OPTIONAL {{ ?a prov:wasAssociatedWith ?ag . ?ag rdfs:label ?who }}
  OPTIONAL {{ ?a mcrag:previousStatus ?prev }} OPTIONAL {{ ?a mcrag:newStatus ?new }}
  OPTIONAL {{ ?a mcrag:fromVersion ?fv }} OPTIONAL {{ ?a mcrag:toVersion ?tv }}
  OPTIONAL {{ ?a mcrag:undoes ?undoes }} OPTIONAL {{ ?a prov:wasInformedBy ?run }}
  OPTIONAL {{ ?a dcterms:isPartOf ?bulk }}
}}"""
"""The revisions of the ``{values}`` claims (a VALUES list of IRIs)."""

CHANGES_QUERY = """SELECT ?a ?f ?old ?new WHERE {{
  VALUES ?c {{ {values} }}
  ?a a mcrag:CurationActivity ; prov:used ?c ; mcrag:change ?ch . ?ch mcrag:field ?f .
  OPTIONAL {{ ?ch mcrag:oldValue ?old }} OPTIONAL {{ ?ch mcrag:newValue ?new }}
}} ORDER BY ?f"""

_EPOCH = datetime.min.replace(tzinfo=UTC)


def read_revisions(store: Store, claim: str) -> list[CurationRecord]:
    """Every revision of the claim, oldest first, each marked with the act that undid it (if any)."""
    return read_revisions_many(store, [claim]).get(claim, [])


def read_revisions_many(store: Store, claims: Sequence[str]) -> dict[str, list[CurationRecord]]:
    """:func:`read_revisions` of many claims in a few queries (300 claims each)."""
    out: dict[str, list[CurationRecord]] = {}
    todo = list(dict.fromkeys(c for c in claims if c))
    for k in range(0, len(todo), 300):
        values = " ".join(iri_nt(c) for c in todo[k:k + 300])
        rows = store.select(REVISIONS_QUERY.format(values=values))
        changes: dict[str, list[FieldChange]] = {}
        for r in store.select(CHANGES_QUERY.format(values=values)):
            fc = FieldChange(r["f"] or "", r["old"], r["new"])
            if fc not in changes.setdefault(r["a"] or "", []):
                changes[r["a"] or ""].append(fc)
        undone_by = {r["undoes"]: r["a"] for r in rows if r["undoes"]}
        records: dict[str, dict[str, CurationRecord]] = {}
        for r in rows:
            a, c = r["a"] or "", r["c"] or ""
            if a in records.setdefault(c, {}):
                continue
            records[c][a] = CurationRecord(
                activity=a, claim=c, action=r["action"] or "", agent=r["who"] or "", reason=r["reason"] or "",
                time=parse_time(r["t"]) or _EPOCH, previous_status=mcrag_local(r["prev"]),
                new_status=mcrag_local(r["new"]), from_version=int(float(r["fv"])) if r["fv"] else None,
                to_version=int(float(r["tv"])) if r["tv"] else None, changes=tuple(changes.get(a, ())),
                undoes=r["undoes"], undone_by=undone_by.get(a), informed_by=r["run"], part_of=r["bulk"])
        for c, recs in records.items():
            out[c] = sort_trail(recs.values())
    return out


def sort_trail(records: Iterable[CurationRecord]) -> list[CurationRecord]:
    """Oldest first; acts of the same instant in version order."""
    return sorted(records, key=lambda r: (r.time, r.to_version or 0, r.activity))
