"""Merging two concepts: a curator's act that makes one concept stand for both, and its undo.

Merging ``source`` into ``target`` re-points, in one transaction, every claim that names ``source``
(as cause, effect or mediator) and every materialised edge to ``target``, bumps each re-pointed
claim's version, records ``source dcterms:isReplacedBy target`` and keeps ``source``'s labels as
``target``'s ``skos:altLabel`` in the ``curated`` graph. The act is a ``mcrag:CurationActivity``
(PROV) that ``prov:used`` both concepts and every claim it touched, with the exact quads it removed
and added (as N-Quads), so :func:`undo_merge` puts back precisely what was there, and refuses when a
later change has touched those quads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from kg.claim_reader import concept_labels
from kg.errors import CurationConflictError, CurationError
from kg.namespaces import DCTERMS, MCRAG, NAMED_GRAPHS, RDF, SKOS, XSD
from kg.revisions import curator_iri, iri_nt, literal_nt, new_activity_iri
from kg.store.base import Store

MERGE_ACTION = "merge"
UNDO_MERGE_ACTION = "undo-merge"
CAUSAL_PREDICATES = tuple(str(MCRAG[r]) for r in ("causes", "predisposesTo", "manifestsAs", "mediates", "prevents"))


@dataclass(frozen=True)
class MergeRecord:
    """What a merge (or its undo) did."""

    activity: str
    action: str
    source: str
    target: str
    claims: tuple[str, ...]
    """Claims re-pointed (or put back)."""
    removed: int
    added: int


def _quads(store: Store, sparql: str) -> list[ox.Quad]:
    out = []
    for r in store.select(sparql):
        obj = r["o"] or ""
        if r.get("ot") == "literal":
            continue  # literals are never re-pointed (labels stay with their concept)
        out.append(ox.Quad(ox.NamedNode(r["s"] or ""), ox.NamedNode(r["p"] or ""), ox.NamedNode(obj),
                           ox.NamedNode(r["g"] or "")))
    return out


def _v(term: object) -> str:
    """The lexical value of a quad's term (IRIs, blank nodes and literals; never a quoted triple here)."""
    return term.value if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal) else str(term)


def _nquads(quads: list[ox.Quad]) -> str:
    return (ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"").decode("utf-8")


def _parse(text: str) -> list[ox.Quad]:
    return list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_QUADS)) if text.strip() else []


def _version_quads(store: Store, claims: list[str]) -> tuple[list[ox.Quad], list[ox.Quad]]:
    old, new = [], []
    for c in claims:
        for r in store.select(f"SELECT ?g ?v WHERE {{ GRAPH ?g {{ {iri_nt(c)} mcrag:version ?v }} }}"):
            g, v = ox.NamedNode(r["g"] or ""), int(float(r["v"] or 1))
            old.append(ox.Quad(ox.NamedNode(c), ox.NamedNode(str(MCRAG.version)),
                               ox.Literal(str(v), datatype=ox.NamedNode(str(XSD.integer))), g))
            new.append(ox.Quad(ox.NamedNode(c), ox.NamedNode(str(MCRAG.version)),
                               ox.Literal(str(v + 1), datatype=ox.NamedNode(str(XSD.integer))), g))
    return old, new


def _record(act: str, action: str, curator: str, reason: str, when: datetime, used: list[str],
            removed: list[ox.Quad], added: list[ox.Quad], undoes: str | None = None) -> str:
    a = iri_nt(act)
    agent = iri_nt(curator_iri(curator))
    lines = [f"{a} a mcrag:CurationActivity , prov:Activity .", f"{a} mcrag:action {literal_nt(action)} .",
             f"{a} mcrag:reason {literal_nt(reason.strip())} .", f"{a} prov:wasAssociatedWith {agent} .",
             f"{a} prov:endedAtTime {literal_nt(when.isoformat(), str(XSD.dateTime))} .",
             f"{a} rdfs:label {literal_nt(f'{action} by {curator.strip()}')} .",
             f"{agent} a prov:Person , prov:Agent .", f"{agent} rdfs:label {literal_nt(curator.strip())} .",
             f"{a} mcrag:removedQuads {literal_nt(_nquads(removed))} .",
             f"{a} mcrag:addedQuads {literal_nt(_nquads(added))} ."]
    lines += [f"{a} prov:used {iri_nt(u)} ." for u in dict.fromkeys(used)]
    if undoes:
        lines.append(f"{a} mcrag:undoes {iri_nt(undoes)} .")
    return "\n    ".join(lines)


def _data(quads: list[ox.Quad]) -> str:
    """Quads as the body of ``INSERT DATA`` / ``DELETE DATA``: one ``GRAPH`` block per named graph."""
    by_graph: dict[str, list[str]] = {}
    for q in quads:
        by_graph.setdefault(str(q.graph_name), []).append(f"{q.subject} {q.predicate} {q.object} .")
    return " ".join(f"GRAPH {g} {{ {' '.join(ts)} }}" for g, ts in by_graph.items())


def _present(store: Store, q: ox.Quad) -> bool:
    return store.ask(f"ASK {{ GRAPH {q.graph_name} {{ {q.subject} {q.predicate} {q.object} }} }}")


def _exists(store: Store, iri: str) -> bool:
    return store.ask(f"ASK {{ {{ {iri_nt(iri)} skos:prefLabel ?l }} UNION {{ ?c rdf:subject {iri_nt(iri)} }} "
                     f"UNION {{ ?c rdf:object {iri_nt(iri)} }} }}")


