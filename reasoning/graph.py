"""The directed graph a causal model is built from, over the claims ``kg.claim_reader`` returns.

Many claims may state the same cause -> effect (one per sentence that says it); validation works per
edge and writes its result onto every claim of that edge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import networkx as nx

from kg.claim_reader import read_claims
from kg.claims import ClaimRecord
from kg.statuses import LIVE_STATUSES, TRUSTED_STATUSES
from reasoning.data import local_name

STRUCTURAL_STATUSES: tuple[str, ...] = LIVE_STATUSES
"""Claims whose edge is part of the causal structure: not rejected by a curator, not refuted by data."""

ClaimEdge = ClaimRecord
"""The stored claim record under the name validation's benchmark builds synthetic claims with."""

__all__ = ["EXPECTED_SIGN", "STRUCTURAL_STATUSES", "TRUSTED_STATUSES", "ClaimEdge", "causal_digraph", "read_claims",
           "variable_names"]

EXPECTED_SIGN: Mapping[str, int] = {"causes": 1, "predisposesTo": 1, "manifestsAs": 1, "mediates": 1, "prevents": -1}
"""Direction of effect each relation kind asserts (subject raises or lowers the object)."""


def variable_names(iris: Iterable[str]) -> dict[str, str]:
    """A distinct, identifier-safe variable name per concept IRI (its slugged local name)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for iri in sorted(set(iris)):
        base = re.sub(r"[^0-9A-Za-z_]+", "_", local_name(iri)).strip("_").lower() or "v"
        if base[0].isdigit():
            base = f"v_{base}"
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names[iri] = name
    return names


def causal_digraph(claims: Iterable[ClaimRecord], *, statuses: Sequence[str] = STRUCTURAL_STATUSES) -> nx.DiGraph:
    """Directed graph over concept IRIs: one edge per cause -> effect with a positive claim in ``statuses``.

    Edge attributes: ``claims`` (the claim IRIs behind the edge), ``support`` (how many), ``trusted``
    (some claim is accepted or validated); node attribute ``label`` the concept's label.
    """
    g = nx.DiGraph()
    for c in claims:
        for iri, label in ((c.subject, c.subject_label), (c.object, c.object_label)):
            if iri not in g:
                g.add_node(iri, label=label or local_name(iri))
        if c.polarity != "positive" or c.status not in statuses or c.subject == c.object:
            continue
        trusted = c.status in TRUSTED_STATUSES
        if g.has_edge(c.subject, c.object):
            data = g.edges[c.subject, c.object]
            data["claims"].append(c.claim)
            data["support"] = len(data["claims"])
            data["trusted"] = data["trusted"] or trusted
        else:
            g.add_edge(c.subject, c.object, claims=[c.claim], relation=c.relation, support=1, trusted=trusted)
    return g
