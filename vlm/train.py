"""Training the embedded model from scratch on a CPU: vision first, then language.

Stage 1 (vision) trains the small ResNet, the diagnosis head (masked multi-label loss: every data set
annotates only some labels) and the embedding head (contrastive against MiniLM embeddings of each
image's report, note, label or QA text) on every labelled image, with sampling balanced across
sources and light geometric and intensity augmentation. The diagnosis head is then calibrated by
temperature scaling on the validation images.

Stage 2 (language) freezes the vision tower and trains the projector and the GPT-2 decoder on
IU-Xray reports (findings from gold labels through a noise model, so any front end's findings can
drive it), yes/no questions generated from IU-Xray training labels, and VQA-RAD questions (with
their images). Prompts mix the three retrieval modes: no context, a similar case, a similar case
plus causal evidence. Everything is written with ``save_pretrained`` together with a report and the
training curve (PNG).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from kg.store.base import Store
from vlm.calibration import fit_temperatures
from vlm.confounders import (
    CONFOUNDERS,
    TEXTURE_CONFOUNDERS,
    balancing_weights,
    fit_propensities,
    target_class,
    texture_statistic,
    worst_view_matched_auc,
)
from vlm.data import SOURCES, Corpus, Record, load_sources
from vlm.encoders import TextEncoder
from vlm.grounding import SubgraphCache, prompt_evidence, starter_store
from vlm.images import INTENSITY_MODES, ImageError, load_image, normalise, square_resize
from vlm.labels import ADULT_PREVALENCE, LABEL_INDEX, LABELS, UNKNOWN, label_text, mentions, sentences
from vlm.model import GroundedVLM, GroundedVLMConfig, derive_normal
from vlm.prompts import Prompt, encode_prompt, encode_target, findings_text, first_sentences
from vlm.tokenizer import train_tokenizer

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int, dict[str, float]], None]
"""``progress(stage, step, total_steps, metrics)``."""

QUESTION_TEMPLATES: tuple[str, ...] = (
    "is there {x}?", "is there evidence of {x}?", "does the patient have {x}?", "is {x} present?",
    "is {x} seen on the chest x-ray?", "any {x}?",
)
NORMAL_QUESTIONS: tuple[str, ...] = ("is this a normal chest x-ray?", "is the chest x-ray normal?")


DEFAULT_SOURCE_SHARES: tuple[tuple[str, float], ...] = (
    ("nih_1000", 0.4), ("pediatric_cxr", 0.3), ("cxr_covid", 0.2), ("vqa_rad", 0.1))
"""Share of the vision stage's samples drawn from each source (renormalised over the sources present;
a source not named gets 0.1). Adult films lead: they are what the front end must read."""
CONFOUNDER_RULES: tuple[str, ...] = ("propensity", "off")
"""``propensity``: inverse-propensity sampling weights over each source's recorded confounders and
checkpoints chosen by the worst view stratum of the confounder-weighted validation AUC
(:mod:`vlm.confounders`); ``off``: neither (checkpoint by validation loss), kept to measure the rule."""
POPULATION_PREVALENCE: dict[str, dict[str, float]] = {"adult": ADULT_PREVALENCE}
"""Base rates per source group that :attr:`TrainConfig.prior_correction` can move a group to."""
CHECKPOINT_RULES: tuple[str, ...] = ("rule", "last")
"""``rule``: the checkpoint the confounder rule picks (or the lowest validation loss without it);
``last``: the end of training."""


@dataclass(frozen=True)
class TrainConfig:
    """What to train and for how long; :meth:`fast` is the setting for an end-to-end pipeline run."""

    image_size: int = 64
    vision_epochs: int = 8
    samples_per_epoch: int = 4000
    batch_size: int = 64
    lr: float = 3e-3
    contrastive_weight: float = 0.5
    lm_epochs: int = 3
    lm_batch_size: int = 24
    lm_lr: float = 2e-3
    lm_max_examples: int | None = None
    """Cap on decoder examples per epoch (None: all)."""
    max_steps: int | None = None
    """Cap on optimiser steps per stage (for smoke runs)."""
    vocab_size: int = 2000
    seed: int = 0
    threads: int = 1
    """Torch threads; on a small shared machine one thread is fastest for models this size."""
    sources: tuple[str, ...] = SOURCES
    vision_config: dict[str, Any] = field(default_factory=dict)
    text_config: dict[str, Any] = field(default_factory=dict)
    num_visual_tokens: int = 4
    intensity: str = "zscore"
    """Per-image intensity normalisation (:data:`vlm.images.INTENSITY_MODES`)."""
    confounder_rule: str = "propensity"
    """How the vision stage keeps off recorded confounders (:data:`CONFOUNDER_RULES`)."""
    source_shares: tuple[tuple[str, float], ...] = DEFAULT_SOURCE_SHARES
    low_resolution: float = 0.2
    """Share of training samples shown at a random lower resolution (24-40 px, scaled back up), so
    small or blurred uploads (PneumoniaMNIST's 28 px) read like the rest."""
    texture_augment: float = 0.0
    """Share of training samples given each texture-destroying change (JPEG re-encoding at a random
    quality, Gaussian blur, Gaussian noise, downscale-upscale; drawn independently), so the fine texture
    and noise that tell apart how two folders were made stop carrying the class."""
    texture_confounder: bool = False
    """Add each film's texture statistic (:func:`vlm.confounders.texture_statistic`) to the confounder
    cells of the sources that have them (under the ``propensity`` rule)."""
    checkpoint: str = "rule"
    """Which checkpoint is kept (:data:`CHECKPOINT_RULES`)."""
    flip: bool = False
    """Horizontal flips in training, and predictions averaged over the film and its mirror image."""
    source_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Per-source-group diagnosis heads: (group, its sources) in order, e.g. adult films, paediatric films,
    the rest; each head learns from its own group's films only and a group classifier mixes them at
    inference (:meth:`vlm.model.GroundedVLM.diagnosis_logits`). Empty: one head for every source."""
    group_heads: bool = True
    """With ``source_groups``: a diagnosis head per group (True), or one shared head and the group classifier."""
    prior_correction: tuple[str, ...] = ()
    """Source groups (of ``source_groups``) whose probabilities are moved, after calibration, from the base
    rates the sampler showed them to the population's (:data:`POPULATION_PREVALENCE`; ``adult``: NIH
    ChestX-ray14's): a training set with pneumonia in half its adult films otherwise calls pneumonia on
    most normal adult films."""
    within_folder: tuple[str, ...] = ()
    """Sources whose normal and abnormal films come from two folders made differently (``nih_1000``): their
    normal films are left out of training and their folder-defining labels (normal, pneumonia) masked, so
    the findings are learned only from contrasts inside the abnormal folder, and the model's P(normal)
    is derived from the findings (:func:`vlm.model.derive_normal`)."""
    pixel_cache: str | None = None
    """Folder where resized training images are cached between runs (None: no cache)."""
    vision_only: bool = False
    """Stop after the vision stage (benchmarks of the front end; the decoder is left untrained)."""

    def __post_init__(self) -> None:
        if self.intensity not in INTENSITY_MODES:
            raise ValueError(f"unknown intensity normalisation {self.intensity!r}; use {', '.join(INTENSITY_MODES)}")
        if self.confounder_rule not in CONFOUNDER_RULES:
            raise ValueError(f"unknown confounder rule {self.confounder_rule!r}; use {', '.join(CONFOUNDER_RULES)}")
        unknown = set(self.prior_correction) - {g for g, _ in self.source_groups}
        if unknown:
            raise ValueError(f"prior_correction names {', '.join(sorted(unknown))}, not among the source_groups")
        unknown = set(self.prior_correction) - set(POPULATION_PREVALENCE)
        if unknown:
            raise ValueError(f"no population base rates for {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(POPULATION_PREVALENCE)}")
        if self.checkpoint not in CHECKPOINT_RULES:
            raise ValueError(f"unknown checkpoint rule {self.checkpoint!r}; use {', '.join(CHECKPOINT_RULES)}")
        if not 0.0 <= self.texture_augment <= 1.0:
            raise ValueError(f"texture_augment is a share of samples in [0, 1], got {self.texture_augment}")

    @classmethod
    def fast(cls, **overrides: Any) -> TrainConfig:
        """A few CPU minutes: fewer samples and a subset of decoder examples.

        The vision stage runs 10 epochs of 3,000 samples: twice the first round's, chosen on the
        ``nih_621`` dev part (docs/RESULTS.md, front end round two; ``docs/results/frontend_dev.json``).
        """
        base = cls(vision_epochs=10, samples_per_epoch=3000, lm_epochs=1, lm_max_examples=2500)
        return replace(base, **overrides)


@dataclass(frozen=True)
class TrainReport:
    out_dir: str
    seconds: float
    config: dict[str, Any]
    counts: dict[str, int]
    val: dict[str, float]
    calibration: dict[str, Any]
    history: dict[str, list[list[float]]]
    curve: str | None
    samples: list[dict[str, str]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------- helpers
def _set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC (scikit-learn) over the annotated cases (label 0 or 1); NaN when a class is missing."""
    from sklearn.metrics import roc_auc_score

    known = (labels == 0) | (labels == 1)
    y = labels[known]
    if not (y == 1).any() or not (y == 0).any():
        return float("nan")
    return float(roc_auc_score(y, scores[known]))


def _schedule(opt: torch.optim.Optimizer, total: int, warmup: float) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then cosine decay to 5% of the peak rate."""
    warm = max(1, int(total * warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        t = min(1.0, (step - warm) / max(1, total - warm))
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _jpeg(img: torch.Tensor, quality: int) -> torch.Tensor:
    """One film through JPEG at ``quality`` (its own range mapped to 8 bits and back)."""
    from PIL import Image

    lo, hi = float(img.min()), float(img.max())
    span = hi - lo if hi > lo else 1.0
    u8 = ((img - lo) / span * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    back = np.asarray(Image.open(buf).convert("L"), dtype=np.float32) / 255.0
    return torch.from_numpy(back) * span + lo


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(math.ceil(2.5 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    pad = F.pad(x, (radius, radius, 0, 0), mode="replicate")
    x = F.conv2d(pad, k.view(1, 1, 1, -1))
    pad = F.pad(x, (0, 0, radius, radius), mode="replicate")
    return F.conv2d(pad, k.view(1, 1, -1, 1))


def texture_augment(x: torch.Tensor, gen: torch.Generator, share: float) -> torch.Tensor:
    """Changes that keep anatomy and disease but wipe out file-specific texture, each applied to a random
    ``share`` of the batch (N, 1, H, W): JPEG re-encoding at quality 15-90, Gaussian blur (sigma 0.4-1.5
    px), downscale by 1.3-2.5x and back up, and Gaussian noise of 2-15% of the film's spread."""
    if share <= 0:
        return x
    b, _, h, w = x.shape
    x = x.clone()

    def picked() -> torch.Tensor:
        return torch.nonzero(torch.rand(b, generator=gen) < share).flatten()

    for i in picked().tolist():
        x[i, 0] = _jpeg(x[i, 0], int(torch.randint(15, 91, (1,), generator=gen)))
    rows = picked()
    if len(rows):
        sigma = 0.4 + float(torch.rand(1, generator=gen)) * 1.1
        x[rows] = _gaussian_blur(x[rows], sigma)
    rows = picked()
    if len(rows):
        f = 1.3 + float(torch.rand(1, generator=gen)) * 1.2
        small = F.interpolate(x[rows], size=(max(4, int(h / f)), max(4, int(w / f))), mode="area")
        x[rows] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    rows = picked()
    if len(rows):
        spread = x[rows].std(dim=(2, 3), keepdim=True)
        level = 0.02 + torch.rand(len(rows), 1, 1, 1, generator=gen) * 0.13
        x[rows] = x[rows] + torch.randn(x[rows].shape, generator=gen) * spread * level
    return x


def augment(x: torch.Tensor, gen: torch.Generator, *, restandardise: bool = True,
            low_resolution: float = 0.0, texture: float = 0.0, flip: bool = False) -> torch.Tensor:
    """Small rotation, scale and shift, contrast/brightness jitter and, for a share of the batch, a
    lower resolution, texture-destroying changes (:func:`texture_augment`) and mirror images (then
    re-standardised per image unless ``restandardise`` is off)."""
    b = x.shape[0]
    if flip:
        mirror = torch.rand(b, generator=gen) < 0.5
        x = torch.where(mirror.view(-1, 1, 1, 1), x.flip(-1), x)
    angle = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(10)
    scale = 1 + (torch.rand(b, generator=gen) * 2 - 1) * 0.1
    shift = (torch.rand(b, 2, generator=gen) * 2 - 1) * 0.06
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    if low_resolution > 0:
        pick = torch.rand(b, generator=gen) < low_resolution
        if pick.any():
            side = int(torch.randint(24, 41, (1,), generator=gen))
            small = F.interpolate(x[pick], size=(side, side), mode="area")
            x = x.clone()
            x[pick] = F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)
    x = texture_augment(x, gen, texture)
    gamma = 1 + (torch.rand(b, 1, 1, 1, generator=gen) - 0.5) * 0.4
    x = x * gamma + (torch.rand(b, 1, 1, 1, generator=gen) - 0.5) * 0.4
    if not restandardise:
        return x
    m, s = x.mean(dim=(2, 3), keepdim=True), x.std(dim=(2, 3), keepdim=True).clamp_min(1e-3)
    return (x - m) / s


