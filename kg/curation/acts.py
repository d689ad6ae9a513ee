"""The write side of curation: accept, reject, edit and undo, each one guarded, audited SPARQL update.

Concurrency is optimistic: an act names the ``mcrag:version`` it read; the write is one SPARQL update
whose every operation is guarded by that version, so a stale act changes nothing and is reported.
A positive claim's materialised edge (``?s mcrag:causes ?o``) follows the claim: a rejected claim
withdraws it unless another live claim in the same graph still states it, and undo restores it.
Every act is a revision (``kg.revisions``) in the ``curated`` graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import pyoxigraph as ox

from kg.claim_reader import concept_labels
from kg.claims import RELATION_KINDS, ClaimRecord
from kg.curation.records import CERTAINTIES, EDITABLE_FIELDS, POLARITIES, resolve_claim_iri
from kg.errors import CurationConflictError, CurationError, StaleVersionError, UnknownClaimError
from kg.namespaces import MCRAG, NAMED_GRAPHS, RDF, RDFS, local_name, mcrag_local
from kg.revisions import (
    UNDOABLE_ACTIONS,
    CurationRecord,
    FieldChange,
    curator_iri,
    iri_nt,
    literal_nt,
    new_activity_iri,
    parse_nt_term,
    read_revisions,
    revision_statements,
    same_term,
    term_nt,
)
from kg.statuses import DEFAULT_STATUS, STATUSES
from kg.store.base import Store, Term
from kg.validations import moved_claims

Action = Literal["accept", "reject", "edit", "undo"]

_FIELD_PREDICATES: dict[str, str] = {
    "status": str(MCRAG.status),
    "relation": str(RDF.predicate),
    "certainty": str(MCRAG.certainty),
    "polarity": str(MCRAG.polarity),
    "confidence": str(MCRAG.confidence),
    "mechanism": str(MCRAG.mechanism),
}


@dataclass
class _ClaimTerms:
    """A claim read for a write: its record, and the exact RDF terms an update must delete."""

    record: ClaimRecord
    terms: dict[str, list[Term]] = field(default_factory=dict)
    version_term: Term | None = None
    label_terms: list[Term] = field(default_factory=list)


def _read_state(store: Store, claim: str) -> _ClaimTerms:
    """The claim's fields as stored in its own graph (the first graph that holds it)."""
    rows = store.query(f"""SELECT ?g ?s ?o ?p ?v WHERE {{
        GRAPH ?g {{ <{claim}> a mcrag:CausalClaim ; rdf:subject ?s ; rdf:object ?o . <{claim}> ?p ?v }}
    }}""")
    if not rows.rows:
        raise UnknownClaimError(f"no causal claim {claim} in the store")
    idx = {v: i for i, v in enumerate(rows.variables)}
    first = rows.rows[0]
    graph = first[idx["g"]].value  # type: ignore[union-attr]
    by_pred = {p: name for name, p in _FIELD_PREDICATES.items()}
    terms: dict[str, list[Term]] = {}
    version_term: Term | None = None
    label_terms: list[Term] = []
    for row in rows.rows:
        if row[idx["g"]].value != graph:  # type: ignore[union-attr]
            continue
        p, v = row[idx["p"]].value, row[idx["v"]]  # type: ignore[union-attr]
        assert v is not None
        if p in by_pred:
            terms.setdefault(by_pred[p], []).append(v)
        elif p == str(MCRAG.version):
            version_term = v
        elif p == str(RDFS.label):
            label_terms.append(v)

    def value(name: str) -> str | None:
        vals = terms.get(name) or []
        return vals[0].value if vals else None

    conf = value("confidence")
    record = ClaimRecord(
        claim=claim, graph=graph, subject=first[idx["s"]].value, object=first[idx["o"]].value,  # type: ignore[union-attr]
        relation=mcrag_local(value("relation")) or "causes", polarity=value("polarity") or "positive",
        status=mcrag_local(value("status")) or DEFAULT_STATUS,
        version=int(float(version_term.value)) if version_term is not None else 1,
        certainty=mcrag_local(value("certainty")), confidence=float(conf) if conf else None,
        mechanism=value("mechanism"), label=label_terms[0].value if label_terms else "")
    return _ClaimTerms(record, terms, version_term, label_terms)


