#!/usr/bin/env python
"""Curation workbench benchmark: queue, edge view and search latency, a bulk act and a release, at 100k claims.

The store is generated with the real schema (``benchmarks/curation_store.py``: claims written by
``kg.claims``, validation results by ``kg.validations``): by default 100k claims over 20k edges, a
third of the edges validated by each of two data sources. It is built once into ``--cache`` and
copied for each run, so acts of one run do not change the next.

Every figure is measured through the HTTP service, ``create_app`` with the store passed in, called
with Starlette's in-process ``TestClient`` (real routing, validation, JSON and thread pool; no
socket). Requests vary their parameters (statuses, concepts, words, confidence ranges, sources,
verdicts, dates, cursors, edges) and each latency is one request's wall time.

* queue: ``GET /api/curation/queue`` (limit 50, a status or all reviewable);
* edge view: ``GET /api/curation/edges`` (a filtered page of edges) and ``GET /api/curation/edges/{id}``
  (one edge with its claims, validation per source and comments);
* search: ``GET /api/curation/search`` (filters and facets; every fourth request follows a cursor);
* bulk act: ``POST /api/curation/bulk`` rejecting 1,000 claims (one transaction), then its undo;
* release: ``POST /api/curation/releases`` freezing the whole accepted and validated graph; then the
  diff of two releases and a Turtle export (no goal for those).

Anchor, in the same run on the same store: the same questions answered by SPARQL alone (Oxigraph,
the store's own indexes), and the review queue as it was computed before the curation index (read
every claim, rank in Python). The first request builds the index; its time is reported apart.

    python -m benchmarks.curation_workbench --benchmarks-md      # 100k claims, 20k edges
    python -m benchmarks.curation_workbench --quick              # 10k claims, 2k edges, no files written
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.curation_store import build_store  # noqa: E402
from benchmarks.machine import machine_info  # noqa: E402

GOALS = {"queue_p95_ms": 200.0, "edge_view_p95_ms": 200.0, "search_p95_ms": 200.0, "bulk_1000_s": 2.0,
         "release_s": 10.0}
TOKEN = "bench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
COMMAND = "python -m benchmarks.curation_workbench --benchmarks-md"
STORE_LAYOUT = "v3"
"""Bumped when the generator changes, so a cached store of an older layout is not reused."""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(ms: list[float]) -> dict[str, float]:
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(pct(ms, 95), 1),
            "max_ms": round(max(ms), 1), "mean_ms": round(statistics.fmean(ms), 1)}


CPU: dict[str, list[float]] = {}
"""CPU time of each timed call (this process, every thread), by the name of what was timed."""


def timed(fn: Callable[[], Any], name: str = "") -> tuple[float, Any]:
    """Wall time of one call in ms; its process CPU time is kept in :data:`CPU` under ``name``."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    if name:
        CPU.setdefault(name, []).append((time.process_time() - c) * 1000)
    return (time.perf_counter() - t) * 1000, out


def _ok(r: Any) -> Any:
    if r.status_code != 200:
        raise SystemExit(f"benchmark request failed: {r.status_code} {r.text[:300]}")
    return r.json()


def _get(client: Any, path: str, params: Any = None) -> Any:
    return _ok(client.get(path, params=params))


def _post(client: Any, path: str, body: Any) -> Any:
    return _ok(client.post(path, json=body, headers=AUTH))


