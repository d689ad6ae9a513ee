"""One entry point per (task, data set): run the benchmark, write its JSON and plots, return the figure.

``mcrag eval`` and ``scripts/eval_*.py`` call :func:`run`; results go to
``<out_dir>/<task>_<dataset>.json`` (+ ``.png``), with the anchors, goals and the caveats that make
the figure readable on its own.
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
    """What every benchmark entry point receives from ``mcrag eval``."""

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


ENTRY_POINTS: dict[tuple[str, str], str] = {
    ("diagnose", "pneumoniamnist"): "vlm.evaluation.runner:run_pneumonia",
    ("diagnose", "cxr_covid"): "vlm.evaluation.covid:run",
    ("vqa", "iu_xray"): "vlm.evaluation.vqa:run",
    ("vqa", "vqa_rad"): "vlm.evaluation.vqa_rad:run",
    ("report", "iu_xray"): "vlm.evaluation.runner:run_report",
}
"""(task, data set) -> ``module:function`` taking a :class:`RunContext` and returning the result dict.

A module may also define ``write_plots(result, out_dir) -> list[Path]`` for plots of its own."""
BENCHMARKS: dict[str, tuple[str, ...]] = {}
for _task, _dataset in ENTRY_POINTS:
    BENCHMARKS.setdefault(_task, ())
    BENCHMARKS[_task] += (_dataset,)


class BenchmarkError(ValueError):
    """A task / data set pair this module does not run, or an input it cannot find."""


def check(task: str, dataset: str) -> None:
    if task not in BENCHMARKS:
        raise BenchmarkError(f"unknown task {task!r}; use one of {', '.join(BENCHMARKS)}")
    if dataset not in BENCHMARKS[task]:
        raise BenchmarkError(f"unknown data set {dataset!r} for task {task}; use one of {', '.join(BENCHMARKS[task])}")


def _entry(task: str, dataset: str) -> tuple[Callable[[RunContext], dict[str, Any]], Any]:
    module_name, _, fn = ENTRY_POINTS[(task, dataset)].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, fn), module


def run_pneumonia(ctx: RunContext) -> dict[str, Any]:
    return _pneumonia(ctx.data_dir, ctx.models_dir, ctx.modes, ctx.progress, ctx.train_cap_s)


PNEUMONIA_RECIPE: dict[str, Any] = {"width": 16, "epochs": 15, "seeds": (0, 1, 2)}
"""Fixed epochs, sized for a 2-core CPU, so the same command trains the same front end on any machine;
a time cap is applied only when the user asks for one."""


def _pneumonia(data_dir: Path, models_dir: Path, modes: Sequence[str], progress: Progress | None,
               train_cap_s: float | None) -> dict[str, Any]:
    import numpy as np

    from vlm.evaluation import diagnose
    from vlm.evaluation.cnn import CNNConfig, load_ensemble, save_ensemble, train_ensemble

    data_file = data_dir / "pneumoniamnist" / "pneumoniamnist.npz"
    if not data_file.is_file():
        raise BenchmarkError(f"PneumoniaMNIST not found at {data_file}")
    r = PNEUMONIA_RECIPE
    ckpt = models_dir / f"pneumonia-cnn-w{r['width']}-e{r['epochs']}-x{len(r['seeds'])}.pt"
    if ckpt.is_file():
        ens = load_ensemble(str(ckpt))
    else:
        d = np.load(data_file)
        cfg = CNNConfig(width=r["width"], epochs=r["epochs"], seeds=tuple(r["seeds"]), time_budget_s=train_cap_s)
        ens = train_ensemble(d["train_images"], d["train_labels"], d["val_images"], d["val_labels"], cfg,
                             progress=(lambda s: progress(s, 0, 0)) if progress else None)
        for m in ens.members:
            m.cpu()
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        save_ensemble(ens, str(ckpt))
    out = diagnose.evaluate_pneumonia(data_file, ens, modes, progress=progress)
    out["checkpoint"] = str(ckpt)
    return annotate_pneumonia(out)


def annotate_pneumonia(out: dict[str, Any]) -> dict[str, Any]:
    from vlm.evaluation import diagnose

    fe = out["front_end"]
    out.update(anchors=diagnose.ANCHORS, goals=diagnose.GOALS, notes=[
        "Train split: a Kaggle-derived one with 388 normals (a third of the official 1214); the loss is "
        "class-balanced and the threshold fitted on val, never on test.",
        f"Front end: ensemble of {fe['members']} small ResNets ({fe['input_px']} px, width {fe['width']}, "
        f"{fe['epochs']} epochs each, trained from scratch in {fe['train_seconds']} s), flip test-time "
        "augmentation; exemplar index = train images by CNN features; each mode's threshold fitted on val; "
        "test scored once."])
    return out


def run_report(ctx: RunContext) -> dict[str, Any]:
    from vlm.evaluation.vqa import AUC_CURVE

    return _report(ctx.data_dir, ctx.modes, tuple(ctx.aucs or AUC_CURVE), ctx.progress, ctx.encoder)


def _report(data_dir: Path, modes: Sequence[str], aucs: Sequence[float], progress: Progress | None,
            encoder: Any) -> dict[str, Any]:
    from vlm.evaluation import report

    out = report.evaluate_reports(data_dir / "iu_xray", data_dir / "labeler", aucs=aucs, modes=modes,
                                  encoder=encoder, progress=progress)
    return annotate_report(out)


def annotate_report(out: dict[str, Any]) -> dict[str, Any]:
    from vlm.evaluation import report
    from vlm.evaluation.iu_xray import FINDINGS_CONDITIONED
    from vlm.evaluation.metrics import METEOR_VARIANT

    out.update(anchors=report.ANCHORS, goals=report.GOALS, notes=[FINDINGS_CONDITIONED,
               "BLEU: nltk corpus_bleu over lower-cased word/punctuation tokens; ROUGE-L: rouge-score F-measure "
               "averaged over reports (R2Gen's pycocoevalcap ROUGE-L weights recall more); METEOR: " + METEOR_VARIANT,
               "Clinical efficacy, hallucination (findings asserted in the output but absent from the reference) "
               "and traceability read both texts through the project's report labeler (kg.mining)."])
    return out


def finish(task: str, dataset: str, result: dict[str, Any], modes: Sequence[str], seconds: float,
           command: str) -> dict[str, Any]:
    return {"task": task, "dataset": dataset, "retrieval_modes": list(modes), **result, "seconds": round(seconds, 1),
            "command": command, "machine": f"{platform.machine()} {platform.system()}, CPU"}


def run(task: str, dataset: str, *, data_dir: Path, models_dir: Path, out_dir: Path | None,
        modes: Sequence[str] = MODES, aucs: Sequence[float] | None = None, progress: Progress | None = None,
        encoder: Any = None, train_budget_s: float | None = None, command: str = "") -> dict[str, Any]:
    """Run one benchmark; with ``out_dir`` write ``<task>_<dataset>.json`` and its plots."""
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
    from vlm.evaluation import plots

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
