"""How far simple per-image statistics separate normal from abnormal adult films, with no model.

A statistic that separates the classes in ``nih_1000`` but not in ``nih_621`` is a property of how the
two ``nih_1000`` folders were made, not of the disease, and a model trained on ``nih_1000`` can learn it.
For each statistic: the AUC (abnormal as positive) in each set; the recorded confounders (brightness,
follow-up, view) and statistics of texture and file encoding that no recorded confounder covers.

Usage (from the repository root)::

    python -m benchmarks.frontend_shortcuts [--out-dir docs/results]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from vlm.confounders import weighted_auc  # noqa: E402

STATISTICS = {
    "mean_brightness": "mean gray level (recorded confounder: brightness)",
    "follow_up": "follow-up number (recorded confounder)",
    "pa_view": "PA rather than AP (recorded confounder: view)",
    "contrast_std": "standard deviation of the gray levels",
    "histogram_entropy": "entropy of the gray-level histogram (bits)",
    "neighbour_difference": "mean absolute difference of horizontally adjacent pixels",
    "difference_entropy": "entropy of the horizontal pixel differences (noise and fine texture)",
    "png_bytes": "size of the PNG file (how compressible the film is)",
}


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def film_statistics(path: Path) -> dict[str, float]:
    a = np.asarray(Image.open(path).convert("L")).astype(np.int64)
    d = np.diff(a, axis=1).ravel()
    return {"mean_brightness": float(a.mean()), "contrast_std": float(a.std()),
            "histogram_entropy": _entropy(np.bincount(a.ravel(), minlength=256)),
            "neighbour_difference": float(np.abs(d).mean()), "difference_entropy": _entropy(np.bincount(d + 255)),
            "png_bytes": float(path.stat().st_size)}


def set_statistics(root: Path) -> dict[str, object]:
    with (root / "labels.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    y = np.array([r["finding_labels"].strip() != "No Finding" for r in rows], dtype=int)
    values: dict[str, list[float]] = {k: [] for k in STATISTICS}
    for r in rows:
        for k, stat in film_statistics(root / "images" / r["image"]).items():
            values[k].append(stat)
        values["follow_up"].append(float(r.get("follow_up") or 0))
        values["pa_view"].append(float(r.get("view", "").strip().upper() == "PA"))
    out: dict[str, object] = {"films": len(rows), "abnormal": int(y.sum())}
    for k, v in values.items():
        arr = np.array(v)
        out[k] = {"auc": round(weighted_auc(arr, y), 4), "mean_normal": round(float(arr[y == 0].mean()), 4),
                  "mean_abnormal": round(float(arr[y == 1].mean()), 4)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MCRAG_DATA_DIR") or ROOT / ".." / "shared" / "data"))
    ap.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "results")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    result: dict[str, object] = {"task": "frontend_shortcuts", "statistics": STATISTICS,
              "sets": {name: set_statistics(args.data_dir / name) for name in ("nih_1000", "nih_621")},
              "note": "AUC of each statistic with abnormal films as positives (below 0.5: lower in abnormal films); "
                      "no model involved.",
              "command": "python benchmarks/frontend_shortcuts.py", "seconds": round(time.perf_counter() - t0, 1),
              "date": time.strftime("%Y-%m-%d", time.gmtime())}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / "frontend_shortcuts.json"
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    sets: dict[str, dict[str, dict[str, float]]] = result["sets"]  # type: ignore[assignment]
    for k in STATISTICS:
        print(f"{k:22s} nih_1000 AUC {sets['nih_1000'][k]['auc']:.3f}   nih_621 AUC {sets['nih_621'][k]['auc']:.3f}")
    print("wrote", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
