"""The VQA-RAD image encoder and answer model, trained from scratch on the train split only.

Image encoder: a small ResNet (grey 64 px input) trained with two self-contained objectives on the
train images: organ classification (head / chest / abdomen, a field of the data) and instance
discrimination (which train image an augmented view came from), so that its features tell images
apart and recognise the same image again. Its L2-normalised pooled features are the image half of
the joint image + question embedding used for retrieval.

Answer model: an MLP over [question embedding (MiniLM), image features] -> the train answer
vocabulary; at test time the answer is restricted to the answers seen for the question's answer
type (CLOSED / OPEN, the field every VQA-RAD question carries and the metric splits on).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.cnn import ResidualBlock, augment

ORGANS: tuple[str, ...] = ("HEAD", "CHEST", "ABD")


@dataclass(frozen=True)
class ImageConfig:
    size: int = 64
    width: int = 24
    epochs: int = 60
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 5e-4
    seed: int = 0


class ImageEncoder(nn.Module):
    """Strided stem + three residual stages + global pooling; organ and instance heads on top."""

    def __init__(self, n_images: int, width: int = 24) -> None:
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv2d(1, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU())
        self.stages = nn.Sequential(ResidualBlock(w, w, 1), ResidualBlock(w, 2 * w, 2),
                                    ResidualBlock(2 * w, 4 * w, 2), ResidualBlock(4 * w, 4 * w, 2))
        self.organ = nn.Linear(4 * w, len(ORGANS))
        self.instance = nn.Linear(4 * w, max(n_images, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean(dim=(2, 3))


def load_pixels(paths: Sequence[Path], size: int = 64) -> np.ndarray:
    """Grey images resized (whole image, bilinear) to ``size`` x ``size``, uint8, (n, size, size)."""
    from PIL import Image

    out = np.zeros((len(paths), size, size), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            out[i] = np.asarray(im.convert("L").resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
    return out


def _prep(pixels: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.asarray(pixels, dtype=np.float32) / 255.0).unsqueeze(1)
    return (x - 0.45) / 0.25


@dataclass
class TrainedImageEncoder:
    model: ImageEncoder
    config: ImageConfig
    seconds: float = 0.0
    epochs_run: int = 0
    organ_train_accuracy: float = float("nan")

    @torch.inference_mode()
    def embed(self, pixels: np.ndarray, batch: int = 128) -> np.ndarray:
        """L2-normalised features, averaged over the image and its mirror."""
        self.model.eval()
        out = []
        for s in range(0, len(pixels), batch):
            x = _prep(pixels[s:s + batch])
            f = F.normalize(self.model.features(x), dim=1) + F.normalize(self.model.features(x.flip(-1)), dim=1)
            out.append(F.normalize(f, dim=1).numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 4 * self.config.width), np.float32)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"config": asdict(self.config), "state": self.model.state_dict(), "seconds": self.seconds,
                    "epochs_run": self.epochs_run, "organ_train_accuracy": self.organ_train_accuracy,
                    "n_images": self.model.instance.out_features}, path)

    @classmethod
    def load(cls, path: Path) -> TrainedImageEncoder:
        blob = torch.load(path, map_location="cpu", weights_only=False)
        cfg = ImageConfig(**blob["config"])
        model = ImageEncoder(blob["n_images"], cfg.width)
        model.load_state_dict(blob["state"])
        model.eval()
        return cls(model, cfg, blob["seconds"], blob["epochs_run"], blob["organ_train_accuracy"])


def train_image_encoder(pixels: np.ndarray, organs: Sequence[str], config: ImageConfig | None = None, *,
                        budget_s: float | None = None,
                        progress: Callable[[str], None] | None = None) -> TrainedImageEncoder:
    """Organ classification + instance discrimination on the train images (augmented views)."""
    cfg = config or ImageConfig()
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    t0 = time.perf_counter()
    x = _prep(pixels)
    organ_y = torch.tensor([ORGANS.index(o) if o in ORGANS else 0 for o in organs], dtype=torch.long)
    inst_y = torch.arange(len(x))
    model = ImageEncoder(len(x), cfg.width)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(x) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.15)
    epochs_run = 0
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(len(x), generator=gen)
        for s in range(0, len(x), cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            f = model.features(augment(x[idx], gen))
            loss = F.cross_entropy(model.organ(f), organ_y[idx]) + F.cross_entropy(model.instance(f), inst_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        epochs_run = epoch + 1
        if progress and (epoch % 10 == 9 or epoch == cfg.epochs - 1):
            progress(f"image encoder epoch {epochs_run}/{cfg.epochs} loss {float(loss.detach()):.3f}")
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            break
    model.eval()
    with torch.inference_mode():
        acc = float((model.organ(model.features(x)).argmax(1) == organ_y).float().mean())
    return TrainedImageEncoder(model, cfg, time.perf_counter() - t0, epochs_run, acc)


# ---------------------------------------------------------------------------------------- answer model
@dataclass(frozen=True)
class AnswerConfig:
    hidden: int = 512
    epochs: int = 80
    lr: float = 2e-3
    weight_decay: float = 1e-3
    dropout: float = 0.3
    image_weight: float = 1.0
    """Scale of the image features at the input (0 = a question-only model)."""
    seed: int = 0


class AnswerModel:
    """MLP over [question embedding, image features] -> answer vocabulary (softmax)."""

    def __init__(self, vocab: Sequence[str], config: AnswerConfig | None = None) -> None:
        self.vocab = list(vocab)
        self.config = config or AnswerConfig()
        self.net: nn.Module | None = None

    def _inputs(self, q: np.ndarray, img: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.concatenate([q, self.config.image_weight * img], axis=1).astype(np.float32))

    def fit(self, q: np.ndarray, img: np.ndarray, answers: Sequence[str]) -> AnswerModel:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        index = {a: i for i, a in enumerate(self.vocab)}
        keep = np.array([a in index for a in answers])
        x = self._inputs(q[keep], img[keep])
        y = torch.tensor([index[a] for a, k in zip(answers, keep, strict=True) if k], dtype=torch.long)
        self.net = nn.Sequential(nn.Dropout(0.1), nn.Linear(x.shape[1], cfg.hidden), nn.GELU(), nn.Dropout(cfg.dropout),
                                 nn.Linear(cfg.hidden, len(self.vocab)))
        opt = torch.optim.AdamW(self.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        gen = torch.Generator().manual_seed(cfg.seed)
        bs = 128
        steps = cfg.epochs * math.ceil(len(x) / bs)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.1)
        for _ in range(cfg.epochs):
            self.net.train()
            order = torch.randperm(len(x), generator=gen)
            for s in range(0, len(x), bs):
                idx = order[s:s + bs]
                loss = F.cross_entropy(self.net(x[idx]), y[idx], label_smoothing=0.05)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
        self.net.eval()
        return self

    @torch.inference_mode()
    def predict_proba(self, q: np.ndarray, img: np.ndarray) -> np.ndarray:
        assert self.net is not None, "fit the answer model first"
        return torch.softmax(self.net(self._inputs(q, img)), dim=1).numpy().astype(np.float64)
