"""Diagnosis benchmark: PneumoniaMNIST test AUC and accuracy in each retrieval mode.

The front end is the small CNN ensemble of :mod:`benchmarks.cnn` (trained on train, selected and
thresholded on val). Its probabilities are shifted so that the validation-fitted threshold sits at
the grounder's 0.5 (a prior-shift correction: our train split has a third of the official normals).
The exemplar index holds the train images (CNN features), so validation can fit each mode's
threshold without retrieving itself; the test split is scored once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.cnn import (
    CNNConfig,
    TrainedEnsemble,
    fit_threshold,
    load_ensemble,
    save_ensemble,
    train_ensemble,
)
from benchmarks.front_end_grounding import front_end_grounder, ground, trace_of
from benchmarks.metrics import binary_scores, hallucination_rate, traceability
from benchmarks.registry import BenchmarkError, Progress, RunContext
from vlm.index import Exemplar, ExemplarIndex, index_from_vectors
from vlm.infer import Grounder
from vlm.labels import LABEL_INDEX, LABELS, known_bits, to_bits
from vlm.retrieval import MODES

ANCHORS: dict[str, dict[str, float]] = {
    "MedMNIST v2 ResNet-18 (28 px)": {"auc": 0.944, "accuracy": 0.854},
    "MedMNIST v2 ResNet-50 (224 px)": {"auc": 0.962, "accuracy": 0.884},
    "MedMNIST v2 Google AutoML Vision": {"auc": 0.991, "accuracy": 0.946},
    "5-layer CNN, 75 s from scratch (measured here)": {"auc": 0.975},
}
GOALS = {"auc": 0.992, "accuracy": 0.95}


def read_pneumoniamnist(data_file: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """PneumoniaMNIST's ``.npz`` as {split: (images, 0/1 labels)} for train, val and test."""
    if not data_file.is_file():
        raise BenchmarkError(f"PneumoniaMNIST not found at {data_file}")
    data = np.load(data_file)
    return {s: (data[f"{s}_images"], data[f"{s}_labels"].reshape(-1).astype(int)) for s in ("train", "val", "test")}


def _label_vector(y: int) -> tuple[int, ...]:
    values = [0] * len(LABELS)
    if y:
        values = [-1] * len(LABELS)
        values[LABEL_INDEX["Pneumonia"]] = 1
        values[LABEL_INDEX["normal"]] = 0
    else:
        values[LABEL_INDEX["normal"]] = 1
    return tuple(values)


def build_pneumonia_index(features: np.ndarray, labels: np.ndarray, split: str = "train") -> ExemplarIndex:
    """Exemplar index over CNN features, labelled like :func:`vlm.data.read_pneumoniamnist` does."""
    vecs = [_label_vector(int(y)) for y in labels]
    ex = [Exemplar(f"pneumoniamnist/{split}/{i}", "pneumoniamnist", split,
                   findings=("Pneumonia",) if y else ("normal",),
                   text="pediatric chest x-ray: pneumonia" if y else "pediatric chest x-ray: normal lungs")
          for i, y in enumerate(labels)]
    return index_from_vectors(features, np.array([to_bits(v) for v in vecs], dtype=np.uint32),
                              np.array([known_bits(v) for v in vecs], dtype=np.uint32),
                              ["pneumoniamnist|unknown|unknown"] * len(ex), exemplars=ex,
                              info={"sources": ("pneumoniamnist",), "splits": (split,)})


def shift_to_half(p: np.ndarray, threshold: float) -> np.ndarray:
    """Move probabilities by a constant in logit space so that ``threshold`` maps to 0.5."""
    eps = 1e-6
    q = np.clip(p, eps, 1 - eps)
    t = min(max(threshold, eps), 1 - eps)
    return 1.0 / (1.0 + np.exp(-(np.log(q / (1 - q)) - math.log(t / (1 - t)))))


@dataclass(frozen=True)
class ModeResult:
    mode: str
    auc: float
    accuracy: float
    f1: float
    threshold: float
    hallucination_rate: float
    traceability_any: float
    traceability_graph: float

    def to_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _grounded_scores(grounder: Grounder, probs: np.ndarray, feats: np.ndarray, mode: str,
                     tick: Callable[[], None] | None = None) -> tuple[np.ndarray, list[Any]]:
    out, results = np.zeros(len(probs)), []
    for i, (p, f) in enumerate(zip(probs, feats, strict=True)):
        vec = {"Pneumonia": float(p), "normal": float(1 - p)}
        r = ground(grounder, vec, f, "diagnose", mode)
        out[i] = r.probabilities()["Pneumonia"]
        results.append(r)
        if tick:
            tick()
    return out, results


