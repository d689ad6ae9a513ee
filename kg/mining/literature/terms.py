"""Dictionary mentions beside the learned recogniser: concept-table terms, ontology and corpus terms,
exposures and procedures.

The recogniser (:mod:`kg.mining.classifiers.entity_recognizer`) finds chemicals and diseases, including
names it never saw. A dictionary adds what it was never taught: the concept table's findings, processes,
exposures and devices ("pleural effusion", "cigarette smoking", "central line"), the Disease Ontology and
HPO names of signs and symptoms ("shortness of breath"), and the exposures and procedures that cause
disease in textbook prose ("radiation therapy", "asbestos"). The component ``mcrag_term_matcher`` adds
these spans to ``doc.ents``, the longer span winning an overlap; a span the dictionary names carries its
concept id in ``kb_id_``.

Mention kinds: ``Chemical``, ``Disease`` (diseases, findings, signs, processes), ``Exposure`` and
``Intervention`` (procedures and devices).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from kg.concepts import QUALIFIER_TERMS, ConceptTable, default_table
from kg.mining.core.factory_annotations import resolved
from kg.mining.literature.lexicon import EntityLexicon, is_short_form

MENTION_KINDS: tuple[str, ...] = ("Chemical", "Disease", "Exposure", "Intervention")

TABLE_KIND = {"Disease": "Disease", "ImagingFinding": "Disease", "PathophysiologicalProcess": "Disease",
              "Exposure": "Exposure", "Intervention": "Intervention"}
"""Concept-table class -> mention kind (demographics and acquisition factors are never mentions)."""

TABLE_PREFIX = "concept:"
"""``kb_id_`` prefix of a span that names a concept-table concept (``concept:pleural_effusion``)."""

EXTRA_TERMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "radiation_therapy": ("radiation therapy", "Intervention", ("radiotherapy", "radiation treatment",
                                                                "thoracic radiation", "chest radiation")),
    "chemotherapy": ("chemotherapy", "Intervention", ("chemotherapeutic treatment",)),
    "mechanical_ventilation": ("mechanical ventilation", "Intervention", ("ventilator support", "ventilator")),
    "blood_transfusion": ("blood transfusion", "Intervention", ("transfusion", "transfusions")),
    "organ_transplant": ("organ transplantation", "Intervention", ("transplant", "transplantation",
                                                                   "lung transplant", "heart transplant")),
    "cardiac_surgery": ("cardiac surgery", "Intervention", ("heart surgery", "open-heart surgery",
                                                            "open heart surgery")),
    "surgery": ("surgery", "Intervention", ("surgical procedure", "operation")),
    "thoracentesis": ("thoracentesis", "Intervention", ()),
    "bronchoscopy": ("bronchoscopy", "Intervention", ()),
    "cardiac_catheterization": ("cardiac catheterization", "Intervention", ("catheterization",)),
    "intubation": ("intubation", "Intervention", ("endotracheal intubation",)),
    "oxygen_therapy": ("oxygen therapy", "Intervention", ("supplemental oxygen",)),
    "dialysis": ("dialysis", "Intervention", ("hemodialysis",)),
    "immobility": ("immobility", "Exposure", ("bed rest", "prolonged bed rest", "long periods of sitting")),
    "asbestos": ("asbestos exposure", "Exposure", ("asbestos",)),
    "silica": ("silica dust", "Exposure", ("silica", "crystalline silica")),
    "coal_dust": ("coal dust", "Exposure", ()),
    "air_pollution": ("air pollution", "Exposure", ("air pollutants", "polluted air")),
    "secondhand_smoke": ("secondhand smoke", "Exposure", ("second-hand smoke", "passive smoking",
                                                          "environmental tobacco smoke")),
    "occupational_dust": ("dust exposure", "Exposure", ("dusts", "occupational dust")),
    "radon": ("radon", "Exposure", ()),
    "alcohol_use": ("alcohol use", "Exposure", ("alcohol", "alcohol abuse", "heavy drinking",
                                                "alcohol consumption")),
    "high_altitude": ("high altitude", "Exposure", ("high altitudes",)),
}
"""Exposures and procedures that the corpora the recogniser learns from do not annotate, one key per idea
(``radiotherapy`` and ``radiation therapy`` are one concept). Their concepts are outside the concept
table, keyed ``term:<key>``."""

EXTRA_PREFIX = "term:"


@dataclass(frozen=True)
class TermEntry:
    key: str
    """``concept:<id>``, ``term:<key>`` or an external CURIE (``MESH:D003000``)."""
    kind: str
    label: str


def table_terms(table: ConceptTable | None = None) -> dict[str, TermEntry]:
    """Every prefLabel and altLabel of the concept table's mentionable concepts, lower-cased."""
    t = table or default_table()
    out: dict[str, TermEntry] = {}
    for c in t:
        kind = TABLE_KIND.get(c.kind)
        if kind is None:
            continue
        for label in (*c.pref_labels.values(), *c.alt_labels):
            key = label.strip()
            if len(key) < 2 or key.lower() in QUALIFIER_TERMS or (truncation(key, c.label) and not is_short_form(key)):
                continue
            out.setdefault(key, TermEntry(TABLE_PREFIX + c.id, kind, c.label))
    return out


