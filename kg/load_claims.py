"""A loaded file's bare causal edges become proposed claims, with the load as their provenance.

In MCRAG an edge such as ``ex:smoking mcrag:causes ex:emphysema`` is the short form of a reified
claim that says who stated it and where, and that curators review. A file that states the edge
alone would otherwise add a live edge nobody can trace or review. So each bare edge (one no claim
in the file or the store backs) gets a ``proposed`` claim whose source is the loaded file and whose
extraction activity is the load; it then waits in the review queue like any mined claim. The file
and its claims are written in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox

from kg.claims import RELATION_KINDS, CausalClaim, Concept, SourceSpan, claim_quads
from kg.namespaces import MCRAG, NAMED_GRAPHS, RDF, RDFS, SKOS
from kg.store.base import Store, Term

LOAD_EXTRACTOR = "mcrag kg load"
RELATION_IRIS = {str(MCRAG[k]): k for k in RELATION_KINDS}
_LABELS = (str(SKOS.prefLabel), str(RDFS.label))


@dataclass(frozen=True)
class BareEdge:
    subject: str
    relation: str
    object: str
    graph: str


def _claimed_in(staging: ox.Store) -> set[tuple[str, str, str]]:
    out = set()
    for q in staging.quads_for_pattern(None, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(MCRAG.CausalClaim))):
        parts = []
        for p in ("subject", "predicate", "object"):
            found = list(staging.quads_for_pattern(q.subject, ox.NamedNode(str(RDF[p])), None))
            parts.append(str(getattr(found[0].object, "value", "")) if found else "")
        out.add((parts[0], parts[1], parts[2]))
    return out


def bare_edges(staging: ox.Store, store: Store) -> list[BareEdge]:
    """Causal edges in ``staging`` that no claim in ``staging`` or ``store`` states."""
    claimed = _claimed_in(staging)
    out: dict[tuple[str, str, str, str], BareEdge] = {}
    for iri, kind in RELATION_IRIS.items():
        for q in staging.quads_for_pattern(None, ox.NamedNode(iri), None):
            if not isinstance(q.subject, ox.NamedNode) or not isinstance(q.object, ox.NamedNode):
                continue
            if q.subject == q.object or (q.subject.value, iri, q.object.value) in claimed:
                continue
            graph = q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else NAMED_GRAPHS["curated"]
            edge = BareEdge(q.subject.value, kind, q.object.value, graph)
            out[(edge.subject, edge.relation, edge.object, edge.graph)] = edge
    if not out:
        return []
    backed = store.select(
        "SELECT DISTINCT ?s ?p ?o WHERE { ?c a mcrag:CausalClaim ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o "
        "FILTER(?p IN (" + ", ".join(f"<{i}>" for i in RELATION_IRIS) + ")) }")
    known = {(r["s"], RELATION_IRIS.get(r["p"] or ""), r["o"]) for r in backed}
    return [e for e in out.values() if (e.subject, e.relation, e.object) not in known]


def _label(iri: str, staging: ox.Store, store: Store) -> str:
    for p in _LABELS:
        for q in staging.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(p), None):
            return str(getattr(q.object, "value", q.object))
    rows = store.select("SELECT ?l WHERE { ?c skos:prefLabel|rdfs:label ?l } LIMIT 1", bindings={"c": Term.iri(iri)})
    if rows and rows[0]["l"]:
        return str(rows[0]["l"])
    return iri.rstrip("/#").rsplit("#", 1)[-1].rsplit("/", 1)[-1].replace("_", " ") or iri


def claims_for(edges: Iterable[BareEdge], staging: ox.Store, store: Store, source: str,
               version: str, when: datetime | None = None, *,
               extractor: str = LOAD_EXTRACTOR) -> list[tuple[CausalClaim, str]]:
    """A proposed claim per bare edge, citing the loaded file, with the graph it goes to."""
    when = when or datetime.now(UTC)
    out = []
    for e in edges:
        s = Concept(e.subject, _label(e.subject, staging, store))
        o = Concept(e.object, _label(e.object, staging, store))
        sentence = f"{s.label} {e.relation} {o.label}"
        span = SourceSpan(document_id=source, sentence=sentence, start=0, end=len(sentence), source="kg-load",
                          citation=f"loaded from {source} without a claim of its own")
        claim = CausalClaim(subject=s, object=o, relation=e.relation, status="proposed",  # type: ignore[arg-type]
                            certainty="possible", confidence=0.5, span=span, extractor=extractor,
                            extractor_version=version, generated_at=when)
        out.append((claim, e.graph))
    return out


def load_with_claims(store: Store, source: Path | bytes, fmt: str, graph: str | None, version: str, *,
                     name: str | None = None, extractor: str = LOAD_EXTRACTOR) -> tuple[int, int, int]:
    """Load one file (or document body) and proposed claims for its bare causal edges in one transaction.

    ``name`` is what the claims cite as their source (default: the file's name). Returns (quads the store
    gained, claims proposed, quads in the document).
    """
    from kg.store.oxigraph import _RDF as OX_FORMATS

    name = name or (source.name if isinstance(source, Path) else "request body")
    if fmt == "rdfxml":
        from kg.store.xml_guard import check_rdfxml

        check_rdfxml(source, str(source) if isinstance(source, Path) else name)
    staging = ox.Store()
    kwargs: dict[str, object] = {"format": OX_FORMATS[fmt], "base_iri": "https://w3id.org/mcrag/base/"}
    if graph:
        kwargs["to_graph"] = ox.NamedNode(graph)
    try:
        if isinstance(source, Path):
            staging.load(path=str(source), **kwargs)  # type: ignore[arg-type]
        else:
            staging.load(input=source, **kwargs)  # type: ignore[arg-type]
    except SyntaxError:
        return _plain_load(store, source, fmt, graph, name)  # the store's own load names the line
    file_quads = len(staging)
    claims = claims_for(bare_edges(staging, store), staging, store, name, version, extractor=extractor)
    for claim, g in claims:
        staging.extend(claim_quads(claim, g))
    before = store.count()
    store.load(staging.dump(format=ox.RdfFormat.N_QUADS) or b"", "nquads",
               source_name=str(source) if isinstance(source, Path) else name)
    return store.count() - before, len(claims), file_quads


def _plain_load(store: Store, source: Path | bytes, fmt: str, graph: str | None, name: str) -> tuple[int, int, int]:
    rep = store.load(source, fmt, graph=graph, source_name=str(source) if isinstance(source, Path) else name)  # type: ignore[arg-type]
    return rep.added, 0, rep.added


def count_bare_edges(path: Path, fmt: str) -> int:
    """Causal edges in a file that no claim in the same file states (streamed, for bulk files)."""
    from kg.store.oxigraph import _RDF as OX_FORMATS

    edges: set[tuple[str, str, str]] = set()
    parts: dict[str, dict[str, str]] = {}
    wanted = {str(RDF.subject): "s", str(RDF.predicate): "p", str(RDF.object): "o"}
    try:
        quads = list(ox.parse(path=str(path), format=OX_FORMATS[fmt]))
    except SyntaxError as err:
        from kg.errors import MalformedRDFError

        raise MalformedRDFError(f"{err.args[0] if err.args else err} (nothing was loaded)", source=str(path)) from None
    for q in quads:
        p = q.predicate.value
        if p in RELATION_IRIS:
            edges.add((q.subject.value, p, q.object.value))
        elif p in wanted:
            parts.setdefault(str(q.subject), {})[wanted[p]] = str(getattr(q.object, "value", q.object))
    claimed = {(d.get("s"), d.get("p"), d.get("o")) for d in parts.values()}
    return len(edges - claimed)
