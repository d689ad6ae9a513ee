"""Server-rendered SVG of a causal neighbourhood: no JavaScript graph library to build or ship.

Edges are the stored claims (``kg.claim_reader``), so each carries its status and claim id; the
layout is networkx's spring layout with a fixed seed, so the same graph always draws the same way.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape, quoteattr

import networkx as nx

from kg.claim_reader import claims_touching
from kg.claims import ClaimRecord
from kg.store import Store
from mcrag.palette import STATUS_COLOURS


def neighbourhood(store: Store, focus: list[str], hops: int = 1, limit: int = 60) -> list[ClaimRecord]:
    """Claims touching the focus concepts, expanded ``hops`` times; at most ``limit`` of them."""
    edges: dict[str, ClaimRecord] = {}
    frontier, seen = list(dict.fromkeys(focus)), set()
    for _ in range(max(hops, 1)):
        nxt: list[str] = []
        for concept in frontier:
            if concept in seen:
                continue
            seen.add(concept)
            for e in claims_touching(store, [concept], labels=True):
                if e.claim in edges:
                    continue
                edges[e.claim] = e
                nxt += [e.subject, e.object]
                if len(edges) >= limit:
                    return list(edges.values())
        frontier = nxt
    return list(edges.values())


def render_svg(edges: list[ClaimRecord], highlight: str | None = None, width: int = 720, height: int = 480) -> str:
    """An SVG picture: nodes are concepts, arrows are claims coloured by status."""
    g = nx.MultiDiGraph()
    labels: dict[str, str] = {}
    for e in edges:
        g.add_edge(e.subject, e.object, key=e.claim)
        labels[e.subject], labels[e.object] = e.subject_label, e.object_label
    if not edges:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="80" role="img">'
                '<text x="10" y="40" font-family="sans-serif">no causal claims around this concept</text></svg>')
    pos = nx.spring_layout(g, seed=7, k=1.6 / math.sqrt(max(g.number_of_nodes(), 1)))
    margin = 70

    def xy(n: str) -> tuple[float, float]:
        x, y = pos[n]
        return margin + (x + 1) / 2 * (width - 2 * margin), margin + (y + 1) / 2 * (height - 2 * margin)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="causal neighbourhood">',
           "<defs>" + "".join(
               f'<marker id="arrow-{s}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
               f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{c}"/></marker>'
               for s, c in STATUS_COLOURS.items()) + "</defs>"]
    for e in edges:
        (x1, y1), (x2, y2) = xy(e.subject), xy(e.object)
        d = math.hypot(x2 - x1, y2 - y1) or 1.0
        ux, uy = (x2 - x1) / d, (y2 - y1) / d
        x1, y1, x2, y2 = x1 + ux * 14, y1 + uy * 14, x2 - ux * 16, y2 - uy * 16
        colour = STATUS_COLOURS.get(e.status, "#7f7f7f")
        width_px = 4 if e.claim == highlight else 2
        dash = ' stroke-dasharray="5 4"' if e.polarity == "negative" else ""
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                   f'stroke-width="{width_px}"{dash} marker-end="url(#arrow-{e.status if e.status in STATUS_COLOURS else "proposed"})">'
                   f"<title>{escape(f'{e.subject_label} {e.relation} {e.object_label} [{e.status}]')}</title></line>")
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        out.append(f'<text x="{mx:.1f}" y="{my - 4:.1f}" font-size="10" fill="{colour}" text-anchor="middle" '
                   f'font-family="sans-serif">{escape(e.relation)}</text>')
    for n, label in labels.items():
        x, y = xy(n)
        out.append(f'<g><circle cx="{x:.1f}" cy="{y:.1f}" r="12" fill="#f2f2f2" stroke="#333"/>'
                   f'<title>{escape(n)}</title>'
                   f'<text x="{x:.1f}" y="{y + 26:.1f}" font-size="12" text-anchor="middle" '
                   f'font-family="sans-serif" data-iri={quoteattr(n)}>{escape(label)}</text></g>')
    legend_y = height - 14
    for i, (s, c) in enumerate(STATUS_COLOURS.items()):
        out.append(f'<text x="{10 + i * 110}" y="{legend_y}" font-size="11" fill="{c}" '
                   f'font-family="sans-serif">■ {escape(s)}</text>')
    out.append("</svg>")
    return "".join(out)
