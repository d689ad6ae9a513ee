"""Bad input over HTTP: each gets a clear 4xx and the store is byte-for-byte unchanged."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kg.ontology import bootstrap
from kg.store import Store, open_store
from mcrag.service.app import create_app
from mcrag.settings import load_settings

TOKEN = "bad-input-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def dump(store: Store) -> list[str]:
    buf = io.BytesIO()
    store.export(buf, "nquads")
    return sorted(buf.getvalue().decode().splitlines())


@pytest.fixture()
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store, list[str]]]:
    store = open_store(":memory:")
    bootstrap(store)
    settings = load_settings(token=TOKEN, max_upload_bytes=64 * 1024, home=tmp_path_factory.mktemp("home"))
    with TestClient(create_app(settings, store=store)) as client:
        yield client, store, dump(store)


def _png(width: int, height: int, payload: bytes = b"") -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(payload)) + chunk(b"IEND", b"")


CASES = [
    ("malformed SPARQL", "get", "/sparql", {"params": {"query": "SELECT ?x WHERE { ?x ?p "}}, 400),
    ("malformed update", "post", "/sparql", {"data": {"update": "INSERT DATA { <urn:a> <urn:b> "}, "headers": AUTH}, 400),
    ("update without token", "post", "/sparql", {"data": {"update": "CLEAR ALL"}}, 401),
    ("malformed Turtle upload", "post", "/store", {"params": {"graph": "curated"}, "content": b"<urn:a> <urn:b> \"x .",
                                                   "headers": {**AUTH, "Content-Type": "text/turtle"}}, 400),
    ("RDF/XML that is not XML", "post", "/store", {"params": {"graph": "curated"}, "content": b"<rdf:RDF",
                                                   "headers": {**AUTH, "Content-Type": "application/rdf+xml"}}, 400),
    ("mislabelled RDF", "post", "/store", {"content": b"<urn:a> <urn:b> <urn:c> .",
                                          "headers": {**AUTH, "Content-Type": "text/csv"}}, 415),
    ("oversized upload", "post", "/store", {"params": {"graph": "curated"}, "content": b"#" * 70_000,
                                           "headers": {**AUTH, "Content-Type": "text/turtle"}}, 413),
    ("malformed JSON act", "post", "/api/curation/claims/8f29727214d6d65af9ea/accept",
     {"content": b"{curator: nope", "headers": {**AUTH, "Content-Type": "application/json"}}, 422),
    ("act without reason", "post", "/api/curation/claims/8f29727214d6d65af9ea/accept",
     {"json": {"curator": "x", "reason": "", "expected_version": 1}, "headers": AUTH}, 422),
    ("unknown claim", "post", "/api/curation/claims/0000000000000000dead/reject",
     {"json": {"curator": "x", "reason": "y", "expected_version": 1}, "headers": AUTH}, 404),
    ("injection through claim id", "get", "/api/claims/abc%3E%20%7D%20DROP%20ALL%20%7B", {}, 422),
    ("injection through concept", "get", "/api/evidence",
     {"params": {"concept": "http://x> } } ; DROP ALL ; SELECT * { <http://y"}}, 422),
    ("injection through finding", "get", "/api/evidence", {"params": {"finding": "Effusion\" } DROP ALL {"}}, 422),
    ("SPARQL update smuggled into a query", "get", "/sparql", {"params": {"query": "DROP ALL"}}, 400),
    ("truncated PNG", "post", "/api/infer", {"data": {"task": "diagnose", "retrieval": "none"},
                                            "files": {"image": ("x.png", _png(64, 64, b"\0" * 65 * 64)[:60], "image/png")}}, 422),
    ("decompression bomb", "post", "/api/infer", {"data": {"task": "diagnose", "retrieval": "none"},
                                                 "files": {"image": ("bomb.png", _png(60000, 60000), "image/png")}}, 422),
    ("text file named .png", "post", "/api/infer", {"data": {"task": "diagnose", "retrieval": "none"},
                                                   "files": {"image": ("x.png", b"hello, world", "image/png")}}, 422),
    ("oversized image", "post", "/api/infer", {"data": {"task": "diagnose"},
                                              "files": {"image": ("big.png", b"\x89PNG" + b"\0" * 70_000, "image/png")}}, 413),
    ("unknown task", "post", "/api/infer", {"data": {"task": "segment", "findings": "Effusion=0.9"}}, 422),
    ("vqa without question", "post", "/api/infer", {"data": {"task": "vqa", "findings": "Effusion=0.9"}}, 422),
    # checked before the model is loaded, so a server without a model still calls it the caller's error
    ("malformed finding vector", "post", "/api/infer", {"data": {"task": "diagnose", "findings": "<input>"}}, 422),
    ("unknown view", "post", "/api/infer", {"data": {"task": "diagnose", "findings": "Effusion=0.9",
                                                     "view": "sideways"}}, 422),
]


@pytest.mark.parametrize(("name", "method", "path", "kwargs", "status"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_4xx_and_changes_nothing(env: tuple[TestClient, Store, list[str]], name: str, method: str,
                                              path: str, kwargs: dict, status: int) -> None:
    client, store, before = env
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.text
    assert response.json()["detail"], "the error must say what was wrong"
    assert dump(store) == before


def test_good_upload_goes_in_as_one_graph(env: tuple[TestClient, Store, list[str]]) -> None:
    client, store, before = env
    r = client.post("/store", params={"graph": "curated"}, content=b"<urn:a> <urn:b> <urn:c> .",
                    headers={**AUTH, "Content-Type": "application/n-triples"})
    assert r.status_code == 204
    assert len(dump(store)) == len(before) + 1


def test_evidence_route_gives_trusted_chest_edges_unless_asked(env: tuple[TestClient, Store, list[str]]) -> None:
    from kg.claims import CausalClaim, SourceSpan, write_claims
    from kg.concepts import concept_for_finding
    from kg.namespaces import NAMED_GRAPHS

    client, store, _ = env
    write_claims(store, [CausalClaim(concept_for_finding("Emphysema"), concept_for_finding("Effusion"), status="proposed",
                                     span=SourceSpan("d", "x", 0, 1, source="bc5cdr"), extractor="t")],
                 NAMED_GRAPHS["literature"])
    default = client.get("/api/evidence", params={"finding": "Effusion", "hops": 1}).json()
    assert default["edges"] and all(e["trusted"] and e["status"] in ("accepted", "validated") for e in default["edges"])
    asked = client.get("/api/evidence", params={"finding": "Effusion", "hops": 1, "include_proposed": True}).json()
    proposed = [e for e in asked["edges"] if e["status"] == "proposed"]
    assert len(proposed) == 1 and proposed[0]["trusted"] is False
    covid = client.get("/api/evidence", params={"finding": "COVID-19", "hops": 1}).json()
    assert any(e["subject_label"] == "COVID-19" for e in covid["edges"])


def test_uploaded_bare_edge_becomes_a_proposed_claim_citing_the_request(env: tuple[TestClient, Store, list[str]]) -> None:
    """A causal edge stated alone over the Graph Store Protocol gets a proposed claim, as `kg load` gives one."""
    from kg import curation

    client, store, _ = env
    body = (b"@prefix mcrag: <https://w3id.org/mcrag#> .\n"
            b"<urn:x:smoking> mcrag:causes <urn:x:emphysema> .\n")
    for _ in range(2):  # the second upload finds the edge backed and proposes nothing more
        r = client.post("/store", params={"graph": "curated"}, content=body, headers={**AUTH, "Content-Type": "text/turtle"})
        assert r.status_code == 204, r.text
    rows = store.select("""SELECT ?c ?who WHERE { ?c a mcrag:CausalClaim ; rdf:subject <urn:x:smoking> ;
        rdf:object <urn:x:emphysema> ; mcrag:status mcrag:proposed ; prov:wasGeneratedBy/prov:wasAssociatedWith/rdfs:label ?who }""")
    assert [r["who"] for r in rows] == ["mcrag serve: POST /store"]
    queued = curation.review_queue(store, 50, statuses=("proposed",))
    assert rows[0]["c"] in {i.claim for i in queued}
