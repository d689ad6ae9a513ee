"""A small OBO 1.2/1.4 reader: term ids, names, synonyms, cross-references and is_a parents.

Enough for building entity dictionaries from HPO and the Disease Ontology without an extra package.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_SYNONYM = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(EXACT|RELATED|BROAD|NARROW)?')


@dataclass(frozen=True)
class OboTerm:
    """One ``[Term]`` stanza."""

    id: str
    name: str
    synonyms: tuple[tuple[str, str], ...]
    """(text, scope) with scope EXACT, RELATED, BROAD or NARROW."""
    xrefs: tuple[str, ...]
    parents: tuple[str, ...]
    obsolete: bool = False

    def xrefs_with(self, *prefixes: str) -> list[str]:
        """Cross-references whose prefix is one of ``prefixes`` (``MSH``, ``UMLS_CUI``), as written."""
        return [x for x in self.xrefs if x.split(":", 1)[0] in prefixes]


def read_obo(path: Path | str) -> Iterator[OboTerm]:
    """Terms of an OBO file in file order (obsolete ones included, flagged)."""
    stanza: dict[str, list[str]] | None = None
    with open(path, encoding="utf-8") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if line.startswith("["):
                if stanza is not None:
                    term = _term(stanza)
                    if term:
                        yield term
                stanza = {} if line.strip() == "[Term]" else None
                continue
            if stanza is None or ":" not in line:
                continue
            key, _, value = line.partition(":")
            stanza.setdefault(key.strip(), []).append(value.strip())
    if stanza is not None:
        term = _term(stanza)
        if term:
            yield term


def _term(st: dict[str, list[str]]) -> OboTerm | None:
    if "id" not in st:
        return None
    syns = []
    for s in st.get("synonym", []):
        m = _SYNONYM.match(s)
        if m:
            syns.append((m.group(1).replace('\\"', '"'), m.group(2) or "RELATED"))
    xrefs = tuple(x.split(" ", 1)[0] for x in st.get("xref", []))
    parents = tuple(p.split(" ", 1)[0] for p in st.get("is_a", []))
    return OboTerm(st["id"][0], (st.get("name") or [""])[0], tuple(syns), xrefs, parents,
                   (st.get("is_obsolete") or ["false"])[0] == "true")
