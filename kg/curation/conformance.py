"""SHACL before commit: the nodes an edit touches, as they would be after it, against ``ontologies/shapes.ttl``.

Checking the whole store with pySHACL takes minutes at 100k claims; an edit only changes a few
nodes, so the check reads their neighbourhood (the claims themselves, the activity that generated
each, the concepts they name), applies the planned deletions and insertions to that copy and
validates it. Class targets and ``sh:class`` need the ontology's subclass axioms: each ``rdf:type``
is closed over ``rdfs:subClassOf`` once, from the ontology, instead of running RDFS inference per
check. Only violations the edit introduces refuse it; one that was already there is not the
curator's doing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import rdflib

from kg.check import Violation
from kg.namespaces import PREFIXES, RDF, RDFS, SH
from kg.ontology import SHAPES_FILE, ontology_path
from kg.store.base import Store

NEIGHBOURHOOD_QUERY = """CONSTRUCT {{ ?x ?p ?v }} WHERE {{
  VALUES ?c {{ {values} }}
  {{ BIND (?c AS ?x) ?x ?p ?v }}
  UNION {{ ?c prov:wasGeneratedBy ?x . ?x ?p ?v }}
}}"""
"""The claims and the activities that generated them (``{claims}`` is a VALUES list of checked IRIs)."""

CONCEPTS_QUERY = """CONSTRUCT {{ ?x ?p ?v }} WHERE {{
  VALUES ?x {{ {values} }} ?x ?p ?v
  FILTER (?p IN (rdf:type, skos:prefLabel, rdfs:label, skos:exactMatch, skos:closeMatch, skos:broadMatch))
}}"""
"""What the concept and mapping shapes look at, for each concept."""


@functools.cache
def _shapes() -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(ontology_path(SHAPES_FILE), format="turtle")
    return g


@functools.cache
def _superclasses() -> dict[rdflib.term.Node, frozenset[rdflib.term.Node]]:
    ont = rdflib.Graph()
    ont.parse(ontology_path(), format="turtle")
    out: dict[rdflib.term.Node, frozenset[rdflib.term.Node]] = {}
    for cls in set(ont.subjects(RDFS.subClassOf, None)):
        out[cls] = frozenset(x for x in ont.transitive_objects(cls, RDFS.subClassOf) if isinstance(x, rdflib.URIRef))
    return out


def _closed(g: rdflib.Graph) -> rdflib.Graph:
    sup = _superclasses()
    for s, o in list(g.subject_objects(RDF.type)):
        for parent in sup.get(o, ()):
            g.add((s, RDF.type, parent))
    return g


def _turtle(statements: Iterable[str]) -> str:
    head = "".join(f"@prefix {p}: <{iri}> .\n" for p, iri in PREFIXES.items())
    return head + "\n".join(statements) + "\n"


def neighbourhood(store: Store, claims: Sequence[str], concepts: Sequence[str]) -> rdflib.Graph:
    """The part of the store an edit of ``claims`` (naming ``concepts``) can make (non-)conformant."""
    import pyoxigraph as ox

    g = rdflib.Graph()
    for template, iris in ((NEIGHBOURHOOD_QUERY, claims), (CONCEPTS_QUERY, concepts)):
        for k in range(0, len(iris), 300):
            values = " ".join(str(ox.NamedNode(i)) for i in iris[k:k + 300])
            result = store.query(template.format(values=values))
            lines = [f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in result.triples if s.kind != "literal"]
            if lines:
                g.parse(data="\n".join(lines), format="nt")
    return g


def apply(g: rdflib.Graph, delete: Iterable[str], insert: Iterable[str]) -> rdflib.Graph:
    """A copy of ``g`` without the ``delete`` statements and with the ``insert`` ones (Turtle, prefixed names allowed)."""
    out = rdflib.Graph()
    for t in g:
        out.add(t)
    gone = rdflib.Graph()
    gone.parse(data=_turtle(delete), format="turtle")
    for t in gone:
        out.remove(t)
    out.parse(data=_turtle(insert), format="turtle")
    return out


def violations(g: rdflib.Graph, focus: Iterable[str] | None = None) -> list[Violation]:
    """SHACL violations in ``g`` (its types closed over the ontology's subclasses), for the ``focus`` nodes only."""
    import pyshacl

    data = _closed(g)
    _, results, _ = pyshacl.validate(data, shacl_graph=_shapes(), inference="none", advanced=True,
                                     allow_warnings=True)
    wanted = {rdflib.URIRef(f) for f in focus} if focus is not None else None
    out = []
    for r in results.subjects(RDF.type, SH.ValidationResult):
        node = results.value(r, SH.focusNode)
        if wanted is not None and node not in wanted:
            continue

        def val(p: rdflib.URIRef, r: rdflib.term.Node = r) -> str | None:
            v = results.value(r, p)
            return str(v) if v is not None else None

        out.append(Violation("shacl", str(node), val(SH.resultMessage) or "shape violated", val(SH.resultPath),
                             val(SH.value), val(SH.sourceShape)))
    return sorted(out, key=lambda v: (v.focus_node, v.message, v.path or "", v.value or ""))


def new_violations(before: rdflib.Graph, after: rdflib.Graph, focus: Sequence[str]) -> list[Violation]:
    """Violations ``after`` has that ``before`` had not (the same node, path, value and message)."""
    old = {(v.focus_node, v.message, v.path, v.value) for v in violations(before, focus)}
    return [v for v in violations(after, focus) if (v.focus_node, v.message, v.path, v.value) not in old]
