"""The one registry of MCRAG's benchmarks, and the runner of the evaluation figures.

Two kinds, each writing JSON (and plots) under ``docs/results/`` with the command that made it:

* :data:`EVALUATIONS`: one entry point per (task, data set), a ``module:function`` that takes a
  :class:`RunContext` and returns the figure. ``mcrag eval`` runs them through the ``mcrag.benchmarks``
  entry-point group, which ``pyproject.toml`` registers for this module (see :func:`run`), and
  ``python -m benchmarks`` runs them all. Accuracy figures go to ``docs/RESULTS.md``.
* :data:`SCRIPTS`: every other benchmark, each a module with its own command line
  (``python -m benchmarks.<name>``): speed, mining, label-source import, and the front end's image-level
  benchmark, its selection log and its shortcut statistics. Any module of this package with a ``main``
  is one of them. Speed figures go to ``docs/BENCHMARKS.md``, accuracy figures to ``docs/RESULTS.md``.
"""

from __future__ import annotations

import importlib
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlm.retrieval import MODES

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RunContext:
    """What every evaluation entry point receives from ``mcrag eval``."""

    data_dir: Path
    models_dir: Path
    modes: tuple[str, ...]
    aucs: tuple[float, ...] | None = None
    progress: Progress | None = None
    encoder: Any = None
    train_budget_s: float = 600.0
    """Seconds a benchmark that trains its own front end may spend (``--train-budget``, else 600)."""
    train_cap_s: float | None = None
    """Set only when the user passed ``--train-budget``: recipes with a fixed number of epochs stop there."""


EVALUATIONS: dict[tuple[str, str], str] = {
    ("diagnose", "pneumoniamnist"): "benchmarks.diagnose:run",
    ("diagnose", "cxr_covid"): "benchmarks.covid:run",
    ("vqa", "iu_xray"): "benchmarks.vqa:run",
    ("vqa", "vqa_rad"): "benchmarks.vqa_rad:run",
    ("report", "iu_xray"): "benchmarks.report:run",
}
"""(task, data set) -> ``module:function`` taking a :class:`RunContext` and returning the result dict.

A module may also define ``write_plots(result, out_dir) -> list[Path]`` for plots of its own."""

BENCHMARKS: dict[str, tuple[str, ...]] = {}
"""Task -> its data sets, as ``mcrag eval`` offers them."""
for _task, _dataset in EVALUATIONS:
    BENCHMARKS[_task] = (*BENCHMARKS.get(_task, ()), _dataset)


@dataclass(frozen=True)
class Script:
    """A benchmark with a command line of its own."""

    module: str
    measures: str
    results: tuple[str, ...]
    """Files it writes under ``docs/results/``."""

    @property
    def command(self) -> str:
        return f"python -m {self.module}"


SCRIPTS: dict[str, Script] = {
    "frontend_images": Script("benchmarks.frontend_images", "the default VLM's front end at image level: nih_621 "
                              "normal vs abnormal and per finding, paediatric and PneumoniaMNIST pneumonia, COVID-19, "
                              "false calls on normal films", ("frontend_images.json", "frontend_images_roc.png",
                                                              "frontend_images_gap.png")),
    "frontend_dev": Script("benchmarks.frontend_dev", "the front end's selection log: each candidate setting scored on "
                           "development films only (nih_621 dev part, paediatric val)", ("frontend_dev.json",)),
    "frontend_shortcuts": Script("benchmarks.frontend_shortcuts", "per-image statistics that separate normal from "
                                 "abnormal adult films with no model (acquisition shortcuts)",
                                 ("frontend_shortcuts.json",)),
    "bench_store": Script("benchmarks.bench_store", "store load and query speed against rdflib and raw pyoxigraph",
                          ("bench_store.json", "bench_store.png")),
    "bench_inference": Script("benchmarks.bench_inference", "exemplar retrieval at scale and grounded inference "
                              "per image", ("inference_bench.json", "inference_bench.png")),
    "bench_mining": Script("benchmarks.bench_mining", "miner throughput beside bare spaCy on the same documents",
                           ("mining_bench.json", "mining_bench.png")),
    "bench_validation": Script("benchmarks.bench_validation", "discovery with and without the graph, effect error, "
                               "validation run time", ("validation_benchmark.json", "validation_benchmark.png")),
    "eval_mining": Script("benchmarks.eval_mining", "the report miner against the Open-i gold labels",
                          ("mining_reports.json", "mining_reports.png")),
    "mining_models": Script("benchmarks.mining_models", "the literature miner's models and the miner: claim strength, "
                            "negation, recognition, chemical-induced disease (gold entities and end to end), "
                            "BioRED relation types, ADE pairs, the regression list, cost per stage",
                            ("mining_models.json", "mining_models.png")),
    "strength_finetune": Script("benchmarks.strength_finetune", "claim strength with a fine-tuned MiniLM beside the "
                                "linear model", ("strength_finetune.json",)),
    "literature_chest_edges": Script("benchmarks.literature_chest_edges", "chest pathophysiology edges mined from "
                                     "MedQuAD, PubMedQA and the IU-Xray impressions, and a random sample to judge",
                                     ("literature_chest_edges.json",)),
    "import_sources": Script("benchmarks.import_sources", "import of the five chest label sources against a raw read",
                             ("import_sources.json",)),
    "cross_source": Script("benchmarks.cross_source", "chest edges validated and proposed across five label sources: "
                           "starter recall, proposal precision, sign agreement, mined claims re-validated, time",
                           ("cross_source.json", "cross_source_agreement.png")),
    "curation_workbench": Script("benchmarks.curation_workbench", "the curation workbench at 100k claims: queue, edge "
                                 "view and search latency through the service, a bulk act on 1,000 claims, a release",
                                 ("curation_workbench.json", "curation_workbench.png")),
    "transport": Script("benchmarks.transport", "transport across the five label sources, findings level: none, "
                        "semantic and the graph posterior on each held-out source (--shortcut model: strength 1 is the "
                        "default VLM's measured view shift)", ("transport.json", "transport_model_shortcut.json")),
    "view_shortcut": Script("benchmarks.view_shortcut", "the default VLM's AP-vs-PA score shift per finding on held-out "
                            "nih_1000 films, in sd units (strength 1 of the transport shortcut)", ("view_shortcut.json",)),
    "evidence_quality": Script("benchmarks.evidence_quality", "causal-mode evidence over nih_621: distinct subgraphs and "
                               "the share of edges that are chest scope and accepted or validated",
                               ("evidence_quality.json", "evidence_quality.png")),
}


