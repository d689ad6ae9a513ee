"""``mcrag eval``: reproduce one benchmark figure (table on screen, JSON and plots in docs/results).

The benchmarks are not part of the product: they are plugins found through the ``mcrag.benchmarks``
entry-point group, as pytest finds its plugins (``pytest11``) and rdflib its stores. MCRAG's own
``pyproject.toml`` registers its ``benchmarks`` package there, so an install from the repository has them.

A plugin names a module that provides:

* ``BENCHMARKS``: mapping of task -> the data sets it runs for that task;
* ``run(task, dataset, *, data_dir, models_dir, out_dir, modes, aucs, progress, encoder, train_budget_s,
  command) -> dict``: runs one figure, writes ``<out_dir>/<task>_<dataset>.json`` and its plots, and
  returns the result (``modes`` and/or ``curve`` tables, ``notes``);
* errors a user can fix raised as ``ValueError`` or ``FileNotFoundError`` (one line, exit code 2).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import typer
from rich.console import Console

from mcrag.commands.common import PlainTable as Table
from mcrag.errors import UserInputError
from mcrag.settings import load_settings

console = Console()
err_console = Console(stderr=True)

PLUGIN_GROUP = "mcrag.benchmarks"
"""Entry-point group of benchmark plugins (see the module docstring for what a plugin provides)."""


def benchmark_plugins() -> list[ModuleType]:
    """The installed benchmark plugin modules, each once, in entry-point order."""
    found: dict[str, ModuleType] = {}
    for ep in entry_points(group=PLUGIN_GROUP):
        if ep.value not in found:
            found[ep.value] = ep.load()
    return list(found.values())


def plugin_for(task: str, dataset: str, plugins: Sequence[ModuleType]) -> ModuleType:
    """The plugin that runs ``task`` on ``dataset``; a clear error naming what is offered otherwise."""
    if not plugins:
        raise UserInputError(f"no benchmarks are installed (entry-point group {PLUGIN_GROUP} is empty); "
                             "install MCRAG from its repository with `pip install -e .` (or `make install`)")
    offered: dict[str, list[str]] = {}
    for plugin in plugins:
        benchmarks: Mapping[str, Sequence[str]] = plugin.BENCHMARKS
        if dataset in benchmarks.get(task, ()):
            return plugin
        for t, datasets in benchmarks.items():
            offered.setdefault(t, []).extend(d for d in datasets if d not in offered.get(t, []))
    if task not in offered:
        raise UserInputError(f"unknown task {task!r}; use one of {', '.join(offered)}")
    raise UserInputError(f"unknown data set {dataset!r} for task {task}; use one of {', '.join(offered[task])}")


def _modes(text: str) -> tuple[str, ...]:
    from vlm.retrieval import MODES

    if text == "all":
        return MODES
    items = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    bad = [s for s in items if s not in MODES]
    if bad or not items:
        raise UserInputError(f"unknown retrieval mode {', '.join(bad) or repr(text)}; use none, semantic, causal or all")
    return items


def _aucs(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        vals = tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise UserInputError(f"--aucs takes a comma list of numbers in [0.5, 1], got {text!r}") from None
    if not vals or any(not 0.5 <= v <= 1.0 for v in vals):
        raise UserInputError(f"--aucs takes a comma list of numbers in [0.5, 1], got {text!r}")
    return vals


def _print(result: dict) -> None:
    if "modes" in result:
        t = Table(title=f"{result['task']} / {result['dataset']} (test split)")
        cols = list(next(iter(result["modes"].values())))
        for c in cols:
            t.add_column(c)
        for row in result["modes"].values():
            t.add_row(*(str(row[c]) for c in cols))
        console.print(t)
    for auc, per_mode in result.get("curve", {}).items():
        t = Table(title=f"{result['task']} / {result['dataset']}, front-end AUC {auc}")
        cols = list(next(iter(per_mode.values())))
        t.add_column("mode")
        for c in cols:
            t.add_column(c)
        for mode, row in per_mode.items():
            t.add_row(mode, *(f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in cols))
        console.print(t)
    for note in result.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}", soft_wrap=True)


def eval_command(task: str = typer.Option(..., "--task", "-t", help="diagnose, vqa or report."),
                 dataset: str = typer.Option(..., "--dataset", "-d", help="pneumoniamnist or cxr_covid (diagnose); iu_xray or vqa_rad (vqa); iu_xray (report)."),
                 retrieval: str = typer.Option("all", "--retrieval", "-r", help="none, semantic, causal, a comma list, or all."),
                 aucs: str | None = typer.Option(None, "--aucs", help="Front-end AUC curve of the findings-conditioned "
                                                 "tasks (default 0.7,0.8,0.9,0.95,1.0)."),
                 out_dir: Path = typer.Option(Path("docs/results"), "--out-dir", "-o", help="Where the JSON and plots go."),
                 data_dir: Path | None = typer.Option(None, "--data-dir", help="Data folder (default $MCRAG_DATA_DIR)."),
                 train_budget: float | None = typer.Option(None, "--train-budget", min=1, help="Cap in seconds on training a "
                                                    "benchmark's own front end (default: its fixed recipe, uncapped).")) -> None:
    """Run one benchmark in each retrieval mode; print the table, write <task>_<dataset>.json and plots."""
    modes = _modes(retrieval)
    curve = _aucs(aucs)
    plugin = plugin_for(task, dataset, benchmark_plugins())
    settings = load_settings()
    data = data_dir or settings.data_dir
    if not data.is_dir():
        raise UserInputError(f"data folder {data} not found; set MCRAG_DATA_DIR or pass --data-dir")
    from vlm.encoders import TextEncoder

    def progress(stage: str, done: int, total: int) -> None:
        err_console.print(f"{stage}: {done}/{total}" if total else stage, highlight=False)

    command = f"mcrag eval --task {task} --dataset {dataset} --retrieval {shlex.quote(retrieval)}" + (
        f" --aucs {aucs}" if aucs else "")
    try:
        result = plugin.run(task, dataset, data_dir=data, models_dir=settings.models_dir, out_dir=out_dir,
                            modes=modes, aucs=curve, progress=progress,
                            encoder=TextEncoder(cache_dir=settings.home / "cache"), train_budget_s=train_budget,
                            command=command)
    except (ValueError, FileNotFoundError) as err:
        raise UserInputError(str(err)) from None
    _print(result)
    console.print(f"wrote {out_dir / f'{task}_{dataset}.json'}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
