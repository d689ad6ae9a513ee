"""Load test: concurrent clients on loopback against a real ``mcrag serve``.

Mixed traffic for a fixed time: SPARQL queries (two-hop joins, claim listings), evidence requests
and curation writes (accept / reject / edit with the version just read). Reports errors (5xx,
timeouts, connection failures: goal 0), curation conflicts (409 is the correct answer to a stale
version under concurrency, counted apart), throughput and p50/p99 latency per kind.

    python scripts/reliability_load.py --clients 32 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = "load-test-token"

QUERIES = [
    "SELECT ?m ?e WHERE { concept:heart_failure mcrag:causes ?m . ?m mcrag:causes ?e }",
    "SELECT ?c ?label ?status WHERE { ?c a mcrag:CausalClaim ; rdfs:label ?label ; mcrag:status ?status } LIMIT 50",
    "SELECT ?status (COUNT(?c) AS ?n) WHERE { ?c a mcrag:CausalClaim ; mcrag:status ?status } GROUP BY ?status",
    "ASK { ?a mcrag:causes ?b . ?b mcrag:causes ?c . ?c mcrag:causes ?d }",
]
FINDINGS = ["Effusion", "Atelectasis", "Edema", "Cardiomegaly", "Pneumonia", "Pneumothorax", "Emphysema"]


def seed_store(folder: Path, n_claims: int) -> None:
    from kg.claims import CausalClaim, SourceSpan, write_claims
    from kg.concepts import FINDING_CONCEPTS
    from kg.namespaces import NAMED_GRAPHS
    from kg.ontology import bootstrap
    from kg.store import open_store

    names = list(FINDING_CONCEPTS)
    rng = random.Random(0)
    claims = []
    for i in range(n_claims):
        a, b = rng.sample(names, 2)
        s = f"{a} leads to {b} in case {i}."
        claims.append(CausalClaim(FINDING_CONCEPTS[a], FINDING_CONCEPTS[b], confidence=round(rng.random(), 3),
                                  span=SourceSpan(f"report-{i}", s, 0, len(s), source="load"),
                                  extractor="load-seed", extractor_version="1"))
    with open_store(folder) as st:
        bootstrap(st)
        write_claims(st, claims, NAMED_GRAPHS["reports"])


async def client_loop(http: httpx.AsyncClient, root: str, claim_ids: list[str], until: float, rng: random.Random,
                      lat: dict[str, list[float]], counts: dict[str, int]) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    while time.monotonic() < until:
        r = rng.random()
        t0 = time.perf_counter()
        kind = "sparql" if r < 0.6 else "evidence" if r < 0.8 else "curation"
        try:
            if kind == "sparql":
                resp = await http.get(f"{root}/sparql", params={"query": rng.choice(QUERIES)})
            elif kind == "evidence":
                resp = await http.get(f"{root}/api/evidence", params={"finding": rng.choice(FINDINGS), "hops": 2})
            else:
                cid = rng.choice(claim_ids)
                detail = await http.get(f"{root}/api/claims/{cid}")
                version = detail.json()["version"]
                action = rng.choice(["accept", "reject", "edit"])
                body = {"curator": f"load-{rng.randrange(8)}", "reason": "load test", "expected_version": version}
                if action == "edit":
                    body["confidence"] = round(rng.random(), 3)
                resp = await http.post(f"{root}/api/curation/claims/{cid}/{action}", json=body, headers=auth)
            dt = time.perf_counter() - t0
            if resp.status_code == 409 and kind == "curation":
                counts["conflict"] += 1
            elif resp.status_code == 422 and kind == "curation" and "nothing to change" in resp.text:
                counts["refused_noop"] += 1  # e.g. accepting an accepted claim: correctly refused
            elif resp.status_code >= 400:
                counts["error"] += 1
                counts[f"http_{resp.status_code}"] += 1
            else:
                counts["ok"] += 1
            lat[kind].append(dt)
        except (httpx.HTTPError, ValueError, KeyError) as err:
            counts["error"] += 1
            counts[type(err).__name__] += 1


async def run(root: str, clients: int, seconds: float, claim_ids: list[str]) -> dict[str, object]:
    lat: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:
        until = time.monotonic() + seconds
        t0 = time.perf_counter()
        await asyncio.gather(*(client_loop(http, root, claim_ids, until, random.Random(i), lat, counts)
                               for i in range(clients)))
        wall = time.perf_counter() - t0
    total = sum(len(v) for v in lat.values())

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) >= 2 else float("nan")

    return {
        "clients": clients, "seconds": round(wall, 1), "requests": total, "throughput_rps": round(total / wall, 1),
        "errors": counts["error"], "conflicts_409": counts["conflict"], "refused_noop_422": counts["refused_noop"],
        "counts": dict(counts),
        "latency_ms": {k: {"n": len(v), "p50": round(pct(v, 50), 1), "p99": round(pct(v, 99), 1)}
                       for k, v in sorted(lat.items())},
        "latency_ms_all": {"p50": round(pct([x for v in lat.values() for x in v], 50), 1),
                           "p99": round(pct([x for v in lat.values() for x in v], 99), 1)},
    }


def main() -> None:
    from kg.store import open_store
    from tests.servers import mcrag_server

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--claims", type=int, default=300, help="proposed claims seeded besides the starter graph")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "reliability_load.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "store"
        seed_store(folder, args.claims)
        with open_store(folder) as st:
            claim_ids = [r["c"].rsplit("/", 1)[1] for r in st.select("SELECT ?c WHERE { ?c a mcrag:CausalClaim }")]
        with mcrag_server(folder, env={"MCRAG_TOKEN": TOKEN}) as root:
            result = asyncio.run(run(root, args.clients, args.seconds, claim_ids))
            alive = httpx.get(f"{root}/health", timeout=10).status_code == 200
    payload = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": f"{os.cpu_count()} cores, loopback",
               "command": "python scripts/reliability_load.py " + " ".join(sys.argv[1:]),
               "server_alive_after": alive, **result}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1))
    print(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
