"""``mcrag curate ...``: the curation workbench on the command line.

Review queue, search with filters and facets, the edge view, accept / reject / edit (cause, effect,
direction, relation, ...) / undo, bulk acts, SKOS mappings, comments, history with field-by-field
diffs and version comparison, releases with their diff and export, curated-graph export and render.
"""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console

from kg import curation
from kg.curation.search import CLAIM_SORTS, EDGE_SORTS, Page
from kg.curation.versions import readable
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
curate_app = typer.Typer(help="Curation workbench: review queue, search and facets, edge view, accept / reject / edit / "
                         "undo, bulk acts, mappings, comments, history, releases, export and render.",
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


def _p(*args: object) -> None:
    console.print(*args, markup=False, highlight=False)


def _cells(*values: object) -> list[str]:
    """Table cells as text (``PlainTable`` shows them as written and claim ids in full)."""
    return ["" if v is None else str(v) for v in values]


def _changes(changes: tuple[curation.FieldChange, ...] | list[curation.FieldChange]) -> str:
    return "; ".join(f"{c.field}: {readable(c.old)} -> {readable(c.new)}" for c in changes)


def _print_record(rec: curation.CurationRecord) -> None:
    changes = _changes(rec.changes)
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
    if d.scope:
        p(f"  scope: {d.scope}")
    p(f"  edge: {d.edge.rsplit('/', 1)[-1]}  (mcrag curate edge ID)")
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
        changes = _changes(h.changes)
        p(f"  {h.time.isoformat()} {h.action} by {h.agent}: {h.previous_status} -> {h.new_status} "
          f"{'(undone)' if h.undone_by else ''} {h.reason}{'; ' + changes if changes else ''}")
    for c in d.comments:
        p(f"  comment by {c.author} at {c.time.isoformat(timespec='seconds')}: {c.text}")


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
             subject: str | None = typer.Option(None, "--subject", help="A new cause: concept IRI, label or synonym."),
             obj: str | None = typer.Option(None, "--object", help="A new effect: concept IRI, label or synonym."),
             swap: bool = typer.Option(False, "--swap", help="Swap cause and effect (the direction)."),
             scope: str | None = typer.Option(None, help="cardiopulmonary, chest or general."),
             store: str | None = StoreOption) -> None:
    """Change what a claim says in one audited act; its edges follow and the SHACL shapes are checked first."""
    from kg.curation.mappings import resolve_concept_iri

    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        who = _curator(curator, settings)  # a missing curator is reported before the claim is looked up
        new_subject = resolve_concept_iri(st, subject) if subject is not None else None
        new_object = resolve_concept_iri(st, obj) if obj is not None else None
        _print_record(curation.edit(st, resolve_claim(st, claim), who, reason, version, relation=relation,
                                    certainty=certainty, polarity=polarity, confidence=confidence,
                                    mechanism=mechanism, status=status, subject=new_subject, object=new_object,
                                    swap=swap, scope=scope))


UndoKind = typer.Option("claim", "--kind", "-k", help="What TARGET is: claim (its latest act), bulk (a bulk act, "
                        "undone as a whole), comment, mapping (a concept's latest mapping act) or release.")


@curate_app.command("undo")
def undo_cmd(target: str = typer.Argument(..., help="A claim id; with --kind a bulk act, comment, concept or release."),
             curator: str | None = CuratorOption, reason: str = ReasonOption,
             version: int | None = typer.Option(None, "--version", help="The claim version you read (optional)."),
             kind: str = UndoKind, store: str | None = StoreOption) -> None:
    """Revert the latest act on a claim (or a bulk act, a comment, a mapping act, a release)."""
    settings = settings_for(store)
    who = _curator(curator, settings)
    with open_configured_store(settings, create=False) as st:
        if kind == "claim":
            _print_record(curation.undo(st, resolve_claim(st, target), who, reason, version))
        elif kind == "bulk":
            _print_bulk(curation.undo_bulk(st, _bulk_iri(target), who, reason))
        elif kind == "comment":
            _print_record(curation.undo_comment(st, target, who, reason))
        elif kind == "mapping":
            _print_record(curation.undo_mapping(st, target, who, reason))
        elif kind == "release":
            _print_record(curation.withdraw_release(st, target, who, reason))
        else:
            raise UserInputError(f"--kind must be claim, bulk, comment, mapping or release, not {kind!r}")


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


