"""``mcrag infer``, ``mcrag index build`` and ``mcrag train-vlm``: the grounded VLM from the shell.

Inputs are checked before anything heavy loads or anything is written, so a bad image, task, mode
or question fails in a second with exit code 2; a missing model or index names the command that
builds it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from mcrag.commands.common import StoreOption, open_configured_store, settings_for
from mcrag.errors import UserInputError
from mcrag.settings import Settings

if TYPE_CHECKING:
    from vlm.config import VLMSettings

console = Console()
err_console = Console(stderr=True)

index_app = typer.Typer(help="Build the exemplar index used by retrieval.", no_args_is_help=True)


def _vlm_settings(settings: Settings) -> VLMSettings:
    try:
        return settings.vlm()
    except ValueError as err:  # an unknown MCRAG_RETRIEVAL
        raise UserInputError(f"setting MCRAG_RETRIEVAL: {err}") from None


def _split_list(text: str | None, allowed: tuple[str, ...], what: str) -> tuple[str, ...] | None:
    if text is None:
        return None
    items = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    bad = [s for s in items if s not in allowed]
    if bad or not items:
        raise UserInputError(f"unknown {what} {', '.join(bad) or repr(text)}; use a comma list of {', '.join(allowed)}")
    return items


def _open_store_or_starter(settings: Settings):  # -> tuple[Store, str]
    """The configured store if it exists (read-only); otherwise the shipped starter graph in memory."""
    from vlm.grounding import starter_store

    loc = settings.store_location
    if loc.startswith(("http://", "https://")) or loc == ":memory:" or Path(loc).exists():
        if loc == ":memory:":
            return starter_store(), "starter graph (in memory)"
        return open_configured_store(settings, create=False, read_only=True), loc
    return starter_store(), f"starter graph (in memory; no store at {loc}: `mcrag kg init` creates one)"


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=err_console, transient=False)


# ---------------------------------------------------------------------------------------- infer
def infer(image: Path | None = typer.Option(None, "--image", "-i", help="Image file (PNG, JPEG, 8/16-bit, any size)."),
          task: str = typer.Option("diagnose", "--task", "-t", help="report, diagnose or vqa."),
          question: str | None = typer.Option(None, "--question", "-q", help="The question (task vqa)."),
          retrieval: str | None = typer.Option(None, "--retrieval", "-r",
                                               help="none, semantic or causal (default $MCRAG_RETRIEVAL or causal)."),
          as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
          model: Path | None = typer.Option(None, "--model", "-m", help="Local Hugging Face checkpoint folder "
                                            "(default $MCRAG_VLM_MODEL or var/models/vlm-default)."),
          index: Path | None = typer.Option(None, "--index", help="Exemplar index folder (default var/index/exemplars)."),
          findings: str | None = typer.Option(None, "--findings", help="Finding probabilities from another front end, "
                                              "e.g. 'Effusion=0.9,Cardiomegaly=0.7' (replaces the image head)."),
          k: int = typer.Option(5, "--k", min=1, max=100, help="Exemplars to return."),
          hops: int = typer.Option(2, "--hops", min=0, max=4, help="Causal subgraph radius."),
          view: str | None = typer.Option(None, "--view", help="The film's projection (AP, PA, AP supine) when known: "
                                          "the graph posterior reads the front end given it."),
          include_proposed: bool = typer.Option(False, "--include-proposed", help="Also show proposed edges in the "
                                                "evidence (marked as not validated; never cited as support)."),
          max_new_tokens: int = typer.Option(96, "--max-new-tokens", min=1, max=512),
          store: str | None = StoreOption) -> None:
    """Answer a task for one image, with the exemplars, causal subgraph and counterfactual checks behind it."""
    from vlm.errors import InputError
    from vlm.images import ImageError, load_image
    from vlm.infer import check_task, parse_findings
    from vlm.posterior import check_view
    from vlm.retrieval import check_mode

    settings = settings_for(store)
    vs = _vlm_settings(settings)
    mode = retrieval or vs.retrieval
    try:
        check_task(task)
        check_mode(mode)
        if task == "vqa" and not (question or "").strip():
            raise InputError("task vqa needs a non-empty --question")
        if task != "vqa" and question is not None:
            raise InputError(f"--question is only read by task vqa, not {task}")
        injected = parse_findings(findings)
        try:
            view = check_view(view)
        except ValueError as err:
            raise InputError(str(err)) from None
        if image is None and injected is None:
            raise InputError("give --image PATH (or --findings from another front end)")
        loaded = None
        if image is not None:
            loaded = load_image(image, reduce_to=256)  # refuse a bad image before any model loads
    except (InputError, ImageError) as err:
        raise UserInputError(str(err)) from None
    model_dir = model or vs.model_dir
    index_dir = index or vs.index_dir
    from vlm.backends import load_backend
    from vlm.index import ExemplarIndex
    from vlm.infer import Grounder
    from vlm.posterior import FrontEndPosterior
    from vlm.retrieval import RetrievalSettings

    backend = load_backend(model_dir)
    idx = ExemplarIndex.load(index_dir) if mode != "none" else None
    posterior = FrontEndPosterior.load(index_dir) if mode == "causal" else None
    st, store_label = _open_store_or_starter(settings)
    with st:
        table = settings.data("iu_xray", "openi_labels.csv")
        grounder = Grounder(backend, idx, st, settings=RetrievalSettings(k=k), hops=hops, store_label=store_label,
                            threads=vs.threads, whatif_table=table if mode == "causal" and table.is_file() else None,
                            posterior=posterior, include_proposed=include_proposed)
        from vlm.encoders import TextEncoder

        grounder.text_encoder = TextEncoder(cache_dir=vs.cache_dir)
        try:
            result = grounder.infer(image if loaded is not None else None, task, question, mode, findings=injected,
                                    k=k, max_new_tokens=max_new_tokens, view=view)
        except (InputError, ImageError) as err:
            raise UserInputError(str(err)) from None
    payload = result.to_json()
    payload["image"] = str(image) if image else None
    payload["index"] = str(index_dir) if idx is not None else None
    if as_json:
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return
    _print_result(payload)


def _print_result(r: dict) -> None:
    console.print(f"[bold]{r['task']}[/bold] ({r['retrieval']} retrieval, answer from {r['answer_source']}, "
                  f"findings from {r['front_end']})" + (f"\n[bold]Q:[/bold] {r['question']}" if r.get("question") else ""))
    console.print(f"[bold green]Answer:[/bold green] {r['answer']}\n")
    t = Table("finding", "probability", "exemplar prior", "posterior", "validated", title="Findings (calibrated)")
    for f in r["findings"]:
        if f["posterior"] >= 0.1 or f["probability"] >= 0.1:
            t.add_row(f["label"], f"{f['probability']:.3f}", "" if f["prior"] is None else f"{f['prior']:.3f}",
                      f"{f['posterior']:.3f}", "yes" if f.get("validated", True) else "no (not used)")
    console.print(t)
    gp = r.get("graph_posterior")
    if gp:
        console.print(f"[bold]Graph posterior[/bold] (view {gp['view'] or 'not given: pooled'}; front-end evidence, "
                      "prior from the label tables, posterior)")
        for f in gp["findings"]:
            if f["posterior"] >= 0.05 or f.get("front_end", 0) >= 0.1:
                fe = f"{f['front_end']:.3f}" if "front_end" in f else "-"
                console.print(f"  {f['node']}: front end {fe}, prior {f['prior']:.3f}, posterior {f['posterior']:.3f}"
                              + (f" (view offset of {f['stratum']})" if f.get("stratum") not in (None, "*") else ""),
                              soft_wrap=True, markup=False)
    if r["exemplars"]:
        console.print("[bold]Exemplars[/bold]")
        for e in r["exemplars"]:
            extra = (f" consistency {e['consistency']:.2f}, confounder weight {e['confounder_weight']:.2f}"
                     if "consistency" in e else "")
            console.print(f"  {e['id']} [{e['source']}, {e['view']}, {e['device']}] "
                          f"findings: {', '.join(e['findings']) or '-'}; sim {e['similarity']:.3f}, "
                          f"score {e['score']:.3f}{extra}", soft_wrap=True, markup=False)
    sg = r.get("subgraph")
    if sg:
        console.print(f"[bold]Causal subgraph[/bold] ({len(sg['edges'])} edges within {sg['hops']} hops)")
        for e in sg["edges"][:20]:
            src = (e["sources"][0].get("citation") or e["sources"][0].get("identifier", "")) if e["sources"] else ""
            eff = f", effect {e['effect']:.3f}" if e["effect"] is not None else ""
            mark = "" if e.get("trusted", True) else ", not validated"
            console.print(f"  {e['ref']} {e['subject_label']} {e['relation']} {e['object_label']} "
                          f"[{e['status']}{mark}, conf {e['confidence']:.2f}{eff}] claim {e['claim_id']}"
                          + (f" | {src}" if src else ""), soft_wrap=True, markup=False)
        if len(sg["edges"]) > 20:
            console.print(f"  ... {len(sg['edges']) - 20} more edges (use --json)")
    if r["counterfactuals"]:
        console.print("[bold]Counterfactual checks[/bold]")
        for c in r["counterfactuals"]:
            exp = c["expected_effect_probability"]
            detail = (f"graph expects P({c['effect']}) = {exp:.2f}, case shows {c['observed_effect']}, "
                      f"agrees: {c['agrees']} ({c['engine']}, via {c['edge']} claim {c['claim_id']})"
                      if c["effect"] else f"contrast case ({c['engine']})")
            console.print(f"  {c['intervention']}: nearest case {c['exemplar']} (sim {c['similarity']:.3f}, "
                          f"findings {', '.join(c['exemplar_findings']) or '-'}): {detail}", soft_wrap=True, markup=False)
    if r["sentences"]:
        console.print("[bold]Traceability[/bold]")
        for s in r["sentences"]:
            ev = ", ".join(f"{k} {v:.2f}" for k, v in s["image_evidence"].items()) or "-"
            edges = ", ".join(f"{e} ({c})" for e, c in zip(s["edges"], s["claim_ids"], strict=True)) or "-"
            console.print(f"  \"{s['text']}\"\n    image: {ev}; exemplars: {', '.join(s['exemplars'][:3]) or '-'}; "
                          f"edges: {edges}", soft_wrap=True, markup=False)
    for n in r.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {n}")
    console.print(f"model {r['model']} | index {r['index']} | store {r['store']} | "
                  f"{r['timings_ms'].get('total', 0):.1f} ms", soft_wrap=True)


# ---------------------------------------------------------------------------------------- index build
@index_app.command("build")
def index_build(data_dir: Path | None = typer.Option(None, "--data-dir", help="Data folder (default $MCRAG_DATA_DIR)."),
                sources: str | None = typer.Option(None, "--sources", help="Comma list of data sets (default all)."),
                splits: str = typer.Option("train,val", "--splits", help="Splits to index (test is left out)."),
                iu_xray: Path | None = typer.Option(None, "--iu-xray", help="IU-Xray folder with annotation.json "
                                                    "(+ images/<id>/<n>.png) if not in the data folder."),
                model: Path | None = typer.Option(None, "--model", "-m", help="mcrag-vlm model whose image encoder embeds the images."),
                out: Path | None = typer.Option(None, "--out", "-o", help="Index folder (default var/index/exemplars)."),
                hnsw_m: int = typer.Option(32, "--hnsw-m", min=4, max=128),
                ef_construction: int = typer.Option(80, "--ef-construction", min=8, max=1024),
                posterior: bool = typer.Option(True, "--posterior/--no-posterior", help="Also fit the graph posterior "
                                               "causal mode reads (needs the cxr_labels tables; cached under MCRAG_HOME)."),
                store: str | None = StoreOption) -> None:
    """Embed the exemplars (images and reports) and build the FAISS HNSW index, next to the store; then fit the
    graph posterior (the store's trusted chest graph on the label tables, read through the model's held-out films)."""
    from vlm.data import KNOWN_SOURCES, SOURCES
    from vlm.encoders import TextEncoder
    from vlm.index import build_index

    settings = settings_for(store)
    vs = _vlm_settings(settings)
    src = _split_list(sources, KNOWN_SOURCES, "source") or SOURCES
    spl = _split_list(splits, ("train", "val", "test"), "split") or ("train", "val")
    root = data_dir or settings.data_dir
    if not root.is_dir():
        raise UserInputError(f"data folder {root} not found; set MCRAG_DATA_DIR or pass --data-dir")
    if iu_xray is not None and not iu_xray.exists():
        raise UserInputError(f"IU-Xray folder {iu_xray} not found")
    model_dir = model or vs.model_dir
    if not (model_dir / "config.json").is_file():
        raise UserInputError(f"no model at {model_dir}; train the default model with `mcrag train-vlm` or pass --model")
    out_dir = out or vs.index_dir
    t0 = time.perf_counter()
    with _progress() as prog:
        tasks: dict[str, TaskID] = {}

        def tick(stage: str, i: int, n: int) -> None:
            if stage not in tasks:
                tasks[stage] = prog.add_task(stage, total=max(n, 1), info="")
            prog.update(tasks[stage], completed=i, total=max(n, 1))

        index = build_index(root, out_dir, model_dir, sources=src, splits=spl, iu_xray=iu_xray,
                            text_encoder=TextEncoder(cache_dir=vs.cache_dir), progress=tick, hnsw_m=hnsw_m,
                            ef_construction=ef_construction)
    by_source: dict[str, int] = {}
    for i in range(len(index)):
        s = index.exemplar(i).source
        by_source[s] = by_source.get(s, 0) + 1
    console.print(f"index {out_dir}: {len(index)} exemplars ({', '.join(f'{k} {v}' for k, v in sorted(by_source.items()))}), "
                  f"{index.dim}-d HNSW M={hnsw_m}, {len(index.stratum_names)} confounder strata, "
                  f"{time.perf_counter() - t0:.1f} s")
    if posterior:
        console.print(build_graph_posterior(settings, out_dir, model_dir, root, src))


def build_graph_posterior(settings: Settings, index_dir: Path, model_dir: Path, data_dir: Path,
                          sources: tuple[str, ...], store: object | None = None) -> str:
    """Fit (or load from the cache) the graph posterior and save it beside the index; one line on what was done.

    Its structure is the store's trusted chest graph (``store``, else the configured store read-only, else
    the starter graph), its parameters come from the cxr_labels tables, its reading of the model from the
    model's held-out validation films."""
    from mcrag.datasets.locate import cxr_labels_dir
    from vlm.backends import load_backend
    from vlm.posterior import build_front_end_posterior

    labels = cxr_labels_dir(settings)
    if labels is None:
        return ("graph posterior not built: the cxr_labels tables are absent (`mcrag data list`); causal mode will "
                "fuse exemplar votes instead")
    t0 = time.perf_counter()
    if store is not None:
        fp = build_front_end_posterior(store, labels, load_backend(model_dir), data_dir, sources, settings.cache_dir)
    else:
        st, _ = _open_store_or_starter(settings)
        with st:
            fp = build_front_end_posterior(st, labels, load_backend(model_dir), data_dir, sources, settings.cache_dir)
    path = fp.save(index_dir, settings.cache_dir)
    return f"graph posterior -> {path}: {fp.description} ({time.perf_counter() - t0:.1f} s)"


