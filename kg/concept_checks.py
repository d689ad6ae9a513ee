"""Checks of the concept table: SKOS and table integrity without data, and every HP / DOID id against the OBO files.

:func:`integrity_problems` says what breaks the SKOS rules (one prefLabel per language, no prefLabel
shared by two concepts, no concept that is only a qualifier); :func:`obo_problems` checks every HPO
and DOID id of the table against an OBO release; :func:`qualifier_ids` lists HPO's modifier terms.
The same SKOS rules run on a store as ``mcrag kg check`` (``kg.check``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from kg.concepts import (
    CURIE_PATTERNS,
    KINDS,
    QUALIFIER_ROOTS,
    QUALIFIER_TERMS,
    SCOPES,
    UMLS_PATTERN,
    ChestConcept,
    ConceptTable,
    ConceptTableError,
    normalise_label,
)


def integrity_problems(table: ConceptTable) -> list[str]:
    """SKOS and table rules the concepts break; empty when the table is sound.

    One prefLabel per language and no prefLabel shared by two concepts; no label that is only a
    qualifier; an altLabel is never another concept's prefLabel; ids well formed and unique per
    exactMatch; tiers, kinds and scopes known; ``broader`` points at existing concepts without cycles.
    """
    out: list[str] = []
    seen_pref: dict[tuple[str, str], str] = {}
    for c in table:
        for lang, lab in c.pref_labels.items():
            key = (lang, normalise_label(lab))
            if key in seen_pref:
                out.append(f"{c.id}: prefLabel@{lang} {lab!r} is also the prefLabel of {seen_pref[key]}")
            seen_pref[key] = c.id
            if normalise_label(lab) in QUALIFIER_TERMS:
                out.append(f"{c.id}: prefLabel {lab!r} is only a qualifier, not a concept")
        for lab in c.alt_labels:
            if normalise_label(lab) in QUALIFIER_TERMS:
                out.append(f"{c.id}: altLabel {lab!r} is only a qualifier")
        if c.kind not in KINDS:
            out.append(f"{c.id}: unknown kind {c.kind!r}")
        if c.scope not in SCOPES:
            out.append(f"{c.id}: unknown scope {c.scope!r}")
        if c.umls and not UMLS_PATTERN.match(c.umls):
            out.append(f"{c.id}: malformed UMLS CUI {c.umls!r}")
        for m in c.matches:
            pat = CURIE_PATTERNS.get(m.prefix)
            if pat is None or not pat.match(m.curie):
                out.append(f"{c.id}: malformed or unknown external id {m.curie!r} ({m.relation})")
        curies = [m.curie for m in c.matches]
        for dup in sorted({x for x in curies if curies.count(x) > 1}):
            out.append(f"{c.id}: {dup} is mapped with more than one SKOS relation")
        for b in c.broader:
            if b not in table:
                out.append(f"{c.id}: broader concept {b!r} is not in the table")
            elif b == c.id or c.id in table.ancestors(b):
                out.append(f"{c.id}: broader chain through {b!r} is a cycle")
    for c in table:
        for lab in c.alt_labels:
            owner = seen_pref.get(("en", normalise_label(lab)))
            if owner and owner != c.id:
                out.append(f"{c.id}: altLabel {lab!r} is the prefLabel of {owner}")
    exact_owner: dict[str, str] = {}
    umls_owner: dict[str, str] = {}
    for c in table:
        for curie in c.ids("exactMatch"):
            if curie in exact_owner:
                out.append(f"{c.id}: exactMatch {curie} is also the exactMatch of {exact_owner[curie]}")
            exact_owner[curie] = c.id
        if c.umls:
            if c.umls in umls_owner:
                out.append(f"{c.id}: UMLS {c.umls} is also the CUI of {umls_owner[c.umls]}")
            umls_owner[c.umls] = c.id
        keys = [x.vocabulary_key for x in table if x.vocabulary_key and x.vocabulary_key == c.vocabulary_key]
        if len(keys) > 1:
            out.append(f"{c.id}: vocabulary key {c.vocabulary_key!r} is used by {len(keys)} concepts")
    return sorted(set(out))


@dataclass(frozen=True)
class OboTerm:
    id: str
    name: str
    obsolete: bool
    xrefs: tuple[str, ...]
    parents: tuple[str, ...]


def read_obo(path: str | Path) -> dict[str, OboTerm]:
    """``[Term]`` stanzas of an OBO file: id -> name, obsolete flag, xrefs, is_a parents (alt_ids included)."""
    terms: dict[str, OboTerm] = {}
    cur: dict[str, object] | None = None

    def flush() -> None:
        if cur and "id" in cur:
            t = OboTerm(str(cur["id"]), str(cur.get("name", "")), bool(cur.get("obsolete")),
                        tuple(cur.get("xref", [])), tuple(cur.get("is_a", [])))  # type: ignore[arg-type]
            terms[t.id] = t
            for alt in cur.get("alt_id", []):  # type: ignore[attr-defined]
                terms.setdefault(str(alt), t)

    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.rstrip("\n")
                if line.startswith("["):
                    flush()
                    cur = {} if line == "[Term]" else None
                    continue
                if cur is None or ": " not in line:
                    continue
                key, _, value = line.partition(": ")
                if key in ("id", "name"):
                    cur[key] = value
                elif key == "is_obsolete" and value.strip() == "true":
                    cur["obsolete"] = True
                elif key in ("xref", "is_a", "alt_id"):
                    cur.setdefault(key, []).append(value.split(" ")[0])  # type: ignore[attr-defined]
        flush()
    except (OSError, UnicodeDecodeError) as err:
        raise ConceptTableError(f"cannot read OBO file {path}: {err}") from None
    return terms


def _name_matches(concept: ChestConcept, name: str) -> bool:
    names = {normalise_label(x) for x in (*concept.pref_labels.values(), *concept.alt_labels)}
    return normalise_label(name) in names


def obo_problems(table: ConceptTable, hpo: Mapping[str, OboTerm], doid: Mapping[str, OboTerm],
                 *, newer_than_release: Iterable[str] = ()) -> list[str]:
    """Every mapped HP / DOID id exists, is not obsolete, and an exactMatch names the concept.

    ``newer_than_release`` lists ids known to be younger than the OBO release checked against.
    A DOID or HP exactMatch whose term carries a MeSH xref must agree with the concept's MeSH ids.
    """
    skip = set(newer_than_release)
    out = []
    for c in table:
        for m in c.matches:
            if m.prefix not in ("HP", "DOID") or m.curie in skip:
                continue
            terms = hpo if m.prefix == "HP" else doid
            t = terms.get(m.curie)
            if t is None:
                out.append(f"{c.id}: {m.curie} does not exist in the {m.prefix} release")
                continue
            if t.obsolete:
                out.append(f"{c.id}: {m.curie} ({t.name}) is obsolete")
            if m.relation == "exactMatch" and not _name_matches(c, t.name):
                out.append(f"{c.id}: exactMatch {m.curie} is {t.name!r}, which is none of the concept's labels")
            if m.relation == "exactMatch":
                mesh = {x.replace("MSH:", "MESH:") for x in t.xrefs if x.startswith("MSH:D")}
                ours = set(c.ids(prefix="MESH"))
                if mesh and ours and not (mesh & ours):
                    out.append(f"{c.id}: {m.curie} cross-references {sorted(mesh)}, the concept maps {sorted(ours)}")
    return out


def qualifier_ids(hpo: Mapping[str, OboTerm], roots: Iterable[str] = QUALIFIER_ROOTS) -> frozenset[str]:
    """Every HPO term under a modifier root (see :data:`kg.concepts.QUALIFIER_ROOTS`), roots included."""
    children: dict[str, list[str]] = {}
    for t in {id(t): t for t in hpo.values()}.values():
        for p in t.parents:
            children.setdefault(p, []).append(t.id)
    out: set[str] = set()
    todo = [r for r in roots if r in hpo]
    while todo:
        x = todo.pop()
        if x not in out:
            out.add(x)
            todo.extend(children.get(x, ()))
    return frozenset(out)


__all__ = ["OboTerm", "integrity_problems", "obo_problems", "qualifier_ids", "read_obo"]
