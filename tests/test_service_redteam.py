"""Attacks on the service, each answered with a clear 4xx/503 while the server and its store stay whole.

SSRF against a listener this test starts on 127.0.0.1, a runaway query and update, a string bomb,
an oversized body, billion laughs and deep RDF/XML, and a pixel bomb.
"""

from __future__ import annotations

import http.server
import io
import struct
import threading
import time
import zlib
from collections.abc import Iterator

import psutil
import pytest
from fastapi.testclient import TestClient

from kg.ontology import bootstrap
from kg.store import Store, open_store
from mcrag.service.app import create_app
from mcrag.settings import load_settings

pytestmark = pytest.mark.slow  # runaway queries run to their deadline

TOKEN = "red-team-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
STRING_BOMB = ("SELECT ?x WHERE { BIND('aaaaaaaaaaaaaaaa' AS ?x0) "
               + " ".join(f"BIND(CONCAT(?x{i},?x{i}) AS ?x{i + 1})" for i in range(30)) + " BIND(?x30 AS ?x) }")
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY a "aaaaaaaaaa">'
          + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9))
          + b']><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
          b'<rdf:Description rdf:about="http://s"><e:p>&j;</e:p></rdf:Description></rdf:RDF>')


def dump(store: Store) -> list[str]:
    buf = io.BytesIO()
    store.export(buf, "nquads")
    return sorted(buf.getvalue().decode().splitlines())


