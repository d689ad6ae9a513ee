#!/usr/bin/env python
"""Store benchmark: MCRAG's embedded store against rdflib (in memory) and raw pyoxigraph.

One run generates synthetic causal graphs (N-Triples, fixed seed) at several sizes and, for each
size and backend, measures in a fresh subprocess (so peak memory means something):

* load time of the N-Triples file,
* Q1, an anchored 2-hop join with a FILTER on claim confidence (median of ``--repeats``),
* Q2, the full 2-hop join under COUNT (median of ``--repeats``; slow backends run fewer times,
  see ``--query-budget``),
* peak RSS of the process and, for on-disk stores, the size of the store folder.

Backends:

``mcrag``          ``kg.store.open_store(folder)`` -> ``OxigraphStore``; loaded through
                   ``Store.load(..., bulk=True)`` (what ``mcrag kg load --bulk`` does: full parse, journal,
                   bulk loader) into a named graph, queried through ``Store.query`` (rows as ``Term``).
``mcrag-txn``      (main size only) the same store loaded through the default transactional ``Store.load``.
``pyoxigraph``     ``pyoxigraph.Store(folder)`` + ``bulk_load`` into the same named graph,
                   ``Store.query(..., use_default_graph_as_union=True)`` with iteration over the rows.
``rdflib``         ``rdflib.Graph()`` (in-memory store), ``parse(format="nt")``, ``Graph.query``.
``pyoxigraph-txn`` (main size only, diagnostic) raw ``pyoxigraph.Store.load``, the transactional
                   load MCRAG uses for files under its bulk threshold.

All backends must return the same Q1 rows and Q2 count at every size; the run stops otherwise.

Outputs: a table on the terminal, ``--out`` (JSON, default docs/results/bench_store.json), a plot
next to it (same stem, .png) and, for full runs, a row in docs/BENCHMARKS.md.

    python -m benchmarks.bench_store              # 100k, 1M, 5M; main comparison at 1M
    python -m benchmarks.bench_store --quick      # smoke run (20k, 50k), writes *_quick.json
    python -m benchmarks.bench_store --sizes 100k,1M --rdflib-max 100k
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info as shared_machine_info  # noqa: E402  (ROOT is on sys.path)

MCRAG_NS = "https://w3id.org/mcrag#"
CONCEPT_NS = "https://w3id.org/mcrag/concept/"
CLAIM_NS = "https://w3id.org/mcrag/id/claim/"
GRAPH_IRI = "https://w3id.org/mcrag/graph/literature"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS_NS = "http://www.w3.org/2004/02/skos/core#"
XSD_DECIMAL = "http://www.w3.org/2001/XMLSchema#decimal"

TRIPLES_PER_CONCEPT = 30
"""Graph shape: one concept per 30 triples gives an average out-degree of about 4 causes edges."""

GOALS = {
    "load_vs_rdflib_min": 5.0,
    "q1_vs_rdflib_min": 15.0,
    "q2_vs_rdflib_min": 15.0,
    "vs_pyoxigraph_max": 1.5,
}

PROLOGUE = (
    f"PREFIX mcrag: <{MCRAG_NS}>\n"
    f"PREFIX concept: <{CONCEPT_NS}>\n"
    f"PREFIX rdf: <{RDF_NS}>\n"
)


def q1_text(anchor: int) -> str:
    """Anchored 2-hop: effects of effects of one concept, backed by a confident claim, no cycles back."""
    return PROLOGUE + f"""SELECT ?b ?c ?conf WHERE {{
  concept:c{anchor} mcrag:causes ?b .
  ?b mcrag:causes ?c .
  ?claim rdf:subject ?b ;
         rdf:object ?c ;
         mcrag:confidence ?conf .
  FILTER(?c != concept:c{anchor} && ?conf >= 0.5)
}}"""


Q2 = PROLOGUE + "SELECT (COUNT(*) AS ?n) WHERE { ?a mcrag:causes ?b . ?b mcrag:causes ?c }"


# --------------------------------------------------------------------------------------------- data
def parse_size(text: str) -> int:
    t = text.strip().lower().replace("_", "")
    mult = 1
    if t.endswith("k"):
        mult, t = 1_000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1_000_000, t[:-1]
    return int(float(t) * mult)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000 and n % 100 == 0:
        return f"{n / 1_000:g}k"
    return str(n)


def canonical_decimal(hundredths: int) -> str:
    """xsd:decimal in canonical form (``0.5``, ``0.37``, ``1.0``), so every store keeps it verbatim."""
    text = f"{hundredths / 100:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def generate(n_triples: int, path: Path, seed: int) -> dict[str, Any]:
    """Write exactly ``n_triples`` N-Triples of concepts, causes edges and reified claims.

    Per concept: rdf:type mcrag:MedicalConcept and an rdfs:label (2 triples). Per edge: the asserted
    ``mcrag:causes`` triple plus a reified mcrag:CausalClaim (rdf:type, rdf:subject, rdf:predicate,
    rdf:object, mcrag:confidence as xsd:decimal, mcrag:polarity): 7 triples. Sources are uniform;
    30 % of effects go to hub concepts (the first 1 %), so in-degrees are skewed as in mined graphs.
    """
    rng = random.Random(seed)
    n_concepts = max(20, n_triples // TRIPLES_PER_CONCEPT)
    n_edges = (n_triples - 2 * n_concepts) // 7
    n_pad = n_triples - 2 * n_concepts - 7 * n_edges  # skos:altLabel triples to hit N exactly
    n_hubs = max(2, n_concepts // 100)
    edges: set[tuple[int, int]] = set()
    out_degree = [0] * n_concepts
    while len(edges) < n_edges:
        a = rng.randrange(n_concepts)
        b = rng.randrange(n_hubs) if rng.random() < 0.3 else rng.randrange(n_concepts)
        if a != b and (a, b) not in edges:
            edges.add((a, b))
            out_degree[a] += 1
    causes = f"<{MCRAG_NS}causes>"
    rdf_type = f"<{RDF_NS}type>"
    concept_cls = f"<{MCRAG_NS}MedicalConcept>"
    claim_cls = f"<{MCRAG_NS}CausalClaim>"
    label = f"<{RDFS_NS}label>"
    alt = f"<{SKOS_NS}altLabel>"
    subj, pred, obj = f"<{RDF_NS}subject>", f"<{RDF_NS}predicate>", f"<{RDF_NS}object>"
    conf_p, pol_p = f"<{MCRAG_NS}confidence>", f"<{MCRAG_NS}polarity>"
    with path.open("w", encoding="utf-8", buffering=1 << 20) as f:
        w = f.write
        for i in range(n_concepts):
            c = f"<{CONCEPT_NS}c{i}>"
            w(f"{c} {rdf_type} {concept_cls} .\n{c} {label} \"concept {i}\"@en .\n")
        for i in range(n_pad):
            w(f"<{CONCEPT_NS}c{i}> {alt} \"c{i} synonym\"@en .\n")
        for k, (a, b) in enumerate(sorted(edges)):
            ca, cb, cl = f"<{CONCEPT_NS}c{a}>", f"<{CONCEPT_NS}c{b}>", f"<{CLAIM_NS}{k}>"
            conf = canonical_decimal(rng.randint(0, 100))
            pol = "positive" if rng.random() < 0.9 else "negative"
            w(f"{ca} {causes} {cb} .\n"
              f"{cl} {rdf_type} {claim_cls} .\n{cl} {subj} {ca} .\n{cl} {pred} {causes} .\n{cl} {obj} {cb} .\n"
              f"{cl} {conf_p} \"{conf}\"^^<{XSD_DECIMAL}> .\n{cl} {pol_p} \"{pol}\" .\n")
    anchor = max(range(n_concepts), key=lambda i: (out_degree[i], -i))
    return {
        "triples": n_triples,
        "concepts": n_concepts,
        "causes_edges": n_edges,
        "claims": n_edges,
        "hub_concepts": n_hubs,
        "mean_out_degree": round(n_edges / n_concepts, 3),
        "anchor": anchor,
        "anchor_out_degree": out_degree[anchor],
        "file_bytes": path.stat().st_size,
        "seed": seed,
    }


# ------------------------------------------------------------------------------------------- worker
def _stage(text: str) -> None:
    print(f"@stage {text}", file=sys.stderr, flush=True)


def _rss_bytes() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _q1_key(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Q1 rows normalised for comparison across stores (decimals compared by value)."""
    return sorted((b, c, str(Decimal(conf).normalize())) for b, c, conf in rows)