@curate_app.command("merge")
def merge_cmd(source: str = typer.Argument(..., help="The concept to merge away: IRI, local name or label."),
              target: str = typer.Argument(..., help="The concept that stands for both from now on."),
              curator: str | None = CuratorOption, reason: str = ReasonOption,
              store: str | None = StoreOption) -> None:
    """Merge two concepts: claims and edges re-pointed in one transaction, recorded, undoable with undo-merge."""
    from kg.curation.concept_merge import merge_concepts

    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        rec = merge_concepts(st, curation.resolve_concept(st, source), curation.resolve_concept(st, target),
                             _curator(curator, settings), reason)
    console.print(f"merged {rec.source} into {rec.target}: {len(rec.claims)} claim(s) re-pointed "
                  f"({rec.removed} quads removed, {rec.added} added)", markup=False, highlight=False)
    console.print(f"recorded as {rec.activity}; put back with: mcrag curate undo-merge {rec.activity}",
                  markup=False, highlight=False)


@curate_app.command("undo-merge")
def undo_merge_cmd(activity: str = typer.Argument(..., help="The merge activity IRI (printed by merge)."),
                   curator: str | None = CuratorOption, reason: str = ReasonOption,
                   store: str | None = StoreOption) -> None:
    """Put back exactly what a merge changed (refused when something it added has changed since)."""
    from kg.curation.concept_merge import undo_merge

    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        rec = undo_merge(st, activity, _curator(curator, settings), reason)
    console.print(f"undid the merge of {rec.source} into {rec.target}: {len(rec.claims)} claim(s) put back",
                  markup=False, highlight=False)


@curate_app.command("history")
def history_cmd(claim: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json"),
                store: str | None = StoreOption) -> None:
    """The claim's audit trail: curation acts and validation verdicts, oldest first."""
    with open_configured_store(settings_for(store), create=False) as st:
        records = curation.history(st, resolve_claim(st, claim))
    if as_json:
        print_json([asdict(r) for r in records])
        return
    table = Table("time", "action", "by", "status", "version", "changes (old -> new)", "reason")
    for r in records:
        status = f"{r.previous_status or ''} -> {r.new_status or ''}" if r.previous_status != r.new_status else \
            (r.new_status or "")
        action = r.action + (" (undone)" if r.undone_by else "") + (" (bulk)" if r.part_of else "")
        table.add_row(*_cells(r.time.isoformat(timespec="seconds"), action, r.agent, status,
                              f"{r.from_version}->{r.to_version}" if r.to_version else "", _changes(r.changes),
                              r.reason[:80]))
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


# ------------------------------------------------------------------------------------------ search and edges
TextArg = typer.Argument(None, help="Words in the claim's label, sentence or document id.")
ConceptOpt = typer.Option(None, "--concept", "-c", help="A concept: label, synonym, mapped id (MESH:D010996) or IRI.")
RoleOpt = typer.Option("any", "--role", help="The concept as cause, effect or any.")
RelationOpt = typer.Option(None, "--relation", help="Relation kinds, comma-separated.")
StatusOpt = typer.Option(None, "--status", help="Statuses, comma-separated.")
ScopeOpt = typer.Option(None, "--scope", help="cardiopulmonary, chest, general or none; comma-separated.")
SourceOpt = typer.Option(None, "--source", help="Named graph (literature), collection (iu_xray) or document id.")
MinConfOpt = typer.Option(None, "--min-confidence", min=0.0, max=1.0)
MaxConfOpt = typer.Option(None, "--max-confidence", min=0.0, max=1.0)
VerdictOpt = typer.Option(None, "--verdict", help="Latest verdict (validated, refuted, notTestable, ...) or none.")
SinceOpt = typer.Option(None, "--since", help="Changed since this ISO date or date-time.")
PolarityOpt = typer.Option(None, "--polarity", help="positive or negative.")
LimitOpt = typer.Option(20, "--limit", "-n", min=1, max=500, help="Rows per page.")
CursorOpt = typer.Option(None, "--cursor", help="The cursor a previous page printed, for the next page.")
FacetsOpt = typer.Option(False, "--facets", help="Also print facet counts.")
JsonOpt = typer.Option(False, "--json", help="JSON instead of a table.")


