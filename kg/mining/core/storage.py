"""Where a mining run's results go: each partition's claims into the store in one transaction, the
counts into the run's summary, and the report finding rows kept in document order for the matrix."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from kg.claims import write_claims
from kg.mining.core.documents import ReportFindings, Skipped
from kg.mining.core.runner import PartitionResult
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


class PartitionWriter:
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
