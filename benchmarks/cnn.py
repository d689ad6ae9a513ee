"""A small image classifier for the diagnosis benchmark, trained from scratch.

The benchmark images (PneumoniaMNIST, 28 px) are too small for the shared VLM's vision tower to show
its best, so the diagnosis evaluation trains its own front end: a compact ResNet, an ensemble over
seeds, flip test-time augmentation, and the decision threshold fitted on the validation split (our
train split has a third of the official normals, so the prior shift is corrected there, never on
test). The penultimate features double as the exemplar embedding for retrieval.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.metrics import roc_auc


@dataclass(frozen=True)
class CNNConfig:
    width: int = 32
    size: int = 28
    """Input side; images are resized to it (bilinear)."""
    epochs: int = 30
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 5e-4
    seeds: tuple[int, ...] = (0, 1, 2)
    label_smoothing: float = 0.05
    time_budget_s: float | None = None
    """Stop an ensemble member early when its share of the budget is spent."""


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a (projected) skip connection; shared by the CNN front ends."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.skip = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + self.skip(x))


class SmallResNet(nn.Module):
    """Stem + three residual stages + global pooling; one logit (pneumonia) and a feature vector."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        self.stem = nn.Sequential(nn.Conv2d(1, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU())
        self.stages = nn.Sequential(ResidualBlock(w, w, 1), ResidualBlock(w, 2 * w, 2), ResidualBlock(2 * w, 4 * w, 2),
                                    ResidualBlock(4 * w, 4 * w, 1))
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(4 * w, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.features(x))).squeeze(1)


def _prep(images: np.ndarray, size: int, device: torch.device) -> torch.Tensor:
    x = torch.from_numpy(np.asarray(images, dtype=np.float32) / 255.0).unsqueeze(1)
    x = (x - 0.5) / 0.25
    if size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.to(device)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random affine (rotation 10 deg, scale 0.9-1.1, shift 8%), horizontal flip, contrast jitter."""
    n = x.shape[0]
    dev = x.device
    ang = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(10)
    scale = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * 0.08
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(dev), list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    flip = (torch.rand(n, generator=gen) < 0.5).to(dev)
    out = torch.where(flip[:, None, None, None], out.flip(-1), out)
    gain = (1 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * 0.15).to(dev)
    return out * gain


@dataclass
class TrainedEnsemble:
    """Members, their device, and the validation-fitted threshold on the mean probability."""

    members: list[SmallResNet]
    config: CNNConfig
    threshold: float = 0.5
    val_auc: float = float("nan")
    seconds: float = 0.0

    @torch.inference_mode()
    def predict(self, images: np.ndarray, batch: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """Mean pneumonia probability (flip TTA, all members) and the L2-normalised mean features."""
        dev = next(self.members[0].parameters()).device
        probs, feats = [], []
        for s in range(0, len(images), batch):
            x = _prep(images[s:s + batch], self.config.size, dev)
            p = torch.zeros(x.shape[0], device=dev)
            f = []
            for m in self.members:
                m.eval()
                for v in (x, x.flip(-1)):
                    feat = m.features(v)
                    p += torch.sigmoid(m.head(feat).squeeze(1))
                    f.append(F.normalize(feat, dim=1))
            probs.append((p / (2 * len(self.members))).cpu().numpy())
            feats.append(F.normalize(torch.cat(f, dim=1), dim=1).cpu().numpy())
        return np.concatenate(probs).astype(np.float64), np.concatenate(feats).astype(np.float32)


def fit_threshold(probs: np.ndarray, labels: np.ndarray) -> float:
    """Threshold with the best balanced accuracy (ties broken toward accuracy) on held-out data."""
    best, best_t = -1.0, 0.5
    for t in np.unique(np.round(probs, 4)):
        pred = probs >= t
        tpr = (pred & (labels == 1)).sum() / max((labels == 1).sum(), 1)
        tnr = (~pred & (labels == 0)).sum() / max((labels == 0).sum(), 1)
        score = 0.5 * (tpr + tnr)
        if score > best + 1e-12:
            best, best_t = score, float(t)
    return best_t


def train_ensemble(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
                   config: CNNConfig | None = None, *, device: str | None = None,
                   progress: Callable[[str], None] | None = None) -> TrainedEnsemble:
    """Train one member per seed (class-balanced loss), keep each at its best validation AUC."""
    cfg = config or CNNConfig()
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    t0 = time.perf_counter()
    xt, yt = _prep(train_x, cfg.size, dev), torch.as_tensor(train_y.reshape(-1), dtype=torch.float32, device=dev)
    yv = val_y.reshape(-1).astype(int)
    pos = float(yt.mean())
    # balance the classes: our train split has a third of the official normals
    w_pos, w_neg = 0.5 / pos, 0.5 / (1 - pos)
    members: list[SmallResNet] = []
    per_member = cfg.time_budget_s / len(cfg.seeds) if cfg.time_budget_s else None
    for seed in cfg.seeds:
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        model = SmallResNet(cfg.width).to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps = cfg.epochs * math.ceil(len(xt) / cfg.batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps, pct_start=0.15)
        best_auc, best_state = -1.0, None
        tm = time.perf_counter()
        for epoch in range(cfg.epochs):
            model.train()
            order = torch.randperm(len(xt), generator=gen).to(dev)
            for s in range(0, len(xt), cfg.batch_size):
                idx = order[s:s + cfg.batch_size]
                xb, yb = augment(xt[idx], gen), yt[idx]
                target = yb * (1 - cfg.label_smoothing) + 0.5 * cfg.label_smoothing
                weight = torch.where(yb > 0.5, w_pos, w_neg)
                loss = F.binary_cross_entropy_with_logits(model(xb), target, weight=weight)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
            ens = TrainedEnsemble([model], cfg)
            auc = roc_auc(yv, ens.predict(val_x)[0])
            if auc > best_auc:
                best_auc, best_state = auc, {k: v.detach().clone() for k, v in model.state_dict().items()}
            if progress:
                progress(f"seed {seed} epoch {epoch + 1}/{cfg.epochs} val AUC {auc:.4f} (best {best_auc:.4f})")
            if per_member and time.perf_counter() - tm > per_member:
                break
        assert best_state is not None
        model.load_state_dict(best_state)
        model.eval()
        members.append(model)
    ens = TrainedEnsemble(members, cfg)
    pv, _ = ens.predict(val_x)
    ens.threshold = fit_threshold(pv, yv)
    ens.val_auc = roc_auc(yv, pv)
    ens.seconds = time.perf_counter() - t0
    return ens


def save_ensemble(ens: TrainedEnsemble, path: str) -> None:
    torch.save({"config": ens.config.__dict__, "threshold": ens.threshold, "val_auc": ens.val_auc,
                "seconds": ens.seconds, "members": [m.state_dict() for m in ens.members]}, path)


def load_ensemble(path: str, device: str = "cpu") -> TrainedEnsemble:
    blob = torch.load(path, map_location=device, weights_only=False)
    fields: dict[str, Any] = {k: tuple(v) if k == "seeds" else v for k, v in blob["config"].items()}
    cfg = CNNConfig(**fields)
    members = []
    for sd in blob["members"]:
        m = SmallResNet(cfg.width)
        m.load_state_dict(sd)
        m.eval()
        members.append(m.to(device))
    return TrainedEnsemble(members, cfg, blob["threshold"], blob["val_auc"], blob["seconds"])
