"""``mcrag validate``, ``mcrag curate ...`` and ``mcrag whatif``: test edges on data, review them, ask do() questions."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from kg import curation
from kg.namespaces import graph_iri
from mcrag.commands.common import PlainTable as Table
from mcrag.commands.common import StoreOption, open_configured_store, resolve_claim, settings_for
from mcrag.errors import UserInputError

console = Console()
curate_app = typer.Typer(help="Review queue, accept / reject / edit / undo with an audit trail, export and render.",
                         no_args_is_help=True)

CuratorOption = typer.Option(None, "--curator", "-u", envvar="MCRAG_CURATOR",
                             help="Who acts (a name, e-mail or ORCID); default $MCRAG_CURATOR.")
ReasonOption = typer.Option(..., "--reason", "-r", help="Why: kept in the audit trail.")
VersionOption = typer.Option(..., "--version", help="The claim version you read (mcrag curate show); "
                             "a stale version changes nothing.")


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return list(value)
    return str(value)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=1, default=_json_default, ensure_ascii=False) + "\n")


def _fmt(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:+.{digits}f}"


def _data_path(data: str) -> str:
    path = Path(data)
    if not path.is_file():
        raise UserInputError(f"data file {data} not found (give a CSV or Parquet table, one column per variable)")
    return str(path)


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

    path = _data_path(data)
    settings = ValidationSettings(
        discovery=discovery, test=test, alpha=alpha, background=background,
        refuters=tuple(r.strip() for r in refuters.split(",") if r.strip()), simulations=simulations,
        min_samples=min_samples, min_group=min_group, margin=margin, jobs=jobs, seed=seed)
    with open_configured_store(settings_for(store), create=False) as st:
        run = validate_store(st, path, graphs=[graph_iri(g) for g in graph] or None,
                             claims=[curation.resolve_claim_iri(c) for c in claim] or None,
                             settings=settings, split=split, write=not dry_run)
    by_edge: dict[tuple[str, str], list[Any]] = {}
    for v in run.claims:
        by_edge.setdefault((v.cause, v.effect), []).append(v)
    table = Table("cause -> effect", "claims", "discovery", "estimand", "effect [95% CI]", "refuters", "verdict",
                  title=f"validation against {run.dataset}")
    for e in run.edges:
        verdicts = sorted({v.verdict for v in by_edge.get((e.cause, e.effect), [])})
        est = e.estimate
        effect = f"{_fmt(est.value)} [{_fmt(est.ci_low)}, {_fmt(est.ci_high)}]" if est else (e.not_testable or "")[:60]
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
    console.print(f"wrote results to <{graph_iri('validation')}> as {run.activity}" if run.written
                  else "dry run: nothing written")
    if json_out is not None:
        json_out.write_text(json.dumps(run_summary(run), indent=1, default=_json_default), encoding="utf-8")
        console.print(f"wrote {json_out}")


# ---------------------------------------------------------------------------------------- curate
def _curator(curator: str | None) -> str:
    who = curator or os.environ.get("MCRAG_CURATOR")
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
        _print_json([asdict(i) for i in items])
        return
    table = Table("#", "claim", "edge", "status", "v", "verdict", "effect [CI]", "priority", "why", "evidence")
    for k, i in enumerate(items, 1):
        ci = f"{_fmt(i.effect)} [{_fmt(i.ci_low)}, {_fmt(i.ci_high)}]" if i.effect is not None else ""
        evidence = (i.sentences[0][:70] if i.sentences else "") + (f" ({len(i.sentences)} sentences)" if
                                                                   len(i.sentences) > 1 else "")
        table.add_row(str(k), i.claim.rsplit("/", 1)[-1], f"{i.subject_label} {i.relation} {i.object_label}", i.status,
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
        _print_json(asdict(d))
        return
    p = lambda *a: console.print(*a, markup=False, highlight=False)  # noqa: E731
    p(f"{d.iri}  (version {d.version}, status {d.status}, graph {d.graph})")
    p(f"  {d.subject_label} --{d.relation}{' (negated)' if d.polarity == 'negative' else ''}--> {d.object_label}"
      f"   certainty {d.certainty}, confidence {d.confidence}")
    if d.mechanism:
        p(f"  mechanism: {d.mechanism}")
    for sentence in d.sentences:
        p(f"  sentence: {sentence}")
    for src in d.sources:
        p(f"  source: {src.citation or src.identifier or src.document} [{src.collection or ''}]")
    for v in d.validations:
        effect = (f"; effect {_fmt(v.effect)} [{_fmt(v.ci_low)}, {_fmt(v.ci_high)}] n={v.sample_size}"
                  if v.effect is not None else "")
        p(f"  validation {v.time.isoformat() if v.time else ''}: {v.verdict}; discovery {v.discovery}{effect}"
          f"{f' on {v.dataset}' if v.dataset else ''}")
        if v.estimand:
            p(f"    estimand: {v.estimand}  ({v.estimator})")
        for r in v.refutations:
            p(f"    refuter {r.refuter}: {'passed' if r.passed else 'failed' if r.passed is False else 'not run'}"
              f" (p={r.p_value}, new effect {r.new_effect})")
        if v.reason:
            p(f"    reason: {v.reason}")
    for h in d.history:
        p(f"  {h.time.isoformat()} {h.action} by {h.agent}: {h.previous_status} -> {h.new_status} "
          f"{'(undone)' if h.undone_by else ''} {h.reason}")


@curate_app.command("accept")
def accept_cmd(claim: str = typer.Argument(...), curator: str | None = CuratorOption, reason: str = ReasonOption,
               version: int = VersionOption, store: str | None = StoreOption) -> None:
    """Accept a claim (it joins the curated graph)."""
    with open_configured_store(settings_for(store), create=False) as st:
        _print_record(curation.accept(st, resolve_claim(st, claim), _curator(curator), reason, version))


@curate_app.command("reject")
def reject_cmd(claim: str = typer.Argument(...), curator: str | None = CuratorOption, reason: str = ReasonOption,
               version: int = VersionOption, store: str | None = StoreOption) -> None:
    """Reject a claim (its edge is withdrawn unless another live claim states it)."""
    with open_configured_store(settings_for(store), create=False) as st:
        _print_record(curation.reject(st, resolve_claim(st, claim), _curator(curator), reason, version))


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
    with open_configured_store(settings_for(store), create=False) as st:
        _print_record(curation.edit(st, resolve_claim(st, claim), _curator(curator), reason, version, relation=relation,
                                    certainty=certainty, polarity=polarity, confidence=confidence,
                                    mechanism=mechanism, status=status))


@curate_app.command("undo")
def undo_cmd(claim: str = typer.Argument(...), curator: str | None = CuratorOption, reason: str = ReasonOption,
             version: int | None = typer.Option(None, "--version", help="The claim version you read (optional)."),
             store: str | None = StoreOption) -> None:
    """Revert the claim's latest curation act that is not undone yet."""
    with open_configured_store(settings_for(store), create=False) as st:
        _print_record(curation.undo(st, resolve_claim(st, claim), _curator(curator), reason, version))


