"""Typed records for concepts and causal claims, and their provenance-carrying RDF form.

Every claim becomes a reified ``mcrag:CausalClaim`` (rdf:subject / rdf:predicate / rdf:object) with
PROV-O provenance: ``prov:wasDerivedFrom`` a W3C Web Annotation text span (document, sentence,
character offsets) and ``prov:wasGeneratedBy`` an extraction activity associated with a versioned
software agent at a time. A positive claim also materialises its direct edge (``?s mcrag:causes ?o``)
so that path queries stay short. Claim IRIs are content hashes, so writing the same claim twice is a
no-op.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import pyoxigraph as ox

from kg.namespaces import CONCEPT, ID, MCRAG, OA
from kg.store.base import Store

RelationKind = Literal["causes", "predisposesTo", "manifestsAs", "mediates", "prevents"]
ConceptKind = Literal["Disease", "ImagingFinding", "AnatomicalSite", "PathophysiologicalProcess", "Exposure",
                      "Intervention", "Chemical", "MedicalConcept"]
Polarity = Literal["positive", "negative"]
Certainty = Literal["certain", "probable", "possible"]
Status = Literal["proposed", "validated", "refuted", "notTestable", "accepted", "rejected"]

RELATION_KINDS: tuple[str, ...] = ("causes", "predisposesTo", "manifestsAs", "mediates", "prevents")
STATUSES: tuple[str, ...] = ("proposed", "validated", "refuted", "notTestable", "accepted", "rejected")

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_PROV = "http://www.w3.org/ns/prov#"
_DCT = "http://purl.org/dc/terms/"
_XSD = "http://www.w3.org/2001/XMLSchema#"

EXTERNAL_PREFIXES = {
    "MESH": "http://id.nlm.nih.gov/mesh/",
    "HP": "http://purl.obolibrary.org/obo/HP_",
    "DOID": "http://purl.obolibrary.org/obo/DOID_",
    "UMLS": "https://uts.nlm.nih.gov/uts/umls/concept/",
    "CHEXPERT": "https://w3id.org/mcrag/chexpert/",
}


def slug(text: str) -> str:
    """A stable, IRI-safe local name for a label or an id (``Pleural effusion`` -> ``pleural_effusion``)."""
    s = re.sub(r"[^0-9A-Za-z]+", "_", text.strip().lower()).strip("_")
    return s or "unnamed"


def external_iri(curie: str) -> str:
    """Expand ``MESH:D006333`` / ``HP:0002202`` / ``DOID:6000`` / ``UMLS:C0018801`` to an IRI."""
    prefix, _, local = curie.partition(":")
    base = EXTERNAL_PREFIXES.get(prefix.upper())
    if base is None or not local:
        raise ValueError(f"unknown external id {curie!r}; expected one of {', '.join(EXTERNAL_PREFIXES)}:<id>")
    return base + local


def concept_iri_for(curie_or_label: str) -> str:
    """MCRAG concept IRI for an external id (``MESH:D006333`` -> ``concept:mesh_d006333``) or a label."""
    return str(CONCEPT[slug(curie_or_label)])


@dataclass(frozen=True)
class Concept:
    """A medical concept: MCRAG IRI, preferred label, class and SKOS mappings to external ids."""

    iri: str
    label: str
    kind: ConceptKind = "MedicalConcept"
    mappings: tuple[str, ...] = ()
    """External ids as CURIEs (``MESH:D006333``, ``HP:0002202``)."""
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceSpan:
    """Where a claim was read: document, the sentence text and its character offsets in the document."""

    document_id: str
    sentence: str
    start: int
    end: int
    source: str = "unknown"
    """Corpus or collection, e.g. ``bc5cdr``, ``iu_xray``."""
    section: str | None = None
    citation: str | None = None
    """Bibliographic citation for textbooks and reviews."""

    @property
    def document_iri(self) -> str:
        return str(ID[f"doc/{slug(self.source)}/{slug(self.document_id)}"])


@dataclass(frozen=True)
class CausalClaim:
    """cause --relation--> effect, as stated by one source span, with the extractor that read it."""

    subject: Concept
    object: Concept
    relation: RelationKind = "causes"
    polarity: Polarity = "positive"
    certainty: Certainty = "certain"
    confidence: float = 1.0
    status: Status = "proposed"
    span: SourceSpan | None = None
    mechanism: str | None = None
    mediator: Concept | None = None
    extractor: str = "manual"
    extractor_version: str = "0"
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if self.relation not in RELATION_KINDS:
            raise ValueError(f"unknown relation kind {self.relation!r}; use one of {RELATION_KINDS}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}; use one of {STATUSES}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {self.confidence}")
        if self.subject.iri == self.object.iri:
            raise ValueError(f"a claim cannot link {self.subject.label!r} to itself")

    @property
    def claim_id(self) -> str:
        """Content hash of what was claimed, where and by which extractor: the idempotency key."""
        key = "|".join([
            self.subject.iri, self.relation, self.object.iri, self.polarity,
            self.span.document_iri if self.span else "", str(self.span.start if self.span else ""),
            str(self.span.end if self.span else ""), self.extractor,
        ])
        return hashlib.sha1(key.encode("utf-8")).hexdigest()[:20]

    @property
    def iri(self) -> str:
        return str(ID[f"claim/{self.claim_id}"])


def _nn(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _lit(value: str | int | float | bool, dtype: str | None = None, lang: str | None = None) -> ox.Literal:
    if lang:
        return ox.Literal(str(value), language=lang)
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=_nn(_XSD + "boolean"))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=_nn(_XSD + "integer"))
    if isinstance(value, float):
        return ox.Literal(f"{value:.6f}", datatype=_nn(_XSD + (dtype or "decimal")))
    return ox.Literal(str(value), datatype=_nn(dtype) if dtype else None)


def concept_quads(concept: Concept, graph: ox.NamedNode) -> Iterator[ox.Quad]:
    """The concept's type, label, synonyms and SKOS exact matches."""
    c = _nn(concept.iri)
    yield ox.Quad(c, _nn(_RDF + "type"), _nn(str(MCRAG[concept.kind])), graph)
    yield ox.Quad(c, _nn(_SKOS + "prefLabel"), _lit(concept.label, lang="en"), graph)
    yield ox.Quad(c, _nn(_RDFS + "label"), _lit(concept.label, lang="en"), graph)
    for syn in concept.synonyms:
        yield ox.Quad(c, _nn(_SKOS + "altLabel"), _lit(syn, lang="en"), graph)
    for curie in concept.mappings:
        if curie.split(":", 1)[0].upper() in EXTERNAL_PREFIXES:
            yield ox.Quad(c, _nn(_SKOS + "exactMatch"), _nn(external_iri(curie)), graph)
        yield ox.Quad(c, _nn(_SKOS + "notation"), _lit(curie), graph)


