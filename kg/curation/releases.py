"""Releases: the accepted and validated graph frozen under a name, cited by its version IRI and compared.

``cut_release(store, "2026.1", ...)`` writes one named graph, ``graph:release/2026.1``, in one
transaction. The graph's IRI is the release's ``owl:versionIRI``; the release (an ``mcrag:Release``
and ``void:Dataset``) says when it was issued (``dcterms:issued``), which release it was derived from
(``prov:wasDerivedFrom`` and ``owl:priorVersion``), what it is a version of (``dcterms:isVersionOf``
the curated graph) and its counts (edges, claims, concepts, triples). Each edge of positive claims
with a trusted status is frozen as an ``mcrag:ReleasedEdge``: cause, relation and effect
(``rdf:subject`` / ``rdf:predicate`` / ``rdf:object``), the stable edge it froze (``mcrag:edge``,
``id:edge/<hash>``, by which two releases are compared), the strongest status, the claims that
supported it and the latest effect. Nothing in a release graph is a ``mcrag:CausalClaim`` or a
materialised edge, so readers of the live graph never see frozen copies; an export adds the plain
``cause relation effect`` triples and the concepts' labels for consumers.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import networkx as nx
import numpy as np
import pyoxigraph as ox

from kg.curation.export import deliver
from kg.curation.index import CurationIndex, adopt_write, index_for
from kg.errors import CurationConflictError, CurationError, UnknownClaimError
from kg.namespaces import (
    DCTERMS,
    FOAF,
    GRAPH,
    MCRAG,
    NAMED_GRAPHS,
    OWL,
    PREFIXES,
    PROV,
    RDF,
    RDFS,
    SKOS,
    VOID,
    XSD,
    release_graph,
)
from kg.revisions import CurationRecord, curator_iri, iri_nt, literal_nt, new_activity_iri, parse_time
from kg.statuses import STATUSES, TRUSTED_STATUSES, strongest_status
from kg.store.base import Store

_MCRAG = str(MCRAG)
RELEASE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RELEASE_FORMATS: tuple[str, ...] = ("turtle", "jsonld", "graphml")

RELEASES_QUERY = """SELECT ?r ?name ?issued ?prev ?edges ?claims ?concepts ?triples ?who ?note ?act WHERE {
  GRAPH ?r { ?r a mcrag:Release ; owl:versionInfo ?name ; dcterms:issued ?issued ; mcrag:edgeCount ?edges .
    OPTIONAL { ?r prov:wasDerivedFrom ?prev } OPTIONAL { ?r mcrag:claimCount ?claims }
    OPTIONAL { ?r mcrag:conceptCount ?concepts } OPTIONAL { ?r void:triples ?triples }
    OPTIONAL { ?r dcterms:creator/foaf:name ?who } OPTIONAL { ?r rdfs:comment ?note }
    OPTIONAL { ?r prov:wasGeneratedBy ?act } }
} ORDER BY ?issued ?r"""
"""Every release, oldest first."""

RELEASED_COLUMN = "SELECT ?s ?v WHERE {{ GRAPH {graph} {{ ?s {path} ?v }} }}"
"""One property of every released edge of one release (``{graph}`` a checked IRI, ``{path}`` fixed)."""


@dataclass(frozen=True)
class ReleaseInfo:
    """A release as the store records it."""

    name: str
    iri: str
    issued: datetime
    previous: str | None
    edges: int
    claims: int
    concepts: int
    triples: int
    curator: str = ""
    note: str = ""
    activity: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "issued": self.issued.isoformat(),
                "previous_name": self.previous.rsplit("/", 1)[-1] if self.previous else None}


@dataclass(frozen=True)
class ReleasedEdge:
    """One edge as a release froze it."""

    edge: str
    subject: str
    relation: str
    object: str
    subject_label: str
    object_label: str
    status: str
    claims: int
    supported_by: tuple[str, ...] = ()
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "edge_id": self.edge.rsplit("/", 1)[-1], "supported_by": list(self.supported_by),
                "label": f"{self.subject_label} {self.relation} {self.object_label}"}


@dataclass(frozen=True)
class EdgeChange:
    """An edge both releases hold, with the fields that differ (old in ``before``, new in ``after``)."""

    before: ReleasedEdge
    after: ReleasedEdge
    fields: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"edge_id": self.after.edge.rsplit("/", 1)[-1], "label": self.after.to_json()["label"],
                "fields": list(self.fields),
                "changes": {f: {"old": _field(self.before, f), "new": _field(self.after, f)} for f in self.fields}}


def _field(e: ReleasedEdge, name: str) -> Any:
    v = getattr(e, name)
    return list(v) if isinstance(v, tuple) else v


@dataclass(frozen=True)
class ReleaseDiff:
    """What changed from release ``a`` to release ``b``."""

    a: str
    b: str
    added: list[ReleasedEdge] = field(default_factory=list)
    removed: list[ReleasedEdge] = field(default_factory=list)
    changed: list[EdgeChange] = field(default_factory=list)
    unchanged: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "added": [e.to_json() for e in self.added],
                "removed": [e.to_json() for e in self.removed], "changed": [c.to_json() for c in self.changed],
                "unchanged": self.unchanged,
                "counts": {"added": len(self.added), "removed": len(self.removed), "changed": len(self.changed),
                           "unchanged": self.unchanged}}


# ------------------------------------------------------------------------------------------- reading
def _check_name(name: str) -> str:
    if not RELEASE_NAME.match(name or ""):
        raise CurationError(f"{name!r} is not a release name: use letters, digits, '.', '_' or '-' (64 at most), "
                            "starting with a letter or digit")
    return name


def release_iri(name_or_iri: str) -> str:
    """A release's IRI (its graph and version IRI) from its name or IRI."""
    text = name_or_iri.strip().strip("<>")
    if text.startswith(("http://", "https://")):
        return ox.NamedNode(text).value
    return release_graph(_check_name(text))


