"""The selection log of the front end: each candidate setting trained and scored on development films only.

Settings meant to survive the shift from ``nih_1000`` to other adult films are chosen on the ``nih_621``
dev part (never trained on; :data:`vlm.data.NIH_621_DEV_FRACTION`), paediatric settings on the
paediatric val films (the official train split cut by patient). This script trains the front end
(vision stage only) with a named set of :class:`vlm.train.TrainConfig` overrides for each seed, scores
those development films, and appends one entry per candidate to ``frontend_dev.json``, so the number
of development scorings and every figure the choice rested on are on record. It reads no test film:
it refuses any record whose split is ``test``.

Usage (from the repository root)::

    python -m benchmarks.frontend_dev --name texture --set texture_augment=0.5 [--seeds 0 1]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from vlm.confounders import target_class, weighted_auc  # noqa: E402
from vlm.data import SOURCES, Record, load_sources  # noqa: E402
from vlm.images import square_resize  # noqa: E402
from vlm.labels import LABEL_INDEX  # noqa: E402
from vlm.model import GroundedVLM  # noqa: E402
from vlm.train import TrainConfig, load_resized, normalise_stack, train  # noqa: E402

DEV_SETS = ("nih_621_dev", "nih_1000_val", "pediatric_val", "pediatric_val_28", "covid_val")


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``key=value`` pairs for :class:`TrainConfig` (values read as JSON when they parse, else as text)."""
    fields = set(TrainConfig.__dataclass_fields__)
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or key not in fields:
            raise ValueError(f"bad override {item!r}: use key=value with a TrainConfig field ({', '.join(sorted(fields))})")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key] = _tuples(value)
    return out


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


class DevSets:
    """The development films, resized once for the working resolution (and cached)."""

    def __init__(self, data_dir: Path, cache: Path, size: int, corpus: Any) -> None:
        recs = corpus.records
        self.sets: dict[str, list[Record]] = {
            "nih_621_dev": [r for r in recs if r.source == "nih_621" and r.split == "dev"],
            "nih_1000_val": [r for r in recs if r.source == "nih_1000" and r.split == "val"],
            "pediatric_val": [r for r in recs if r.source == "pediatric_cxr" and r.split == "val"],
            "covid_val": [r for r in recs if r.source == "cxr_covid" and r.split == "val"],
        }
        for name, rs in self.sets.items():
            if any(r.split == "test" for r in rs):
                raise RuntimeError(f"{name}: a test film reached the development scoring")
        self.sets["pediatric_val_28"] = self.sets["pediatric_val"]
        self.raw: dict[str, np.ndarray] = {}
        for name in ("nih_621_dev", "nih_1000_val", "pediatric_val", "covid_val"):
            px, kept = load_resized(self.sets[name], size, cache_dir=cache / "pixels")
            if len(kept) != len(self.sets[name]):
                raise RuntimeError(f"{name}: {len(self.sets[name]) - len(kept)} films could not be read")
            self.raw[name] = px
        small, _ = load_resized(self.sets["pediatric_val"], 28, cache_dir=cache / "pixels")
        self.raw["pediatric_val_28"] = np.stack([square_resize(np.round(p * 255) / 255, size) for p in small])


@torch.inference_mode()
def probabilities(model: GroundedVLM, raw: np.ndarray, batch: int = 256) -> np.ndarray:
    model.eval()
    x = normalise_stack(raw, model.config.intensity)
    out = []
    for s in range(0, len(x), batch):
        pooled, _ = model.vision_features(torch.from_numpy(x[s:s + batch]).unsqueeze(1))
        out.append(model.calibrated_probs(model.diagnosis_logits(pooled)).numpy())
    return np.concatenate(out)


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def score(model: GroundedVLM, dev: DevSets) -> dict[str, Any]:
    """Every development figure of one trained front end."""
    probs = {name: probabilities(model, raw) for name, raw in dev.raw.items()}
    out: dict[str, Any] = {}
    for name in ("nih_621_dev", "nih_1000_val"):
        recs = dev.sets[name]
        y = np.array([target_class(r) for r in recs])
        s = 1.0 - probs[name][:, LABEL_INDEX["normal"]]
        views = np.array([r.view for r in recs])
        block = {"auc": round(weighted_auc(s, y), 4),
                 **{f"auc_{v}": round(weighted_auc(s[views == v], y[views == v]), 4) for v in ("AP", "PA")}}
        normal = y == 0
        block["normal_called_pneumonia"] = round(float((probs[name][normal, LABEL_INDEX["Pneumonia"]] >= 0.5).mean()), 4)
        block["normal_called_covid"] = round(float((probs[name][normal, LABEL_INDEX["COVID-19"]] >= 0.5).mean()), 4)
        out[name] = block
    yp = np.array([r.labels[LABEL_INDEX["Pneumonia"]] for r in dev.sets["pediatric_val"]])
    for name in ("pediatric_val", "pediatric_val_28"):
        p = probs[name][:, LABEL_INDEX["Pneumonia"]]
        out[name] = {"auc": round(weighted_auc(p, yp), 4), "log_loss": round(_log_loss(yp, p), 4)}
    yc = np.array([r.labels[LABEL_INDEX["COVID-19"]] for r in dev.sets["covid_val"]])
    out["covid_val"] = {"auc": round(weighted_auc(probs["covid_val"][:, LABEL_INDEX["COVID-19"]], yc), 4)}
    return out


