"""The causal evidence behind an answer: the k-hop subgraph of claims around some concepts.

A model answer is only as trustworthy as the edges it leans on, so the subgraph keeps, for every
edge, the claim that states it (claim id), its curation or validation status, its calibrated
confidence, the validated effect size when there is one, and the literature or report sources it
was read from. It serialises two ways: structured JSON for people and programs, and a compact text
with short references (``E1``, ``E2`` ...) that fits in a small model's prompt and maps back to
claim ids.

Claims are read with SPARQL over the store seam only (``rdf:subject`` / ``rdf:predicate`` /
``rdf:object``, ``mcrag:status``, ``mcrag:confidence``, ``mcrag:hasValidation`` / ``mcrag:effect``,
``prov:wasDerivedFrom`` / ``oa:hasSource`` / ``dcterms:bibliographicCitation``), so an embedded
Oxigraph folder and a remote endpoint serve the same evidence.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.namespaces import CONCEPT, ID, MCRAG
from kg.store.base import Store
from kg.vocabulary import finding_for_concept_iri

STATUS_RANK: dict[str, int] = {
    "validated": 0, "accepted": 1, "proposed": 2, "notTestable": 3, "refuted": 4, "rejected": 5,
}
"""Which claim wins when several state the same edge (lower is stronger)."""

SUPPORTING_STATUSES: frozenset[str] = frozenset({"validated", "accepted", "proposed", "notTestable"})
"""Statuses under which a positive edge counts as support for consistency checks."""

DEFAULT_STATUSES: tuple[str, ...] = ("validated", "accepted", "proposed", "notTestable", "refuted")
"""Rejected claims are left out unless asked for; refuted ones stay, flagged, as evidence against."""

_MCRAG = str(MCRAG)
_CLAIM_PREFIX = str(ID["claim/"])


@dataclass(frozen=True)
class SourceRef:
    """Where a claim was read: the document, its citation and the quoted sentence."""

    document: str
    identifier: str | None = None
    citation: str | None = None
    collection: str | None = None
    sentence: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in {
            "document": self.document, "identifier": self.identifier, "citation": self.citation,
            "collection": self.collection, "sentence": self.sentence,
        }.items() if v is not None}


@dataclass(frozen=True)
class EvidenceEdge:
    """One causal edge with the strongest claim that states it and how many others agree."""

    ref: str
    """Short reference used in the prompt text (``E1``)."""
    claim_id: str
    subject: str
    subject_label: str
    relation: str
    object: str
    object_label: str
    status: str
    confidence: float
    polarity: str = "positive"
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    validation: str | None = None
    hop: int = 1
    claim_ids: tuple[str, ...] = ()
    """Every claim id stating this edge (strongest first, capped); ``claim_id`` is the first."""
    n_claims: int = 1
    sources: tuple[SourceRef, ...] = ()

    @property
    def supports(self) -> bool:
        """A positive edge whose status lets it support an explanation."""
        return self.polarity == "positive" and self.status in SUPPORTING_STATUSES

    @property
    def subject_finding(self) -> str | None:
        return finding_for_concept_iri(self.subject)

    @property
    def object_finding(self) -> str | None:
        return finding_for_concept_iri(self.object)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ref": self.ref, "claim_id": self.claim_id, "subject": self.subject,
            "subject_label": self.subject_label, "relation": self.relation, "object": self.object,
            "object_label": self.object_label, "polarity": self.polarity, "status": self.status,
            "confidence": round(self.confidence, 4), "effect": self.effect, "hop": self.hop,
            "n_claims": self.n_claims, "claim_ids": list(self.claim_ids),
            "sources": [s.to_json() for s in self.sources],
        }
        if self.ci_low is not None or self.ci_high is not None:
            out["ci"] = [self.ci_low, self.ci_high]
        if self.validation:
            out["validation"] = self.validation
        return out

    def text(self) -> str:
        """``E1 heart failure causes pleural effusion [accepted 1.00, effect 0.21]``."""
        neg = "not " if self.polarity == "negative" else ""
        extra = f", effect {self.effect:.2f}" if self.effect is not None else ""
        return (f"{self.ref} {self.subject_label} {neg}{self.relation} {self.object_label} "
                f"[{self.status} {self.confidence:.2f}{extra}]")


@dataclass(frozen=True)
class CausalSubgraph:
    """Edges within ``hops`` of the seed concepts, strongest and nearest first."""

    seeds: tuple[str, ...]
    hops: int
    edges: tuple[EvidenceEdge, ...]
    labels: dict[str, str] = field(default_factory=dict)
    """Concept IRI -> preferred label for every node of the subgraph."""
    truncated: bool = False

    @property
    def nodes(self) -> frozenset[str]:
        return frozenset({e.subject for e in self.edges} | {e.object for e in self.edges} | set(self.seeds))

    def findings(self, *, supporting_only: bool = True) -> frozenset[str]:
        """Open-i finding names among the nodes reached by (supporting) edges, seeds included."""
        names = {finding_for_concept_iri(s) for s in self.seeds}
        for e in self.edges:
            if supporting_only and not e.supports:
                continue
            names.add(e.subject_finding)
            names.add(e.object_finding)
        return frozenset(n for n in names if n)

    def edge(self, ref: str) -> EvidenceEdge:
        for e in self.edges:
            if e.ref == ref:
                return e
        raise KeyError(ref)

    def edges_touching(self, concept_iri: str) -> tuple[EvidenceEdge, ...]:
        return tuple(e for e in self.edges if concept_iri in (e.subject, e.object))

    def to_json(self) -> dict[str, Any]:
        return {
            "seeds": list(self.seeds), "hops": self.hops, "truncated": self.truncated,
            "nodes": {iri: self.labels.get(iri, _local(iri)) for iri in sorted(self.nodes)},
            "edges": [e.to_json() for e in self.edges],
        }

    def to_json_text(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_json(), indent=indent, ensure_ascii=False)

    def to_prompt_text(self, max_edges: int = 8, *, supporting_only: bool = False) -> str:
        """Compact one-line-per-edge text for a prompt; each line starts with its ``E`` reference."""
        chosen = [e for e in self.edges if e.supports or not supporting_only][:max_edges]
        return "\n".join(e.text() for e in chosen)

    def refs(self) -> dict[str, str]:
        """Prompt reference -> claim id."""
        return {e.ref: e.claim_id for e in self.edges}


def concept_iris_for(names: Iterable[str]) -> tuple[str, ...]:
    """IRIs for finding names (``Effusion``) or concept keys; unknown names are skipped."""
    from kg.vocabulary import concept_for_finding

    out = []
    for n in names:
        try:
            out.append(concept_for_finding(n).iri)
        except KeyError:
            if n.startswith(("http://", "https://")):
                out.append(n)
    return tuple(dict.fromkeys(out))


def _local(iri: str) -> str:
    for prefix in (str(CONCEPT), _MCRAG):
        if iri.startswith(prefix):
            return iri[len(prefix):].replace("_", " ")
    return iri.rsplit("/", 1)[-1]


def _values(iris: Iterable[str]) -> str:
    return " ".join(f"<{i}>" for i in iris)


def _float(v: str | None) -> float | None:
    if v is None or v == "":
        return None
    try:
        return float(v)
    except ValueError:
        return None


_HOP_QUERY = """
SELECT ?c ?s ?p ?o ?status ?conf ?pol ?val ?effect ?lo ?hi WHERE {{
  VALUES ?n {{ {values} }}
  {{ ?c rdf:subject ?n }} UNION {{ ?c rdf:object ?n }}
  ?c a mcrag:CausalClaim ; rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o .
  OPTIONAL {{ ?c mcrag:status ?status }}
  OPTIONAL {{ ?c mcrag:confidence ?conf }}
  OPTIONAL {{ ?c mcrag:polarity ?pol }}
  OPTIONAL {{ ?c mcrag:hasValidation ?val .
             OPTIONAL {{ ?val mcrag:effect ?effect }}
             OPTIONAL {{ ?val mcrag:ciLow ?lo }}
             OPTIONAL {{ ?val mcrag:ciHigh ?hi }} }}
}}
"""

_SOURCE_QUERY = """
SELECT ?c ?doc ?ident ?cit ?coll ?sentence WHERE {{
  VALUES ?c {{ {values} }}
  OPTIONAL {{ ?c mcrag:sentence ?sentence }}
  OPTIONAL {{ ?c prov:wasDerivedFrom ?span .
             OPTIONAL {{ ?span oa:hasSource ?doc .
                        OPTIONAL {{ ?doc dcterms:identifier ?ident }}
                        OPTIONAL {{ ?doc dcterms:bibliographicCitation ?cit }}
                        OPTIONAL {{ ?doc dcterms:source ?coll }} }} }}
}}
"""

_LABEL_QUERY = """
SELECT ?n ?label WHERE {{
  VALUES ?n {{ {values} }}
  {{ ?n skos:prefLabel ?label }} UNION {{ ?n rdfs:label ?label }}
}}
"""


@dataclass
class _Claim:
    claim_iri: str
    s: str
    p: str
    o: str
    status: str
    confidence: float
    polarity: str
    hop: int
    validation: str | None = None
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.s, self.p, self.o, self.polarity)

    @property
    def rank(self) -> tuple[int, int, float, int]:
        # validated first, then with an effect, then more confident, then nearer
        return (STATUS_RANK.get(self.status, 9), 0 if self.effect is not None else 1, -self.confidence, self.hop)


def _strip(iri: str | None, prefix: str) -> str:
    if iri and iri.startswith(prefix):
        return iri[len(prefix):]
    return iri or ""


def causal_subgraph(store: Store, seeds: Iterable[str], *, hops: int = 2,
                    statuses: Sequence[str] = DEFAULT_STATUSES, max_edges: int = 60,
                    max_frontier: int = 64, claim_ids_per_edge: int = 5,
                    sources_per_edge: int = 3) -> CausalSubgraph:
    """The claims within ``hops`` of the seed concept IRIs, in both directions (causes and effects).

    One SPARQL query per hop (VALUES over the frontier) plus one for labels and one for sources, so
    the cost grows with the subgraph, not the store. Claims stating the same edge are merged into one
    :class:`EvidenceEdge` led by its strongest claim (validated > accepted > proposed; with an effect
    estimate; more confident). At most ``max_edges`` edges are kept (nearest, strongest first) and a
    hop expands at most ``max_frontier`` new concepts, so mined graphs with hub concepts stay bounded.
    """
    if hops < 0:
        raise ValueError(f"hops must be >= 0, got {hops}")
    seed_list = tuple(dict.fromkeys(seeds))
    allowed = set(statuses)
    unknown = allowed - set(STATUS_RANK)
    if unknown:
        raise ValueError(f"unknown claim status {sorted(unknown)}; use {', '.join(STATUS_RANK)}")
    claims: dict[str, _Claim] = {}
    seen: set[str] = set(seed_list)
    frontier = list(seed_list)
    truncated = False
    for hop in range(1, hops + 1):
        if not frontier:
            break
        rows = store.select(_HOP_QUERY.format(values=_values(frontier)))
        reached: dict[str, tuple[int, float]] = {}
        for r in rows:
            iri = r["c"]
            if not iri or iri in claims:
                continue
            status = _strip(r.get("status"), _MCRAG) or "proposed"
            if status not in allowed:
                continue
            conf = _float(r.get("conf"))
            claim = _Claim(iri, r["s"] or "", _strip(r["p"], _MCRAG), r["o"] or "", status,
                           1.0 if conf is None else conf, (r.get("pol") or "positive"), hop, r.get("val"),
                           _float(r.get("effect")), _float(r.get("lo")), _float(r.get("hi")))
            prev = claims.get(iri)
            if prev is None or (claim.effect is not None and prev.effect is None):
                claims[iri] = claim
            for node in (claim.s, claim.o):
                if node not in seen:
                    best = reached.get(node, (9, 0.0))
                    reached[node] = min(best, (STATUS_RANK.get(status, 9), -claim.confidence))
        if len(reached) > max_frontier:
            truncated = True
        frontier = [n for n, _ in sorted(reached.items(), key=lambda kv: kv[1])[:max_frontier]]
        seen.update(frontier)

    grouped: dict[tuple[str, str, str, str], list[_Claim]] = {}
    for cl in claims.values():
        grouped.setdefault(cl.key, []).append(cl)
    merged = sorted((sorted(g, key=lambda c: c.rank) for g in grouped.values()),
                    key=lambda g: (min(c.hop for c in g), g[0].rank, -len(g)))
    if len(merged) > max_edges:
        truncated = True
        merged = merged[:max_edges]

    nodes = {n for g in merged for n in (g[0].s, g[0].o)} | set(seed_list)
    labels = _labels(store, nodes)
    lead_iris = [c.claim_iri for g in merged for c in g[:sources_per_edge]]
    sources = _sources(store, lead_iris)

    edges = []
    for i, group in enumerate(merged, start=1):
        lead = group[0]
        srcs: list[SourceRef] = []
        for c in group[:sources_per_edge]:
            srcs.extend(sources.get(c.claim_iri, ()))
        edges.append(EvidenceEdge(
            ref=f"E{i}", claim_id=_strip(lead.claim_iri, _CLAIM_PREFIX), subject=lead.s,
            subject_label=labels.get(lead.s, _local(lead.s)), relation=lead.p, object=lead.o,
            object_label=labels.get(lead.o, _local(lead.o)), status=lead.status, confidence=lead.confidence,
            polarity=lead.polarity, effect=lead.effect, ci_low=lead.ci_low, ci_high=lead.ci_high,
            validation=lead.validation, hop=min(c.hop for c in group),
            claim_ids=tuple(_strip(c.claim_iri, _CLAIM_PREFIX) for c in group[:claim_ids_per_edge]),
            n_claims=len(group), sources=tuple(dict.fromkeys(srcs))[:sources_per_edge],
        ))
    return CausalSubgraph(seed_list, hops, tuple(edges), labels, truncated)


def _labels(store: Store, nodes: Iterable[str]) -> dict[str, str]:
    nodes = sorted(n for n in nodes if n)
    out: dict[str, str] = {}
    for i in range(0, len(nodes), 400):
        for r in store.select(_LABEL_QUERY.format(values=_values(nodes[i:i + 400]))):
            if r["n"] and r["label"] and r["n"] not in out:
                out[r["n"]] = r["label"]
    return out


def _sources(store: Store, claim_iris: Sequence[str]) -> dict[str, tuple[SourceRef, ...]]:
    out: dict[str, list[SourceRef]] = {}
    iris = list(dict.fromkeys(claim_iris))
    for i in range(0, len(iris), 400):
        for r in store.select(_SOURCE_QUERY.format(values=_values(iris[i:i + 400]))):
            c = r["c"]
            if not c:
                continue
            ref = SourceRef(document=r.get("doc") or "", identifier=r.get("ident"), citation=r.get("cit"),
                            collection=r.get("coll"), sentence=r.get("sentence"))
            if not ref.document and not ref.sentence:
                continue
            lst = out.setdefault(c, [])
            if ref not in lst:
                lst.append(ref)
    return {k: tuple(v) for k, v in out.items()}


__all__ = [
    "DEFAULT_STATUSES",
    "STATUS_RANK",
    "SUPPORTING_STATUSES",
    "CausalSubgraph",
    "EvidenceEdge",
    "SourceRef",
    "causal_subgraph",
    "concept_iris_for",
]