def list_releases(store: Store) -> list[ReleaseInfo]:
    """Every release in the store, oldest first."""
    out = []
    for r in store.select(RELEASES_QUERY):
        if not r["r"]:
            continue
        out.append(ReleaseInfo(
            name=r["name"] or "", iri=r["r"], issued=parse_time(r["issued"]) or datetime.min.replace(tzinfo=UTC),
            previous=r["prev"], edges=int(float(r["edges"] or 0)), claims=int(float(r["claims"] or 0)),
            concepts=int(float(r["concepts"] or 0)), triples=int(float(r["triples"] or 0)), curator=r["who"] or "",
            note=r["note"] or "", activity=r["act"]))
    return out


def get_release(store: Store, name: str) -> ReleaseInfo:
    iri = release_iri(name)
    for info in list_releases(store):
        if info.iri == iri:
            return info
    raise UnknownClaimError(f"no release {name!r} in the store (`mcrag curate releases` lists them)")


def _column(store: Store, graph: str, path: str) -> list[tuple[str, str]]:
    import csv

    data, _ = store.query_serialized(RELEASED_COLUMN.format(graph=iri_nt(graph), path=path), "csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))[1:]
    return [(r[0], r[1]) for r in rows if len(r) >= 2 and r[0]]


def release_edges(store: Store, name: str) -> list[ReleasedEdge]:
    """The edges a release froze, by edge IRI."""
    info = get_release(store, name)
    g = info.iri
    cols: dict[str, dict[str, str]] = {}
    for key, path in (("edge", "mcrag:edge"), ("subject", "rdf:subject"), ("relation", "rdf:predicate"),
                      ("object", "rdf:object"), ("status", "mcrag:edgeStatus"), ("claims", "mcrag:claimCount"),
                      ("effect", "mcrag:edgeEffect"), ("ci_low", "mcrag:edgeCiLow"), ("ci_high", "mcrag:edgeCiHigh")):
        cols[key] = dict(_column(store, g, path))
    labels = dict(_column(store, g, "mcrag:labelAtRelease"))
    support: dict[str, list[str]] = {}
    for s, v in _column(store, g, "mcrag:supportedBy"):
        support.setdefault(s, []).append(v)

    def num(key: str, node: str) -> float | None:
        v = cols[key].get(node)
        return float(v) if v not in (None, "") else None

    out = []
    for node, edge in cols["edge"].items():
        out.append(ReleasedEdge(
            edge=edge, subject=cols["subject"].get(node, ""), relation=cols["relation"].get(node, "").rsplit("#", 1)[-1],
            object=cols["object"].get(node, ""), subject_label=labels.get(cols["subject"].get(node, ""), ""),
            object_label=labels.get(cols["object"].get(node, ""), ""),
            status=cols["status"].get(node, "").rsplit("#", 1)[-1], claims=int(float(cols["claims"].get(node) or 0)),
            supported_by=tuple(sorted(support.get(node, ()))), effect=num("effect", node), ci_low=num("ci_low", node),
            ci_high=num("ci_high", node)))
    return sorted(out, key=lambda e: e.edge)


# ------------------------------------------------------------------------------------------- cutting
def _frozen_edges(index: CurationIndex, statuses: tuple[str, ...]) -> list[ReleasedEdge]:
    index._derive()
    codes = [STATUSES.index(s) for s in statuses]
    keep = (index.polarity == 1) & np.isin(index.status, codes)
    out = []
    for k in np.unique(index.edge_of[keep]).tolist():
        members = index.edge_members[k]
        members = members[keep[members]]
        s, r, o = index.edge_key[k]
        latest = None
        for i in members.tolist():
            for v in index.verdicts[i][:1]:
                t = -math.inf if math.isnan(v.time) else v.time
                if latest is None or (t, v.result) > latest[0]:
                    latest = ((t, v.result), v)
        v = latest[1] if latest else None

        def num(x: float | None) -> float | None:
            return None if x is None or math.isnan(x) else round(float(x), 6)

        out.append(ReleasedEdge(
            edge=index.edge_ids[k], subject=index.concepts.values[s], relation=index.relations.values[r],
            object=index.concepts.values[o], subject_label=index.concept_label[s], object_label=index.concept_label[o],
            status=strongest_status(index.status_of(int(i)) for i in members),
            claims=len(members), supported_by=tuple(index.claims[int(i)] for i in members),
            effect=num(v.effect) if v else None, ci_low=num(v.ci_low) if v else None,
            ci_high=num(v.ci_high) if v else None))
    return out


def _release_quads(info: ReleaseInfo, edges: list[ReleasedEdge], agent: str, agent_name: str) -> list[ox.Quad]:
    g = ox.NamedNode(info.iri)
    r = g
    nn = ox.NamedNode

    def lit(value: object, dtype: str | None = None) -> ox.Literal:
        return ox.Literal(str(value), datatype=nn(dtype)) if dtype else ox.Literal(str(value))

    def dec(x: float) -> ox.Literal:
        return ox.Literal(f"{x:.6f}", datatype=nn(str(XSD.decimal)))

    integer = str(XSD.integer)
    q: list[ox.Quad] = []
    for t in (MCRAG.Release, PROV.Entity, VOID.Dataset):
        q.append(ox.Quad(r, nn(str(RDF.type)), nn(str(t)), g))
    q += [
        ox.Quad(r, nn(str(OWL.versionIRI)), r, g),
        ox.Quad(r, nn(str(OWL.versionInfo)), lit(info.name), g),
        ox.Quad(r, nn(str(DCTERMS.title)), lit(f"MCRAG curated causal graph, release {info.name}"), g),
        ox.Quad(r, nn(str(DCTERMS.issued)), lit(info.issued.isoformat(), str(XSD.dateTime)), g),
        ox.Quad(r, nn(str(DCTERMS.isVersionOf)), nn(NAMED_GRAPHS["curated"]), g),
        ox.Quad(r, nn(str(DCTERMS.creator)), nn(agent), g),
        ox.Quad(nn(agent), nn(str(RDF.type)), nn(str(PROV.Person)), g),
        ox.Quad(nn(agent), nn(str(FOAF.name)), lit(agent_name), g),
        ox.Quad(r, nn(str(MCRAG.edgeCount)), lit(info.edges, integer), g),
        ox.Quad(r, nn(str(MCRAG.claimCount)), lit(info.claims, integer), g),
        ox.Quad(r, nn(str(MCRAG.conceptCount)), lit(info.concepts, integer), g),
    ]
    if info.activity:
        q.append(ox.Quad(r, nn(str(PROV.wasGeneratedBy)), nn(info.activity), g))
    if info.note:
        q.append(ox.Quad(r, nn(str(RDFS.comment)), lit(info.note), g))
    if info.previous:
        q += [ox.Quad(r, nn(str(PROV.wasDerivedFrom)), nn(info.previous), g),
              ox.Quad(r, nn(str(OWL.priorVersion)), nn(info.previous), g)]
    p_type, p_edge, p_s, p_p, p_o = (nn(str(RDF.type)), nn(str(MCRAG.edge)), nn(str(RDF.subject)),
                                     nn(str(RDF.predicate)), nn(str(RDF.object)))
    p_status, p_count, p_support = nn(str(MCRAG.edgeStatus)), nn(str(MCRAG.claimCount)), nn(str(MCRAG.supportedBy))
    released, label_prop = nn(str(MCRAG.ReleasedEdge)), nn(str(MCRAG.labelAtRelease))
    effects = [(nn(str(MCRAG[prop])), attr) for prop, attr in (("edgeEffect", "effect"), ("edgeCiLow", "ci_low"),
                                                                 ("edgeCiHigh", "ci_high"))]
    labels: dict[str, str] = {}
    for e in edges:
        x = nn(f"{info.iri}/edge/{e.edge.rsplit('/', 1)[-1]}")
        q += [ox.Quad(x, p_type, released, g), ox.Quad(x, p_edge, nn(e.edge), g), ox.Quad(x, p_s, nn(e.subject), g),
              ox.Quad(x, p_p, nn(_MCRAG + e.relation), g), ox.Quad(x, p_o, nn(e.object), g),
              ox.Quad(x, p_status, nn(_MCRAG + e.status), g), ox.Quad(x, p_count, lit(e.claims, integer), g)]
        q += [ox.Quad(x, p_support, nn(c), g) for c in e.supported_by]
        for prop, attr in effects:
            value = getattr(e, attr)
            if value is not None:
                q.append(ox.Quad(x, prop, dec(value), g))
        labels.setdefault(e.subject, e.subject_label)
        labels.setdefault(e.object, e.object_label)
    q += [ox.Quad(nn(c), label_prop, lit(label), g) for c, label in sorted(labels.items()) if label]
    q.append(ox.Quad(r, nn(str(VOID.triples)), lit(len(q) + 1, integer), g))
    return q


def cut_release(store: Store, name: str, curator: str, note: str = "", *,
                statuses: tuple[str, ...] = TRUSTED_STATUSES, index: CurationIndex | None = None) -> ReleaseInfo:
    """Freeze the edges of positive claims in ``statuses`` (accepted and validated) as release ``name``."""
    _check_name(name)
    if not curator or not curator.strip():
        raise CurationError("a release needs the curator's identity (--curator or $MCRAG_CURATOR)")
    bad = [s for s in statuses if s not in STATUSES]
    if bad:
        raise CurationError(f"unknown status {bad[0]!r}")
    iri = release_graph(name)
    if store.ask(f"ASK {{ GRAPH {iri_nt(iri)} {{ ?s ?p ?o }} }}"):
        raise CurationConflictError(f"release {name!r} exists already; releases are frozen, choose a new name")
    previous = list_releases(store)
    idx = index or index_for(store)
    with idx.lock:
        idx.ensure()
        edges = _frozen_edges(idx, tuple(statuses))
    now = datetime.now(UTC)
    act = new_activity_iri("release", now)
    agent = curator_iri(curator)
    concepts = len({e.subject for e in edges} | {e.object for e in edges})
    info = ReleaseInfo(name, iri, now, previous[-1].iri if previous else None, len(edges),
                       sum(e.claims for e in edges), concepts, 0, curator.strip(), note.strip(), act)
    quads = _release_quads(info, edges, agent, curator.strip())
    curated = ox.NamedNode(NAMED_GRAPHS["curated"])
    a, nn = ox.NamedNode(act), ox.NamedNode
    prov = [ox.Quad(a, nn(str(RDF.type)), nn(str(MCRAG.CurationActivity)), curated),
            ox.Quad(a, nn(str(RDF.type)), nn(str(PROV.Activity)), curated),
            ox.Quad(a, nn(str(MCRAG.action)), ox.Literal("release"), curated),
            ox.Quad(a, nn(str(MCRAG.reason)), ox.Literal(note.strip() or f"release {name}"), curated),
            ox.Quad(a, nn(str(PROV.generated)), nn(iri), curated),
            ox.Quad(a, nn(str(PROV.wasAssociatedWith)), nn(agent), curated),
            ox.Quad(a, nn(str(PROV.endedAtTime)), ox.Literal(now.isoformat(), datatype=nn(str(XSD.dateTime))), curated),
            ox.Quad(a, nn(str(RDFS.label)), ox.Literal(f"release {name} by {curator.strip()}"), curated),
            ox.Quad(nn(agent), nn(str(RDF.type)), nn(str(PROV.Person)), curated),
            ox.Quad(nn(agent), nn(str(RDFS.label)), ox.Literal(curator.strip()), curated)]
    if info.previous:
        prov.append(ox.Quad(a, nn(str(PROV.used)), nn(info.previous), curated))
    # one INSERT DATA (one transaction); a load would also count the whole store before and after
    blocks = []
    for graph, part in ((iri, quads), (NAMED_GRAPHS["curated"], prov)):
        body = (ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in part],
                             format=ox.RdfFormat.N_TRIPLES) or b"").decode("utf-8")
        blocks.append(f"GRAPH {iri_nt(graph)} {{\n{body}}}")
    before = store.generation
    store.update("INSERT DATA {\n" + "\n".join(blocks) + "\n}")
    adopt_write(store, before)
    last = quads[-1].object
    triples = int(last.value) if isinstance(last, ox.Literal) else len(quads)
    return ReleaseInfo(name, iri, now, info.previous, info.edges, info.claims, concepts, triples, curator.strip(),
                       note.strip(), act)


