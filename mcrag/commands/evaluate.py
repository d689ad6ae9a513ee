"""``mcrag eval``: reproduce one benchmark figure (table on screen, JSON and plots in docs/results)."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer
from rich.console import Console

from mcrag.commands.common import PlainTable as Table
from mcrag.errors import UserInputError
from mcrag.settings import load_settings

console = Console()
err_console = Console(stderr=True)


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
    from vlm.evaluation.runner import BenchmarkError, check, run

    modes = _modes(retrieval)
    curve = _aucs(aucs)
    try:
        check(task, dataset)
    except BenchmarkError as err:
        raise UserInputError(str(err)) from None
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
        result = run(task, dataset, data_dir=data, models_dir=settings.models_dir, out_dir=out_dir, modes=modes,
                     aucs=curve, progress=progress, encoder=TextEncoder(cache_dir=settings.home / "cache"),
                     train_budget_s=train_budget, command=command)
    except (BenchmarkError, FileNotFoundError) as err:
        raise UserInputError(str(err)) from None
    _print(result)
    console.print(f"wrote {out_dir / f'{task}_{dataset}.json'}")


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
