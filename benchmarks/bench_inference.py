#!/usr/bin/env python
"""Inference benchmark: exemplar retrieval at scale and grounded inference per image, on the CPU.

Retrieval (one fresh subprocess per size, so peak memory means something): synthetic unit vectors
(384-d, clustered like embeddings, with labels and confounder strata that correlate with the
clusters) in MCRAG's exemplar index (FAISS HNSW, M=32, efConstruction=64, efSearch=64), queried
one at a time (single-thread FAISS, the serving setting). Per query, in the same process:

* ``faiss_k5`` / ``faiss_k64``  the anchor: ``IndexHNSWFlat.search`` alone (k=5, and k=64, the
  candidate pool causal mode draws);
* ``semantic``                  ``Retriever.semantic`` (k=5): search plus the result records;
* ``causal``                    ``Retriever.causal`` (k=5): the cached causal subgraph of the query's
  findings, search of 64 candidates, consistency filter, confounder adjustment and up to three
  counterfactual exemplars (filtered HNSW searches where the pool has none);
* ``causal_no_cf``              the same without counterfactual exemplars.

The cold cost of a subgraph (SPARQL over the starter graph, once per distinct finding set, then
cached) is reported on its own; recall@10 of the HNSW search against exact search is reported too.

Inference (one subprocess per task): the trained default model, the exemplar index (with the graph
posterior saved beside it, which ``causal`` reads) and the store (``var/store`` when present, else the
starter graph), loaded once; ``Grounder.infer`` on real shared radiographs (COVID CXR test split, PNG,
with their recorded view) in each retrieval mode, p50/p95 and the per-stage split.

Outputs: a table on the terminal, ``--out`` (JSON, default docs/results/inference_bench.json), a
plot next to it (.png) and, for full runs, a row in docs/BENCHMARKS.md.

    python -m benchmarks.bench_inference                # 10k, 100k, 1M + inference
    python -m benchmarks.bench_inference --quick        # 10k + a short inference run, *_quick.json
    python -m benchmarks.bench_inference --sizes 10k,100k --queries 500 --skip-inference
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info as shared_machine_info  # noqa: E402  (ROOT is on sys.path)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DIM = 384
HNSW_M = 32
EF_CONSTRUCTION = 64
EF_SEARCH = 64
GOALS = {"retrieval_causal_p95_ms_at_100k": 2.0, "diagnose_p50_ms": 300.0, "report_p50_ms": 1000.0}


def parse_size(text: str) -> int:
    t = text.strip().lower()
    mult = 1_000_000 if t.endswith("m") else 1_000 if t.endswith("k") else 1
    return int(float(t.rstrip("mk")) * mult)


def fmt_size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    i = min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))
    return s[i]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(pct(values, 50), 4), "p95": round(pct(values, 95), 4), "mean": round(statistics.fmean(values), 4),
            "n": len(values)}


# ---------------------------------------------------------------------------------------- retrieval worker
def synthetic(n: int, seed: int = 0, clusters: int = 1000) -> dict[str, Any]:
    """Clustered unit vectors with cluster-level finding profiles and confounded strata."""
    import numpy as np

    from vlm.labels import LABELS

    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((clusters, DIM)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    assign = rng.integers(0, clusters, size=n)
    vecs = np.empty((n, DIM), dtype=np.float32)
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        block = centers[assign[s:e]] + rng.standard_normal((e - s, DIM)).astype(np.float32) * (0.7 / np.sqrt(DIM))
        vecs[s:e] = block / np.linalg.norm(block, axis=1, keepdims=True)
    n_find = 14
    normal_bit = 1 << LABELS.index("normal")
    profile = np.zeros(clusters, dtype=np.uint32)
    for c in range(clusters):
        k = rng.choice([0, 1, 2], p=[0.4, 0.4, 0.2])
        bits = 0
        for f in rng.choice(n_find, size=k, replace=False):
            bits |= 1 << int(f)
        profile[c] = bits or normal_bit
    label_bits = profile[assign].copy()
    flips = rng.random(n) < 0.1
    label_bits[flips] ^= (1 << rng.integers(0, n_find, size=int(flips.sum()))).astype(np.uint32)
    all_bits = (1 << len(LABELS)) - 1
    known = np.where(rng.random(n) < 0.7, all_bits, label_bits | normal_bit).astype(np.uint32)
    primary = np.array([int(b).bit_length() for b in profile], dtype=np.int64)
    confounded = rng.random(n) < 0.7
    strata = np.where(confounded, primary[assign] % 24, rng.integers(0, 24, size=n)).astype(np.int32)
    return {"vectors": vecs, "label_bits": label_bits, "known_bits": known, "strata": strata, "assign": assign,
            "profile": profile, "centers": centers}


def retrieval_worker(n: int, queries: int, seed: int) -> dict[str, Any]:
    import faiss
    import numpy as np

    from vlm.grounding import SubgraphCache, starter_store
    from vlm.index import index_from_vectors
    from vlm.labels import LABELS, names_from_bits
    from vlm.retrieval import RetrievalSettings, Retriever

    faiss.omp_set_num_threads(os.cpu_count() or 1)  # build with every core
    t0 = time.perf_counter()
    data = synthetic(n, seed)
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = index_from_vectors(data["vectors"], data["label_bits"], data["known_bits"], data["strata"],
                               hnsw_m=HNSW_M, ef_construction=EF_CONSTRUCTION, ef_search=EF_SEARCH)
    build_s = time.perf_counter() - t0
    rss_after_build = rss_mb()
    faiss.omp_set_num_threads(1)  # serve one query at a time on one thread
    rng = np.random.default_rng(seed + 1)
    rows = rng.integers(0, n, size=queries)
    noise = rng.standard_normal((queries, DIM)).astype(np.float32) * (0.5 / np.sqrt(DIM))
    q = data["vectors"][rows] + noise
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    # the query's predicted findings: its cluster's profile (as a front end would see it)
    probs = []
    for r in rows:
        names = names_from_bits(int(data["profile"][data["assign"][r]]))
        probs.append({name: (0.9 if name in names else 0.05) for name in LABELS})
    store = starter_store()
    cache = SubgraphCache(store, hops=2)
    cold: list[float] = []
    for p in probs:
        key = [k for k, v in p.items() if v >= 0.5 and k != "normal"]
        before = cache.misses
        t = time.perf_counter()
        cache.get(key)
        if cache.misses > before:
            cold.append((time.perf_counter() - t) * 1000)
    idx = index.index
    index.set_ef(EF_SEARCH)
    retr = Retriever(index, RetrievalSettings(k=5, candidates=64, ef_search=EF_SEARCH))
    retr_nocf = Retriever(index, RetrievalSettings(k=5, candidates=64, ef_search=EF_SEARCH, counterfactuals=0))

    cpu: dict[str, list[float]] = {}

    def run(fn: Any, name: str) -> list[float]:
        """Wall-clock ms per query; CPU ms of this thread go to ``cpu`` (robust to a busy machine)."""
        for i in range(min(50, queries)):
            fn(i)
        out, c = [], []
        for i in range(queries):
            t, tc = time.perf_counter_ns(), time.thread_time_ns()
            fn(i)
            out.append((time.perf_counter_ns() - t) / 1e6)
            c.append((time.thread_time_ns() - tc) / 1e6)
        cpu[name] = c
        return out

    def positives(i: int) -> list[str]:
        return [k for k, v in probs[i].items() if v >= 0.5 and k != "normal"]

    timings = {
        "faiss_k5": run(lambda i: idx.search(q[i:i + 1], 5), "faiss_k5"),
        "faiss_k64": run(lambda i: idx.search(q[i:i + 1], 64), "faiss_k64"),
        "semantic": run(lambda i: retr.semantic(q[i]), "semantic"),
        "causal": run(lambda i: retr.causal(q[i], probs[i], cache.get(positives(i))), "causal"),
        "causal_no_cf": run(lambda i: retr_nocf.causal(q[i], probs[i], cache.get(positives(i))), "causal_no_cf"),
    }
    index.set_ef(EF_SEARCH)
    # recall@10 of the HNSW search against exact inner-product search
    n_rec = min(200, queries)
    flat = faiss.IndexFlatIP(DIM)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    flat.add(data["vectors"])
    _, exact = flat.search(q[:n_rec], 10)
    _, approx = idx.search(q[:n_rec], 10)
    recall = float(np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)]))
    # how often causal mode needed a filtered search for its counterfactual exemplars
    n_cf = [len(retr.causal(q[i], probs[i], cache.get(positives(i))).counterfactuals) for i in range(min(200, queries))]
    return {
        "size": n, "dim": DIM, "queries": queries, "generate_s": round(gen_s, 2), "build_s": round(build_s, 2),
        "index_mb_estimate": round((n * DIM * 4 + n * HNSW_M * 2 * 4 * 1.05) / 2**20, 1),
        "rss_after_build_mb": round(rss_after_build, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
        "recall_at_10": round(recall, 4), "subgraph_cold_ms": summary(cold) if cold else None,
        "distinct_finding_sets": len(cold), "mean_counterfactuals": round(float(np.mean(n_cf)), 2),
        "latency_ms": {k: summary(v) for k, v in timings.items()},
        "cpu_ms": {k: summary(v) for k, v in cpu.items()},
    }


# ---------------------------------------------------------------------------------------- inference worker
def inference_worker(task: str, n_images: int, model: str, index: str) -> dict[str, Any]:
    import numpy as np

    from kg.store import open_store
    from mcrag.settings import load_settings
    from vlm.data import read_cxr_covid
    from vlm.infer import Grounder

    settings = load_settings()
    t0 = time.perf_counter()
    store_note = "starter graph (in memory)"
    store = None
    loc = Path(settings.store_location)
    if loc.is_dir():
        try:
            store = open_store(loc, read_only=True, create=False)
            store_note = f"{loc} ({store.count()} quads)"
        except Exception as err:  # noqa: BLE001 - a locked or broken store: use the starter graph
            store_note = f"starter graph (in memory; {loc} unavailable: {err})"
    table = settings.data("iu_xray", "openi_labels.csv")
    g = Grounder.load(model, index, store, threads=1, whatif_table=table if table.is_file() else None)
    load_s = time.perf_counter() - t0
    rss_loaded = rss_mb()
    covid = read_cxr_covid(settings.data("cxr_covid"))
    recs = covid.split("test")[:n_images]
    images = [r.image_path for r in recs]
    views = {r.image_path: (r.view if r.view in ("AP", "PA") else None) for r in recs}
    jpegs = sorted(settings.data("vqa_rad", "images").glob("*.jpg"))[:10]
    question = "Is there a pleural effusion?" if task == "vqa" else None
    out: dict[str, Any] = {"task": task, "images": len(images), "load_s": round(load_s, 2),
                           "rss_after_load_mb": round(rss_loaded, 1), "store": store_note, "modes": {},
                           "graph_posterior": g.posterior.summary() if g.posterior is not None else None}
    for mode in ("none", "semantic", "causal"):
        for img in images[:3]:
            g.infer(img, task, question, mode)  # warm-up (lazy what-if fit, caches)
        totals: list[float] = []
        cpu: list[float] = []
        stages: dict[str, list[float]] = {}
        for img in images:
            t, tc = time.perf_counter(), time.process_time()
            r = g.infer(img, task, question, mode, view=views.get(img))
            totals.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - tc) * 1000)
            for k, v in r.timings_ms.items():
                stages.setdefault(k, []).append(v)
        entry: dict[str, Any] = {"total_ms": summary(totals), "cpu_ms": summary(cpu),
                                 "stages_p50_ms": {k: round(pct(v, 50), 3) for k, v in stages.items()}}
        if task == "diagnose" and mode == "causal" and jpegs:
            jt = []
            for img in jpegs:
                t = time.perf_counter()
                g.infer(img, task, question, mode)
                jt.append((time.perf_counter() - t) * 1000)
            entry["large_jpeg_total_ms"] = summary(jt)
        if task == "report":
            entry["answer_tokens_mean"] = round(float(np.mean([len(g.infer(i, task, None, mode).answer.split())
                                                               for i in images[:5]])), 1)
        out["modes"][mode] = entry
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    out["subgraph_cache"] = {"hits": g.subgraphs.hits, "misses": g.subgraphs.misses}
    return out


# ---------------------------------------------------------------------------------------- driver
def machine_info() -> dict[str, Any]:
    return shared_machine_info(("faiss-cpu", "torch", "transformers", "sentence-transformers", "pyoxigraph", "numpy"))


def run_worker(args: list[str], timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"error": (proc.stderr or proc.stdout)[-2000:], "returncode": proc.returncode}
    return json.loads(lines[-1])


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    ret = [r for r in result["retrieval"] if "latency_ms" in r]
    if ret:
        sizes = [r["size"] for r in ret]
        for key, style in (("faiss_k5", "k--"), ("faiss_k64", "k:"), ("semantic", "b-o"), ("causal", "r-o"),
                           ("causal_no_cf", "m-s")):
            axes[0].plot(sizes, [r["latency_ms"][key]["p95"] for r in ret], style, label=f"{key} p95")
        axes[0].axhline(GOALS["retrieval_causal_p95_ms_at_100k"], color="r", alpha=0.3, label="goal: causal p95 2 ms @100k")
        axes[0].set_xscale("log")
        axes[0].set_xlabel("exemplars (384-d, HNSW M=32)")
        axes[0].set_ylabel("ms per query")
        axes[0].set_title("retrieval latency (p95)")
        axes[0].legend(fontsize=8)
    inf = result.get("inference", {})
    labels, p50, p95 = [], [], []
    for task in ("diagnose", "report"):
        for mode in ("none", "semantic", "causal"):
            m = inf.get(task, {}).get("modes", {}).get(mode)
            if m:
                labels.append(f"{task}\n{mode}")
                p50.append(m["total_ms"]["p50"])
                p95.append(m["total_ms"]["p95"])
    if labels:
        x = range(len(labels))
        axes[1].bar([i - 0.2 for i in x], p50, 0.4, label="p50")
        axes[1].bar([i + 0.2 for i in x], p95, 0.4, label="p95")
        axes[1].axhline(GOALS["diagnose_p50_ms"], color="g", alpha=0.4, label="goal diagnose p50 300 ms")
        axes[1].axhline(GOALS["report_p50_ms"], color="r", alpha=0.4, label="goal report 1 s")
        axes[1].set_xticks(list(x))
        axes[1].set_xticklabels(labels, fontsize=8)
        axes[1].set_ylabel("ms per image")
        axes[1].set_title("grounded inference per image (CPU, model loaded)")
        axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def benchmarks_row(result: dict[str, Any], command: str, json_path: Path, png_path: Path) -> str:
    m = result["machine"]
    loads = result.get("load_average_range", m["load_average"])
    machine = (f"{m['cpu_count']} vCPU ({m['cpu_model']}), {m['memory_gb']} GB, {m['platform']}, Python {m['python']}; "
               f"shared with other jobs (1-min load average {loads[0]}-{loads[1]} during the run)")
    parts = []
    for r in result["retrieval"]:
        if "latency_ms" not in r:
            parts.append(f"{fmt_size(r.get('size', 0))}: not run ({r.get('error', '')[:80]})")
            continue
        lat, cpu = r["latency_ms"], r["cpu_ms"]
        parts.append(
            f"{fmt_size(r['size'])}: causal wall p50/p95 {lat['causal']['p50']:.2f}/{lat['causal']['p95']:.2f} ms, "
            f"CPU p50/p95 {cpu['causal']['p50']:.2f}/{cpu['causal']['p95']:.2f} ms (without counterfactuals CPU p95 "
            f"{cpu['causal_no_cf']['p95']:.2f}); semantic wall p50 {lat['semantic']['p50']:.2f}; anchor FAISS alone "
            f"(k=64) wall p50/p95 {lat['faiss_k64']['p50']:.2f}/{lat['faiss_k64']['p95']:.2f}, CPU p95 "
            f"{cpu['faiss_k64']['p95']:.2f} ms; causal/FAISS p50 {lat['causal']['p50'] / lat['faiss_k64']['p50']:.1f}x, "
            f"CPU p95 {cpu['causal']['p95'] / cpu['faiss_k64']['p95']:.1f}x; recall@10 {r['recall_at_10']:.3f}; "
            f"build {r['build_s']:.0f} s, peak RSS {r['peak_rss_mb']:.0f} MB")
    inf = result.get("inference", {})
    for task in ("diagnose", "report"):
        t = inf.get(task)
        if not t or "modes" not in t:
            continue
        modes = ", ".join(f"{k} {v['total_ms']['p50']:.0f}/{v['total_ms']['p95']:.0f} (CPU p50 {v['cpu_ms']['p50']:.0f})"
                          for k, v in t["modes"].items())
        parts.append(f"mcrag infer {task} per image, wall p50/p95 ms: {modes}; peak RSS {t['peak_rss_mb']:.0f} MB")
    goals = result.get("goals", {})
    met = [k for k, v in goals.items() if v.get("met")]
    missed = [k for k, v in goals.items() if not v.get("met")]
    parts.append(f"Goals met: {', '.join(met) or 'none'}" + (f"; not met: {', '.join(missed)}" if missed else ""))
    figures = "; ".join(parts) + f". Full figures: [results/{json_path.name}](results/{json_path.name}), " \
                                 f"[results/{png_path.name}](results/{png_path.name})."
    date = result["date"][:10]
    return f"| `{command}` | {machine} | {date} | {figures} |\n"


def goals(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    at100k = next((r for r in result["retrieval"] if r.get("size") == 100_000 and "latency_ms" in r), None)
    if at100k:
        v = at100k["latency_ms"]["causal"]["p95"]
        out["retrieval_causal_p95_ms_at_100k"] = {"goal": 2.0, "measured": v, "met": v <= 2.0}
        c = at100k["cpu_ms"]["causal"]["p95"]
        out["retrieval_causal_cpu_p95_ms_at_100k"] = {"goal": 2.0, "measured": c, "met": c <= 2.0}
    inf = result.get("inference", {})
    d = inf.get("diagnose", {}).get("modes", {}).get("causal")
    if d:
        v = d["total_ms"]["p50"]
        out["diagnose_plus_evidence_p50_ms"] = {"goal": 300.0, "measured": v, "met": v <= 300.0}
    r = inf.get("report", {}).get("modes", {}).get("causal")
    if r:
        v = r["total_ms"]["p50"]
        out["report_p50_ms"] = {"goal": 1000.0, "measured": v, "met": v <= 1000.0}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k,1M")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip-inference", action="store_true")
    ap.add_argument("--skip-retrieval", action="store_true")
    ap.add_argument("--model", default=None, help="model folder (default $MCRAG_VLM_MODEL or var/models/vlm-default)")
    ap.add_argument("--index", default=None, help="index folder (default $MCRAG_VLM_INDEX or var/index/exemplars)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--no-benchmarks-row", action="store_true")
    ap.add_argument("--worker", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        kind = args.worker[0]
        if kind == "retrieval":
            res = retrieval_worker(int(args.worker[1]), int(args.worker[2]), int(args.worker[3]))
        else:
            res = inference_worker(args.worker[1], int(args.worker[2]), args.worker[3], args.worker[4])
        print(json.dumps(res))
        return

    from mcrag.settings import load_settings

    vs = load_settings().vlm()
    model = args.model or str(vs.model_dir)
    index = args.index or str(vs.index_dir)
    sizes = [parse_size(s) for s in ("10k" if args.quick else args.sizes).split(",") if s.strip()]
    queries = 300 if args.quick else args.queries
    n_images = 10 if args.quick else args.images
    out = Path(args.out) if args.out else ROOT / "docs" / "results" / (
        "inference_bench_quick.json" if args.quick else "inference_bench.json")
    loads = [os.getloadavg()[0]]
    result: dict[str, Any] = {"machine": machine_info(), "settings": {
        "dim": DIM, "hnsw_m": HNSW_M, "ef_construction": EF_CONSTRUCTION, "ef_search": EF_SEARCH, "k": 5,
        "causal_candidates": 64, "queries": queries, "images": n_images, "threads_per_query": 1,
        "model": model, "index": index}, "retrieval": [], "inference": {}}
    if not args.skip_retrieval:
        for n in sizes:
            print(f"retrieval at {fmt_size(n)} ...", flush=True)
            r = run_worker(["retrieval", str(n), str(queries), str(args.seed)], args.timeout)
            r.setdefault("size", n)
            result["retrieval"].append(r)
            loads.append(os.getloadavg()[0])
            if "latency_ms" in r:
                lat = r["latency_ms"]
                print(f"  build {r['build_s']} s, peak RSS {r['peak_rss_mb']} MB, recall@10 {r['recall_at_10']}")
                for k, v in lat.items():
                    c = r["cpu_ms"][k]
                    print(f"  {k:14s} wall p50 {v['p50']:.3f} p95 {v['p95']:.3f} ms | CPU p50 {c['p50']:.3f} "
                          f"p95 {c['p95']:.3f} ms")
            else:
                print(f"  failed: {r.get('error', '')[-400:]}")
    if not args.skip_inference:
        for task in ("diagnose", "report"):
            print(f"inference: {task} ...", flush=True)
            r = run_worker(["infer", task, str(n_images), model, index], args.timeout)
            result["inference"][task] = r
            loads.append(os.getloadavg()[0])
            if "modes" in r:
                for mode, v in r["modes"].items():
                    print(f"  {mode:9s} wall p50 {v['total_ms']['p50']:.1f} p95 {v['total_ms']['p95']:.1f} ms | "
                          f"CPU p50 {v['cpu_ms']['p50']:.1f} p95 {v['cpu_ms']['p95']:.1f} ms  stages {v['stages_p50_ms']}")
                print(f"  load {r['load_s']} s, peak RSS {r['peak_rss_mb']} MB, store {r['store']}")
            else:
                print(f"  failed: {r.get('error', '')[-400:]}")
    result["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    result["load_average_range"] = [round(min(loads), 2), round(max(loads), 2)]
    result["goals"] = goals(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    png = out.with_suffix(".png")
    plot(result, png)
    print(f"wrote {out} and {png}")
    for k, v in result["goals"].items():
        print(f"goal {k}: measured {v['measured']} vs {v['goal']}: {'met' if v['met'] else 'NOT met'}")
    if not args.quick and not args.no_benchmarks_row:
        command = "python -m benchmarks.bench_inference" + ("" if len(sys.argv) == 1 else " " + " ".join(sys.argv[1:]))
        row = benchmarks_row(result, command, out, png)
        bench = ROOT / "docs" / "BENCHMARKS.md"
        with bench.open("a", encoding="utf-8") as fh:
            fh.write(row)
        print(f"appended a row to {bench}")


if __name__ == "__main__":
    main()
