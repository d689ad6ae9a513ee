"""The write side of curation: accept, reject, edit, undo, and the same acts over many claims at once.

Every act is one SPARQL update, so it applies whole or not at all. Concurrency is optimistic: an act
names the ``mcrag:version`` of each claim it read, and the update's one guard counts the claims still
at those versions; if any moved on, no operation of the update matches and nothing changes (the act
is reported stale). An act over many claims (a bulk act) is one such update and one
``mcrag:BulkCurationActivity`` that lists its members, each member's change a revision
(``kg.revisions``) that is part of it; it is undone as a whole.

Edges follow claims. In the same update, after the claims change, each edge an act touched
(``?s <relation> ?o`` in the claim's graph, before and after) is re-materialised: it exists exactly
when a positive claim that is not rejected states it in that graph. Edits that change what a claim
says (cause, effect, direction, relation, polarity, scope) are checked against the SHACL shapes on a
copy of the touched nodes before the update is sent (:mod:`kg.curation.conformance`); a violation
refuses the edit with the violation named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

import pyoxigraph as ox

from kg.claim_reader import concept_labels
from kg.claims import RELATION_KINDS, ClaimRecord
from kg.curation.index import CurationIndex, cached_index
from kg.curation.records import CERTAINTIES, EDITABLE_FIELDS, POLARITIES, resolve_claim_iri
from kg.errors import (
    CurationConflictError,
    CurationError,
    ShapeViolationError,
    StaleVersionError,
    UnknownClaimError,
)
from kg.namespaces import MCRAG, NAMED_GRAPHS, RDF, RDFS, XSD, local_name, mcrag_local
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
    read_revisions_many,
    revision_statements,
    same_term,
    term_nt,
)
from kg.statuses import DEFAULT_STATUS, STATUSES
from kg.store.base import Store, Term
from kg.validations import moved_claims

Action = Literal["accept", "reject", "edit", "undo"]
BulkAction = Literal["accept", "reject", "relabel", "rescope"]
BULK_ACTIONS: tuple[str, ...] = ("accept", "reject", "relabel", "rescope")
MAX_BULK = 5000
"""Most claims one bulk act may change (one update holds every member's revision)."""
SCOPES: tuple[str, ...] = ("cardiopulmonary", "chest", "general")

_FIELD_PREDICATES: dict[str, str] = {
    "status": str(MCRAG.status),
    "relation": str(RDF.predicate),
    "certainty": str(MCRAG.certainty),
    "polarity": str(MCRAG.polarity),
    "confidence": str(MCRAG.confidence),
    "mechanism": str(MCRAG.mechanism),
    "subject": str(RDF.subject),
    "object": str(RDF.object),
    "scope": str(MCRAG.scope),
}
_STRUCTURAL = frozenset({"subject", "object", "relation", "polarity", "scope"})
"""Fields whose change is checked against the SHACL shapes before it is written."""
_LIVE_EDGE = """FILTER EXISTS {{ GRAPH ?g {{ ?x rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; mcrag:polarity "positive" .
      FILTER NOT EXISTS {{ ?x mcrag:status mcrag:rejected }} }} }}"""


@dataclass
class _ClaimTerms:
    """A claim read for a write: its record, and the exact RDF terms an update must delete."""

    record: ClaimRecord
    terms: dict[str, list[Term]] = field(default_factory=dict)
    version_term: Term | None = None
    label_terms: list[Term] = field(default_factory=list)


_STATE_QUERY = """SELECT ?c ?g ?p ?v WHERE {{ VALUES ?c {{ {values} }}
  GRAPH ?g {{ ?c a mcrag:CausalClaim . ?c ?p ?v }}
  FILTER (?p IN ({predicates})) }}"""
"""The fields of some claims as stored in their own graphs (the predicates an act reads or writes)."""


_IDENTITY = ("subject", "object", "relation", "polarity", "status")
"""What every act reads: where the claim's edge is, and whether it is live."""


def _read_states(store: Store, claims: Sequence[str], fields: Sequence[str] | None = None,
                 labels: bool = True) -> dict[str, _ClaimTerms]:
    """Each claim's fields as stored in its own graph (the first graph that holds it).

    ``fields`` narrows the read to those fields (and the claim's identity and version), for acts over
    many claims that change one field.
    """
    wanted = _FIELD_PREDICATES if fields is None else {k: v for k, v in _FIELD_PREDICATES.items()
                                                      if k in set(fields) | set(_IDENTITY)}
    by_pred = {p: name for name, p in wanted.items()}
    predicates = ", ".join(iri_nt(p) for p in [*wanted.values(), str(MCRAG.version),
                                                *([str(RDFS.label)] if labels else [])])
    rows: dict[str, list[tuple[str, str, Term]]] = {}
    todo = list(dict.fromkeys(claims))
    for k in range(0, len(todo), 300):
        values = " ".join(iri_nt(c) for c in todo[k:k + 300])
        res = store.query(_STATE_QUERY.format(values=values, predicates=predicates))
        idx = {v: i for i, v in enumerate(res.variables)}
        for row in res.rows:
            c, g, p, v = (row[idx[n]] for n in ("c", "g", "p", "v"))
            if c is not None and g is not None and p is not None and v is not None:
                rows.setdefault(c.value, []).append((g.value, p.value, v))
    out: dict[str, _ClaimTerms] = {}
    for claim, triples in rows.items():
        graph = triples[0][0]
        terms: dict[str, list[Term]] = {}
        version_term: Term | None = None
        label_terms: list[Term] = []
        for tg, tp, tv in triples:
            if tg != graph:
                continue
            if tp in by_pred:
                terms.setdefault(by_pred[tp], []).append(tv)
            elif tp == str(MCRAG.version):
                version_term = tv
            elif tp == str(RDFS.label):
                label_terms.append(tv)
        if "subject" not in terms or "object" not in terms:
            continue

        def value(name: str, terms: dict[str, list[Term]] = terms) -> str | None:
            vals = terms.get(name) or []
            return vals[0].value if vals else None

        conf = value("confidence")
        record = ClaimRecord(
            claim=claim, graph=graph, subject=value("subject") or "", object=value("object") or "",
            relation=mcrag_local(value("relation")) or "causes", polarity=value("polarity") or "positive",
            status=mcrag_local(value("status")) or DEFAULT_STATUS,
            version=int(float(version_term.value)) if version_term is not None else 1,
            certainty=mcrag_local(value("certainty")), confidence=float(conf) if conf else None,
            mechanism=value("mechanism"), label=label_terms[0].value if label_terms else "")
        out[claim] = _ClaimTerms(record, terms, version_term, label_terms)
    return out


def _read_state(store: Store, claim: str) -> _ClaimTerms:
    """One claim's fields as stored in its own graph; UnknownClaimError when there is no such claim."""
    found = _read_states(store, [claim]).get(claim)
    if found is None:
        raise UnknownClaimError(f"no causal claim {claim} in the store")
    return found


def _edge_triple(relation: str, polarity: str, status: str, s: str, o: str) -> tuple[str, str, str] | None:
    if polarity != "positive" or status == "rejected":
        return None
    return (s, str(MCRAG[relation]), o)


def _field_value_nt(name: str, value: str | float) -> str:
    if name in ("status", "relation", "certainty"):
        return iri_nt(str(MCRAG[str(value)]))
    if name in ("subject", "object"):
        return iri_nt(str(value))
    if name == "confidence":
        return literal_nt(float(value))
    return literal_nt(str(value))


def _check_value(name: str, value: str | float) -> None:
    allowed = {"status": STATUSES, "relation": RELATION_KINDS, "certainty": CERTAINTIES, "polarity": POLARITIES,
               "scope": SCOPES}
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


# ------------------------------------------------------------------------------------------ planning
@dataclass
class _Revision:
    """One claim's planned change: its field changes, the statements to delete and insert, and its PROV."""

    state: _ClaimTerms
    action: str
    activity: str
    changes: list[FieldChange]
    delete: list[str]
    insert: list[str]
    after: ClaimRecord
    undoes: str | None = None

    @property
    def record(self) -> ClaimRecord:
        return self.state.record


def _local(nt: str | None, current: str) -> str:
    return (mcrag_local(parse_nt_term(nt).value) or current) if nt is not None else current


def _plan(state: _ClaimTerms, action: str, new_values: Mapping[str, str | None], when: datetime,
          labels: Mapping[str, str], *, undoes: str | None = None, allow_empty: bool = False) -> _Revision:
    """The statements that move one claim to ``new_values`` (field -> N-Triples term, None = remove)."""
    rec = state.record
    c = iri_nt(rec.claim)
    changes: list[FieldChange] = []
    delete: list[str] = []
    insert: list[str] = []
    for name, new_nt in new_values.items():
        old_terms = state.terms.get(name, [])
        old_nt = term_nt(old_terms[0]) if old_terms else None
        if same_term(old_nt, new_nt) and len(old_terms) <= 1:
            continue
        changes.append(FieldChange(name, old_nt, new_nt))
        pred = iri_nt(_FIELD_PREDICATES[name])
        delete += [f"{c} {pred} {term_nt(t)} ." for t in old_terms]
        if new_nt is not None:
            insert.append(f"{c} {pred} {new_nt} .")
    if not changes and not allow_empty:
        raise CurationError(f"nothing to change: claim {rec.claim} already has those values")
    new = {ch.field: ch.new for ch in changes}
    after = replace(
        rec, status=_local(new.get("status"), rec.status) if "status" in new else rec.status,
        relation=_local(new["relation"], rec.relation) if "relation" in new else rec.relation,
        polarity=_local(new["polarity"], rec.polarity) if "polarity" in new else rec.polarity,
        subject=parse_nt_term(ns).value if (ns := new.get("subject")) else rec.subject,
        object=parse_nt_term(no).value if (no := new.get("object")) else rec.object,
        version=rec.version + 1)
    if {"relation", "polarity", "subject", "object"} & set(new):
        text = (f"{labels.get(after.subject, local_name(after.subject))} {after.relation} "
                f"{labels.get(after.object, local_name(after.object))}")
        text += " (negated)" if after.polarity == "negative" else ""
        delete += [f"{c} rdfs:label {term_nt(t)} ." for t in state.label_terms]
        insert.append(f"{c} rdfs:label {str(ox.Literal(text, language='en'))} .")
        after = replace(after, label=text)
    if state.version_term is not None:
        delete.append(f"{c} mcrag:version {term_nt(state.version_term)} .")
    insert.append(f"{c} mcrag:version {literal_nt(after.version)} .")
    return _Revision(state, action, new_activity_iri("curate", when), changes, delete, insert, after, undoes)


def _edge_keys(revisions: Sequence[_Revision]) -> list[tuple[str, str, str, str]]:
    """(graph, cause, relation, effect) of every edge the revisions may add or withdraw."""
    keys: dict[tuple[str, str, str, str], None] = {}
    for rev in revisions:
        for r in (rev.record, rev.after):
            keys[(r.graph, r.subject, _MCRAG + r.relation, r.object)] = None
    return list(keys)


def _guard(revisions: Sequence[_Revision]) -> str:
    """One group pattern that matches once when every claim is still at the version read, else never."""
    versioned = [r for r in revisions if r.state.version_term is not None]
    parts = []
    if versioned:
        rows = " ".join(f"({iri_nt(r.record.claim)} {iri_nt(r.record.graph)} {term_nt(r.state.version_term)})"
                        for r in versioned if r.state.version_term is not None)
        parts.append(f"{{ SELECT (COUNT(*) AS ?fresh) WHERE {{ VALUES (?gc ?gg ?gv) {{ {rows} }} "
                     f"GRAPH ?gg {{ ?gc mcrag:version ?gv }} }} }} FILTER (?fresh = {len(versioned)})")
    for r in revisions:
        if r.state.version_term is None:
            g, c = iri_nt(r.record.graph), iri_nt(r.record.claim)
            parts.append(f"GRAPH {g} {{ {c} a mcrag:CausalClaim }} "
                         f"FILTER NOT EXISTS {{ GRAPH {g} {{ {c} mcrag:version ?anyVersion }} }}")
    return "\n  ".join(parts)


LIVE_KEYS_QUERY = """SELECT DISTINCT ?g ?s ?p ?o WHERE {{ VALUES (?g ?s ?p ?o) {{ {rows} }}
  GRAPH ?g {{ ?x rdf:subject ?s . ?x rdf:predicate ?p . ?x rdf:object ?o . ?x mcrag:polarity "positive" }}
  FILTER NOT EXISTS {{ GRAPH ?g {{ ?x mcrag:status mcrag:rejected }} }} }}"""
"""Of some (graph, cause, relation, effect) keys, those a positive claim that is not rejected states.

Starting from the keys (a ``VALUES`` block) lets the store look each claim up by its cause; a
``FILTER EXISTS`` per key instead is evaluated without that binding and costs seconds."""


def _edge_repair(keys: Sequence[tuple[str, str, str, str]], marker: str) -> list[str]:
    """Two operations that make each edge exist exactly when a live positive claim states it (after the act)."""
    if not keys:
        return []
    rows = " ".join(f"({iri_nt(g)} {iri_nt(s)} {iri_nt(p)} {iri_nt(o)})" for g, s, p, o in keys)
    done = f"GRAPH {iri_nt(NAMED_GRAPHS['curated'])} {{ {iri_nt(marker)} a prov:Activity }}"
    live = LIVE_KEYS_QUERY.format(rows=rows)
    return [
        f"""DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ {done}
  VALUES (?g ?s ?p ?o) {{ {rows} }} GRAPH ?g {{ ?s ?p ?o }}
  MINUS {{ {live} }} }}""",
        f"""INSERT {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ {done} {{ {live} }} }}""",
    ]


@dataclass
class _EdgePlan:
    """Edge upkeep worked out from a fresh index: triples to insert and delete, and what it relied on."""

    insert: dict[str, list[str]] = field(default_factory=dict)
    delete: dict[str, list[str]] = field(default_factory=dict)
    others: list[tuple[str, str, str]] = field(default_factory=list)
    """(claim, graph, status) of the edges' other claims: the plan holds only while they keep their status."""


def _edges_from_index(index: CurationIndex, revisions: Sequence[_Revision]) -> _EdgePlan:
    """Whether each touched edge is stated by a live positive claim after the act, from the index's rows."""
    from kg.curation.index import edge_iri

    index._derive()
    after = {rev.record.claim: rev.after for rev in revisions}
    by_key: dict[tuple[str, str, str, str], list[ClaimRecord]] = {}
    for a in after.values():
        by_key.setdefault((a.graph, a.subject, _relation_iri(a.relation), a.object), []).append(a)
    plan = _EdgePlan()
    for key in _edge_keys(revisions):
        g, s, p, o = key
        live = any(a.polarity == "positive" and a.status != "rejected" for a in by_key.get(key, ()))
        k = index.edge_pos.get(edge_iri(s, p, o))
        gcode = index.graphs.pos.get(g)
        if k is not None and gcode is not None:
            for i in index.edge_members[k].tolist():
                claim = index.claims[i]
                if claim in after or int(index.graph[i]) != gcode:
                    continue
                status = index.status_of(i)
                plan.others.append((claim, g, status))
                live = live or (index.polarity[i] == 1 and status != "rejected")
        (plan.insert if live else plan.delete).setdefault(g, []).append(f"<{s}> <{p}> <{o}> .")
    return plan


_MCRAG = str(MCRAG)


def _relation_iri(relation: str) -> str:
    return _MCRAG + relation


def _status_guard(others: Sequence[tuple[str, str, str]]) -> str:
    if not others:
        return ""
    rows = " ".join(f"(<{c}> <{g}> <{_MCRAG}{st}>)" for c, g, st in others)
    return (f"{{ SELECT (COUNT(*) AS ?same) WHERE {{ VALUES (?oc ?og ?os) {{ {rows} }} GRAPH ?og {{ ?oc mcrag:status ?os }} }} }}"
            f" FILTER (?same = {len(others)})")


@dataclass(frozen=True)
class BulkRecord:
    """A bulk act: one PROV activity, its reason, and the revision of each member claim."""

    activity: str
    action: str
    agent: str
    reason: str
    time: datetime
    members: tuple[CurationRecord, ...]
    undoes: str | None = None

    def to_json(self) -> dict[str, object]:
        from dataclasses import asdict

        return {"activity": self.activity, "action": self.action, "curator": self.agent, "reason": self.reason,
                "time": self.time.isoformat(), "undoes": self.undoes, "count": len(self.members),
                "members": [{**asdict(m), "time": m.time.isoformat()} for m in self.members]}


def _commit(store: Store, revisions: Sequence[_Revision], curator: str, reason: str, when: datetime, *,
            bulk: tuple[str, str] | None = None, bulk_undoes: str | None = None, check_shapes: bool = False,
            index: CurationIndex | None = None) -> list[CurationRecord]:
    """Write the revisions as one guarded update (with the bulk activity ``(iri, action)`` if given)."""
    agent = curator_iri(curator)
    prov: list[str] = []
    for rev in revisions:
        prov += revision_statements(
            activity=rev.activity, claim=rev.record.claim, action=rev.action, agent=agent, agent_label=curator,
            reason=reason, when=when, previous_status=rev.record.status, new_status=rev.after.status,
            from_version=rev.record.version, to_version=rev.after.version, changes=rev.changes, undoes=rev.undoes,
            part_of=bulk[0] if bulk else None)
    marker = bulk[0] if bulk else revisions[0].activity
    if bulk:
        b = iri_nt(bulk[0])
        prov += [f"{b} a mcrag:BulkCurationActivity , prov:Activity .", f"{b} mcrag:action {literal_nt(bulk[1])} .",
                 f"{b} mcrag:reason {literal_nt(reason.strip())} .", f"{b} prov:wasAssociatedWith {iri_nt(agent)} .",
                 f"{b} prov:endedAtTime {literal_nt(when.isoformat(), str(XSD.dateTime))} .",
                 f"{b} mcrag:memberCount {literal_nt(len(revisions))} .",
                 f"{b} rdfs:label {literal_nt(f'{bulk[1]} of {len(revisions)} claims by {curator.strip()}')} ."]
        prov += [f"{b} prov:used {iri_nt(r.record.claim)} . {b} dcterms:hasPart {iri_nt(r.activity)} ."
                 for r in revisions]
        if bulk_undoes:
            prov.append(f"{b} mcrag:undoes {iri_nt(bulk_undoes)} .")
    prov = list(dict.fromkeys(prov))
    if check_shapes:
        _check_shapes(store, revisions, prov)
    by_graph_delete: dict[str, list[str]] = {}
    by_graph_insert: dict[str, list[str]] = {}
    for rev in revisions:
        by_graph_delete.setdefault(rev.record.graph, []).extend(rev.delete)
        by_graph_insert.setdefault(rev.record.graph, []).extend(rev.insert)
    nl = "\n    "
    before = store.generation
    with (index.lock if index is not None else _NoLock()):
        use_index = index is not None and index.fresh()
        edge_plan = _edges_from_index(index, revisions) if use_index and index is not None else None
        extra_guard = ""
        if edge_plan is not None:
            for g, ts in edge_plan.delete.items():
                by_graph_delete.setdefault(g, []).extend(ts)
            for g, ts in edge_plan.insert.items():
                by_graph_insert.setdefault(g, []).extend(ts)
            extra_guard = _status_guard(edge_plan.others)
        deletes = " ".join(f"GRAPH {iri_nt(g)} {{ {nl.join(ts)} }}" for g, ts in by_graph_delete.items() if ts)
        inserts = " ".join(f"GRAPH {iri_nt(g)} {{ {nl.join(ts)} }}" for g, ts in by_graph_insert.items() if ts)
        main = f"""DELETE {{ {deletes} }}
INSERT {{ {inserts}
  GRAPH {iri_nt(NAMED_GRAPHS['curated'])} {{
    {nl.join(prov)} }} }}
WHERE {{ {_guard(revisions)} {extra_guard} }}"""
        repair = [] if edge_plan is not None else _edge_repair(_edge_keys(revisions), marker)
        store.update(" ;\n".join([main, *repair]))
        if not store.ask(f"ASK {{ GRAPH <{NAMED_GRAPHS['curated']}> {{ <{marker}> a prov:Activity }} }}"):
            if index is not None:
                index.mark_written(before)  # nothing changed, but the count moved: adopt it only if exact
            _raise_stale(store, revisions, others=edge_plan.others if edge_plan else ())
        if index is not None:
            _patch_index(index, revisions, when, before)
    return [CurationRecord(rev.activity, rev.record.claim, rev.action, curator.strip(), reason.strip(), when,
                           rev.record.status, rev.after.status, rev.record.version, rev.after.version,
                           tuple(rev.changes), rev.undoes, part_of=bulk[0] if bulk else None) for rev in revisions]


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _raise_stale(store: Store, revisions: Sequence[_Revision], others: Sequence[tuple[str, str, str]] = ()) -> None:
    now = _read_states(store, [r.record.claim for r in revisions])
    moved = [r for r in revisions if r.record.claim not in now or now[r.record.claim].record.version != r.record.version
             or (now[r.record.claim].version_term is None) != (r.state.version_term is None)]
    if not moved and others:
        raise StaleVersionError("another claim on the same edge changed while this act was written; nothing was "
                                "changed: reload and retry")
    first = moved[0] if moved else revisions[0]
    current = now[first.record.claim].record.version if first.record.claim in now else "gone"
    if len(revisions) == 1:
        raise StaleVersionError(f"claim {first.record.claim} changed while this act was written (now version "
                                f"{current}); nothing was changed: reload it and retry")
    raise StaleVersionError(f"{len(moved) or 'some'} of the {len(revisions)} claims changed while this act was "
                            f"written (claim {first.record.claim} is now at version {current}); nothing was changed: "
                            "reload them and retry")


def _patch_index(index: CurationIndex, revisions: Sequence[_Revision], when: datetime, before: int) -> None:
    if index.generation != before:
        index.generation = -1
        return
    for rev in revisions:
        new = {ch.field: ch.new for ch in rev.changes}
        a = rev.after
        index.patch(
            a.claim, status=a.status if "status" in new else None, version=a.version,
            relation=a.relation if "relation" in new else None, subject=a.subject if "subject" in new else None,
            obj=a.object if "object" in new else None, polarity=a.polarity if "polarity" in new else None,
            certainty=_local(new["certainty"], "") if new.get("certainty") else None,
            confidence=float(parse_nt_term(nc).value) if (nc := new.get("confidence")) else None,
            scope=(_local(new["scope"], "") if new["scope"] else "") if "scope" in new else None,
            label=a.label if a.label != rev.record.label else None, changed=when)
    index.mark_written(before)


def _check_shapes(store: Store, revisions: Sequence[_Revision], prov: Sequence[str]) -> None:
    """Refuse the act if the touched claims and concepts would violate a SHACL shape they did not before."""
    from kg.curation.conformance import apply, neighbourhood, new_violations

    claims = [r.record.claim for r in revisions]
    concepts = sorted({x for r in revisions for x in (r.record.subject, r.record.object, r.after.subject,
                                                      r.after.object)})
    before = neighbourhood(store, claims, concepts)
    after = apply(before, [t for r in revisions for t in r.delete],
                  [t for r in revisions for t in r.insert] + list(prov))
    found = new_violations(before, after, [*claims, *concepts, *(r.activity for r in revisions)])
    if found:
        first = found[0]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ShapeViolationError(f"refused by the SHACL shapes, nothing was changed: {first.focus_node}: "
                                  f"{first.message}{more}", violations=tuple(str(v) for v in found))


def _index(store: Store) -> CurationIndex | None:
    idx = cached_index(store)
    return idx if idx is not None and idx.fresh() else None


# ------------------------------------------------------------------------------------------ one claim
def _checked_state(store: Store, claim_iri: str, expected_version: int | None) -> _ClaimTerms:
    state = _read_state(store, resolve_claim_iri(claim_iri))
    version = state.record.version
    if expected_version is not None and int(expected_version) != version:
        raise StaleVersionError(
            f"claim {state.record.claim} is at version {version}, but this act was based on version "
            f"{expected_version}; nothing was changed: reload the claim and decide again")
    return state


def _labels_for(store: Store, states: Sequence[_ClaimTerms], extra: Sequence[str] = ()) -> dict[str, str]:
    return concept_labels(store, {x for s in states for x in (s.record.subject, s.record.object)} | set(extra))


def _apply(store: Store, state: _ClaimTerms, action: Action, curator: str, reason: str,
           new_values: Mapping[str, str | None], *, undoes: str | None = None) -> CurationRecord:
    """Write one act on one claim (see the module doc)."""
    now = datetime.now(UTC)
    extra = [parse_nt_term(v).value for k, v in new_values.items() if k in ("subject", "object") and v]
    rev = _plan(state, action, new_values, now, _labels_for(store, [state], extra), undoes=undoes)
    structural = bool(_STRUCTURAL & {ch.field for ch in rev.changes})
    return _commit(store, [rev], curator, reason, now, check_shapes=structural, index=_index(store))[0]


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


def known_concept(store: Store, concept: str) -> str:
    """``concept`` if the store describes it (a label), else CurationError naming it."""
    iri = concept.strip().strip("<>")
    try:
        ox.NamedNode(iri)
    except ValueError:
        raise CurationError(f"{concept!r} is not a concept IRI") from None
    if not store.ask(f"ASK {{ {iri_nt(iri)} skos:prefLabel|rdfs:label ?label }}"):
        raise CurationError(f"no concept {iri} in the store (it has no label); add the concept first")
    return iri


def edit(store: Store, claim_iri: str, curator: str, reason: str, expected_version: int, *,
         relation: str | None = None, certainty: str | None = None, polarity: str | None = None,
         confidence: float | None = None, mechanism: str | None = None, status: str | None = None,
         subject: str | None = None, object: str | None = None, swap: bool = False,  # noqa: A002
         scope: str | None = None) -> CurationRecord:
    """Change some of what a claim says in one act: cause, effect, direction (``swap``), relation kind,
    polarity, certainty, confidence, mechanism, scope and status.

    The claim keeps its IRI (its id is the hash of what was first read): an edited claim is the same
    claim, corrected, with its history. A new cause or effect must be a concept the store knows.
    """
    _require(curator, reason)
    if swap and (subject is not None or object is not None):
        raise CurationError("swap the direction, or give a new cause / effect, not both in one edit")
    given = {"relation": relation, "certainty": certainty, "polarity": polarity, "confidence": confidence,
             "mechanism": mechanism, "status": status, "scope": scope}
    values = {k: v for k, v in given.items() if v is not None}
    if not values and subject is None and object is None and not swap:
        raise CurationError(f"an edit must change at least one of {', '.join(EDITABLE_FIELDS)}")
    for k, v in values.items():
        _check_value(k, v)
    new_values: dict[str, str | None] = {k: _field_value_nt(k, v) for k, v in values.items()}
    if subject is not None:
        new_values["subject"] = iri_nt(known_concept(store, subject))
    if object is not None:
        new_values["object"] = iri_nt(known_concept(store, object))
    state = _checked_state(store, claim_iri, expected_version)
    if swap:
        new_values["subject"] = iri_nt(state.record.object)
        new_values["object"] = iri_nt(state.record.subject)
    return _apply(store, state, "edit", curator, reason, new_values)


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


def _restore_values(state: _ClaimTerms, target: CurationRecord) -> dict[str, str | None]:
    restore: dict[str, str | None] = {}
    for ch in target.changes:
        current = state.terms.get(ch.field, [])
        current_nt = term_nt(current[0]) if current else None
        if not same_term(current_nt, ch.new):
            raise CurationConflictError(
                f"cannot undo {target.action} of {target.time.isoformat()} on {state.record.claim}: {ch.field} has "
                f"changed since (now {current_nt}, that act set {ch.new}); nothing was changed")
        restore[ch.field] = ch.old
    return restore


def _revert(store: Store, state: _ClaimTerms, target: CurationRecord, curator: str, reason: str) -> CurationRecord:
    return _apply(store, state, "undo", curator, reason, _restore_values(state, target), undoes=target.activity)


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


# ------------------------------------------------------------------------------------------ many claims
def bulk(store: Store, claims: Mapping[str, int], action: str, curator: str, reason: str, *,
         relation: str | None = None, scope: str | None = None) -> BulkRecord:
    """One act with one reason over many claims (``claims``: claim -> the version the curator read).

    ``accept`` / ``reject`` set the status, ``relabel`` the relation kind, ``rescope`` the scope
    (``none`` removes it). One transaction: if any member is not at the version given, or the act
    would not change it, nothing changes. Claims that already hold the value are refused by name, so
    that the activity lists exactly what it changed.
    """
    _require(curator, reason)
    if action not in BULK_ACTIONS:
        raise CurationError(f"unknown bulk act {action!r}; use one of {', '.join(BULK_ACTIONS)}")
    if not claims:
        raise CurationError("a bulk act needs at least one claim")
    if len(claims) > MAX_BULK:
        raise CurationError(f"a bulk act changes at most {MAX_BULK} claims; split the selection")
    if action == "relabel":
        if relation is None:
            raise CurationError("relabel needs the new relation")
        _check_value("relation", relation)
        new_values: dict[str, str | None] = {"relation": _field_value_nt("relation", relation)}
    elif action == "rescope":
        if scope is None:
            raise CurationError("rescope needs the new scope (or none)")
        if scope != "none":
            _check_value("scope", scope)
        new_values = {"scope": None if scope == "none" else _field_value_nt("scope", scope)}
    else:
        new_values = {"status": _field_value_nt("status", "accepted" if action == "accept" else "rejected")}
    wanted = {resolve_claim_iri(c): int(v) for c, v in claims.items()}
    changed = next(iter(new_values))
    states = _read_states(store, list(wanted), fields=[changed], labels=action == "relabel")
    missing = [c for c in wanted if c not in states]
    if missing:
        raise UnknownClaimError(f"no causal claim {missing[0]} in the store" +
                                (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "") + "; nothing was changed")
    stale = [c for c, v in wanted.items() if states[c].record.version != v]
    if stale:
        c = stale[0]
        raise StaleVersionError(f"claim {c} is at version {states[c].record.version}, but this act was based on version "
                                f"{wanted[c]}{f' ({len(stale)} claims are stale)' if len(stale) > 1 else ''}; "
                                "nothing was changed: reload them and decide again")
    now = datetime.now(UTC)
    labels = _labels_for(store, list(states.values())) if action == "relabel" else {}
    member_action = "edit" if action in ("relabel", "rescope") else action
    revisions = []
    for c in wanted:
        try:
            revisions.append(_plan(states[c], member_action, new_values, now, labels))
        except CurationError:
            raise CurationError(f"claim {c} already has that {next(iter(new_values))}; leave it out of the "
                                "selection (nothing was changed)") from None
    bulk_iri = new_activity_iri("bulk", now)
    records = _commit(store, revisions, curator, reason, now, bulk=(bulk_iri, action),
                      check_shapes=action in ("relabel", "rescope"), index=_index(store))
    return BulkRecord(bulk_iri, action, curator.strip(), reason.strip(), now, tuple(records))


def read_bulk(store: Store, activity: str) -> tuple[str, list[str], str | None]:
    """A bulk act's action, its member revisions, and the bulk act that undid it (if any)."""
    a = iri_nt(activity)
    rows = store.select(f"""SELECT ?action ?part ?undone WHERE {{ {a} a mcrag:BulkCurationActivity ; mcrag:action ?action .
        OPTIONAL {{ {a} dcterms:hasPart ?part }} OPTIONAL {{ ?undone mcrag:undoes {a} }} }}""")
    if not rows:
        raise UnknownClaimError(f"no bulk act {activity} in the store")
    return rows[0]["action"] or "", sorted({r["part"] for r in rows if r["part"]}), \
        next((r["undone"] for r in rows if r["undone"]), None)


def undo_bulk(store: Store, activity: str, curator: str, reason: str) -> BulkRecord:
    """Revert every member of a bulk act in one transaction, or (if any member changed since) none."""
    _require(curator, reason)
    action, parts, undone_by = read_bulk(store, activity)
    if undone_by:
        raise CurationConflictError(f"bulk act {activity} was undone already (by {undone_by})")
    rows = store.select(f"""SELECT ?part ?c WHERE {{ {iri_nt(activity)} dcterms:hasPart ?part . ?part prov:used ?c }}""")
    claim_of = {r["part"]: r["c"] for r in rows if r["part"] and r["c"]}
    states = _read_states(store, sorted(set(claim_of.values())))
    trails = read_revisions_many(store, sorted(set(claim_of.values())))
    now = datetime.now(UTC)
    revisions = []
    labels: dict[str, str] | None = None
    for part in parts:
        claim = claim_of.get(part)
        if claim is None or claim not in states:
            raise CurationConflictError(f"member {part} of {activity} names no claim in the store; nothing was changed")
        open_acts = [r for r in trails.get(claim, []) if r.action in UNDOABLE_ACTIONS and r.changes
                     and r.undone_by is None]
        target = next((a for a in open_acts if a.activity == part), None)
        if target is None:
            raise CurationConflictError(f"claim {claim} of this bulk act was undone separately since; "
                                        "nothing was changed")
        if open_acts[-1].activity != part:
            raise CurationConflictError(f"claim {claim} was changed after this bulk act ({open_acts[-1].action} at "
                                        f"{open_acts[-1].time.isoformat()}); undo that first; nothing was changed")
        if labels is None and any(ch.field in ("relation", "subject", "object", "polarity") for ch in target.changes):
            extra = [parse_nt_term(ch.old).value for t in trails.values() for r in t for ch in r.changes
                     if ch.field in ("subject", "object") and ch.old]
            labels = _labels_for(store, list(states.values()), extra)
        revisions.append(_plan(states[claim], "undo", _restore_values(states[claim], target), now, labels or {},
                               undoes=target.activity, allow_empty=True))
    if not revisions:
        raise CurationConflictError(f"bulk act {activity} has no member to undo")
    bulk_iri = new_activity_iri("bulk", now)
    records = _commit(store, revisions, curator, reason, now, bulk=(bulk_iri, f"undo {action}"),
                      bulk_undoes=activity, index=_index(store))
    return BulkRecord(bulk_iri, f"undo {action}", curator.strip(), reason.strip(), now, tuple(records), activity)
