"""The graph's causal claims as edges, and the directed graph a causal model is built from.

Many claims may state the same cause -> effect (one per sentence that says it); validation works per
edge and writes its result onto every claim of that edge.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

from kg.namespaces import MCRAG
from kg.store.base import Store
from reasoning.data import local_name

STRUCTURAL_STATUSES: tuple[str, ...] = ("accepted", "validated", "proposed", "notTestable")
"""Claims whose edge is part of the causal structure: not rejected by a curator, not refuted by data."""

TRUSTED_STATUSES: tuple[str, ...] = ("accepted", "validated")
"""Claims a what-if question may rest on."""

EXPECTED_SIGN: Mapping[str, int] = {"causes": 1, "predisposesTo": 1, "manifestsAs": 1, "mediates": 1, "prevents": -1}
"""Direction of effect each relation kind asserts (subject raises or lowers the object)."""


@dataclass(frozen=True)
class ClaimEdge:
    """One claim as validation and curation see it."""

    claim: str
    graph: str
    subject: str
    object: str
    relation: str
    """Relation kind's local name: ``causes``, ``predisposesTo``, ``manifestsAs``, ``mediates`` or ``prevents``."""
    polarity: str
    status: str
    version: int
    subject_label: str = ""
    object_label: str = ""
    mediator: str | None = None
    """The mechanism the claim names (``mcrag:mediator``), if any."""

    @property
    def pair(self) -> tuple[str, str]:
        return (self.subject, self.object)


def _mcrag_local(iri: str | None) -> str:
    return (iri or "")[len(str(MCRAG)):] if (iri or "").startswith(str(MCRAG)) else local_name(iri or "")


def read_claims(store: Store, *, graphs: Sequence[str] | None = None) -> list[ClaimEdge]:
    """Every causal claim in the store (or in the given named graphs), with concept labels."""
    values = ""
    if graphs:
        values = "VALUES ?g { " + " ".join(f"<{g}>" for g in graphs) + " }"
    rows = store.query(f"""
        SELECT ?c ?g ?s ?p ?o ?pol ?status ?version ?m WHERE {{
          {values}
          GRAPH ?g {{ ?c a mcrag:CausalClaim ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o }}
          OPTIONAL {{ ?c mcrag:polarity ?pol }}
          OPTIONAL {{ ?c mcrag:status ?status }}
          OPTIONAL {{ ?c mcrag:version ?version }}
          OPTIONAL {{ ?c mcrag:mediator ?m }}
        }}""").dicts()
    labels = concept_labels(store, {r["s"] for r in rows if r["s"]} | {r["o"] for r in rows if r["o"]})
    seen: set[str] = set()
    out = []
    for r in rows:
        c = r["c"] or ""
        if c in seen:  # a claim copied into two graphs counts once
            continue
        seen.add(c)
        s, o = r["s"] or "", r["o"] or ""
        out.append(ClaimEdge(
            claim=c, graph=r["g"] or "", subject=s, object=o, relation=_mcrag_local(r["p"]),
            polarity=r["pol"] or "positive", status=_mcrag_local(r["status"]) or "proposed",
            version=int(float(r["version"])) if r["version"] else 1,
            subject_label=labels.get(s, local_name(s)), object_label=labels.get(o, local_name(o)),
            mediator=r["m"] or None,
        ))
    out.sort(key=lambda e: (e.subject_label, e.object_label, e.claim))
    return out


def concept_labels(store: Store, iris: Iterable[str]) -> dict[str, str]:
    """Preferred label (else rdfs:label) of each concept, in batches."""
    found: dict[str, str] = {}
    todo = sorted(set(iris))
    for i in range(0, len(todo), 400):
        chunk = " ".join(f"<{x}>" for x in todo[i:i + 400])
        rows = store.query(f"""SELECT ?c (SAMPLE(?pl) AS ?p) (SAMPLE(?rl) AS ?r) WHERE {{
              VALUES ?c {{ {chunk} }} OPTIONAL {{ ?c skos:prefLabel ?pl }} OPTIONAL {{ ?c rdfs:label ?rl }}
            }} GROUP BY ?c""").dicts()
        for r in rows:
            label = r["p"] or r["r"]
            if r["c"] and label:
                found[r["c"]] = label
    return found


def concept_synonyms(store: Store, iris: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """``skos:altLabel`` values of each concept (a table may name a column by a synonym)."""
    found: dict[str, list[str]] = {}
    todo = sorted(set(iris))
    for i in range(0, len(todo), 400):
        chunk = " ".join(f"<{x}>" for x in todo[i:i + 400])
        for r in store.select(f"SELECT ?c ?a WHERE {{ VALUES ?c {{ {chunk} }} ?c skos:altLabel ?a }} ORDER BY ?c ?a"):
            if r["c"] and r["a"]:
                found.setdefault(r["c"], []).append(r["a"])
    return {k: tuple(v) for k, v in found.items()}


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


def causal_digraph(claims: Iterable[ClaimEdge], *, statuses: Sequence[str] = STRUCTURAL_STATUSES) -> nx.DiGraph:
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
