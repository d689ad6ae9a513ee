"""Deprecated alias of :mod:`kg.concepts`, kept only while other branches still import it; import ``kg.concepts``."""

from kg.concepts import (  # noqa: F401
    FINDING_CONCEPTS,
    FINDINGS,
    OTHER_CONCEPTS,
    concept_for_finding,
    finding_for_concept_iri,
)
