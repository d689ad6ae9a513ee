"""Deterministic repairs applied to a downloaded file before its checksum is checked.

The pinned digest is that of the repaired file, so a repair can only turn the exact upstream bytes
into the exact pinned bytes; anything else is still refused. Repairs keep the length unchanged, so
the pinned size also bounds the download.
"""

from __future__ import annotations

from collections.abc import Callable


def r2gen_test_key(data: bytes) -> bytes:
    """SERPENT-VLM's R2Gen ``annotation.json`` names its test split ``"    "`` (four spaces): name it ``test``."""
    return data.replace(b'], "    ": [{', b'], "test": [{', 1)


REPAIRS: dict[str, Callable[[bytes], bytes]] = {"r2gen_test_key": r2gen_test_key}


def apply(name: str, data: bytes) -> bytes:
    out = REPAIRS[name](data)
    if len(out) != len(data):
        raise ValueError(f"repair {name} changed the length of the file")
    return out
