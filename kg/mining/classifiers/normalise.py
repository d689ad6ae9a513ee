"""Recognised mentions -> concept ids: abbreviations expanded first, then a term table, then similar names.

scispaCy's AbbreviationDetector pairs each short form with its long form ("methotrexate (MTX)"), so
"MTX" is looked up as "methotrexate". The term table holds the gold mentions of the training corpora
(each surface form with the id it most often carries) plus any extra terms (the ontology lexicon). A name
the table lacks may still be a variant of one it holds ("oestrogen", "amphothericin B"): a character
n-gram index finds the closest known name of the same kind, accepted above a similarity chosen on
training folds (:func:`choose_similarity`). A mention that nothing explains keeps a text key
(``TEXT:<words>``), so its repeated mentions in one abstract still form one concept.

``canonical`` maps an id to the one id its idea carries (the literature miner passes the concept table's
mapping, so ``MESH:D010996`` and the table's ``pleural effusion`` are one concept); ``lookup_first`` is
tried before the term table (the miner passes the concept table's label lookup).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span

from kg.mining.classifiers.corpora import Abstract, Mention

_WS = re.compile(r"\s+")
TEXT_PREFIX = "TEXT:"


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
class NameIndex:
    """Character 3-4-gram TF-IDF vectors of the term table's names, per kind, for nearest-name lookup."""

    names: dict[str, list[tuple[str, str]]]
    """kind -> [(name, id)]"""
    vectorizers: dict[str, Any] = field(default_factory=dict)
    matrices: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, terms: Mapping[str, tuple[str, str]], kinds: Sequence[str] = ("Chemical", "Disease")) -> NameIndex:
        from sklearn.feature_extraction.text import TfidfVectorizer

        index = cls({k: [(n, v[0]) for n, v in terms.items() if v[1] == k and len(n) > 3] for k in kinds})
        for kind, rows in index.names.items():
            if not rows:
                continue
            vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 4), sublinear_tf=True, dtype=np.float32)
            index.matrices[kind] = vec.fit_transform([n for n, _ in rows]).T.tocsr()
            index.vectorizers[kind] = vec
        return index

    def nearest(self, texts: Sequence[str], kind: str) -> list[tuple[str, float]]:
        """(id, cosine) of the closest known name of ``kind`` for each text (("", 0.0) without one)."""
        if kind not in self.vectorizers or not texts:
            return [("", 0.0)] * len(texts)
        rows = self.names[kind]
        out: list[tuple[str, float]] = []
        for k in range(0, len(texts), 256):  # sparse products in chunks: the name lists hold ~10^5 names
            sims = (self.vectorizers[kind].transform([term_key(t) for t in texts[k:k + 256]])
                    @ self.matrices[kind]).tocsr()
            best = np.asarray(sims.argmax(axis=1)).ravel()
            top = np.asarray(sims.max(axis=1).todense()).ravel()
            out += [(rows[int(b)][1] if v > 0 else "", float(v)) for b, v in zip(best, top, strict=True)]
        return out


