"""Which remote requests a SPARQL query or update would make (SERVICE, LOAD), read from its tokens.

A server that runs SPARQL for callers must not fetch what a caller names: ``SERVICE <http://...>``
makes the engine call that address and ``LOAD <http://...>`` fetches a document. The text is split
into SPARQL 1.1 tokens (comments, strings, IRIs, prefixed names with their escapes), so a keyword
inside a string, an IRI, a comment or a name never counts and one outside them always does: the
grammar uses the keywords ``SERVICE`` and ``LOAD`` for nothing else. Both are refused unless their
target is on an allow-list, as hardened SPARQL servers do by default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from kg.errors import KGError

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<string>\"\"\"(?:(?:\"|\"\")?(?:[^\"\\]|\\.))*\"\"\"
             | '''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
             | "(?:[^"\\\n\r]|\\.)*"
             | '(?:[^'\\\n\r]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][^\s{}()\[\],;.<>"'=!&|+*/^#\\]*)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<name>(?:[^\W\d][\w.\-\u00B7\u0300-\u036F\u203F\u2040]*)?:(?:[\w.\-:%\u00B7\u0300-\u036F\u203F\u2040]|\\.)*
             | [^\W\d][\w\-\u00B7\u0300-\u036F\u203F\u2040]*)
  | (?P<other>\\.|.)
    """,
    re.VERBOSE | re.DOTALL,
)
REMOTE_KEYWORDS = ("SERVICE", "LOAD")


class RemoteAccessRefusedError(KGError):
    """A query or update asks the server to contact another address (SERVICE or LOAD)."""


class UncheckableQueryError(KGError):
    """The text cannot be split into SPARQL tokens, so what it would fetch cannot be told."""


@dataclass(frozen=True)
class RemoteCall:
    """One SERVICE or LOAD in a query: the keyword and its target as written (IRI, prefixed name, variable)."""

    keyword: str
    target: str
    iri: str | None
    """The absolute IRI the target stands for, when the text tells it (``None`` for a variable)."""


def tokens(text: str) -> list[tuple[str, str]]:
    """``(kind, text)`` for each SPARQL token, whitespace and comments dropped."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # pragma: no cover - the last alternative matches any character
            raise UncheckableQueryError(f"cannot read the query at character {pos}")
        kind = m.lastgroup or "other"
        if kind not in ("ws", "comment"):
            out.append((kind, m.group()))
        pos = m.end()
    return out


def remote_calls(text: str, prefixes: dict[str, str] | None = None) -> list[RemoteCall]:
    """Every SERVICE and LOAD in the text with its target (resolved through PREFIX declarations)."""
    toks = tokens(text)
    known = dict(prefixes or {})
    for i, (kind, value) in enumerate(toks[:-2]):
        if kind == "name" and value.upper() == "PREFIX" and toks[i + 1][0] == "name" and toks[i + 2][0] == "iri":
            known[toks[i + 1][1].rstrip(":")] = toks[i + 2][1][1:-1]
    calls = []
    for i, (kind, value) in enumerate(toks):
        if kind != "name" or value.upper() not in REMOTE_KEYWORDS:
            continue
        j = i + 1
        if j < len(toks) and toks[j][0] == "name" and toks[j][1].upper() == "SILENT":
            j += 1
        target = toks[j][1] if j < len(toks) else ""
        iri: str | None = None
        if j < len(toks) and toks[j][0] == "iri":
            iri = target[1:-1]
        elif j < len(toks) and toks[j][0] == "name" and ":" in target:
            prefix, local = target.split(":", 1)
            if prefix in known:
                iri = known[prefix] + re.sub(r"\\(.)", r"\1", local)
        calls.append(RemoteCall(value.upper(), target, iri))
    return calls


def _allowed(iri: str | None, allow: tuple[str, ...]) -> bool:
    if iri is None or not urlsplit(iri).scheme:
        return False
    return any(iri == a or (a.endswith("/") and iri.startswith(a)) for a in allow)


def check_remote_access(text: str, allow: tuple[str, ...] = (), prefixes: dict[str, str] | None = None) -> None:
    """Refuse SERVICE and LOAD unless the target IRI is allow-listed (exactly, or under an entry ending in /)."""
    for call in remote_calls(text, prefixes):
        if _allowed(call.iri, allow):
            continue
        what = "federated queries (SERVICE)" if call.keyword == "SERVICE" else "LOAD of remote documents"
        raise RemoteAccessRefusedError(
            f"{call.keyword} {call.target or '(no target)'} refused: this server makes no requests on a caller's "
            f"behalf; {what} are off unless the target is listed in MCRAG_REMOTE_ALLOW")
