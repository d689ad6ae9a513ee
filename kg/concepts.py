"""The concept table: every concept MCRAG knows before anything is mined, read from one CSV.

``ontologies/chest_concepts.csv`` is the source of truth. A concept has one id (its IRI is
``concept:<id>``), one ``skos:prefLabel`` per language (a ``pref_label_<lang>`` column), synonyms
as ``skos:altLabel``, the UMLS CUI where PadChest gives one, SKOS mapping relations to HPO, DOID and
MeSH (``exactMatch`` only where the meaning is the same), a scope, a tier for causal background
knowledge and, in ``broader``, the table's own is-a parents (an edge between a concept and its parent
is definitional, not causal). ``vocabulary_key`` is the name the Open-i label set, the starter table
and the report miner use (``Effusion``, ``heart_failure``).

This module is the one owner of concepts. It gives

* the table (:func:`load_concept_table`, :class:`ConceptTable`);
* the **normalisation API** every miner and reader calls (:func:`normalise`, :func:`normalise_id`,
  :func:`is_qualifier` and :class:`ConceptNormaliser`): a mention's text, synonym, UMLS CUI or
  external id (``MESH:D011654``) becomes one table concept; a qualifier or modifier term ("acute",
  "chronic", "position") is never a concept; an id outside the table keeps one label per id;
* the views older callers use, all derived from the table: :data:`FINDING_CONCEPTS` (the 14 Open-i
  findings), :data:`OTHER_CONCEPTS` (the starter graph's causes), :data:`REPORT_CONCEPTS` (every key
  the report miner emits), :func:`concept_for_finding` and :func:`finding_for_concept_iri`.

Checks of the table live in :mod:`kg.concept_checks`; its RDF form (written by ``kg init``) in
:mod:`kg.concept_graph`.
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

from kg.claims import Concept, ConceptKind
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
    _by_curie: Mapping[str, str] = field(default_factory=dict, repr=False)

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

    def by_curie(self, curie: str) -> ChestConcept | None:
        """The concept whose ``exactMatch`` is this external id (``MESH:D011654``, ``HP:0002202``) or
        whose UMLS CUI it is (``UMLS:C0034063`` or the bare ``C0034063``).

        Only exact matches count: a broader, narrower or close id names another meaning.
        """
        key = _curie_key(curie)
        cid = self._by_curie.get(key) if key else None
        return self.concepts[cid] if cid else None

    def resolve(self, name: str) -> ChestConcept | None:
        """A concept from its id, concept IRI, vocabulary key, external id, prefLabel or altLabel."""
        name = name.strip()
        if name.startswith(str(CONCEPT)):
            name = name[len(str(CONCEPT)):]
        if name in self.concepts:
            return self.concepts[name]
        by_key = self.by_vocabulary_key(name)
        if by_key is not None:
            return by_key
        if _curie_key(name):
            return self.by_curie(name)
        return self.lookup(name)

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


def _curie_key(curie: str) -> str:
    """``MESH:D011654`` / ``mesh:d011654`` -> ``MESH:D011654``; a bare or prefixed CUI -> ``UMLS:C0034063``;
    anything else -> empty."""
    text = curie.strip()
    if UMLS_PATTERN.match(text.upper()):
        return f"UMLS:{text.upper()}"
    prefix, sep, local = text.partition(":")
    if not sep or not local:
        return ""
    prefix = prefix.upper()
    if prefix == "MSH":
        prefix = "MESH"
    if prefix not in (*PREFIXES, "UMLS"):
        return ""
    return f"{prefix}:{local.upper() if prefix in ('MESH', 'UMLS', 'RADLEX') else local}"


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
    by_curie: dict[str, str] = {}
    for c in concepts.values():
        for curie in c.ids("exactMatch"):
            by_curie.setdefault(_curie_key(curie), c.id)
        if c.umls:
            by_curie.setdefault(f"UMLS:{c.umls}", c.id)
    return ConceptTable(concepts, path, by_label, by_curie)


# ------------------------------------------------------------------------------------ normalisation API
QUALIFIER_ROOTS: tuple[str, ...] = ("HP:0012823", "HP:0000005", "HP:0031797", "HP:0040279")
"""HPO's sub-ontologies of modifiers, not phenotypes: clinical modifier (severity, laterality, onset),
mode of inheritance, clinical course and frequency. A term under one of them is never a concept
(:func:`kg.concept_checks.qualifier_ids` lists them from ``hp.obo``)."""


def is_qualifier(term: str | None, curie: str | None = None, *, qualifier_ids: Iterable[str] = ()) -> bool:
    """True when a mention is only a qualifier or modifier ("Acute", "chronic", "position", HP:0011009)."""
    if term is not None and normalise_label(term) in QUALIFIER_TERMS:
        return True
    return bool(curie) and _curie_key(curie or "") in {_curie_key(q) for q in qualifier_ids}


def normalise(term: str | None = None, *, curie: str | None = None, table: ConceptTable | None = None,
              qualifier_ids: Iterable[str] = ()) -> ChestConcept | None:
    """The table concept a mention names, or None (a qualifier, or a concept outside the table).

    An id decides when one is given: ``MESH:D004487`` (edema of any tissue) is ``edema`` and
    ``MESH:D011654`` is ``pulmonary_edema``, whatever the mention's text; an id outside the table is
    not matched by its text either ("collapse" tagged as circulatory collapse is no atelectasis).
    Without an id, the text is matched against prefLabels and altLabels (case, spacing and a plain
    plural folded). Vocabulary keys (``Edema``) are not matched here: a sentence-initial "Edema" in a
    drug abstract is edema, not the Open-i column (use :func:`normalise_id` for keys and ids).
    """
    t = table or default_table()
    if is_qualifier(term, curie, qualifier_ids=qualifier_ids):
        return None
    if curie:
        return t.by_curie(curie)
    return t.lookup(term) if term else None


def normalise_id(name: str, table: ConceptTable | None = None) -> ChestConcept:
    """A concept from its id, IRI, vocabulary key (``Effusion``), exact external id or label; KeyError if none."""
    t = table or default_table()
    c = t.resolve(name)
    if c is None:
        raise KeyError(f"no concept {name!r} in the concept table ({t.source})")
    return c


_CONCEPT_KINDS: frozenset[str] = frozenset(("Disease", "ImagingFinding", "AnatomicalSite", "PathophysiologicalProcess",
                                            "Exposure", "Intervention", "Chemical", "MedicalConcept"))


def as_concept(c: ChestConcept) -> Concept:
    """The claim-writing form of a table concept: its IRI, English prefLabel, class, exact ids and synonyms.

    Only ``exactMatch`` ids (and the UMLS CUI) travel with claims; the close, broad and narrow
    mappings live in the ``concepts`` graph that ``kg init`` writes.
    """
    kind: ConceptKind = c.kind if c.kind in _CONCEPT_KINDS else "MedicalConcept"  # type: ignore[assignment]
    mappings = (*c.ids("exactMatch"), *((f"UMLS:{c.umls}",) if c.umls else ()))
    return Concept(c.iri, c.label, kind, mappings, c.alt_labels)


class ConceptNormaliser:
    """Mentions -> :class:`~kg.claims.Concept` for writing claims: table concepts first, one label per outside id.

    ``names`` gives the preferred name of ids outside the table (``MESH:D007674`` -> ``Kidney Diseases``);
    an outside id without one keeps the first label this normaliser saw for it, so every claim of one
    run names it alike. ``qualifier_ids`` are ids never to accept (see :data:`QUALIFIER_ROOTS`).
    Stable API: the report and literature miners both call :meth:`concept`.
    """

    def __init__(self, table: ConceptTable | None = None, *, names: Mapping[str, str] | None = None,
                 qualifier_ids: Iterable[str] = ()) -> None:
        self.table = table or default_table()
        self.names = {_curie_key(k) or k: v for k, v in (names or {}).items()}
        self.qualifier_ids = frozenset(_curie_key(q) or q for q in qualifier_ids)
        self._outside: dict[str, Concept] = {}

    def concept(self, curie: str | None, label: str, kind: ConceptKind = "MedicalConcept") -> Concept | None:
        """The concept a mention (its id, if any, and its text) stands for; None for a qualifier."""
        from kg.claims import concept_iri_for

        if is_qualifier(label, curie, qualifier_ids=self.qualifier_ids):
            return None
        known = normalise(label, curie=curie, table=self.table)
        if known is not None:
            return as_concept(known)
        key = _curie_key(curie) if curie else ""
        cache_key = key or f"term:{normalise_label(label)}"
        if cache_key not in self._outside:
            name = self.names.get(key) if key else None
            text = (name or label or curie or "").strip()
            if key:
                self._outside[cache_key] = Concept(concept_iri_for(key), text, kind, (key,))
            else:
                self._outside[cache_key] = Concept(concept_iri_for(f"term {text}"), text, kind, ())
        return self._outside[cache_key]


# ------------------------------------------------------------------------------------ views for older callers
def default_table() -> ConceptTable:
    """The shipped table (cached; re-read when the file changes)."""
    return load_concept_table()


FINDINGS: tuple[str, ...] = ("Atelectasis", "Cardiomegaly", "Effusion", "Infiltration", "Mass", "Nodule", "Pneumonia",
                             "Pneumothorax", "Consolidation", "Edema", "Emphysema", "Fibrosis", "Pleural_Thickening",
                             "Hernia")
"""The 14 Open-i / NegBio label names in the order of ``openi_labels.csv`` (vocabulary keys of the table)."""

OTHER_KEYS: tuple[str, ...] = ("heart_failure", "pulmonary_venous_hypertension", "interstitial_edema", "alveolar_edema",
                               "hyperinflation", "smoking", "lung_cancer", "copd", "airway_obstruction",
                               "fluid_overload", "support_device")
"""Vocabulary keys of the starter graph's causes and mechanisms."""