@dataclass
class ConceptNormalizer:
    """Term -> (concept id, kind) with abbreviation expansion and a nearest-name fallback."""

    terms: dict[str, tuple[str, str]] = field(default_factory=dict)
    similarity: dict[str, float] = field(default_factory=dict)
    """kind -> the cosine a nearest name needs (no entry: no nearest-name lookup for that kind)."""
    index: NameIndex | None = None
    canonical: Callable[[str], str] | None = None
    lookup_first: Callable[[str], str | None] | None = None
    skip: Callable[[str], bool] | None = None
    """Mentions whose text this says yes to are dropped (qualifiers such as "acute")."""

    @classmethod
    def from_corpora(cls, abstracts: Iterable[Abstract], extra: Mapping[str, tuple[str, str]] | None = None,
                     kinds: tuple[str, ...] = ("Chemical", "Disease")) -> ConceptNormalizer:
        """Each gold surface form with its most frequent id; ``extra`` fills the terms the corpora lack."""
        return cls(corpus_terms(abstracts, extra, kinds))

    def with_similarity(self, thresholds: Mapping[str, float]) -> ConceptNormalizer:
        """This table with a nearest-name index over its names and the given per-kind thresholds."""
        self.similarity = dict(thresholds)
        self.index = NameIndex.build(self.terms, tuple(thresholds)) if thresholds else None
        return self

    def lookup(self, text: str, kind: str | None = None) -> str | None:
        for key in _variants(term_key(text)):
            hit = self.terms.get(key)
            if hit is not None and (kind is None or hit[1] == kind):
                return hit[0]
        return None

    def _canon(self, cid: str) -> str:
        return self.canonical(cid) if self.canonical is not None else cid

    def normalise(self, doc: Doc, spans: Sequence[Span]) -> list[Mention]:
        """Mentions with ids for recognised spans of ``doc`` (abbreviations of ``doc`` expanded first).

        A span with a ``kb_id_`` (a dictionary span) keeps that id; the others are looked up.
        """
        short_text: dict[str, str] = {}
        for s in _abbreviations(doc):
            if s._.long_form is not None:
                short_text[s.text] = s._.long_form.text
        out: list[Mention | None] = []
        pending: list[int] = []
        by_text: dict[str, str] = {}
        for s in spans:
            text = s.text
            if self.skip is not None and self.skip(text):
                out.append(None)
                continue
            long = short_text.get(text)
            cid = s.kb_id_ or None
            if cid is None:
                for name in (text, long) if long else (text,):
                    cid = (self.lookup_first(name) if self.lookup_first else None) or self.lookup(name, s.label_)
                    if cid is not None:
                        break
            if cid is None and long:
                cid = by_text.get(term_key(long))
            if cid is None:
                cid = by_text.get(term_key(text))
            if cid is None:
                pending.append(len(out))
                cid = TEXT_PREFIX + term_key(long or text)
            else:
                cid = self._canon(cid)
            by_text[term_key(text)] = cid
            out.append(Mention(s.start_char, s.end_char, text, s.label_, (cid,)))
        self._nearest(out, short_text, pending)
        return [m for m in out if m is not None]

    def _nearest(self, out: list[Mention | None], short_text: Mapping[str, str], pending: list[int]) -> None:
        """Give unexplained mentions the id of their nearest known name where it is close enough."""
        if self.index is None or not pending:
            return
        by_kind: dict[str, list[int]] = defaultdict(list)
        for i in pending:
            m = out[i]
            if m is not None and m.kind in self.similarity:
                by_kind[m.kind].append(i)
        renamed: dict[str, str] = {}
        for kind, idx in by_kind.items():
            texts = [short_text.get(out[i].text, out[i].text) for i in idx]  # type: ignore[union-attr]
            for i, (cid, sim) in zip(idx, self.index.nearest(texts, kind), strict=True):
                m = out[i]
                assert m is not None
                if cid and sim >= self.similarity[kind]:
                    renamed[m.ids[0]] = self._canon(cid)
        for i, m in enumerate(out):
            if m is not None and m.ids[0] in renamed:
                out[i] = Mention(m.start, m.end, m.text, m.kind, (renamed[m.ids[0]],))


def corpus_terms(abstracts: Iterable[Abstract], extra: Mapping[str, tuple[str, str]] | None = None,
                 kinds: tuple[str, ...] = ("Chemical", "Disease")) -> dict[str, tuple[str, str]]:
    """Each gold surface form of ``abstracts`` with its most frequent (id, kind); ``extra`` after them."""
    votes: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for a in abstracts:
        for m in a.mentions:
            if m.kind in kinds and m.ids:
                votes[term_key(m.text)][(m.ids[0], m.kind)] += 1
    terms = {k: c.most_common(1)[0][0] for k, c in votes.items()}
    for k, v in (extra or {}).items():
        terms.setdefault(term_key(k), v)
    return terms


def choose_similarity(folds: Sequence[tuple[Mapping[str, tuple[str, str]], Sequence[Mention]]], kind: str,
                      grid: Sequence[float] = (0.7, 0.75, 0.8, 0.85, 0.9, 0.95)) -> tuple[float | None, dict[str, Any]]:
    """The threshold with the most right minus wrong ids over held-out names, or None when none gains.

    Each fold is (the term table built without the held-out abstracts, the held-out gold mentions); only
    mentions the table cannot look up count, as in use.
    """
    tally: dict[float, list[int]] = {t: [0, 0] for t in grid}
    seen = 0
    for terms, mentions in folds:
        norm = ConceptNormalizer(dict(terms))
        index = NameIndex.build(terms, (kind,))
        unseen = [m for m in mentions if m.kind == kind and m.ids and norm.lookup(m.text, kind) is None]
        seen += len(unseen)
        for m, (cid, sim) in zip(unseen, index.nearest([m.text for m in unseen], kind), strict=True):
            for t in grid:
                if cid and sim >= t:
                    tally[t][0 if cid == m.ids[0] else 1] += 1
    gain = {t: r - w for t, (r, w) in tally.items()}
    best = max(grid, key=lambda t: (gain[t], t))
    report = {"unseen_mentions": seen, "right_wrong_by_threshold": {str(t): v for t, v in tally.items()}}
    return (best if gain[best] > 0 else None), report


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
