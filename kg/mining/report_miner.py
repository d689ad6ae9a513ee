"""The report miner: a built pipeline that turns a batch of reports into findings and claims."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kg.claims import CausalClaim
from kg.mining.documents import Document, ReportFindings
from kg.mining.nlp import build_report_nlp
from kg.mining.reports import report_claims, report_findings


@dataclass(frozen=True)
class DocOutput:
    """What one document gave: its claims and, for reports, its finding statuses."""

    doc_id: str
    claims: tuple[CausalClaim, ...]
    findings: ReportFindings | None = None


class ReportMiner:
    """Holds one report pipeline; :meth:`mine` processes a batch with ``nlp.pipe``."""

    def __init__(self, labeler_dir: Path | str | None = None, *, parse: bool = False, batch_size: int = 256) -> None:
        self.nlp = build_report_nlp(labeler_dir, parse=parse)
        self.batch_size = batch_size

    def mine(self, docs: Sequence[Document], when: datetime | None = None) -> list[DocOutput]:
        out = []
        for document, doc in zip(docs, self.nlp.pipe([d.text for d in docs], batch_size=self.batch_size),
                                 strict=True):
            out.append(DocOutput(document.doc_id, tuple(report_claims(doc, document, generated_at=when)),
                                 report_findings(doc, document)))
        return out
