"""The causal evidence behind an answer: the k-hop subgraph of claims around one case's findings.

A model answer is only as trustworthy as the edges it leans on, so the subgraph keeps, for every
edge, the claim that states it (claim id), its curation or validation status, its calibrated
confidence, the validated effect size when there is one, and the literature or report sources it
was read from. It serialises two ways: structured JSON for people and programs, and a compact text
with short references (``E1``, ``E2`` ...) that fits in a small model's prompt and maps back to
claim ids.

What a radiologist may lean on, by default: the chest domain only (:func:`claim_scope`: a claim's
``mcrag:scope`` of chest or cardiopulmonary, or, for a claim that states none, both ends in the
chest concept table with one of them chest or cardiopulmonary; a drug side effect mined from the
literature is neither), and only edges a curator accepted or data validated
(:data:`kg.statuses.TRUSTED_STATUSES`). Proposed edges join only when asked for
(``include_proposed``), and each is marked (``trusted`` false, ``[proposed, not validated ...]`` in
the prompt text). The seeds are the case's own findings (:func:`case_seeds`), so two films with
different findings get different subgraphs.

Claims, their sources and their latest validations are read through ``kg.claim_reader`` and
``kg.validations`` over the store seam only, so an embedded Oxigraph folder and a remote endpoint
serve the same evidence, and the prompt shows the same latest effect the review queue does.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.claim_reader import claim_sources, claims_touching, concept_labels
from kg.claims import ClaimRecord, ClaimSource
from kg.concepts import ConceptTable, default_table, finding_for_concept_iri
from kg.namespaces import CONCEPT, MCRAG
from kg.statuses import STATUS_ORDER, TRUSTED_STATUSES, status_rank, unknown_statuses
from kg.store.base import Store
from kg.validations import ValidationRecord, latest_of, latest_validations

_MCRAG = str(MCRAG)

CHEST_SCOPES: tuple[str, ...] = ("chest", "cardiopulmonary")
"""The scopes evidence reads by default (``kg.concepts.SCOPES`` minus ``general``)."""
OUTSIDE_SCOPE = "outside"
""":func:`claim_scope` of a claim with no stated scope and an end outside the chest concept table."""
PROPOSED_STATUSES: tuple[str, ...] = ("proposed",)
"""What ``include_proposed`` adds to the trusted statuses."""


def claim_scope(record: ClaimRecord, table: ConceptTable | None = None) -> str:
    """The domain a claim belongs to: its own ``mcrag:scope`` when stated, else read off its two concepts.

    A claim without a stated scope is in the chest domain when both its ends are concepts of the chest
    concept table and at least one of them has scope chest or cardiopulmonary; it is ``general`` when
    both are table concepts of general scope, and :data:`OUTSIDE_SCOPE` when an end is not in the table
    (a drug, a gene: what the literature miners read beside chest medicine).
    """
    if record.scope:
        return record.scope
    t = table or default_table()
    ends = [t.resolve(record.subject), t.resolve(record.object)]
    if any(c is None for c in ends):
        return OUTSIDE_SCOPE
    scopes = [c.scope for c in ends if c is not None]
    for s in ("cardiopulmonary", "chest"):
        if s in scopes:
            return s
    return scopes[0]


@dataclass(frozen=True)
class SeedRule:
    """Which of a case's findings seed its evidence subgraph (fixed, not tuned on any test split).

    Every finding whose posterior is at least ``present`` (what the answer asserts), then findings the
    answer calls possible (at least ``possible``) in order of probability, at most ``max_seeds`` in all.
    A case with nothing above ``possible`` (a normal film) has no seed and no evidence.
    """

    present: float = 0.5
    possible: float = 0.3
    max_seeds: int = 4


def case_seeds(probabilities: Mapping[str, float], rule: SeedRule | None = None) -> tuple[str, ...]:
    """The seeds of one case: keys of ``probabilities`` (concept IRIs or names) chosen by ``rule``."""
    r = rule or SeedRule()
    ranked = sorted(((float(p), k) for k, p in probabilities.items() if float(p) >= r.possible),
                    key=lambda x: (-x[0], x[1]))
    sure = [k for p, k in ranked if p >= r.present]
    maybe = [k for p, k in ranked if p < r.present]
    chosen = (sure + maybe)[:max(r.max_seeds, 0)] if len(sure) <= r.max_seeds else sure
    return tuple(chosen)


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
    sources: tuple[ClaimSource, ...] = ()
    scope: str = "chest"
    """The claim's domain (:func:`claim_scope`)."""

    @property
    def trusted(self) -> bool:
        """Accepted by a curator or validated by data: what an answer may cite as support."""
        return self.status in TRUSTED_STATUSES

    @property
    def supports(self) -> bool:
        """A positive, trusted edge: what may support an explanation, a consistency check or a
        counterfactual (a proposed edge is shown when asked for, never leaned on)."""
        return self.polarity == "positive" and self.trusted

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
            "sources": [s.to_json() for s in self.sources], "scope": self.scope, "trusted": self.trusted,
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
        status = self.status if self.trusted else f"{self.status}, not validated"
        return (f"{self.ref} {self.subject_label} {neg}{self.relation} {self.object_label} "
                f"[{status} {self.confidence:.2f}{extra}]")


