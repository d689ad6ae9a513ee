"""Errors the VLM layer raises for things a user fixes; each message says what to run or change."""

from __future__ import annotations


class ModelMissingError(FileNotFoundError):
    """No model checkpoint where one was expected."""


class IndexMissingError(FileNotFoundError):
    """No exemplar index where one was expected."""


class InputError(ValueError):
    """A bad task, retrieval mode, question or finding vector."""
