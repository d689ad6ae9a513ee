"""Recognised mentions -> concept ids: abbreviations expanded first, then a term table.

scispaCy's AbbreviationDetector pairs each short form with its long form ("methotrexate (MTX)"), so
"MTX" is looked up as "methotrexate". The term table holds the gold mentions of the training corpora
(each surface form with the id it most often carries) plus any extra terms (the ontology lexicon). A
mention that no entry explains keeps a text key (``TEXT:<words>``), so its repeated mentions in one
abstract still form one concept.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from spacy.language import Language
from spacy.tokens import Doc, Span

from kg.mining.classifiers.corpora import Abstract, Mention

_WS = re.compile(r"\s+")


def term_key(text: str) -> str:
    return _WS.sub(" ", text.strip().lower())


def _variants(key: str) -> Iterable[str]:
    yield key
    yield key.replace(" - ", "-").replace("- ", "-")
    yield key.replace("-", " ")
    if key.endswith("s") and len(key) > 4:
        yield key[:-1]
    if key.endswith("es") and len(key) > 5:
        yield key[:-2]


@dataclass
class ConceptNormalizer:
    """Term -> (concept id, kind) with abbreviation expansion."""

    terms: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_corpora(cls, abstracts: Iterable[Abstract], extra: Mapping[str, tuple[str, str]] | None = None,
                     kinds: tuple[str, ...] = ("Chemical", "Disease")) -> ConceptNormalizer:
        """Each gold surface form with its most frequent id; ``extra`` fills the terms the corpora lack."""
        votes: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
        for a in abstracts:
            for m in a.mentions:
                if m.kind in kinds and m.ids:
                    votes[term_key(m.text)][(m.ids[0], m.kind)] += 1
        terms = {k: c.most_common(1)[0][0] for k, c in votes.items()}
        for k, v in (extra or {}).items():
            terms.setdefault(term_key(k), v)
        return cls(terms)

    def lookup(self, text: str, kind: str | None = None) -> str | None:
        for key in _variants(term_key(text)):
            hit = self.terms.get(key)
            if hit is not None and (kind is None or hit[1] == kind):
                return hit[0]
        return None

    def normalise(self, doc: Doc, spans: Sequence[Span]) -> list[Mention]:
        """Mentions with ids for recognised spans of ``doc`` (abbreviations of ``doc`` expanded first)."""
        long_of = {(s.start_char, s.end_char): s._.long_form.text for s in _abbreviations(doc)
                   if s._.long_form is not None}
        short_text = {}
        for (a, b), long in long_of.items():
            short_text[doc.text[a:b]] = long
        out = []
        by_text: dict[str, str] = {}
        for s in spans:
            text = s.text
            cid = self.lookup(text, s.label_)
            if cid is None and text in short_text:
                cid = self.lookup(short_text[text], s.label_)
            if cid is None and text in short_text:
                cid = by_text.get(term_key(short_text[text]))
            if cid is None:
                cid = by_text.get(term_key(text)) or "TEXT:" + term_key(short_text.get(text, text))
            by_text[term_key(text)] = cid
            out.append(Mention(s.start_char, s.end_char, text, s.label_, (cid,)))
        return out


@lru_cache(maxsize=1)
def _detector() -> object:
    import spacy
    from scispacy.abbreviation import AbbreviationDetector

    nlp: Language = spacy.blank("en")
    return AbbreviationDetector(nlp)


def _abbreviations(doc: Doc) -> list[Span]:
    """Short forms of ``doc`` with ``._.long_form`` (scispaCy's detector; cheap: a matcher over tokens)."""
    _detector()(doc)  # type: ignore[operator]
    return list(doc._.abbreviations or [])