def evaluate_pneumonia(data_file: Path, ensemble: TrainedEnsemble | Path, modes: Sequence[str] = MODES, *,
                       progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """Scores per mode on the test split (each mode's threshold fitted on val)."""
    ens = load_ensemble(str(ensemble)) if isinstance(ensemble, Path) else ensemble
    split = read_pneumoniamnist(data_file)
    pred = {s: ens.predict(x) for s, (x, _) in split.items()}
    index = build_pneumonia_index(pred["train"][1], split["train"][1])
    grounder = front_end_grounder("pneumonia-cnn-ensemble", index)
    yv, yt = split["val"][1], split["test"][1]
    out: dict[str, Any] = {"modes": {}, "val": {}}
    total = len(modes) * (len(yv) + len(yt))
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress and (done[0] % 50 == 0 or done[0] == total):
            progress("grounded diagnosis", done[0], total)

    pv = shift_to_half(pred["val"][0], ens.threshold)
    pt = shift_to_half(pred["test"][0], ens.threshold)
    for mode in modes:
        sv, _ = _grounded_scores(grounder, pv, pred["val"][1], mode, tick)
        thr = fit_threshold(sv, yv)
        st, results = _grounded_scores(grounder, pt, pred["test"][1], mode, tick)
        sc = binary_scores(yt, st, thr)
        asserted = [("Pneumonia",) if s >= thr else () for s in st]
        gold = [("Pneumonia",) if y else () for y in yt]
        traces = [trace_of(r, a) for r, a in zip(results, asserted, strict=True)]
        out["val"][mode] = {"auc": round(binary_scores(yv, sv, thr).auc, 4), "threshold": round(thr, 4)}
        out["modes"][mode] = ModeResult(
            mode, sc.auc, sc.accuracy, sc.f1, thr, hallucination_rate(gold, asserted),
            traceability([t.any_item for t in traces]), traceability([t.graph_item for t in traces])).to_json()
    out["front_end"] = {"val_auc": round(ens.val_auc, 4), "val_threshold": round(ens.threshold, 4),
                        "members": len(ens.members), "width": ens.config.width, "input_px": ens.config.size,
                        "epochs": ens.config.epochs, "train_seconds": round(ens.seconds, 1)}
    out["counts"] = {s: {"n": int(len(y)), "pneumonia": int(y.sum()), "normal": int((1 - y).sum())}
                     for s, (_, y) in split.items()}
    return out


# ---------------------------------------------------------------------------------------- entry point
RECIPE: dict[str, Any] = {"width": 16, "epochs": 15, "seeds": (0, 1, 2)}
"""Fixed epochs, sized for a 2-core CPU, so the same command trains the same front end on any machine;
a time cap is applied only when the user asks for one."""


def run(ctx: RunContext) -> dict[str, Any]:
    """Registry entry point (``diagnose`` / ``pneumoniamnist``): the cached or freshly trained front end,
    scored in each mode, with its notes."""
    data_file = ctx.data_dir / "pneumoniamnist" / "pneumoniamnist.npz"
    ens = _front_end(data_file, ctx.models_dir, ctx.progress, ctx.train_cap_s)
    out = evaluate_pneumonia(data_file, ens, ctx.modes, progress=ctx.progress)
    out["checkpoint"] = str(_checkpoint(ctx.models_dir))
    return annotate(out)


def _checkpoint(models_dir: Path) -> Path:
    r = RECIPE
    return models_dir / f"pneumonia-cnn-w{r['width']}-e{r['epochs']}-x{len(r['seeds'])}.pt"


def _front_end(data_file: Path, models_dir: Path, progress: Progress | None, train_cap_s: float | None
               ) -> TrainedEnsemble:
    split = read_pneumoniamnist(data_file)
    ckpt = _checkpoint(models_dir)
    if ckpt.is_file():
        return load_ensemble(str(ckpt))
    r = RECIPE
    cfg = CNNConfig(width=r["width"], epochs=r["epochs"], seeds=tuple(r["seeds"]), time_budget_s=train_cap_s)
    ens = train_ensemble(*split["train"], *split["val"], cfg,
                         progress=(lambda s: progress(s, 0, 0)) if progress else None)
    for m in ens.members:
        m.cpu()
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    save_ensemble(ens, str(ckpt))
    return ens


def annotate(out: dict[str, Any]) -> dict[str, Any]:
    fe = out["front_end"]
    out.update(anchors=ANCHORS, goals=GOALS, notes=[
        "Train split: a Kaggle-derived one with 388 normals (a third of the official 1214); the loss is "
        "class-balanced and the threshold fitted on val, never on test.",
        f"Front end: ensemble of {fe['members']} small ResNets ({fe['input_px']} px, width {fe['width']}, "
        f"{fe['epochs']} epochs each, trained from scratch in {fe['train_seconds']} s), flip test-time "
        "augmentation; exemplar index = train images by CNN features; each mode's threshold fitted on val; "
        "test scored once."])
    return out