class _Listener:
    """An HTTP server on 127.0.0.1 that records every request it gets (the SSRF target)."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                hits.append(f"{self.command} {self.path}")
                body = b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"literal","value":"secret"}}]}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.hits = hits
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def listener() -> Iterator[_Listener]:
    srv = _Listener()
    yield srv
    srv.close()


def _client(store: Store, tmp_path_factory: pytest.TempPathFactory, **overrides: object) -> TestClient:
    settings = load_settings(token=TOKEN, home=tmp_path_factory.mktemp("home"), query_timeout=2.0,
                             query_workers=1, query_memory_mb=768, **overrides)
    return TestClient(create_app(settings, store=store))


@pytest.fixture()
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store]]:
    store = open_store(":memory:")
    bootstrap(store)
    with _client(store, tmp_path_factory, max_upload_bytes=1024 * 1024) as client:
        yield client, store


def _alive(client: TestClient) -> None:
    r = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    assert r.status_code == 200 and r.json()["boolean"] is True, r.text


def test_service_in_a_query_is_refused_and_nothing_is_contacted(env, listener):
    client, _ = env
    for query in (f"SELECT * WHERE {{ SERVICE <{listener.url}/internal-api> {{ ?x ?p ?o }} }}",
                  f"SELECT * WHERE {{ SERVICE SILENT <{listener.url}/x> {{ ?x ?p ?o }} }}",
                  f"PREFIX t: <{listener.url}/> SELECT * WHERE {{ OPTIONAL {{ SERVICE t:api {{ ?x ?p ?o }} }} }}"):
        r = client.get("/sparql", params={"query": query})
        assert r.status_code == 400, r.text
        assert "SERVICE" in r.json()["detail"] and "refused" in r.json()["detail"]
    assert listener.hits == []
    _alive(client)


def test_load_in_an_update_is_refused_and_nothing_is_fetched(env, listener):
    client, store = env
    before = dump(store)
    r = client.post("/sparql", data={"update": f"LOAD <{listener.url}/data.ttl> INTO GRAPH <http://g>"},
                    headers=AUTH)
    assert r.status_code == 400 and "LOAD" in r.json()["detail"]
    assert listener.hits == [] and dump(store) == before


def test_allow_list_opens_service_to_the_listed_endpoint_only(tmp_path_factory, listener):
    store = open_store(":memory:")
    with _client(store, tmp_path_factory, remote_allow=(f"{listener.url}/sparql",)) as client:
        ok = client.get("/sparql", params={"query": f"SELECT * WHERE {{ SERVICE <{listener.url}/sparql> {{ ?x ?p ?o }} }}"})
        assert ok.status_code == 200 and "secret" in ok.text
        other = client.get("/sparql", params={"query": f"SELECT * WHERE {{ SERVICE <{listener.url}/admin> {{ ?x ?p ?o }} }}"})
        assert other.status_code == 400
    assert listener.hits == ["POST /sparql"]


def _worker_cpu_seconds() -> float:
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def test_runaway_query_is_stopped_and_its_cpu_freed(env):
    client, _ = env
    r = client.get("/sparql", params={"query": RUNAWAY})
    assert r.status_code == 503 and "time limit" in r.json()["detail"]
    time.sleep(1.0)  # the bound: the CPU is free within a second of the 503
    used = _worker_cpu_seconds()
    time.sleep(1.0)
    assert _worker_cpu_seconds() - used < 0.5, "a process still computes the stopped query"
    _alive(client)


def test_runaway_update_is_stopped_changes_nothing_and_writes_go_on(env):
    client, store = env
    before = dump(store)
    runaway = ("INSERT { ?a <http://example.org/n> ?n } WHERE { SELECT ?a (COUNT(*) AS ?n) WHERE "
               "{ GRAPH ?x { ?a ?b ?c } GRAPH ?y { ?d ?e ?f } GRAPH ?z { ?g ?h ?i } } GROUP BY ?a }")
    r = client.post("/sparql", data={"update": runaway}, headers=AUTH)
    assert r.status_code == 503, r.text
    assert dump(store) == before
    ok = client.post("/sparql", data={"update": "INSERT DATA { GRAPH <http://g> { <urn:a> <urn:b> <urn:c> } }"},
                     headers=AUTH)
    assert ok.status_code == 204
    assert len(dump(store)) == len(before) + 1


def test_string_bomb_costs_one_request_not_the_server(env):
    client, _ = env
    r = client.get("/sparql", params={"query": STRING_BOMB})
    assert r.status_code in (400, 503), r.text
    assert r.status_code != 500
    _alive(client)


def test_parser_stack_overflow_costs_one_request(env):
    client, _ = env
    deep = "SELECT * WHERE " + "{ " * 20000 + "?s ?p ?o" + " }" * 20000
    r = client.post("/sparql", content=deep.encode(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 400
    _alive(client)


def test_oversized_body_is_refused_before_it_is_read(env):
    client, _ = env
    # declared too large: refused on the header alone
    r = client.post("/sparql", content=b"x" * 10, headers={"Content-Type": "application/sparql-query",
                                                           "Content-Length": str(400 * 1024 * 1024)})
    assert r.status_code == 413
    # no length declared (chunked): counted while it arrives
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"#" * 65536
    r = client.post("/sparql", content=chunks(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413
    r = client.post("/store", params={"graph": "curated"}, content=chunks(),
                    headers={**AUTH, "Content-Type": "text/turtle"})
    assert r.status_code == 413
    _alive(client)


@pytest.mark.parametrize("doc", [
    LAUGHS,
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
    b'<rdf:Description rdf:about="http://s">' + b"<e:p><rdf:Description>" * 5000
    + b"</rdf:Description></e:p>" * 5000 + b"</rdf:Description></rdf:RDF>",
], ids=["billion laughs", "external entity", "deep nesting"])
def test_hostile_rdfxml_is_refused_and_changes_nothing(env, doc):
    client, store = env
    before = dump(store)
    r = client.post("/store", params={"graph": "curated"}, content=doc,
                    headers={**AUTH, "Content-Type": "application/rdf+xml"})
    assert r.status_code == 400, r.text
    assert dump(store) == before
    _alive(client)


def _png16_rgba(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 8)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_pixel_bomb_is_refused_from_its_header(env):
    client, _ = env
    png = _png16_rgba(7999, 8000)
    assert len(png) < 1024 * 1024
    rss = psutil.Process().memory_info().rss
    r = client.post("/api/infer", data={"task": "diagnose"}, files={"image": ("bomb.png", png, "image/png")})
    assert r.status_code == 413 and "MiB" in r.json()["detail"]
    assert psutil.Process().memory_info().rss - rss < 200 * 1024 * 1024
