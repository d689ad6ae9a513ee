"""The literature miner's task: its settings as plain values, so it travels to worker processes."""

from __future__ import annotations

from dataclasses import dataclass

from kg.mining.core.runner import Miner, MiningTask


@dataclass(frozen=True)
class LiteratureTask(MiningTask):
    """Mine abstracts for chemical / disease cause -> effect claims."""

    lexicon_path: str = ""
    """Entity dictionary (``lexicon.json``); empty to take the one saved beside the model."""
    model_dir: str = ""
    """Trained relation model; empty for the patterns alone."""
    min_confidence: float | None = None
    """Confidence a claim needs (default: the model's fitted threshold)."""
    use_gold_entities: bool = False
    """Take the corpus's own entity mentions instead of the dictionary matcher's."""

    def build(self) -> Miner:
        from kg.mining.literature.miner import LiteratureMiner

        return LiteratureMiner(self.lexicon_path or None, self.model_dir or None,
                               min_confidence=self.min_confidence, gold_entities=self.use_gold_entities)
