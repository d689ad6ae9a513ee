"""The one reader of stored causal claims: SPARQL templates over ``mcrag:CausalClaim`` and what they return.

Every layer that needs claims (validation, what-if, evidence for a prompt, the review queue, the web
picture) reads them here as :class:`~kg.claims.ClaimRecord`, so the claim's RDF shape is written
down in ``kg.claims`` and read back in this one module. Queries batch their ``VALUES`` so the cost
grows with what is asked for, not with the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import pyoxigraph as ox

from kg.claims import ClaimRecord, ClaimSource
from kg.errors import UnknownClaimError
from kg.namespaces import MCRAG, local_name
from kg.statuses import DEFAULT_STATUS
from kg.store.base import Store

BATCH = 300
"""IRIs per ``VALUES`` block."""

_CLAIM_PATTERN = """?c a mcrag:CausalClaim ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o .
  OPTIONAL {{ ?c mcrag:status ?status }}
  OPTIONAL {{ ?c mcrag:confidence ?conf }}
  OPTIONAL {{ ?c mcrag:polarity ?pol }}
  OPTIONAL {{ ?c mcrag:version ?version }}
  OPTIONAL {{ ?c mcrag:certainty ?cert }}
  OPTIONAL {{ ?c mcrag:mechanism ?mech }}
  OPTIONAL {{ ?c mcrag:mediator ?m }}
  OPTIONAL {{ ?c rdfs:label ?label }}
  OPTIONAL {{ ?c mcrag:scope ?scope }}
  OPTIONAL {{ GRAPH ?g {{ ?c a mcrag:CausalClaim }} }}"""

CLAIMS_QUERY = "SELECT * WHERE {{\n  {selection}\n  " + _CLAIM_PATTERN + "\n}}"
"""Every field of a claim; ``{selection}`` narrows it (a ``VALUES`` block, a graph, or nothing)."""

CLAIMS_TOUCHING_QUERY = "SELECT * WHERE {{\n  VALUES ?n {{ {values} }}\n  {{ ?c rdf:subject ?n }} UNION {{ ?c rdf:object ?n }}\n  " \
    + _CLAIM_PATTERN + "\n}}"
"""The claims whose cause or effect is one of the ``{values}`` concepts."""

CONCEPT_LABELS_QUERY = """SELECT ?c (SAMPLE(?pl) AS ?p) (SAMPLE(?rl) AS ?r) WHERE {{
  VALUES ?c {{ {values} }} OPTIONAL {{ ?c skos:prefLabel ?pl }} OPTIONAL {{ ?c rdfs:label ?rl }}
}} GROUP BY ?c"""
"""Preferred label, else ``rdfs:label``, of each concept."""

CONCEPT_SYNONYMS_QUERY = "SELECT ?c ?a WHERE {{ VALUES ?c {{ {values} }} ?c skos:altLabel ?a }} ORDER BY ?c ?a"

CONCEPT_NOTATIONS_QUERY = "SELECT ?c ?n WHERE {{ VALUES ?c {{ {values} }} ?c skos:notation ?n }} ORDER BY ?c ?n"
"""External ids (``MESH:D011654``) each concept carries as ``skos:notation``."""

CLAIM_SOURCES_QUERY = """SELECT ?c ?sentence ?doc ?ident ?coll ?cit ?section WHERE {{
  VALUES ?c {{ {values} }}
  OPTIONAL {{ ?c mcrag:sentence ?sentence }}
  OPTIONAL {{ ?c prov:wasDerivedFrom ?span .
             OPTIONAL {{ ?span mcrag:section ?section }}
             OPTIONAL {{ ?span oa:hasSource ?doc .
                        OPTIONAL {{ ?doc dcterms:identifier ?ident }}
                        OPTIONAL {{ ?doc dcterms:bibliographicCitation ?cit }}
                        OPTIONAL {{ ?doc dcterms:source ?coll }} }} }}
}}"""
"""Sentence and source document (identifier, collection, citation, section) of each claim."""

CLAIM_COUNTS_QUERY = """SELECT ?status ?rel (COUNT(DISTINCT ?c) AS ?n) WHERE {
  ?c a mcrag:CausalClaim ; mcrag:status ?status ; rdf:predicate ?rel
} GROUP BY ?status ?rel ORDER BY ?status ?rel"""
"""Claims per status and relation kind (``mcrag kg stats``)."""

CLAIM_CONCEPTS_QUERY = """SELECT DISTINCT ?c ?l WHERE {
  ?x a mcrag:CausalClaim . { ?x rdf:subject ?c } UNION { ?x rdf:object ?c }
  OPTIONAL { ?c skos:prefLabel ?l }
}"""
"""Every concept some claim names, with its preferred label."""


def _relation(iri: str | None) -> str:
    if not iri:
        return ""
    base = str(MCRAG)
    return iri[len(base):] if iri.startswith(base) else local_name(iri)


def _values(iris: Iterable[str]) -> str:
    """``<a> <b> ...`` for a VALUES block; an IRI that is not one is refused (ValueError), never pasted."""
    return " ".join(str(ox.NamedNode(i)) for i in iris)


def _chunks(iris: Iterable[str], size: int = BATCH) -> Iterator[list[str]]:
    todo = list(dict.fromkeys(i for i in iris if i))
    for k in range(0, len(todo), size):
        yield todo[k:k + size]


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _records(rows: Iterable[dict[str, str | None]], seen: dict[str, ClaimRecord]) -> None:
    for r in rows:
        c = r.get("c") or ""
        version = r.get("version")
        if not c or c in seen:  # a claim copied into two graphs, or a field with two values, counts once
            continue
        seen[c] = ClaimRecord(
            claim=c, graph=r.get("g") or "", subject=r.get("s") or "", object=r.get("o") or "",
            relation=_relation(r.get("p")), polarity=r.get("pol") or "positive",
            status=_relation(r.get("status")) or DEFAULT_STATUS,
            version=int(float(version)) if version else 1,
            mediator=r.get("m") or None, certainty=_relation(r.get("cert")) or None,
            confidence=_float(r.get("conf")), mechanism=r.get("mech"), label=r.get("label") or "",
            scope=r.get("scope") or None)


def _with_labels(store: Store, records: list[ClaimRecord]) -> list[ClaimRecord]:
    from dataclasses import replace

    labels = concept_labels(store, {r.subject for r in records} | {r.object for r in records})
    return [replace(r, subject_label=labels.get(r.subject, local_name(r.subject)),
                    object_label=labels.get(r.object, local_name(r.object))) for r in records]


def read_claims(store: Store, *, graphs: Sequence[str] | None = None, claims: Iterable[str] | None = None,
                labels: bool = True) -> list[ClaimRecord]:
    """Every causal claim in the store, or those of some named graphs, or some claim IRIs.

    Sorted by cause label, effect label and IRI; each claim once, with the graph that holds it.
    """
    seen: dict[str, ClaimRecord] = {}
    if claims is not None:
        for chunk in _chunks(claims):
            _records(store.select(CLAIMS_QUERY.format(selection=f"VALUES ?c {{ {_values(chunk)} }}")), seen)
    elif graphs:
        selection = f"VALUES ?g {{ {_values(graphs)} }} GRAPH ?g {{ ?c a mcrag:CausalClaim }}"
        _records(store.select(CLAIMS_QUERY.format(selection=selection)), seen)
    else:
        _records(store.select(CLAIMS_QUERY.format(selection="")), seen)
    out = list(seen.values())
    if labels:
        out = _with_labels(store, out)
    out.sort(key=lambda e: (e.subject_label, e.object_label, e.claim))
    return out


def read_claim(store: Store, claim: str) -> ClaimRecord:
    """One claim by IRI; :class:`~kg.errors.UnknownClaimError` when the store has no such claim."""
    found = read_claims(store, claims=[claim])
    if not found:
        raise UnknownClaimError(f"no causal claim {claim} in the store")
    return found[0]


def claims_touching(store: Store, concepts: Iterable[str], *, labels: bool = False) -> list[ClaimRecord]:
    """The claims whose cause or effect is one of ``concepts``, in the order the store returns them."""
    seen: dict[str, ClaimRecord] = {}
    for chunk in _chunks(concepts):
        _records(store.select(CLAIMS_TOUCHING_QUERY.format(values=_values(chunk))), seen)
    out = list(seen.values())
    return _with_labels(store, out) if labels else out


def concept_labels(store: Store, iris: Iterable[str]) -> dict[str, str]:
    """Preferred label (else ``rdfs:label``) of each concept that has one."""
    found: dict[str, str] = {}
    for chunk in _chunks(sorted(set(iris))):
        for r in store.select(CONCEPT_LABELS_QUERY.format(values=_values(chunk))):
            label = r["p"] or r["r"]
            if r["c"] and label:
                found[r["c"]] = label
    return found


def concept_synonyms(store: Store, iris: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``skos:altLabel`` values of each concept (a table may name a column by a synonym)."""
    found: dict[str, list[str]] = {}
    for chunk in _chunks(sorted(set(iris))):
        for r in store.select(CONCEPT_SYNONYMS_QUERY.format(values=_values(chunk))):
            if r["c"] and r["a"]:
                found.setdefault(r["c"], []).append(r["a"])
    return {k: tuple(v) for k, v in found.items()}