def claim_quads(claim: CausalClaim, graph: str) -> Iterator[ox.Quad]:
    """All quads of one claim: the reified statement, its direct edge, span, activity and agent."""
    g = _nn(graph)
    c = _nn(claim.iri)
    rel = _nn(str(MCRAG[claim.relation]))
    yield from concept_quads(claim.subject, g)
    yield from concept_quads(claim.object, g)
    yield ox.Quad(c, _nn(_RDF + "type"), _nn(str(MCRAG.CausalClaim)), g)
    yield ox.Quad(c, _nn(_RDF + "subject"), _nn(claim.subject.iri), g)
    yield ox.Quad(c, _nn(_RDF + "predicate"), rel, g)
    yield ox.Quad(c, _nn(_RDF + "object"), _nn(claim.object.iri), g)
    yield ox.Quad(c, _nn(str(MCRAG.polarity)), _lit(claim.polarity), g)
    yield ox.Quad(c, _nn(str(MCRAG.certainty)), _nn(str(MCRAG[claim.certainty])), g)
    yield ox.Quad(c, _nn(str(MCRAG.confidence)), _lit(float(claim.confidence)), g)
    yield ox.Quad(c, _nn(str(MCRAG.status)), _nn(str(MCRAG[claim.status])), g)
    yield ox.Quad(c, _nn(str(MCRAG.version)), _lit(1), g)
    yield ox.Quad(c, _nn(_RDFS + "label"),
                  _lit(f"{claim.subject.label} {claim.relation} {claim.object.label}"
                       + (" (negated)" if claim.polarity == "negative" else ""), lang="en"), g)
    if claim.polarity == "positive":
        yield ox.Quad(_nn(claim.subject.iri), rel, _nn(claim.object.iri), g)
    if claim.mechanism:
        yield ox.Quad(c, _nn(str(MCRAG.mechanism)), _lit(claim.mechanism), g)
    if claim.mediator:
        yield from concept_quads(claim.mediator, g)
        yield ox.Quad(c, _nn(str(MCRAG.mediator)), _nn(claim.mediator.iri), g)
    # provenance: generated by an extraction activity, associated with a versioned agent
    agent = _nn(str(ID[f"agent/{slug(claim.extractor)}/{slug(claim.extractor_version)}"]))
    activity = _nn(str(ID[f"activity/extract/{claim.claim_id}"]))
    yield ox.Quad(c, _nn(_PROV + "wasGeneratedBy"), activity, g)
    yield ox.Quad(activity, _nn(_RDF + "type"), _nn(str(MCRAG.ExtractionActivity)), g)
    yield ox.Quad(activity, _nn(_PROV + "wasAssociatedWith"), agent, g)
    yield ox.Quad(activity, _nn(_PROV + "endedAtTime"), _lit(claim.generated_at.isoformat(), _XSD + "dateTime"), g)
    yield ox.Quad(agent, _nn(_RDF + "type"), _nn(str(MCRAG.Extractor)), g)
    yield ox.Quad(agent, _nn(_RDFS + "label"), _lit(claim.extractor), g)
    yield ox.Quad(agent, _nn(_DCT + "hasVersion"), _lit(claim.extractor_version), g)
    if claim.span is not None:
        yield from _span_quads(claim, c, activity, g)


