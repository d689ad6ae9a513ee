"""Records that travel between the readers, the worker processes and the store writer.

Everything here is a small frozen dataclass of plain values, so partitions pickle cheaply to local
worker processes and to Dask workers alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kg.claims import CausalClaim

DocumentKind = Literal["report", "abstract"]

MAX_DOCUMENT_CHARS = 200_000
"""Documents longer than this are skipped as 'enormous': no report or abstract comes near it."""


@dataclass(frozen=True)
class Mention:
    """An entity mention in a text: a corpus's gold mention (PubTator) or one the recogniser found."""

    start: int
    end: int
    text: str
    kind: str
    """``Chemical``, ``Disease``, ``Gene``, ``Variant``, ``Species`` or ``CellLine``."""
    ids: tuple[str, ...]
    """Normalised ids (MeSH CURIEs such as ``MESH:D003000``, or concept ids); empty when there are none."""


@dataclass(frozen=True)
class Document:
    """One report or abstract. For abstracts ``text`` is the title, one space, then the abstract."""

    doc_id: str
    text: str
    source: str
    kind: DocumentKind
    split: str = ""
    title_end: int = 0
    """Length of the title part of an abstract (0 for reports)."""
    meta: tuple[tuple[str, str], ...] = ()
    mentions: tuple[Mention, ...] = ()
    relations: tuple[tuple[str, str], ...] = ()
    """Gold (chemical id, disease id) pairs when the corpus ships them."""
    sections: tuple[tuple[str, int, int], ...] = ()
    """(section, start, end) of each section body in ``text``, when the reader knows them (Open-i XML):
    ``findings``, ``impression``, ``indication``, ``comparison``."""

    def meta_value(self, key: str, default: str = "") -> str:
        return dict(self.meta).get(key, default)

    def section_at(self, offset: int) -> str | None:
        """The reader's section holding character ``offset``; None when the reader knows no sections."""
        for name, start, end in self.sections:
            if start <= offset <= end:
                return name
        return None if not self.sections else ""


@dataclass(frozen=True)
class Skipped:
    """A document or file the run did not mine, and why (shown in the run's summary)."""

    where: str
    reason: str


@dataclass(frozen=True)
class FindingMention:
    """One mention of a finding or concept in a report, with its ConText status and section."""

    key: str
    """Open-i label name (``Effusion``) or concept key of :mod:`kg.concepts` (``support_device``)."""
    status: Literal["present", "absent", "uncertain"]
    start: int
    end: int
    text: str
    section: str = ""
    historical: bool = False
    term: str = ""
    """The lexicon term that matched (``organ~state`` for an anchored rule, e.g. ``heart~enlarged``)."""
    cues: tuple[str, ...] = ()
    """The ConText cues that modify it, as ``CATEGORY:literal`` (``POSSIBLE_EXISTENCE:versus``)."""


@dataclass(frozen=True)
class ReportFindings:
    """Per-report finding statuses: the row of the report x finding matrix."""

    report_id: str
    split: str
    statuses: tuple[tuple[str, str], ...]
    """(key, present|absent|uncertain) for every key mentioned at least once."""
    meta: tuple[tuple[str, str], ...] = ()
    mentions: tuple[FindingMention, ...] = field(default=(), compare=False)
    labels: tuple[str, ...] = ()
    """The Open-i labels the report carries by Open-i's indexing conventions (see ``kg.mining.reports.openi``)."""

    def status(self, key: str) -> str | None:
        return dict(self.statuses).get(key)


@dataclass(frozen=True)
class DocOutput:
    """What a miner made of one document: its claims and, for reports, its finding statuses."""

    doc_id: str
    claims: tuple[CausalClaim, ...]
    findings: ReportFindings | None = None


def check_text(doc_id: str, text: str, max_chars: int = MAX_DOCUMENT_CHARS) -> str | None:
    """Why a text cannot be mined (empty, enormous, binary), or None when it can."""
    if not text or not text.strip():
        return "empty document"
    if len(text) > max_chars:
        return f"enormous document ({len(text)} characters > {max_chars})"
    if "\x00" in text:
        return "binary content (NUL characters)"
    return None
