"""The VLM's settings: which model and exemplar index to load, the retrieval mode, threads, the cache.

The shell builds them from its one settings object (``mcrag.settings.Settings.vlm``) and passes them
down; nothing in ``vlm`` reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vlm.retrieval import check_mode

DEFAULT_MODEL_NAME = "vlm-default"
DEFAULT_INDEX_NAME = "exemplars"


@dataclass(frozen=True)
class VLMSettings:
    model_dir: Path
    index_dir: Path
    retrieval: str = "causal"
    """``none``, ``semantic`` or ``causal``."""
    threads: int = 1
    cache_dir: Path | None = None
    """Where text embeddings are cached between runs (None: no cache)."""

    def __post_init__(self) -> None:
        check_mode(self.retrieval)
