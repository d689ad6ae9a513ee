"""``mcrag curate ...``: the review queue, accept / reject / edit / undo with an audit trail, export and render."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console

from kg import curation
from kg.namespaces import ID
from mcrag.commands.args import TRUSTED_DEFAULT, status_list
from mcrag.commands.common import PlainTable as Table
from mcrag.commands.common import StoreOption, open_configured_store, resolve_claim, settings_for
from mcrag.commands.output import print_json, signed
from mcrag.errors import UserInputError
from mcrag.palette import STATUS_COLOURS
from mcrag.render import render_subgraph
from mcrag.settings import Settings

console = Console()
curate_app = typer.Typer(help="Review queue, accept / reject / edit / undo with an audit trail, export and render.",
                         no_args_is_help=True)

CuratorOption = typer.Option(None, "--curator", "-u",
                             help="Who acts (a name, e-mail or ORCID); default the MCRAG_CURATOR setting.")
ReasonOption = typer.Option(..., "--reason", "-r", help="Why: kept in the audit trail.")
VersionOption = typer.Option(..., "--version", help="The claim version you read (mcrag curate show); "
                             "a stale version changes nothing.")


def _curator(curator: str | None, settings: Settings) -> str:
    who = curator or settings.curator
    if not who:
        raise UserInputError("say who you are: --curator NAME (or set MCRAG_CURATOR)")
    return who


def _print_record(rec: curation.CurationRecord) -> None:
    changes = ", ".join(f"{c.field}: {c.old} -> {c.new}" for c in rec.changes)
    console.print(f"{rec.action} by {rec.agent}: {rec.claim} version {rec.from_version} -> {rec.to_version} "
                  f"({rec.previous_status} -> {rec.new_status}){'; ' + changes if changes else ''}",
                  markup=False, highlight=False)
    console.print(f"recorded as {rec.activity}", markup=False, highlight=False)


@curate_app.command("queue")
def queue(limit: int = typer.Option(20, "--limit", "-n", help="How many items."),
          as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
          store: str | None = StoreOption) -> None:
    """Claims awaiting review, most important first (uncertain verdicts on high-impact edges)."""
    with open_configured_store(settings_for(store), create=False) as st:
        items = curation.review_queue(st, limit)
    if as_json:
        print_json([i.to_json() for i in items])
        return
    table = Table("#", "claim", "edge", "status", "v", "verdict", "effect [CI]", "priority", "why", "evidence")
    for k, i in enumerate(items, 1):
        ci = f"{signed(i.effect)} [{signed(i.ci_low)}, {signed(i.ci_high)}]" if i.effect is not None else ""
        evidence = (i.sentences[0][:70] if i.sentences else "") + (f" ({len(i.sentences)} sentences)" if
                                                                   len(i.sentences) > 1 else "")
        table.add_row(str(k), i.claim.rsplit("/", 1)[-1], f"{i.record.subject_label} {i.record.relation} {i.record.object_label}", i.status,
                      str(i.version), i.verdict or "-", ci, f"{i.priority:.2f}", i.why, evidence)
    console.print(table)
    console.print(f"{len(items)} item(s)")


@curate_app.command("show")
def show(claim: str = typer.Argument(..., help="Claim IRI or hash."),
         as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
         store: str | None = StoreOption) -> None:
    """A claim with its sentences, sources, validation results and audit trail."""
    with open_configured_store(settings_for(store), create=False) as st:
        d = curation.claim_detail(st, resolve_claim(st, claim))
    if as_json:
        print_json(d.to_json())
        return
    p = lambda *a: console.print(*a, markup=False, highlight=False)  # noqa: E731
    r = d.record
    p(f"{r.claim}  (version {r.version}, status {r.status}, graph {r.graph})")
    p(f"  {r.subject_label} --{r.relation}{' (negated)' if r.polarity == 'negative' else ''}--> {r.object_label}"
      f"   certainty {r.certainty}, confidence {r.confidence}")
    if r.mechanism:
        p(f"  mechanism: {r.mechanism}")
    for sentence in d.sentences:
        p(f"  sentence: {sentence}")
    for src in d.sources:
        p(f"  source: {src.citation or src.identifier or src.document} [{src.collection or ''}]")
    for v in d.validations:
        effect = (f"; effect {signed(v.effect)} [{signed(v.ci_low)}, {signed(v.ci_high)}] n={v.sample_size}"
                  if v.effect is not None else "")
        p(f"  validation {v.time.isoformat() if v.time else ''}: {v.verdict}; discovery {v.discovery}{effect}"
          f"{f' on {v.dataset}' if v.dataset else ''}")
        if v.estimand:
            p(f"    estimand: {v.estimand}  ({v.estimator})")
        for o in v.refutations:
            p(f"    refuter {o.refuter}: {'passed' if o.passed else 'failed' if o.passed is False else 'not run'}"
              f" (p={o.p_value}, new effect {o.new_effect})")
        if v.reason:
            p(f"    reason: {v.reason}")
    for h in d.history:
        p(f"  {h.time.isoformat()} {h.action} by {h.agent}: {h.previous_status} -> {h.new_status} "
          f"{'(undone)' if h.undone_by else ''} {h.reason}")


@curate_app.command("accept")
def accept_cmd(claim: str = typer.Argument(...), curator: str | None = CuratorOption, reason: str = ReasonOption,
               version: int = VersionOption, store: str | None = StoreOption) -> None:
    """Accept a claim (it joins the curated graph)."""
    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        who = _curator(curator, settings)  # a missing curator is reported before the claim is looked up
        _print_record(curation.accept(st, resolve_claim(st, claim), who, reason, version))


@curate_app.command("reject")
def reject_cmd(claim: str = typer.Argument(...), curator: str | None = CuratorOption, reason: str = ReasonOption,
               version: int = VersionOption, store: str | None = StoreOption) -> None:
    """Reject a claim (its edge is withdrawn unless another live claim states it)."""
    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        who = _curator(curator, settings)  # a missing curator is reported before the claim is looked up
        _print_record(curation.reject(st, resolve_claim(st, claim), who, reason, version))


@curate_app.command("edit")
def edit_cmd(claim: str = typer.Argument(...), curator: str | None = CuratorOption, reason: str = ReasonOption,
             version: int = VersionOption,
             relation: str | None = typer.Option(None, help="causes, predisposesTo, manifestsAs, mediates or prevents."),
             certainty: str | None = typer.Option(None, help="certain, probable or possible."),
             polarity: str | None = typer.Option(None, help="positive or negative."),
             confidence: float | None = typer.Option(None, help="A number in [0, 1]."),
             mechanism: str | None = typer.Option(None, help="Mechanism text."),
             status: str | None = typer.Option(None, help="A new status as part of the same act."),
             store: str | None = StoreOption) -> None:
    """Change fields of a claim in one audited act."""
    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        who = _curator(curator, settings)  # a missing curator is reported before the claim is looked up
        _print_record(curation.edit(st, resolve_claim(st, claim), who, reason, version, relation=relation,
                                    certainty=certainty, polarity=polarity, confidence=confidence,
                                    mechanism=mechanism, status=status))


@curate_app.command("undo")
def undo_cmd(claim: str = typer.Argument(...), curator: str | None = CuratorOption, reason: str = ReasonOption,
             version: int | None = typer.Option(None, "--version", help="The claim version you read (optional)."),
             store: str | None = StoreOption) -> None:
    """Revert the claim's latest curation act that is not undone yet."""
    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        who = _curator(curator, settings)  # a missing curator is reported before the claim is looked up
        _print_record(curation.undo(st, resolve_claim(st, claim), who, reason, version))