SITE_WORDS = frozenset({
    "pulmonary", "pleural", "lung", "chest", "pericardial", "cardiac", "heart", "thoracic", "mediastinal",
    "bronchial", "airway", "alveolar", "interstitial", "subcutaneous", "spinal", "vertebral", "aortic",
    "respiratory", "endobronchial",
})
"""First words of a preferred name that say where ("pleural effusion"): without them the name is any organ's."""


def truncation(name: str, pref_label: str) -> bool:
    """A one-word name of a concept whose preferred name adds the site ("effusion" for pleural effusion,
    "injury" for chest trauma, "fibrosis" for pulmonary fibrosis): in a chest report it names that concept,
    in the literature it is any organ's. "smoking" for tobacco smoking is no truncation."""
    words = pref_label.lower().split()
    return len(name.split()) == 1 and len(words) > 1 and words[0] in SITE_WORDS


def extra_terms() -> dict[str, TermEntry]:
    out: dict[str, TermEntry] = {}
    for key, (label, kind, synonyms) in EXTRA_TERMS.items():
        for term in (label, *synonyms):
            out.setdefault(term, TermEntry(EXTRA_PREFIX + key, kind, label))
    return out


class TermMatcher:
    """Adds dictionary spans to the recogniser's ``doc.ents``; the longest span wins an overlap, and a
    dictionary span wins a tie (it carries an id)."""

    def __init__(self, nlp: Language, lexicon: EntityLexicon | None, *, table: ConceptTable | None = None) -> None:
        self.entries: dict[str, TermEntry] = {}
        self.exact: dict[str, TermEntry] = {}
        for source in (table_terms(table), extra_terms()):
            for k, e in source.items():
                if is_short_form(k):  # "TB", "ICD", "COPD": only as written
                    self.exact.setdefault(k, e)
                else:
                    self.entries.setdefault(" ".join(k.lower().split()), e)
        if lexicon is not None:
            for k, le in lexicon.terms.items():
                self.entries.setdefault(k, TermEntry(le.concept_id, le.kind, le.label))
            for k, le in lexicon.exact.items():
                self.exact.setdefault(k, TermEntry(le.concept_id, le.kind, le.label))
        self.lower = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.orth = PhraseMatcher(nlp.vocab, attr="ORTH")
        for matcher, keys in ((self.lower, list(self.entries)), (self.orth, list(self.exact))):
            for i in range(0, len(keys), 5000):
                matcher.add("T", list(nlp.tokenizer.pipe(keys[i:i + 5000])))  # type: ignore[union-attr]

    def spans(self, doc: Doc) -> list[Span]:
        out = []
        for matcher, exact in ((self.orth, True), (self.lower, False)):
            for _, start, end in matcher(doc):
                span = doc[start:end]
                entry = self.exact.get(span.text) if exact else self.entries.get(" ".join(span.text.lower().split()))
                if entry is not None:
                    out.append(Span(doc, start, end, label=entry.kind, kb_id=entry.key))
        return out

    def __call__(self, doc: Doc) -> Doc:
        doc.ents = merge_spans(self.spans(doc), doc.ents)
        return doc


def merge_spans(dictionary: Iterable[Span], recognised: Iterable[Span]) -> list[Span]:
    """Longest span first; on equal extent the dictionary's (listed first) wins."""
    return filter_spans([*dictionary, *recognised])


@Language.factory("mcrag_term_matcher", default_config={"lexicon_path": ""})
@resolved
def make_term_matcher(nlp: Language, name: str, lexicon_path: str) -> TermMatcher:
    """Concept-table, exposure and procedure terms, plus the ontology / corpus lexicon when given."""
    lexicon = None
    if lexicon_path:
        path = Path(lexicon_path)
        if not path.is_file():
            raise FileNotFoundError(f"entity lexicon {lexicon_path} not found; run `mcrag mine train-relations`")
        lexicon = EntityLexicon.load(path)
    return TermMatcher(nlp, lexicon)
