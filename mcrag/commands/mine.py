"""``mcrag mine``: mine radiology reports and abstracts into causal claims, train the relation model."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from mcrag.commands.common import PlainTable as Table
from mcrag.commands.common import StoreOption, open_configured_store, settings_for
from mcrag.errors import UserInputError
from mcrag.settings import Settings

app = typer.Typer(help="Mine causal claims from radiology reports and literature into the knowledge graph.",
                  no_args_is_help=True)
console = Console(stderr=True)

DEFAULT_MODEL_DIR = None
"""``--model-dir`` default: ``<MCRAG_HOME>/models/literature``, read when the command runs."""
LITERATURE_MODELS = "literature"


def _literature_model_dir(given: Path | None) -> Path:
    return given if given is not None else settings_for(None).models_dir / LITERATURE_MODELS

LimitOption = typer.Option(None, "--limit", "-n", min=1, help="Mine at most this many documents.")
BatchOption = typer.Option(None, "--batch-size", "-b", min=1,
                           help="Documents per partition; each partition's claims are one transaction.")
ProcessesOption = typer.Option(1, "--processes", "-p", min=1, help="Local worker processes (each builds its own pipeline).")
ClusterOption = typer.Option(None, "--cluster", help="Dask scheduler address (tcp://host:8786): run the partitions there.")
ProgressOption = typer.Option(True, "--progress/--no-progress", help="Show a progress bar.")
JsonOption = typer.Option(False, "--json", help="Print the run summary as JSON on standard output.")


def register(app_root: typer.Typer) -> None:
    """Attach ``mcrag mine`` to the root app."""
    app_root.add_typer(app, name="mine")


def _check_path(path: Path) -> None:
    if not path.exists():
        raise UserInputError(f"{path}: no such file or folder")


def _show(summary: object, as_json: bool) -> None:
    data = summary.as_dict()  # type: ignore[attr-defined]
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    table = Table("mining run", "value", title=f"{data['kind']}s from {data['path']}")
    for key in ("backend", "documents", "skipped", "claims_found", "claims_added", "claims_existing", "quads_added",
                "batches", "seconds", "documents_per_second", "graph", "matrix_path"):
        if data.get(key) is not None:
            table.add_row(key.replace("_", " "), str(data[key]))
    console.print(table)
    for reason, n in sorted(data["skipped_reasons"].items(), key=lambda kv: -kv[1]):
        console.print(f"  skipped {n}: {reason}", markup=False, highlight=False)


def _default_reports(settings: Settings) -> Path:
    """The IU-Xray full reports (Open-i XML archive) where the locator finds them."""
    from mcrag.datasets.locate import availability, how_to_get

    found = availability(settings, "iu_xray_reports")
    if not found.present or found.where is None:
        raise UserInputError("no report path given and the IU-Xray full reports (NLMCXR_reports.tgz) are absent: "
                             f"{how_to_get('iu_xray_reports')}, or install torchxrayvision")
    archive = found.where / "NLMCXR_reports.tgz"
    console.print(f"reading the IU-Xray full reports from {archive} ({found.via})", markup=False, highlight=False)
    return archive


def _splits(path: Path | None, settings: Settings, default_reports: bool) -> dict[str, str] | None:
    """Study id -> split from an R2Gen annotation.json: the one given, else (for the default reports) the
    data folder's ``iu_xray/annotation.json`` when present."""
    from kg.mining.core.readers import read_r2gen_splits

    if path is None:
        if not default_reports:
            return None
        path = settings.data("iu_xray", "annotation.json")
        if not path.is_file():
            return None
    elif not path.is_file():
        raise UserInputError(f"{path}: no such split file (an R2Gen annotation.json)")
    try:
        return read_r2gen_splits(path)
    except ValueError as err:
        raise UserInputError(str(err)) from None


@app.command()
def reports(path: Path | None = typer.Argument(None, help="Reports to mine: the Open-i XML archive "
                                                       "(NLMCXR_reports.tgz), Open-i XML, annotation.json (findings "
                                                       "only), text or CSV (file or folder). Default: the IU-Xray "
                                                       "full reports from the data folder or the installed "
                                                       "torchxrayvision package."),
            store: str | None = StoreOption,
            limit: int | None = LimitOption,
            batch_size: int | None = BatchOption,
            processes: int = ProcessesOption,
            cluster: str | None = ClusterOption,
            matrix: Path | None = typer.Option(None, "--matrix", "-m",
                                               help="Also write the report x finding matrix (.csv or .parquet)."),
            drop_uncertain: bool = typer.Option(False, "--drop-uncertain",
                                                help="Count uncertain findings as 0 in the matrix (default: 1)."),
            splits: Path | None = typer.Option(None, "--splits",
                                               help="R2Gen annotation.json whose train / val / test split labels "
                                                    "the reports (default for the IU-Xray full reports: "
                                                    "<data>/iu_xray/annotation.json when present)."),
            labeler_dir: Path | None = typer.Option(None, "--labeler-dir",
                                                    help="CheXpert / NegBio phrase folder (default: <data>/labeler)."),
            dry_run: bool = typer.Option(False, "--dry-run", help="Mine without writing to the store."),
            progress: bool = ProgressOption,
            as_json: bool = JsonOption) -> None:
    """Mine radiology reports: finding statuses and in-report causal statements."""
    from kg.mining.api import mine_reports

    settings = settings_for(store)
    if path is None:
        path = _default_reports(settings)
    else:
        _check_path(path)
    split_map = _splits(splits, settings, default_reports=path.name == "NLMCXR_reports.tgz")
    labeler = labeler_dir or settings.data("labeler")
    if labeler_dir is not None and not labeler_dir.is_dir():
        raise UserInputError(f"labeler folder {labeler_dir} not found")
    kwargs = dict(limit=limit, batch_size=batch_size or 256, processes=processes, cluster=cluster,
                  labeler_dir=labeler if Path(labeler).is_dir() else None, matrix_out=matrix,
                  uncertain_as_present=not drop_uncertain, progress=progress, splits=split_map)
    if dry_run:
        summary = mine_reports(None, path, **kwargs)  # type: ignore[arg-type]
    else:
        with open_configured_store(settings) as st:
            summary = mine_reports(st, path, **kwargs)  # type: ignore[arg-type]
    _show(summary, as_json)


