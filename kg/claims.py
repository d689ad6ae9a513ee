"""Typed records for concepts and causal claims, and their provenance-carrying RDF form.

Every claim becomes a reified ``mcrag:CausalClaim`` (rdf:subject / rdf:predicate / rdf:object) with
PROV-O provenance: ``prov:wasDerivedFrom`` a W3C Web Annotation text span (document, sentence,
character offsets) and ``prov:wasGeneratedBy`` an extraction activity associated with a versioned
software agent at a time. A positive claim also materialises its direct edge (``?s mcrag:causes ?o``)
so that path queries stay short. Claim IRIs are content hashes, so writing the same claim twice is a
no-op.

A relation read from a source that is not part of the causal graph (a treatment, a prevention or an
association stated in a text) is written the same way but typed ``mcrag:RelationClaim`` and with no
direct edge, so no reader of causal claims takes it for a cause (``in_causal_graph=False``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import pyoxigraph as ox

from kg.namespaces import CONCEPT, DCTERMS, ID, MCRAG, OA, PROV, RDF, RDFS, SKOS, XSD
from kg.statuses import STATUSES, Status
from kg.store.base import Store

RelationKind = Literal["causes", "predisposesTo", "manifestsAs", "mediates", "prevents", "treats", "associatedWith"]
ConceptKind = Literal["Disease", "ImagingFinding", "AnatomicalSite", "PathophysiologicalProcess", "Exposure",
                      "Intervention", "Chemical", "MedicalConcept"]
Polarity = Literal["positive", "negative"]
Certainty = Literal["certain", "probable", "possible"]

RELATION_KINDS: tuple[str, ...] = ("causes", "predisposesTo", "manifestsAs", "mediates", "prevents")
"""The causal relation kinds (sub-properties of ``mcrag:causalRelation``)."""
STATED_ONLY_KINDS: tuple[str, ...] = ("treats", "associatedWith")
"""Relation kinds a source can state that are never causal edges: a claim of one is a ``mcrag:RelationClaim``."""
CLAIM_STRENGTHS: tuple[str, ...] = ("direct", "conditional", "correlational")
"""How strongly a sentence states its claim (Yu et al. 2019): as fact, hedged, or as a correlation."""

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
    scope: str | None = None
    """The domain the claim belongs to (``chest``, ``cardiopulmonary`` or ``general``), so that grounding
    can read one domain only; None when the extractor does not say."""
    strength: str | None = None
    """Claim strength of the stating sentence (:data:`CLAIM_STRENGTHS`); None when the extractor does not say."""
    in_causal_graph: bool = True
    """False for a relation stated in a source that is not a causal edge (a treatment, prevention or
    association read from text): written as ``mcrag:RelationClaim`` without a direct edge."""

    def __post_init__(self) -> None:
        if self.relation not in RELATION_KINDS + STATED_ONLY_KINDS:
            raise ValueError(f"unknown relation kind {self.relation!r}; use one of {RELATION_KINDS + STATED_ONLY_KINDS}")
        if self.relation in STATED_ONLY_KINDS and self.in_causal_graph:
            raise ValueError(f"{self.relation!r} is never a causal edge: give in_causal_graph=False")
        if self.strength is not None and self.strength not in CLAIM_STRENGTHS:
            raise ValueError(f"unknown claim strength {self.strength!r}; use one of {CLAIM_STRENGTHS}")
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


@dataclass(frozen=True)
class ClaimRecord:
    """A causal claim as the store holds it: what every reader of claims returns (``kg.claim_reader``).

    :class:`CausalClaim` is a claim about to be written, identified by the hash of what was read where;
    a stored claim keeps its IRI while curators edit its fields, so it is read back as this record.
    """

    claim: str
    """The claim's IRI (``id:claim/<hash>``)."""
    graph: str
    """The named graph that holds it."""
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
    """The mechanism concept the claim names (``mcrag:mediator``), if any."""
    certainty: str | None = None
    confidence: float | None = None
    mechanism: str | None = None
    label: str = ""
    scope: str | None = None
    """``mcrag:scope`` as stored (``chest``, ``cardiopulmonary`` or ``general``); None when the claim states none."""

    @property
    def iri(self) -> str:
        return self.claim

    @property
    def claim_id(self) -> str:
        """The hash after ``id:claim/`` (the short id the CLI and the HTTP API take); other IRIs whole."""
        prefix = str(ID["claim/"])
        return self.claim[len(prefix):] if self.claim.startswith(prefix) else self.claim

    @property
    def pair(self) -> tuple[str, str]:
        return (self.subject, self.object)

    @property
    def edge_key(self) -> tuple[str, str, str, str]:
        """(cause, relation, effect, polarity): claims with the same key state the same edge."""
        return (self.subject, self.relation, self.object, self.polarity)