def masked_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    mask = (targets >= 0).float()
    loss = F.binary_cross_entropy_with_logits(logits, targets.clamp_min(0).float(), reduction="none")
    return (loss * mask).sum() / mask.sum().clamp_min(1.0)


def contrastive(img: torch.Tensor, txt: torch.Tensor, text_ids: torch.Tensor, tau: float = 0.07) -> torch.Tensor:
    """Image-to-text InfoNCE where every sample with the same text counts as a positive."""
    logits = img @ txt.T / tau
    same = (text_ids[:, None] == text_ids[None, :]).float()
    target = same / same.sum(dim=1, keepdim=True)
    loss_i = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    loss_t = -(target * F.log_softmax(logits.T, dim=1)).sum(1).mean()
    return (loss_i + loss_t) / 2


def _cache_key(records: Sequence[Record], size: int) -> str:
    h = hashlib.sha1(f"v2|{size}".encode())
    for r in records:
        stamp = ""
        if r.image_path is not None:
            try:
                st = Path(r.image_path).stat()
                stamp = f"{st.st_size}:{int(st.st_mtime)}"
            except OSError:
                stamp = "missing"
        h.update(f"|{r.id}|{r.image_path}|{stamp}".encode())
    return h.hexdigest()[:16]


def load_resized(records: Sequence[Record], size: int, *, cache_dir: Path | str | None = None,
                 progress: Progress | None = None, stage: str = "load images") -> tuple[np.ndarray, list[int]]:
    """Images as (N, size, size) float32 in [0, 1], padded square and resized, before any normalisation.

    Records whose image cannot be read are skipped and logged (``kept`` lists the others). With
    ``cache_dir`` the stack is kept there (float32, so a cached run trains exactly like an uncached one)
    under a key of the records, files and size.
    """
    cache = Path(cache_dir) / f"pixels-{size}-{_cache_key(records, size)}.npz" if cache_dir else None
    if cache is not None and cache.is_file():
        try:
            with np.load(cache) as data:
                return data["pixels"].astype(np.float32), [int(i) for i in data["kept"]]
        except (OSError, ValueError, KeyError):
            log.warning("ignoring unreadable pixel cache %s", cache)
    out, kept = [], []
    for i, r in enumerate(records):
        try:
            if r.pixels is not None:
                px = load_image(r.pixels).pixels
            elif r.image_path is not None:
                px = load_image(r.image_path, reduce_to=size).pixels
            else:
                raise ImageError(f"{r.id}: record has no image")
            out.append(square_resize(px, size))
            kept.append(i)
        except ImageError as err:
            log.warning("skipping %s: %s", r.id, err)
        if progress and (i % 200 == 0 or i == len(records) - 1):
            progress(stage, i + 1, len(records), {})
    arr = np.stack(out).astype(np.float32) if out else np.zeros((0, size, size), np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, pixels=arr, kept=np.array(kept, dtype=np.int64))
        os.replace(tmp, cache)
    return arr, kept


