"""Helper for registering spaCy factories from modules that postpone annotation evaluation.

spaCy validates a factory's arguments with pydantic from the function's signature; with
``from __future__ import annotations`` those annotations are strings that pydantic cannot resolve.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def resolved(func: F) -> F:
    """Replace string annotations by the types they name (apply below ``@Language.factory``)."""
    func.__annotations__ = typing.get_type_hints(func)
    return func