@curate_app.command("history")
def history_cmd(claim: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json"),
                store: str | None = StoreOption) -> None:
    """The claim's audit trail: curation acts and validation verdicts, oldest first."""
    with open_configured_store(settings_for(store), create=False) as st:
        records = curation.history(st, resolve_claim(st, claim))
    if as_json:
        _print_json([asdict(r) for r in records])
        return
    table = Table("time", "action", "by", "status", "version", "changes", "reason")
    for r in records:
        table.add_row(r.time.isoformat(timespec="seconds"), r.action + (" (undone)" if r.undone_by else ""), r.agent,
                      f"{r.previous_status or ''} -> {r.new_status or ''}",
                      f"{r.from_version}->{r.to_version}" if r.to_version else "",
                      "; ".join(f"{c.field}" for c in r.changes), r.reason[:80])
    console.print(table)


def _statuses(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


@curate_app.command("export")
def export_cmd(output: Path = typer.Argument(..., help="Output file (.ttl, .graphml or .dot); '-' for stdout."),
               fmt: str | None = typer.Option(None, "--format", "-f", help="turtle, graphml or dot (default: extension)."),
               status: str = typer.Option("accepted,validated", help="Claim statuses that make the curated graph."),
               store: str | None = StoreOption) -> None:
    """Export the curated graph as Turtle, GraphML or DOT."""
    ext = {".ttl": "turtle", ".turtle": "turtle", ".graphml": "graphml", ".dot": "dot", ".gv": "dot"}
    name = fmt or ext.get(output.suffix.lower())
    if name is None:
        raise UserInputError(f"cannot tell the format of {output}; pass --format turtle|graphml|dot")
    with open_configured_store(settings_for(store), create=False) as st:
        if str(output) == "-":
            curation.export_curated(st, sys.stdout.buffer, name, statuses=_statuses(status))
            return
        n = curation.export_curated(st, output, name, statuses=_statuses(status))
    console.print(f"wrote {output} ({n} {'triples' if name == 'turtle' else 'edges'})")


@curate_app.command("render")
def render_cmd(output: Path = typer.Argument(..., help="Picture to write: .png or .svg."),
               center: str | None = typer.Option(None, help="Concept at the centre (IRI, name, label or Effusion)."),
               depth: int = typer.Option(1, help="Steps from the centre to include."),
               status: str = typer.Option("accepted,validated", help="Claim statuses to draw."),
               store: str | None = StoreOption) -> None:
    """Draw (part of) the curated graph with matplotlib; no Graphviz needed."""
    with open_configured_store(settings_for(store), create=False) as st:
        curation.render_subgraph(st, output, center=center, depth=depth, statuses=_statuses(status))
    console.print(f"wrote {output}")


# ---------------------------------------------------------------------------------------- whatif
def _assignments(text: str, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in [p for p in text.split(",") if p.strip()]:
        name, sep, value = part.partition("=")
        if not sep:
            raise UserInputError(f"{what}: expected NAME=VALUE, got {part!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise UserInputError(f"{what}: {value!r} is not a number") from None
    return out


def whatif(
    data: str = typer.Option(..., "--data", "-d", help="CSV / Parquet table the model is fitted to."),
    do: str = typer.Option(..., "--do", help="Intervention, e.g. 'Effusion=0' (several: 'A=1,B=0')."),
    outcome: list[str] = typer.Option([], "--outcome", "-o", help="Outcome variable(s) (default: all affected)."),
    case: str | None = typer.Option(None, help="A single case's observed values, e.g. 'Effusion=1,Atelectasis=1'."),
    case_id: str | None = typer.Option(None, "--case-id", help="A single case: the row with this report id."),
    control: float = typer.Option(0.0, help="Reference value for the do() contrast."),
    statuses: str = typer.Option("accepted,validated", help="Claim statuses the model rests on."),
    draws: int = typer.Option(4000, help="Monte Carlo draws for counterfactuals."),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of text."),
    store: str | None = StoreOption,
) -> None:
    """do(X=x) effects on Y from the validated graph, or for one case: what if X had been different."""
    from reasoning.whatif import WhatIfError, case_from_table, counterfactual, intervene, whatif_model

    path = _data_path(data)
    setting = _assignments(do, "--do")
    if not setting:
        raise UserInputError("--do needs NAME=VALUE")
    with open_configured_store(settings_for(store), create=False) as st:
        model = whatif_model(st, path, statuses=_statuses(statuses))
    try:
        if case is not None or case_id is not None:
            facts = _assignments(case, "--case") if case else case_from_table(model, path, str(case_id))
            result = counterfactual(model, facts, setting, outcomes=outcome or None, draws=draws)
            if as_json:
                _print_json(asdict(result))
                return
            console.print(f"case: {result.case}", markup=False, highlight=False)
            table = Table("variable", "factual", "counterfactual (mean / P present)", "P(changed)",
                          title=f"what if {result.intervention}")
            for o in result.outcomes:
                table.add_row(o.label, "" if o.factual is None else f"{o.factual:g}", f"{o.counterfactual:.3f}",
                              "" if o.probability_changed is None else f"{o.probability_changed:.3f}")
            console.print(table)
            return
        if len(setting) != 1:
            raise UserInputError("an average do() effect takes one variable in --do (several work with --case)")
        (treatment, value), = setting.items()
        if not outcome:
            raise UserInputError("give --outcome for a do() effect")
        results = [intervene(model, treatment, y, value=value, control=control) for y in outcome]
    except WhatIfError as err:
        raise UserInputError(str(err)) from None
    if as_json:
        _print_json([asdict(r) for r in results])
        return
    for r in results:
        if not r.identified:
            console.print(f"do({r.treatment}={r.value:g}) on {r.outcome}: not identifiable: {r.reason}",
                          markup=False, highlight=False)
            continue
        console.print(f"E[{r.outcome} | do({r.treatment}={r.value:g})] = {r.expected:.4f}   "
                      f"vs do({r.treatment}={r.control:g}): {r.expected_control:.4f}   "
                      f"effect {_fmt(r.effect, 4)} [{_fmt(r.ci_low, 4)}, {_fmt(r.ci_high, 4)}]   "
                      f"(observed mean {r.observed_mean:.4f}, n={r.samples})", markup=False, highlight=False)
        console.print(f"  {r.estimand}; {r.estimator}{'; ' + r.reason if r.reason else ''}",
                      markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``validate``, ``curate`` and ``whatif`` to the ``mcrag`` app."""
    app.command("validate")(validate)
    app.add_typer(curate_app, name="curate")
    app.command("whatif")(whatif)
