"""Export of the curated graph (Turtle, GraphML, DOT) and a rendered picture of a subgraph."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import networkx as nx
import pyoxigraph as ox
import pytest

from kg import curation
from kg.claims import write_claims
from kg.namespaces import NAMED_GRAPHS
from mcrag.render import render_subgraph
from tests.fixtures.validation.scenario import claim


@pytest.fixture()
def curated(bootstrapped_store: Any) -> Any:
    store = bootstrapped_store
    c = claim("Cardiomegaly", "Effusion", doc="CXR5")
    r = claim("Nodule", "Mass", doc="CXR6")
    write_claims(store, [c, r], NAMED_GRAPHS["reports"])
    curation.accept(store, c.iri, "alice", "heart failure pattern", 1)
    curation.reject(store, r.iri, "alice", "size, not causation", 1)
    return store, c.iri, r.iri


def test_turtle_export_holds_claims_concepts_edges_and_the_audit_trail(curated: Any, tmp_path: Path) -> None:
    store, accepted, rejected = curated
    out = tmp_path / "curated.ttl"
    n = curation.export_curated(store, out, "turtle", statuses=("accepted",))
    triples = list(ox.parse(path=str(out), format=ox.RdfFormat.TURTLE))
    assert n == len(triples) > 100
    subjects = {t.subject.value for t in triples}
    assert accepted in subjects and rejected not in subjects
    text = out.read_text()
    assert "mcrag:CurationActivity" in text and "heart failure pattern" in text and "skos:prefLabel" in text
    assert "skos:definition" not in text  # the ontology is not part of the curated graph
    assert any(t.predicate.value.endswith("#causes") and t.subject.value.endswith("/cardiomegaly") for t in triples)


def test_graphml_and_dot_carry_edges_with_status(curated: Any, tmp_path: Path) -> None:
    store, _, _ = curated
    gml = tmp_path / "g.graphml"
    edges = curation.export_curated(store, gml, "graphml")
    g = nx.read_graphml(gml)
    assert g.number_of_edges() <= edges and g.number_of_edges() > 20  # starter graph + the accepted claim
    e = g.edges["https://w3id.org/mcrag/concept/cardiomegaly", "https://w3id.org/mcrag/concept/pleural_effusion"]
    assert e["status"] == "accepted" and e["relation"] == "causes"
    assert g.nodes["https://w3id.org/mcrag/concept/pleural_effusion"]["label"] == "pleural effusion"
    assert not g.has_edge("https://w3id.org/mcrag/concept/lung_nodule", "https://w3id.org/mcrag/concept/lung_mass")
    buf = io.BytesIO()
    curation.export_curated(store, buf, "dot")
    dot = buf.getvalue().decode()
    assert dot.startswith("digraph mcrag {") and dot.rstrip().endswith("}")
    assert '"https://w3id.org/mcrag/concept/cardiomegaly" -> "https://w3id.org/mcrag/concept/pleural_effusion"' in dot
    assert 'label="pleural effusion"' in dot


@pytest.mark.slow
def test_render_png_and_svg_of_a_subgraph(curated: Any, tmp_path: Path) -> None:
    store, _, _ = curated
    png = render_subgraph(store, tmp_path / "effusion.png", center="Effusion", depth=1)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    svg = render_subgraph(store, tmp_path / "all.svg")
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg")) and "pleural effusion" in svg.read_text()
    with pytest.raises(curation.CurationError, match="png or .svg"):
        render_subgraph(store, tmp_path / "x.jpg")
    with pytest.raises(curation.CurationError, match="no concept named"):
        render_subgraph(store, tmp_path / "x.png", center="no_such_thing")


def test_unknown_export_format_or_status_is_refused(curated: Any, tmp_path: Path) -> None:
    store, _, _ = curated
    with pytest.raises(curation.CurationError, match="turtle, graphml or dot"):
        curation.export_curated(store, tmp_path / "x.json", "json")
    with pytest.raises(curation.CurationError, match="unknown status"):
        curation.export_curated(store, tmp_path / "x.ttl", "turtle", statuses=("approved",))
