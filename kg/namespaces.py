"""IRIs of the MCRAG vocabulary, its named graphs and the W3C vocabularies it reuses.

The one place a namespace is declared: every module that writes or reads the graph imports its
IRIs from here (``RDF.subject``, ``PROV.wasGeneratedBy``, ``MCRAG.status`` ...).
"""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SH, SKOS, VOID, XSD

MCRAG = Namespace("https://w3id.org/mcrag#")
"""The MCRAG ontology (classes, properties and controlled values)."""

ID = Namespace("https://w3id.org/mcrag/id/")
"""Instances minted by MCRAG: claims, spans, activities, documents."""

CONCEPT = Namespace("https://w3id.org/mcrag/concept/")
"""Medical concepts of the starter graph and of mined claims."""

GRAPH = Namespace("https://w3id.org/mcrag/graph/")
"""Named graphs, one per source of statements."""

OA = Namespace("http://www.w3.org/ns/oa#")
"""W3C Web Annotation vocabulary: text selectors for sentence spans."""

MESH = Namespace("http://id.nlm.nih.gov/mesh/")
OBO = Namespace("http://purl.obolibrary.org/obo/")

__all__ = ["CONCEPT", "DCTERMS", "FOAF", "GRAPH", "ID", "MCRAG", "MESH", "NAMED_GRAPHS", "OA", "OBO", "OWL",
           "PREFIXES", "PROV", "RDF", "RDFS", "SH", "SKOS", "VOID", "XSD", "graph_iri", "local_name", "mcrag_local",
           "release_graph", "sparql_prologue"]

NAMED_GRAPHS: dict[str, str] = {
    "ontology": str(GRAPH["ontology"]),
    "concepts": str(GRAPH["concepts"]),
    "starter": str(GRAPH["starter"]),
    "literature": str(GRAPH["literature"]),
    "reports": str(GRAPH["reports"]),
    "curated": str(GRAPH["curated"]),
    "validation": str(GRAPH["validation"]),
    "proposals": str(GRAPH["proposals"]),
}
"""Named graph per source of statements; `kg load --graph NAME` accepts these short names."""

PREFIXES: dict[str, str] = {
    "mcrag": str(MCRAG),
    "id": str(ID),
    "concept": str(CONCEPT),
    "graph": str(GRAPH),
    "prov": str(PROV),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "sh": str(SH),
    "oa": str(OA),
    "mesh": str(MESH),
    "obo": str(OBO),
    "foaf": str(FOAF),
    "void": str(VOID),
}


def sparql_prologue() -> str:
    """PREFIX lines for every namespace above, so user queries can use the short names."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


def release_graph(name: str) -> str:
    """The named graph (and version IRI) of a curated-graph release: ``graph:release/<name>``."""
    return str(GRAPH[f"release/{name}"])


def graph_iri(name_or_iri: str) -> str:
    """Resolve a short graph name (``curated``) or return an IRI unchanged."""
    if name_or_iri in NAMED_GRAPHS:
        return NAMED_GRAPHS[name_or_iri]
    return name_or_iri


def local_name(iri: str) -> str:
    """The last path or fragment segment of an IRI (``.../concept/pleural_effusion`` -> ``pleural_effusion``)."""
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def mcrag_local(iri: str | None) -> str | None:
    """The local name of an MCRAG vocabulary IRI (``mcrag:accepted`` -> ``accepted``); other values unchanged."""
    if iri is None:
        return None
    base = str(MCRAG)
    return iri[len(base):] if iri.startswith(base) else iri
