"""One behavioural suite for every Store backend: embedded Oxigraph and a real Oxigraph server."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.claims import CausalClaim, Concept, SourceSpan, write_claims
from kg.errors import MalformedQueryError, MalformedRDFError
from kg.namespaces import NAMED_GRAPHS
from kg.ontology import bootstrap
from kg.store import OxigraphStore, RemoteSparqlStore, Store, open_store
from tests.servers import mcrag_server, oxigraph_binary, oxigraph_server

G = "http://example.org/g1"
TTL = b"""@prefix ex: <http://example.org/> .
ex:a ex:causes ex:b .
ex:b ex:causes ex:c ; ex:label "B node"@en .
ex:c ex:weight 0.5 .
"""


TOKEN = "contract-test-token"


@pytest.fixture(scope="module")
def oxigraph_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if oxigraph_binary() is None:
        pytest.skip("oxigraph server binary not installed")
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as root:
        yield root


@pytest.fixture(scope="module")
def mcrag_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mcrag_server(tmp_path_factory.mktemp("mcrag") / "store", env={"MCRAG_TOKEN": TOKEN}) as root:
        yield root


@pytest.fixture(params=["embedded", "oxigraph-server", "mcrag-server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same suite against each backend; remote stores are emptied before each test."""
    if request.param == "embedded":
        st: Store = open_store(tmp_path / "store")
        assert isinstance(st, OxigraphStore)
    elif request.param == "oxigraph-server":
        st = open_store(request.getfixturevalue("oxigraph_root"))
        assert isinstance(st, RemoteSparqlStore) and st.capabilities.graph_store_protocol
        st.clear()
    else:
        st = open_store(request.getfixturevalue("mcrag_root") + "/sparql", token=TOKEN)
        assert isinstance(st, RemoteSparqlStore) and not st.capabilities.graph_store_protocol
        st.clear()
    yield st
    st.close()


def test_load_into_named_graph_and_count(store: Store) -> None:
    rep = store.load(TTL, "turtle", graph=G)
    assert rep.added == 4
    assert store.count() == 4
    assert store.count(G) == 4
    assert store.named_graphs() == [G]


def test_select_over_union_default_graph(store: Store) -> None:
    store.load(TTL, "turtle", graph=G)
    res = store.query("SELECT ?x ?z WHERE { ?x <http://example.org/causes> ?y . ?y <http://example.org/causes> ?z }")
    assert res.form == "select"
    assert res.dicts() == [{"x": "http://example.org/a", "z": "http://example.org/c"}]


def test_literal_terms_keep_language_and_datatype(store: Store) -> None:
    store.load(TTL, "turtle", graph=G)
    label = store.query("SELECT ?l WHERE { ?s <http://example.org/label> ?l }").rows[0][0]
    assert label is not None and label.lang == "en" and label.value == "B node"
    weight = store.query("SELECT ?w WHERE { ?s <http://example.org/weight> ?w }").rows[0][0]
    assert weight is not None and weight.datatype == "http://www.w3.org/2001/XMLSchema#decimal"


def test_ask_and_construct(store: Store) -> None:
    store.load(TTL, "turtle", graph=G)
    assert store.ask("ASK { <http://example.org/a> ?p ?o }") is True
    assert store.ask("ASK { <http://example.org/zz> ?p ?o }") is False
    res = store.query("CONSTRUCT { ?s <http://example.org/r> ?o } WHERE { ?s <http://example.org/causes> ?o }")
    assert res.form == "graph" and len(res.triples) == 2


def test_malformed_rdf_names_line_and_changes_nothing(store: Store) -> None:
    store.load(TTL, "turtle", graph=G)
    bad = b"@prefix ex: <http://example.org/> .\nex:x ex:causes ex:y .\nex:y ex:causes \"unterminated .\n"
    with pytest.raises(MalformedRDFError) as err:
        store.load(bad, "turtle", graph=G, source_name="bad.ttl")
    assert "bad.ttl" in str(err.value)
    assert err.value.line == 3
    assert store.count() == 4
    assert not store.ask("ASK { <http://example.org/x> ?p ?o }")


def test_malformed_query_is_reported(store: Store) -> None:
    with pytest.raises(MalformedQueryError):
        store.query("SELEC ?x WHERE { ?x ?p ?o }")


def test_update_insert_and_delete(store: Store) -> None:
    store.update(f"INSERT DATA {{ GRAPH <{G}> {{ <http://e/a> <http://e/p> 1 . <http://e/a> <http://e/p> 2 }} }}")
    assert store.count(G) == 2
    store.update(f"DELETE WHERE {{ GRAPH <{G}> {{ <http://e/a> <http://e/p> 1 }} }}")
    assert store.count(G) == 1