def _filter(text: str | None, concept: str | None, role: str, relation: str | None, status: str | None,
            scope: str | None, source: str | None, min_confidence: float | None, max_confidence: float | None,
            verdict: str | None, since: str | None, polarity: str | None) -> curation.ClaimFilter:
    if polarity not in (None, "positive", "negative"):
        raise UserInputError(f"--polarity must be positive or negative, not {polarity!r}")
    return curation.filter_from(text=text, concept=concept, role=role, relation=relation, status=status, scope=scope,
                                source=source, min_confidence=min_confidence, max_confidence=max_confidence,
                                verdict=verdict, changed_since=since, polarity=polarity)


def _print_facets(page: Page) -> None:
    for name, counts in page.facets.items():
        _p(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))


def _print_more(page: Page, what: str) -> None:
    _p(f"{len(page.items)} of {page.total} {what}" + (f"; next page: --cursor {page.next_cursor}" if page.next_cursor
                                                       else ""))


@curate_app.command("search")
def search_cmd(text: str | None = TextArg, concept: str | None = ConceptOpt, role: str = RoleOpt,
               relation: str | None = RelationOpt, status: str | None = StatusOpt, scope: str | None = ScopeOpt,
               source: str | None = SourceOpt, min_confidence: float | None = MinConfOpt,
               max_confidence: float | None = MaxConfOpt, verdict: str | None = VerdictOpt, since: str | None = SinceOpt,
               polarity: str | None = PolarityOpt,
               sort: str = typer.Option("priority", help=f"One of {', '.join(CLAIM_SORTS)}."),
               limit: int = LimitOpt, cursor: str | None = CursorOpt, facets: bool = FacetsOpt,
               as_json: bool = JsonOpt, store: str | None = StoreOption) -> None:
    """Claims that match every filter given, one page at a time, with facet counts."""
    f = _filter(text, concept, role, relation, status, scope, source, min_confidence, max_confidence, verdict, since,
                polarity)
    with open_configured_store(settings_for(store), create=False) as st:
        page = curation.search_claims(curation.index_for(st), f, sort=sort, limit=limit, cursor=cursor)
    if as_json:
        print_json(page.to_json())
        return
    table = Table("claim", "edge", "status", "v", "conf", "scope", "verdict", "source", "sentence")
    for h in page.items:
        table.add_row(*_cells(h.claim.rsplit("/", 1)[-1], f"{h.subject_label} {h.relation} {h.object_label}"
                              + (" (negated)" if h.polarity == "negative" else ""), h.status, h.version,
                              "" if h.confidence is None else f"{h.confidence:.2f}", h.scope or "", h.verdict or "",
                              h.source, h.sentence[:80]))
    console.print(table)
    if facets:
        _print_facets(page)
    _print_more(page, "claims")