EXTRA_REPORT_KEYS: tuple[str, ...] = ("fracture", "lung_opacity", "enlarged_cardiomediastinum", "granuloma", "scarring",
                                      "thoracic_surgery", "infection", "aspiration", "trauma", "malignancy")
"""Vocabulary keys the report miner reads besides the findings and the starter graph's causes."""

MATRIX_EXTRA_KEYS: tuple[str, ...] = ("support_device", "fracture", "lung_opacity", "enlarged_cardiomediastinum",
                                      "granuloma", "scarring", "heart_failure", "copd", "hyperinflation",
                                      "thoracic_surgery")
"""Extra 0/1 columns of the report x finding matrix, after the 14 Open-i findings."""


def _by_keys(keys: Iterable[str]) -> dict[str, Concept]:
    table = default_table()
    out = {}
    for k in keys:
        c = table.by_vocabulary_key(k)
        if c is None:
            raise ConceptTableError(f"{table.source}: no concept has vocabulary key {k!r}")
        out[k] = as_concept(c)
    return out


FINDING_CONCEPTS: dict[str, Concept] = _by_keys(FINDINGS)
"""Open-i / NegBio label column -> concept."""

OTHER_CONCEPTS: dict[str, Concept] = _by_keys(OTHER_KEYS)
EXTRA_REPORT_CONCEPTS: dict[str, Concept] = _by_keys(EXTRA_REPORT_KEYS)
REPORT_CONCEPTS: dict[str, Concept] = {**FINDING_CONCEPTS, **OTHER_CONCEPTS, **EXTRA_REPORT_CONCEPTS}
"""Every key the report miner can emit -> its concept."""


