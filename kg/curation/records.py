"""What a curator reads: a claim's detail and a review-queue entry, built on the one claim record.

Both wrap :class:`~kg.claims.ClaimRecord` (the claim), :class:`~kg.validations.ValidationRecord`
(its latest verdict) and :class:`~kg.revisions.CurationRecord` (its audit trail) rather than copying
their fields; ``to_json`` gives the flat form the CLI and the HTTP API print.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import pyoxigraph as ox

from kg.claims import ClaimRecord, ClaimSource
from kg.errors import UnknownClaimError
from kg.namespaces import ID
from kg.revisions import CurationRecord
from kg.validations import ValidationRecord

CERTAINTIES: tuple[str, ...] = ("certain", "probable", "possible")
POLARITIES: tuple[str, ...] = ("positive", "negative")
EDITABLE_FIELDS: tuple[str, ...] = ("relation", "certainty", "polarity", "confidence", "mechanism", "status")


def resolve_claim_iri(text: str) -> str:
    """A claim IRI from its full IRI, ``id:claim/<hash>``, ``claim/<hash>`` or the bare hash."""
    text = text.strip().strip("<>")
    if text.startswith(("http://", "https://")):
        try:
            return ox.NamedNode(text).value  # validated: the IRI is later written into SPARQL text
        except ValueError:
            raise UnknownClaimError(f"{text!r} is not a valid IRI") from None
    if text.startswith("id:"):
        return str(ID) + text[3:]
    if text.startswith("claim/"):
        return str(ID) + text
    if re.fullmatch(r"[0-9a-f]{6,64}", text):
        return str(ID[f"claim/{text}"])
    raise UnknownClaimError(f"{text!r} is not a claim id; give its IRI, id:claim/<hash> or the hash")


def _validation_json(v: ValidationRecord) -> dict[str, Any]:
    return {**asdict(v), "time": v.time.isoformat() if v.time else None}


@dataclass(frozen=True)
class ClaimDetail:
    """A claim with everything a curator needs to decide: sentences, sources, validation, history."""

    record: ClaimRecord
    sentences: tuple[str, ...]
    sources: tuple[ClaimSource, ...]
    validations: tuple[ValidationRecord, ...]
    """Newest first (``kg.validations.newest_first``)."""
    history: tuple[CurationRecord, ...] = ()
    scope: str | None = None
    """The claim's ``mcrag:scope`` (cardiopulmonary, chest, general), if set."""
    comments: tuple[Any, ...] = ()
    """Its discussion (``kg.curation.comments.Comment``), oldest first."""

    @property
    def iri(self) -> str:
        return self.record.claim

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def version(self) -> int:
        return self.record.version

    @property
    def latest_validation(self) -> ValidationRecord | None:
        return self.validations[0] if self.validations else None

    def to_json(self) -> dict[str, Any]:
        r = self.record
        return {
            "iri": r.claim, "graph": r.graph, "label": r.label, "subject": r.subject,
            "subject_label": r.subject_label, "relation": r.relation, "object": r.object,
            "object_label": r.object_label, "polarity": r.polarity, "certainty": r.certainty,
            "confidence": r.confidence, "status": r.status, "version": r.version, "mechanism": r.mechanism,
            "mediator": r.mediator, "sentences": list(self.sentences), "sources": [asdict(s) for s in self.sources],
            "validations": [_validation_json(v) for v in self.validations],
            "history": [asdict(h) for h in self.history], "scope": self.scope,
            "comments": [c.to_json() for c in self.comments], "edge_id": self.edge.rsplit("/", 1)[-1],
        }

    @property
    def edge(self) -> str:
        """The IRI of the edge the claim states (``id:edge/<hash>``)."""
        from kg.curation.index import edge_iri
        from kg.namespaces import MCRAG

        return edge_iri(self.record.subject, str(MCRAG[self.record.relation]), self.record.object)


@dataclass(frozen=True)
class ReviewItem:
    """One entry of the review queue: the claim, its latest verdict, and why it matters now."""

    record: ClaimRecord
    validation: ValidationRecord | None
    uncertainty: float
    impact: float
    priority: float
    why: str
    """What makes this item matter: the uncertainty and the impact, in words."""
    sentences: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    """Each source's citation, else its identifier, else its document IRI."""

    @property
    def claim(self) -> str:
        return self.record.claim

    @property
    def version(self) -> int:
        return self.record.version

    @property
    def status(self) -> str:
        return self.record.status

    @property
    def verdict(self) -> str | None:
        return self.validation.verdict if self.validation else None

    @property
    def effect(self) -> float | None:
        return self.validation.effect if self.validation else None

    @property
    def ci_low(self) -> float | None:
        return self.validation.ci_low if self.validation else None

    @property
    def ci_high(self) -> float | None:
        return self.validation.ci_high if self.validation else None

    def to_json(self) -> dict[str, Any]:
        r, v = self.record, self.validation
        return {
            "claim": r.claim, "label": r.label, "subject_label": r.subject_label, "relation": r.relation,
            "object_label": r.object_label, "status": r.status, "version": r.version,
            "verdict": v.verdict if v else None, "effect": v.effect if v else None,
            "ci_low": v.ci_low if v else None, "ci_high": v.ci_high if v else None,
            "uncertainty": self.uncertainty, "impact": self.impact, "priority": self.priority, "why": self.why,
            "sentences": list(self.sentences), "sources": list(self.sources),
            "validation_reason": v.reason if v else None,
        }