def _edge_triple(relation: str, polarity: str, status: str, s: str, o: str) -> tuple[str, str, str] | None:
    if polarity != "positive" or status == "rejected":
        return None
    return (s, str(MCRAG[relation]), o)


def _field_value_nt(name: str, value: str | float) -> str:
    if name in ("status", "relation", "certainty"):
        return iri_nt(str(MCRAG[str(value)]))
    if name == "confidence":
        return literal_nt(float(value))
    return literal_nt(str(value))


def _check_value(name: str, value: str | float) -> None:
    allowed = {"status": STATUSES, "relation": RELATION_KINDS, "certainty": CERTAINTIES, "polarity": POLARITIES}
    if name in allowed and value not in allowed[name]:
        raise CurationError(f"{name} must be one of {', '.join(allowed[name])}, not {value!r}")
    if name == "confidence" and not (isinstance(value, int | float) and 0.0 <= float(value) <= 1.0):
        raise CurationError(f"confidence must be a number in [0, 1], not {value!r}")
    if name == "mechanism" and not str(value).strip():
        raise CurationError("mechanism must not be empty")


def _require(curator: str, reason: str) -> None:
    if not curator or not curator.strip():
        raise CurationError("a curation act needs the curator's identity (--curator or $MCRAG_CURATOR)")
    if not reason or not reason.strip():
        raise CurationError("a curation act needs a reason")


