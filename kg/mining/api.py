"""The miners' Python API: what the CLI and the end-to-end pipeline job call.

    summary = mine_reports(store, "data/cxr_labels/NLMCXR_reports.tgz", matrix_out="var/runs/findings.csv",
                           splits=read_r2gen_splits("data/iu_xray/annotation.json"))
    summary = mine_literature(store, "data/literature/medquad", model_dir="var/models/literature")
    build_finding_matrix("data/iu_xray/annotation.json", "var/runs/findings.csv")
    train_literature_models("var/models/literature", "data/literature", ontology_dir="data/ontologies")

Paths are parameters: this layer never reads settings.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from kg.mining.core.documents import Document, ReportFindings, Skipped
from kg.mining.core.readers import iter_documents, iter_report_documents
from kg.mining.core.runner import MiningTask, execute
from kg.mining.core.storage import MiningSummary, PartitionWriter
from kg.mining.literature.task import LiteratureTask
from kg.mining.reports.matrix import write_matrix
from kg.mining.reports.task import ReportTask
from kg.namespaces import NAMED_GRAPHS
from kg.store.base import Store

log = logging.getLogger(__name__)


def _documents(kind: str, path: Path | str, limit: int | None, run: PartitionWriter,
               splits: Mapping[str, str] | None = None) -> Iterator[Document]:
    n = 0
    items = (iter_report_documents(path, splits=splits) if kind == "report"
             else iter_documents("abstract", path))
    for item in items:
        if isinstance(item, Skipped):
            run.skip(item)
            continue
        if limit is not None and n >= limit:
            return
        n += 1
        yield item


def _progress(enabled: bool, kind: str, total: int | None) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="doc", desc=f"mining {kind}s", dynamic_ncols=True)


def _run(kind: str, store: Store | None, path: Path | str, task: MiningTask, graph: str | None, *, limit: int | None,
         batch_size: int, processes: int, cluster: str | None, progress: bool,
         splits: Mapping[str, str] | None = None) -> tuple[MiningSummary, PartitionWriter]:
    summary = MiningSummary(kind, str(path), graph if store is not None else None)
    bar = _progress(progress, kind, limit)
    run = PartitionWriter(store, graph or "", summary, bar)
    started = time.perf_counter()
    try:
        summary.backend = execute(task, _documents(kind, path, limit, run, splits), batch_size=batch_size,
                                  processes=processes, cluster=cluster, on_result=run)
    finally:
        summary.seconds = round(time.perf_counter() - started, 3)
        if bar is not None:
            bar.close()
    return summary, run


def mine_reports(store: Store | None, path: Path | str, *, limit: int | None = None, batch_size: int = 256,
                 processes: int = 1, cluster: str | None = None, labeler_dir: Path | str | None = None,
                 matrix_out: Path | str | None = None, uncertain_as_present: bool = True,
                 graph: str | None = None, progress: bool = False, parse: bool = False,
                 splits: Mapping[str, str] | None = None) -> MiningSummary:
    """Mine radiology reports: causal statements into ``graph`` (default: the reports graph), and
    optionally the report x finding matrix to ``matrix_out``. ``store=None`` mines without writing.
    ``splits`` (study id -> split, :func:`read_r2gen_splits`) labels reports that carry no split."""
    task = ReportTask(labeler_dir=str(labeler_dir or ""), parse=parse)
    summary, run = _run("report", store, path, task, graph or NAMED_GRAPHS["reports"], limit=limit,
                        batch_size=batch_size, processes=processes, cluster=cluster, progress=progress,
                        splits=splits)
    if matrix_out is not None:
        summary.matrix_path = str(write_matrix(run.ordered_findings(), matrix_out,
                                               uncertain_as_present=uncertain_as_present))
    return summary


def mine_literature(store: Store | None, path: Path | str, *, model_dir: Path | str, limit: int | None = None,
                    batch_size: int = 64, processes: int = 1, cluster: str | None = None,
                    min_confidence: float | None = None, gold_entities: bool = False, graph: str | None = None,
                    progress: bool = False) -> MiningSummary:
    """Mine abstracts and pages (PubTator, PubMed XML / JSON, PubMedQA, MedQuAD XML, text) into typed claims
    (causes / treats / prevents / associatedWith) in ``graph`` (default: literature) with the trained models
    of ``model_dir`` (:func:`kg.mining.literature.training.train_literature_models`)."""
    from kg.mining.literature.models import missing_files

    gone = missing_files(model_dir)
    if gone:
        raise FileNotFoundError(f"the literature models in {model_dir} are incomplete (missing {', '.join(gone)}); "
                                "train them with `mcrag mine train-relations`")
    task = LiteratureTask(model_dir=str(model_dir), min_confidence=min_confidence, use_gold_entities=gold_entities)
    summary, _ = _run("abstract", store, path, task, graph or NAMED_GRAPHS["literature"], limit=limit,
                      batch_size=batch_size, processes=processes, cluster=cluster, progress=progress)
    return summary


def report_findings_table(path: Path | str, *, labeler_dir: Path | str | None = None, limit: int | None = None,
                          processes: int = 1, batch_size: int = 256, cluster: str | None = None,
                          splits: Mapping[str, str] | None = None, keep_mentions: bool = False
                          ) -> tuple[list[ReportFindings], MiningSummary]:
    """Finding statuses and Open-i labels of every report under ``path`` (no store involved);
    ``keep_mentions`` also returns each row's finding mentions."""
    task = ReportTask(labeler_dir=str(labeler_dir or ""), keep_mentions=keep_mentions)
    summary, run = _run("report", None, path, task, None, limit=limit, batch_size=batch_size,
                        processes=processes, cluster=cluster, progress=False, splits=splits)
    return run.ordered_findings(), summary


def build_finding_matrix(path: Path | str, out_csv: Path | str, *, labeler_dir: Path | str | None = None,
                         uncertain_as_present: bool = True, limit: int | None = None, processes: int = 1,
                         batch_size: int = 256, cluster: str | None = None,
                         splits: Mapping[str, str] | None = None) -> Path:
    """Write the report x finding matrix (agreed CSV format; ``.parquet`` for Parquet) and return its path."""
    rows, _ = report_findings_table(path, labeler_dir=labeler_dir, limit=limit, processes=processes,
                                    batch_size=batch_size, cluster=cluster, splits=splits)
    return write_matrix(rows, out_csv, uncertain_as_present=uncertain_as_present)


def skipped_summary(summary: MiningSummary) -> str:
    """One line per skip reason, most frequent first."""
    return "; ".join(f"{r}: {n}" for r, n in Counter(summary.skipped_reasons).most_common())
