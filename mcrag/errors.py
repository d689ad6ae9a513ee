"""Which exceptions are the user's to fix (exit code 2 on the CLI, 4xx over HTTP)."""

from __future__ import annotations

from kg.errors import KGError
from reasoning.model import NotTestable


class UserInputError(ValueError):
    """Bad input named by the message: a file, an option value, a missing model or index."""


USER_ERRORS: tuple[type[BaseException], ...] = (
    KGError, UserInputError, FileNotFoundError, ValueError, NotTestable,
    PermissionError, IsADirectoryError, NotADirectoryError, UnicodeError,
)
