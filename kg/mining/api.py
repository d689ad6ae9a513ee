"""The miners' Python API: what the CLI and the end-to-end pipeline job call.

    summary = mine_reports(store, "data/iu_xray/annotation.json", matrix_out="var/runs/findings.csv")
    summary = mine_literature(store, "data/literature/bc5cdr", model_dir="var/models/relation")
    build_finding_matrix("data/iu_xray/annotation.json", "var/runs/findings.csv")
    train_relations("var/models/relation", "data/literature/bc5cdr/CDR_TrainingSet.PubTator.txt", ...)

Paths are parameters: this layer never reads settings.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kg.claims import write_claims
from kg.mining.documents import Document, ReportFindings, Skipped
from kg.mining.matrix import write_matrix
from kg.mining.readers import iter_documents
from kg.mining.runner import MiningTask, PartitionResult, execute
from kg.namespaces import NAMED_GRAPHS
from kg.store.base import Store

log = logging.getLogger(__name__)


@dataclass
class MiningSummary:
    """What a mining run did; printed by the CLI, returned to the pipeline job."""

    kind: str
    path: str
    graph: str | None
    backend: str = "inline"
    documents: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    skipped_examples: list[str] = field(default_factory=list)
    claims_found: int = 0
    claims_added: int = 0
    claims_existing: int = 0
    quads_added: int = 0
    batches: int = 0
    seconds: float = 0.0
    matrix_path: str | None = None

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "documents_per_second": round(self.documents_per_second, 2)}


class _Run:
    """Collects partition results: writes claims per partition (one transaction each), counts, keeps rows."""

    def __init__(self, store: Store | None, graph: str, summary: MiningSummary, progress: Any) -> None:
        self.store = store
        self.graph = graph
        self.summary = summary
        self.progress = progress
        self.findings: dict[int, list[ReportFindings]] = {}

    def __call__(self, result: PartitionResult) -> None:
        s = self.summary
        s.batches += 1
        s.documents += result.documents - len(result.skipped)
        s.claims_found += len(result.claims)
        if self.store is not None and result.claims:
            rep = write_claims(self.store, result.claims, self.graph)
            s.claims_added += rep.written
            s.claims_existing += rep.skipped_existing
            s.quads_added += rep.quads_added
        for sk in result.skipped:
            self.skip(sk)
        if result.findings:
            self.findings[result.index] = result.findings
        if self.progress is not None:
            self.progress.update(result.documents)
            self.progress.set_postfix(claims=s.claims_found, skipped=s.skipped, refresh=False)

    def skip(self, sk: Skipped) -> None:
        s = self.summary
        s.skipped += 1
        reason = sk.reason.split(" (")[0]
        s.skipped_reasons[reason] = s.skipped_reasons.get(reason, 0) + 1
        if len(s.skipped_examples) < 20:
            s.skipped_examples.append(f"{sk.where}: {sk.reason}")
        log.warning("skipped %s: %s", sk.where, sk.reason)

    def ordered_findings(self) -> list[ReportFindings]:
        return [rf for i in sorted(self.findings) for rf in self.findings[i]]


def _documents(kind: str, path: Path | str, limit: int | None, run: _Run) -> Iterator[Document]:
    n = 0
    for item in iter_documents("report" if kind == "report" else "abstract", path):
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
         batch_size: int, processes: int, cluster: str | None, progress: bool) -> tuple[MiningSummary, _Run]:
    summary = MiningSummary(kind, str(path), graph if store is not None else None)
    bar = _progress(progress, kind, limit)
    run = _Run(store, graph or "", summary, bar)
    started = time.perf_counter()
    try:
        summary.backend = execute(task, _documents(kind, path, limit, run), batch_size=batch_size,
                                  processes=processes, cluster=cluster, on_result=run)
    finally:
        summary.seconds = round(time.perf_counter() - started, 3)
        if bar is not None:
            bar.close()
    return summary, run


def mine_reports(store: Store | None, path: Path | str, *, limit: int | None = None, batch_size: int = 256,
                 processes: int = 1, cluster: str | None = None, labeler_dir: Path | str | None = None,
                 matrix_out: Path | str | None = None, uncertain_as_present: bool = True,
                 graph: str | None = None, progress: bool = False, parse: bool = False) -> MiningSummary:
    """Mine radiology reports: causal statements into ``graph`` (default: the reports graph), and
    optionally the report x finding matrix to ``matrix_out``. ``store=None`` mines without writing."""
    task = MiningTask("report", labeler_dir=str(labeler_dir or ""), parse=parse)
    summary, run = _run("report", store, path, task, graph or NAMED_GRAPHS["reports"], limit=limit,
                        batch_size=batch_size, processes=processes, cluster=cluster, progress=progress)
    if matrix_out is not None:
        summary.matrix_path = str(write_matrix(run.ordered_findings(), matrix_out,
                                               uncertain_as_present=uncertain_as_present))
    return summary


def mine_literature(store: Store | None, path: Path | str, *, model_dir: Path | str | None = None,
                    lexicon_path: Path | str | None = None, limit: int | None = None, batch_size: int = 64,
                    processes: int = 1, cluster: str | None = None, min_confidence: float | None = None,
                    gold_entities: bool = False, graph: str | None = None, progress: bool = False) -> MiningSummary:
    """Mine abstracts: chemical / disease cause -> effect claims into ``graph`` (default: literature)."""
    if model_dir is None and lexicon_path is None and not gold_entities:
        raise FileNotFoundError("give model_dir (a trained relation model with its lexicon) or lexicon_path")
    task = MiningTask("literature", lexicon_path=str(lexicon_path or ""), model_dir=str(model_dir or ""),
                      min_confidence=min_confidence, use_gold_entities=gold_entities)
    summary, _ = _run("abstract", store, path, task, graph or NAMED_GRAPHS["literature"], limit=limit,
                      batch_size=batch_size, processes=processes, cluster=cluster, progress=progress)
    return summary


def report_findings_table(path: Path | str, *, labeler_dir: Path | str | None = None, limit: int | None = None,
                          processes: int = 1, batch_size: int = 256, cluster: str | None = None
                          ) -> tuple[list[ReportFindings], MiningSummary]:
    """Finding statuses of every report under ``path`` (no store involved)."""
    task = MiningTask("report", labeler_dir=str(labeler_dir or ""))
    summary, run = _run("report", None, path, task, None, limit=limit, batch_size=batch_size,
                        processes=processes, cluster=cluster, progress=False)
    return run.ordered_findings(), summary


def build_finding_matrix(path: Path | str, out_csv: Path | str, *, labeler_dir: Path | str | None = None,
                         uncertain_as_present: bool = True, limit: int | None = None, processes: int = 1,
                         batch_size: int = 256, cluster: str | None = None) -> Path:
    """Write the report x finding matrix (agreed CSV format; ``.parquet`` for Parquet) and return its path."""
    rows, _ = report_findings_table(path, labeler_dir=labeler_dir, limit=limit, processes=processes,
                                    batch_size=batch_size, cluster=cluster)
    return write_matrix(rows, out_csv, uncertain_as_present=uncertain_as_present)


def skipped_summary(summary: MiningSummary) -> str:
    """One line per skip reason, most frequent first."""
    return "; ".join(f"{r}: {n}" for r, n in Counter(summary.skipped_reasons).most_common())
