"""Where the shipped ontology files live and how they enter a store."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from kg.namespaces import NAMED_GRAPHS
from kg.store.base import LoadReport, Store

ONTOLOGY_FILE = "mcrag.ttl"
SHAPES_FILE = "shapes.ttl"
STARTER_FILE = "starter.ttl"


def ontology_path(name: str = ONTOLOGY_FILE) -> Path:
    """Path of a file shipped in the ``ontologies`` package (works installed or from a checkout)."""
    path = Path(str(resources.files("ontologies").joinpath(name)))
    if not path.is_file():
        raise FileNotFoundError(f"ontology file {name} is missing from {path.parent}")
    return path


def load_ontology(store: Store) -> LoadReport:
    """Load the MCRAG OWL ontology into the ``ontology`` named graph (idempotent: same triples)."""
    return store.load(ontology_path(ONTOLOGY_FILE), "turtle", graph=NAMED_GRAPHS["ontology"])


def load_starter_graph(store: Store) -> LoadReport:
    """Load the curated starter graph into the ``starter`` named graph."""
    return store.load(ontology_path(STARTER_FILE), "turtle", graph=NAMED_GRAPHS["starter"])


def load_concept_graph(store: Store) -> LoadReport:
    """Write the concept table as SKOS into the ``concepts`` named graph (replacing its previous contents)."""
    from kg.concept_graph import load_concepts

    graph = NAMED_GRAPHS["concepts"]
    before = store.count()
    written = load_concepts(store, graph=graph)
    after = store.count()
    return LoadReport(source=f"ontologies/chest_concepts.csv ({written} triples)", format="ntriples", graph=graph,
                      quads_before=before, quads_after=after)


def bootstrap(store: Store) -> list[LoadReport]:
    """Ontology, the concept table and the starter graph: what a fresh store needs to be useful."""
    return [load_ontology(store), load_concept_graph(store), load_starter_graph(store)]