def withdraw_release(store: Store, name: str, curator: str, reason: str) -> CurationRecord:
    """Undo a release: drop its graph, if no later release was derived from it; the act is recorded."""
    if not curator or not curator.strip() or not reason or not reason.strip():
        raise CurationError("withdrawing a release needs the curator's identity and a reason")
    info = get_release(store, name)
    later = [r.name for r in list_releases(store) if r.previous == info.iri]
    if later:
        raise CurationConflictError(f"release {info.name} has later releases derived from it ({', '.join(later)}); "
                                    "withdraw those first")
    now = datetime.now(UTC)
    act = new_activity_iri("release", now)
    agent = curator_iri(curator)
    a = iri_nt(act)
    prov = [f"{a} a mcrag:CurationActivity , prov:Activity .", f"{a} mcrag:action \"undo\" .",
            f"{a} mcrag:reason {literal_nt(reason.strip())} .", f"{a} prov:wasAssociatedWith {iri_nt(agent)} .",
            f"{a} prov:endedAtTime {literal_nt(now.isoformat(), str(XSD.dateTime))} .",
            f"{a} prov:used {iri_nt(info.iri)} .", f"{a} rdfs:label {literal_nt(f'withdraw release {info.name}')} .",
            f"{iri_nt(agent)} a prov:Person , prov:Agent ; rdfs:label {literal_nt(curator.strip())} ."]
    if info.activity:
        prov.append(f"{a} mcrag:undoes {iri_nt(info.activity)} .")
    before = store.generation
    store.update(f"DROP SILENT GRAPH {iri_nt(info.iri)} ;\nINSERT DATA {{ GRAPH {iri_nt(NAMED_GRAPHS['curated'])} {{ "
                 + " ".join(prov) + " } }")
    adopt_write(store, before)
    return CurationRecord(act, info.iri, "undo", curator.strip(), reason.strip(), now, None, None, undoes=info.activity)