def _timed_repeats(fn: Any, repeats: int, budget_s: float, name: str) -> tuple[list[float], Any]:
    """Run ``fn`` up to ``repeats`` times; stop early once the runs so far exceed ``budget_s``."""
    times: list[float] = []
    answer = None
    for i in range(repeats):
        _stage(f"{name} {i + 1}/{repeats}")
        t0 = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - t0)
        if sum(times) > budget_s:
            break
    return times, answer


def worker(args: argparse.Namespace) -> None:
    data = Path(args.data)
    meta = json.loads(Path(args.meta).read_text())
    q1 = q1_text(meta["anchor"])
    folder = Path(args.store_dir)
    backend = args.backend

    if backend in ("mcrag", "mcrag-txn"):
        from kg.store import OxigraphStore, open_store

        rss0 = _rss_bytes()
        store = open_store(str(folder))
        assert isinstance(store, OxigraphStore)
        _stage("load")
        t0 = time.perf_counter()
        report = store.load(data, "ntriples", graph=GRAPH_IRI, bulk=backend == "mcrag")
        load_s = time.perf_counter() - t0
        loaded = report.added

        def run_q1() -> list[tuple[str, str, str]]:
            return [(r[0].value, r[1].value, r[2].value) for r in store.query(q1).rows]  # type: ignore[union-attr]

        def run_q2() -> int:
            return int(store.query(Q2).rows[0][0].value)  # type: ignore[union-attr]

        load_path = "bulk_load" if backend == "mcrag" else "load"
    elif backend in ("pyoxigraph", "pyoxigraph-txn"):
        import pyoxigraph as ox

        rss0 = _rss_bytes()
        ostore = ox.Store(str(folder))
        _stage("load")
        kwargs: dict[str, Any] = {"path": str(data), "format": ox.RdfFormat.N_TRIPLES,
                                  "to_graph": ox.NamedNode(GRAPH_IRI)}
        t0 = time.perf_counter()
        if backend == "pyoxigraph":
            ostore.bulk_load(**kwargs)
        else:
            ostore.load(**kwargs)
        load_s = time.perf_counter() - t0
        loaded = len(ostore)
        load_path = "bulk_load" if backend == "pyoxigraph" else "load"

        def run_q1() -> list[tuple[str, str, str]]:
            res = ostore.query(q1, use_default_graph_as_union=True)
            assert isinstance(res, ox.QuerySolutions)
            return [(s["b"].value, s["c"].value, s["conf"].value) for s in res]

        def run_q2() -> int:
            res = ostore.query(Q2, use_default_graph_as_union=True)
            assert isinstance(res, ox.QuerySolutions)
            return int(next(iter(res))["n"].value)
    elif backend == "rdflib":
        import rdflib

        rss0 = _rss_bytes()
        graph = rdflib.Graph()
        _stage("load")
        t0 = time.perf_counter()
        graph.parse(str(data), format="nt")
        load_s = time.perf_counter() - t0
        loaded = len(graph)
        load_path = "parse"

        def run_q1() -> list[tuple[str, str, str]]:
            return [(str(r[0]), str(r[1]), str(r[2])) for r in graph.query(q1)]  # type: ignore[index]

        def run_q2() -> int:
            return int(next(iter(graph.query(Q2)))[0])  # type: ignore[index, arg-type]
    else:
        raise SystemExit(f"unknown backend {backend}")

    _stage("Q1 warm-up")
    run_q1()  # the first anchored lookup pays for cold caches; it is not timed
    q1_times, q1_rows = _timed_repeats(run_q1, args.repeats, args.query_budget, "Q1")
    q2_times, q2_count = _timed_repeats(run_q2, args.repeats, args.query_budget, "Q2")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    result = {
        "backend": backend,
        "load_path": load_path,
        "triples_loaded": loaded,
        "load_s": load_s,
        "q1_ms": statistics.median(q1_times) * 1000,
        "q1_runs_ms": [t * 1000 for t in q1_times],
        "q1_rows": len(q1_rows),
        "q1_answer": _q1_key(q1_rows),
        "q2_s": statistics.median(q2_times),
        "q2_runs_s": q2_times,
        "q2_count": q2_count,
        "peak_rss_mb": peak / 2**20,
        "rss_before_load_mb": rss0 / 2**20,
        "store_disk_mb": _folder_bytes(folder) / 2**20 if folder.exists() else None,
    }
    if backend in ("mcrag", "mcrag-txn"):
        store.close()
    print(json.dumps(result), flush=True)


