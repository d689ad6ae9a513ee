"""How far the real front end leans on the view: per-finding AP-vs-PA offsets of its logit on ``nih_1000``.

The transport benchmark (``benchmarks/transport.py``) simulates a front end that leans on the view with
a shortcut strength; strength 1 was first set from ``nih_1000``'s *labels* (the AP-vs-PA log odds
ratio of each finding). This script measures what the default VLM (the model ``mcrag train-vlm --fast``
builds) actually does: it scores the ``nih_1000`` films and, per finding, fits the front end's score
model of :mod:`reasoning.posterior.reading` (``logit = m_y + offset_view``, equal variance), so that

* ``offset_AP - offset_PA`` is the view's own shift of the logit at a fixed finding status (the
  shortcut), in logit units;
* divided by the residual sd it is a shift in sd units, which does not depend on how sharp the front
  end is, so it carries over to a simulated front end of another AUC (whose logit sd is ``d``, the
  separation of :func:`benchmarks.noise.separation_for_auc`);
* the raw AP-vs-PA difference of mean logits (not conditional on the finding) and the labels' own
  log odds ratio are reported beside it (the "view association").

Films: the model's held-out validation films of ``nih_1000`` (the split of ``vlm.data``, by patient;
the front end never trained on them) give the measured strength; the training films are reported as
well (a front end scores its own training films from memory, which hides the view's effect). A
finding with fewer than ``--min-positives`` positives among the validation films takes the pooled
abnormal reading (1 - P(normal), any finding vs "No Finding").

    nice -n 10 python -m benchmarks.view_shortcut

Writes ``docs/results/view_shortcut.json`` (read by ``benchmarks/transport.py --shortcut model``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.metrics import roc_auc  # noqa: E402
from kg.concepts import FINDING_CONCEPTS, FINDINGS  # noqa: E402
from mcrag.settings import load_settings  # noqa: E402
from reasoning.posterior import fit_reading, logit  # noqa: E402

ABNORMAL = "abnormal"
OUT = ROOT / "docs" / "results" / "view_shortcut.json"


def concept_id(finding: str) -> str:
    return FINDING_CONCEPTS[finding].iri.rsplit("/", 1)[-1]


def score_films(model: Path, nih_1000: Path, nih_621: Path) -> pd.DataFrame:
    """One row per ``nih_1000`` film the model's data split keeps: split, view, labels, calibrated logits."""
    from vlm.backends import load_backend
    from vlm.data import nih_patients, read_nih
    from vlm.images import preprocess
    from vlm.labels import LABELS

    backend = load_backend(model)
    corpus = read_nih(nih_1000, "nih_1000", exclude_patients=nih_patients(nih_621))
    recs = [r for r in corpus.records if r.has_image]
    pixels = np.stack([preprocess(r.image, backend.image_size) for r in recs])  # type: ignore[arg-type]
    probs, _ = backend.encode_batch(pixels)
    names = list(backend.label_names)
    rows = []
    for r, p in zip(recs, probs, strict=True):
        row: dict[str, Any] = {"id": r.id, "split": r.split, "view": r.view}
        for f in FINDINGS:
            row[f"y_{f}"] = r.labels[LABELS.index(f)]
            row[f"s_{f}"] = float(logit(float(p[names.index(f)])))
        row[f"y_{ABNORMAL}"] = 1 - r.labels[LABELS.index("normal")]
        row[f"s_{ABNORMAL}"] = float(logit(1.0 - float(p[names.index("normal")])))
        rows.append(row)
    return pd.DataFrame(rows)


