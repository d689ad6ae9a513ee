"""Image-level benchmark of the default VLM's front end (the vision tower `make run` trains).

Trains the front end from scratch on CPU (the fast setting of the main job, vision stage only) for
every variant and seed, then scores, side by side:

* ``nih_621``'s test part (adult NIH films of patients never trained on; its dev part chose settings,
  see ``benchmarks/frontend_dev.py``): normal-vs-abnormal AUC (score 1 - P(normal)) with the specificity
  at 0.8 sensitivity, overall and per view; the AUC of each of the 14 findings; how often a normal adult
  film is called COVID-19 or pneumonia; the gap to the same model's ``nih_1000`` validation AUC; and,
  for comparability with the first round only, the same on all 621 films;
* paediatric pneumonia: ``pediatric_cxr/test`` at 224 px and the PneumoniaMNIST test set at 28 px (the
  same films): AUC and accuracy (threshold from the paediatric val films), and how often a normal
  paediatric film is called pneumonia or COVID-19;
* the COVID collection's patient-level test split (COVID-19 vs other pneumonia, frontal films).

Variants: ``default`` (what ``make run`` trains now) and ``round-one`` (the first round's default, the
same-run anchor); on request the first round's ablations, ``equalise``, ``no-normalisation`` (one fixed
scaling for every film) and ``no-confounder-rule`` (source shares only, checkpoint by validation loss).
For the default model of the first seed the three retrieval modes are scored through the grounder
(index: the model's embeddings of the training sources' train and val films). Anchors in the same run:
what raw brightness, follow-up number and view alone score. Every test split is scored once per run;
the rules, and how often each split has been scored, are in docs/RESULTS.md.

Usage (from the repository root)::

    python -m benchmarks.frontend_images [--seeds 0 1 2] [--out-dir docs/results] [--benchmarks-md]

(the committed results were made as ``python benchmarks/frontend_images.py --benchmarks-md``, the same
module run as a file).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
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
from tqdm import tqdm  # noqa: E402

from vlm.confounders import Binning, matched_auc, target_class, weighted_auc  # noqa: E402
from vlm.data import SOURCES, Record, load_sources, read_pneumoniamnist  # noqa: E402
from vlm.images import square_resize  # noqa: E402
from vlm.labels import LABEL_INDEX, LABELS  # noqa: E402
from vlm.model import GroundedVLM  # noqa: E402
from vlm.train import TrainConfig, load_resized, normalise_stack, train  # noqa: E402

ROUND_ONE: dict[str, Any] = {"vision_epochs": 5, "source_groups": (), "group_heads": True, "prior_correction": ()}
"""The first round's fast setting, as overrides of today's (half the vision stage, no adult prior correction)."""
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "round-one": ROUND_ONE,
    "equalise": {"intensity": "equalise"},
    "no-normalisation": {"intensity": "fixed"},
    "no-confounder-rule": {"confounder_rule": "off"},
}
"""``default``: per-image z-scoring and the confounder rule. ``equalise``: histogram equalisation instead of
z-scoring (the alternative the validation rule weighed). The other two drop one part each."""
INTENSITY_RULE = ("z-scoring vs histogram equalisation: the higher mean over seeds of the selection figure "
                  "(worst view's confounder-matched nih_1000 val AUC at the chosen checkpoint); a difference "
                  "below 0.01 goes to z-scoring")
GOALS = {"nih_621_abnormal_auc": 0.75, "pneumonia_auc": 0.992, "pneumonia_accuracy": 0.95}
ADULT_FINDINGS = tuple(n for n in LABELS if n not in ("normal", "COVID-19"))
POSITIVE = 0.5
BOOTSTRAP = 2000


# ---------------------------------------------------------------------------------------- metrics
def spec_at_sens(y: np.ndarray, s: np.ndarray, sensitivity: float = 0.8) -> float:
    """Specificity at the highest threshold whose sensitivity reaches ``sensitivity`` (a test ROC point)."""
    pos, neg = s[y == 1], s[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    ordered = np.sort(pos)[::-1]
    k = int(math.ceil(sensitivity * len(pos)))
    t = ordered[k - 1]
    return float((neg < t).mean())


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    return weighted_auc(s, y)


def accuracy(y: np.ndarray, s: np.ndarray, threshold: float) -> float:
    return float(((s >= threshold).astype(int) == y).mean())


def best_threshold(y: np.ndarray, s: np.ndarray) -> float:
    """The threshold with the best balanced accuracy on held-out (validation) films."""
    best, best_t = -1.0, 0.5
    for t in np.unique(np.round(s, 4)):
        pred = s >= t
        score = 0.5 * (pred[y == 1].mean() + (~pred[y == 0]).mean())
        if score > best + 1e-12:
            best, best_t = score, float(t)
    return best_t


def bootstrap(fn: Callable[[np.ndarray, np.ndarray], float], y: np.ndarray, s: np.ndarray,
              groups: Sequence[str] | None = None, n: int = BOOTSTRAP, seed: int = 0) -> list[float]:
    """95% percentile interval of ``fn(y, s)``, resampling patients (films of a patient together)."""
    rng = np.random.default_rng(seed)
    if groups is None:
        members = [np.array([i]) for i in range(len(y))]
    else:
        idx: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            idx.setdefault(g, []).append(i)
        members = [np.array(v) for v in idx.values()]
    vals = []
    for _ in range(n):
        rows = np.concatenate([members[j] for j in rng.integers(0, len(members), len(members))])
        v = fn(y[rows], s[rows])
        if not math.isnan(v):
            vals.append(v)
    if not vals:
        return [float("nan"), float("nan")]
    lo, hi = np.percentile(vals, (2.5, 97.5))
    return [round(float(lo), 4), round(float(hi), 4)]


def binary_block(y: np.ndarray, s: np.ndarray, groups: Sequence[str] | None, *, spec: bool = False,
                 threshold: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"n": int(len(y)), "positives": int((y == 1).sum()), "negatives": int((y == 0).sum()),
                           "auc": round(weighted_auc(s, y), 4), "auc_ci95": bootstrap(_auc, y, s, groups)}
    if spec:
        out["spec_at_sens80"] = round(spec_at_sens(y, s), 4)
        out["spec_at_sens80_ci95"] = bootstrap(spec_at_sens, y, s, groups)
    if threshold is not None:
        out["threshold"] = round(threshold, 4)
        out["accuracy"] = round(accuracy(y, s, threshold), 4)
        out["accuracy_ci95"] = bootstrap(lambda a, b: accuracy(a, b, threshold), y, s, groups)
    return out


# ---------------------------------------------------------------------------------------- data
class TestSets:
    """Every film the benchmark reads, resized once (and cached under ``cache``)."""

    def __init__(self, data_dir: Path, cache: Path, size: int, *, on_val: bool = False) -> None:
        """``on_val``: validation films stand in for every test split (a dry run that reads no test film)."""
        self.data_dir, self.cache, self.size = data_dir, cache, size
        corpus = load_sources(data_dir, (*SOURCES, "nih_621"))
        self.corpus = corpus
        recs = corpus.records
        self.nih_val = [r for r in recs if r.source == "nih_1000" and r.split == "val"]
        self.nih_621 = self.nih_val if on_val else [r for r in recs if r.source == "nih_621" and r.split == "test"]
        """The test part of ``nih_621`` (its dev part chose settings and is never reported for a model)."""
        self.nih_621_all = self.nih_val if on_val else [r for r in recs if r.source == "nih_621"]
        """All 621 films, for comparability with the first round's full-set figure only."""
        self.ped_val = [r for r in recs if r.source == "pediatric_cxr" and r.split == "val"]
        self.ped_test = self.ped_val if on_val else [r for r in recs if r.source == "pediatric_cxr" and r.split == "test"]
        from benchmarks import covid_split

        cases, _ = covid_split.read_cases(data_dir / "cxr_covid")
        part = "val" if on_val else "test"
        test_cases = covid_split.patient_split(cases)[part]
        by_name = {r.image_path.name: r for r in recs if r.source == "cxr_covid" and r.image_path is not None}
        self.covid_test = [by_name[c.key] for c in test_cases]
        self.covid_y = np.array([c.covid for c in test_cases])
        if any(r.split != part for r in self.covid_test):
            raise RuntimeError(f"the COVID {part} films are not the {part} split of the training data")
        pm = read_pneumoniamnist(data_dir / "pneumoniamnist" / "pneumoniamnist.npz", splits=(part,))
        self.pm_test = pm.records
        self.raw: dict[str, np.ndarray] = {}
        self.kept: dict[str, list[int]] = {}

    def load(self) -> None:
        sets = {"nih_621": self.nih_621, "nih_621_all": self.nih_621_all, "nih_val": self.nih_val, "ped_test": self.ped_test, "ped_val": self.ped_val,
                "covid_test": self.covid_test, "pm_test": self.pm_test}
        for name, recs in sets.items():
            px, kept = load_resized(recs, self.size, cache_dir=self.cache / "pixels")
            if len(kept) != len(recs):
                raise RuntimeError(f"{name}: {len(recs) - len(kept)} films could not be read")
            self.raw[name] = px
        # the paediatric val films as PneumoniaMNIST shows them: 28 px, 8 bits, then back up to the model's side
        small, _ = load_resized(self.ped_val, 28, cache_dir=self.cache / "pixels")
        self.raw["ped_val_28"] = np.stack([square_resize(np.round(p * 255) / 255, self.size) for p in small])

    def brightness(self, name: str) -> np.ndarray:
        px = self.raw[name]
        return px.reshape(len(px), -1).mean(axis=1)