# ------------------------------------------------------------------------------------------- parent
def run_job(args: argparse.Namespace, backend: str, data: Path, meta: Path, workdir: Path,
            progress: Any, task: Any, label: str) -> dict[str, Any]:
    store_dir = workdir / f"store-{backend}"
    shutil.rmtree(store_dir, ignore_errors=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--backend", backend, "--data", str(data),
           "--meta", str(meta), "--store-dir", str(store_dir), "--repeats", str(args.repeats),
           "--query-budget", str(args.query_budget)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    errors: list[str] = []
    assert proc.stderr is not None and proc.stdout is not None
    for line in proc.stderr:
        if line.startswith("@stage "):
            progress.update(task, description=f"{label} · {backend}: {line[7:].strip()}")
        else:
            errors.append(line)
    out = proc.stdout.read()
    proc.wait()
    shutil.rmtree(store_dir, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} at {label} failed (exit {proc.returncode}):\n{''.join(errors[-40:])}")
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - t0
    return result


def machine_info() -> dict[str, Any]:
    return shared_machine_info(("pyoxigraph", "rdflib", "psutil", "matplotlib", "mcrag"))


def compare_answers(label: str, results: dict[str, dict[str, Any]]) -> None:
    """Every backend must give the same Q1 rows and Q2 count; a benchmark that disagrees is wrong."""
    ref_name, ref = next(iter(results.items()))
    for name, res in results.items():
        if res["q1_answer"] != ref["q1_answer"]:
            raise AssertionError(f"Q1 differs at {label}: {name} ({res['q1_rows']} rows) vs "
                                 f"{ref_name} ({ref['q1_rows']} rows)")
        if res["q2_count"] != ref["q2_count"]:
            raise AssertionError(f"Q2 differs at {label}: {name}={res['q2_count']} vs {ref_name}={ref['q2_count']}")
        if res["triples_loaded"] != ref["triples_loaded"]:
            raise AssertionError(f"triple count differs at {label}: {name}={res['triples_loaded']} "
                                 f"vs {ref_name}={ref['triples_loaded']}")


def ratios(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    m = runs["mcrag"]
    out: dict[str, Any] = {}
    if "rdflib" in runs:
        r = runs["rdflib"]
        out["mcrag_vs_rdflib_speedup"] = {
            "load": r["load_s"] / m["load_s"], "q1": r["q1_ms"] / m["q1_ms"], "q2": r["q2_s"] / m["q2_s"]}
    if "pyoxigraph" in runs:
        p = runs["pyoxigraph"]
        out["mcrag_vs_pyoxigraph_slowdown"] = {
            "load": m["load_s"] / p["load_s"], "q1": m["q1_ms"] / p["q1_ms"], "q2": m["q2_s"] / p["q2_s"]}
    if "pyoxigraph-txn" in runs and "mcrag-txn" in runs:
        t, mt = runs["pyoxigraph-txn"], runs["mcrag-txn"]
        out["mcrag_txn_vs_pyoxigraph_txn_load_slowdown"] = {
            "load": mt["load_s"] / t["load_s"], "q1": mt["q1_ms"] / t["q1_ms"], "q2": mt["q2_s"] / t["q2_s"]}
    return out


def goals(rat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sp = rat.get("mcrag_vs_rdflib_speedup")
    if sp:
        out["load >= 5x rdflib"] = sp["load"] >= GOALS["load_vs_rdflib_min"]
        out["Q1 >= 15x rdflib"] = sp["q1"] >= GOALS["q1_vs_rdflib_min"]
        out["Q2 >= 15x rdflib"] = sp["q2"] >= GOALS["q2_vs_rdflib_min"]
    sl = rat.get("mcrag_vs_pyoxigraph_slowdown")
    if sl:
        for k, name in (("load", "load"), ("q1", "Q1"), ("q2", "Q2")):
            out[f"{name} within 1.5x of raw pyoxigraph"] = sl[k] <= GOALS["vs_pyoxigraph_max"]
    return out


def print_tables(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(120, Console().width))
    table = Table(title="Store benchmark (median of repeats; peak RSS per fresh process)")
    for col in ("triples", "backend", "load s", "Q1 ms", "Q2 s", "Q2 runs", "peak RSS MB", "disk MB", "Q1 rows",
                "Q2 count"):
        table.add_column(col, justify="right" if col not in ("backend",) else "left")
    for size in report["sizes"]:
        for name, r in size["runs"].items():
            table.add_row(size_label(size["triples"]), name, f"{r['load_s']:.2f}", f"{r['q1_ms']:.2f}",
                          f"{r['q2_s']:.3f}", str(len(r["q2_runs_s"])), f"{r['peak_rss_mb']:.0f}",
                          "-" if r["store_disk_mb"] is None else f"{r['store_disk_mb']:.0f}",
                          str(r["q1_rows"]), str(r["q2_count"]))
        table.add_section()
    console.print(table)
    main = report["main"]
    rat = main["ratios"]
    t2 = Table(title=f"Main comparison at {size_label(main['triples'])} triples")
    t2.add_column("ratio")
    for c in ("load", "Q1", "Q2"):
        t2.add_column(c, justify="right")
    for key, lab in (("mcrag_vs_rdflib_speedup", "MCRAG speed-up over rdflib (x)"),
                     ("mcrag_vs_pyoxigraph_slowdown", "MCRAG / raw pyoxigraph bulk_load (x)"),
                     ("mcrag_txn_vs_pyoxigraph_txn_load_slowdown", "MCRAG transactional / raw pyoxigraph Store.load (x)")):
        if key in rat:
            t2.add_row(lab, *(f"{rat[key][k]:.2f}" for k in ("load", "q1", "q2")))
    console.print(t2)
    for goal, ok in main["goals"].items():
        console.print(f"  {'[green]met[/]' if ok else '[red]NOT met[/]'}  {goal}")


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = (("load_s", "load time (s)"), ("q1_ms", "Q1 anchored 2-hop + FILTER (ms)"),
               ("q2_s", "Q2 full 2-hop COUNT (s)"), ("peak_rss_mb", "peak RSS (MB)"))
    styles = {"mcrag": ("tab:blue", "o"), "pyoxigraph": ("tab:green", "s"), "rdflib": ("tab:red", "^"),
              "pyoxigraph-txn": ("tab:gray", "x"), "mcrag-txn": ("tab:olive", "+")}
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for ax, (key, title) in zip(axes.flat, metrics, strict=True):
        for backend, (color, marker) in styles.items():
            pts = [(s["triples"], s["runs"][backend][key]) for s in report["sizes"] if backend in s["runs"]]
            if not pts:
                continue
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, marker=marker, color=color, label=backend, linestyle="-" if len(xs) > 1 else "none")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("triples")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    info = report["machine"]
    fig.suptitle(f"MCRAG store benchmark: {info['cpu_count']} CPUs, Python {info['python']}, "
                 f"pyoxigraph {info['packages'].get('pyoxigraph')}, rdflib {info['packages'].get('rdflib')} "
                 f"({info['date'][:10]})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def benchmarks_md_row(report: dict[str, Any], command: str, out_name: str = "bench_store.json") -> str:
    info = report["machine"]
    main = report["main"]
    runs = main["runs"]
    rat = main["ratios"]
    lab = size_label(main["triples"])
    parts = []
    for name in ("mcrag", "pyoxigraph", "rdflib"):
        if name in runs:
            r = runs[name]
            parts.append(f"{name} load {r['load_s']:.1f} s, Q1 {r['q1_ms']:.1f} ms, Q2 {r['q2_s']:.2f} s")
    fig = f"{lab} triples: " + "; ".join(parts) + "."
    if "mcrag_vs_rdflib_speedup" in rat:
        sp = rat["mcrag_vs_rdflib_speedup"]
        fig += f" MCRAG vs rdflib: load {sp['load']:.1f}x, Q1 {sp['q1']:.0f}x, Q2 {sp['q2']:.0f}x faster."
    if "mcrag_vs_pyoxigraph_slowdown" in rat:
        sl = rat["mcrag_vs_pyoxigraph_slowdown"]
        fig += f" MCRAG / raw pyoxigraph: load {sl['load']:.2f}x, Q1 {sl['q1']:.2f}x, Q2 {sl['q2']:.2f}x."
    scale = []
    for s in report["sizes"]:
        if "mcrag" in s["runs"]:
            r = s["runs"]["mcrag"]
            scale.append(f"{size_label(s['triples'])}: {r['load_s']:.1f} s / {r['peak_rss_mb']:.0f} MB")
    fig += " MCRAG load/peak RSS " + ", ".join(scale) + "."
    failed = [g for g, ok in main["goals"].items() if not ok]
    fig += " Goals: " + ("all met." if not failed else "not met: " + "; ".join(failed) + ".")
    png_name = Path(out_name).with_suffix(".png").name
    fig += f" Full figures: [results/{out_name}](results/{out_name}), [results/{png_name}](results/{png_name})."
    loads = [info[k][0] for k in ("load_average_at_start", "load_average_at_end") if info.get(k)]
    busy = f" (1-min load average {min(loads):.1f}-{max(loads):.1f})" if loads else ""
    machine = (f"{info['cpu_count']} vCPU ({info['cpu_model'] or 'unknown CPU'}), {info['memory_gb']} GB, "
               f"{info['platform']}, Python {info['python']}; shared with other jobs{busy}")
    return f"| `{command}` | {machine} | {info['date'][:10]} | {fig} |\n"


BENCHMARKS_HEADER = """# Benchmarks

Measured performance of MCRAG components. One row per benchmark run, newest last; rows are
never edited after the fact, so the table is a history. Each row names:

* **command**: the exact command that produced the figures (run from the repository root);
* **machine**: CPU count and model, memory, OS and Python, and whether the machine was shared
  with other work while the benchmark ran (timings on a shared machine are noisier and slower);
* **date**: when the run finished (UTC);
* **figures**: the headline numbers; the full set, with every repeat, is in the JSON file that
  the row links to under `docs/results/`.

| command | machine | date | figures |
|---|---|---|---|
"""


def append_benchmarks_md(path: Path, row: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else BENCHMARKS_HEADER
    if not text.endswith("\n"):
        text += "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + row, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100k,1M,5M", help="comma-separated triple counts (k/M suffixes allowed)")
    ap.add_argument("--main-size", default="1M", help="size of the main three-way comparison")
    ap.add_argument("--repeats", type=int, default=7, help="runs per query; the median is reported")
    ap.add_argument("--query-budget", type=float, default=60.0,
                    help="stop repeating a query once its runs add up to this many seconds (slow backends)")
    ap.add_argument("--rdflib-max", default="1M", help="largest size rdflib is run at (0 = never)")
    ap.add_argument("--out", type=Path, default=None, help="JSON output (default docs/results/bench_store.json)")
    ap.add_argument("--benchmarks-md", default=str(ROOT / "docs" / "BENCHMARKS.md"),
                    help="append a row here after a full run ('' to skip; --quick never writes it)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 20k and 50k triples, main size 50k")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--workdir", type=Path, default=None, help="folder for data and stores (default: a temp dir)")
    # internal: one measurement in a fresh process
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--backend", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--meta", help=argparse.SUPPRESS)
    ap.add_argument("--store-dir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        worker(args)
        return 0

    if args.quick:
        args.sizes, args.main_size = "20k,50k", "50k"
    sizes = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})
    main_size = parse_size(args.main_size)
    if main_size not in sizes:
        sizes = sorted({*sizes, main_size})
    rdflib_max = parse_size(args.rdflib_max)
    out = args.out or ROOT / "docs" / "results" / ("bench_store_quick.json" if args.quick else "bench_store.json")
    out.parent.mkdir(parents=True, exist_ok=True)

    jobs: list[tuple[int, str]] = []
    for n in sizes:
        jobs.append((n, "mcrag"))
        jobs.append((n, "pyoxigraph"))
        if n == main_size:
            jobs.append((n, "mcrag-txn"))
            jobs.append((n, "pyoxigraph-txn"))
        if rdflib_max and n <= rdflib_max:
            jobs.append((n, "rdflib"))

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    report: dict[str, Any] = {
        "benchmark": "store",
        "command": " ".join(["python", "-m", "benchmarks.bench_store", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_info(),
        "settings": {"sizes": sizes, "main_size": main_size, "repeats": args.repeats,
                     "query_budget_s": args.query_budget, "rdflib_max": rdflib_max, "seed": args.seed,
                     "graph": GRAPH_IRI, "goals": GOALS},
        "queries": {"q1": q1_text(0).replace("concept:c0", "concept:c{anchor}"), "q2": Q2},
        "sizes": [],
    }
    tmp_ctx = tempfile.TemporaryDirectory(prefix="bench_store_") if args.workdir is None else None
    workdir = Path(tmp_ctx.name) if tmp_ctx else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=False) as progress:
            task = progress.add_task("starting", total=len(jobs))
            for n in sizes:
                label = size_label(n)
                data = workdir / f"causal-{label}.nt"
                meta_path = workdir / f"causal-{label}.json"
                progress.update(task, description=f"{label} · generating data")
                t0 = time.perf_counter()
                meta = generate(n, data, args.seed)
                meta["generate_s"] = time.perf_counter() - t0
                meta_path.write_text(json.dumps(meta))
                runs: dict[str, dict[str, Any]] = {}
                for size, backend in jobs:
                    if size != n:
                        continue
                    runs[backend] = run_job(args, backend, data, meta_path, workdir, progress, task, label)
                    progress.advance(task)
                compare_answers(label, runs)
                for r in runs.values():
                    r.pop("q1_answer")
                entry = {"triples": n, "data": meta, "runs": runs, "ratios": ratios(runs)}
                report["sizes"].append(entry)
                data.unlink(missing_ok=True)
                progress.console.print(f"{label}: answers agree across {', '.join(runs)} "
                                       f"(Q1 {next(iter(runs.values()))['q1_rows']} rows, "
                                       f"Q2 {next(iter(runs.values()))['q2_count']})")
            progress.update(task, description="done")
    finally:
        if tmp_ctx:
            tmp_ctx.cleanup()

    main_entry = next(s for s in report["sizes"] if s["triples"] == main_size)
    report["main"] = {"triples": main_size, "runs": main_entry["runs"], "ratios": main_entry["ratios"],
                      "goals": goals(main_entry["ratios"])}
    report["total_wall_s"] = time.perf_counter() - started
    report["machine"]["load_average_at_end"] = list(os.getloadavg())
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    png = out.with_suffix(".png")
    plot(report, png)
    print_tables(report)
    print(f"wrote {out} and {png}")
    if args.benchmarks_md and not args.quick:
        append_benchmarks_md(Path(args.benchmarks_md), benchmarks_md_row(report, report["command"], out.name))
        print(f"appended a row to {args.benchmarks_md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
