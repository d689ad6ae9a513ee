"""The SPARQL 1.1 Protocol endpoint: content negotiation, auth, errors, limits, and real clients."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kg.ontology import bootstrap
from kg.store import open_store
from mcrag.service.app import create_app
from mcrag.settings import load_settings
from tests.servers import mcrag_server

TOKEN = "s3cret"
TWO_HOP = ("SELECT ?mid ?effect WHERE { concept:heart_failure mcrag:causes ?mid . ?mid mcrag:causes ?effect } "
           "ORDER BY ?mid ?effect")


@pytest.fixture()
def client() -> Iterator[TestClient]:
    store = open_store(":memory:")
    bootstrap(store)
    app = create_app(load_settings(token=TOKEN, query_timeout=2.0, max_rows=500), store=store)
    with TestClient(app) as c:
        yield c


def test_get_query_returns_sparql_json(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": TWO_HOP})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/sparql-results+json")
    body = r.json()
    assert body["head"]["vars"] == ["mid", "effect"]
    assert len(body["results"]["bindings"]) >= 4


def test_post_forms_and_content_negotiation(client: TestClient) -> None:
    direct = client.post("/sparql", content=TWO_HOP, headers={"Content-Type": "application/sparql-query",
                                                               "Accept": "text/csv"})
    assert direct.status_code == 200 and direct.headers["content-type"].startswith("text/csv")
    assert direct.text.splitlines()[0] == "mid,effect"
    form = client.post("/sparql", data={"query": TWO_HOP}, headers={"Accept": "application/sparql-results+xml"})
    assert form.status_code == 200 and "<sparql" in form.text and "heart" not in form.text.split("<results>")[0]
    tsv = client.get("/sparql", params={"query": TWO_HOP}, headers={"Accept": "text/tab-separated-values"})
    assert tsv.text.startswith("?mid\t?effect")


def test_ask_and_construct(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "ASK { concept:heart_failure mcrag:causes ?x }"})
    assert r.json()["boolean"] is True
    r = client.get("/sparql", params={"query": "CONSTRUCT { ?a mcrag:causes ?b } WHERE { ?a mcrag:causes ?b }"})
    assert r.headers["content-type"].startswith("application/n-triples")
    assert r.text.count(" .\n") > 10


def test_malformed_query_is_400_with_parser_message(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "SELEC ?x WHERE { ?x ?p ?o }"})
    assert r.status_code == 400
    assert "syntax" in r.json()["detail"].lower()


def test_update_needs_token(client: TestClient) -> None:
    upd = "INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:p> <urn:b> } }"
    r = client.post("/sparql", data={"update": upd})
    assert r.status_code == 401
    r = client.post("/sparql", data={"update": upd}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert client.get("/sparql", params={"query": "ASK { <urn:a> <urn:p> <urn:b> }"}).json()["boolean"] is False
    r = client.post("/sparql", content=upd, headers={"Content-Type": "application/sparql-update",
                                                      "Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 204
    assert client.get("/sparql", params={"query": "ASK { <urn:a> <urn:p> <urn:b> }"}).json()["boolean"] is True


def test_updates_disabled_without_configured_token() -> None:
    app = create_app(load_settings(token=None), store=open_store(":memory:"))
    with TestClient(app) as c:
        r = c.post("/sparql", data={"update": "CLEAR ALL"}, headers={"Authorization": "Bearer anything"})
        assert r.status_code == 401


def test_result_size_limit(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert r.status_code == 400 and "more than 500" in r.json()["detail"]


def test_query_past_time_limit_is_stopped_and_server_keeps_serving() -> None:
    store = open_store(":memory:")
    store.load("".join(f"<urn:s{i}> <urn:p> <urn:o{i}> .\n" for i in range(300)).encode(), "ntriples")
    app = create_app(load_settings(query_timeout=0.5, max_rows=10**9), store=store)
    with TestClient(app) as c:
        t0 = time.monotonic()
        r = c.get("/sparql", params={"query": "SELECT * WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }"})
        assert r.status_code == 503 and "time limit" in r.json()["detail"]
        assert time.monotonic() - t0 < 10
        assert c.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True


def test_unsupported_content_type_and_oversized_body(client: TestClient) -> None:
    assert client.post("/sparql", content="x", headers={"Content-Type": "image/png"}).status_code == 415
    app = create_app(load_settings(max_upload_bytes=100), store=open_store(":memory:"))
    with TestClient(app) as c:
        r = c.post("/sparql", content="ASK {}" + " " * 200, headers={"Content-Type": "application/sparql-query"})
        assert r.status_code == 413


def test_openapi_documents_the_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/sparql" in spec["paths"] and {"get", "post"} <= set(spec["paths"]["/sparql"])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("live") / "store"
    with open_store(folder) as st:
        bootstrap(st)
    with mcrag_server(folder) as root:
        yield root


def test_real_server_answers_curl(live_server: str) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    out = subprocess.run([curl, "-sf", "-H", "Accept: application/sparql-results+json", "--data-urlencode",
                          f"query={TWO_HOP}", f"{live_server}/sparql"], capture_output=True, check=True, timeout=30)
    assert len(json.loads(out.stdout)["results"]["bindings"]) >= 4


def test_real_server_answers_rdflib_sparqlstore(live_server: str) -> None:
    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    g = Graph(store=SPARQLStore(query_endpoint=f"{live_server}/sparql", returnFormat="json"))
    rows = list(g.query("PREFIX mcrag: <https://w3id.org/mcrag#> PREFIX concept: <https://w3id.org/mcrag/concept/> "
                        "SELECT ?effect WHERE { concept:heart_failure mcrag:causes/mcrag:causes ?effect }"))
    effects = {str(r[0]) for r in rows}
    assert "https://w3id.org/mcrag/concept/interstitial_edema" in effects


def test_real_server_refuses_update_without_token(live_server: str) -> None:
    import httpx

    r = httpx.post(f"{live_server}/sparql", data={"update": "CLEAR ALL"})
    assert r.status_code == 401
    assert httpx.get(f"{live_server}/sparql", params={"query": "ASK { ?s ?p ?o }"}).json()["boolean"] is True


def test_missing_store_folder_is_a_clear_message(tmp_path: Path) -> None:
    from kg.errors import StoreUnavailableError

    with pytest.raises(StoreUnavailableError, match="does not exist"):
        open_store(tmp_path / "nope", create=False)