def shortcut_anchors(t: TestSets) -> dict[str, Any]:
    """What the recorded confounders alone score on the adult sets (no model)."""
    out: dict[str, Any] = {}
    for name, recs in (("nih_1000_val", t.nih_val), ("nih_621", t.nih_621)):
        key = "nih_val" if name == "nih_1000_val" else name
        y = np.array([target_class(r) for r in recs])
        out[name] = {
            "darker_auc": round(weighted_auc(-t.brightness(key), y), 4),
            "follow_up_auc": round(weighted_auc(np.array([r.follow_up or 0 for r in recs], float), y), 4),
            "pa_view_auc": round(weighted_auc(np.array([r.view == "PA" for r in recs], float), y), 4),
            "abnormal_share": {v: round(float(y[[r.view == v for r in recs]].mean()), 4) for v in ("AP", "PA")},
            "films": {v: int(sum(r.view == v for r in recs)) for v in ("AP", "PA")},
        }
    return out


# ---------------------------------------------------------------------------------------- scoring
@torch.inference_mode()
def encode(model: GroundedVLM, raw: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated probabilities and image embeddings of a stack of resized films."""
    model.eval()
    x = normalise_stack(raw, model.config.intensity)
    probs, embs = [], []
    for s in range(0, len(x), batch):
        pooled, _ = model.vision_features(torch.from_numpy(x[s:s + batch]).unsqueeze(1))
        probs.append(model.calibrated_probs(model.diagnosis_logits(pooled)).numpy())
        embs.append(model.image_embeds(pooled).numpy())
    return np.concatenate(probs), np.concatenate(embs)


def _labels(recs: Sequence[Record], name: str) -> np.ndarray:
    return np.array([r.labels[LABEL_INDEX[name]] for r in recs])


def adult_block(recs: Sequence[Record], probs: np.ndarray, brightness: np.ndarray) -> dict[str, Any]:
    """nih_621: normal vs abnormal overall and per view, matched AUC, per finding, false COVID/pneumonia calls."""
    y = np.array([target_class(r) for r in recs])
    s = 1.0 - probs[:, LABEL_INDEX["normal"]]
    groups = [r.group for r in recs]
    views = np.array([r.view for r in recs])
    out: dict[str, Any] = {"abnormal": binary_block(y, s, groups, spec=True), "by_view": {}}
    for v in ("AP", "PA"):
        sel = views == v
        out["by_view"][v] = binary_block(y[sel], s[sel], [g for g, k in zip(groups, sel, strict=True) if k], spec=True)
    cells = Binning.fit(brightness, ("view", "brightness", "follow_up"), 3, (1,)).cells(recs, brightness)
    out["abnormal"]["matched_auc"] = round(matched_auc(s, y, cells), 4)
    findings: dict[str, dict[str, Any]] = {}
    for name in ADULT_FINDINGS:
        yf = _labels(recs, name)
        findings[name] = {"positives": int((yf == 1).sum()), "auc": round(weighted_auc(probs[:, LABEL_INDEX[name]], yf), 4),
                          "auc_ci95": bootstrap(_auc, yf, probs[:, LABEL_INDEX[name]], groups)}
    out["findings"] = findings
    out["findings_macro_auc"] = round(float(np.nanmean([f["auc"] for f in findings.values()])), 4)
    normal = y == 0
    covid = probs[:, LABEL_INDEX["COVID-19"]] >= POSITIVE
    pneu = probs[:, LABEL_INDEX["Pneumonia"]] >= POSITIVE
    out["calls"] = {"normal_films": int(normal.sum()), "normal_called_covid": round(float(covid[normal].mean()), 4),
                    "normal_called_pneumonia": round(float(pneu[normal].mean()), 4),
                    "all_called_covid": round(float(covid.mean()), 4),
                    "normal_called_abnormal": round(float((s[normal] >= POSITIVE).mean()), 4)}
    return out


def normal_calls(recs: Sequence[Record], probs: np.ndarray) -> dict[str, Any]:
    """Among the normal films: the share called COVID-19, and pneumonia, at a calibrated probability >= 0.5."""
    normal = _labels(recs, "normal") == 1
    return {"normal_films": int(normal.sum()),
            "normal_called_covid": round(float((probs[normal, LABEL_INDEX["COVID-19"]] >= POSITIVE).mean()), 4),
            "normal_called_pneumonia": round(float((probs[normal, LABEL_INDEX["Pneumonia"]] >= POSITIVE).mean()), 4)}


def pneumonia_blocks(t: TestSets, score: Callable[[str], np.ndarray]) -> dict[str, Any]:
    """Paediatric test at 224 px and PneumoniaMNIST at 28 px, thresholds from the paediatric val films."""
    yv = _labels(t.ped_val, "Pneumonia")
    yt = _labels(t.ped_test, "Pneumonia")
    ypm = _labels(t.pm_test, "Pneumonia")
    thr = best_threshold(yv, score("ped_val"))
    thr28 = best_threshold(yv, score("ped_val_28"))
    return {"pediatric_224": {**binary_block(yt, score("ped_test"), [r.group for r in t.ped_test], threshold=thr),
                              "val_auc": round(weighted_auc(score("ped_val"), yv), 4)},
            "pneumoniamnist_28": {**binary_block(ypm, score("pm_test"), None, threshold=thr28),
                                  "val_auc_28": round(weighted_auc(score("ped_val_28"), yv), 4)}}


def score_model(model: GroundedVLM, t: TestSets) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    t0 = time.perf_counter()
    enc = {name: encode(model, raw) for name, raw in t.raw.items()}
    encode_s = time.perf_counter() - t0
    probs = {k: v[0] for k, v in enc.items()}
    out = {"nih_621": adult_block(t.nih_621, probs["nih_621"], t.brightness("nih_621"))}
    full = adult_block(t.nih_621_all, probs["nih_621_all"], t.brightness("nih_621_all"))
    out["nih_621_all"] = {k: full[k] for k in ("abnormal", "by_view", "calls", "findings_macro_auc")}
    out.update(pneumonia_blocks(t, lambda k: probs[k][:, LABEL_INDEX["Pneumonia"]]))
    out["pediatric_224"]["calls"] = normal_calls(t.ped_test, probs["ped_test"])
    out["covid_test"] = binary_block(t.covid_y, probs["covid_test"][:, LABEL_INDEX["COVID-19"]],
                                     [r.group for r in t.covid_test])
    yv = np.array([target_class(r) for r in t.nih_val])
    sv = 1.0 - probs["nih_val"][:, LABEL_INDEX["normal"]]
    val = {"auc": round(weighted_auc(sv, yv), 4)}
    views = np.array([r.view for r in t.nih_val])
    for v in ("AP", "PA"):
        val[v] = round(weighted_auc(sv[views == v], yv[views == v]), 4)
    out["nih_1000_val"] = val
    test = out["nih_621"]
    out["gap"] = {"overall": round(val["auc"] - test["abnormal"]["auc"], 4),
                  **{v: round(val[v] - test["by_view"][v]["auc"], 4) for v in ("AP", "PA")}}
    out["encode"] = {"films": int(sum(len(v) for v in t.raw.values())), "seconds": round(encode_s, 2)}
    return out, {k: v[1] for k, v in enc.items()} | {f"probs:{k}": v for k, v in probs.items()}


# ---------------------------------------------------------------------------------------- training
def train_variant(variant: str, seed: int, corpus: Any, cache: Path, store: Any, encoder: Any,
                  max_steps: int | None = None) -> tuple[Path, dict[str, Any]]:
    cfg = replace(TrainConfig.fast(), vision_only=True, seed=seed, pixel_cache=str(cache / "pixels"),
                  max_steps=max_steps, **VARIANTS[variant])
    out = cache / "models" / f"{variant}-seed{seed}"
    saved = out / "train_report.json"
    wanted = json.loads(json.dumps(asdict(cfg), default=str))
    if saved.is_file() and json.loads(saved.read_text(encoding="utf-8")).get("config") == wanted:
        report = json.loads(saved.read_text(encoding="utf-8"))  # trained by an earlier run of this command
        reused = True
    else:
        bar = tqdm(total=1, desc=f"train {variant} seed {seed}", leave=False)

        def tick(stage: str, step: int, total: int, metrics: dict[str, float]) -> None:
            if stage == "vision":
                bar.total = total
                bar.n = step
                bar.refresh()

        report = train(corpus, out, cfg, store=store, progress=tick, text_encoder=encoder).to_json()
        bar.close()
        reused = False
    steps = len(report["history"]["vision_train_loss"])
    info = {"seconds": report["seconds"], "reused_model": reused, "steps": steps, "batch_size": cfg.batch_size,
            "samples_per_second": round(steps * cfg.batch_size / max(report["seconds"], 1e-9), 1),
            "selected_step": report["val"].get("selected_step"), "selection_score": report["val"].get("selection_score"),
            "val": {k: round(v, 4) for k, v in report["val"].items() if k.startswith("val_auc")},
            "counts": report["counts"],
            "config": {k: v for k, v in asdict(cfg).items() if k in ("image_size", "vision_epochs", "samples_per_epoch",
                                                                     "batch_size", "intensity", "confounder_rule",
                                                                     "source_shares", "low_resolution", "seed")}}
    return out, info


# ---------------------------------------------------------------------------------------- modes
def score_modes(model_dir: Path, t: TestSets, embeds: dict[str, np.ndarray], data_dir: Path, encoder: Any,
                modes: Sequence[str]) -> dict[str, Any]:
    """The three retrieval modes through the grounder, with the default model's findings and embeddings."""
    from benchmarks.front_end_grounding import front_end_grounder, ground
    from vlm.grounding import starter_store
    from vlm.index import build_index

    t0 = time.perf_counter()
    index = build_index(data_dir, None, model_dir, sources=SOURCES, splits=("train", "val"), text_encoder=encoder)
    out: dict[str, Any] = {"index": {"exemplars": len(index), "seconds": round(time.perf_counter() - t0, 1),
                                     "sources": list(SOURCES), "splits": ["train", "val"]}}
    grounder = front_end_grounder("frontend-images", index, store=starter_store())
    needed = ("nih_621", "ped_test", "ped_val", "ped_val_28", "pm_test", "covid_test")
    total = len(modes) * sum(len(t.raw[k]) for k in needed)
    bar = tqdm(total=total, desc="grounded diagnosis")
    for mode in modes:
        post: dict[str, np.ndarray] = {}
        for name in needed:
            probs = embeds[f"probs:{name}"]
            rows = []
            for p, e in zip(probs, embeds[name], strict=True):
                r = ground(grounder, dict(zip(LABELS, (float(v) for v in p), strict=True)), e, "diagnose", mode)
                got = r.probabilities()
                rows.append([got.get(n, 0.0) for n in LABELS])
                bar.update(1)
            post[name] = np.array(rows)
        block: dict[str, Any] = {"nih_621": adult_block(t.nih_621, post["nih_621"], t.brightness("nih_621"))}
        block["nih_621"].pop("findings")
        def pneumonia(k: str, post: dict[str, np.ndarray] = post) -> np.ndarray:
            return post[k][:, LABEL_INDEX["Pneumonia"]]

        block.update(pneumonia_blocks(t, pneumonia))
        block["covid_test"] = binary_block(t.covid_y, post["covid_test"][:, LABEL_INDEX["COVID-19"]],
                                           [r.group for r in t.covid_test])
        out[mode] = block
    bar.close()
    return out


# ---------------------------------------------------------------------------------------- summary, plots
def mean_rows(per_seed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Mean and range over seeds of the headline figures."""
    def pick(r: dict[str, Any]) -> dict[str, float]:
        n = r["nih_621"]
        return {"nih_621_auc": n["abnormal"]["auc"], "nih_621_auc_AP": n["by_view"]["AP"]["auc"],
                "nih_621_auc_PA": n["by_view"]["PA"]["auc"], "nih_621_spec_at_sens80": n["abnormal"]["spec_at_sens80"],
                "nih_621_matched_auc": n["abnormal"]["matched_auc"], "nih_621_findings_macro_auc": n["findings_macro_auc"],
                "nih_1000_val_auc": r["nih_1000_val"]["auc"], "gap": r["gap"]["overall"],
                "normal_called_covid": n["calls"]["normal_called_covid"],
                "normal_called_pneumonia": n["calls"]["normal_called_pneumonia"],
                "pediatric_224_auc": r["pediatric_224"]["auc"], "pediatric_224_accuracy": r["pediatric_224"]["accuracy"],
                "pneumoniamnist_28_auc": r["pneumoniamnist_28"]["auc"],
                "pneumoniamnist_28_accuracy": r["pneumoniamnist_28"]["accuracy"], "covid_test_auc": r["covid_test"]["auc"],
                "nih_621_all_auc": r["nih_621_all"]["abnormal"]["auc"],
                "nih_621_all_spec_at_sens80": r["nih_621_all"]["abnormal"]["spec_at_sens80"],
                "pediatric_normal_called_pneumonia": r["pediatric_224"]["calls"]["normal_called_pneumonia"],
                "pediatric_normal_called_covid": r["pediatric_224"]["calls"]["normal_called_covid"]}
    rows = [pick(r) for r in per_seed.values()]
    return {k: {"mean": round(float(np.mean([r[k] for r in rows])), 4), "min": round(min(r[k] for r in rows), 4),
                "max": round(max(r[k] for r in rows), 4)} for k in rows[0]}


def plots(result: dict[str, Any], curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    paths = []
    colours = {"default": "#08519c", "round-one": "#969696", "no-normalisation": "#de2d26",
               "no-confounder-rule": "#31a354", "equalise": "#fd8d3c"}
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    for ax, part in zip(axes, ("all", "AP", "PA"), strict=True):
        for variant, (y, s) in curves[part].items():
            fpr, tpr, _ = roc_curve(y, s)
            auc = weighted_auc(s, y)
            ax.plot(fpr, tpr, color=colours.get(variant, "k"), ls="-" if variant == "default" else "--",
                    label=f"{variant} (AUC {auc:.3f})")
        ax.plot([0, 1], [0, 1], color="#999", lw=0.8)
        ax.axhline(0.8, color="#999", lw=0.6, ls=":")
        n = curves[part]["default"][0]
        ax.set_title(f"nih_621 {part} films ({int((n == 1).sum())} abnormal / {int((n == 0).sum())} normal)")
        ax.set_xlabel("1 - specificity")
        ax.set_ylabel("sensitivity")
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Normal vs abnormal on unseen adult patients (seed 0; dotted line: sensitivity 0.8)", fontsize=10)
    fig.tight_layout()
    paths.append(out_dir / "frontend_images_roc.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2))
    names = list(result["variants"])
    x = np.arange(len(names))
    for key, off, colour, label in (("nih_1000_val_auc", -0.2, "#9ecae1", "nih_1000 val (in distribution)"),
                                    ("nih_621_auc", 0.0, "#08519c", "nih_621 test"),
                                    ("nih_621_matched_auc", 0.2, "#fdae6b", "nih_621 test, confounder-matched")):
        means = [result["variants"][v]["mean"][key]["mean"] for v in names]
        axes[0].bar(x + off, means, 0.2, color=colour, label=label)
        for i, v in enumerate(names):
            pts = _seed_values(result["variants"][v], key)
            axes[0].scatter([x[i] + off] * len(pts), pts, color="k", s=8, zorder=3)
            axes[0].text(x[i] + off, means[i] + 0.01, f"{means[i]:.3f}", ha="center", fontsize=7)
    axes[0].axhline(GOALS["nih_621_abnormal_auc"], color="#de2d26", ls=":", lw=1)
    axes[0].set_xticks(x, names)
    axes[0].set_ylim(0.4, 1.12)
    axes[0].set_title("Normal vs abnormal AUC: the gap (bars: mean over seeds, dots: seeds; red: goal 0.75)",
                      fontsize=9)
    axes[0].legend(fontsize=7, loc="upper right")
    default = result["variants"]["default"]["seeds"]
    first = next(iter(default.values()))["nih_621"]["findings"]
    order = sorted(first, key=lambda n: -np.mean([default[s]["nih_621"]["findings"][n]["auc"] for s in default]))
    vals = [np.mean([default[s]["nih_621"]["findings"][n]["auc"] for s in default]) for n in order]
    lo = [first[n]["auc_ci95"][0] for n in order]
    hi = [first[n]["auc_ci95"][1] for n in order]
    xs = np.arange(len(order))
    axes[1].bar(xs, vals, color="#6baed6")
    seed0 = [first[n]["auc"] for n in order]
    axes[1].errorbar(xs, seed0, yerr=[np.array(seed0) - lo, np.array(hi) - seed0], fmt="none", ecolor="k", lw=0.8)
    axes[1].axhline(0.5, color="#999", lw=0.8)
    axes[1].set_xticks(xs, [f"{n}\n({first[n]['positives']})" for n in order], rotation=60, fontsize=7)
    axes[1].set_ylim(0.3, 1.0)
    axes[1].set_title("nih_621 per-finding AUC, default (bars: seed mean; whiskers: seed 0 95% CI)", fontsize=9)
    fig.tight_layout()
    paths.append(out_dir / "frontend_images_gap.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    if result.get("modes"):
        modes = [m for m in ("none", "semantic", "causal") if m in result["modes"]]
        metrics = (("nih_621 AUC", lambda b: b["nih_621"]["abnormal"]["auc"]),
                   ("nih_621 spec@0.8", lambda b: b["nih_621"]["abnormal"]["spec_at_sens80"]),
                   ("paediatric 224 AUC", lambda b: b["pediatric_224"]["auc"]),
                   ("paediatric 224 acc", lambda b: b["pediatric_224"]["accuracy"]),
                   ("PneumoniaMNIST 28 AUC", lambda b: b["pneumoniamnist_28"]["auc"]),
                   ("PneumoniaMNIST 28 acc", lambda b: b["pneumoniamnist_28"]["accuracy"]),
                   ("COVID test AUC", lambda b: b["covid_test"]["auc"]))
        fig, ax = plt.subplots(figsize=(12, 4))
        x = np.arange(len(metrics))
        for j, mode in enumerate(modes):
            v = [f(result["modes"][mode]) for _, f in metrics]
            ax.bar(x + (j - 1) * 0.26, v, 0.26, label=mode)
            for i, val in enumerate(v):
                ax.text(x[i] + (j - 1) * 0.26, val + 0.01, f"{val:.3f}", ha="center", fontsize=6, rotation=90)
        ax.set_xticks(x, [m for m, _ in metrics], fontsize=8)
        ax.set_ylim(0, 1.12)
        ax.legend(fontsize=8)
        ax.set_title("Retrieval modes over the default front end (seed 0; test splits)", fontsize=10)
        fig.tight_layout()
        paths.append(out_dir / "frontend_images_modes.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def _seed_values(variant: dict[str, Any], key: str) -> list[float]:
    pick = {"nih_1000_val_auc": lambda r: r["nih_1000_val"]["auc"], "nih_621_auc": lambda r: r["nih_621"]["abnormal"]["auc"],
            "nih_621_matched_auc": lambda r: r["nih_621"]["abnormal"]["matched_auc"]}[key]
    return [pick(r) for r in variant["seeds"].values()]


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} CPU ({platform.processor() or platform.machine()}), {platform.system()}, "
            f"Python {platform.python_version()}, torch threads 1; shared (1-min load {load:.1f} at the end)")


def benchmarks_row(result: dict[str, Any]) -> str:
    """One row of docs/BENCHMARKS.md: the default's speed and headline figures, beside the same-run anchor."""
    d = result["variants"]["default"]
    secs = [s["seconds"] for s in d["training"].values()]
    sps = [s["samples_per_second"] for s in d["training"].values()]
    m = d["mean"]
    anchor = result["variants"].get("round-one")

    def fig(key: str) -> str:
        text = f"{m[key]['mean']:.3f}"
        if anchor is not None:
            a = anchor["mean"][key]["mean"]
            text += f" (round-one anchor {a:.3f}, ratio {m[key]['mean'] / a:.3f})" if a else f" (round-one anchor {a:.3f})"
        return text

    seeds = ", ".join(d["seeds"])
    return (f"| `{result['command']}` | {result['machine']} | {result['date']} | Front end, fast setting (vision stage, "
            f"{d['training']['0']['steps']} steps of {d['training']['0']['batch_size']}), seeds {seeds}: training "
            f"{min(secs):.0f}-{max(secs):.0f} s per seed ({min(sps):.0f}-{max(sps):.0f} samples/s, 1 thread); "
            f"encoding {result['speed']['images_per_second']:.0f} films/s. nih_621 test part normal-vs-abnormal AUC "
            f"{fig('nih_621_auc')} (seeds {m['nih_621_auc']['min']:.3f}-{m['nih_621_auc']['max']:.3f}; goal 0.75), "
            f"paediatric 224 px AUC {fig('pediatric_224_auc')} / accuracy {fig('pediatric_224_accuracy')}, "
            f"PneumoniaMNIST 28 px {fig('pneumoniamnist_28_auc')} / {fig('pneumoniamnist_28_accuracy')} "
            f"(goal 0.992 / 0.95), COVID test AUC {fig('covid_test_auc')}. Whole run {result['seconds']:.0f} s. "
            "Full figures: [results/frontend_images.json](results/frontend_images.json), "
            "[results/frontend_images_roc.png](results/frontend_images_roc.png). |")


# ---------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MCRAG_DATA_DIR") or ROOT / ".." / "shared" / "data"))
    ap.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "results")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/mcrag-frontend-images"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=["default", "round-one"], choices=list(VARIANTS))
    ap.add_argument("--modes", nargs="*", default=["none", "semantic", "causal"])
    ap.add_argument("--benchmarks-md", action="store_true", help="append a row to docs/BENCHMARKS.md")
    ap.add_argument("--max-steps", type=int, default=None, help="cap on training steps (smoke runs only)")
    ap.add_argument("--on-val", action="store_true", help="dry run: validation films stand in for every test split "
                    "(reads no test film; results go to the --out-dir given, default /tmp)")
    args = ap.parse_args(argv)
    if args.on_val and args.out_dir == ROOT / "docs" / "results":
        args.out_dir = Path("/tmp/mcrag-frontend-images-dry-run")
    if (args.on_val or args.max_steps) and args.benchmarks_md:
        ap.error("--on-val and --max-steps results are not benchmark rows")
    if args.max_steps and not args.on_val:
        ap.error("--max-steps is for dry runs: add --on-val (a test split is scored once, by the full run)")
    if "default" not in args.variants:
        ap.error("--variants must include default")
    torch.set_num_threads(1)
    from vlm.encoders import TextEncoder
    from vlm.grounding import starter_store

    t_start = time.perf_counter()
    args.cache.mkdir(parents=True, exist_ok=True)
    encoder = TextEncoder(cache_dir=args.cache / "text")
    store = starter_store()
    tests = TestSets(args.data_dir, args.cache, TrainConfig.fast().image_size, on_val=args.on_val)
    print("reading films ...", flush=True)
    tests.load()
    result: dict[str, Any] = {
        "task": "frontend_images", "dry_run_on_validation_films": args.on_val, "goals": GOALS, "anchors": {"confounders_alone": shortcut_anchors(tests)},
        "counts": {"nih_621": len(tests.nih_621), "nih_1000_val": len(tests.nih_val), "pediatric_test": len(tests.ped_test),
                   "pediatric_val": len(tests.ped_val), "pneumoniamnist_test": len(tests.pm_test),
                   "covid_test": len(tests.covid_test), "covid_test_covid19": int(tests.covid_y.sum())},
        "variants": {}}
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {"all": {}, "AP": {}, "PA": {}}
    y621 = np.array([target_class(r) for r in tests.nih_621])
    views = np.array([r.view for r in tests.nih_621])
    blocks: dict[str, dict[str, Any]] = {v: {"overrides": VARIANTS[v], "seeds": {}, "training": {}} for v in args.variants}
    partial = args.cache / "frontend_images.partial.json"
    for seed in args.seeds:  # seed-major: a run cut short still holds every variant of the seeds it finished
        for variant in args.variants:
            block = blocks[variant]
            model_dir, info = train_variant(variant, seed, tests.corpus, args.cache, store, encoder, args.max_steps)
            model = GroundedVLM.from_pretrained(model_dir)
            scores, embeds = score_model(model, tests)
            if variant == "default" and seed == args.seeds[0]:
                e = scores["encode"]
                result["speed"] = {**e, "images_per_second": round(e["films"] / max(e["seconds"], 1e-9), 1),
                                   "note": "per-image normalisation + vision tower + heads on resized films, batches "
                                           "of 256, 1 thread (image decoding not included)"}
                if args.modes:
                    result["modes"] = score_modes(model_dir, tests, embeds, args.data_dir, encoder, args.modes)
            if seed == args.seeds[0]:
                s = 1.0 - embeds["probs:nih_621"][:, LABEL_INDEX["normal"]]
                curves["all"][variant] = (y621, s)
                for v in ("AP", "PA"):
                    curves[v][variant] = (y621[views == v], s[views == v])
            block["seeds"][str(seed)] = scores
            block["training"][str(seed)] = info
            block["mean"] = mean_rows(block["seeds"])
            result["variants"][variant] = block
            m = scores["nih_621"]["abnormal"]
            print(f"{variant} seed {seed}: trained {info['seconds']:.0f} s; nih_1000 val AUC {scores['nih_1000_val']['auc']:.3f}, "
                  f"nih_621 AUC {m['auc']:.3f} {m['auc_ci95']}, spec@0.8 {m['spec_at_sens80']:.3f}; paediatric "
                  f"{scores['pediatric_224']['auc']:.3f}/{scores['pediatric_224']['accuracy']:.3f}, 28 px "
                  f"{scores['pneumoniamnist_28']['auc']:.3f}/{scores['pneumoniamnist_28']['accuracy']:.3f}; COVID "
                  f"{scores['covid_test']['auc']:.3f}", flush=True)
            partial.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")  # what is scored so far
    if "equalise" in result["variants"]:
        means = {v: round(float(np.mean([i["selection_score"] for i in result["variants"][v]["training"].values()])), 4)
                 for v in ("default", "equalise")}
        result["intensity_choice"] = {"rule": INTENSITY_RULE, "mean_selection_figure": {"zscore": means["default"],
                                      "equalise": means["equalise"]},
                                      "chosen": "equalise" if means["equalise"] - means["default"] >= 0.01 else "zscore",
                                      "default_is": TrainConfig().intensity}
    result["seconds"] = round(time.perf_counter() - t_start, 1)
    result["command"] = "python benchmarks/frontend_images.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])
                                                                  if (argv if argv is not None else sys.argv[1:]) else "")
    result["machine"] = machine()
    result["date"] = time.strftime("%Y-%m-%d", time.gmtime())
    result["notes"] = [
        "Each test split was scored once in this run (all variants and seeds side by side); thresholds and "
        "checkpoints come from validation films only; rules in docs/RESULTS.md.",
        "Normal vs abnormal: score 1 - P(normal); specificity at sensitivity 0.8 is a point of the test ROC.",
        "nih_621 matched AUC compares abnormal films only with normal films of the same view, brightness "
        "tercile and follow-up (first film or later).",
    ]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / "frontend_images.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for p in plots(result, curves, args.out_dir):
        print("wrote", p)
    print("wrote", out)
    if args.benchmarks_md:
        md = ROOT / "docs" / "BENCHMARKS.md"
        md.write_text(md.read_text(encoding="utf-8").rstrip("\n") + "\n" + benchmarks_row(result) + "\n", encoding="utf-8")
        print("appended a row to", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