def mean_figures(per_seed: dict[str, dict[str, Any]]) -> dict[str, float]:
    keys = [(s, k) for s, block in next(iter(per_seed.values())).items() if isinstance(block, dict)
            for k in block]
    out = {}
    for s, k in keys:
        vals = [r[s][k] for r in per_seed.values() if isinstance(r.get(s), dict) and not math.isnan(r[s][k])]
        if vals:
            out[f"{s}.{k}"] = round(float(np.mean(vals)), 4)
    return out


def append(path: Path, entry: dict[str, Any], counts: dict[str, int]) -> None:
    """Add one candidate to the log (under a lock: several candidates may train at once)."""
    import fcntl
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(Path(tempfile.gettempdir()) / "mcrag-frontend-dev.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        log = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {
            "task": "frontend_dev", "rule": "docs/RESULTS.md, front end round two, protocol items 2-5",
            "counts": counts, "entries": []}
        log["entries"].append(entry)
        log["dev_scorings"] = sum(len(e["seeds"]) for e in log["entries"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(log, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def plot(log: dict[str, Any], path: Path) -> Path:
    """Each candidate's dev AUC against its paediatric val AUC (mean over seeds; seeds as small dots)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    merged: dict[str, dict[str, dict[str, Any]]] = {}
    for e in log["entries"]:
        merged.setdefault(e["name"], {}).update(e["seeds"])
    fig, ax = plt.subplots(figsize=(9, 6))
    for i, (name, seeds) in enumerate(merged.items()):
        dev = [r["nih_621_dev"]["auc"] for r in seeds.values() if "nih_621_dev" in r]
        ped = [r["pediatric_val"]["auc"] for r in seeds.values() if "pediatric_val" in r]
        if not dev or not ped:
            continue
        colour = plt.cm.tab20(i % 20)
        ax.scatter(ped, dev, s=10, color=colour, alpha=0.5)
        ax.scatter([np.mean(ped)], [np.mean(dev)], s=60, color=colour, edgecolor="k", label=name, zorder=3)
    ax.set_xlabel("paediatric val AUC (pneumonia)")
    ax.set_ylabel("nih_621 dev AUC (normal vs abnormal)")
    ax.set_title(f"Selection log: {log['dev_scorings']} development scorings (big: mean over seeds; small: seeds)",
                 fontsize=10)
    ax.legend(fontsize=6, loc="lower left", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", help="name of the candidate in the log")
    ap.add_argument("--plot", action="store_true", help="only draw the log's plot (frontend_dev.png beside it)")
    ap.add_argument("--set", dest="overrides", nargs="*", default=[], help="TrainConfig overrides, key=value")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MCRAG_DATA_DIR") or ROOT / ".." / "shared" / "data"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mcrag-frontend-dev"))
    ap.add_argument("--log", type=Path, default=ROOT / "docs" / "results" / "frontend_dev.json")
    args = ap.parse_args(argv)
    if args.plot:
        print("wrote", plot(json.loads(args.log.read_text(encoding="utf-8")), args.log.with_suffix(".png")))
        return 0
    if not args.name:
        ap.error("--name is required to train and score a candidate")
    try:
        overrides = parse_overrides(args.overrides)
        cfg0 = replace(TrainConfig.fast(), **overrides)
    except (TypeError, ValueError) as err:
        ap.error(str(err))
    torch.set_num_threads(1)
    from vlm.encoders import TextEncoder
    from vlm.grounding import starter_store

    args.cache.mkdir(parents=True, exist_ok=True)
    corpus = load_sources(args.data_dir, (*SOURCES, "nih_621"))
    dev = DevSets(args.data_dir, args.cache, cfg0.image_size, corpus)
    encoder, store = TextEncoder(cache_dir=args.cache / "text"), starter_store()
    entry: dict[str, Any] = {"name": args.name, "overrides": {k: v for k, v in overrides.items()},
                             "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "seeds": {}, "training": {}}
    for seed in args.seeds:
        cfg = replace(cfg0, seed=seed, vision_only=True, pixel_cache=str(args.cache / "pixels"))
        out = args.cache / "models" / f"{args.name}-seed{seed}"
        report = train(corpus, out, cfg, store=store, text_encoder=encoder)
        model = GroundedVLM.from_pretrained(out)
        figures = score(model, dev)
        entry["seeds"][str(seed)] = figures
        entry["training"][str(seed)] = {"seconds": report.seconds, "steps": len(report.history["vision_train_loss"]),
                                        "selected_step": report.val.get("selected_step")}
        print(f"{args.name} seed {seed}: {report.seconds:.0f} s; nih_621 dev AUC {figures['nih_621_dev']['auc']:.3f} "
              f"(AP {figures['nih_621_dev']['auc_AP']:.3f}, PA {figures['nih_621_dev']['auc_PA']:.3f}); nih_1000 val "
              f"{figures['nih_1000_val']['auc']:.3f}; paediatric val {figures['pediatric_val']['auc']:.4f} "
              f"(28 px {figures['pediatric_val_28']['auc']:.4f}); COVID val {figures['covid_val']['auc']:.3f}", flush=True)
    entry["mean"] = mean_figures(entry["seeds"])
    entry["config"] = json.loads(json.dumps(asdict(replace(cfg0, vision_only=True)), default=str))
    append(args.log, entry, {name: len(dev.sets[name]) for name in DEV_SETS})
    print(json.dumps(entry["mean"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
