"""``mcrag validate``: test each claimed edge on a data set and write the verdicts onto its claims."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from kg.curation import resolve_claim_iri
from kg.namespaces import graph_iri
from mcrag.commands.args import data_file
from mcrag.commands.common import PlainTable as Table
from mcrag.commands.common import StoreOption, open_configured_store, settings_for
from mcrag.commands.output import json_default, signed

console = Console()


# ---------------------------------------------------------------------------------------- validate
def validate(
    data: str = typer.Option(..., "--data", "-d", help="CSV / Parquet table, one column per variable "
                             "(e.g. ../shared/data/iu_xray/openi_labels.csv)."),
    graph: list[str] = typer.Option([], "--graph", "-g", help="Only claims of these named graphs (repeatable)."),
    claim: list[str] = typer.Option([], "--claim", help="Only these claims (IRI or hash; repeatable)."),
    discovery: str = typer.Option("pc", help="Causal discovery: pc, fci, ges or none."),
    test: str = typer.Option("auto", help="Independence test for pc/fci: auto, chisq, gsq or fisherz."),
    alpha: float = typer.Option(0.05, help="Significance level of the discovery's independence tests."),
    background: bool = typer.Option(True, help="Use accepted edges as required/forbidden background knowledge."),
    refuters: str = typer.Option("placebo_treatment,random_common_cause,data_subset",
                                 help="Comma-separated DoWhy refuters (also: bootstrap); '' for none."),
    simulations: int = typer.Option(25, help="Simulations per refuter."),
    min_samples: int = typer.Option(50, help="Fewest complete rows to test an edge."),
    min_group: int = typer.Option(10, help="Fewest rows per value of a binary treatment or outcome."),
    margin: float = typer.Option(0.05, help="Standardised effect below which an effect counts as none."),
    jobs: int = typer.Option(0, help="Worker processes for estimation and refutation (0 = all cores)."),
    seed: int = typer.Option(0, help="Seed for the refuters' simulations."),
    split: str | None = typer.Option(None, help="Only rows whose 'split' column has this value."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report only; write nothing to the store."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the full run as JSON here."),
    store: str | None = StoreOption,
) -> None:
    """Test each claimed edge on a data set and write the verdict onto its claims.

    Per edge: causal discovery's view, the identified estimand, the effect with its interval and the
    refutation tests; per claim a verdict (validated / refuted / notTestable, with the reason).
    """
    from reasoning.validate import ValidationSettings, run_summary, validate_store

    path = data_file(data)
    settings = ValidationSettings(
        discovery=discovery, test=test, alpha=alpha, background=background,
        refuters=tuple(r.strip() for r in refuters.split(",") if r.strip()), simulations=simulations,
        min_samples=min_samples, min_group=min_group, margin=margin, jobs=jobs, seed=seed)
    with open_configured_store(settings_for(store), create=False) as st:
        run = validate_store(st, path, graphs=[graph_iri(g) for g in graph] or None,
                             claims=[resolve_claim_iri(c) for c in claim] or None,
                             settings=settings, split=split, write=not dry_run)
    by_edge: dict[tuple[str, str], list[Any]] = {}
    for v in run.claims:
        by_edge.setdefault((v.cause, v.effect), []).append(v)
    table = Table("cause -> effect", "claims", "discovery", "estimand", "effect [95% CI]", "refuters", "verdict",
                  title=f"validation against {run.dataset}")
    for e in run.edges:
        verdicts = sorted({v.verdict for v in by_edge.get((e.cause, e.effect), [])})
        est = e.estimate
        effect = f"{signed(est.value)} [{signed(est.ci_low)}, {signed(est.ci_high)}]" if est else (e.not_testable or "")[:60]
        refs = " ".join(f"{o.refuter.split('_')[0]}:{'ok' if o.passed else ('FAIL' if o.passed is False else '-')}"
                        for o in e.refutations)
        table.add_row(f"{e.cause_label} -> {e.effect_label}", str(len(by_edge.get((e.cause, e.effect), []))),
                      e.discovery.verdict if e.discovery else "-",
                      e.identification.kind if e.identification and e.identification.identified else "-",
                      effect, refs, "/".join(verdicts))
    console.print(table)
    counts = run.counts()
    if run.discovery:
        d = run.discovery
        console.print(f"discovery: {d.method} ({d.test}, alpha={d.alpha:g}, background knowledge: {d.background}) "
                      f"over {len(d.variables)} variables, {d.samples} rows, {d.seconds:.1f} s")
    console.print(f"{len(run.claims)} claim(s) on {len(run.edges)} edge(s): {counts['validated']} validated, "
                  f"{counts['refuted']} refuted, {counts['notTestable']} not testable ({run.seconds:.1f} s)")
    unmeasured = sum(1 for v in run.claims if v.result is None)
    if unmeasured:
        console.print(f"{unmeasured} claim(s) left as they were: the data have no usable column for their cause "
                      "or effect")
    console.print(f"wrote results to <{graph_iri('validation')}> as {run.activity}" if run.written
                  else "dry run: nothing written", markup=False, highlight=False)
    if run.written and any(v.new_status != v.previous_status for v in run.claims):
        console.print(f"status moves can be put back with: mcrag curate undo-run {run.activity.rsplit('/', 1)[-1]}",
                      markup=False, highlight=False)
    if json_out is not None:
        json_out.write_text(json.dumps(run_summary(run), indent=1, default=json_default), encoding="utf-8")
        console.print(f"wrote {json_out}")


def register(app: typer.Typer) -> None:
    """Add ``validate`` to the ``mcrag`` app."""
    app.command("validate")(validate)
