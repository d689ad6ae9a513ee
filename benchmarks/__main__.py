"""Reproduce every committed evaluation figure (each registered ``mcrag eval`` run), or list the benchmarks.

    python -m benchmarks                               # all five evaluation figures
    python -m benchmarks vqa:vqa_rad report:iu_xray    # a subset, task:dataset
    python -m benchmarks --list                        # every benchmark of the registry and its command
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from benchmarks.registry import EVALUATIONS, SCRIPTS  # noqa: E402


def listing() -> str:
    rows = [f"mcrag eval --task {t} --dataset {d}" for t, d in EVALUATIONS]
    rows += [f"{s.command:<40} {s.measures}" for s in SCRIPTS.values()]
    return "\n".join(rows)


def main(argv: list[str]) -> None:
    if argv == ["--list"]:
        print(listing())
        return
    from mcrag.cli import main as mcrag

    wanted = [tuple(a.split(":", 1)) for a in argv] or list(EVALUATIONS)
    unknown = [w for w in wanted if w not in EVALUATIONS]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; choose from {[':'.join(k) for k in EVALUATIONS]}")
    for task, dataset in wanted:
        try:
            mcrag(["eval", "--task", task, "--dataset", dataset, "--retrieval", "all"])
        except SystemExit as done:
            if done.code:
                raise


if __name__ == "__main__":
    main(sys.argv[1:])
