"""``mcrag graph learn``: learn and validate the chest graph across the five label sources, into the store.

One command imports the label sources into study x concept matrices (Parquet under
``$MCRAG_HOME/matrices/cxr_labels``), runs causal discovery pooled and per source, judges every stored
claim whose ends are concepts of the table on the sources that did not produce it, writes each
verdict with its per-source effects (undo with ``mcrag curate undo-run``), and writes the edges the
data propose into the ``proposals`` graph for curation.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mcrag.commands.common import StoreOption, open_configured_store, settings_for
from mcrag.commands.output import json_default, signed
from mcrag.errors import UserInputError
from mcrag.settings import Settings

console = Console(soft_wrap=True)
app = typer.Typer(help="Learn and validate the chest graph across label sources.", no_args_is_help=True)


def matrices_dir(settings: Settings) -> Path:
    """Where the imported source matrices live: ``<home>/matrices/cxr_labels``."""
    return settings.home / "matrices" / "cxr_labels"


def import_matrices(settings: Settings, sources: tuple[str, ...], *, data: Path | None = None, reimport: bool = False,
                    progress: bool = True) -> dict[str, Path]:
    """Source -> Parquet matrix, importing the sources whose matrix is not there yet (or all, with ``reimport``)."""
    from mcrag.datasets.locate import cxr_labels_dir, how_to_get
    from reasoning.sources import import_sources

    out = matrices_dir(settings)
    paths = {s: out / f"{s}.parquet" for s in sources}
    todo = [s for s, p in paths.items() if reimport or not p.is_file()]
    if todo:
        folder = data or cxr_labels_dir(settings)
        if folder is None:
            raise UserInputError(f"the chest label sources are not present: {how_to_get('cxr_labels')}, or install "
                                 "torchxrayvision, or give --data")
        import_sources(folder, out, todo, progress=progress)
    return paths


def learn_into_store(settings: Settings, store: object, *, sources: tuple[str, ...], sample: int | None, seed: int,
                     data: Path | None = None, reimport: bool = False, propose: bool = True, write: bool = True,
                     progress: bool = True, per_source_discovery: bool = True) -> object:
    """Import (when needed), then :func:`reasoning.graph_learning.learn_graph`; returns its run."""
    from kg.store.base import Store
    from reasoning.graph_learning import LearnSettings, learn_graph

    assert isinstance(store, Store)
    paths = import_matrices(settings, sources, data=data, reimport=reimport, progress=progress)
    return learn_graph(store, paths, settings=LearnSettings(sample=sample, seed=seed, propose=propose,
                                                            per_source_discovery=per_source_discovery), write=write)


def _sources(text: str) -> tuple[str, ...]:
    from reasoning.sources import SOURCES

    if text.strip() == "all":
        return SOURCES
    chosen = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SOURCES]
    if unknown or not chosen:
        raise UserInputError(f"unknown source(s) {', '.join(unknown) or '(none)'}; use 'all' or some of "
                             f"{', '.join(SOURCES)}")
    return chosen


@app.command("learn")
def learn(sources: str = typer.Option("all", "--sources", "-s", help="'all' or a comma-separated list of "
                                      "padchest, nih, chexpert, vindr, iu_xray."),
          data: Path | None = typer.Option(None, "--data", help="The cxr_labels folder (default: the data folder's, "
                                           "else the installed torchxrayvision package's)."),
          sample: int | None = typer.Option(None, help="Studies kept per source (uniform, fixed seed); default all."),
          seed: int = typer.Option(0, help="Seed of the sample."),
          reimport: bool = typer.Option(False, "--reimport", help="Import the sources again even if matrices exist."),
          propose: bool = typer.Option(True, help="Write data-proposed edges into the proposals graph."),
          per_source_discovery: bool = typer.Option(True, help="Also run discovery in each source (a direction "
                                                    "the pooled graph leaves open may then be read off the sources)."),
          dry_run: bool = typer.Option(False, "--dry-run", help="Report only; write nothing to the store."),
          json_out: Path | None = typer.Option(None, "--json", help="Also write the verdicts as JSON here."),
          store: str | None = StoreOption) -> None:
    """Import the label sources, discover, judge every stored chest claim across sources, propose new edges."""
    from reasoning.graph_learning import LearnRun

    if sample is not None and sample < 100:
        raise UserInputError(f"--sample {sample} is too small to estimate anything; use at least 100 or leave it out")
    if data is not None and not data.is_dir():
        raise UserInputError(f"--data {data}: folder not found")
    chosen = _sources(sources)
    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        run = learn_into_store(settings, st, sources=chosen, sample=sample, seed=seed, data=data, reimport=reimport,
                               propose=propose, write=not dry_run, per_source_discovery=per_source_discovery)
    assert isinstance(run, LearnRun)
    table = Table("cause -> effect", "verdict", "direction", "per-source effect [95% CI] (n)", "holds",
                  title=f"cross-source verdicts on {run.dataset}")
    for r in sorted(run.results, key=lambda r: (r.across_sources or "", r.label or "")):
        if r.across_sources not in ("validated", "refuted", "mixed"):
            continue
        eff = "; ".join(f"{p.source} {signed(p.effect)} [{signed(p.ci_low)}, {signed(p.ci_high)}] ({p.sample_size})"
                        for p in r.per_source if p.effect is not None and p.independent)
        table.add_row((r.label or "").split(":")[0], r.across_sources or "", r.direction_basis or "", eff,
                      "yes" if r.holds_across_sources else "no")
    console.print(table)
    counts = run.counts()
    console.print(f"{len(run.claims)} claims: " + ", ".join(f"{v} {k}" for k, v in counts.items())
                  + f"; {len(run.results)} edge results; studies per source: "
                  + ", ".join(f"{s} {n}" for s, n in run.sources.items()), markup=False, highlight=False)
    if run.proposals is not None:
        written = run.proposals_written.written if run.proposals_written else 0
        console.print(f"{len(run.proposals.proposals)} edges proposed from data ({written} new in the proposals graph)",
                      markup=False, highlight=False)
    if run.written:
        console.print(f"wrote the verdicts as {run.activity}; put status moves back with: mcrag curate undo-run "
                      f"{run.activity.rsplit('/', 1)[-1]}", markup=False, highlight=False)
    elif dry_run:
        console.print("dry run: nothing written")
    if json_out is not None:
        rows = [{"label": r.label, "verdict": r.across_sources, "reason": r.reason, "direction": r.direction_basis,
                 "holds_across_sources": r.holds_across_sources, "effect": r.effect, "ci": [r.ci_low, r.ci_high],
                 "per_source": [vars(p) for p in r.per_source]} for r in run.results]
        json_out.write_text(json.dumps({"dataset": run.dataset, "counts": counts, "seconds": dict(run.seconds),
                                        "results": rows}, indent=1, default=json_default), encoding="utf-8")
        console.print(f"wrote {json_out}")


def register(root: typer.Typer) -> None:
    """Add ``graph`` to the ``mcrag`` app."""
    root.add_typer(app, name="graph")