@dataclass(frozen=True)
class CausalSubgraph:
    """Edges within ``hops`` of the seed concepts, strongest and nearest first."""

    seeds: tuple[str, ...]
    hops: int
    edges: tuple[EvidenceEdge, ...]
    labels: dict[str, str] = field(default_factory=dict)
    """Concept IRI -> preferred label for every node of the subgraph."""
    truncated: bool = False
    statuses: tuple[str, ...] = TRUSTED_STATUSES
    """The claim statuses it was read with."""
    scopes: tuple[str, ...] | None = CHEST_SCOPES
    """The claim scopes it was read with (None: every scope)."""

    @property
    def signature(self) -> tuple[tuple[str, str, str, str], ...]:
        """The edges as (subject, relation, object, polarity), sorted: equal for two cases with the same evidence."""
        return tuple(sorted((e.subject, e.relation, e.object, e.polarity) for e in self.edges))

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
            "statuses": list(self.statuses), "scopes": None if self.scopes is None else list(self.scopes),
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
    """IRIs for finding names (``Effusion``), concept keys or ids, or preferred labels (``COVID-19``);
    unknown names are skipped."""
    from kg.concepts import concept_for_finding

    out = []
    table = default_table()
    for n in names:
        try:
            out.append(concept_for_finding(n).iri)
        except KeyError:
            c = table.resolve(n) if not n.startswith(("http://", "https://")) else None
            if c is not None:
                out.append(c.iri)
            elif n.startswith(("http://", "https://")):
                out.append(n)
    return tuple(dict.fromkeys(out))


def _local(iri: str) -> str:
    for prefix in (str(CONCEPT), _MCRAG):
        if iri.startswith(prefix):
            return iri[len(prefix):].replace("_", " ")
    return iri.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class _Reached:
    """A claim found ``hop`` steps from the seeds, with its own latest validation."""

    record: ClaimRecord
    hop: int
    latest: ValidationRecord | None

    @property
    def confidence(self) -> float:
        return 1.0 if self.record.confidence is None else self.record.confidence

    @property
    def rank(self) -> tuple[int, int, float, int]:
        # strongest status first, then with an effect, then more confident, then nearer
        has_effect = self.latest is not None and self.latest.effect is not None
        return (status_rank(self.record.status), 0 if has_effect else 1, -self.confidence, self.hop)


