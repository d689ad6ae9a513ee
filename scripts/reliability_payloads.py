"""Hostile payloads sent to a running ``mcrag serve``: each must get a 4xx (or the 503 of a stopped
query) while the server stays up, contacts no address and keeps its memory.

SSRF through SERVICE and LOAD against a listener started here on 127.0.0.1, a runaway query and
update, a string bomb, a parser stack overflow, oversized bodies (declared and chunked), billion
laughs, an external entity, deep RDF/XML, and a pixel bomb. Used by ``reliability_fuzz.py``; run
alone with ``python scripts/reliability_payloads.py --rounds 5``.
"""

from __future__ import annotations

import argparse
import http.server
import json
import struct
import sys
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
RUNAWAY_UPDATE = ("INSERT { ?a <http://example.org/n> ?n } WHERE { SELECT ?a (COUNT(*) AS ?n) WHERE "
                  "{ GRAPH ?x { ?a ?b ?c } GRAPH ?y { ?d ?e ?f } GRAPH ?z { ?g ?h ?i } } GROUP BY ?a }")
STRING_BOMB = ("SELECT ?x WHERE { BIND('aaaaaaaaaaaaaaaa' AS ?x0) "
               + " ".join(f"BIND(CONCAT(?x{i},?x{i}) AS ?x{i + 1})" for i in range(30)) + " BIND(?x30 AS ?x) }")
DEEP_QUERY = "SELECT * WHERE " + "{ " * 20000 + "?s ?p ?o" + " }" * 20000
LAUGHS = ('<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY a "aaaaaaaaaa">'
          + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
          + ']><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
          '<rdf:Description rdf:about="http://s"><e:p>&j;</e:p></rdf:Description></rdf:RDF>').encode()
EXTERNAL_ENTITY = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
DEEP_RDFXML = (b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
               b'xmlns:e="http://e/"><rdf:Description rdf:about="http://s">' + b"<e:p><rdf:Description>" * 50000
               + b"</rdf:Description></e:p>" * 50000 + b"</rdf:Description></rdf:RDF>")