@curate_app.command("edges")
def edges_cmd(text: str | None = TextArg, concept: str | None = ConceptOpt, role: str = RoleOpt,
              relation: str | None = RelationOpt, status: str | None = StatusOpt, scope: str | None = ScopeOpt,
              source: str | None = SourceOpt, min_confidence: float | None = MinConfOpt,
              max_confidence: float | None = MaxConfOpt, verdict: str | None = VerdictOpt, since: str | None = SinceOpt,
              polarity: str | None = PolarityOpt,
              sort: str = typer.Option("priority", help=f"One of {', '.join(EDGE_SORTS)}."),
              limit: int = LimitOpt, cursor: str | None = CursorOpt, facets: bool = FacetsOpt,
              as_json: bool = JsonOpt, store: str | None = StoreOption) -> None:
    """Edges (cause, relation, effect) with a claim that matches every filter: one row per edge."""
    f = _filter(text, concept, role, relation, status, scope, source, min_confidence, max_confidence, verdict, since,
                polarity)
    with open_configured_store(settings_for(store), create=False) as st:
        page = curation.search_edges(curation.index_for(st), f, sort=sort, limit=limit, cursor=cursor)
    if as_json:
        print_json(page.to_json())
        return
    table = Table("edge", "cause -> effect", "status", "claims", "statuses", "docs", "max conf", "verdict", "priority")
    for e in page.items:
        table.add_row(*_cells(e.edge.rsplit("/", 1)[-1], e.label, e.status,
                              f"{e.matching}/{e.claims}" if e.matching != e.claims else e.claims,
                              ", ".join(f"{k} {v}" for k, v in e.statuses.items()), e.documents,
                              "" if e.max_confidence is None else f"{e.max_confidence:.2f}", e.verdict or "",
                              f"{e.priority:.2f}"))
    console.print(table)
    if facets:
        _print_facets(page)
    _print_more(page, "edges")


@curate_app.command("edge")
def edge_cmd(edge: str = typer.Argument(..., help="The edge id (the hash after id:edge/) or IRI."),
             limit: int = typer.Option(100, "--limit", "-n", min=1, max=500, help="Claims to list."),
             offset: int = typer.Option(0, "--offset", min=0), as_json: bool = JsonOpt,
             store: str | None = StoreOption) -> None:
    """One edge: its claims (sentence, source, extractor, confidence), its validation per source, its comments."""
    with open_configured_store(settings_for(store), create=False) as st:
        d = curation.edge_detail(st, edge, limit=limit, offset=offset)
    if as_json:
        print_json(d.to_json())
        return
    r = d.row
    _p(f"{r.edge}  {r.label}")
    _p(f"  status {r.status}; {r.claims} claim(s): " + ", ".join(f"{k} {v}" for k, v in r.statuses.items())
       + f"; {r.documents} document(s)")
    for v in d.validations:
        x = v.verdict
        effect = "" if x.effect != x.effect else f"effect {signed(x.effect)} [{signed(x.ci_low)}, {signed(x.ci_high)}] "
        _p(f"  validation on {x.source}: {x.verdict} {effect}({v.claims} claim(s)){'; ' + x.reason if x.reason else ''}")
    table = Table("claim", "status", "v", "conf", "extractor", "source", "sentence")
    for h in d.claims:
        table.add_row(*_cells(h.claim.rsplit("/", 1)[-1], h.status + (" (negated)" if h.polarity == "negative" else ""),
                              h.version, "" if h.confidence is None else f"{h.confidence:.2f}", h.extractor or "",
                              h.source, h.sentence[:90]))
    console.print(table)
    for c in d.comments:
        _p(f"  comment by {c.author} at {c.time.isoformat(timespec='seconds')}: {c.text}")
    for claim, comments in d.claim_comments.items():
        for c in comments:
            _p(f"  comment on {claim.rsplit('/', 1)[-1]} by {c.author}: {c.text}")
    if d.total_claims > d.offset + len(d.claims):
        _p(f"{len(d.claims)} of {d.total_claims} claims; next: --offset {d.offset + len(d.claims)}")


# ------------------------------------------------------------------------------------------ bulk acts
def _bulk_iri(text: str) -> str:
    text = text.strip().strip("<>")
    if text.startswith(("http://", "https://")):
        return text
    return str(ID[text if text.startswith("activity/") else f"activity/bulk/{text}"])


