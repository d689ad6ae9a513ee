"""Reproduce every committed evaluation figure: the three `mcrag eval` runs, one after the other.

    .venv/bin/python scripts/eval_benchmarks.py            # all three
    .venv/bin/python scripts/eval_benchmarks.py vqa report # a subset
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from mcrag.cli import main  # noqa: E402

RUNS = {"diagnose": "pneumoniamnist", "vqa": "iu_xray", "report": "iu_xray"}

if __name__ == "__main__":
    for task in sys.argv[1:] or list(RUNS):
        try:
            main(["eval", "--task", task, "--dataset", RUNS[task], "--retrieval", "all"])
        except SystemExit as done:
            if done.code:
                raise
