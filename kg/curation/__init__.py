"""Curation: a workbench over the claims: search, the edge view, acts (one claim or many), comments, releases.

* :mod:`kg.curation.records` – what a curator reads (a claim's detail, a queue entry);
* :mod:`kg.curation.index` – every claim's reviewable fields in memory, kept in step with the store;
* :mod:`kg.curation.search` – filters, facets and cursor paging over claims and edges;
* :mod:`kg.curation.queue` – the review queue, a claim's detail and its history;
* :mod:`kg.curation.edges` – one edge with its claims, its validation per source and its comments;
* :mod:`kg.curation.acts` – accept, reject, edit (cause, effect, direction, relation, ...), undo, and
  bulk acts over many claims as one transaction, SHACL-checked (:mod:`kg.curation.conformance`);
* :mod:`kg.curation.mappings` – SKOS mappings of concepts to HPO, DOID and MeSH as acts;
* :mod:`kg.curation.comments` – comments on claims and edges as W3C Web Annotations;
* :mod:`kg.curation.versions` – a claim at every version, and the difference of any two;
* :mod:`kg.curation.releases` – the trusted graph frozen under a name, compared and exported;
* :mod:`kg.curation.export` – the curated graph as edges, networkx, Turtle, GraphML or DOT.

Every act is a revision (``kg.revisions``): a ``mcrag:CurationActivity`` in the ``curated`` graph.
This package imports only ``kg``: the HTTP service and the CLI call it directly; drawing the graph is
the shell's (``mcrag.render``).
"""

from __future__ import annotations

from kg.curation.acts import (
    BULK_ACTIONS,
    BulkRecord,
    RunUndo,
    accept,
    bulk,
    edit,
    reject,
    undo,
    undo_bulk,
    undo_run,
)
from kg.curation.comments import Comment, add_comment, comments_on, undo_comment
from kg.curation.edges import EdgeDetail, edge_detail
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
from kg.curation.index import CurationIndex, edge_iri, index_for
from kg.curation.mappings import concept_mappings, map_concept, undo_mapping
from kg.curation.queue import claim_detail, history, review_queue
from kg.curation.records import (
    CERTAINTIES,
    EDITABLE_FIELDS,
    POLARITIES,
    ClaimDetail,
    ReviewItem,
    resolve_claim_iri,
)
from kg.curation.releases import (
    RELEASE_FORMATS,
    ReleaseDiff,
    ReleaseInfo,
    cut_release,
    diff_releases,
    export_release,
    list_releases,
    withdraw_release,
)
from kg.curation.search import ClaimFilter, Page, filter_from, search_claims, search_edges
from kg.curation.versions import claim_versions, compare_versions, readable
from kg.errors import (
    CurationConflictError,
    CurationError,
    ShapeViolationError,
    StaleVersionError,
    UnknownClaimError,
)
from kg.revisions import CurationRecord, FieldChange
from kg.statuses import REVIEWABLE_STATUSES

__all__ = [
    "BULK_ACTIONS",
    "CERTAINTIES",
    "EDITABLE_FIELDS",
    "POLARITIES",
    "RELEASE_FORMATS",
    "REVIEWABLE_STATUSES",
    "BulkRecord",
    "ClaimDetail",
    "ClaimFilter",
    "Comment",
    "CuratedEdge",
    "CurationConflictError",
    "CurationError",
    "CurationIndex",
    "CurationRecord",
    "EdgeDetail",
    "ExportFormat",
    "FieldChange",
    "Page",
    "ReleaseDiff",
    "ReleaseInfo",
    "ReviewItem",
    "RunUndo",
    "ShapeViolationError",
    "StaleVersionError",
    "UnknownClaimError",
    "accept",
    "add_comment",
    "bulk",
    "check_statuses",
    "claim_detail",
    "claim_versions",
    "comments_on",
    "compare_versions",
    "concept_mappings",
    "curated_digraph",
    "curated_edges",
    "cut_release",
    "diff_releases",
    "edge_detail",
    "edge_iri",
    "edit",
    "export_curated",
    "export_release",
    "filter_from",
    "history",
    "index_for",
    "list_releases",
    "map_concept",
    "readable",
    "reject",
    "resolve_claim_iri",
    "resolve_concept",
    "review_queue",
    "search_claims",
    "search_edges",
    "to_dot",
    "undo",
    "undo_bulk",
    "undo_comment",
    "undo_mapping",
    "undo_run",
    "withdraw_release",
]