def normalise_stack(pixels: np.ndarray, intensity: str) -> np.ndarray:
    """:func:`vlm.images.normalise` over a stack; ``equalise`` models equalise in the model, so they get
    standardised input here exactly as a served model does."""
    mode = "zscore" if intensity == "equalise" else intensity
    return np.stack([normalise(p, mode) for p in pixels]).astype(np.float32) if len(pixels) else pixels


def _load_pixels(records: Sequence[Record], size: int, progress: Progress | None, stage: str,
                 intensity: str = "zscore", cache_dir: Path | str | None = None
                 ) -> tuple[np.ndarray, list[int], np.ndarray, np.ndarray]:
    """Model input (N, size, size), the indices kept, and each kept image's raw mean brightness and
    texture statistic (:func:`vlm.confounders.texture_statistic`)."""
    raw, kept = load_resized(records, size, cache_dir=cache_dir, progress=progress, stage=stage)
    brightness = raw.reshape(len(raw), -1).mean(axis=1) if len(raw) else np.zeros(0)
    return normalise_stack(raw, intensity), kept, brightness, texture_statistic(raw)


FOLDER_LABELS: tuple[str, ...] = ("normal", "Pneumonia")
"""The labels that the folder alone decides in a source whose two classes are two folders (``nih_1000``)."""


def _normal_folder(record: Record, sources: Sequence[str]) -> bool:
    return record.source in sources and record.labels[LABEL_INDEX["normal"]] == 1


def _folder_masked(record: Record, sources: Sequence[str]) -> tuple[int, ...]:
    """The record's labels, with the folder-defining ones unknown when its source is folder-confounded."""
    if record.source not in sources:
        return record.labels
    return tuple(UNKNOWN if LABELS[i] in FOLDER_LABELS else v for i, v in enumerate(record.labels))


