"""A claim's status (``mcrag:status``): its six values, their one order of strength, and the named sets.

Every layer asks the same few questions of a status: does it still take part in the causal structure,
may a what-if rest on it, is it waiting for a curator, which claim speaks for an edge that several
claims state. The answers live here so that evidence, curation, validation and the shell agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Status = Literal["proposed", "validated", "refuted", "notTestable", "accepted", "rejected"]

STATUSES: tuple[Status, ...] = ("proposed", "validated", "refuted", "notTestable", "accepted", "rejected")
"""Every status, in the order the ontology and the SHACL shapes list them."""

STATUS_ORDER: tuple[Status, ...] = ("validated", "accepted", "proposed", "notTestable", "refuted", "rejected")
"""Strongest first: which claim speaks for an edge that several claims state.

Data that bore a claim out (validated, with an effect size) come before a curator's acceptance alone,
then the untested, the untestable, and last the claims the data or a curator turned down.
"""

STATUS_RANK: dict[str, int] = {s: i for i, s in enumerate(STATUS_ORDER)}
"""Status -> position in :data:`STATUS_ORDER` (lower is stronger)."""

DEFAULT_STATUS: Status = "proposed"
"""What a claim stored without a status counts as."""

CURATOR_DECISIONS: tuple[Status, ...] = ("accepted", "rejected")
"""A curator's decision: validation attaches its result to such a claim but leaves the status alone."""

TRUSTED_STATUSES: tuple[Status, ...] = ("accepted", "validated")
"""Accepted by a curator or borne out by data: the curated graph, and what a what-if question rests on."""

LIVE_STATUSES: tuple[Status, ...] = ("accepted", "validated", "proposed", "notTestable")
"""Neither rejected by a curator nor refuted by data: the causal structure models are built from, and
the edges that may support an explanation."""

REVIEWABLE_STATUSES: tuple[Status, ...] = ("proposed", "validated", "refuted", "notTestable")
"""Still waiting for a curator's decision: what the review queue shows."""

EVIDENCE_STATUSES: tuple[Status, ...] = ("validated", "accepted", "proposed", "notTestable", "refuted")
"""What an evidence subgraph shows by default: rejected claims are left out, refuted ones stay as
evidence against."""


def status_rank(status: str) -> int:
    """Position of ``status`` in :data:`STATUS_ORDER`; an unknown value ranks after every known one."""
    return STATUS_RANK.get(status, len(STATUS_ORDER))


def strongest_status(statuses: Iterable[str]) -> str:
    """The strongest of several claims' statuses (see :data:`STATUS_ORDER`)."""
    return min(statuses, key=status_rank)


def unknown_statuses(statuses: Iterable[str]) -> list[str]:
    """The values among ``statuses`` that are not statuses, in the order given."""
    return [s for s in statuses if s not in STATUS_RANK]