def causal_subgraph(store: Store, seeds: Iterable[str], *, hops: int = 2,
                    statuses: Sequence[str] | None = None, include_proposed: bool = False,
                    scopes: Sequence[str] | None = CHEST_SCOPES, max_edges: int = 60,
                    max_frontier: int = 64, claim_ids_per_edge: int = 5,
                    sources_per_edge: int = 3, table: ConceptTable | None = None) -> CausalSubgraph:
    """The claims within ``hops`` of the seed concept IRIs, in both directions (causes and effects).

    By default only accepted and validated claims of the chest domain (``scopes``, see
    :func:`claim_scope`; None reads every scope); ``include_proposed`` adds proposed claims, marked
    as not trusted; ``statuses`` replaces the status set outright (a curator's view of refuted or
    rejected claims).

    One read of claims per hop (the frontier's concepts) plus one for latest validations, one for
    labels and one for sources, so the cost grows with the subgraph, not the store. Claims stating the
    same edge are merged into one :class:`EvidenceEdge` led by its strongest claim (the status order of
    ``kg.statuses``; with an effect estimate; more confident), and the edge shows the latest
    validation among its claims (``kg.validations``). At most ``max_edges`` edges are kept (nearest,
    strongest first) and a hop expands at most ``max_frontier`` new concepts, so mined graphs with hub
    concepts stay bounded.
    """
    if hops < 0:
        raise ValueError(f"hops must be >= 0, got {hops}")
    seed_list = tuple(dict.fromkeys(seeds))
    chosen = tuple(statuses) if statuses is not None else (
        TRUSTED_STATUSES + (PROPOSED_STATUSES if include_proposed else ()))
    allowed = set(chosen)
    unknown = unknown_statuses(sorted(allowed))
    if unknown:
        raise ValueError(f"unknown claim status {unknown}; use {', '.join(STATUS_ORDER)}")
    in_scope = None if scopes is None else set(scopes)
    tbl = table or default_table()
    scope_of: dict[str, str] = {}
    reached_claims: dict[str, _Reached] = {}
    seen: set[str] = set(seed_list)
    frontier = list(seed_list)
    truncated = False
    for hop in range(1, hops + 1):
        if not frontier:
            break
        found = []
        for c in claims_touching(store, frontier):
            if c.claim in reached_claims or c.status not in allowed:
                continue
            scope_of[c.claim] = claim_scope(c, tbl)
            if in_scope is None or scope_of[c.claim] in in_scope:
                found.append(c)
        latest = latest_validations(store, [c.claim for c in found])
        reached: dict[str, tuple[int, float]] = {}
        for c in found:
            claim = _Reached(c, hop, latest.get(c.claim))
            reached_claims[c.claim] = claim
            for node in (c.subject, c.object):
                if node not in seen:
                    best = reached.get(node, (9, 0.0))
                    reached[node] = min(best, (status_rank(c.status), -claim.confidence))
        if len(reached) > max_frontier:
            truncated = True
        frontier = [n for n, _ in sorted(reached.items(), key=lambda kv: kv[1])[:max_frontier]]
        seen.update(frontier)

    grouped: dict[tuple[str, str, str, str], list[_Reached]] = {}
    for cl in reached_claims.values():
        grouped.setdefault(cl.record.edge_key, []).append(cl)
    merged = sorted((sorted(g, key=lambda c: c.rank) for g in grouped.values()),
                    key=lambda g: (min(c.hop for c in g), g[0].rank, -len(g)))
    if len(merged) > max_edges:
        truncated = True
        merged = merged[:max_edges]

    nodes = {n for g in merged for n in g[0].record.pair} | set(seed_list)
    labels = concept_labels(store, nodes)
    lead_iris = [c.record.claim for g in merged for c in g[:sources_per_edge]]
    sources = claim_sources(store, lead_iris)

    edges = []
    for i, group in enumerate(merged, start=1):
        lead = group[0].record
        srcs: list[ClaimSource] = []
        for member in group[:sources_per_edge]:
            srcs.extend(sources.get(member.record.claim, ()))
        v = latest_of(m.latest for m in group if m.latest is not None)
        edges.append(EvidenceEdge(
            ref=f"E{i}", claim_id=lead.claim_id, subject=lead.subject,
            subject_label=labels.get(lead.subject, _local(lead.subject)), relation=lead.relation, object=lead.object,
            object_label=labels.get(lead.object, _local(lead.object)), status=lead.status,
            confidence=group[0].confidence, polarity=lead.polarity, effect=v.effect if v else None,
            ci_low=v.ci_low if v else None, ci_high=v.ci_high if v else None,
            validation=v.result if v else None, hop=min(c.hop for c in group),
            claim_ids=tuple(c.record.claim_id for c in group[:claim_ids_per_edge]),
            n_claims=len(group), sources=tuple(dict.fromkeys(srcs))[:sources_per_edge],
            scope=scope_of.get(lead.claim, OUTSIDE_SCOPE),
        ))
    return CausalSubgraph(seed_list, hops, tuple(edges), labels, truncated, chosen,
                          None if scopes is None else tuple(scopes))


__all__ = [
    "CHEST_SCOPES",
    "OUTSIDE_SCOPE",
    "PROPOSED_STATUSES",
    "CausalSubgraph",
    "EvidenceEdge",
    "SeedRule",
    "case_seeds",
    "causal_subgraph",
    "claim_scope",
    "concept_iris_for",
]
