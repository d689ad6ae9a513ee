"""``mcrag pipeline``: the main job on the embedded defaults, from an empty folder to grounded answers.

Each step is small and reports what it did; later steps use what earlier ones wrote into the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import typer
from rich.console import Console

from kg.namespaces import NAMED_GRAPHS
from kg.ontology import bootstrap
from kg.store import Store
from mcrag.commands.common import StoreOption, open_configured_store
from mcrag.settings import Settings, load_settings

console = Console(soft_wrap=True)


@dataclass
class PipelineContext:
    settings: Settings
    store: Store
    sample: int


def step_bootstrap(ctx: PipelineContext) -> str:
    have = set(ctx.store.named_graphs())
    if NAMED_GRAPHS["ontology"] in have and NAMED_GRAPHS["starter"] in have:
        return "ontology and starter graph already present"
    reports = bootstrap(ctx.store)
    return ", ".join(f"+{r.added} quads into <{r.graph}>" for r in reports)


def step_two_hop(ctx: PipelineContext) -> str:
    rows = ctx.store.query("""
        SELECT ?causeLabel ?midLabel ?effectLabel WHERE {
          ?cause mcrag:causes ?mid . ?mid mcrag:causes ?effect .
          ?cause skos:prefLabel ?causeLabel . ?mid skos:prefLabel ?midLabel . ?effect skos:prefLabel ?effectLabel .
        } ORDER BY ?causeLabel ?midLabel ?effectLabel LIMIT 8""").dicts()
    for r in rows:
        console.print(f"    {r['causeLabel']} -> {r['midLabel']} -> {r['effectLabel']}")
    return f"{len(rows)} two-hop causal paths (first 8 shown)"


STEPS: list[tuple[str, Callable[[PipelineContext], str]]] = [
    ("bootstrap the store (ontology + curated starter graph)", step_bootstrap),
    ("query two-hop causal paths with SPARQL", step_two_hop),
]


def pipeline(store: str | None = StoreOption,
             sample: int = typer.Option(300, help="How many shared reports and abstracts to mine.")) -> None:
    """Run the main job end to end on the embedded defaults (store in var/store)."""
    settings = load_settings(store=store)
    with open_configured_store(settings) as st:
        ctx = PipelineContext(settings, st, sample)
        total = time.perf_counter()
        for i, (title, fn) in enumerate(STEPS, start=1):
            console.print(f"[bold]{i}/{len(STEPS)} {title}[/bold]")
            t0 = time.perf_counter()
            summary = fn(ctx)
            console.print(f"    {summary} ({time.perf_counter() - t0:.1f} s)")
        console.print(f"pipeline done in {time.perf_counter() - total:.1f} s; store at {settings.store_location}")


def register(app: typer.Typer) -> None:
    app.command("pipeline")(pipeline)
