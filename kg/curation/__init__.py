"""Curation: a review queue, accept / reject / edit / undo with an audit trail, and curated-graph export.

* :mod:`kg.curation.records` – what a curator reads (a claim's detail, a queue entry);
* :mod:`kg.curation.queue` – the review queue, a claim's detail and its history;
* :mod:`kg.curation.acts` – accept, reject, edit, undo (of an act or of a whole validation run);
* :mod:`kg.curation.export` – the curated graph as edges, networkx, Turtle, GraphML or DOT.

Every act is a revision of the claim (``kg.revisions``): a ``mcrag:CurationActivity`` in the
``curated`` graph. This package imports only ``kg``: the HTTP service and the CLI call it directly;
drawing the graph is the shell's (``mcrag.render``).
"""

from __future__ import annotations

from kg.curation.acts import RunUndo, accept, edit, reject, undo, undo_run
from kg.curation.export import (
    CuratedEdge,
    ExportFormat,
    check_statuses,
    curated_digraph,
    curated_edges,
    export_curated,
    resolve_concept,
    to_dot,
)
from kg.curation.queue import claim_detail, history, review_queue
from kg.curation.records import (
    CERTAINTIES,
    EDITABLE_FIELDS,
    POLARITIES,
    ClaimDetail,
    ReviewItem,
    resolve_claim_iri,
)
from kg.errors import CurationConflictError, CurationError, StaleVersionError, UnknownClaimError
from kg.revisions import CurationRecord, FieldChange
from kg.statuses import REVIEWABLE_STATUSES

__all__ = [
    "CERTAINTIES",
    "EDITABLE_FIELDS",
    "POLARITIES",
    "REVIEWABLE_STATUSES",
    "ClaimDetail",
    "CuratedEdge",
    "CurationConflictError",
    "CurationError",
    "CurationRecord",
    "ExportFormat",
    "FieldChange",
    "ReviewItem",
    "RunUndo",
    "StaleVersionError",
    "UnknownClaimError",
    "accept",
    "check_statuses",
    "claim_detail",
    "curated_digraph",
    "curated_edges",
    "edit",
    "export_curated",
    "history",
    "reject",
    "resolve_claim_iri",
    "resolve_concept",
    "review_queue",
    "to_dot",
    "undo",
    "undo_run",
]
