"""How commands print: JSON for programs, signed numbers for people."""

from __future__ import annotations

import json
import sys
from typing import Any


def json_default(value: Any) -> Any:
    """JSON for datetimes (ISO 8601), sets and tuples (lists) and anything else (its text)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return list(value)
    return str(value)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=1, default=json_default, ensure_ascii=False) + "\n")


def signed(value: float | None, digits: int = 3) -> str:
    """``+0.123``, or an empty string for no value."""
    return "" if value is None else f"{value:+.{digits}f}"
