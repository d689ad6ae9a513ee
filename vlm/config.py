"""Where the VLM's artefacts live and which model and retrieval mode are the defaults.

Read from ``MCRAG_VLM_MODEL``, ``MCRAG_VLM_INDEX``, ``MCRAG_RETRIEVAL`` and ``MCRAG_VLM_THREADS`` on top
of the project's working folder, so a deployment swaps the model or the retrieval mode with one
variable and every command (and the pipeline) follows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vlm.retrieval import check_mode

DEFAULT_MODEL_NAME = "vlm-default"
DEFAULT_INDEX_NAME = "exemplars"


def default_cache_dir() -> Path:
    """``$MCRAG_HOME/cache`` (``var/cache``): where text embeddings are cached between runs."""
    return Path(os.environ.get("MCRAG_HOME") or "var") / "cache"


@dataclass(frozen=True)
class VLMSettings:
    model_dir: Path
    index_dir: Path
    retrieval: str = "causal"
    threads: int = 1
    cache_dir: Path | None = None

    @classmethod
    def from_env(cls, home: Path, models_dir: Path | None = None, index_dir: Path | None = None) -> VLMSettings:
        env = os.environ
        model = Path(env["MCRAG_VLM_MODEL"]) if env.get("MCRAG_VLM_MODEL") else (
            (models_dir or home / "models") / DEFAULT_MODEL_NAME)
        index = Path(env["MCRAG_VLM_INDEX"]) if env.get("MCRAG_VLM_INDEX") else (
            (index_dir or home / "index") / DEFAULT_INDEX_NAME)
        mode = check_mode(env.get("MCRAG_RETRIEVAL", "causal") or "causal")
        try:
            threads = int(env.get("MCRAG_VLM_THREADS", "1") or 1)
        except ValueError:
            raise ValueError(f"MCRAG_VLM_THREADS={env['MCRAG_VLM_THREADS']!r} is not an integer") from None
        return cls(model, index, mode, max(1, threads), home / "cache")