def _print_bulk(rec: curation.BulkRecord) -> None:
    _p(f"{rec.action} of {len(rec.members)} claim(s) by {rec.agent}: {rec.reason}")
    for m in rec.members:
        _p(f"  {m.claim.rsplit('/', 1)[-1]} version {m.from_version} -> {m.to_version}: {_changes(m.changes)}")
    _p(f"recorded as {rec.activity} (undo it with: mcrag curate undo --kind bulk {rec.activity.rsplit('/', 1)[-1]})")


@curate_app.command("bulk")
def bulk_cmd(action: str = typer.Argument(..., help="accept, reject, relabel or rescope."),
             claims: list[str] = typer.Argument(None, help="Claim ids, each as ID@VERSION (the version you read) "
                                                "or ID (its current version)."),
             edge: str | None = typer.Option(None, "--edge", help="Act on the claims of this edge."),
             only_status: str | None = typer.Option(None, "--only-status", help="With --edge: only claims with these "
                                                    "statuses (comma-separated)."),
             relation: str | None = typer.Option(None, "--relation", help="relabel: the new relation kind."),
             scope: str | None = typer.Option(None, "--scope", help="rescope: cardiopulmonary, chest, general or none."),
             curator: str | None = CuratorOption, reason: str = ReasonOption, as_json: bool = JsonOpt,
             store: str | None = StoreOption) -> None:
    """One act with one reason over many claims: one transaction, one PROV activity, undone as a whole."""
    settings = settings_for(store)
    who = _curator(curator, settings)
    with open_configured_store(settings, create=False) as st:
        wanted: dict[str, int | None] = {}
        for item in claims or []:
            cid, _, v = item.partition("@")
            try:
                wanted[curation.resolve_claim_iri(resolve_claim(st, cid))] = int(v) if v else None
            except ValueError:
                raise UserInputError(f"{item!r}: write a claim as ID or ID@VERSION") from None
        if edge:
            detail = curation.edge_detail(st, edge, limit=500)
            keep = set(status_list(only_status)) if only_status else None
            for h in detail.claims:
                if keep is None or h.status in keep:
                    wanted.setdefault(h.claim, h.version)
        if not wanted:
            raise UserInputError("name the claims (ID or ID@VERSION) or an --edge")
        if any(v is None for v in wanted.values()):
            from kg.curation.acts import _read_states

            current = _read_states(st, [c for c, ver in wanted.items() if ver is None])
            for c, ver in list(wanted.items()):
                if ver is None:
                    if c not in current:
                        raise curation.UnknownClaimError(f"no causal claim {c} in the store")
                    wanted[c] = current[c].record.version
        rec = curation.bulk(st, {c: int(v or 1) for c, v in wanted.items()}, action, who, reason, relation=relation,
                            scope=scope)
    if as_json:
        print_json(rec.to_json())
        return
    _print_bulk(rec)


# ------------------------------------------------------------------------------------------ comments and mappings
def _target(st: object, text: str) -> tuple[str, tuple[str, str, str] | None]:
    """A claim IRI, or an edge IRI with its (cause, relation, effect)."""
    t = text.strip().strip("<>")
    if t.startswith(("edge/", "id:edge/")) or "/id/edge/" in t:
        d = curation.edge_detail(st, t.split("edge/", 1)[1], limit=1)  # type: ignore[arg-type]
        from kg.namespaces import MCRAG

        return d.row.edge, (d.row.subject, str(MCRAG[d.row.relation]), d.row.object)
    return curation.resolve_claim_iri(resolve_claim(st, t)), None  # type: ignore[arg-type]


@curate_app.command("comment")
def comment_cmd(target: str = typer.Argument(..., help="A claim id, or edge/<hash> for an edge."),
                text: str = typer.Argument(..., help="The comment."),
                reply_to: str | None = typer.Option(None, "--reply-to", help="The comment id this answers."),
                curator: str | None = CuratorOption, store: str | None = StoreOption) -> None:
    """Comment on a claim or an edge (a W3C Web Annotation with its author and time)."""
    from kg.curation.comments import resolve_comment

    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        iri, edge = _target(st, target)
        c, _ = curation.add_comment(st, iri, text, _curator(curator, settings), edge=edge,
                                    replies_to=resolve_comment(reply_to) if reply_to else None)
    _p(f"comment {c.annotation.rsplit('/', 1)[-1]} by {c.author} on {c.target}")