def merge_concepts(store: Store, source: str, target: str, curator: str, reason: str) -> MergeRecord:
    """Merge ``source`` into ``target`` (see the module docstring); one transaction, recorded and undoable."""
    if not curator or not curator.strip():
        raise CurationError("a curation act needs the curator's identity (--curator or $MCRAG_CURATOR)")
    if not reason or not reason.strip():
        raise CurationError("a curation act needs a reason")
    if source == target:
        raise CurationError(f"cannot merge {source} into itself")
    for iri in (source, target):
        if not _exists(store, iri):
            raise CurationError(f"no concept {iri} in the store")
    if store.ask(f"ASK {{ {iri_nt(source)} dcterms:isReplacedBy ?x }}"):
        raise CurationConflictError(f"{source} was merged already; undo that merge first")
    s = iri_nt(source)
    pointing = _quads(store, f"""SELECT ?g ?s ?p ?o (IF(isLiteral(?o), "literal", "iri") AS ?ot) WHERE {{ GRAPH ?g {{
        {{ ?s ?p {s} . FILTER (?p IN (rdf:subject, rdf:object, mcrag:mediator, {', '.join(iri_nt(p) for p in CAUSAL_PREDICATES)})) BIND ({s} AS ?o) }}
        UNION {{ {s} ?p ?o . FILTER (?p IN ({', '.join(iri_nt(p) for p in CAUSAL_PREDICATES)})) BIND ({s} AS ?s) }} }} }}""")
    claims = sorted({_v(q.subject) for q in pointing if q.predicate.value in (str(RDF.subject), str(RDF.object),
                                                                               str(MCRAG.mediator))})
    src, tgt = ox.NamedNode(source), ox.NamedNode(target)
    repointed = [ox.Quad(tgt if q.subject == src else q.subject, q.predicate, tgt if q.object == src else q.object,
                         q.graph_name) for q in pointing]
    self_loops = [q for q in repointed if q.subject == q.object]
    if self_loops:
        raise CurationConflictError(f"merging would make a claim or edge link {target} to itself "
                                    f"({_v(self_loops[0].subject)}); reject that claim first")
    old_v, new_v = _version_quads(store, claims)
    curated = ox.NamedNode(NAMED_GRAPHS["curated"])
    labels = [r["l"] for r in store.select(f"SELECT DISTINCT ?l WHERE {{ {s} skos:prefLabel|skos:altLabel ?l }}")]
    extra = [ox.Quad(src, ox.NamedNode(str(DCTERMS.isReplacedBy)), tgt, curated)]
    extra += [ox.Quad(tgt, ox.NamedNode(str(SKOS.altLabel)), ox.Literal(lab or "", language="en"), curated)
              for lab in labels if lab]
    removed = pointing + old_v
    # a quad the store already holds (the target's own edge from the same cause) is not added by this act,
    # so undoing the act must not remove it
    added = [q for q in dict.fromkeys(repointed + new_v + extra) if q in set(removed) or not _present(store, q)]
    now = datetime.now(UTC)
    act = new_activity_iri("merge", now)
    store.update(f"""DELETE DATA {{ {_data(removed)} }} ;
INSERT DATA {{ {_data(added)} }} ;
INSERT DATA {{ GRAPH <{NAMED_GRAPHS['curated']}> {{
    {_record(act, MERGE_ACTION, curator, reason, now, [source, target, *claims], removed, added)} }} }}""")
    return MergeRecord(act, MERGE_ACTION, source, target, tuple(claims), len(removed), len(added))


def undo_merge(store: Store, activity: str, curator: str, reason: str) -> MergeRecord:
    """Put back exactly what a merge changed, provided nothing it added has changed since."""
    if not curator or not curator.strip() or not reason or not reason.strip():
        raise CurationError("undoing a merge needs the curator's identity and a reason")
    rows = store.select(f"""SELECT ?rem ?add WHERE {{ {iri_nt(activity)} mcrag:action {literal_nt(MERGE_ACTION)} ;
        mcrag:removedQuads ?rem ; mcrag:addedQuads ?add }}""")
    if not rows:
        raise CurationError(f"no merge {activity} in the store")
    if store.ask(f"ASK {{ ?u mcrag:undoes {iri_nt(activity)} }}"):
        raise CurationConflictError(f"merge {activity} was undone already")
    removed, added = _parse(rows[0]["rem"] or ""), _parse(rows[0]["add"] or "")
    for q in added:
        if not _present(store, q):
            raise CurationConflictError(f"cannot undo merge {activity}: {q.subject} {q.predicate} {q.object} has "
                                        "changed since; nothing was changed")
    used = store.select(f"SELECT ?u WHERE {{ {iri_nt(activity)} prov:used ?u }}")
    concepts = [r["u"] or "" for r in used]
    now = datetime.now(UTC)
    act = new_activity_iri("merge", now)
    store.update(f"""DELETE DATA {{ {_data(added)} }} ;
INSERT DATA {{ {_data(removed)} }} ;
INSERT DATA {{ GRAPH <{NAMED_GRAPHS['curated']}> {{
    {_record(act, UNDO_MERGE_ACTION, curator, reason, now, concepts, added, removed, undoes=activity)} }} }}""")
    replaced = next((q for q in added if q.predicate.value == str(DCTERMS.isReplacedBy)), None)
    source = _v(replaced.subject) if replaced else ""
    target = _v(replaced.object) if replaced else ""
    claims = tuple(sorted({_v(q.subject) for q in removed if q.predicate.value in (str(RDF.subject),
                                                                                      str(RDF.object))}))
    return MergeRecord(act, UNDO_MERGE_ACTION, source, target, claims, len(added), len(removed))


def merged_label(store: Store, concept: str) -> str:
    """The concept's label, for messages."""
    return concept_labels(store, [concept]).get(concept, concept)


__all__ = ["MergeRecord", "merge_concepts", "merged_label", "undo_merge"]
