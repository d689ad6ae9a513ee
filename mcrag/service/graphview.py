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


_CHAR_W = 6.6
"""Approximate width of one character of the 12 px label font, for placing labels apart."""


def _label_box(x: float, y: float, label: str) -> tuple[float, float, float, float]:
    w = max(len(label), 1) * _CHAR_W + 6
    return x - w / 2, y + 15, x + w / 2, y + 31


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _spread(pos: dict[str, tuple[float, float]], labels: dict[str, str], width: int, height: int,
            margin: float) -> dict[str, tuple[float, float]]:
    """Push nodes apart until no two labels (nor a label and another node) overlap, within the canvas."""
    names = sorted(pos)
    xy = {n: list(pos[n]) for n in names}
    for _ in range(400):
        moved = False
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                ba = _label_box(xy[a][0], xy[a][1], labels[a])
                bb = _label_box(xy[b][0], xy[b][1], labels[b])
                near = math.hypot(xy[a][0] - xy[b][0], xy[a][1] - xy[b][1]) < 72
                if not (_overlap(ba, bb) or near):
                    continue
                moved = True
                dx = xy[b][0] - xy[a][0] or 0.5
                dy = xy[b][1] - xy[a][1] or 0.5
                # separate along the axis that needs the smaller move
                if abs(dy) * 3 < abs(dx):
                    step = 4.0 if dx > 0 else -4.0
                    xy[a][0] -= step
                    xy[b][0] += step
                else:
                    step = 4.0 if dy > 0 else -4.0
                    xy[a][1] -= step
                    xy[b][1] += step
        for n in names:
            half = max(len(labels[n]), 1) * _CHAR_W / 2 + 4
            xy[n][0] = min(max(xy[n][0], margin + half - 40), width - margin - half + 40)
            xy[n][1] = min(max(xy[n][1], margin), height - margin - 30)
        if not moved:
            break
    return {n: (v[0], v[1]) for n, v in xy.items()}


def render_svg(edges: list[ClaimRecord], highlight: str | None = None, width: int = 760, height: int = 520) -> str:
    """An SVG picture: nodes are concepts, arrows are claims coloured by status.

    Labels never overlap (nodes are pushed apart until they fit), parallel claims between the same two
    concepts bend apart, and the highlighted claim is drawn last, thick and outlined, with its relation
    written on it. Each arrow carries ``data-claim`` and each node ``data-iri`` so a page can make them
    clickable.
    """
    g = nx.MultiDiGraph()
    labels: dict[str, str] = {}
    for e in edges:
        g.add_edge(e.subject, e.object, key=e.claim)
        labels[e.subject], labels[e.object] = e.subject_label, e.object_label
    if not edges:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="80" role="img">'
                '<text x="10" y="40" font-family="sans-serif">no causal claims around this concept</text></svg>')
    raw = nx.spring_layout(g, seed=7, k=3.0 / math.sqrt(max(g.number_of_nodes(), 1)), iterations=200)
    margin = 50
    xs = [p[0] for p in raw.values()]
    ys = [p[1] for p in raw.values()]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    pos = {n: (margin + 60 + (p[0] - min(xs)) / span_x * (width - 2 * margin - 120),
               margin + (p[1] - min(ys)) / span_y * (height - 2 * margin - 40)) for n, p in raw.items()}
    pos = _spread(pos, labels, width, height, margin)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="causal neighbourhood" font-family="sans-serif">',
           "<defs>" + "".join(
               f'<marker id="arrow-{s}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" '
               f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{c}"/></marker>'
               for s, c in STATUS_COLOURS.items())
           + '<marker id="arrow-highlight" viewBox="0 0 10 10" refX="8" refY="5" markerUnits="userSpaceOnUse" '
             'markerWidth="20" markerHeight="20" orient="auto-start-reverse">'
             '<path d="M 0 0 L 10 5 L 0 10 z" fill="#111"/></marker></defs>']
    pair_count: dict[frozenset[str], int] = {}
    pair_seen: dict[frozenset[str], int] = {}
    for e in edges:
        key = frozenset((e.subject, e.object))
        pair_count[key] = pair_count.get(key, 0) + 1
    ordered = sorted(edges, key=lambda e: e.claim == highlight)  # the highlighted claim is drawn on top
    for e in ordered:
        key = frozenset((e.subject, e.object))
        k = pair_seen.get(key, 0)
        pair_seen[key] = k + 1
        (x1, y1), (x2, y2) = pos[e.subject], pos[e.object]
        d = math.hypot(x2 - x1, y2 - y1) or 1.0
        ux, uy = (x2 - x1) / d, (y2 - y1) / d
        sx, sy, tx, ty = x1 + ux * 13, y1 + uy * 13, x2 - ux * 15, y2 - uy * 15
        n = pair_count[key]
        sign = 1 if e.subject < e.object else -1  # opposite directions bend to opposite sides
        bend = (k - (n - 1) / 2) * 26 * sign if n > 1 else 0.0
        mx, my = (sx + tx) / 2 - uy * bend, (sy + ty) / 2 + ux * bend
        colour = STATUS_COLOURS.get(e.status, "#7f7f7f")
        status = e.status if e.status in STATUS_COLOURS else "proposed"
        dash = ' stroke-dasharray="6 4"' if e.polarity == "negative" else ""
        path = f"M {sx:.1f} {sy:.1f} Q {mx:.1f} {my:.1f} {tx:.1f} {ty:.1f}"
        title = escape(f"{e.subject_label} {e.relation} {e.object_label} [{e.status}]")
        cid = e.claim.rsplit("/", 1)[-1]
        hot = e.claim == highlight
        out.append(f'<g class="edge{" highlight" if hot else ""}" data-claim={quoteattr(cid)} '
                   f'tabindex="0" role="button" aria-label="{title}"><title>{title}</title>')
        out.append(f'<path d="{path}" fill="none" stroke="transparent" stroke-width="12"/>')  # easier to click
        if hot:
            out.append(f'<path d="{path}" fill="none" stroke="#111" stroke-width="8" stroke-opacity="0.85"/>')
        marker = "highlight" if hot else status
        out.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{5 if hot else 2}"{dash} '
                   f'marker-end="url(#arrow-{marker})"/>')
        if hot:
            lx, ly = (sx + 2 * mx + tx) / 4, (sy + 2 * my + ty) / 4
            out.append(f'<text x="{lx:.1f}" y="{ly - 8:.1f}" font-size="12" font-weight="bold" fill="#111" '
                       f'text-anchor="middle" paint-order="stroke" stroke="#fff" stroke-width="4">'
                       f"{escape(e.relation)}</text>")
        out.append("</g>")
    for node, label in sorted(labels.items()):
        x, y = pos[node]
        out.append(f'<g class="node" data-iri={quoteattr(node)} tabindex="0" role="button" '
                   f'aria-label={quoteattr(label)}><title>{escape(node)}</title>'
                   f'<circle cx="{x:.1f}" cy="{y:.1f}" r="11" fill="#f2f2f2" stroke="#333"/>'
                   f'<text x="{x:.1f}" y="{y + 27:.1f}" font-size="12" text-anchor="middle" paint-order="stroke" '
                   f'stroke="#fff" stroke-width="3">{escape(label)}</text></g>')
    legend_y = height - 12
    for i, (s_name, c) in enumerate(STATUS_COLOURS.items()):
        out.append(f'<text x="{10 + i * 120}" y="{legend_y}" font-size="11" fill="{c}">■ {escape(s_name)}</text>')
    out.append("</svg>")
    return "".join(out)