@curate_app.command("comments")
def comments_cmd(target: str = typer.Argument(..., help="A claim id, or edge/<hash> for an edge."),
                 as_json: bool = JsonOpt, store: str | None = StoreOption) -> None:
    """The discussion on a claim or an edge, oldest first."""
    with open_configured_store(settings_for(store), create=False) as st:
        iri, _ = _target(st, target)
        found = curation.comments_on(st, [iri]).get(iri, [])
    if as_json:
        print_json([c.to_json() for c in found])
        return
    for c in found:
        _p(f"{c.time.isoformat(timespec='seconds')} {c.author} ({c.annotation.rsplit('/', 1)[-1]}): {c.text}")
    _p(f"{len(found)} comment(s)")


@curate_app.command("map")
def map_cmd(concept: str = typer.Argument(..., help="The concept: IRI, label or synonym."),
            kind: str = typer.Argument(..., help="exact, close or broad."),
            target: str = typer.Argument(..., help="HPO, DOID or MeSH id (HP:0002202, DOID:552, MESH:D010996) or IRI."),
            remove: bool = typer.Option(False, "--remove", help="Withdraw the mapping instead of adding it."),
            curator: str | None = CuratorOption, reason: str = ReasonOption, store: str | None = StoreOption) -> None:
    """Add (or withdraw) a SKOS mapping of a concept, checked by the SHACL shapes; undo with --kind mapping."""
    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        _print_record(curation.map_concept(st, concept, kind, target, _curator(curator, settings), reason,
                                           remove=remove))


@curate_app.command("mappings")
def mappings_cmd(concept: str = typer.Argument(...), as_json: bool = JsonOpt, store: str | None = StoreOption) -> None:
    """A concept's exact, close and broad matches."""
    from kg.curation.mappings import resolve_concept_iri

    with open_configured_store(settings_for(store), create=False) as st:
        iri = resolve_concept_iri(st, concept)
        found = curation.concept_mappings(st, iri)
    if as_json:
        print_json({"concept": iri, **found})
        return
    _p(iri)
    for kind, targets in found.items():
        _p(f"  {kind}: {', '.join(targets) or '-'}")


# ------------------------------------------------------------------------------------------ versions
@curate_app.command("versions")
def versions_cmd(claim: str = typer.Argument(...), as_json: bool = JsonOpt, store: str | None = StoreOption) -> None:
    """The claim at every version, with the act that made each."""
    with open_configured_store(settings_for(store), create=False) as st:
        found = curation.claim_versions(st, resolve_claim(st, claim))
    if as_json:
        print_json([v.to_json() for v in found])
        return
    fields = [f for f in found[-1].values if any(v.values.get(f) for v in found)]
    table = Table("version", "act", *fields)
    for v in found:
        table.add_row(*_cells(v.version, f"{v.action or 'first read'}{' by ' + v.agent if v.agent else ''}",
                              *(readable(v.values.get(f)) for f in fields)))
    console.print(table)


@curate_app.command("compare")
def compare_cmd(claim: str = typer.Argument(...), a: int = typer.Argument(..., help="A version."),
                b: int = typer.Argument(..., help="Another version."), as_json: bool = JsonOpt,
                store: str | None = StoreOption) -> None:
    """The fields that differ between two versions of a claim (old = version A, new = version B)."""
    from kg.curation.versions import change_json

    with open_configured_store(settings_for(store), create=False) as st:
        changes = curation.compare_versions(st, resolve_claim(st, claim), a, b)
    if as_json:
        print_json([change_json(c) for c in changes])
        return
    for c in changes:
        _p(f"{c.field}: {readable(c.old)} -> {readable(c.new)}")
    _p(f"{len(changes)} field(s) differ between version {a} and version {b}")


