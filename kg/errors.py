"""Errors the knowledge-graph layer raises; each names what was wrong so callers can report it."""

from __future__ import annotations


class KGError(Exception):
    """Base class for every knowledge-graph error that a user can act on."""


class MalformedRDFError(KGError):
    """An RDF document could not be parsed; ``source`` and ``line`` locate the problem."""

    def __init__(self, message: str, source: str | None = None, line: int | None = None) -> None:
        self.source = source
        self.line = line
        where = source or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class MalformedQueryError(KGError):
    """A SPARQL query or update was rejected by the parser."""


class QueryTimeoutError(KGError):
    """A query ran past its time limit and was stopped."""


class ResultTooLargeError(KGError):
    """A query produced more rows than the configured limit."""


class StoreUnavailableError(KGError):
    """The store folder is missing, locked by another process, or the endpoint does not answer."""


class UnsupportedFormatError(KGError):
    """A file format or result format name that MCRAG does not know."""


class ReadOnlyStoreError(KGError):
    """A write was attempted on a store opened read-only."""


class CurationError(KGError):
    """A change to a claim that cannot be carried out as asked; nothing was changed."""


class UnknownClaimError(CurationError):
    """No causal claim with that id exists."""


class StaleVersionError(CurationError):
    """The claim changed since it was read (its ``mcrag:version`` moved on)."""


class CurationConflictError(CurationError):
    """An undo that would overwrite a later change, or nothing left to undo."""


class ShapeViolationError(CurationError):
    """An edit would make the graph violate a SHACL shape (``ontologies/shapes.ttl``); nothing was changed."""

    def __init__(self, message: str, violations: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.violations = violations