def measure_reads(client: Any, index: Any, repeats: int, rng: random.Random) -> dict[str, Any]:
    """Latency of the queue, the edge list and edge view, and search, over varied requests."""
    statuses = ["proposed", "validated", "refuted", "notTestable"]
    labels = [lab for lab in index.concept_label if lab]
    words = sorted({w for lab in labels for w in lab.split() if len(w) > 4})
    edge_ids = [e.rsplit("/", 1)[-1] for e in index.edge_ids]
    docs = [d for d in index.doc_identifier.values()][:5000]

    def search_params() -> dict[str, Any]:
        p: dict[str, Any] = {"limit": 50}
        choice = rng.randrange(8)
        if choice == 0:
            p["text"] = rng.choice(words)
        elif choice == 1:
            p["concept"] = rng.choice(labels)
        elif choice == 2:
            p["status"] = rng.sample(statuses, 2)
            p["min_confidence"] = 0.5
            p["max_confidence"] = 0.8
            p["sort"] = "confidence"
        elif choice == 3:
            p["scope"] = rng.choice(["chest", "cardiopulmonary", "general"])
            p["source"] = rng.choice(["literature", "reports", "iu_xray"])
        elif choice == 4:
            p["verdict"] = rng.choice(["validated", "refuted", "none"])
            p["sort"] = "changed"
        elif choice == 5:
            p["changed_since"] = "2026-01-10"
            p["relation"] = rng.choice(["causes", "predisposesTo", "manifestsAs"])
        elif choice == 6:
            p["source"] = rng.choice(docs)
        else:
            p["text"] = rng.choice(words)
            p["status"] = "proposed"
            p["sort"] = "label"
        return p

    out: dict[str, list[float]] = {"queue": [], "edge_list": [], "edge_detail": [], "search": []}
    for k in range(repeats):
        params: dict[str, Any] = {"limit": 50}
        if k % 2:
            params["status"] = rng.choice(statuses)
        ms, _ = timed(partial(_get, client, "/api/curation/queue", params), "queue")
        out["queue"].append(ms)
        ep = search_params()
        ep.pop("sort", None)
        ep["sort"] = rng.choice(["priority", "claims", "label"])
        ms, _ = timed(partial(_get, client, "/api/curation/edges", ep), "edge_list")
        out["edge_list"].append(ms)
        eid = rng.choice(edge_ids)
        ms, _ = timed(partial(_get, client, f"/api/curation/edges/{eid}"), "edge_detail")
        out["edge_detail"].append(ms)
        sp = search_params()
        ms, page = timed(partial(_get, client, "/api/curation/search", sp), "search")
        out["search"].append(ms)
        if k % 4 == 3 and page["next_cursor"]:
            sp2 = {**sp, "cursor": page["next_cursor"]}
            ms, _ = timed(partial(_get, client, "/api/curation/search", sp2), "search")
            out["search"].append(ms)
    result: dict[str, Any] = {name: summary(ms) for name, ms in out.items()}
    result["edge_view"] = summary(out["edge_list"] + out["edge_detail"])
    result["cpu"] = {name: summary(CPU[name]) for name in ("queue", "edge_list", "edge_detail", "search")}
    result["cpu"]["edge_view"] = summary(CPU["edge_list"] + CPU["edge_detail"])
    return result


ANCHOR_SEARCH = """SELECT ?c ?conf WHERE { ?c a mcrag:CausalClaim ; mcrag:status ?st ; mcrag:confidence ?conf
  FILTER (?st IN (mcrag:proposed, mcrag:validated) && ?conf >= 0.5 && ?conf <= 0.8) } ORDER BY DESC(?conf) ?c LIMIT 50"""
ANCHOR_FACET = """SELECT ?st (COUNT(*) AS ?n) WHERE { ?c a mcrag:CausalClaim ; mcrag:status ?st ; mcrag:confidence ?conf
  FILTER (?conf >= 0.5 && ?conf <= 0.8) } GROUP BY ?st"""
ANCHOR_EDGES = """SELECT ?s ?p ?o (COUNT(?c) AS ?n) WHERE { ?c a mcrag:CausalClaim ; rdf:subject ?s ; rdf:predicate ?p ;
  rdf:object ?o ; mcrag:status ?st FILTER (?st IN (mcrag:proposed, mcrag:validated)) } GROUP BY ?s ?p ?o
  ORDER BY DESC(?n) LIMIT 50"""


def old_queue(store: Any, limit: int = 50) -> int:
    """The review queue as computed before the index: every claim read by SPARQL, ranked in Python."""
    import math

    import networkx as nx

    from kg.claim_reader import read_claims
    from kg.statuses import LIVE_STATUSES, REVIEWABLE_STATUSES
    from kg.validations import UNVALIDATED_UNCERTAINTY, read_validations

    claims = read_claims(store, labels=False)
    live = nx.DiGraph()
    per_edge: dict[tuple[str, str], int] = {}
    for c in claims:
        per_edge[c.pair] = per_edge.get(c.pair, 0) + 1
        if c.polarity == "positive" and c.status in LIVE_STATUSES and c.subject != c.object:
            live.add_edge(c.subject, c.object)
    wanted = [c for c in claims if c.status in REVIEWABLE_STATUSES]
    validations = read_validations(store, [c.claim for c in wanted])
    scored = []
    for c in wanted:
        downstream = len(nx.descendants(live, c.object)) if c.object in live else 0
        impact = 1.0 + math.log1p(downstream) + math.log1p(per_edge.get(c.pair, 1) - 1)
        views = validations.get(c.claim)
        unc = views[0].uncertainty if views and views[0].uncertainty is not None else UNVALIDATED_UNCERTAINTY
        scored.append(((0.2 + unc) * impact, c.claim))
    return len(sorted(scored, reverse=True)[:limit])