# ------------------------------------------------------------------------------------------ releases
@curate_app.command("release")
def release_cmd(name: str = typer.Argument(..., help="The release name, e.g. 2026.1."),
                note: str = typer.Option("", "--note", help="What this release is for."),
                curator: str | None = CuratorOption, as_json: bool = JsonOpt, store: str | None = StoreOption) -> None:
    """Freeze the accepted and validated graph as a named graph with a version IRI."""
    settings = settings_for(store)
    with open_configured_store(settings, create=False) as st:
        info = curation.cut_release(st, name, _curator(curator, settings), note)
    if as_json:
        print_json(info.to_json())
        return
    _p(f"release {info.name}: {info.iri}")
    _p(f"  {info.edges} edges, {info.claims} claims, {info.concepts} concepts, {info.triples} triples; issued "
       f"{info.issued.isoformat(timespec='seconds')}" + (f"; derived from {info.previous}" if info.previous else ""))


@curate_app.command("releases")
def releases_cmd(as_json: bool = JsonOpt, store: str | None = StoreOption) -> None:
    """Every release, oldest first."""
    with open_configured_store(settings_for(store), create=False) as st:
        found = curation.list_releases(st)
    if as_json:
        print_json([r.to_json() for r in found])
        return
    table = Table("name", "issued", "edges", "claims", "concepts", "by", "derived from", "note")
    for r in found:
        table.add_row(*_cells(r.name, r.issued.isoformat(timespec="seconds"), r.edges, r.claims, r.concepts, r.curator,
                              r.previous.rsplit("/", 1)[-1] if r.previous else "", r.note))
    console.print(table)


@curate_app.command("diff")
def diff_cmd(a: str = typer.Argument(..., help="The older release."), b: str = typer.Argument(..., help="The newer."),
             as_json: bool = JsonOpt, store: str | None = StoreOption) -> None:
    """Edges added, removed and changed between two releases."""
    with open_configured_store(settings_for(store), create=False) as st:
        d = curation.diff_releases(st, a, b)
    if as_json:
        print_json(d.to_json())
        return
    for e in d.added:
        _p(f"+ {e.subject_label} {e.relation} {e.object_label} ({e.status}, {e.claims} claims)")
    for e in d.removed:
        _p(f"- {e.subject_label} {e.relation} {e.object_label} ({e.status}, {e.claims} claims)")
    for c in d.changed:
        parts = "; ".join(f"{f}: {getattr(c.before, f) if f != 'supported_by' else len(c.before.supported_by)} -> "
                          f"{getattr(c.after, f) if f != 'supported_by' else len(c.after.supported_by)}" for f in c.fields)
        _p(f"~ {c.after.subject_label} {c.after.relation} {c.after.object_label}: {parts}")
    _p(f"{d.a} -> {d.b}: {len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed, "
       f"{d.unchanged} unchanged")


@curate_app.command("release-export")
def release_export_cmd(name: str = typer.Argument(...),
                       output: Path = typer.Argument(..., help="File to write (.ttl, .jsonld or .graphml); '-' stdout."),
                       fmt: str | None = typer.Option(None, "--format", "-f", help="turtle, jsonld or graphml."),
                       store: str | None = StoreOption) -> None:
    """Write a release as Turtle, JSON-LD or GraphML."""
    ext = {".ttl": "turtle", ".jsonld": "jsonld", ".json": "jsonld", ".graphml": "graphml"}
    chosen = fmt or ext.get(output.suffix.lower())
    if chosen is None:
        raise UserInputError(f"cannot tell the format of {output}; pass --format turtle|jsonld|graphml")
    with open_configured_store(settings_for(store), create=False) as st:
        if str(output) == "-":
            curation.export_release(st, name, sys.stdout.buffer, chosen)
            return
        n = curation.export_release(st, name, output, chosen)
    console.print(f"wrote {output} ({n} {'edges' if chosen == 'graphml' else 'triples'})")


def register(app: typer.Typer) -> None:
    """Add ``curate`` to the ``mcrag`` app."""
    app.add_typer(curate_app, name="curate")
