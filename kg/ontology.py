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
    """Put the shipped OWL ontology in the ``ontology`` graph, replacing an older copy in one update.

    The ontology graph holds nothing but this file, so replacing it is safe; loading an unchanged
    file again changes nothing.
    """
    import pyoxigraph as ox

    graph = NAMED_GRAPHS["ontology"]
    path = ontology_path(ONTOLOGY_FILE)
    before = store.count()
    if store.count(graph) == 0:
        return store.load(path, "turtle", graph=graph)
    fresh = ox.Store()
    fresh.load(path=str(path), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(graph))
    if _canonical(fresh) == _canonical_graph(store, graph):  # same ontology (blank nodes aside): nothing to do
        return LoadReport(f"{path} (already up to date)", "turtle", graph, before, before)
    triples = " ".join(f"{q.subject} {q.predicate} {q.object} ." for q in fresh)
    store.update(f"DROP SILENT GRAPH <{graph}> ; INSERT DATA {{ GRAPH <{graph}> {{ {triples} }} }}")
    return LoadReport(str(path), "turtle", graph, before, store.count())


def _canonical(quads: object) -> set[str]:
    import pyoxigraph as ox

    ds = ox.Dataset(quads)  # type: ignore[arg-type]
    ds.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return {str(q) for q in ds}


def _canonical_graph(store: Store, graph: str) -> set[str]:
    import io

    import pyoxigraph as ox

    buf = io.BytesIO()
    store.export(buf, "nquads", graph=graph)
    quads = [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph))
             for t in ox.parse(buf.getvalue(), format=ox.RdfFormat.N_TRIPLES)]
    return _canonical(quads)


def load_starter_graph(store: Store) -> LoadReport:
    """Load the curated starter graph into the ``starter`` graph, once.

    Curation acts change the starter claims in place (status, certainty, version), so the graph is
    never loaded over an existing one: that would bring the original values back beside the curated ones.
    """
    graph = NAMED_GRAPHS["starter"]
    path = ontology_path(STARTER_FILE)
    before = store.count()
    if store.count(graph) > 0:
        return LoadReport(f"{path} (already present, left as curated)", "turtle", graph, before, before)
    return store.load(path, "turtle", graph=graph)


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
    """Ontology, the concept table and the starter graph: what a fresh store needs to be useful. Safe to run
    again on a used store: the ontology and the concept table are brought up to date and curated state is
    left alone."""
    return [load_ontology(store), load_concept_graph(store), load_starter_graph(store)]
