"""Readings -> claims: concepts through the concept table, relation kinds as predicates, scope, provenance.

* ``causes`` becomes a causal claim (``mcrag:CausalClaim``, a causal edge when positive); ``treats``,
  ``prevents`` and ``associated`` become relation claims (``mcrag:RelationClaim``: predicates
  ``mcrag:treats``, ``mcrag:prevents``, ``mcrag:associatedWith``), which no reader of the causal graph
  takes for a cause.
* Polarity comes from the negation reading; claim strength (``direct`` / ``conditional`` /
  ``correlational``) is stored as it is, and sets the certainty: direct -> certain, correlational ->
  probable, conditional (hedged) -> possible.
* Both ends go through :class:`kg.concepts.ConceptNormaliser`: a table concept for a table id or an id the
  table maps exactly, else one concept per outside id (named by ``names``) or per text key.
* Provenance: document, section (when the reader knows sections), the stating sentence and its offsets.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kg.claims import CausalClaim, Concept, ConceptKind, SourceSpan, concept_iri_for
from kg.concepts import ConceptNormaliser, as_concept
from kg.mining.classifiers.corpora import Mention
from kg.mining.classifiers.normalise import TEXT_PREFIX
from kg.mining.core.documents import Document
from kg.mining.literature.mentions import table_concept
from kg.mining.literature.reading import Reading
from kg.mining.literature.scope import claim_scope
from kg.mining.literature.terms import EXTRA_PREFIX, EXTRA_TERMS, TABLE_PREFIX

EXTRACTOR = "mcrag-literature-miner"
RELATION_OF_KIND = {"causes": "causes", "treats": "treats", "prevents": "prevents", "associated": "associatedWith"}
CERTAINTY_OF_STRENGTH = {"direct": "certain", "correlational": "probable", "conditional": "possible"}
_CONCEPT_KIND: dict[str, ConceptKind] = {"Chemical": "Chemical", "Disease": "Disease", "Exposure": "Exposure",
                                         "Intervention": "Intervention"}


class ClaimBuilder:
    """Turns readings into :class:`~kg.claims.CausalClaim` records (one per reading)."""

    def __init__(self, names: Mapping[str, str] | None = None, *, version: str = "0") -> None:
        self.names = dict(names or {})
        self.normaliser = ConceptNormaliser(names=self.names)
        self.version = version

    def concept(self, m: Mention) -> Concept | None:
        """The concept a mention stands for; None for a qualifier."""
        cid = m.ids[0] if m.ids else ""
        kind = _CONCEPT_KIND.get(m.kind, "MedicalConcept")
        table = table_concept(cid)
        if table is not None:
            return as_concept(table)
        if cid.startswith(EXTRA_PREFIX):
            key = cid[len(EXTRA_PREFIX):]
            label, _, synonyms = EXTRA_TERMS.get(key, (key.replace("_", " "), "", ()))
            return Concept(concept_iri_for(f"term {key}"), label, kind, (), tuple(synonyms))
        if cid.startswith(TEXT_PREFIX) or not cid:
            return self.normaliser.concept(None, cid[len(TEXT_PREFIX):] if cid else m.text, kind)
        if cid.startswith(TABLE_PREFIX):  # a table id the table no longer has
            return self.normaliser.concept(None, m.text, kind)
        return self.normaliser.concept(cid, self.names.get(cid, m.text), kind)

    def claim(self, r: Reading, document: Document, when: datetime) -> CausalClaim | None:
        subject, obj = self.concept(r.subject), self.concept(r.object)
        if subject is None or obj is None or subject.iri == obj.iri:
            return None
        start, end = r.evidence
        span = SourceSpan(document.doc_id, document.text[start:end].strip(), start, end, document.source,
                          section=document.section_at(start) or None)
        relation = RELATION_OF_KIND[r.kind]
        return CausalClaim(subject=subject, object=obj, relation=relation,  # type: ignore[arg-type]
                           polarity="negative" if r.negated else "positive",
                           certainty=CERTAINTY_OF_STRENGTH[r.strength],  # type: ignore[arg-type]
                           confidence=round(min(1.0, max(0.0, r.confidence)), 4), span=span, extractor=EXTRACTOR,
                           extractor_version=self.version, generated_at=when, scope=claim_scope(subject, obj),
                           strength=r.strength, in_causal_graph=relation == "causes")
