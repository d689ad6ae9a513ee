"""Draw docs/img/data_flow.png: MCRAG's data flow, mine -> store -> validate -> ground -> answer.

Run from the repository root: ``python docs/img/data_flow.py``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")

STAGES = [
    ("mine", "kg.mining", "reports and abstracts\n-> CausalClaim\n(kg/claims.py)"),
    ("store", "kg.store", "RDF named graphs\nclaims, PROV, results\n(kg/claim_reader.py)"),
    ("validate", "reasoning", "discovery, DoWhy\nestimate + refute\n-> kg/validations.py"),
    ("ground", "vlm", "evidence subgraph,\nexemplars, what-if\n(reasoning/evidence.py)"),
    ("answer", "mcrag", "CLI, HTTP API, web UI\nreport / diagnose / VQA\nwith E1.. references"),
]
CURATE = ("curate", "kg.curation", "review queue; accept, reject,\nedit, undo (also of a run's\nstatus moves: kg/revisions.py)")


def box(ax: plt.Axes, x: float, y: float, title: str, layer: str, body: str, colour: str) -> None:
    ax.add_patch(FancyBboxPatch((x - 0.85, y - 0.62), 1.7, 1.24, boxstyle="round,pad=0.04", fc=colour, ec="#37474f"))
    ax.text(x, y + 0.38, title, ha="center", va="center", fontsize=11, weight="bold")
    ax.text(x, y + 0.12, layer, ha="center", va="center", fontsize=7.5, style="italic", color="#455a64")
    ax.text(x, y - 0.28, body, ha="center", va="center", fontsize=6.8, linespacing=1.25)


def arrow(ax: plt.Axes, a: tuple[float, float], b: tuple[float, float], text: str = "", *,
          rad: float = 0.0, dy: float = 0.1) -> None:
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, lw=1.3, color="#37474f",
                                 connectionstyle=f"arc3,rad={rad}"))
    if text:
        ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + dy, text, ha="center", va="bottom", fontsize=6.5,
                color="#37474f")


def main() -> None:
    fig, ax = plt.subplots(figsize=(11.5, 4.2))
    colours = ["#e3f2fd", "#ede7f6", "#e8f5e9", "#fff3e0", "#fce4ec"]
    xs = [1.0 + 2.5 * i for i in range(len(STAGES))]
    for x, (title, layer, body), colour in zip(xs, STAGES, colours, strict=True):
        box(ax, x, 1.0, title, layer, body, colour)
    for i, text in enumerate(["claims", "claims", "verdicts", "evidence"]):
        arrow(ax, (xs[i] + 0.92, 1.0), (xs[i + 1] - 0.92, 1.0), text)
    arrow(ax, (xs[2] - 0.5, 1.68), (xs[1] + 0.5, 1.68), "results, status moves (one update)", rad=0.35, dy=0.22)
    cx = xs[1]
    box(ax, cx, -0.85, *CURATE, "#f5f5f5")
    arrow(ax, (cx - 0.3, 0.34), (cx - 0.3, -0.19), "queue", dy=-0.05)
    arrow(ax, (cx + 0.3, -0.19), (cx + 0.3, 0.34), "acts", dy=-0.05)
    ax.text(xs[2] - 0.85, -0.95, "imports flow one way: mcrag -> vlm -> reasoning -> kg\n"
            "every layer reads and writes the graph through kg:\n"
            "claims.py (shape), statuses.py (status order), claim_reader.py,\n"
            "validations.py (latest validation), revisions.py (acts)", fontsize=7.2, color="#455a64",
            va="center", linespacing=1.4)
    ax.set_xlim(-0.1, xs[-1] + 1.1)
    ax.set_ylim(-1.6, 2.3)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(OUT, dpi=150)
    plt.close(fig)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
