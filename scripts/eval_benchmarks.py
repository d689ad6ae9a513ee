"""Reproduce every committed evaluation figure: each registered `mcrag eval` run, one after the other.

    .venv/bin/python scripts/eval_benchmarks.py                         # all five
    .venv/bin/python scripts/eval_benchmarks.py vqa:vqa_rad report:iu_xray  # a subset, task:dataset
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from mcrag.cli import main  # noqa: E402
from vlm.evaluation.runner import ENTRY_POINTS  # noqa: E402

if __name__ == "__main__":
    wanted = [tuple(a.split(":", 1)) for a in sys.argv[1:]] or list(ENTRY_POINTS)
    unknown = [w for w in wanted if w not in ENTRY_POINTS]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; choose from {[':'.join(k) for k in ENTRY_POINTS]}")
    for task, dataset in wanted:
        try:
            main(["eval", "--task", task, "--dataset", dataset, "--retrieval", "all"])
        except SystemExit as done:
            if done.code:
                raise