def _run_all(store: Any, queries: tuple[str, ...]) -> list[Any]:
    return [store.query(q) for q in queries]


def measure_anchors(store: Any, repeats: int, with_old_queue: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, queries in (("search_sparql", (ANCHOR_SEARCH, ANCHOR_FACET)), ("edge_list_sparql", (ANCHOR_EDGES,))):
        ms = []
        for _ in range(repeats):
            t, _ = timed(partial(_run_all, store, queries))
            ms.append(t)
        out[name] = summary(ms)
    if with_old_queue:
        t, _ = timed(lambda: old_queue(store))
        out["queue_before_index"] = summary([t])
    return out


def measure_bulk(client: Any, index: Any, rounds: int, size: int, rng: random.Random) -> dict[str, Any]:
    """Reject ``size`` proposed claims in one act, then undo it; ``rounds`` times on fresh selections."""
    import numpy as np

    from kg.statuses import STATUSES

    acts, undos = [], []
    proposed = np.flatnonzero(index.status == STATUSES.index("proposed")).tolist()
    picks = rng.sample(proposed, min(len(proposed), size * rounds))
    for r in range(rounds):
        chosen = picks[r * size:(r + 1) * size]
        body = {"action": "reject", "curator": "bench", "reason": "bulk benchmark",
                "claims": [{"claim_id": index.claims[i].rsplit("/", 1)[-1], "expected_version": int(index.version[i])}
                           for i in chosen]}
        ms, rec = timed(partial(_post, client, "/api/curation/bulk", body), "bulk")
        if rec["count"] != len(chosen):
            raise SystemExit("bulk act changed a different number of claims")
        acts.append(ms)
        bulk_id = rec["activity"].rsplit("/", 1)[-1]
        ms, _ = timed(partial(_post, client, f"/api/curation/bulk/{bulk_id}/undo", {"curator": "bench", "reason": "undo"}),
                      "bulk_undo")
        undos.append(ms)
    return {"size": size, "act": summary(acts), "undo": summary(undos), "act_s": [round(x / 1000, 3) for x in acts],
            "undo_s": [round(x / 1000, 3) for x in undos], "act_cpu_s": [round(x / 1000, 3) for x in CPU["bulk"]],
            "undo_cpu_s": [round(x / 1000, 3) for x in CPU["bulk_undo"]]}


def measure_release(client: Any, index: Any, rng: random.Random) -> dict[str, Any]:
    import numpy as np

    from kg.statuses import STATUSES

    ms_a, a = timed(partial(_post, client, "/api/curation/releases", {"name": "bench-a", "curator": "bench"}), "release")
    proposed = np.flatnonzero(index.status == STATUSES.index("proposed")).tolist()
    chosen = rng.sample(proposed, 1000)
    body = {"action": "accept", "curator": "bench", "reason": "between releases",
            "claims": [{"claim_id": index.claims[i].rsplit("/", 1)[-1], "expected_version": int(index.version[i])}
                       for i in chosen]}
    _ok(client.post("/api/curation/bulk", json=body, headers=AUTH))
    ms_b, b = timed(partial(_post, client, "/api/curation/releases", {"name": "bench-b", "curator": "bench"}), "release")
    ms_diff, d = timed(partial(_get, client, "/api/curation/releases/bench-a/diff/bench-b"), "diff")
    ms_export, r = timed(lambda: client.get("/api/curation/releases/bench-b/export", params={"format": "turtle"}))
    if r.status_code != 200:
        raise SystemExit(f"export failed: {r.text[:200]}")
    return {"release_s": [round(ms_a / 1000, 2), round(ms_b / 1000, 2)], "edges": [a["edges"], b["edges"]],
            "claims": [a["claims"], b["claims"]], "triples": [a["triples"], b["triples"]],
            "release_cpu_s": [round(x / 1000, 2) for x in CPU["release"]], "diff_cpu_s": round(CPU["diff"][0] / 1000, 2),
            "diff_s": round(ms_diff / 1000, 2), "diff_counts": d["counts"], "export_turtle_s": round(ms_export / 1000, 2),
            "export_bytes": len(r.content)}


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reads = result["reads"]
    names = ["queue", "edge_list", "edge_detail", "search"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.bar(names, [reads[n]["p95_ms"] for n in names], color="#4c78a8", label="p95")
    ax1.bar(names, [reads[n]["p50_ms"] for n in names], color="#9ecae9", label="p50")
    ax1.axhline(GOALS["search_p95_ms"], color="#d62728", linestyle="--", label="goal p95 200 ms")
    ax1.set_ylabel("ms per request (in-process HTTP)")
    ax1.set_title(f"reads, {result['store']['claims']:,} claims / {result['store']['edges']:,} edges", fontsize=9)
    ax1.legend(fontsize=7)
    labels = ["bulk 1,000", "bulk undo", "release"]
    values = [max(result["bulk"]["act_s"]), max(result["bulk"]["undo_s"]), max(result["release"]["release_s"])]
    ax2.bar(labels, values, color=["#4c78a8", "#9ecae9", "#72b7b2"])
    for x, goal in ((0, GOALS["bulk_1000_s"]), (2, GOALS["release_s"])):
        ax2.hlines(goal, x - 0.4, x + 0.4, colors="#d62728", linestyles="--")
    ax2.set_ylabel("seconds (worst of the runs)")
    ax2.set_title("writes (red: goal)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from kg.curation import index_for
    from kg.store import open_store
    from mcrag.service.app import create_app
    from mcrag.settings import load_settings

    rng = random.Random(args.seed)
    pristine = Path(args.cache) / f"claims{args.claims}-edges{args.edges}-seed{args.seed}-{STORE_LAYOUT}"
    t_build = None
    if not (pristine / "DONE").is_file():
        shutil.rmtree(pristine, ignore_errors=True)
        print(f"generating {args.claims:,} claims over {args.edges:,} edges into {pristine} ...", flush=True)
        t = time.perf_counter()
        build_store(pristine, args.claims, args.edges, seed=args.seed)
        (pristine / "DONE").write_text("ok")
        t_build = round(time.perf_counter() - t, 1)
    with tempfile.TemporaryDirectory(prefix="mcrag-wb-") as tmp:
        work = Path(tmp) / "store"
        shutil.copytree(pristine, work, ignore=shutil.ignore_patterns("DONE"))
        store = open_store(work)
        settings = load_settings(token=TOKEN, home=Path(tmp) / "home")
        with TestClient(create_app(settings, store=store)) as client:
            print("building the curation index (first request) ...", flush=True)
            ms_index, _ = timed(lambda: _ok(client.get("/api/curation/search", params={"limit": 1})))
            index = index_for(store)
            info = {"claims": len(index.claims), "edges": len(index.edge_ids), "concepts": len(index.concepts),
                    "quads": store.count(), "generated_in_s": t_build}
            print(f"index built in {ms_index / 1000:.1f} s; measuring reads ({args.repeats} rounds) ...", flush=True)
            _ok(client.get("/api/curation/queue", params={"limit": 50}))  # derive priorities once
            reads = measure_reads(client, index, args.repeats, rng)
            print(json.dumps({k: reads[k] for k in ("queue", "edge_view", "search")}), flush=True)
            print("bulk acts ...", flush=True)
            bulk = measure_bulk(client, index, args.bulk_rounds, args.bulk_size, rng)
            print(json.dumps({"act_s": bulk["act_s"], "undo_s": bulk["undo_s"]}), flush=True)
            print("releases ...", flush=True)
            release = measure_release(client, index, rng)
            print(json.dumps(release), flush=True)
            print("anchors (SPARQL alone) ...", flush=True)
            anchors = measure_anchors(store, args.anchor_repeats, not args.skip_old_queue)
        store.close()
    ratios = {"search_sparql_over_index_p50": round(anchors["search_sparql"]["p50_ms"] / reads["search"]["p50_ms"], 1),
              "edge_list_sparql_over_index_p50": round(anchors["edge_list_sparql"]["p50_ms"]
                                                       / reads["edge_list"]["p50_ms"], 1)}
    if "queue_before_index" in anchors:
        ratios["queue_before_over_index_p50"] = round(anchors["queue_before_index"]["p50_ms"] / reads["queue"]["p50_ms"], 1)
    met = {
        "queue_p95_ms": reads["queue"]["p95_ms"] <= GOALS["queue_p95_ms"],
        "edge_view_p95_ms": reads["edge_view"]["p95_ms"] <= GOALS["edge_view_p95_ms"],
        "search_p95_ms": reads["search"]["p95_ms"] <= GOALS["search_p95_ms"],
        "bulk_1000_s": max(bulk["act_s"]) <= GOALS["bulk_1000_s"],
        "release_s": max(release["release_s"]) <= GOALS["release_s"],
    }
    return {"benchmark": "curation_workbench", "command": args.command, "store": info,
            "index_build_s": round(ms_index / 1000, 1), "client": "fastapi.testclient.TestClient (in-process HTTP)",
            "reads": reads, "bulk": bulk, "release": release, "anchors": anchors, "ratios": ratios, "goals": GOALS,
            "met": met, "machine": machine_info(("pyoxigraph", "fastapi", "numpy"))}


def benchmarks_row(result: dict[str, Any], json_path: Path, png_path: Path) -> str:
    m = result["machine"]
    r, b, rel, a = result["reads"], result["bulk"], result["release"], result["anchors"]
    met = [k for k, v in result["met"].items() if v]
    missed = [k for k, v in result["met"].items() if not v]
    figures = (
        f"{result['store']['claims']:,} claims / {result['store']['edges']:,} edges ({result['store']['quads']:,} quads), "
        f"in-process HTTP, wall p50/p95 (CPU p95): queue {r['queue']['p50_ms']}/{r['queue']['p95_ms']} "
        f"({r['cpu']['queue']['p95_ms']}) ms, edge view (list+detail) {r['edge_view']['p50_ms']}/{r['edge_view']['p95_ms']} "
        f"({r['cpu']['edge_view']['p95_ms']}) ms, search {r['search']['p50_ms']}/{r['search']['p95_ms']} "
        f"({r['cpu']['search']['p95_ms']}) ms; bulk reject of {b['size']:,} claims {', '.join(f'{x:.2f}' for x in b['act_s'])} s "
        f"(CPU {', '.join(f'{x:.2f}' for x in b['act_cpu_s'])} s; undo {', '.join(f'{x:.2f}' for x in b['undo_s'])} s); "
        f"release of {rel['edges'][0]:,} edges {', '.join(f'{x:.1f}' for x in rel['release_s'])} s (CPU "
        f"{', '.join(f'{x:.1f}' for x in rel['release_cpu_s'])} s), diff {rel['diff_s']} s; index build "
        f"{result['index_build_s']} s (first request). Anchor, SPARQL alone on the same store: search p50 "
        f"{a['search_sparql']['p50_ms']:.0f} ms ({result['ratios']['search_sparql_over_index_p50']}x), edge list "
        f"{a['edge_list_sparql']['p50_ms']:.0f} ms ({result['ratios']['edge_list_sparql_over_index_p50']}x)"
        + (f", queue before the index {a['queue_before_index']['p50_ms'] / 1000:.1f} s "
           f"({result['ratios']['queue_before_over_index_p50']}x)" if "queue_before_index" in a else "")
        + f". Goals met: {', '.join(met) or 'none'}; not met: {', '.join(missed) or 'none'}. "
        f"Full figures: [results/{json_path.name}](results/{json_path.name}), [results/{png_path.name}](results/{png_path.name}).")
    machine = (f"{m['cpu_count']} vCPU ({m['cpu_model']}), {m['memory_gb']} GB, Python {m['python']}; shared with other "
               f"jobs (1-min load average {m['load_average'][0]} at the end)")
    return f"| `{result['command']}` | {machine} | {m['date'][:10]} | {figures} |\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--edges", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=100, help="Rounds of reads (each: queue, edge list, edge, search).")
    ap.add_argument("--bulk-rounds", type=int, default=3)
    ap.add_argument("--bulk-size", type=int, default=1000)
    ap.add_argument("--anchor-repeats", type=int, default=2)
    ap.add_argument("--skip-old-queue", action="store_true", help="Skip the slow queue-before-the-index anchor.")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "mcrag-curation-bench"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "curation_workbench.json"))
    ap.add_argument("--quick", action="store_true", help="10k claims over 2k edges; writes nothing.")
    ap.add_argument("--benchmarks-md", action="store_true", help="Append a row to docs/BENCHMARKS.md.")
    args = ap.parse_args(argv)
    args.command = COMMAND if args.benchmarks_md and not args.quick and argv is None and len(sys.argv) == 2 \
        else "python -m benchmarks.curation_workbench " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.quick:
        args.claims, args.edges, args.repeats, args.anchor_repeats = 10_000, 2_000, 30, 1
        args.bulk_size = 500
    result = run(args)
    print(json.dumps({k: result[k] for k in ("store", "index_build_s", "reads", "bulk", "release", "anchors",
                                             "ratios", "met")}, indent=1))
    if args.quick:
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    png = out.with_suffix(".png")
    plot(result, png)
    print(f"wrote {out} and {png}")
    if args.benchmarks_md:
        md = ROOT / "docs" / "BENCHMARKS.md"
        with md.open("a", encoding="utf-8") as fh:
            fh.write(benchmarks_row(result, out, png))
        print(f"appended a row to {md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
