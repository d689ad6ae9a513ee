"""The report miner's task: its settings as plain values, so it travels to worker processes."""

from __future__ import annotations

from dataclasses import dataclass

from kg.mining.core.runner import Miner, MiningTask


@dataclass(frozen=True)
class ReportTask(MiningTask):
    """Mine radiology reports for finding statuses and in-report causal statements."""

    labeler_dir: str = ""
    """``<data>/labeler`` (CheXpert phrases, NegBio section titles); empty for the built-in rules only."""
    parse: bool = False
    """Keep the statistical tagger and parser (slower; the rule stages do not need them)."""
    keep_mentions: bool = False
    """Return every finding mention with the report's row (for evaluation and error analysis)."""

    def build(self) -> Miner:
        from kg.mining.reports.miner import ReportMiner

        return ReportMiner(self.labeler_dir or None, parse=self.parse, keep_mentions=self.keep_mentions)
