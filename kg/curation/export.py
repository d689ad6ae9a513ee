"""The curated graph out of the store: its edges, a networkx graph, and Turtle / GraphML / DOT files.

Drawing it (matplotlib) and its colours belong to the shell (``mcrag.render``, ``mcrag.palette``);
DOT output takes the colours as an argument.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import networkx as nx
import pyoxigraph as ox

from kg.claim_reader import claim_concepts, concept_labels, read_claims
from kg.claims import slug
from kg.concepts import FINDING_CONCEPTS, finding_for_concept_iri
from kg.errors import CurationError
from kg.namespaces import PREFIXES, local_name
from kg.statuses import STATUSES, TRUSTED_STATUSES, strongest_status, unknown_statuses
from kg.store.base import Store, Term
from kg.validations import latest_of, latest_validations


@dataclass(frozen=True)
class CuratedEdge:
    """One edge of the curated graph: the claims that state it, their strongest status, the latest effect."""

    subject: str
    object: str
    relation: str
    status: str
    claims: int
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


def curated_edges(store: Store, statuses: Sequence[str] = TRUSTED_STATUSES) -> tuple[list[CuratedEdge], dict[str, str]]:
    """Edges of positive claims in ``statuses`` (one per cause/relation/effect) and the concept labels.

    An edge's status is the strongest of its claims' (``kg.statuses.STATUS_ORDER``); its effect is the
    latest validation among its claims (``kg.validations``).
    """
    wanted = set(statuses)
    grouped: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
    for c in read_claims(store, labels=False):
        if c.status in wanted and c.polarity == "positive":
            grouped.setdefault((c.subject, c.relation, c.object), []).append((c.claim, c.status))
    latest = latest_validations(store, sorted({c for members in grouped.values() for c, _ in members}))
    edges = []
    for (s, p, o), members in sorted(grouped.items()):
        v = latest_of(latest[c] for c, _ in members if c in latest)
        edges.append(CuratedEdge(s, o, p, strongest_status(st for _, st in members), len(members),
                                 v.effect if v else None, v.ci_low if v else None, v.ci_high if v else None))
    labels = concept_labels(store, {e.subject for e in edges} | {e.object for e in edges})
    return edges, labels


def curated_digraph(store: Store, statuses: Sequence[str] = TRUSTED_STATUSES) -> nx.MultiDiGraph:
    """The curated graph for networkx: node ``label``, edge ``relation``/``status``/``claims``/``effect``."""
    edges, labels = curated_edges(store, statuses)
    g = nx.MultiDiGraph()
    for e in edges:
        for n in (e.subject, e.object):
            g.add_node(n, label=labels.get(n, local_name(n)), finding=finding_for_concept_iri(n) or "")
        attrs: dict[str, object] = {"relation": e.relation, "status": e.status, "claims": e.claims}
        for k, v in (("effect", e.effect), ("ci_low", e.ci_low), ("ci_high", e.ci_high)):
            if v is not None:
                attrs[k] = v
        g.add_edge(e.subject, e.object, key=e.relation, **attrs)
    return g


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(g: nx.MultiDiGraph, colours: Mapping[str, str] | None = None) -> str:
    """Graphviz DOT text (written directly: no Graphviz needed to produce it); ``colours`` by status."""
    lines = ["digraph mcrag {", "  rankdir=LR;", '  node [shape=box, style="rounded"];']
    for n, data in sorted(g.nodes(data=True)):
        lines.append(f"  {_dot_quote(n)} [label={_dot_quote(str(data.get('label', n)))}];")
    for u, v, data in sorted(g.edges(data=True), key=lambda e: (e[0], e[1], str(e[2].get("relation")))):
        label = str(data.get("relation", ""))
        if "effect" in data:
            label += f"\n{float(str(data['effect'])):+.3f}"
        colour = (colours or {}).get(str(data.get("status")), "black")
        lines.append(f"  {_dot_quote(u)} -> {_dot_quote(v)} [label={_dot_quote(label)}, "
                     f"color={_dot_quote(colour)}, status={_dot_quote(str(data.get('status')))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


ExportFormat = Literal["turtle", "graphml", "dot"]


def check_statuses(statuses: Sequence[str]) -> None:
    """Refuse a status name that is not one (:class:`~kg.errors.CurationError`)."""
    bad = unknown_statuses(statuses)
    if bad:
        raise CurationError(f"unknown status {bad[0]!r}; use some of {', '.join(STATUSES)}")


def export_curated(store: Store, out: Path | BinaryIO, fmt: ExportFormat | str = "turtle", *,
                   statuses: Sequence[str] = TRUSTED_STATUSES, colours: Mapping[str, str] | None = None) -> int:
    """Write the curated graph as Turtle (claims, concepts, edges, validation and curation records),
    GraphML or DOT; returns the number of edges (GraphML/DOT) or triples (Turtle)."""
    if fmt not in ("turtle", "graphml", "dot"):
        raise CurationError(f"unknown export format {fmt!r}; use turtle, graphml or dot")
    check_statuses(statuses)
    buf = io.BytesIO()
    if fmt == "turtle":
        # each branch selects the claims itself: SPARQL evaluates a UNION branch without the outer bindings
        sel = ("?c a mcrag:CausalClaim ; mcrag:status ?st . VALUES ?st { "
               + " ".join(f"mcrag:{s}" for s in statuses) + " }")
        labels = "rdf:type, skos:prefLabel, rdfs:label, skos:altLabel, skos:exactMatch, skos:notation"
        result = store.query(f"""CONSTRUCT {{ ?x ?p ?v }} WHERE {{
            {{ {sel} BIND (?c AS ?x) ?x ?p ?v }}
            UNION {{ {sel} ?c rdf:subject|rdf:object|mcrag:mediator ?x . ?x ?p ?v FILTER (?p IN ({labels})) }}
            UNION {{ {sel} ?c rdf:subject ?x ; rdf:predicate ?p ; rdf:object ?v ; mcrag:polarity "positive" }}
            UNION {{ {sel} ?c prov:wasDerivedFrom/(oa:hasSelector|oa:hasSource)? ?x . ?x ?p ?v }}
            UNION {{ {sel} ?c mcrag:hasValidation ?x . ?x ?p ?v }}
            UNION {{ {sel} ?c mcrag:hasValidation/mcrag:hasRefutation ?x . ?x ?p ?v }}
            UNION {{ {sel} ?x a mcrag:CurationActivity ; prov:used ?c . ?x ?p ?v }}
            UNION {{ {sel} ?a a mcrag:CurationActivity ; prov:used ?c ; mcrag:change ?x . ?x ?p ?v }}
        }}""")
        triples = [ox.Triple(_ox(s), ox.NamedNode(p.value), _ox(o)) for s, p, o in result.triples  # type: ignore[arg-type]
                   if s.kind != "literal"]
        ox.serialize(triples, buf, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
        count = len(triples)
    else:
        g = curated_digraph(store, statuses)
        if fmt == "graphml":
            flat = nx.DiGraph()
            flat.add_nodes_from(g.nodes(data=True))
            for u, v, data in g.edges(data=True):
                if flat.has_edge(u, v):  # GraphML readers expect a simple graph: merge relation kinds
                    flat.edges[u, v]["relation"] += f",{data['relation']}"
                    flat.edges[u, v]["claims"] += data["claims"]
                else:
                    flat.add_edge(u, v, **data)
            nx.write_graphml(flat, buf)
        else:
            buf.write(to_dot(g, colours).encode("utf-8"))
        count = g.number_of_edges()
    deliver(buf.getvalue(), out)
    return count


def deliver(data: bytes, out: Path | BinaryIO) -> None:
    """Write an export to a stream, or to a file that appears whole or not at all (written beside, then renamed)."""
    if isinstance(out, Path):
        tmp = out.with_name(out.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(out)
    else:
        out.write(data)


def _ox(term: Term) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if term.kind == "uri":
        return ox.NamedNode(term.value)
    if term.kind == "bnode":
        return ox.BlankNode(term.value)
    if term.lang:
        return ox.Literal(term.value, language=term.lang)
    return ox.Literal(term.value, datatype=ox.NamedNode(term.datatype)) if term.datatype else ox.Literal(term.value)


def resolve_concept(store: Store, name: str) -> str:
    """A concept IRI from its IRI, local name, label or Open-i finding name (``Effusion``)."""
    if name.startswith(("http://", "https://")):
        return name
    if name in FINDING_CONCEPTS:
        return FINDING_CONCEPTS[name].iri
    key = slug(name)
    for c, label in claim_concepts(store).items():
        if slug(local_name(c)) == key or (label and slug(label) == key):
            return c
    raise CurationError(f"no concept named {name!r} in the graph's claims")