@curate_app.command("undo-run")
def undo_run_cmd(run: str = typer.Argument(..., help="The validation run: its IRI or the id after activity/validate/."),
                 curator: str | None = CuratorOption, reason: str = ReasonOption,
                 store: str | None = StoreOption) -> None:
    """Put back every status a validation run moved (claims a curator changed since keep that change)."""
    settings = settings_for(store)
    activity = run if run.startswith(("http://", "https://")) else str(ID[f"activity/validate/{run}"])
    with open_configured_store(settings, create=False) as st:
        result = curation.undo_run(st, activity, _curator(curator, settings), reason)
    for rec in result.undone:
        _print_record(rec)
    for claim, why in sorted(result.kept.items()):
        console.print(f"kept {claim}: {why}", markup=False, highlight=False)
    console.print(f"{len(result.undone)} status move(s) put back, {len(result.kept)} kept", markup=False,
                  highlight=False)


@curate_app.command("history")
def history_cmd(claim: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json"),
                store: str | None = StoreOption) -> None:
    """The claim's audit trail: curation acts and validation verdicts, oldest first."""
    with open_configured_store(settings_for(store), create=False) as st:
        records = curation.history(st, resolve_claim(st, claim))
    if as_json:
        print_json([asdict(r) for r in records])
        return
    table = Table("time", "action", "by", "status", "version", "changes", "reason")
    for r in records:
        table.add_row(r.time.isoformat(timespec="seconds"), r.action + (" (undone)" if r.undone_by else ""), r.agent,
                      f"{r.previous_status or ''} -> {r.new_status or ''}",
                      f"{r.from_version}->{r.to_version}" if r.to_version else "",
                      "; ".join(f"{c.field}: {c.old} -> {c.new}" for c in r.changes), r.reason[:80])
    console.print(table)


@curate_app.command("export")
def export_cmd(output: Path = typer.Argument(..., help="Output file (.ttl, .graphml or .dot); '-' for stdout."),
               fmt: str | None = typer.Option(None, "--format", "-f", help="turtle, graphml or dot (default: extension)."),
               status: str = typer.Option(TRUSTED_DEFAULT, help="Claim statuses that make the curated graph."),
               store: str | None = StoreOption) -> None:
    """Export the curated graph as Turtle, GraphML or DOT."""
    ext = {".ttl": "turtle", ".turtle": "turtle", ".graphml": "graphml", ".dot": "dot", ".gv": "dot"}
    name = fmt or ext.get(output.suffix.lower())
    if name is None:
        raise UserInputError(f"cannot tell the format of {output}; pass --format turtle|graphml|dot")
    with open_configured_store(settings_for(store), create=False) as st:
        if str(output) == "-":
            curation.export_curated(st, sys.stdout.buffer, name, statuses=status_list(status), colours=STATUS_COLOURS)
            return
        n = curation.export_curated(st, output, name, statuses=status_list(status), colours=STATUS_COLOURS)
    console.print(f"wrote {output} ({n} {'triples' if name == 'turtle' else 'edges'})")


@curate_app.command("render")
def render_cmd(output: Path = typer.Argument(..., help="Picture to write: .png or .svg."),
               center: str | None = typer.Option(None, help="Concept at the centre (IRI, name, label or Effusion)."),
               depth: int = typer.Option(1, help="Steps from the centre to include."),
               status: str = typer.Option(TRUSTED_DEFAULT, help="Claim statuses to draw."),
               store: str | None = StoreOption) -> None:
    """Draw (part of) the curated graph with matplotlib; no Graphviz needed."""
    with open_configured_store(settings_for(store), create=False) as st:
        render_subgraph(st, output, center=center, depth=depth, statuses=status_list(status))
    console.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Add ``curate`` to the ``mcrag`` app."""
    app.add_typer(curate_app, name="curate")
