"""Figures of the benchmarks: metric along the front-end AUC curve, and per-mode ablation bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOURS = {"none": "#8c8c8c", "semantic": "#1f77b4", "causal": "#d62728", "causal-tables-prior": "#ff9896"}


def save_figure(fig: Any, path: Path, title: str, fontsize: int = 10) -> Path:
    """Title, tight layout, write (folders made as needed) and free the figure."""
    fig.suptitle(title, fontsize=fontsize)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def curve_plot(curve: Mapping[str, Mapping[str, Mapping[str, float]]], metrics: Sequence[str], path: Path,
               title: str, anchors: Mapping[str, Mapping[str, float]] | None = None,
               twin_suffix: str | None = None) -> Path:
    """One panel per metric: x = front-end AUC, one line per retrieval mode, anchors as dotted lines.

    With ``twin_suffix``, a mode's variant (``mode + twin_suffix``, e.g. with a learnt policy) is drawn
    dashed in the mode's colour, so each pair reads as one ablation.
    """
    aucs = sorted(curve, key=float)
    modes = [m for m in curve[aucs[0]] if not (twin_suffix and m.endswith(twin_suffix))]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.3 * len(metrics), 3.7), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for mode in modes:
            for name, style in ((mode, "o-"), (mode + twin_suffix, "s--")) if twin_suffix else ((mode, "o-"),):
                if name in curve[aucs[0]]:
                    ax.plot([float(a) for a in aucs], [curve[a][name][metric] for a in aucs], style, label=name,
                            color=COLOURS.get(mode), alpha=1.0 if style == "o-" else 0.8)
        for name, vals in (anchors or {}).items():
            if metric in vals:
                ax.axhline(vals[metric], ls=":", lw=0.8, color="k", alpha=0.5)
                ax.text(float(aucs[0]), vals[metric], f" {name}", fontsize=7, va="bottom")
        ax.set_xlabel("front-end AUC (noise model on gold labels)")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return save_figure(fig, path, title)


def bar_plot(modes: Mapping[str, Mapping[str, Any]], metrics: Sequence[str], path: Path, title: str) -> Path:
    """Grouped bars: one group per metric, one bar per retrieval mode."""
    names = list(modes)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.0 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        vals = [float(modes[m][metric]) for m in names]
        ax.bar(names, vals, color=[COLOURS.get(m, "#555") for m in names])
        lo = min(vals)
        ax.set_ylim(max(0.0, lo - 0.1 * abs(lo) - 0.02), max(vals) * 1.02 + 1e-9)
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
        ax.set_title(metric)
    return save_figure(fig, path, title)