# ---------------------------------------------------------------------------------------- train
def train_vlm(data_dir: Path | None = typer.Option(None, "--data-dir", help="Data folder (default $MCRAG_DATA_DIR)."),
              out: Path | None = typer.Option(None, "--out", "-o", help="Model folder (default var/models/vlm-default)."),
              fast: bool = typer.Option(False, "--fast", help="The few-minute setting of `mcrag pipeline` (fewer epochs, "
                                        "fewer examples)."),
              epochs: int | None = typer.Option(None, "--epochs", min=1, help="Vision epochs."),
              lm_epochs: int | None = typer.Option(None, "--lm-epochs", min=1, help="Decoder epochs."),
              max_steps: int | None = typer.Option(None, "--max-steps", min=1, help="Cap on steps per stage."),
              sources: str | None = typer.Option(None, "--sources", help="Comma list of data sets (default: nih_1000, "
                                                 "pediatric_cxr, cxr_covid, vqa_rad, iu_xray)."),
              iu_xray: Path | None = typer.Option(None, "--iu-xray", help="IU-Xray folder (annotation.json, images/)."),
              threads: int | None = typer.Option(None, "--threads", min=1, max=64),
              seed: int = typer.Option(0, "--seed"),
              intensity: str | None = typer.Option(None, "--intensity", help="Per-image intensity normalisation: "
                                                   "zscore or equalise (default: the trained-in default)."),
              pixel_cache: Path | None = typer.Option(None, "--pixel-cache", help="Folder to cache resized "
                                                      "training images in between runs."),
              store: str | None = StoreOption) -> None:
    """Train the embedded VLM from scratch on the shared data (CPU), with progress and a training curve PNG."""
    from dataclasses import replace

    from vlm.data import KNOWN_SOURCES, SOURCES
    from vlm.encoders import TextEncoder
    from vlm.train import TrainConfig, train

    settings = settings_for(store)
    vs = _vlm_settings(settings)
    root = data_dir or settings.data_dir
    if not root.is_dir():
        raise UserInputError(f"data folder {root} not found; set MCRAG_DATA_DIR or pass --data-dir")
    if iu_xray is not None and not iu_xray.exists():
        raise UserInputError(f"IU-Xray folder {iu_xray} not found")
    src = _split_list(sources, KNOWN_SOURCES, "source") or SOURCES
    if intensity is not None and intensity not in ("zscore", "equalise"):
        raise UserInputError(f"unknown --intensity {intensity!r}; use zscore or equalise")
    cfg = TrainConfig.fast() if fast else TrainConfig()
    overrides: dict[str, object] = {"sources": src, "seed": seed, "threads": threads or vs.threads}
    if intensity:
        overrides["intensity"] = intensity
    if pixel_cache is not None:
        overrides["pixel_cache"] = str(pixel_cache)
    if epochs:
        overrides["vision_epochs"] = epochs
    if lm_epochs:
        overrides["lm_epochs"] = lm_epochs
    if max_steps:
        overrides["max_steps"] = max_steps
    cfg = replace(cfg, **overrides)  # type: ignore[arg-type]
    out_dir = out or vs.model_dir
    from vlm.data import load_sources

    try:
        corpus = load_sources(root, src, iu_xray=iu_xray)
    except FileNotFoundError as err:
        raise UserInputError(f"{err}; check --data-dir / --sources") from None
    st, label = _open_store_or_starter(settings)
    with st, _progress() as prog:
        tasks: dict[str, TaskID] = {}

        def tick(stage: str, step: int, total: int, metrics: dict[str, float]) -> None:
            if stage not in tasks:
                tasks[stage] = prog.add_task(stage, total=max(total, 1), info="")
            info = " ".join(f"{k}={v:.3f}" for k, v in metrics.items())
            if info:
                prog.update(tasks[stage], completed=step, total=max(total, 1), info=info)
            else:
                prog.update(tasks[stage], completed=step, total=max(total, 1))

        report = train(corpus, out_dir, cfg, store=st, progress=tick, text_encoder=TextEncoder(cache_dir=vs.cache_dir))
    console.print(f"model saved to {out_dir} in {report.seconds:.0f} s (evidence from {label})")
    for key, val in report.val.items():
        console.print(f"  {key}: {val:.4f}")
    cal = report.calibration
    if cal:
        console.print(f"  calibration ECE {cal['ece_before']:.4f} -> {cal['ece_after']:.4f} (validation images)")
    console.print(f"training curve: {report.curve}")
    console.print("next: `mcrag index build`, then `mcrag infer --image X.png`")


def register(app: typer.Typer) -> None:
    """Attach ``infer``, ``index build`` and ``train-vlm`` to the top-level app."""
    app.command("infer")(infer)
    app.add_typer(index_app, name="index")
    app.command("train-vlm")(train_vlm)
