"""``mcrag pipeline``: the main job on the embedded defaults, from an empty folder to grounded answers.

Each step is small and reports what it did; later steps use what earlier ones wrote into the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from kg.namespaces import NAMED_GRAPHS
from kg.ontology import bootstrap
from kg.store import Store
from mcrag.commands.common import StoreOption, open_configured_store
from mcrag.errors import UserInputError
from mcrag.settings import Settings, load_settings

console = Console(soft_wrap=True)


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


def _shared(ctx: PipelineContext, *parts: str) -> Path:
    path = ctx.settings.data(*parts)
    if not path.exists():
        raise UserInputError(f"{path} is missing: set MCRAG_DATA_DIR to the shared data folder")
    return path


def step_mine_reports(ctx: PipelineContext) -> str:
    from kg.mining.api import mine_reports

    ann = _shared(ctx, "iu_xray", "annotation.json")
    ctx.matrix = ctx.settings.runs_dir / "iu_xray_findings.csv"
    s = mine_reports(ctx.store, ann, matrix_out=ctx.matrix, labeler_dir=ctx.settings.data("labeler"), progress=True)
    return (f"{s.documents} reports, {s.claims_found} causal statements ({s.claims_added} new), "
            f"finding matrix -> {ctx.matrix}")


def step_mine_literature(ctx: PipelineContext) -> str:
    from kg.mining.api import mine_literature

    model_dir = ctx.settings.models_dir / "relation"
    trained = ""
    if not (model_dir / "lexicon.json").exists() and not any(model_dir.glob("*")):
        from kg.mining.training import train_relations

        train_relations(model_dir, _shared(ctx, "literature", "bc5cdr", "CDR_TrainingSet.PubTator.txt"),
                        ade_dir=_shared(ctx, "literature", "ade_corpus_v2"), ontology_dir=ctx.settings.data("ontologies"),
                        embedding_cache=ctx.settings.home / "cache" / "embeddings.npz")
        trained = f"trained the relation model into {model_dir}; "
    dev = _shared(ctx, "literature", "bc5cdr", "CDR_DevelopmentSet.PubTator.txt")
    s = mine_literature(ctx.store, dev, model_dir=model_dir, limit=ctx.sample, progress=True)
    return f"{trained}{s.documents} abstracts, {s.claims_found} claims ({s.claims_added} new)"


def step_validate(ctx: PipelineContext) -> str:
    from reasoning.validate import validate_store

    data = ctx.matrix if ctx.matrix is not None and ctx.matrix.exists() else _shared(ctx, "iu_xray", "openi_labels.csv")
    run = validate_store(ctx.store, data, graphs=[NAMED_GRAPHS["reports"], NAMED_GRAPHS["starter"]])
    counts = ", ".join(f"{k} {v}" for k, v in run.counts().items())
    return f"{len(run.claims)} claims checked against {run.rows} reports in {run.seconds:.0f} s: {counts}"


def step_verdicts(ctx: PipelineContext) -> str:
    from kg.validations import VALIDATED_EDGES_QUERY

    rows = ctx.store.select(VALIDATED_EDGES_QUERY)
    for r in rows[:10]:
        ci = f" [{float(r['ciLow']):+.3f}, {float(r['ciHigh']):+.3f}]" if r["ciLow"] and r["ciHigh"] else ""
        effect = f"effect {float(r['effectSize']):+.3f}{ci}, n={r['n']}" if r["effectSize"] else "no effect estimate"
        console.print(f"    {(r['verdict'] or '').rsplit('#', 1)[-1]:9s} {r['cause']} -> {r['effect']}: {effect}")
    return f"{len(rows)} validated / refuted edges (latest verdict per edge; first 10 shown)"


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
    assert ctx.model_dir is not None and ctx.index_dir is not None
    if (ctx.index_dir / "index.faiss").exists() and (ctx.index_dir / "meta.json").exists():
        return f"exemplar index already at {ctx.index_dir}"
    from vlm.index import build_index

    idx = build_index(ctx.settings.data_dir, ctx.index_dir, ctx.model_dir, cache_dir=ctx.settings.cache_dir)
    return f"indexed {len(idx)} exemplars into {ctx.index_dir}"


def step_infer(ctx: PipelineContext) -> str:
    import csv

    from vlm.backends import load_backend
    from vlm.index import ExemplarIndex
    from vlm.infer import Grounder

    assert ctx.model_dir is not None and ctx.index_dir is not None
    meta = _shared(ctx, "cxr_covid", "metadata.csv")
    with meta.open(encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if (r.get("view") or "").upper() == "PA"
                   and (ctx.settings.data("cxr_covid", "images", r.get("image", ""))).is_file())
    image = ctx.settings.data("cxr_covid", "images", row["image"])
    grounder = Grounder(load_backend(ctx.model_dir), ExemplarIndex.load(ctx.index_dir), ctx.store,
                        store_label=ctx.settings.store_location,
                        whatif_table=ctx.matrix if ctx.matrix is not None and ctx.matrix.exists() else None)
    result = grounder.infer(image, "diagnose", None, "causal")
    console.print(f"    image {image.name} ({row.get('finding', '')}, view {row.get('view', '')})")
    console.print(f"    answer: {result.answer}")
    for f in sorted(result.findings, key=lambda f: -f.posterior)[:4]:
        console.print(f"    finding {f.name}: p={f.posterior:.2f}")
    for h in result.exemplars[:3]:
        console.print(f"    exemplar {h.to_json().get('id', '')} score {h.to_json().get('score', 0):.3f}")
    if result.subgraph is not None:
        for e in result.subgraph.edges[:5]:
            console.print(f"    edge {e.text()} (claim {e.claim_id})")
    for c in result.counterfactuals[:3]:
        console.print(f"    counterfactual: {c.to_json()}")
    return (f"answer with {len(result.exemplars)} exemplars, "
            f"{len(result.subgraph.edges) if result.subgraph else 0} causal edges, "
            f"{len(result.counterfactuals)} counterfactual checks")


STEPS: list[tuple[str, Callable[[PipelineContext], str]]] = [
    ("bootstrap the store (ontology + curated starter graph)", step_bootstrap),
    ("query two-hop causal paths with SPARQL", step_two_hop),
    ("mine the IU-Xray reports (causal statements + report x finding matrix)", step_mine_reports),
    ("mine BC5CDR abstracts (chemical -> disease claims)", step_mine_literature),
    ("validate report and starter edges against the finding matrix (discovery + DoWhy)", step_validate),
    ("list validated and refuted edges with their effects (SPARQL)", step_verdicts),
    ("train the embedded default VLM (fast setting)", step_train_vlm),
    ("build the exemplar index", step_index),
    ("grounded inference on a shared chest radiograph (causal retrieval)", step_infer),
]


def pipeline(store: str | None = StoreOption,
             sample: int = typer.Option(300, help="How many shared reports and abstracts to mine.")) -> None:
    """Run the main job end to end on the embedded defaults (store in var/store)."""
    settings = load_settings(store=store)
    with open_configured_store(settings) as st:
        settings.runs_dir.mkdir(parents=True, exist_ok=True)
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