def _log_odds(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


def _vector(probs: dict[str, float]) -> tuple[float, ...]:
    return tuple(float(probs.get(n, 0.0)) for n in LABELS)


def _with_normal(probs: dict[str, float], rng: random.Random | None = None) -> dict[str, float]:
    """Add a ``normal`` probability consistent with the findings (a front end reports one too)."""
    top = max((p for n, p in probs.items() if n != "normal"), default=0.0)
    if rng is None:
        probs["normal"] = float(top < 0.5)
    else:
        probs["normal"] = rng.uniform(0.0, 0.2) if top >= 0.5 else rng.uniform(0.6, 1.0)
    return probs


def _target_weights(tok: Any, text: str, budget: Mapping[str, int], boost: float = 3.0) -> tuple[list[int], list[float]]:
    """Target ids sentence by sentence, with sentences that assert a finding weighted ``boost``."""
    ids: list[int] = []
    weights: list[float] = []
    for s in sentences(text):
        piece = tok(s, add_special_tokens=False).input_ids
        w = boost if any(mentions(s).values()) else 1.0
        ids += piece
        weights += [w] * len(piece)
    limit = budget.get("target", 96)
    ids, weights = ids[:limit], weights[:limit]
    return ids + [int(tok.eos_token_id)], weights + [1.0]


def _noisy_probs(labels: Sequence[int], rng: random.Random) -> dict[str, float]:
    """A front end's output simulated from gold labels: misses, false alarms and hedged positives."""
    probs: dict[str, float] = {}
    for name, v in zip(LABELS, labels, strict=True):
        if name == "normal":
            continue
        if v == 1:
            if rng.random() < 0.1:
                probs[name] = rng.uniform(0.0, 0.3)
            elif rng.random() < 0.2:
                probs[name] = rng.uniform(0.3, 0.5)
            else:
                probs[name] = rng.uniform(0.5, 1.0)
        else:
            probs[name] = rng.uniform(0.5, 1.0) if rng.random() < 0.02 else rng.uniform(0.0, 0.3)
    return _with_normal(probs, rng)


@dataclass
class _LMExample:
    image_row: int | None
    prompt: Prompt
    target: str


@dataclass
class _Encoded:
    image_row: int | None
    prompt: list[int]
    target: list[int]
    weights: list[float] | None
    vector: tuple[float, ...]


def validation_aucs(probs: np.ndarray, targets: np.ndarray, records: Sequence[Record],
                    brightness: np.ndarray | None = None) -> dict[str, float]:
    """Validation AUCs by source: pneumonia and COVID-19 where labelled, and on adult films the
    normal-vs-abnormal AUC (score ``1 - P(normal)``) overall and per view, plus, given each film's raw
    brightness, the confounder-matched AUC per view and its worst view (the selection rule of
    :mod:`vlm.confounders`)."""
    aucs: dict[str, float] = {}
    src = np.array([r.source for r in records])
    for source, label in (("pneumoniamnist", "Pneumonia"), ("pediatric_cxr", "Pneumonia"), ("cxr_covid", "Pneumonia"),
                          ("cxr_covid", "COVID-19"), ("nih_1000", "Pneumonia")):
        sel = src == source
        if sel.any():
            j = LABEL_INDEX[label]
            a = _auc(probs[sel, j], targets[sel, j])
            if not math.isnan(a):
                aucs[f"{source}_{label}"] = a
    sel = np.flatnonzero(src == "nih_1000")
    if len(sel):
        recs = [records[i] for i in sel]
        y = np.array([target_class(r) for r in recs])
        score = 1.0 - probs[sel, LABEL_INDEX["normal"]]
        a = _auc(score, y)
        if not math.isnan(a):
            aucs["nih_1000_abnormal"] = a
            views = np.array([r.view for r in recs])
            for v in sorted(set(views.tolist())):
                av = _auc(score[views == v], y[views == v])
                if not math.isnan(av):
                    aucs[f"nih_1000_abnormal_{v}"] = av
            if brightness is not None:
                worst, per = worst_view_matched_auc(score, recs, np.asarray(brightness)[sel])
                aucs.update({f"nih_1000_abnormal_{v}_matched": m for v, m in per.items()})
                aucs["nih_1000_abnormal_worst_view_matched"] = worst
    return aucs


# ---------------------------------------------------------------------------------------- the trainer
class Trainer:
    """Holds the data, the model and the histories of one training run."""

    def __init__(self, corpus: Corpus, config: TrainConfig, store: Store | None = None,
                 progress: Progress | None = None, text_encoder: TextEncoder | None = None) -> None:
        self.corpus = corpus
        self.cfg = config
        self.progress = progress
        self.store = store if store is not None else starter_store()
        self.subgraphs = SubgraphCache(self.store, hops=2)
        self.text_encoder = text_encoder or TextEncoder()
        self.history: dict[str, list[list[float]]] = {
            "vision_train_loss": [], "vision_val_loss": [], "vision_val_auc": [], "lm_train_loss": [],
            "lm_val_loss": []}
        self.val: dict[str, float] = {}
        self.gen = torch.Generator().manual_seed(config.seed)
        self.rng = random.Random(config.seed)

    def _tick(self, stage: str, step: int, total: int, **metrics: float) -> None:
        if self.progress:
            self.progress(stage, step, total, metrics)

    # -- tokenizer and model ---------------------------------------------------------------------
    def build(self) -> None:
        texts = [r.text for r in self.corpus.records if r.source == "iu_xray" and r.split == "train"]
        texts += [f"{q.question} {q.answer}" for q in self.corpus.qa if q.split == "train"]
        texts += [label_text(n) for n in LABELS] + [f"possible {label_text(n)}" for n in LABELS]
        texts += list(QUESTION_TEMPLATES) + list(NORMAL_QUESTIONS) + ["no acute findings", "yes", "no"]
        for name in LABELS:
            texts.append(prompt_evidence(self.subgraphs.get([name])))
        self.tokenizer = train_tokenizer(texts, vocab_size=self.cfg.vocab_size)
        tok = self.tokenizer
        text_cfg = {"vocab_size": len(tok), "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
                    "pad_token_id": tok.pad_token_id, **self.cfg.text_config}
        report_images = any(r.has_image for r in self.corpus.records if r.source == "iu_xray")
        self.model_config = GroundedVLMConfig(vision_config=self.cfg.vision_config, text_config=text_cfg,
                                              image_size=self.cfg.image_size,
                                              num_visual_tokens=self.cfg.num_visual_tokens,
                                              report_uses_image=report_images, intensity=self.cfg.intensity,
                                              flip_average=self.cfg.flip,
                                              normal_from_findings=bool(self.cfg.within_folder),
                                              source_groups=[g for g, _ in self.cfg.source_groups] or None,
                                              group_heads=self.cfg.group_heads)
        self.model = GroundedVLM(self.model_config)

    # -- stage 1: vision --------------------------------------------------------------------------
    def sampling_weights(self, train: Sequence[Record], brightness: np.ndarray,
                         texture: np.ndarray | None = None) -> np.ndarray:
        """Probability of drawing each training image: source shares, times the confounder weights."""
        cfg = self.cfg
        src = np.array([r.source for r in train])
        present = sorted(set(src.tolist()))
        named = dict(cfg.source_shares)
        shares = {s: named.get(s, 0.1) for s in present}
        total = sum(shares.values()) or 1.0
        if cfg.confounder_rule == "propensity":
            if cfg.texture_confounder:
                if texture is None:
                    raise ValueError("the texture confounder needs each training film's texture statistic")
                self.propensities = fit_propensities(train, brightness, TEXTURE_CONFOUNDERS, texture=texture)
            else:
                self.propensities = fit_propensities(train, brightness, CONFOUNDERS)
            within = balancing_weights(train, brightness, self.propensities, texture=texture)
        else:
            self.propensities = {}
            within = np.ones(len(train))
        w = np.zeros(len(train))
        for s in present:
            rows = src == s
            w[rows] = shares[s] / total * within[rows] / within[rows].sum()
        return w / w.sum()

    def train_vision(self) -> None:
        cfg = self.cfg
        imaged = [r for r in self.corpus.records
                  if r.has_image and (any(v != UNKNOWN for v in r.labels) or r.text)]
        train = [r for r in imaged if r.split == "train" and not _normal_folder(r, cfg.within_folder)]
        val = [r for r in imaged if r.split == "val"]
        if not train:
            raise ValueError("no training images found; check the data folder and the --sources option")
        x_train, kept, bright_train, tex_train = _load_pixels(train, cfg.image_size, self.progress,
                                                              "load train images", cfg.intensity, cfg.pixel_cache)
        train = [train[i] for i in kept]
        x_val, kept_v, bright_val, _ = _load_pixels(val, cfg.image_size, self.progress, "load val images",
                                                    cfg.intensity, cfg.pixel_cache)
        val = [val[i] for i in kept_v]
        y_train = torch.tensor([_folder_masked(r, cfg.within_folder) for r in train], dtype=torch.float32)
        y_val = (torch.tensor([_folder_masked(r, cfg.within_folder) for r in val], dtype=torch.float32)
                 if val else None)
        uniq = sorted({r.text for r in train})
        text_id = {t: i for i, t in enumerate(uniq)}
        self._tick("embed texts", 0, 1)
        txt = torch.from_numpy(self.text_encoder.encode(uniq))
        t_ids = torch.tensor([text_id[r.text] for r in train])
        counts: dict[str, int] = {}
        for r in train:
            counts[r.source] = counts.get(r.source, 0) + 1
        w = self.sampling_weights(train, bright_train, tex_train)
        self.val_brightness = bright_val
        self.counts = {f"images_train_{k}": v for k, v in counts.items()}
        self.counts["images_val"] = len(val)

        m = self.model
        group_of = self._groups(train)
        params = [p for n, p in m.named_parameters()
                  if n.startswith(("vision.", "diagnosis_head.", "embed_head.", "group_heads.", "group_classifier."))]
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=1e-4)
        steps_per_epoch = max(1, cfg.samples_per_epoch // cfg.batch_size)
        total = steps_per_epoch * cfg.vision_epochs
        if cfg.max_steps:
            total = min(total, cfg.max_steps)
        sched = _schedule(opt, total, 0.15)
        xt = torch.from_numpy(x_train).unsqueeze(1)
        best: tuple[float, int, dict[str, torch.Tensor]] | None = None
        step = 0
        np_rng = np.random.default_rng(cfg.seed)
        for _epoch in range(cfg.vision_epochs):
            m.train()
            for _ in range(steps_per_epoch):
                if step >= total:
                    break
                idx = torch.from_numpy(np_rng.choice(len(train), size=cfg.batch_size, p=w))
                xb = augment(xt[idx], self.gen, restandardise=cfg.intensity != "fixed",
                             low_resolution=cfg.low_resolution, texture=cfg.texture_augment, flip=cfg.flip)
                pooled, _ = m.vision_features(xb)
                if group_of is None:
                    loss_d = masked_bce(m.diagnosis_logits(pooled), y_train[idx])
                else:  # each film trains its own group's head (or the shared one), and the classifier the groups
                    g = group_of[idx]
                    own = (m.group_logits(pooled)[torch.arange(len(idx)), g] if cfg.group_heads
                           else m.diagnosis_head(pooled))
                    loss_d = masked_bce(own, y_train[idx]) + 0.1 * F.cross_entropy(m.group_classifier(pooled), g)
                loss_c = contrastive(m.image_embeds(pooled), txt[t_ids[idx]], t_ids[idx])
                loss = loss_d + cfg.contrastive_weight * loss_c
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 5.0)
                opt.step()
                sched.step()
                step += 1
                self.history["vision_train_loss"].append([step, loss_d.item(), loss_c.item()])
                self._tick("vision", step, total, loss=loss_d.item(), contrastive=loss_c.item())
            if y_val is not None and len(val):
                val_loss, aucs = self._eval_vision(x_val, y_val, val)
                self.history["vision_val_loss"].append([step, val_loss])
                self.history["vision_val_auc"].append([step, *[aucs.get(k, float("nan")) for k in sorted(aucs)]])
                self._auc_keys = sorted(aucs)
                self._tick("vision", step, total, val_loss=val_loss, **{f"auc_{k}": v for k, v in aucs.items()})
                score = self._selection_score(val_loss, aucs)
                self.history.setdefault("vision_selection", []).append([step, score])
                if best is None or score > best[0] or (cfg.checkpoint == "last" and score >= best[0]):
                    best = (score, step, {k: v.detach().clone() for k, v in m.state_dict().items()})
            if step >= total:
                break
        if best is not None:
            m.load_state_dict(best[2])
            self.val["selected_step"] = float(best[1])
            self.val["selection_score"] = float(best[0])
        if y_val is not None and len(val):
            self._calibrate(x_val, y_val, val)
        if cfg.prior_correction:
            self.model.config.prior_shift = self.prior_shift(train, y_train.numpy(), w)
            self.val.update({f"prior_shift_{g}_{n}": v for g, offs in self.model.config.prior_shift.items()
                             for n, v in zip(LABELS, offs, strict=True) if v})
        self.val_images = (x_val, val)

    def prior_shift(self, train: Sequence[Record], targets: np.ndarray, draw: np.ndarray) -> dict[str, list[float]]:
        """Per corrected group, log-odds offsets per label: the population's base rate against the rate the
        sampler showed that group's films (draw probabilities ``draw``; unannotated films do not count)."""
        groups = self._groups(train)
        assert groups is not None, "prior correction needs source groups"
        names = [g for g, _ in self.cfg.source_groups]
        out: dict[str, list[float]] = {}
        for name in self.cfg.prior_correction:
            rows = (groups == names.index(name)).numpy()
            target = POPULATION_PREVALENCE[name]
            offsets = []
            for j, label in enumerate(LABELS):
                known = rows & (targets[:, j] >= 0)
                if label not in target or draw[known].sum() <= 0:
                    offsets.append(0.0)
                    continue
                shown = float((draw[known] * targets[known, j]).sum() / draw[known].sum())
                offsets.append(round(_log_odds(target[label]) - _log_odds(shown), 4))
            out[name] = offsets
        return out

    def _groups(self, records: Sequence[Record]) -> torch.Tensor | None:
        """Each record's source group index (the last group takes sources no group names)."""
        groups = self.cfg.source_groups
        if not groups:
            return None
        where = {src: i for i, (_, sources) in enumerate(groups) for src in sources}
        return torch.tensor([where.get(r.source, len(groups) - 1) for r in records], dtype=torch.long)

    def _selection_score(self, val_loss: float, aucs: Mapping[str, float]) -> float:
        """What picks the checkpoint (higher is better): under the confounder rule, the worst view
        stratum's confounder-matched normal-vs-abnormal AUC on adult validation films (when there are
        any); otherwise minus the validation loss."""
        if self.cfg.checkpoint == "last":
            return 0.0  # every later checkpoint ties and wins (see train_vision)
        worst = aucs.get("nih_1000_abnormal_worst_view_matched")
        if self.cfg.confounder_rule == "propensity" and worst is not None and not math.isnan(worst):
            return float(worst)
        return -float(val_loss)

    @torch.inference_mode()
    def _logits(self, x: np.ndarray, batch: int = 256) -> torch.Tensor:
        self.model.eval()
        out = []
        for s in range(0, len(x), batch):
            pooled, _ = self.model.vision_features(torch.from_numpy(x[s:s + batch]).unsqueeze(1))
            out.append(self.model.diagnosis_logits(pooled))
        return torch.cat(out) if out else torch.zeros(0, len(LABELS))

    def _eval_vision(self, x: np.ndarray, y: torch.Tensor, records: Sequence[Record]) -> tuple[float, dict[str, float]]:
        logits = self._logits(x)
        loss = float(masked_bce(logits, y))
        probs = torch.sigmoid(logits)
        if getattr(self.model.config, "normal_from_findings", False):
            probs = derive_normal(probs, LABELS)
        return loss, validation_aucs(probs.numpy(), y.numpy(), records, getattr(self, "val_brightness", None))

    def _calibrate(self, x: np.ndarray, y: torch.Tensor, records: Sequence[Record]) -> None:
        logits = self._logits(x).numpy()
        cal = fit_temperatures(logits, y.numpy(), LABELS)
        self.model.config.calibration_temperature = list(cal.temperatures)
        self.model.config.validated_labels = list(cal.fitted_labels) or None
        self.calibration = asdict(cal)
        loss, aucs = self._eval_vision(x, y, records)
        self.val.update({f"val_auc_{k}": v for k, v in aucs.items()})
        self.val["val_diagnosis_bce"] = loss

    # -- stage 2: language ------------------------------------------------------------------------
    def _image_features(self, records: Sequence[Record]) -> tuple[torch.Tensor, np.ndarray, list[int]]:
        x, kept, _, _ = _load_pixels(records, self.cfg.image_size, self.progress, "load vqa images",
                                     self.cfg.intensity, self.cfg.pixel_cache)
        self.model.eval()
        toks, probs = [], []
        with torch.inference_mode():
            for s in range(0, len(x), 128):
                pooled, tokens = self.model.vision_features(torch.from_numpy(x[s:s + 128]).unsqueeze(1))
                toks.append(tokens)
                probs.append(self.model.calibrated_probs(self.model.diagnosis_logits(pooled)))
        if not toks:
            return torch.zeros(0), np.zeros((0, len(LABELS))), kept
        return torch.cat(toks), torch.cat(probs).numpy(), kept

    def _evidence(self, probs: dict[str, float]) -> str:
        positives = [n for n, p in probs.items() if p >= 0.5]
        return prompt_evidence(self.subgraphs.get(positives))

    def _context(self, probs: dict[str, float], similar: str | None) -> tuple[str | None, str | None]:
        """Evidence and similar-case fields for one example, mixing the three retrieval modes."""
        u = self.rng.random()
        if u < 0.3:
            return None, None
        if u < 0.6:
            return None, similar
        return self._evidence(probs) or None, similar

    def _lm_examples(self, split: str) -> list[_LMExample]:
        rng = self.rng
        out: list[_LMExample] = []
        iu = [r for r in self.corpus.records if r.source == "iu_xray" and r.split == split and r.text]
        seen_studies: set[str] = set()
        by_labels: dict[tuple[int, ...], list[Record]] = {}
        for r in iu:
            by_labels.setdefault(r.labels, []).append(r)
        for r in iu:
            if r.group in seen_studies:
                continue
            seen_studies.add(r.group)
            probs = _noisy_probs(r.labels, rng) if split == "train" else _with_normal({
                n: float(v == 1) for n, v in zip(LABELS, r.labels, strict=True) if n != "normal"})
            mates = [m for m in by_labels.get(r.labels, []) if m.group != r.group]
            similar = first_sentences(rng.choice(mates).text, 200) if mates else None
            row = self._iu_rows.get(r.id) if self.model_config.report_uses_image else None
            ev, sim = self._context(probs, similar)
            out.append(_LMExample(row, Prompt("report", findings_text(probs), ev, sim, None, _vector(probs)), r.text))
            # one yes/no question per study, balanced between present and absent findings
            positives = [n for n, v in zip(LABELS, r.labels, strict=True) if v == 1 and n not in ("normal", "COVID-19")]
            negatives = [n for n, v in zip(LABELS, r.labels, strict=True) if v == 0 and n not in ("normal", "COVID-19")]
            if r.labels[LABEL_INDEX["normal"]] != UNKNOWN and rng.random() < 0.15:
                q, a = rng.choice(NORMAL_QUESTIONS), "yes" if r.labels[LABEL_INDEX["normal"]] == 1 else "no"
            elif positives and (rng.random() < 0.5 or not negatives):
                q, a = rng.choice(QUESTION_TEMPLATES).format(x=label_text(rng.choice(positives))), "yes"
            elif negatives:
                q, a = rng.choice(QUESTION_TEMPLATES).format(x=label_text(rng.choice(negatives))), "no"
            else:
                continue
            ev, _ = self._context(probs, None)
            out.append(_LMExample(row, Prompt("vqa", findings_text(probs), ev, None, q, _vector(probs)), a))
        for qa in self.corpus.qa:
            if qa.split != split or qa.record_id not in self._vqa_rows:
                continue
            row = self._vqa_rows[qa.record_id]
            probs = dict(zip(LABELS, (float(p) for p in self._vqa_probs[row]), strict=True))
            ev, _ = self._context(probs, None)
            out.append(_LMExample(row, Prompt("vqa", findings_text(probs), ev, None, qa.question, _vector(probs)),
                                  qa.answer.lower()))
        return out

    def _batches(self, examples: list[_LMExample], batch: int) -> list[list[_Encoded]]:
        tok, budget = self.tokenizer, self.model.config.prompt_budget
        encoded = []
        for e in examples:
            target, weights = (_target_weights(tok, e.target, budget) if e.prompt.task == "report"
                               else (encode_target(tok, e.target, budget), None))
            encoded.append(_Encoded(e.image_row, encode_prompt(tok, e.prompt, budget), target, weights,
                                    e.prompt.probabilities or _vector({})))
        encoded.sort(key=lambda t: len(t.prompt) + len(t.target) + self.rng.random() * 8)
        batches = [encoded[i:i + batch] for i in range(0, len(encoded), batch)]
        self.rng.shuffle(batches)
        return batches

    def _lm_step_loss(self, batch: list[_Encoded]) -> torch.Tensor:
        m = self.model
        pad = int(self.tokenizer.pad_token_id)
        length = max(len(b.prompt) + len(b.target) for b in batch)
        ids = torch.full((len(batch), length), pad, dtype=torch.long)
        labels = torch.full((len(batch), length), -100, dtype=torch.long)
        weights = torch.ones((len(batch), length))
        mask = torch.zeros((len(batch), length), dtype=torch.long)
        has_image = torch.zeros(len(batch))
        rows = torch.zeros(len(batch), dtype=torch.long)
        for i, b in enumerate(batch):
            seq = b.prompt + b.target
            ids[i, :len(seq)] = torch.tensor(seq)
            labels[i, len(b.prompt):len(seq)] = torch.tensor(b.target)
            if b.weights is not None:
                weights[i, len(b.prompt):len(seq)] = torch.tensor(b.weights)
            mask[i, :len(seq)] = 1
            if b.image_row is not None:
                has_image[i] = 1
                rows[i] = b.image_row
        tokens = self._features[rows] if len(self._features) else None
        vec = torch.tensor([b.vector for b in batch], dtype=torch.float32)
        prefix = m.visual_prefix(tokens, len(batch), has_image if tokens is not None else None, findings=vec)
        return m.lm_loss(prefix, ids, mask, labels, weights)

    def train_language(self) -> None:
        cfg = self.cfg
        m = self.model
        imaged = {r.id: r for r in self.corpus.records if r.has_image and r.source in ("vqa_rad", "iu_xray")}
        needed = sorted({q.record_id for q in self.corpus.qa if q.record_id in imaged})
        if self.model_config.report_uses_image:
            needed += [rid for rid in imaged if imaged[rid].source == "iu_xray"]
        recs = [imaged[i] for i in needed]
        feats, probs, kept = self._image_features(recs)
        kept_ids = [recs[i].id for i in kept]
        self._features, self._vqa_probs = feats, probs
        self._vqa_rows = {rid: i for i, rid in enumerate(kept_ids) if rid.startswith("vqa_rad/")}
        self._iu_rows = {rid: i for i, rid in enumerate(kept_ids) if rid.startswith("iu_xray/")}
        for p in m.parameters():
            p.requires_grad_(False)
        params = [*m.projector.parameters(), *m.findings_proj.parameters(), m.null_image, *m.lm.parameters()]
        for p in params:
            p.requires_grad_(True)
        opt = torch.optim.AdamW(params, lr=cfg.lm_lr, weight_decay=0.01)
        first = self._lm_examples("train")
        n_ex = min(len(first), cfg.lm_max_examples or len(first))
        steps_per_epoch = max(1, math.ceil(n_ex / cfg.lm_batch_size))
        total = steps_per_epoch * cfg.lm_epochs
        if cfg.max_steps:
            total = min(total, cfg.max_steps)
        sched = _schedule(opt, total, 0.1)
        val_examples = self._lm_examples("val")[:600]
        self.counts["lm_examples_per_epoch"] = n_ex
        self.counts["lm_val_examples"] = len(val_examples)
        step = 0
        for epoch in range(cfg.lm_epochs):
            examples = first if epoch == 0 else self._lm_examples("train")
            self.rng.shuffle(examples)
            examples = examples[:n_ex]
            m.train()
            m.vision.eval()
            for batch in self._batches(examples, cfg.lm_batch_size):
                if step >= total:
                    break
                loss = self._lm_step_loss(batch)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                sched.step()
                step += 1
                self.history["lm_train_loss"].append([step, loss.item()])
                self._tick("language", step, total, loss=loss.item())
            if val_examples:
                vl = self._lm_val_loss(val_examples)
                self.history["lm_val_loss"].append([step, vl])
                self._tick("language", step, total, val_loss=vl)
            if step >= total:
                break
        if self.history["lm_val_loss"]:
            self.val["val_lm_loss"] = self.history["lm_val_loss"][-1][1]
        for p in m.parameters():
            p.requires_grad_(True)

    @torch.inference_mode()
    def _lm_val_loss(self, examples: list[_LMExample]) -> float:
        self.model.eval()
        state = self.rng.getstate()
        losses, weights = [], []
        for batch in self._batches(examples, 32):
            losses.append(float(self._lm_step_loss(batch)))
            weights.append(len(batch))
        self.rng.setstate(state)
        return float(np.average(losses, weights=weights))

    @torch.inference_mode()
    def samples(self, n: int = 3) -> list[dict[str, str]]:
        """A few greedy outputs on validation reports, kept in the training report for a quick look."""
        from vlm.backends import GroundedBackend

        backend = GroundedBackend("<in-memory>", self.model, self.tokenizer)
        out = []
        val = [r for r in self.corpus.records if r.source == "iu_xray" and r.split == "val" and r.text][:n]
        for r in val:
            probs = _with_normal({k: float(v == 1) for k, v in zip(LABELS, r.labels, strict=True) if k != "normal"})
            prompt = Prompt("report", findings_text(probs), self._evidence(probs) or None, None, None, _vector(probs))
            out.append({"id": r.id, "findings": prompt.findings, "generated": backend.generate(None, prompt, 80),
                        "reference": r.text})
        return out


