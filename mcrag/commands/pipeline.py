"""``mcrag pipeline``: the main job on the embedded defaults, from an empty folder to grounded answers.

Each step is small and reports what it did; later steps use what earlier ones wrote into the store.
Each step declares the data sets it needs (names from ``mcrag data list``) and the steps it builds on.
The runner checks each need through the locator before the step runs: a step whose data is absent is
skipped with one line saying what is missing and how to get it, and the job goes on, ending with a
summary of what ran and what was skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from kg.namespaces import NAMED_GRAPHS
from kg.ontology import bootstrap
from kg.store import Store
from mcrag.commands.common import StoreOption, open_configured_store
from mcrag.datasets import registry
from mcrag.datasets.locate import availability, how_to_get
from mcrag.settings import Settings, load_settings

console = Console(soft_wrap=True)

VLM_SOURCES = ("nih_1000", "pediatric_cxr", "cxr_covid", "vqa_rad", "iu_xray")
"""The sets the default model trains and indexes on (``vlm.data.SOURCES``; a test keeps them equal)."""


@dataclass
class PipelineContext:
    settings: Settings
    store: Store
    sample: int
    matrix: Path | None = None
    model_dir: Path | None = None
    index_dir: Path | None = None


def step_bootstrap(ctx: PipelineContext) -> str:
    have = set(ctx.store.named_graphs())
    if all(NAMED_GRAPHS[g] in have for g in ("ontology", "concepts", "starter")):
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


def _located(ctx: PipelineContext, name: str, *parts: str) -> Path:
    """A file of data set ``name`` where the locator finds it (the runner checked it is present)."""
    where = availability(ctx.settings, name).where
    if where is None:
        raise FileNotFoundError(f"data set {name} is not present: {how_to_get(name)}")
    return where.joinpath(*parts)


def _optional(ctx: PipelineContext, name: str) -> Path | None:
    """The folder of a set a step reads when present and runs without."""
    return availability(ctx.settings, name).where


def step_mine_reports(ctx: PipelineContext) -> str:
    """The IU-Xray full reports (Open-i XML: findings and impression), from the data folder or the installed
    torchxrayvision package, with the R2Gen split when the iu_xray set is there."""
    from kg.mining.api import mine_reports
    from kg.mining.core.readers import read_r2gen_splits

    archive = _located(ctx, "iu_xray_reports", "NLMCXR_reports.tgz")
    iu = _optional(ctx, "iu_xray")
    splits = read_r2gen_splits(iu / "annotation.json") if iu is not None else None
    ctx.matrix = ctx.settings.runs_dir / "iu_xray_findings.csv"
    s = mine_reports(ctx.store, archive, matrix_out=ctx.matrix, labeler_dir=_optional(ctx, "labeler"),
                     splits=splits, progress=True)
    return (f"{s.documents} full reports from {availability(ctx.settings, 'iu_xray_reports').via}, "
            f"{s.claims_found} causal statements ({s.claims_added} new), finding matrix -> {ctx.matrix}")


LITERATURE_TRAINING_SETS = ("bc5cdr", "biored", "ade_corpus_v2", "causal_language", "negex")
"""What the literature models learn from (the step trains them when the models folder lacks them)."""


def step_mine_literature(ctx: PipelineContext) -> str:
    """Chest text into typed claims: every MedQuAD page (NHLBI's heart and lung diseases and the other
    folders) and ``sample`` PubMedQA abstracts; the models are trained first when absent."""
    from kg.mining.api import mine_literature
    from kg.mining.literature.models import missing_files
    from kg.mining.literature.training import train_literature_models

    model_dir = ctx.settings.models_dir / "literature"
    trained = ""
    if missing_files(model_dir):
        literature = _located(ctx, "bc5cdr").parent
        manifest = train_literature_models(model_dir, literature, ontology_dir=_optional(ctx, "ontologies"),
                                           progress=lambda m: console.print(f"    {m}", markup=False, highlight=False))
        trained = f"trained the literature models into {model_dir} in {manifest['training_seconds']:.0f} s; "
    medquad = mine_literature(ctx.store, _located(ctx, "medquad"), model_dir=model_dir, processes=2, batch_size=8,
                              progress=True)
    pubmedqa = mine_literature(ctx.store, _located(ctx, "pubmedqa", "ori_pqal.json"), model_dir=model_dir,
                               limit=ctx.sample, processes=2, progress=True)
    return (f"{trained}{medquad.documents} MedQuAD pages, {medquad.claims_found} claims ({medquad.claims_added} new); "
            f"{pubmedqa.documents} PubMedQA abstracts, {pubmedqa.claims_found} claims ({pubmedqa.claims_added} new)")


LEARN_SAMPLE = 20_000
"""Studies per source the main job's learning step keeps (uniform, seed 0): it runs in a few minutes on two
cores; ``mcrag graph learn`` without ``--sample`` and ``benchmarks/cross_source.py`` use every study."""


def step_learn(ctx: PipelineContext) -> str:
    from mcrag.commands.graph import learn_into_store
    from reasoning.graph_learning import LearnRun
    from reasoning.sources import SOURCES

    data = _located(ctx, "cxr_labels")
    run = learn_into_store(ctx.settings, ctx.store, sources=SOURCES, sample=LEARN_SAMPLE, seed=0, data=data,
                           per_source_discovery=False, progress=False)
    assert isinstance(run, LearnRun)
    counts = ", ".join(f"{k} {v}" for k, v in run.counts().items())
    proposed = run.proposals_written.written if run.proposals_written else 0
    return (f"{len(run.claims)} claims judged across {len(run.sources)} sources ({LEARN_SAMPLE} studies per source at "
            f"most, seed 0): {counts}; {proposed} edges proposed from data into <{NAMED_GRAPHS['proposals']}>")


def step_verdicts(ctx: PipelineContext) -> str:
    from kg.validations import VALIDATED_EDGES_BY_SOURCE_QUERY

    rows = ctx.store.select(VALIDATED_EDGES_BY_SOURCE_QUERY)
    edges: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        edges.setdefault((r["cause"] or "", r["effect"] or ""), []).append(
            f"{r['source']} {float(r['effectSize'] or 0):+.3f} [{float(r['ciLow'] or 0):+.3f}, "
            f"{float(r['ciHigh'] or 0):+.3f}] n={r['n']}")
    for (cause, effect), effects in list(edges.items())[:10]:
        console.print(f"    {cause} -> {effect}: {'; '.join(effects)}", markup=False, highlight=False)
    return f"{len(edges)} data-validated edges with their per-source effects (README query; first 10 shown)"


def step_train_vlm(ctx: PipelineContext) -> str:
    vs = ctx.settings.vlm()
    ctx.model_dir, ctx.index_dir = vs.model_dir, vs.index_dir
    if (vs.model_dir / "config.json").exists():
        return f"model already trained at {vs.model_dir} (delete it to retrain)"
    from vlm.train import TrainConfig, train_default

    report = train_default(ctx.settings.data_dir, vs.model_dir, config=TrainConfig.fast(), store=ctx.store,
                           cache_dir=vs.cache_dir)
    val = ", ".join(f"{k} {v:.3f}" for k, v in list(report.val.items())[:4])
    return f"trained the default VLM into {vs.model_dir} in {report.seconds:.0f} s (validation: {val}); curve {report.curve}"


def step_index(ctx: PipelineContext) -> str:
    """The exemplar index, then the graph posterior beside it (the store's trusted chest graph, as the earlier
    steps left it, fitted on the label tables; a cached fit is reused when nothing it depends on changed)."""
    assert ctx.model_dir is not None and ctx.index_dir is not None
    from mcrag.commands.vlm import build_graph_posterior
    from vlm.data import SOURCES

    if (ctx.index_dir / "index.faiss").exists() and (ctx.index_dir / "meta.json").exists():
        head = f"exemplar index already at {ctx.index_dir}"
    else:
        from vlm.index import build_index

        idx = build_index(ctx.settings.data_dir, ctx.index_dir, ctx.model_dir, cache_dir=ctx.settings.cache_dir)
        head = f"indexed {len(idx)} exemplars into {ctx.index_dir}"
    line = build_graph_posterior(ctx.settings, ctx.index_dir, ctx.model_dir, ctx.settings.data_dir, SOURCES,
                                 store=ctx.store)
    return f"{head}; {line}"


def step_infer(ctx: PipelineContext) -> str:
    import csv

    from vlm.backends import load_backend
    from vlm.index import ExemplarIndex
    from vlm.infer import Grounder
    from vlm.posterior import VIEWS, FrontEndPosterior

    assert ctx.model_dir is not None and ctx.index_dir is not None
    meta = _located(ctx, "cxr_covid", "metadata.csv")
    with meta.open(encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if (r.get("view") or "").upper() == "PA"
                   and (meta.parent / "images" / r.get("image", "")).is_file())
    image = meta.parent / "images" / row["image"]
    grounder = Grounder(load_backend(ctx.model_dir), ExemplarIndex.load(ctx.index_dir), ctx.store,
                        store_label=ctx.settings.store_location,
                        whatif_table=ctx.matrix if ctx.matrix is not None and ctx.matrix.exists() else None,
                        posterior=FrontEndPosterior.load(ctx.index_dir))
    view = (row.get("view") or "").strip().upper()
    result = grounder.infer(image, "diagnose", None, "causal", view=view if view in VIEWS else None)
    console.print(f"    image {image.name} ({row.get('finding', '')}, view {row.get('view', '')})")
    console.print(f"    answer: {result.answer}")
    for f in sorted(result.findings, key=lambda f: -f.posterior)[:4]:
        console.print(f"    finding {f.name}: front end {f.probability:.2f}, graph posterior {f.posterior:.2f}")
    if result.subgraph is not None:
        console.print(f"    evidence seeded by this film's findings: "
                      f"{', '.join(result.subgraph.labels.get(s, s) for s in result.subgraph.seeds) or 'none'}")
    for h in result.exemplars[:3]:
        console.print(f"    exemplar {h.to_json().get('id', '')} score {h.to_json().get('score', 0):.3f}")
    if result.subgraph is not None:
        for e in result.subgraph.edges[:5]:
            console.print(f"    edge {e.text()} (claim {e.claim_id})")
    for c in result.counterfactuals[:3]:
        console.print(f"    counterfactual: {c.to_json()}")
    how = "graph posterior" if result.graph_posterior is not None else "no graph posterior"
    return (f"answer ({how}) with {len(result.exemplars)} exemplars, "
            f"{len(result.subgraph.edges) if result.subgraph else 0} causal edges of this film, "
            f"{len(result.counterfactuals)} counterfactual checks")


@dataclass(frozen=True)
class Step:
    """One step of the main job and what it needs to run."""

    key: str
    title: str
    run: Callable[[PipelineContext], str]
    needs: tuple[str, ...] = ()
    """Data sets (``mcrag data list`` names) the step cannot run without."""
    uses: tuple[str, ...] = ()
    """Data sets the step reads when present and runs without."""
    after: tuple[str, ...] = ()
    """Steps whose results it builds on: when one of them did not run, neither does this one."""


@dataclass
class StepOutcome:
    step: Step
    ran: bool
    detail: str
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)


STEPS: list[Step] = [
    Step("bootstrap", "bootstrap the store (ontology + concept table + curated starter graph)", step_bootstrap),
    Step("two_hop", "query two-hop causal paths with SPARQL", step_two_hop, after=("bootstrap",)),
    Step("mine_reports", "mine the IU-Xray full reports (causal statements + report x finding matrix)",
         step_mine_reports, needs=("iu_xray_reports",), uses=("iu_xray", "labeler"), after=("bootstrap",)),
    Step("mine_literature", "mine MedQuAD pages and PubMedQA abstracts (typed relations, polarity, strength, scope)",
         step_mine_literature, needs=("medquad", "pubmedqa", *LITERATURE_TRAINING_SETS), uses=("ontologies",),
         after=("bootstrap",)),
    Step("learn", "learn and validate the chest graph across five label sources (discovery + per-source effects)",
         step_learn, needs=("cxr_labels",), after=("bootstrap",)),
    Step("verdicts", "list data-validated edges with their sources and effects (SPARQL)", step_verdicts,
         after=("bootstrap",)),
    Step("train_vlm", "train the embedded default VLM (fast setting)", step_train_vlm, needs=VLM_SOURCES),
    Step("index", "build the exemplar index and the graph posterior", step_index, needs=VLM_SOURCES,
         uses=("cxr_labels",), after=("train_vlm",)),
    Step("infer", "grounded inference on a shared chest radiograph (causal retrieval)", step_infer,
         needs=("cxr_covid",), after=("bootstrap", "train_vlm", "index")),
]


def _skip_reason(step: Step, settings: Settings, done: dict[str, StepOutcome]) -> tuple[str, list[str]]:
    """Why ``step`` cannot run now (empty when it can), and the data sets it lacks."""
    blocked = [k for k in step.after if k in done and not done[k].ran]
    if blocked:
        return f"needs the result of step {', '.join(blocked)}, which did not run", []
    missing = [n for n in step.needs if not availability(settings, n).present]
    if not missing:
        return "", []
    hows = "; ".join(f"{n}: {how_to_get(n)}" for n in missing)
    return f"needs {', '.join(missing)}, absent from {settings.data_dir} ({hows})", missing


def run_steps(ctx: PipelineContext, steps: Sequence[Step]) -> list[StepOutcome]:
    """Run each step whose data and prerequisite steps are there; skip the others with one line each."""
    done: dict[str, StepOutcome] = {}
    for i, step in enumerate(steps, start=1):
        console.print(f"[bold]{i}/{len(steps)} {step.title}[/bold]")
        reason, missing = _skip_reason(step, ctx.settings, done)
        if reason:
            console.print(f"    skipped: {reason}")
            done[step.key] = StepOutcome(step, False, reason, missing=missing)
            continue
        t0 = time.perf_counter()
        summary = step.run(ctx)
        seconds = time.perf_counter() - t0
        without = [n for n in step.uses if not availability(ctx.settings, n).present]
        if without:
            summary += f" (ran without {', '.join(without)})"
        console.print(f"    {summary} ({seconds:.1f} s)")
        done[step.key] = StepOutcome(step, True, summary, seconds)
    return list(done.values())


def _detail(o: StepOutcome) -> str:
    if o.ran or not o.missing:
        return o.detail
    fetchable = [n for n in o.missing if registry.get(n).fetchable]
    text = f"missing {', '.join(o.missing)}"
    if fetchable:
        text += "; get it with " + ", ".join(f"`mcrag data fetch {n}`" for n in fetchable)
    derived = [n for n in o.missing if n not in fetchable]
    if derived:
        text += f"; {', '.join(derived)}: derived copy, source in `mcrag data list`"
    return text


def summary_table(outcomes: Sequence[StepOutcome]) -> Table:
    table = Table(title="main job: what ran and what was skipped")
    for col in ("#", "step", "result", "time", "detail"):
        table.add_column(col, overflow="fold")
    for i, o in enumerate(outcomes, start=1):
        table.add_row(str(i), o.step.key, "ran" if o.ran else "skipped", f"{o.seconds:.1f} s" if o.ran else "",
                      _detail(o))
    return table


def pipeline(store: str | None = StoreOption,
             sample: int = typer.Option(300, help="How many shared reports and abstracts to mine.")) -> None:
    """Run the main job end to end on the embedded defaults (store in var/store); steps whose data is absent are skipped."""
    settings = load_settings(store=store)
    with open_configured_store(settings) as st:
        settings.runs_dir.mkdir(parents=True, exist_ok=True)
        ctx = PipelineContext(settings, st, sample)
        total = time.perf_counter()
        outcomes = run_steps(ctx, STEPS)
        console.print(summary_table(outcomes))
        ran = sum(o.ran for o in outcomes)
        console.print(f"pipeline done in {time.perf_counter() - total:.1f} s: {ran} steps ran, "
                      f"{len(outcomes) - ran} skipped; store at {settings.store_location}; "
                      f"data from {settings.data_dir} (`mcrag data list` shows every set)")


def register(app: typer.Typer) -> None:
    app.command("pipeline")(pipeline)
