"""A compact term matcher for short, hand-written term lists with prefix and one-token wildcards.

spaCy's ``Matcher`` with ``REGEX`` token tests costs a regex per token and pattern; here each token is
looked up once in a dict (exact first tokens) and once in a 3-letter bucket (prefix first tokens), which
keeps the report pipeline near the tokenizer's own speed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

Test = tuple[str, str]
"""(kind, value): ("=", "effusion"), ("^", "atelecta") prefix, ("_", "") any one token."""

_PIECE = re.compile(r"[^\W_]+\*?|_|\*|[^\w\s]")


def compile_term(term: str) -> tuple[Test, ...]:
    """``"costophrenic _ blunting"`` -> ((=, costophrenic), (_, ), (=, blunting)); mirrors spaCy's infix splits."""
    tests: list[Test] = []
    for piece in _PIECE.findall(term.lower()):
        if piece == "_":
            tests.append(("_", ""))
        elif piece.endswith("*") and len(piece) > 1:
            tests.append(("^", piece[:-1]))
        elif piece != "*":
            tests.append(("=", piece))
    return tuple(tests)


@dataclass(frozen=True)
class TermMatch:
    start: int
    end: int
    key: str
    term: str


class TermIndex:
    """Terms per key, indexed by their first token for a single left-to-right pass."""

    def __init__(self, terms: Mapping[str, Iterable[str]]) -> None:
        self.exact: dict[str, list[tuple[tuple[Test, ...], str, str]]] = {}
        self.prefix: dict[str, list[tuple[tuple[Test, ...], str, str]]] = {}
        self.size = 0
        for key, items in terms.items():
            for term in dict.fromkeys(items):
                tests = compile_term(term)
                if not tests or tests[0][0] == "_":
                    continue
                self.size += 1
                kind, value = tests[0]
                entry = (tests, key, term)
                if kind == "=":
                    self.exact.setdefault(value, []).append(entry)
                else:
                    self.prefix.setdefault(value[:3], []).append(entry)

    def match(self, words: Sequence[str], allowed: Callable[[int], bool] | None = None) -> list[TermMatch]:
        """All (possibly overlapping) matches over lower-cased ``words``."""
        out: list[TermMatch] = []
        n = len(words)
        for i, w in enumerate(words):
            cands = self.exact.get(w, [])
            pre = self.prefix.get(w[:3])
            if pre:
                cands = cands + pre
            for tests, key, term in cands:
                end = i + len(tests)
                if end > n:
                    continue
                if all(_ok(t, words[i + j]) for j, t in enumerate(tests)) and (allowed is None or allowed(end)):
                    out.append(TermMatch(i, end, key, term))
        return out


def _ok(test: Test, word: str) -> bool:
    kind, value = test
    if kind == "=":
        return word == value
    if kind == "^":
        return word.startswith(value)
    return True
