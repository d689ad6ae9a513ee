"""Edges proposed from data: claims with status ``proposed`` in their own named graph, with their provenance.

A data-proposed edge is a :class:`~kg.claims.CausalClaim` like a mined one, so curation, the review
queue and export treat it alike, but its source is a data set rather than a sentence: the span's
document is the imported label sources (identified by their digest) and its sentence says in words
what the data showed. Beside the claim's usual PROV record it carries the method (``mcrag:method``),
its parameters (``mcrag:parameters``, JSON), the sources whose adjusted effect agreed
(``mcrag:estimatedOn``), the pooled effect with its interval, and the effect in each source
(``mcrag:sourceEffect``, as cross-source validation results carry them). Proposals are written in
one transaction; the same proposal from the same data is written once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyoxigraph as ox

from kg.claims import CausalClaim, Concept, SourceSpan, claim_quads, existing_claim_ids
from kg.namespaces import MCRAG, NAMED_GRAPHS, RDF, RDFS, XSD
from kg.store.base import Store
from kg.validations import SourceEffectRecord

PROPOSER = "mcrag graph learn"
PROPOSER_VERSION = "1"


@dataclass(frozen=True)
class ProposedEdge:
    """One data-proposed causal edge with what a curator needs to judge it."""

    cause: Concept
    effect: Concept
    dataset: str
    """The data it was found in, as ``title (sha256:<digest>, ...)``."""
    method: str
    parameters: Mapping[str, str | float | int]
    sources: tuple[str, ...]
    effect_size: float
    ci_low: float
    ci_high: float
    per_source: tuple[SourceEffectRecord, ...] = ()
    direction: str = ""
    confidence: float = 0.5
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def claim(self) -> CausalClaim:
        sentence = (f"{self.cause.label} causes {self.effect.label}: pooled adjusted risk difference "
                    f"{self.effect_size:+.3f} [{self.ci_low:+.3f}, {self.ci_high:+.3f}] in {', '.join(self.sources)}"
                    f"{'; direction by ' + self.direction if self.direction else ''}.")
        digest = self.dataset.split("sha256:", 1)[-1].split(",", 1)[0].split(")", 1)[0]
        span = SourceSpan(f"cxr_labels sha256:{digest}", sentence, 0, len(sentence), "cxr_labels")
        return CausalClaim(self.cause, self.effect, relation="causes", certainty="possible",
                           confidence=self.confidence, status="proposed", span=span, extractor=PROPOSER,
                           extractor_version=PROPOSER_VERSION, generated_at=self.generated_at)


def _dec(v: float) -> ox.Literal:
    return ox.Literal(f"{v:.6f}", datatype=ox.NamedNode(str(XSD.decimal)))


def proposal_quads(p: ProposedEdge, graph: str = NAMED_GRAPHS["proposals"]) -> list[ox.Quad]:
    """The claim's quads and its data provenance."""
    g = ox.NamedNode(graph)
    c = p.claim()
    node = ox.NamedNode(c.iri)
    quads = list(claim_quads(c, graph))

    def add(s: ox.NamedNode, prop: str, o: ox.NamedNode | ox.Literal) -> None:
        quads.append(ox.Quad(s, ox.NamedNode(str(MCRAG[prop])), o, g))

    add(node, "method", ox.Literal(p.method))
    add(node, "parameters", ox.Literal(json.dumps(dict(p.parameters), sort_keys=True)))
    for s in p.sources:
        add(node, "estimatedOn", ox.Literal(s))
    for prop, v in (("effect", p.effect_size), ("ciLow", p.ci_low), ("ciHigh", p.ci_high)):
        if math.isfinite(v):
            add(node, prop, _dec(v))
    if p.direction:
        add(node, "directionBasis", ox.Literal(p.direction))
    for e in p.per_source:
        x = ox.NamedNode(f"{c.iri}/source/{e.source}")
        add(node, "sourceEffect", x)
        quads.append(ox.Quad(x, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(MCRAG.SourceEffect)), g))
        add(x, "source", ox.Literal(e.source))
        for prop, ev in (("effect", e.effect), ("ciLow", e.ci_low), ("ciHigh", e.ci_high)):
            if ev is not None and math.isfinite(ev):
                add(x, prop, _dec(ev))
        for prop, n in (("sampleSize", e.sample_size), ("coOccurrences", e.co_occurrences)):
            if n is not None:
                add(x, prop, ox.Literal(str(n), datatype=ox.NamedNode(str(XSD.integer))))
        if e.adjusted_for is not None:
            add(x, "adjustedFor", ox.Literal(e.adjusted_for))
        if e.note:
            quads.append(ox.Quad(x, ox.NamedNode(str(RDFS.comment)), ox.Literal(e.note), g))
    return quads


@dataclass(frozen=True)
class ProposalWrite:
    submitted: int
    written: int
    claims: tuple[str, ...]


def write_proposals(store: Store, proposals: Iterable[ProposedEdge],
                    graph: str = NAMED_GRAPHS["proposals"]) -> ProposalWrite:
    """Write proposals as claims with status proposed, in one transaction; ones already present are skipped."""
    items: Sequence[ProposedEdge] = list({p.claim().claim_id: p for p in proposals}.values())
    present = existing_claim_ids(store, [p.claim() for p in items]) if items else set()
    fresh = [p for p in items if p.claim().iri not in present]
    if fresh:
        quads = [q for p in fresh for q in proposal_quads(p, graph)]
        store.load(ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b"", "nquads", source_name="<proposals>")
    return ProposalWrite(len(items), len(fresh), tuple(p.claim().iri for p in fresh))


__all__ = ["PROPOSER", "ProposalWrite", "ProposedEdge", "proposal_quads", "write_proposals"]