@app.command()
def literature(path: Path = typer.Argument(..., help="Abstracts or pages to mine: PubTator, PubMed XML, JSON "
                                                     "(PubMed-like or PubMedQA), MedQuAD XML or text (file or "
                                                     "folder)."),
               store: str | None = StoreOption,
               limit: int | None = LimitOption,
               batch_size: int | None = BatchOption,
               processes: int = ProcessesOption,
               cluster: str | None = ClusterOption,
               model_dir: Path | None = typer.Option(DEFAULT_MODEL_DIR, "--model-dir",
                                                     help="Trained literature models (default: "
                                                          "$MCRAG_HOME/models/literature)."),
               min_confidence: float | None = typer.Option(None, "--min-confidence", min=0.0, max=1.0,
                                                           help="Keep readings at or above this probability "
                                                                "(default: every related pair the models accept)."),
               gold_entities: bool = typer.Option(False, "--gold-entities",
                                                  help="Use the corpus's own entity mentions (PubTator) instead of "
                                                       "the recogniser and the dictionary."),
               dry_run: bool = typer.Option(False, "--dry-run", help="Mine without writing to the store."),
               progress: bool = ProgressOption,
               as_json: bool = JsonOption) -> None:
    """Mine literature: causes / treats / prevents / associated-with claims between chemicals, diseases,
    findings, exposures and procedures, with polarity, claim strength, scope and provenance."""
    from kg.mining.api import mine_literature
    from kg.mining.literature.models import missing_files

    _check_path(path)
    model_dir = _literature_model_dir(model_dir)
    gone = missing_files(model_dir)
    if gone:
        raise UserInputError(f"no complete literature models in {model_dir} (missing {', '.join(gone[:3])}); "
                             "run `mcrag mine train-relations` first")
    settings = settings_for(store)
    kwargs = dict(model_dir=model_dir, limit=limit, batch_size=batch_size or 64, processes=processes, cluster=cluster,
                  min_confidence=min_confidence, gold_entities=gold_entities, progress=progress)
    if dry_run:
        summary = mine_literature(None, path, **kwargs)  # type: ignore[arg-type]
    else:
        with open_configured_store(settings) as st:
            summary = mine_literature(st, path, **kwargs)  # type: ignore[arg-type]
    _show(summary, as_json)


@app.command("train-relations")
def train_relations_cmd(model_dir: Path | None = typer.Option(DEFAULT_MODEL_DIR, "--model-dir",
                                                              help="Where to save the models (default: "
                                                                   "$MCRAG_HOME/models/literature)."),
                        literature_dir: Path | None = typer.Option(None, "--literature-dir",
                                                                   help="Folder with bc5cdr/, biored/, ade_corpus_v2/, "
                                                                        "causal_language/ and negex/ (default: "
                                                                        "<data>/literature)."),
                        ontology_dir: Path | None = typer.Option(None, "--ontology-dir",
                                                                 help="Folder with hp.obo and HumanDO_legacy.obo "
                                                                      "(default: <data>/ontologies)."),
                        tune: bool = typer.Option(False, "--tune/--no-tune",
                                                  help="Repeat the cross-validated hyperparameter searches "
                                                       "(default: the values they chose)."),
                        retrain_recogniser: bool = typer.Option(False, "--retrain-recogniser",
                                                                help="Retrain the recogniser even when the folder "
                                                                     "holds one."),
                        as_json: bool = JsonOption) -> None:
    """Train the literature miner's models: recogniser, normaliser, relation kinds, document scorer,
    negation and claim strength."""
    from kg.mining.literature.training import Settings as TrainSettings
    from kg.mining.literature.training import train_literature_models

    settings = settings_for(None)
    model_dir = _literature_model_dir(model_dir)
    lit = literature_dir or settings.data("literature")
    need = ("bc5cdr/CDR_TrainingSet.PubTator.txt", "biored/Train.PubTator", "ade_corpus_v2/DRUG-AE.rel",
            "causal_language/pubmed_causal_language_use.csv", "negex/rsAnnotations-1-120-random.txt")
    absent = [n for n in need if not (lit / n).is_file()]
    if absent:
        raise UserInputError(f"training corpora missing under {lit}: {', '.join(absent)} "
                             "(set MCRAG_DATA_DIR or --literature-dir)")
    onto = ontology_dir or settings.data("ontologies")
    if ontology_dir is not None and not ontology_dir.is_dir():
        raise UserInputError(f"ontology folder {ontology_dir} not found")
    manifest = train_literature_models(model_dir, lit, ontology_dir=onto if onto.is_dir() else None,
                                       settings=TrainSettings(tune=tune), retrain_recogniser=retrain_recogniser,
                                       progress=lambda m: console.print(m, markup=False, highlight=False))
    if as_json:
        typer.echo(json.dumps({"model_dir": str(model_dir), **manifest}, indent=2, default=str))
    else:
        console.print(f"models: {model_dir} ({manifest['training_seconds']} s)", markup=False, highlight=False)
