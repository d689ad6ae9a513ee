"""The literature miner's task: its settings as plain values, so it travels to worker processes."""

from __future__ import annotations

from dataclasses import dataclass

from kg.mining.core.runner import Miner, MiningTask


@dataclass(frozen=True)
class LiteratureTask(MiningTask):
    """Mine abstracts and pages for typed relations between chemicals, diseases, findings, exposures and
    procedures."""

    model_dir: str = ""
    """The trained literature models (:mod:`kg.mining.literature.models`)."""
    min_confidence: float | None = None
    """Probability a reading needs to become a claim (default: every related pair the models accept)."""
    use_gold_entities: bool = False
    """Take the corpus's own entity mentions instead of the recogniser's and the dictionary's."""

    def build(self) -> Miner:
        from kg.mining.literature.miner import LiteratureMiner

        if not self.model_dir:
            raise FileNotFoundError("the literature miner needs its trained models; run `mcrag mine train-relations`")
        return LiteratureMiner(self.model_dir, min_confidence=self.min_confidence, gold_entities=self.use_gold_entities)
