"""The report miner: a built pipeline that turns a batch of reports into findings and claims."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from kg.mining.core.documents import DocOutput, Document
from kg.mining.reports.findings import report_claims, report_findings
from kg.mining.reports.pipeline import build_report_nlp


class ReportMiner:
    """Holds one report pipeline; :meth:`mine` processes a batch with ``nlp.pipe``."""

    def __init__(self, labeler_dir: Path | str | None = None, *, parse: bool = False, batch_size: int = 256,
                 keep_mentions: bool = False) -> None:
        self.nlp = build_report_nlp(labeler_dir, parse=parse)
        self.batch_size = batch_size
        self.keep_mentions = keep_mentions

    def mine(self, docs: Sequence[Document], when: datetime | None = None) -> list[DocOutput]:
        out = []
        for document, doc in zip(docs, self.nlp.pipe([d.text for d in docs], batch_size=self.batch_size),
                                 strict=True):
            out.append(DocOutput(document.doc_id, tuple(report_claims(doc, document, generated_at=when)),
                                 report_findings(doc, document, keep_mentions=self.keep_mentions)))
        return out
