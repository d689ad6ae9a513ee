"""Benchmark: import all five chest label sources into study x concept matrices (goal: <= 60 s on 2 cores).

    python benchmarks/import_sources.py [--repeats 3] [--data DIR] [--no-docs]

Each repeat runs :func:`reasoning.sources.import_sources` in a fresh process into an empty folder
(nothing cached between repeats). The anchor, timed in the same run, is reading the same raw files
with nothing else: ``pandas.read_csv`` of each CSV (all columns) and parsing every XML report; the
ratio says what the label mapping, aggregation per study and Parquet writing add. Writes
``docs/results/import_sources.json`` and a row in ``docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import machine_info  # noqa: E402

GOAL_SECONDS = 60.0
CSV_FILES = ("PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz", "Data_Entry_2017_v2020.csv.gz",
             "chexpert_train.csv.gz", "vinbigdata-train.csv.gz", "nlmcxr_dicom_metadata.csv.gz")

CHILD = """
import json, sys, time, resource
t0, c0 = time.perf_counter(), time.process_time()
from reasoning.sources import import_sources
report = import_sources(sys.argv[1], sys.argv[2], progress=False)
print(json.dumps({"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "sources": [{"source": s.source, "studies": s.studies, "patients": s.patients,
                               "concept_columns": len(s.concept_columns), "seconds": s.seconds}
                              for s in report.sources]}))
"""

ANCHOR = """
import sys, tarfile, time, xml.etree.ElementTree as ET
from pathlib import Path
import pandas as pd
t0 = time.perf_counter()
folder = Path(sys.argv[1])
for name in sys.argv[2:]:
    pd.read_csv(folder / name, low_memory=False)
with tarfile.open(folder / "NLMCXR_reports.tgz", "r:gz") as tar:
    for m in tar.getmembers():
        if m.isfile():
            ET.fromstring(tar.extractfile(m).read())
print(time.perf_counter() - t0)
"""


def data_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    from mcrag.datasets.locate import cxr_labels_dir
    from mcrag.settings import load_settings

    settings = load_settings()  # the data folder, else the installed torchxrayvision package's data
    return cxr_labels_dir(settings) or settings.data("cxr_labels")


def run_child(code: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True, env=env)
    return out.stdout.strip().splitlines()[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", help="the cxr_labels folder (default: the data folder's cxr_labels, else torchxrayvision's)")
    ap.add_argument("--no-docs", action="store_true", help="do not append a row to docs/BENCHMARKS.md")
    args = ap.parse_args()
    folder = data_dir(args.data)
    if not folder.is_dir():
        print(f"cxr_labels folder {folder} not found", file=sys.stderr)
        return 2
    loads = [os.getloadavg()[0]]
    runs, anchors = [], []
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            runs.append(json.loads(run_child(CHILD, str(folder), out)))
        anchors.append(float(run_child(ANCHOR, str(folder), *CSV_FILES)))
        loads.append(os.getloadavg()[0])
        print(f"repeat {i + 1}: import {runs[-1]['wall_s']:.1f} s wall ({runs[-1]['cpu_s']:.1f} CPU-s), "
              f"raw read anchor {anchors[-1]:.1f} s", flush=True)
    walls = [r["wall_s"] for r in runs]
    median = statistics.median(walls)
    anchor = statistics.median(anchors)
    last = runs[-1]
    result = {
        "benchmark": "import_sources", "command": "python benchmarks/import_sources.py" +
        (f" --repeats {args.repeats}" if args.repeats != 3 else ""),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": machine_info(),
        "load_average_1min_during": [round(x, 2) for x in loads],
        "goal_seconds": GOAL_SECONDS, "met": median <= GOAL_SECONDS,
        "import_wall_s": [round(x, 2) for x in walls], "import_wall_median_s": round(median, 2),
        "import_cpu_s": [round(r["cpu_s"], 2) for r in runs], "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs)),
        "anchor_raw_read_s": [round(x, 2) for x in anchors], "anchor_raw_read_median_s": round(anchor, 2),
        "ratio_import_to_raw_read": round(median / anchor, 2),
        "per_source_seconds_last_repeat": {s["source"]: s["seconds"] for s in last["sources"]},
        "studies": {s["source"]: s["studies"] for s in last["sources"]},
        "total_studies": sum(s["studies"] for s in last["sources"]),
        "concept_columns": {s["source"]: s["concept_columns"] for s in last["sources"]},
    }
    out_json = ROOT / "docs" / "results" / "import_sources.json"
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("import_wall_median_s", "anchor_raw_read_median_s",
                                             "ratio_import_to_raw_read", "total_studies", "met")}))
    if not args.no_docs:
        m = result["machine"]
        per = ", ".join(f"{k} {v:.1f} s" for k, v in result["per_source_seconds_last_repeat"].items())
        row = (f"| `{result['command']}` | {m['cpu_count']} vCPU ({m['cpu_model']}), {m['memory_gb']} GB, "
               f"{m['platform']}, Python {m['python']}; shared with other jobs (1-min load average "
               f"{min(loads):.1f}-{max(loads):.1f} during the run) | {result['date'][:10]} | "
               f"Import of all five chest label sources ({result['total_studies']:,} studies) into Parquet matrices: "
               f"median {median:.1f} s wall over {args.repeats} fresh runs ({', '.join(f'{w:.1f}' for w in walls)} s; "
               f"{statistics.median(result['import_cpu_s']):.1f} CPU-s; peak RSS {result['peak_rss_mb']} MB); "
               f"anchor, reading the same raw files only: {anchor:.1f} s (import / raw read {median / anchor:.2f}x). "
               f"Per source (last run): {per}. Goal <= {GOAL_SECONDS:.0f} s: {'met' if result['met'] else 'not met'}. "
               f"Figures: [results/import_sources.json](results/import_sources.json). |\n")
        with (ROOT / "docs" / "BENCHMARKS.md").open("a", encoding="utf-8") as fh:
            fh.write(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