@dataclass(frozen=True)
class ClaimSource:
    """A document a stored claim was read from, with its citation and the quoted sentence."""

    document: str
    identifier: str | None = None
    collection: str | None = None
    """Corpus or collection (``dcterms:source``), e.g. ``bc5cdr``, ``iu_xray``."""
    citation: str | None = None
    sentence: str | None = None
    section: str | None = None

    def to_json(self) -> dict[str, str]:
        """The fields an evidence subgraph carries (the section stays with the claim's detail)."""
        return {k: v for k, v in {
            "document": self.document, "identifier": self.identifier, "citation": self.citation,
            "collection": self.collection, "sentence": self.sentence,
        }.items() if v is not None}


def _nn(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _lit(value: str | int | float | bool, dtype: str | None = None, lang: str | None = None) -> ox.Literal:
    if lang:
        return ox.Literal(str(value), language=lang)
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=_nn(XSD.boolean))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=_nn(XSD.integer))
    if isinstance(value, float):
        return ox.Literal(f"{value:.6f}", datatype=_nn(XSD[dtype or "decimal"]))
    return ox.Literal(str(value), datatype=_nn(dtype) if dtype else None)


def concept_quads(concept: Concept, graph: ox.NamedNode) -> Iterator[ox.Quad]:
    """The concept's type, label, synonyms and SKOS exact matches."""
    c = _nn(concept.iri)
    yield ox.Quad(c, _nn(RDF.type), _nn(str(MCRAG[concept.kind])), graph)
    yield ox.Quad(c, _nn(SKOS.prefLabel), _lit(concept.label, lang="en"), graph)
    yield ox.Quad(c, _nn(RDFS.label), _lit(concept.label, lang="en"), graph)
    for syn in concept.synonyms:
        yield ox.Quad(c, _nn(SKOS.altLabel), _lit(syn, lang="en"), graph)
    for curie in concept.mappings:
        if curie.split(":", 1)[0].upper() in EXTERNAL_PREFIXES:
            yield ox.Quad(c, _nn(SKOS.exactMatch), _nn(external_iri(curie)), graph)
        yield ox.Quad(c, _nn(SKOS.notation), _lit(curie), graph)


