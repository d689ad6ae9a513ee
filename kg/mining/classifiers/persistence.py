"""Saving a fitted classifier as one pickle plus a JSON sidecar, atomically, and loading it back."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any


def save_pickled(model: Any, folder: Path | str, model_file: str, meta_file: str, meta: dict[str, Any]) -> Path:
    """Pickle ``model`` atomically into ``folder`` with a JSON sidecar."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (model_file + ".part")
    with tmp.open("wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(folder / model_file)
    (folder / meta_file).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return folder / model_file


def load_pickled(cls: type, folder: Path | str, model_file: str) -> Any:
    path = Path(folder) / model_file
    if not path.is_file():
        raise FileNotFoundError(f"no {cls.__name__} at {path}; train one first")
    with path.open("rb") as fh:
        model = pickle.load(fh)  # noqa: S301 - our own artefact, written by save()
    if not isinstance(model, cls):
        raise ValueError(f"{path} does not hold a {cls.__name__}")
    return model
