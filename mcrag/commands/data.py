"""``mcrag data``: list, fetch, verify and locate the public data sets MCRAG reads."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from mcrag.datasets import fetch as fetching
from mcrag.datasets import registry
from mcrag.datasets.locate import DATA_FOLDER, availability, how_to_get
from mcrag.datasets.verify import sha256_file
from mcrag.errors import UserInputError
from mcrag.settings import Settings, load_settings

app = typer.Typer(help="The public data sets: list them, fetch them with pinned checksums, find them.",
                  no_args_is_help=True)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def _set(name: str) -> registry.DataSet:
    try:
        return registry.get(name)
    except KeyError as err:
        raise UserInputError(str(err.args[0])) from None


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _status(settings: Settings, ds: registry.DataSet) -> tuple[str, str]:
    a = availability(settings, ds.name)
    if a.present:
        return ("present" if a.via == DATA_FOLDER else f"present ({a.via})"), str(a.where)
    n = len(ds.files) if ds.fetchable else len(ds.markers)
    state = "absent" if len(a.missing) == n else f"incomplete ({len(a.missing)} of {n} missing)"
    return state, how_to_get(ds.name)


@app.command("list")
def list_sets(fmt: str = typer.Option("table", "--format", help="table or json")) -> None:
    """Every data set with its licence as stated, size, source and whether it is present."""
    if fmt not in ("table", "json"):
        raise UserInputError(f"unknown format {fmt!r}; use table or json")
    settings = load_settings()
    rows = []
    for ds in registry.DATASETS:
        state, where = _status(settings, ds)
        rows.append({"name": ds.name, "title": ds.title, "licence": ds.licence, "size_bytes": ds.size,
                     "source": ds.source, "url": ds.homepage, "fetch": "pinned" if ds.fetchable else
                     f"derived: {ds.derived}", "status": state, "where": where, "used_by": ds.used_by})
    if fmt == "json":
        console.print_json(json.dumps(rows))
        return
    table = Table(title=f"Data sets (data folder: {settings.data_dir}); details: --format json")
    for col in ("name", "size", "status", "licence (as stated)", "source"):
        table.add_column(col, overflow="fold")
    for r, ds in zip(rows, registry.DATASETS, strict=True):
        status = str(r["status"]) if ds.fetchable else f"{r['status']}; derived copy, not fetchable"
        table.add_row(ds.name, _mb(ds.size), status, ds.licence, ds.source)
    console.print(table)


class _Bar:
    """Adapts a rich progress bar to the fetcher's progress protocol."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: object = None

    def start(self, label: str, total: int) -> None:
        self.task = self.progress.add_task(label, total=total)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)  # type: ignore[arg-type]


@app.command("fetch")
def fetch_cmd(name: str = typer.Argument(..., help="A set from `mcrag data list`, or `all`."),
              force: bool = typer.Option(False, "--force", help="Replace files whose bytes differ from the pins.")) -> None:
    """Download a set from its canonical public source into the data folder, checked against pinned SHA-256."""
    settings = load_settings()
    if name == "all":
        chosen = list(registry.DATASETS)
    else:
        chosen = [_set(name)]
        try:  # a set that cannot be fetched, or a file in the way, is the user's to fix: say so before starting
            fetching.plan(chosen[0], settings.data_dir, force=force)
        except (fetching.NotFetchableError, fetching.ExistingFileError) as err:
            raise UserInputError(str(err)) from None
    failed = 0
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=err_console, transient=False) as progress:
        for ds in chosen:
            if name == "all" and not ds.fetchable:
                progress.console.print(f"{ds.name}: skipped, {how_to_get(ds.name)}")
                continue
            try:
                result = fetching.fetch(ds, settings.data_dir, force=force, progress=_Bar(progress))
            except fetching.FETCH_ERRORS as err:
                progress.console.print(f"[red]{ds.name}: {err}[/red]")
                failed += 1
                continue
            progress.console.print(result.summary() + f" -> {settings.data_dir / ds.folder}")
    if failed:
        raise typer.Exit(1)


@app.command("verify")
def verify_cmd(name: str = typer.Argument(..., help="A set from `mcrag data list`, or `all`.")) -> None:
    """Recompute the SHA-256 of every present file of a set and compare it with the pins."""
    settings = load_settings()
    chosen = list(registry.DATASETS) if name == "all" else [_set(name)]
    bad = 0
    for ds in chosen:
        if not ds.fetchable:
            console.print(f"{ds.name}: derived copy, no pins to verify against")
            continue
        a = availability(settings, ds.name)
        if not a.present or a.where is None:
            console.print(f"{ds.name}: absent")
            continue
        base = settings.data_dir if a.via == DATA_FOLDER else None
        wrong = []
        for f in ds.files:
            path = (base / f.path) if base is not None else a.where / f.path.rsplit("/", 1)[-1]
            if sha256_file(path) != f.sha256:
                wrong.append(f.path)
        bad += len(wrong)
        console.print(f"{ds.name}: " + ("all files match the pins" if not wrong
                                         else f"{len(wrong)} files differ: {', '.join(wrong[:5])}") + f" ({a.via})")
    if bad:
        raise typer.Exit(1)


@app.command("path")
def path_cmd(name: str = typer.Argument(..., help="A set from `mcrag data list`.")) -> None:
    """Print the folder a set is read from (the data folder, or an installed package that ships it)."""
    _set(name)
    a = availability(load_settings(), name)
    if not a.present:
        raise UserInputError(f"data set {name} is not present: {how_to_get(name)}")
    typer.echo(str(a.where))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="data")