def _span_quads(claim: CausalClaim, c: ox.NamedNode, activity: ox.NamedNode, g: ox.NamedNode) -> Iterator[ox.Quad]:
    span = claim.span
    assert span is not None
    doc = _nn(span.document_iri)
    s = _nn(str(ID[f"span/{claim.claim_id}"]))
    pos = _nn(str(ID[f"span/{claim.claim_id}/position"]))
    quote = _nn(str(ID[f"span/{claim.claim_id}/quote"]))
    yield ox.Quad(c, _nn(_PROV + "wasDerivedFrom"), s, g)
    yield ox.Quad(c, _nn(str(MCRAG.sentence)), _lit(span.sentence), g)
    yield ox.Quad(activity, _nn(_PROV + "used"), doc, g)
    yield ox.Quad(s, _nn(_RDF + "type"), _nn(str(MCRAG.TextSpan)), g)
    yield ox.Quad(s, _nn(str(OA.hasSource)), doc, g)
    yield ox.Quad(s, _nn(str(OA.hasSelector)), pos, g)
    yield ox.Quad(s, _nn(str(OA.hasSelector)), quote, g)
    yield ox.Quad(pos, _nn(_RDF + "type"), _nn(str(OA.TextPositionSelector)), g)
    yield ox.Quad(pos, _nn(str(OA.start)), _lit(int(span.start)), g)
    yield ox.Quad(pos, _nn(str(OA.end)), _lit(int(span.end)), g)
    yield ox.Quad(quote, _nn(_RDF + "type"), _nn(str(OA.TextQuoteSelector)), g)
    yield ox.Quad(quote, _nn(str(OA.exact)), _lit(span.sentence), g)
    if span.section:
        yield ox.Quad(s, _nn(str(MCRAG.section)), _lit(span.section), g)
    yield ox.Quad(doc, _nn(_RDF + "type"), _nn(str(MCRAG.SourceDocument)), g)
    yield ox.Quad(doc, _nn(_DCT + "identifier"), _lit(span.document_id), g)
    yield ox.Quad(doc, _nn(_DCT + "source"), _lit(span.source), g)
    if span.citation:
        yield ox.Quad(doc, _nn(_DCT + "bibliographicCitation"), _lit(span.citation), g)


def claims_to_nquads(claims: Iterable[CausalClaim], graph: str) -> bytes:
    """Serialise claims to N-Quads with Oxigraph's serializer (correct escaping, no Python string games)."""
    quads = [q for claim in claims for q in claim_quads(claim, graph)]
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS) or b""


def existing_claim_ids(store: Store, claims: Iterable[CausalClaim]) -> set[str]:
    """Which of these claims the store already holds (checked in batches of 500)."""
    iris = sorted({c.iri for c in claims})
    found: set[str] = set()
    for i in range(0, len(iris), 500):
        chunk = " ".join(f"<{x}>" for x in iris[i:i + 500])
        res = store.query(f"SELECT ?c WHERE {{ VALUES ?c {{ {chunk} }} ?c a mcrag:CausalClaim }}")
        found.update(v for v in res.column("c") if v)
    return found


@dataclass(frozen=True)
class WriteReport:
    """What a claim write did."""

    submitted: int
    written: int
    skipped_existing: int
    quads_added: int


def write_claims(store: Store, claims: Iterable[CausalClaim], graph: str) -> WriteReport:
    """Write claims into a named graph as one transaction; claims already present are skipped."""
    batch = list({c.claim_id: c for c in claims}.values())
    present = existing_claim_ids(store, batch) if batch else set()
    fresh = [c for c in batch if c.iri not in present]
    added = 0
    if fresh:
        report = store.load(claims_to_nquads(fresh, graph), "nquads", source_name="<claims>")
        added = report.added
    return WriteReport(len(batch), len(fresh), len(batch) - len(fresh), added)
