"""The curated starter graph: textbook chest-radiology pathophysiology, usable before any mining.

The edges live in ``ontologies/starter_claims.csv`` so a knowledge engineer edits a table, not
Turtle; :func:`starter_claims` turns each row into an accepted :class:`~kg.claims.CausalClaim` that
cites its textbook or review.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime

from kg.claims import CausalClaim, SourceSpan, claims_to_nquads
from kg.concepts import concept_for_finding
from kg.namespaces import NAMED_GRAPHS
from kg.ontology import ontology_path

STARTER_EXTRACTOR = "mcrag-curators"
STARTER_VERSION = "2026.11"
_FIXED_TIME = datetime(2026, 11, 1, tzinfo=UTC)


def starter_claims() -> list[CausalClaim]:
    """Every row of the starter table as an accepted claim with its citation as provenance."""
    claims = []
    with ontology_path("starter_claims.csv").open(encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            subject, obj = concept_for_finding(row["subject"]), concept_for_finding(row["object"])
            sentence = f"{subject.label} {row['relation']} {obj.label}: {row['mechanism']}"
            claims.append(CausalClaim(
                subject=subject, object=obj, relation=row["relation"],  # type: ignore[arg-type]
                certainty=row["certainty"],  # type: ignore[arg-type]
                confidence=1.0, status="accepted", mechanism=row["mechanism"],
                mediator=concept_for_finding(row["mediator"]) if row["mediator"] else None,
                span=SourceSpan(document_id=f"starter_claims.csv#row={i}", sentence=sentence, start=0,
                                end=len(sentence), source="curated", citation=row["citation"]),
                extractor=STARTER_EXTRACTOR, extractor_version=STARTER_VERSION, generated_at=_FIXED_TIME,
            ))
    return claims


def starter_nquads() -> bytes:
    """The starter graph as N-Quads in the ``starter`` named graph."""
    return claims_to_nquads(starter_claims(), NAMED_GRAPHS["starter"])