def concept_for_finding(name: str) -> Concept:
    """The concept for an Open-i label (``Effusion``), a vocabulary key (``heart_failure``) or a table id."""
    if name in REPORT_CONCEPTS:
        return REPORT_CONCEPTS[name]
    table = default_table()
    c = table.by_vocabulary_key(name) or (table.concepts.get(name))
    if c is None:
        raise KeyError(f"unknown finding or concept {name!r}; known: {', '.join([*FINDINGS, *OTHER_KEYS])} "
                       "or any id of the concept table")
    return as_concept(c)


def finding_for_concept_iri(iri: str) -> str | None:
    """Inverse of :func:`concept_for_finding` for the 14 findings."""
    for name, c in FINDING_CONCEPTS.items():
        if c.iri == iri:
            return name
    return None


__all__ = [
    "EXTRA_REPORT_CONCEPTS", "FINDINGS", "FINDING_CONCEPTS", "MATRIX_EXTRA_KEYS", "OTHER_CONCEPTS", "QUALIFIER_ROOTS",
    "QUALIFIER_TERMS", "REPORT_CONCEPTS", "TIERS", "ChestConcept", "ConceptNormaliser", "ConceptTable",
    "ConceptTableError", "ExternalMatch", "as_concept", "concept_for_finding", "default_table",
    "finding_for_concept_iri", "is_qualifier", "load_concept_table", "normalise", "normalise_id", "normalise_label",
]