def measure(films: pd.DataFrame, findings: Sequence[str], min_positives: int) -> dict[str, dict[str, Any]]:
    """Per finding: the backdoor score model's AP and PA offsets, sd, separation, and the raw associations."""
    out: dict[str, dict[str, Any]] = {}
    views = films["view"].to_numpy(dtype=object)
    ap = views == "AP"
    for f in findings:
        x = films[f"s_{f}"].to_numpy(dtype=np.float64)
        y = films[f"y_{f}"].to_numpy(dtype=np.float64)
        pos, neg = int((y == 1).sum()), int((y == 0).sum())
        entry: dict[str, Any] = {"positives": pos, "negatives": neg,
                                 "films_ap": int(ap.sum()), "films_pa": int((~ap).sum())}
        a, b = (y == 1) & ap, (y == 1) & ~ap
        c, d = (y == 0) & ap, (y == 0) & ~ap
        entry["label_log_or_ap_vs_pa"] = round(float(np.log((a.sum() + 0.5) * (d.sum() + 0.5)
                                                             / ((b.sum() + 0.5) * (c.sum() + 0.5)))), 4)
        entry["raw_logit_ap_minus_pa"] = round(float(x[ap].mean() - x[~ap].mean()), 4)
        entry["auc"] = round(float(roc_auc(y, x)), 4) if min(pos, neg) > 0 else None
        entry["auc_ap"] = round(float(roc_auc(y[ap], x[ap])), 4) if min(((y == 1) & ap).sum(), ((y == 0) & ap).sum()) else None
        entry["auc_pa"] = round(float(roc_auc(y[~ap], x[~ap])), 4) if min(((y == 1) & ~ap).sum(), ((y == 0) & ~ap).sum()) else None
        if pos >= min_positives and neg >= min_positives:
            reading = fit_reading(pd.DataFrame({f: x}), pd.DataFrame({f: y}), list(views), "backdoor",
                                  min_per_class=min_positives, min_per_view=min_positives)
            fit = reading.fits.get(f)
            if fit is not None and {"AP", "PA"} <= set(fit.offsets):
                shift = fit.offsets["AP"] - fit.offsets["PA"]
                entry.update(offset_ap=round(fit.offsets["AP"], 4), offset_pa=round(fit.offsets["PA"], 4),
                             shift_logit=round(shift, 4), sd=round(fit.sd, 4),
                             separation_logit=round(fit.mean_present - fit.mean_absent, 4),
                             shift_sd=round(shift / fit.sd, 4), measured=True)
        entry.setdefault("measured", False)
        out[f] = entry
    return out


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="model folder (default: the configured default VLM)")
    ap.add_argument("--model-commit", default=None, help="commit of the code that trained the model (recorded)")
    ap.add_argument("--min-positives", type=int, default=10)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    settings = load_settings()
    model = args.model or settings.vlm().model_dir
    nih_1000, nih_621 = settings.data("nih_1000"), settings.data("nih_621")
    for p in (model, nih_1000, nih_621):
        if not p.exists():
            print(f"error: {p} not found", file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    films = score_films(model, nih_1000, nih_621)
    findings = [*FINDINGS, ABNORMAL]
    per_split = {name: measure(films[sel].reset_index(drop=True), findings, args.min_positives)
                 for name, sel in (("val", films["split"] == "val"), ("train", films["split"] == "train"),
                                   ("all", films["split"].isin(["train", "val"])))}
    val = per_split["val"]
    fallback = val[ABNORMAL].get("shift_sd")
    chosen: dict[str, float] = {}
    for f in FINDINGS:
        if val[f]["measured"]:
            chosen[concept_id(f)] = float(val[f]["shift_sd"])
    result = {
        "command": "nice -n 10 python -m benchmarks.view_shortcut " + " ".join(argv if argv is not None else sys.argv[1:]),
        "model": str(model), "model_trained_by_commit": args.model_commit, "measured_by_commit": git_commit(),
        "films": {k: int(v) for k, v in films["split"].value_counts().items()},
        "views": {k: int(v) for k, v in films["view"].value_counts().items()},
        "rule": ("shift in sd units = (offset_AP - offset_PA) / sd of the front end's score model (logit = m_y + "
                 "offset_view) fitted on the held-out validation films of nih_1000; findings with fewer than "
                 f"{args.min_positives} positives or negatives there take the abnormal reading's shift"),
        "shortcut_sd": {"per_concept": chosen, "fallback": fallback},
        "per_split": per_split, "seconds": round(time.perf_counter() - t0, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".part")
    tmp.write_text(json.dumps(result, indent=1), encoding="utf-8")
    tmp.replace(args.out)
    print(json.dumps({"films": result["films"], "shortcut_sd": result["shortcut_sd"],
                      "val": {f: {k: v for k, v in e.items() if k in ("positives", "shift_logit", "shift_sd", "auc",
                                                                        "label_log_or_ap_vs_pa", "raw_logit_ap_minus_pa")}
                              for f, e in val.items()}}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
