"""The chest concept table: one row per concept in ``ontologies/chest_concepts.csv``, read into typed objects.

Every label of the five chest label sources maps to one of these concepts. A concept has one id,
one ``skos:prefLabel`` per language (a ``pref_label_<lang>`` column), synonyms as ``skos:altLabel``,
the UMLS CUI where PadChest gives one, SKOS mapping relations to HPO, DOID and MeSH (``exactMatch``
only where the meaning is the same), a scope, a tier for causal background knowledge and, in
``broader``, the table's own is-a parents (an edge between a concept and its parent is definitional,
not causal). :func:`integrity_problems` says what breaks the SKOS rules; :func:`obo_problems`
checks every HPO / DOID id against the OBO files.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from kg.namespaces import CONCEPT

Tier = Literal["demographic", "disease", "acquisition", "finding", "device"]
TIERS: tuple[Tier, ...] = ("demographic", "disease", "acquisition", "finding", "device")
"""Background-knowledge order: a variable may cause only variables of its own or a later tier.

Demographics come first, then diseases, then the reading's acquisition factors (projection, device
maker, labelling method: chosen for sicker patients, they change how findings read and cause no
disease), then findings, then devices and interventions."""

MatchRelation = Literal["exactMatch", "closeMatch", "broadMatch", "narrowMatch"]
MATCH_COLUMNS: dict[str, MatchRelation] = {
    "exact_match": "exactMatch", "close_match": "closeMatch", "broad_match": "broadMatch",
    "narrow_match": "narrowMatch",
}
REQUIRED_COLUMNS = ("id", "alt_labels", "tier", "kind", "scope", "umls", *MATCH_COLUMNS, "broader",
                    "vocabulary_key", "note")
SCOPES = ("chest", "cardiopulmonary", "general")
KINDS = ("Demographic", "Exposure", "AcquisitionFactor", "Disease", "PathophysiologicalProcess",
         "ImagingFinding", "Intervention")
PREFIXES = ("HP", "DOID", "MESH", "RADLEX")
CURIE_PATTERNS: dict[str, re.Pattern[str]] = {
    "HP": re.compile(r"^HP:\d{7}$"),
    "DOID": re.compile(r"^DOID:\d+$"),
    "MESH": re.compile(r"^MESH:[CD]\d{6,9}$"),
    "RADLEX": re.compile(r"^RADLEX:RID\d+$"),
}
UMLS_PATTERN = re.compile(r"^C\d{7}$")
EXTERNAL_BASES = {
    "HP": "http://purl.obolibrary.org/obo/HP_",
    "DOID": "http://purl.obolibrary.org/obo/DOID_",
    "MESH": "http://id.nlm.nih.gov/mesh/",
    "RADLEX": "http://radlex.org/RID/",
    "UMLS": "https://uts.nlm.nih.gov/uts/umls/concept/",
}

QUALIFIER_TERMS = frozenset({
    "acute", "chronic", "subacute", "mild", "moderate", "severe", "minimal", "marked", "position",
    "left", "right", "bilateral", "unilateral", "upper", "lower", "base", "basal", "apical", "diffuse",
    "focal", "patchy", "small", "large", "multiple", "prominent", "stable", "unchanged", "new",
    "improved", "worsened", "old", "healed", "borderline", "normal", "abnormal", "possible", "probable",
    "recurrent", "progressive", "episodic", "congenital", "lateral", "anterior", "posterior",
})
"""Modifier words that are never a concept on their own ("acute", "chronic", "position")."""


class ConceptTableError(ValueError):
    """The concept table (or a file it is checked against) cannot be used; the message says where."""


@dataclass(frozen=True)
class ExternalMatch:
    """A SKOS mapping to an external id, e.g. ``exactMatch HP:0002202``."""

    relation: MatchRelation
    curie: str

    @property
    def prefix(self) -> str:
        return self.curie.split(":", 1)[0]

    @property
    def iri(self) -> str:
        prefix, _, local = self.curie.partition(":")
        return EXTERNAL_BASES[prefix] + local


@dataclass(frozen=True)
class ChestConcept:
    """One concept of the table."""

    id: str
    pref_labels: Mapping[str, str]
    """Language tag -> the one ``skos:prefLabel`` in that language."""
    alt_labels: tuple[str, ...]
    tier: Tier
    kind: str
    scope: str
    umls: str = ""
    matches: tuple[ExternalMatch, ...] = ()
    broader: tuple[str, ...] = ()
    """Ids of this table's concepts that this one is a kind of."""
    vocabulary_key: str = ""
    """The key the starter graph and the Open-i label set use for this concept (``Effusion``)."""
    note: str = ""

    @property
    def label(self) -> str:
        """The English preferred label."""
        return self.pref_labels.get("en") or next(iter(self.pref_labels.values()))

    @property
    def iri(self) -> str:
        return str(CONCEPT[self.id])

    def ids(self, relation: MatchRelation | None = None, prefix: str | None = None) -> tuple[str, ...]:
        """External CURIEs, optionally of one relation and / or one prefix."""
        return tuple(m.curie for m in self.matches
                     if (relation is None or m.relation == relation) and (prefix is None or m.prefix == prefix))