def claim_quads(claim: CausalClaim, graph: str) -> Iterator[ox.Quad]:
    """All quads of one claim: the reified statement, its direct edge, span, activity and agent."""
    g = _nn(graph)
    c = _nn(claim.iri)
    rel = _nn(str(MCRAG[claim.relation]))
    yield from concept_quads(claim.subject, g)
    yield from concept_quads(claim.object, g)
    yield ox.Quad(c, _nn(RDF.type), _nn(str(MCRAG.CausalClaim if claim.in_causal_graph else MCRAG.RelationClaim)), g)
    yield ox.Quad(c, _nn(RDF.subject), _nn(claim.subject.iri), g)
    yield ox.Quad(c, _nn(RDF.predicate), rel, g)
    yield ox.Quad(c, _nn(RDF.object), _nn(claim.object.iri), g)
    yield ox.Quad(c, _nn(str(MCRAG.polarity)), _lit(claim.polarity), g)
    yield ox.Quad(c, _nn(str(MCRAG.certainty)), _nn(str(MCRAG[claim.certainty])), g)
    yield ox.Quad(c, _nn(str(MCRAG.confidence)), _lit(float(claim.confidence)), g)
    yield ox.Quad(c, _nn(str(MCRAG.status)), _nn(str(MCRAG[claim.status])), g)
    yield ox.Quad(c, _nn(str(MCRAG.version)), _lit(1), g)
    yield ox.Quad(c, _nn(RDFS.label),
                  _lit(f"{claim.subject.label} {claim.relation} {claim.object.label}"
                       + (" (negated)" if claim.polarity == "negative" else ""), lang="en"), g)
    if claim.polarity == "positive" and claim.in_causal_graph:
        yield ox.Quad(_nn(claim.subject.iri), rel, _nn(claim.object.iri), g)
    if claim.strength:
        yield ox.Quad(c, _nn(str(MCRAG.claimStrength)), _lit(claim.strength), g)
    if claim.mechanism:
        yield ox.Quad(c, _nn(str(MCRAG.mechanism)), _lit(claim.mechanism), g)
    if claim.scope:
        yield ox.Quad(c, _nn(str(MCRAG.scope)), _lit(claim.scope), g)
    if claim.mediator:
        yield from concept_quads(claim.mediator, g)
        yield ox.Quad(c, _nn(str(MCRAG.mediator)), _nn(claim.mediator.iri), g)
    # provenance: generated by an extraction activity, associated with a versioned agent
    agent = _nn(str(ID[f"agent/{slug(claim.extractor)}/{slug(claim.extractor_version)}"]))
    activity = _nn(str(ID[f"activity/extract/{claim.claim_id}"]))
    yield ox.Quad(c, _nn(PROV.wasGeneratedBy), activity, g)
    yield ox.Quad(activity, _nn(RDF.type), _nn(str(MCRAG.ExtractionActivity)), g)
    yield ox.Quad(activity, _nn(PROV.wasAssociatedWith), agent, g)
    yield ox.Quad(activity, _nn(PROV.endedAtTime), _lit(claim.generated_at.isoformat(), XSD.dateTime), g)
    yield ox.Quad(agent, _nn(RDF.type), _nn(str(MCRAG.Extractor)), g)
    yield ox.Quad(agent, _nn(RDFS.label), _lit(claim.extractor), g)
    yield ox.Quad(agent, _nn(DCTERMS.hasVersion), _lit(claim.extractor_version), g)
    if claim.span is not None:
        yield from _span_quads(claim, c, activity, g)


def _span_quads(claim: CausalClaim, c: ox.NamedNode, activity: ox.NamedNode, g: ox.NamedNode) -> Iterator[ox.Quad]:
    span = claim.span
    assert span is not None
    doc = _nn(span.document_iri)
    s = _nn(str(ID[f"span/{claim.claim_id}"]))
    pos = _nn(str(ID[f"span/{claim.claim_id}/position"]))
    quote = _nn(str(ID[f"span/{claim.claim_id}/quote"]))
    yield ox.Quad(c, _nn(PROV.wasDerivedFrom), s, g)
    yield ox.Quad(c, _nn(str(MCRAG.sentence)), _lit(span.sentence), g)
    yield ox.Quad(activity, _nn(PROV.used), doc, g)
    yield ox.Quad(s, _nn(RDF.type), _nn(str(MCRAG.TextSpan)), g)
    yield ox.Quad(s, _nn(str(OA.hasSource)), doc, g)
    yield ox.Quad(s, _nn(str(OA.hasSelector)), pos, g)
    yield ox.Quad(s, _nn(str(OA.hasSelector)), quote, g)
    yield ox.Quad(pos, _nn(RDF.type), _nn(str(OA.TextPositionSelector)), g)
    yield ox.Quad(pos, _nn(str(OA.start)), _lit(int(span.start)), g)
    yield ox.Quad(pos, _nn(str(OA.end)), _lit(int(span.end)), g)
    yield ox.Quad(quote, _nn(RDF.type), _nn(str(OA.TextQuoteSelector)), g)
    yield ox.Quad(quote, _nn(str(OA.exact)), _lit(span.sentence), g)
    if span.section:
        yield ox.Quad(s, _nn(str(MCRAG.section)), _lit(span.section), g)
    yield ox.Quad(doc, _nn(RDF.type), _nn(str(MCRAG.SourceDocument)), g)
    yield ox.Quad(doc, _nn(DCTERMS.identifier), _lit(span.document_id), g)
    yield ox.Quad(doc, _nn(DCTERMS.source), _lit(span.source), g)
    if span.citation:
        yield ox.Quad(doc, _nn(DCTERMS.bibliographicCitation), _lit(span.citation), g)


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
        res = store.query(f"SELECT ?c WHERE {{ VALUES ?c {{ {chunk} }} "
                          "VALUES ?t { mcrag:CausalClaim mcrag:RelationClaim } ?c a ?t }")
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