def _apply(store: Store, state: _ClaimTerms, action: Action, curator: str, reason: str,
           new_values: Mapping[str, str | None], *, undoes: str | None = None) -> CurationRecord:
    """Write one act: the field changes, the version bump, the edge upkeep and the PROV record, all guarded."""
    rec = state.record
    g, c = rec.graph, rec.claim
    changes: list[FieldChange] = []
    delete, insert = [], []
    for name, new_nt in new_values.items():
        old_terms = state.terms.get(name, [])
        old_nt = term_nt(old_terms[0]) if old_terms else None
        if same_term(old_nt, new_nt) and len(old_terms) <= 1:
            continue
        changes.append(FieldChange(name, old_nt, new_nt))
        pred = iri_nt(_FIELD_PREDICATES[name])
        delete += [f"{iri_nt(c)} {pred} {term_nt(t)} ." for t in old_terms]
        if new_nt is not None:
            insert.append(f"{iri_nt(c)} {pred} {new_nt} .")
    if not changes:
        raise CurationError(f"nothing to change: claim {c} already has those values")

    def after(name: str, current: str) -> str:
        for ch in changes:
            if ch.field == name and ch.new is not None:
                return mcrag_local(parse_nt_term(ch.new).value) or current
        return current

    new_status, new_rel, new_pol = after("status", rec.status), after("relation", rec.relation), \
        after("polarity", rec.polarity)
    before_edge = _edge_triple(rec.relation, rec.polarity, rec.status, rec.subject, rec.object)
    after_edge = _edge_triple(new_rel, new_pol, new_status, rec.subject, rec.object)
    edge_guard = ""
    if before_edge != after_edge:
        if after_edge:
            insert.append(" ".join(iri_nt(x) for x in after_edge) + " .")
        if before_edge:
            s, p, o = (iri_nt(x) for x in before_edge)
            delete.append("?es ?ep ?eo .")
            edge_guard = f"""OPTIONAL {{
      FILTER NOT EXISTS {{ GRAPH {iri_nt(g)} {{
        ?other rdf:subject {s} ; rdf:predicate {p} ; rdf:object {o} ; mcrag:polarity "positive" .
        FILTER (?other != {iri_nt(c)})
        FILTER NOT EXISTS {{ ?other mcrag:status mcrag:rejected }} }} }}
      BIND ({s} AS ?es) BIND ({p} AS ?ep) BIND ({o} AS ?eo) }}"""
    if {"relation", "polarity"} & {ch.field for ch in changes}:
        labels = concept_labels(store, [rec.subject, rec.object])
        text = (f"{labels.get(rec.subject, local_name(rec.subject))} {new_rel} "
                f"{labels.get(rec.object, local_name(rec.object))}")
        text += " (negated)" if new_pol == "negative" else ""
        delete += [f"{iri_nt(c)} rdfs:label {term_nt(t)} ." for t in state.label_terms]
        insert.append(f"{iri_nt(c)} rdfs:label {str(ox.Literal(text, language='en'))} .")
    to_version = rec.version + 1
    if state.version_term is not None:
        delete.append(f"{iri_nt(c)} mcrag:version {term_nt(state.version_term)} .")
        guard = f"GRAPH {iri_nt(g)} {{ {iri_nt(c)} mcrag:version {term_nt(state.version_term)} }}"
    else:
        guard = (f"GRAPH {iri_nt(g)} {{ {iri_nt(c)} a mcrag:CausalClaim }} "
                 f"FILTER NOT EXISTS {{ GRAPH {iri_nt(g)} {{ {iri_nt(c)} mcrag:version ?anyVersion }} }}")
    insert.append(f"{iri_nt(c)} mcrag:version {literal_nt(to_version)} .")

    now = datetime.now(UTC)
    act = new_activity_iri("curate", now)
    prov = revision_statements(
        activity=act, claim=c, action=action, agent=curator_iri(curator), agent_label=curator, reason=reason,
        when=now, previous_status=rec.status, new_status=new_status, from_version=rec.version,
        to_version=to_version, changes=changes, undoes=undoes)
    nl = "\n    "
    update = f"""DELETE {{ GRAPH {iri_nt(g)} {{
    {nl.join(delete)} }} }}
INSERT {{ GRAPH {iri_nt(g)} {{
    {nl.join(insert)} }}
  GRAPH {iri_nt(NAMED_GRAPHS['curated'])} {{
    {nl.join(prov)} }} }}
WHERE {{ {guard} {edge_guard} }}"""
    store.update(update)
    if not store.ask(f"ASK {{ GRAPH <{NAMED_GRAPHS['curated']}> {{ <{act}> a mcrag:CurationActivity }} }}"):
        current = _read_state(store, c).record.version
        raise StaleVersionError(f"claim {c} changed while this act was written (now version {current}); "
                                "nothing was changed: reload it and retry")
    return CurationRecord(act, c, action, curator.strip(), reason.strip(), now, rec.status, new_status,
                          rec.version, to_version, tuple(changes), undoes)


def _checked_state(store: Store, claim_iri: str, expected_version: int | None) -> _ClaimTerms:
    state = _read_state(store, resolve_claim_iri(claim_iri))
    version = state.record.version
    if expected_version is not None and int(expected_version) != version:
        raise StaleVersionError(
            f"claim {state.record.claim} is at version {version}, but this act was based on version "
            f"{expected_version}; nothing was changed: reload the claim and decide again")
    return state


def accept(store: Store, claim_iri: str, curator: str, reason: str, expected_version: int) -> CurationRecord:
    """Mark the claim accepted (curator-confirmed)."""
    _require(curator, reason)
    state = _checked_state(store, claim_iri, expected_version)
    return _apply(store, state, "accept", curator, reason, {"status": _field_value_nt("status", "accepted")})


def reject(store: Store, claim_iri: str, curator: str, reason: str, expected_version: int) -> CurationRecord:
    """Mark the claim rejected; its materialised edge goes unless another live claim states it."""
    _require(curator, reason)
    state = _checked_state(store, claim_iri, expected_version)
    return _apply(store, state, "reject", curator, reason, {"status": _field_value_nt("status", "rejected")})