# ------------------------------------------------------------------------------------------- comparing
DIFF_FIELDS: tuple[str, ...] = ("status", "claims", "supported_by", "effect", "ci_low", "ci_high")


def diff_releases(store: Store, a: str, b: str) -> ReleaseDiff:
    """Edges added, removed and changed (status, claims, supporting claims, effect) from release ``a`` to ``b``."""
    ea = {e.edge: e for e in release_edges(store, a)}
    eb = {e.edge: e for e in release_edges(store, b)}
    added = [eb[k] for k in sorted(eb.keys() - ea.keys())]
    removed = [ea[k] for k in sorted(ea.keys() - eb.keys())]
    changed = []
    same = 0
    for k in sorted(ea.keys() & eb.keys()):
        fields = tuple(f for f in DIFF_FIELDS if getattr(ea[k], f) != getattr(eb[k], f))
        if fields:
            changed.append(EdgeChange(ea[k], eb[k], fields))
        else:
            same += 1
    return ReleaseDiff(get_release(store, a).name, get_release(store, b).name, added, removed, changed, same)


# ------------------------------------------------------------------------------------------- exporting
def _export_triples(store: Store, info: ReleaseInfo) -> list[ox.Triple]:
    """The release graph plus, for consumers, each edge as a plain triple and each concept's label."""
    buf = io.BytesIO()
    store.export(buf, "ntriples", graph=info.iri)
    triples = [ox.Triple(q.subject, q.predicate, q.object)
               for q in ox.parse(buf.getvalue(), format=ox.RdfFormat.N_TRIPLES)]
    seen: set[str] = set()
    for e in release_edges(store, info.name):
        triples.append(ox.Triple(ox.NamedNode(e.subject), ox.NamedNode(str(MCRAG[e.relation])), ox.NamedNode(e.object)))
        for node, label in ((e.subject, e.subject_label), (e.object, e.object_label)):
            if node not in seen and label:
                seen.add(node)
                triples.append(ox.Triple(ox.NamedNode(node), ox.NamedNode(str(SKOS.prefLabel)), ox.Literal(label)))
    return triples