class BenchmarkError(ValueError):
    """A task / data set pair this registry does not run, or an input it cannot find."""


def check(task: str, dataset: str) -> None:
    if task not in BENCHMARKS:
        raise BenchmarkError(f"unknown task {task!r}; use one of {', '.join(BENCHMARKS)}")
    if dataset not in BENCHMARKS[task]:
        raise BenchmarkError(f"unknown data set {dataset!r} for task {task}; use one of {', '.join(BENCHMARKS[task])}")


def _entry(task: str, dataset: str) -> tuple[Callable[[RunContext], dict[str, Any]], Any]:
    module_name, _, fn = EVALUATIONS[(task, dataset)].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, fn), module


def finish(task: str, dataset: str, result: dict[str, Any], modes: Sequence[str], seconds: float,
           command: str) -> dict[str, Any]:
    return {"task": task, "dataset": dataset, "retrieval_modes": list(modes), **result, "seconds": round(seconds, 1),
            "command": command, "machine": f"{platform.machine()} {platform.system()}, CPU"}


def run(task: str, dataset: str, *, data_dir: Path, models_dir: Path, out_dir: Path | None,
        modes: Sequence[str] = MODES, aucs: Sequence[float] | None = None, progress: Progress | None = None,
        encoder: Any = None, train_budget_s: float | None = None, command: str = "") -> dict[str, Any]:
    """Run one evaluation; with ``out_dir`` write ``<task>_<dataset>.json`` and its plots."""
    check(task, dataset)
    t0 = time.perf_counter()
    fn, _ = _entry(task, dataset)
    ctx = RunContext(data_dir, models_dir, tuple(modes), tuple(aucs) if aucs else None, progress, encoder,
                     600.0 if train_budget_s is None else train_budget_s, train_budget_s)
    result = fn(ctx)
    result = finish(task, dataset, result, modes, time.perf_counter() - t0, command)
    if out_dir is not None:
        write(result, out_dir)
    return result


def write(result: dict[str, Any], out_dir: Path) -> list[Path]:
    """The JSON and the plots of one result."""
    from benchmarks import plots

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{result['task']}_{result['dataset']}"
    paths = [out_dir / f"{stem}.json"]
    paths[0].write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    _, module = _entry(result["task"], result["dataset"])
    if hasattr(module, "write_plots"):
        paths.extend(module.write_plots(result, out_dir))
    elif "curve" in result:
        metrics = ("accuracy", "f1", "auc") if result["task"] == "vqa" else ("bleu4", "rouge_l", "ce_f1")
        paths.append(plots.curve_plot(result["curve"], metrics, out_dir / f"{stem}.png",
                                      f"{result['task']} on {result['dataset']} (findings-conditioned)",
                                      result.get("anchors")))
        top = result["curve"][max(result["curve"], key=float)]
        paths.append(plots.bar_plot(top, ("hallucination_rate", "traceability_any", "traceability_graph"),
                                    out_dir / f"{stem}_ablation.png", "gold-label end: hallucination and traceability"))
    elif "modes" in result:
        paths.append(plots.bar_plot(result["modes"], ("auc", "accuracy", "hallucination_rate", "traceability_graph"),
                                    out_dir / f"{stem}.png", f"{result['task']} on {result['dataset']}: retrieval modes"))
    return paths
