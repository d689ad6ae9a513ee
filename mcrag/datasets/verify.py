"""SHA-256 checks: a file is accepted only when its digest and size equal the pinned ones."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


class ChecksumError(ValueError):
    """A file's digest differs from its pin; the file was refused and removed."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def matches(path: Path, sha256: str, size: int) -> bool:
    """True when ``path`` exists with the pinned size and digest (size first: it is free)."""
    try:
        if path.stat().st_size != size:
            return False
    except OSError:
        return False
    return sha256_file(path) == sha256