def edit(store: Store, claim_iri: str, curator: str, reason: str, expected_version: int, *,
         relation: str | None = None, certainty: str | None = None, polarity: str | None = None,
         confidence: float | None = None, mechanism: str | None = None, status: str | None = None) -> CurationRecord:
    """Change some of relation kind, certainty, polarity, confidence, mechanism and status in one act.

    Cause and effect cannot be edited: they are the claim's identity (reject it and add the right one).
    """
    _require(curator, reason)
    given = {"relation": relation, "certainty": certainty, "polarity": polarity, "confidence": confidence,
             "mechanism": mechanism, "status": status}
    values = {k: v for k, v in given.items() if v is not None}
    if not values:
        raise CurationError(f"an edit must change at least one of {', '.join(EDITABLE_FIELDS)}")
    for k, v in values.items():
        _check_value(k, v)
    state = _checked_state(store, claim_iri, expected_version)
    return _apply(store, state, "edit", curator, reason, {k: _field_value_nt(k, v) for k, v in values.items()})


def _open_acts(store: Store, claim: str) -> list[CurationRecord]:
    """The claim's revisions that undo may revert, oldest first: not undos, not undone yet."""
    return [r for r in read_revisions(store, claim)
            if r.action in UNDOABLE_ACTIONS and r.changes and r.undone_by is None]


def undo(store: Store, claim_iri: str, curator: str, reason: str, expected_version: int | None = None) -> CurationRecord:
    """Revert the claim's latest act that is not itself an undo and not undone yet.

    That act may be a curator's or a validation run's status move. Each changed field goes back to its
    value before that act, provided it still holds the value that act set; otherwise a later change
    would be lost, and the undo is refused.
    """
    _require(curator, reason)
    state = _checked_state(store, claim_iri, expected_version)
    open_acts = _open_acts(store, state.record.claim)
    if not open_acts:
        raise CurationConflictError(f"claim {state.record.claim} has no curation act left to undo")
    return _revert(store, state, open_acts[-1], curator, reason)


def _revert(store: Store, state: _ClaimTerms, target: CurationRecord, curator: str, reason: str) -> CurationRecord:
    restore: dict[str, str | None] = {}
    for ch in target.changes:
        current = state.terms.get(ch.field, [])
        current_nt = term_nt(current[0]) if current else None
        if not same_term(current_nt, ch.new):
            raise CurationConflictError(
                f"cannot undo {target.action} of {target.time.isoformat()}: {ch.field} has changed since "
                f"(now {current_nt}, that act set {ch.new}); nothing was changed")
        restore[ch.field] = ch.old
    return _apply(store, state, "undo", curator, reason, restore, undoes=target.activity)


@dataclass(frozen=True)
class RunUndo:
    """What undoing a validation run did: the claims put back, and those left as they are (and why)."""

    undone: tuple[CurationRecord, ...]
    kept: dict[str, str]


def undo_run(store: Store, run_activity: str, curator: str, reason: str) -> RunUndo:
    """Put back every status a validation run moved, claim by claim.

    A claim whose latest open act is no longer that run's move (a curator acted since) keeps its
    state, and is reported with the reason.
    """
    _require(curator, reason)
    moves = moved_claims(store, run_activity)
    if not moves and not store.ask(f"ASK {{ {iri_nt(run_activity)} a mcrag:ValidationActivity }}"):
        raise CurationError(f"no validation run {run_activity} in the store")
    undone: list[CurationRecord] = []
    kept: dict[str, str] = {}
    for claim, act in sorted(moves.items()):
        open_acts = _open_acts(store, claim)
        if not any(a.activity == act for a in open_acts):
            kept[claim] = "its status move was undone already"
            continue
        if open_acts[-1].activity != act:
            kept[claim] = "a later act changed it since; undo that act first"
            continue
        try:
            undone.append(_revert(store, _read_state(store, claim), open_acts[-1], curator, reason))
        except CurationError as err:
            kept[claim] = str(err)
    return RunUndo(tuple(undone), kept)