@dataclass(frozen=True)
class ConceptTable:
    """All concepts, by id, with the lookups the importers and the estimators need."""

    concepts: Mapping[str, ChestConcept]
    source: str = ""
    _by_label: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __iter__(self) -> Iterator[ChestConcept]:
        return iter(self.concepts.values())

    def __len__(self) -> int:
        return len(self.concepts)

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self.concepts

    def __getitem__(self, concept_id: str) -> ChestConcept:
        try:
            return self.concepts[concept_id]
        except KeyError:
            raise KeyError(f"no concept {concept_id!r} in the chest concept table") from None

    def tier_rank(self, concept_id: str) -> int:
        return TIERS.index(self[concept_id].tier)

    def by_tier(self, tier: Tier) -> tuple[str, ...]:
        return tuple(c.id for c in self if c.tier == tier)

    def by_vocabulary_key(self, key: str) -> ChestConcept | None:
        for c in self:
            if c.vocabulary_key == key:
                return c
        return None

    def lookup(self, label: str) -> ChestConcept | None:
        """The concept whose prefLabel or altLabel (any case, spacing, simple plural) is ``label``."""
        cid = self._by_label.get(normalise_label(label))
        return self.concepts[cid] if cid else None

    def ancestors(self, concept_id: str) -> set[str]:
        """Every concept reachable through ``broader``."""
        out: set[str] = set()
        todo = list(self[concept_id].broader)
        while todo:
            b = todo.pop()
            if b not in out and b in self.concepts:
                out.add(b)
                todo.extend(self.concepts[b].broader)
        return out

    def definitional(self, a: str, b: str) -> bool:
        """True when one concept is a kind of the other: an edge between them is not causal."""
        return b in self.ancestors(a) or a in self.ancestors(b)


def normalise_label(text: str) -> str:
    """Lower case, single spaces, hyphens as spaces and a plain English plural folded (``Bullae`` -> ``bulla``)."""
    s = re.sub(r"[\s_\-]+", " ", text.strip().lower())
    s = re.sub(r"[^\w /,]", "", s)
    words = s.split(" ")
    last = words[-1]
    if last.endswith("sses"):  # masses -> mass
        last = last[:-2]
    elif last.endswith(("oses", "ases", "eses")) and not last.endswith("eases"):  # atelectases -> atelectasis
        last = last[:-2] + "is"
    elif last.endswith("ae") and len(last) > 4:  # bullae -> bulla
        last = last[:-1]
    elif last.endswith("ies") and len(last) > 4:  # opacities -> opacity
        last = last[:-3] + "y"
    elif last.endswith(("xes", "ches", "shes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")) and len(last) > 3:
        last = last[:-1]
    words[-1] = last
    return " ".join(words)


def _split(cell: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in (cell or "").split("|") if p.strip())


def default_path() -> Path:
    return Path(str(resources.files("ontologies").joinpath("chest_concepts.csv")))