def test_malformed_update_changes_nothing(store: Store) -> None:
    store.load(TTL, "turtle", graph=G)
    with pytest.raises(MalformedQueryError):
        store.update("INSERT DATA { <http://e/a> <http://e/p> ")
    assert store.count() == 4


def test_clear_one_graph(store: Store) -> None:
    store.load(TTL, "turtle", graph=G)
    store.load(TTL, "turtle", graph="http://example.org/g2")
    store.clear(G)
    assert store.named_graphs() == ["http://example.org/g2"]


@pytest.mark.parametrize("fmt", ["turtle", "ntriples", "nquads", "trig", "rdfxml", "jsonld"])
def test_export_then_reload_round_trips(store: Store, fmt: str) -> None:
    store.load(TTL, "turtle", graph=G)
    buf = io.BytesIO()
    store.export(buf, fmt, graph=G)  # type: ignore[arg-type]
    fresh = open_store(":memory:")
    fresh.load(buf.getvalue(), fmt, graph=G)  # type: ignore[arg-type]
    assert fresh.count(G) == 4
    assert fresh.ask("ASK { <http://example.org/b> <http://example.org/label> \"B node\"@en }")


def test_two_hop_causal_query_on_starter_graph(store: Store) -> None:
    bootstrap(store)
    res = store.query("""
        SELECT ?mid ?effect WHERE {
          concept:heart_failure mcrag:causes ?mid . ?mid mcrag:causes ?effect .
        }""")
    pairs = {(r["mid"], r["effect"]) for r in res.dicts()}
    base = "https://w3id.org/mcrag/concept/"
    assert (base + "pulmonary_venous_hypertension", base + "interstitial_edema") in pairs
    assert (base + "pleural_effusion", base + "atelectasis") in pairs


def test_claim_write_is_idempotent_and_keeps_provenance(store: Store) -> None:
    a = Concept("https://w3id.org/mcrag/concept/x_cause", "x cause", "Exposure")
    b = Concept("https://w3id.org/mcrag/concept/y_effect", "y effect", "Disease")
    sentence = "X cause is known to induce Y effect."
    claim = CausalClaim(a, b, span=SourceSpan("doc-1", sentence, 10, 10 + len(sentence), source="unit"),
                        extractor="test-extractor", extractor_version="1.0", confidence=0.8)
    first = write_claims(store, [claim], NAMED_GRAPHS["literature"])
    size = store.count()
    second = write_claims(store, [claim], NAMED_GRAPHS["literature"])
    assert first.written == 1 and second.written == 0 and second.skipped_existing == 1
    assert store.count() == size
    row = store.query("""
        SELECT ?sentence ?start ?end ?agent ?version WHERE {
          ?c a mcrag:CausalClaim ; mcrag:sentence ?sentence ; prov:wasDerivedFrom ?span ; prov:wasGeneratedBy ?act .
          ?span oa:hasSelector ?sel . ?sel oa:start ?start ; oa:end ?end .
          ?act prov:wasAssociatedWith ?ag . ?ag rdfs:label ?agent ; dcterms:hasVersion ?version .
        }""").dicts()
    assert row == [{"sentence": sentence, "start": "10", "end": str(10 + len(sentence)),
                    "agent": "test-extractor", "version": "1.0"}]


def test_bound_parameters_cannot_inject(store: Store) -> None:
    from kg.store import Term

    store.load(TTL, "turtle", graph=G)
    q = "SELECT ?o WHERE { ?s <http://example.org/causes> ?o }"
    assert store.select(q, bindings={"s": Term.iri("http://example.org/a")}) == [{"o": "http://example.org/b"}]
    hostile = 'x" } ; DROP ALL ; SELECT * WHERE { ?s ?p "'
    assert store.select("SELECT ?s WHERE { ?s <http://example.org/label> ?l }",
                        bindings={"l": Term.literal(hostile)}) == []
    assert store.count() == 4
    with pytest.raises(MalformedQueryError):
        store.query(q, bindings={"s": Term.iri("not an iri> } DROP ALL {")})


def test_curation_refuses_a_claim_iri_that_would_break_out_of_sparql() -> None:
    from kg import curation

    store = open_store(":memory:")
    bootstrap(store)
    before = store.count()
    with pytest.raises(curation.UnknownClaimError):
        curation.accept(store, "http://x> } ; DROP ALL ; INSERT DATA { <http://y", "eve", "attack", 1)
    assert store.count() == before