def png16_rgba(width: int, height: int) -> bytes:
    """A PNG of zeros: kilobytes on the wire, gigabytes once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 8)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


class Listener:
    """The SSRF target: an HTTP server on 127.0.0.1 that counts what reaches it."""

    def __init__(self) -> None:
        hits: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _hit(self) -> None:
                hits.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _hit  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.hits = hits
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def payloads(listener_url: str, token: str, max_body: int) -> list[tuple[str, dict[str, Any]]]:
    """(name, httpx request arguments) for every hostile input."""
    auth = {"Authorization": f"Bearer {token}"}

    def chunked() -> Iterator[bytes]:
        sent = 0
        while sent <= max_body + 256 * 1024:
            yield b"#" * 65536
            sent += 65536

    png = png16_rgba(7999, 8000)
    return [
        ("SSRF: SERVICE", {"method": "GET", "url": "/sparql", "params": {
            "query": f"SELECT * WHERE {{ SERVICE <{listener_url}/internal-api> {{ ?x ?p ?o }} }}"}}),
        ("SSRF: SERVICE SILENT via prefix", {"method": "POST", "url": "/sparql", "data": {
            "query": f"PREFIX t: <{listener_url}/> SELECT * WHERE {{ SERVICE SILENT t:x {{ ?x ?p ?o }} }}"}}),
        ("SSRF: LOAD", {"method": "POST", "url": "/sparql", "headers": auth,
                        "data": {"update": f"LOAD <{listener_url}/data.ttl> INTO GRAPH <http://g>"}}),
        ("runaway query", {"method": "GET", "url": "/sparql", "params": {"query": RUNAWAY}}),
        ("runaway update", {"method": "POST", "url": "/sparql", "headers": auth, "data": {"update": RUNAWAY_UPDATE}}),
        ("string bomb", {"method": "GET", "url": "/sparql", "params": {"query": STRING_BOMB}}),
        ("parser stack overflow", {"method": "POST", "url": "/sparql", "content": DEEP_QUERY.encode(),
                                   "headers": {"Content-Type": "application/sparql-query"}}),
        ("oversized body (declared)", {"raw": b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                               b"Content-Type: application/sparql-query\r\n"
                                               b"Content-Length: 419430400\r\n\r\n" + b"x" * 4096}),
        ("oversized body (chunked)", {"method": "POST", "url": "/store", "params": {"graph": "curated"},
                                      "content": "chunked", "headers": {**auth, "Content-Type": "text/turtle"}}),
        ("billion laughs", {"method": "POST", "url": "/store", "params": {"graph": "curated"}, "content": LAUGHS,
                            "headers": {**auth, "Content-Type": "application/rdf+xml"}}),
        ("external entity", {"method": "POST", "url": "/store", "params": {"graph": "curated"},
                             "content": EXTERNAL_ENTITY, "headers": {**auth, "Content-Type": "application/rdf+xml"}}),
        ("deep RDF/XML", {"method": "POST", "url": "/store", "params": {"graph": "curated"}, "content": DEEP_RDFXML,
                          "headers": {**auth, "Content-Type": "application/rdf+xml"}}),
        ("pixel bomb", {"method": "POST", "url": "/api/infer", "data": {"task": "diagnose"},
                        "files": {"image": ("bomb.png", png, "image/png")}}),
    ], chunked


def attack(root: str, token: str, *, rounds: int = 3, workers: int = 4, max_body: int = 20 * 1024 * 1024,
           server_pid: int | None = None) -> dict[str, Any]:
    """Send every payload ``rounds`` times; count statuses per payload, listener hits and server memory."""
    listener = Listener()
    cases, chunked = payloads(listener.url, token, max_body)
    per: dict[str, Counter[int]] = {name: Counter() for name, _ in cases}
    rss: list[int] = []

    def memory() -> None:
        if server_pid is None:
            return
        import psutil

        proc = psutil.Process(server_pid)
        rss.append(proc.memory_info().rss)

    def send_raw(data: bytes) -> int:
        """A request that declares more body than it sends (the server must answer from the header)."""
        import socket
        from urllib.parse import urlsplit

        u = urlsplit(root)
        with socket.create_connection((u.hostname, u.port), timeout=60) as sock:
            sock.sendall(data)
            head = sock.recv(64).decode("latin-1")
        return int(head.split()[1]) if head.startswith("HTTP/") else 0

    def send(case: tuple[str, dict[str, Any]]) -> tuple[str, int]:
        name, req = case
        if "raw" in req:
            try:
                return name, send_raw(req["raw"])
            except OSError:
                return name, 0
        req = dict(req)
        if req.get("content") == "chunked":
            req["content"] = chunked()
        try:
            with httpx.Client(base_url=root, timeout=120) as client:
                r = client.request(**req)
            return name, r.status_code
        except (httpx.HTTPError, OSError, ValueError):
            return name, 0

    try:
        memory()
        with ThreadPoolExecutor(workers) as pool:
            for name, code in pool.map(send, [c for _ in range(rounds) for c in cases]):
                per[name][code] += 1
                memory()
        alive = httpx.get(f"{root}/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=30).status_code == 200
    finally:
        listener.close()
    statuses: Counter[int] = Counter()
    for c in per.values():
        statuses.update(c)
    return {"requests": sum(statuses.values()), "status_counts": dict(sorted(statuses.items())),
            "per_payload": {k: dict(sorted(v.items())) for k, v in per.items()},
            "responses_500": sum(v for k, v in statuses.items() if k >= 500 and k != 503),
            "no_response": statuses.get(0, 0), "listener_hits": len(listener.hits),
            "server_alive_after": alive,
            "server_rss_mb": {"start": round(rss[0] / 2**20), "max": round(max(rss) / 2**20),
                              "end": round(rss[-1] / 2**20)} if rss else None}


def main() -> None:
    from scripts.reliability_load import seed_store
    from tests.servers import mcrag_server

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "store"
        seed_store(folder, 100)
        with mcrag_server(folder, env={"MCRAG_TOKEN": "payload-token", "MCRAG_QUERY_TIMEOUT": "5"}) as root:
            print(json.dumps(attack(root, "payload-token", rounds=args.rounds), indent=1))


if __name__ == "__main__":
    main()