def load_concept_table(path: str | Path | None = None) -> ConceptTable:
    """Read and check the table; a malformed row raises :class:`ConceptTableError` naming row and column."""
    p = Path(path) if path is not None else default_path()
    if not p.is_file():
        raise ConceptTableError(f"concept table {p} not found")
    return _load(str(p.resolve()), p.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _load(path: str, _mtime: int) -> ConceptTable:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            rows = list(reader)
    except UnicodeDecodeError as err:
        raise ConceptTableError(f"{path}: not UTF-8 text ({err})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    langs = [c.removeprefix("pref_label_") for c in header if c.startswith("pref_label_")]
    if missing or not langs:
        need = missing + ([] if langs else ["pref_label_<lang>"])
        raise ConceptTableError(f"{path}: missing column(s) {', '.join(need)}")
    concepts: dict[str, ChestConcept] = {}
    for i, row in enumerate(rows, start=2):
        where = f"{path}, line {i}"
        cid = (row.get("id") or "").strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]*", cid):
            raise ConceptTableError(f"{where}: column 'id' must be a lower-case snake_case id, got {cid!r}")
        if cid in concepts:
            raise ConceptTableError(f"{where}: duplicate id {cid!r}")
        tier = (row.get("tier") or "").strip()
        if tier not in TIERS:
            raise ConceptTableError(f"{where}: column 'tier' is {tier!r}; use one of {', '.join(TIERS)}")
        matches = []
        for col, rel in MATCH_COLUMNS.items():
            for curie in _split(row.get(col, "")):
                matches.append(ExternalMatch(rel, curie))
        pref = {lang: (row.get(f"pref_label_{lang}") or "").strip() for lang in langs}
        pref = {k: v for k, v in pref.items() if v}
        if not pref:
            raise ConceptTableError(f"{where}: concept {cid!r} has no prefLabel")
        concepts[cid] = ChestConcept(
            cid, pref, _split(row.get("alt_labels", "")), tier,
            (row.get("kind") or "").strip(), (row.get("scope") or "").strip(), (row.get("umls") or "").strip(),
            tuple(matches), _split(row.get("broader", "")), (row.get("vocabulary_key") or "").strip(),
            (row.get("note") or "").strip())
    by_label: dict[str, str] = {}
    for c in concepts.values():  # prefLabels first, so a synonym never shadows another concept's name
        for lab in c.pref_labels.values():
            by_label.setdefault(normalise_label(lab), c.id)
    for c in concepts.values():
        for lab in c.alt_labels:
            by_label.setdefault(normalise_label(lab), c.id)
    return ConceptTable(concepts, path, by_label)


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


def skos_graph(table: ConceptTable) -> object:
    """The table as an rdflib Graph of ``skos:Concept`` s with labels, mappings and ``skos:broader``."""
    from rdflib import Graph, Literal, URIRef
    from rdflib.namespace import RDF, SKOS

    g = Graph()
    g.bind("skos", SKOS)
    g.bind("concept", CONCEPT)
    for c in table:
        s = URIRef(c.iri)
        g.add((s, RDF.type, SKOS.Concept))
        for lang, lab in c.pref_labels.items():
            g.add((s, SKOS.prefLabel, Literal(lab, lang=lang)))
        for lab in c.alt_labels:
            g.add((s, SKOS.altLabel, Literal(lab, lang="en")))
        for m in c.matches:
            g.add((s, SKOS[m.relation], URIRef(m.iri)))
        if c.umls:
            g.add((s, SKOS.exactMatch, URIRef(EXTERNAL_BASES["UMLS"] + c.umls)))
        for b in c.broader:
            g.add((s, SKOS.broader, URIRef(str(CONCEPT[b]))))
        if c.note:
            g.add((s, SKOS.scopeNote, Literal(c.note, lang="en")))
    return g


__all__ = [
    "ChestConcept", "ConceptTable", "ConceptTableError", "ExternalMatch", "OboTerm", "QUALIFIER_TERMS", "TIERS",
    "integrity_problems", "load_concept_table", "normalise_label", "obo_problems", "read_obo", "skos_graph",
]
