"""The concept table as SKOS in the store's ``concepts`` graph: what ``kg init`` writes.

Each concept is a ``skos:Concept`` (and an instance of its MCRAG class) in the scheme
``concept:chest``, with one ``skos:prefLabel`` per language, its synonyms as ``skos:altLabel``,
``skos:exactMatch`` / ``closeMatch`` / ``broadMatch`` / ``narrowMatch`` to HPO, DOID, MeSH and UMLS as
the table says, ``skos:broader`` for the table's own is-a parents, its tier and scope. The graph is
derived from the shipped table, so writing it replaces the graph's previous contents in one
transaction: re-running ``kg init`` changes nothing, and a corrected table leaves no stale label.
Curators' acts on concepts (merges) live in the ``curated`` graph and are never touched here.
"""

from __future__ import annotations

import pyoxigraph as ox

from kg.concepts import EXTERNAL_BASES, ConceptTable, default_table
from kg.namespaces import CONCEPT, DCTERMS, MCRAG, NAMED_GRAPHS, RDF, RDFS, SKOS
from kg.store.base import Store

SCHEME = str(CONCEPT["chest"])
"""The ``skos:ConceptScheme`` every table concept is in."""


def _nn(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def concept_triples(table: ConceptTable | None = None) -> list[ox.Triple]:
    """The table's concepts as SKOS triples (see the module docstring)."""
    t = table or default_table()
    scheme = _nn(SCHEME)
    out = [ox.Triple(scheme, _nn(RDF.type), _nn(SKOS.ConceptScheme)),
           ox.Triple(scheme, _nn(SKOS.prefLabel), ox.Literal("MCRAG chest concepts", language="en")),
           ox.Triple(scheme, _nn(DCTERMS.source), ox.Literal("ontologies/chest_concepts.csv"))]
    for c in t:
        s = _nn(c.iri)
        out += [ox.Triple(s, _nn(RDF.type), _nn(SKOS.Concept)),
                ox.Triple(s, _nn(RDF.type), _nn(str(MCRAG[c.kind]))),
                ox.Triple(s, _nn(SKOS.inScheme), scheme),
                ox.Triple(s, _nn(MCRAG.tier), ox.Literal(c.tier)),
                ox.Triple(s, _nn(MCRAG.scope), ox.Literal(c.scope))]
        for lang, lab in c.pref_labels.items():
            out.append(ox.Triple(s, _nn(SKOS.prefLabel), ox.Literal(lab, language=lang)))
            if lang == "en":
                out.append(ox.Triple(s, _nn(RDFS.label), ox.Literal(lab, language=lang)))
        out += [ox.Triple(s, _nn(SKOS.altLabel), ox.Literal(a, language="en")) for a in c.alt_labels]
        for m in c.matches:
            out.append(ox.Triple(s, _nn(SKOS[m.relation]), _nn(m.iri)))
            if m.relation == "exactMatch":
                out.append(ox.Triple(s, _nn(SKOS.notation), ox.Literal(m.curie)))
        if c.umls:
            out.append(ox.Triple(s, _nn(SKOS.exactMatch), _nn(EXTERNAL_BASES["UMLS"] + c.umls)))
            out.append(ox.Triple(s, _nn(SKOS.notation), ox.Literal(f"UMLS:{c.umls}")))
        out += [ox.Triple(s, _nn(SKOS.broader), _nn(str(CONCEPT[b]))) for b in c.broader]
        if c.note:
            out.append(ox.Triple(s, _nn(SKOS.scopeNote), ox.Literal(c.note, language="en")))
    return out


def load_concepts(store: Store, table: ConceptTable | None = None, graph: str = NAMED_GRAPHS["concepts"]) -> int:
    """Write the table into ``graph``, replacing what it held, as one update; returns the triples written."""
    triples = concept_triples(table)
    body = (ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"").decode("utf-8")
    store.update(f"DROP SILENT GRAPH <{graph}> ;\nINSERT DATA {{ GRAPH <{graph}> {{\n{body}}} }}")
    return len(triples)


__all__ = ["SCHEME", "concept_triples", "load_concepts"]