def concept_notations(store: Store, iris: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``skos:notation`` values (external ids) of each concept: how a mined concept finds its table concept."""
    found: dict[str, list[str]] = {}
    for chunk in _chunks(sorted(set(iris))):
        for r in store.select(CONCEPT_NOTATIONS_QUERY.format(values=_values(chunk))):
            if r["c"] and r["n"]:
                found.setdefault(r["c"], []).append(r["n"])
    return {k: tuple(v) for k, v in found.items()}


def claim_concepts(store: Store) -> dict[str, str | None]:
    """Every concept some claim names -> its preferred label (None when it has none)."""
    out: dict[str, str | None] = {}
    for r in store.select(CLAIM_CONCEPTS_QUERY):
        if r["c"] and (r["c"] not in out or out[r["c"]] is None):
            out[r["c"]] = r["l"]
    return out


def claim_sources(store: Store, claims: Iterable[str]) -> dict[str, tuple[ClaimSource, ...]]:
    """Each claim's sentence and source documents, distinct, in the order the store returns them.

    A claim without a span still yields its sentence (with an empty ``document``); one with neither
    yields nothing.
    """
    out: dict[str, list[ClaimSource]] = {}
    for chunk in _chunks(claims):
        for r in store.select(CLAIM_SOURCES_QUERY.format(values=_values(chunk))):
            c = r["c"]
            if not c:
                continue
            src = ClaimSource(document=r["doc"] or "", identifier=r["ident"], collection=r["coll"], citation=r["cit"],
                              sentence=r["sentence"], section=r["section"])
            if not src.document and not src.sentence:
                continue
            lst = out.setdefault(c, [])
            if src not in lst:
                lst.append(src)
    return {k: tuple(v) for k, v in out.items()}