def plot_curves(history: dict[str, list[list[float]]], path: Path, auc_keys: Sequence[str] = ()) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))

    def smooth(v: np.ndarray, k: int = 20) -> np.ndarray:
        if len(v) < k:
            return v
        return np.convolve(v, np.ones(k) / k, mode="valid")

    vt = np.array(history["vision_train_loss"])
    if len(vt):
        axes[0].plot(vt[: len(smooth(vt[:, 1])), 0] + (len(vt) - len(smooth(vt[:, 1]))), smooth(vt[:, 1]),
                     label="train diagnosis BCE")
        axes[0].plot(vt[: len(smooth(vt[:, 2])), 0] + (len(vt) - len(smooth(vt[:, 2]))), smooth(vt[:, 2]),
                     label="train contrastive", alpha=0.6)
    vv = np.array(history["vision_val_loss"])
    if len(vv):
        axes[0].plot(vv[:, 0], vv[:, 1], "o-", label="val diagnosis BCE")
    axes[0].set_title("vision stage")
    axes[0].set_xlabel("step")
    axes[0].legend()
    va = np.array(history["vision_val_auc"])
    if len(va):
        for j, key in enumerate(auc_keys):
            axes[1].plot(va[:, 0], va[:, 1 + j], "o-", label=key)
        if auc_keys:
            axes[1].legend()
    axes[1].set_title("validation AUC")
    axes[1].set_xlabel("step")
    lt = np.array(history["lm_train_loss"])
    if len(lt):
        s = smooth(lt[:, 1])
        axes[2].plot(lt[len(lt) - len(s):, 0], s, label="train LM loss")
    lv = np.array(history["lm_val_loss"])
    if len(lv):
        axes[2].plot(lv[:, 0], lv[:, 1], "o-", label="val LM loss")
    axes[2].set_title("language stage")
    axes[2].set_xlabel("step")
    if len(lt) or len(lv):
        axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def train(corpus: Corpus, out_dir: Path, config: TrainConfig | None = None, *, store: Store | None = None,
          progress: Progress | None = None, text_encoder: TextEncoder | None = None) -> TrainReport:
    """Train on an already loaded corpus and save to ``out_dir`` (replaced only when training succeeds)."""
    cfg = config or TrainConfig()
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, cfg.threads))
    t0 = time.perf_counter()
    _set_seed(cfg.seed)
    try:
        trainer = Trainer(corpus, cfg, store, progress, text_encoder)
        trainer.build()
        trainer.train_vision()
        if not cfg.vision_only:
            trainer.train_language()
        samples = [] if cfg.vision_only else trainer.samples()
    finally:
        torch.set_num_threads(threads)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        trainer.model.save_pretrained(tmp)
        trainer.tokenizer.save_pretrained(tmp)
        curve = plot_curves(trainer.history, tmp / "training_curve.png", getattr(trainer, "_auc_keys", ()))
        report = TrainReport(str(out_dir), round(time.perf_counter() - t0, 1), _jsonable(asdict(cfg)),
                             trainer.counts, trainer.val, getattr(trainer, "calibration", {}), trainer.history,
                             str(out_dir / curve.name), samples)
        (tmp / "train_report.json").write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{int(time.time())}")
            out_dir.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return report


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(d, default=str))


def train_default(data_dir: Path | str, out_dir: Path | str, *, config: TrainConfig | None = None,
                  iu_xray: Path | str | None = None, store: Store | None = None,
                  progress: Progress | None = None, text_encoder: TextEncoder | None = None,
                  cache_dir: Path | str | None = None) -> TrainReport:
    """Train the embedded default model from the shared data folder (the ``mcrag train-vlm`` job).

    Text embeddings are cached in ``cache_dir`` (when given) unless a ``text_encoder`` is given.
    """
    cfg = config or TrainConfig()
    corpus = load_sources(Path(data_dir), cfg.sources, iu_xray=Path(iu_xray) if iu_xray else None)
    encoder = text_encoder or TextEncoder(cache_dir=Path(cache_dir) if cache_dir else None)
    return train(corpus, Path(out_dir), cfg, store=store, progress=progress, text_encoder=encoder)
