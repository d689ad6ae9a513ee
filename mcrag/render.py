"""Pictures of the curated graph (matplotlib, PNG or SVG): no Graphviz needed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import networkx as nx

from kg.curation import CurationError, curated_digraph, resolve_concept
from kg.statuses import TRUSTED_STATUSES
from kg.store.base import Store
from mcrag.palette import STATUS_COLOURS, status_colour


def render_subgraph(store: Store, out: Path, *, center: str | None = None, depth: int = 1,
                    statuses: Sequence[str] = TRUSTED_STATUSES, title: str | None = None) -> Path:
    """Draw the curated graph, or the part within ``depth`` steps of ``center``, as PNG or SVG."""
    suffix = out.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise CurationError(f"{out}: render writes .png or .svg")
    g = curated_digraph(store, statuses)
    if center:
        c = resolve_concept(store, center)
        if c not in g:
            raise CurationError(f"{center!r} has no edge with status {', '.join(statuses)}")
        keep = set(nx.single_source_shortest_path_length(g.to_undirected(as_view=True), c, cutoff=max(depth, 0)))
        g = g.subgraph(keep).copy()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(g) ** 0.5 * 3), max(4.5, 1.1 * len(g) ** 0.5 * 3)))
    if len(g):
        pos = nx.kamada_kawai_layout(nx.Graph(g)) if len(g) > 2 else nx.spring_layout(g, seed=0)
        labels = {n: "\n".join(_wrap(str(d.get("label", n)))) for n, d in g.nodes(data=True)}
        node_colours = ["#fff3e0" if d.get("finding") else "#e3f2fd" for _, d in g.nodes(data=True)]
        nx.draw_networkx_nodes(g, pos, ax=ax, node_color=node_colours, edgecolors="#455a64", node_size=2200)
        nx.draw_networkx_labels(g, pos, labels, ax=ax, font_size=7)
        for status, colour in STATUS_COLOURS.items():
            es = [(u, v) for u, v, d in g.edges(data=True) if d.get("status") == status]
            if es:
                nx.draw_networkx_edges(g, pos, edgelist=es, ax=ax, edge_color=colour, arrows=True, arrowsize=14,
                                       node_size=2200, style="solid" if status in TRUSTED_STATUSES else "dashed",
                                       connectionstyle="arc3,rad=0.08")
        edge_labels = {(u, v): f"{d['relation']}" + (f"\n{d['effect']:+.2f}" if "effect" in d else "")
                       for u, v, d in g.edges(data=True)}
        nx.draw_networkx_edge_labels(g, pos, edge_labels, ax=ax, font_size=6, label_pos=0.5)
    shown = sorted({d.get("status") for _, _, d in g.edges(data=True)} - {None})
    ax.legend(handles=[Line2D([0], [0], color=status_colour(str(s)), label=str(s)) for s in shown],
              loc="lower left", fontsize=7, frameon=False)
    ax.set_title(title or (f"MCRAG curated graph around {center} (depth {depth})" if center else "MCRAG curated graph"),
                 fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format=suffix[1:], dpi=150)
    plt.close(fig)
    return out


def _wrap(text: str, width: int = 16) -> list[str]:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return [*lines, line] if line else lines