def release_digraph(store: Store, name: str) -> nx.DiGraph:
    """The release as a networkx graph: node ``label``; edge ``relation``, ``status``, ``claims``, ``effect``."""
    g = nx.DiGraph(name=name)
    for e in release_edges(store, name):
        g.add_node(e.subject, label=e.subject_label)
        g.add_node(e.object, label=e.object_label)
        attrs: dict[str, object] = {"relation": e.relation, "status": e.status, "claims": e.claims,
                                    "edge": e.edge}
        for k, v in (("effect", e.effect), ("ci_low", e.ci_low), ("ci_high", e.ci_high)):
            if v is not None:
                attrs[k] = v
        if g.has_edge(e.subject, e.object):  # GraphML readers expect a simple graph: merge relation kinds
            d = g.edges[e.subject, e.object]
            d["relation"] = f"{d['relation']},{e.relation}"
            d["claims"] = int(str(d["claims"])) + e.claims
        else:
            g.add_edge(e.subject, e.object, **attrs)
    return g


def export_release(store: Store, name: str, out: Path | BinaryIO, fmt: str = "turtle") -> int:
    """Write a release as Turtle, JSON-LD or GraphML; returns the triples (RDF) or edges (GraphML) written."""
    if fmt not in RELEASE_FORMATS:
        raise CurationError(f"unknown release format {fmt!r}; use {', '.join(RELEASE_FORMATS)}")
    info = get_release(store, name)
    buf = io.BytesIO()
    if fmt == "graphml":
        g = release_digraph(store, info.name)
        nx.write_graphml(g, buf)
        count = g.number_of_edges()
    else:
        triples = _export_triples(store, info)
        rdf_format = ox.RdfFormat.TURTLE if fmt == "turtle" else ox.RdfFormat.JSON_LD
        ox.serialize(triples, buf, format=rdf_format, prefixes={**PREFIXES, "release": f"{GRAPH}release/"})
        count = len(triples)
    deliver(buf.getvalue(), out)
    return count


__all__ = ["RELEASE_FORMATS", "EdgeChange", "ReleaseDiff", "ReleaseInfo", "ReleasedEdge", "cut_release",
           "diff_releases", "export_release", "get_release", "list_releases", "release_digraph", "release_edges",
           "release_iri", "withdraw_release"]
