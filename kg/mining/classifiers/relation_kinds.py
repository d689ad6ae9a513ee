"""Relation kind of two mentions in a sentence: causes, treats, prevents, associated-with or none.

Directed kinds come in two classes, ``causes>`` (the first mention causes the second) and ``causes<``
(the second causes the first), so the direction is a prediction read from the wording, never from the
entity types (no feature names a type). Training signal, sentence by sentence (see
:func:`bc5cdr_examples`, :func:`biored_examples`, :func:`ade_examples` for the exact mappings):

* BC5CDR chemical-induced disease (CID) pairs -> ``causes`` (chemical -> disease);
* BioRED chemical-disease relations: Positive_Correlation -> ``causes``, Negative_Correlation ->
  ``treats`` (``prevents`` when a prevention cue joins the pair), Association -> ``associated``;
* ADE drug -> adverse effect pairs -> ``causes``; pairs of ADE-NEG sentences (no adverse effect) ->
  ``none``;
* co-occurring pairs without a gold relation -> ``none``, except (weak labels) BC5CDR pairs joined by a
  treatment, prevention or decrease cue, which become ``treats`` / ``prevents``: BC5CDR annotates only
  chemical-induced disease, and its treated-disease pairs would otherwise teach that "X treats Y" is no
  relation at all. "Joined" means the cue word lies between the mentions or on the dependency path
  that links them; a decrease cue ("reduced", "lowered") joined with a risk word ("risk", "incidence")
  means prevention, without one treatment (:func:`weak_benefit_kind`).
* a gold pair whose two mentions are only listed together in the sentence ("X and Y were noted",
  :func:`~.pair_features.coordinated`) is left out: BC5CDR and BioRED label documents, not sentences,
  and such a sentence states no relation; a pair without gold relation stays ``none`` there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold
from sklearn.svm import LinearSVC
from spacy.tokens import Doc, Span

from kg.mining.classifiers.corpora import Abstract
from kg.mining.classifiers.pair_features import coordinated, dependency_path, pair_features
from kg.mining.classifiers.persistence import load_pickled, save_pickled
from kg.mining.classifiers.sentence_pairs import sentence_pairs
from kg.mining.classifiers.text_features import DECREASE, PREVENTION, RISK, TREATMENT, lemma, parse

MODEL_FILE = "relation_kinds.pkl"
META_FILE = "relation_kinds.json"

RELATION_KINDS: tuple[str, ...] = ("causes", "treats", "prevents", "associated", "none")
DIRECTED: tuple[str, ...] = ("causes", "treats", "prevents")
CLASSES: tuple[str, ...] = ("causes>", "causes<", "treats>", "treats<", "prevents>", "prevents<", "associated",
                            "none")
BIORED_KIND = {"Positive_Correlation": "causes", "Negative_Correlation": "treats", "Association": "associated"}
"""BioRED chemical-disease types -> kinds (other BioRED types are left out of training)."""


def directed(kind: str, subject_first: bool) -> str:
    """The class of ``kind`` with its subject first (``>``) or second (``<``)."""
    if kind not in DIRECTED:
        return kind
    return kind + (">" if subject_first else "<")


@dataclass(frozen=True)
class RelationPrediction:
    """What a sentence says about two of its mentions."""

    kind: str
    """One of :data:`RELATION_KINDS`."""
    subject_first: bool
    """For directed kinds: whether the first mention (in text order) is the subject."""
    confidence: float
    probabilities: tuple[tuple[str, float], ...]
    """Probability of each class of :data:`CLASSES`."""

    def probability(self, cls: str) -> float:
        return dict(self.probabilities).get(cls, 0.0)

    def kind_probability(self, kind: str, first_is_subject: bool | None = None) -> float:
        """P(kind), over both directions unless ``first_is_subject`` picks one."""
        if kind not in DIRECTED:
            return self.probability(kind)
        if first_is_subject is None:
            return self.probability(kind + ">") + self.probability(kind + "<")
        return self.probability(directed(kind, first_is_subject))


@dataclass(frozen=True)
class PairExample:
    """A labelled mention pair: its features, class, the document it came from and its corpus."""

    features: str
    label: str
    group: str
    corpus: str


def ordered(a: Span, b: Span) -> tuple[Span, Span, bool]:
    """The two spans in text order, and whether ``a`` came first."""
    return (a, b, True) if a.start <= b.start else (b, a, False)


def features_of(a: Span, b: Span, others_between: int = 0) -> str:
    first, second, _ = ordered(a, b)
    return " ".join(pair_features(first, second, others_between=others_between))


def _cue_joins(first: Span, second: Span, words: frozenset[str]) -> bool:
    doc = first.doc
    between = {lemma(t) for t in doc[first.end:second.start]}
    _, nodes = dependency_path(first.root, second.root)
    return bool((between | {lemma(t) for t in nodes}) & words)


def weak_benefit_kind(first: Span, second: Span) -> str | None:
    """``prevents`` / ``treats`` when a prevention, decrease or treatment cue joins the pair, else None."""
    if _cue_joins(first, second, PREVENTION) or (_cue_joins(first, second, DECREASE)
                                                  and _cue_joins(first, second, RISK)):
        return "prevents"
    if _cue_joins(first, second, TREATMENT) or _cue_joins(first, second, DECREASE):
        return "treats"
    return None


def bc5cdr_examples(abstracts: Sequence[Abstract], docs: Sequence[Doc] | None = None) -> list[PairExample]:
    """Chemical-disease pairs of each sentence: CID -> causes, treatment / prevention cue -> weak labels."""
    docs = docs if docs is not None else parse([a.text for a in abstracts])
    out = []
    for a, doc in zip(abstracts, docs, strict=True):
        gold = {(r.id1, r.id2) for r in a.relations if r.kind == "CID"}
        for pair in sentence_pairs(doc, a.mentions, "Chemical", "Disease"):
            c, e, sc, se, between = pair.cause_id, pair.effect_id, pair.cause, pair.effect, pair.between
            first, second, chem_first = ordered(sc, se)
            benefit = weak_benefit_kind(first, second)
            if (c, e) in gold and coordinated(first, second):
                continue
            if (c, e) in gold:
                label = directed("causes", chem_first)
            elif benefit is not None:
                label = directed(benefit, chem_first)
            else:
                label = "none"
            out.append(PairExample(features_of(sc, se, between), label, "bc5cdr:" + a.pmid, "bc5cdr"))
    return out


def biored_examples(abstracts: Sequence[Abstract], docs: Sequence[Doc] | None = None) -> list[PairExample]:
    """Chemical-disease pairs of each sentence, labelled by the document's BioRED relation (see module doc)."""
    docs = docs if docs is not None else parse([a.text for a in abstracts])
    out = []
    for a, doc in zip(abstracts, docs, strict=True):
        rel: dict[frozenset[str], str] = {}
        for r in a.relations:
            rel[frozenset((r.id1, r.id2))] = r.kind
        for pair in sentence_pairs(doc, a.mentions, "Chemical", "Disease"):
            c, e, sc, se, between = pair.cause_id, pair.effect_id, pair.cause, pair.effect, pair.between
            first, second, chem_first = ordered(sc, se)
            kind_raw = rel.get(frozenset((c, e)))
            if kind_raw is None:
                label = "none"
            elif kind_raw not in BIORED_KIND or coordinated(first, second):
                continue
            else:
                kind = BIORED_KIND[kind_raw]
                if kind == "treats" and weak_benefit_kind(first, second) == "prevents":
                    kind = "prevents"
                label = directed(kind, chem_first)
            out.append(PairExample(features_of(sc, se, between), label, "biored:" + a.pmid, "biored"))
    return out


Recognise = Callable[[Sequence[Doc]], list[list[Span]]]
"""Something that finds (chemical and disease) entity spans in parsed sentences."""


def ade_examples(sentences: Sequence[Any], recognise: Recognise | None = None) -> list[PairExample]:
    """ADE sentences (:class:`kg.mining.literature.gold_corpora.AdeSentence`-like: ``pmid``, ``text``, ``relations`` with
    ``drug_span`` / ``effect_span``): gold drug -> effect pairs are ``causes``, other annotated drug x
    effect pairs ``none``; sentences without relations (ADE-NEG) give ``none`` pairs between the
    chemicals and diseases that ``recognise`` finds (skipped without it)."""
    docs = parse([s.text for s in sentences])
    neg_idx = [i for i, s in enumerate(sentences) if not s.relations]
    found: dict[int, list[Span]] = {}
    if recognise is not None and neg_idx:
        for i, spans in zip(neg_idx, recognise([docs[i] for i in neg_idx]), strict=True):
            found[i] = spans
    out = []
    for i, (s, doc) in enumerate(zip(sentences, docs, strict=True)):
        group = "ade:" + s.pmid
        if s.relations:
            drugs = {r.drug_span for r in s.relations}
            effects = {r.effect_span for r in s.relations}
            gold = {(r.drug_span, r.effect_span) for r in s.relations}
            for d in drugs:
                for e in effects:
                    sd = doc.char_span(d[0], d[1], alignment_mode="expand")
                    se = doc.char_span(e[0], e[1], alignment_mode="expand")
                    if sd is None or se is None or sd.start < se.end and se.start < sd.end:
                        continue
                    if (d, e) in gold and coordinated(*ordered(sd, se)[:2]):
                        continue
                    label = directed("causes", sd.start < se.start) if (d, e) in gold else "none"
                    out.append(PairExample(features_of(sd, se), label, group, "ade"))
        else:
            spans = found.get(i, [])
            chems = [x for x in spans if x.label_ == "Chemical"]
            dis = [x for x in spans if x.label_ == "Disease"]
            for c in chems:
                for d in dis:
                    out.append(PairExample(features_of(c, d), "none", group, "ade-neg"))
    return out


@dataclass
class RelationKindModel:
    """Fitted vectorizer and calibrated linear classifier over :data:`CLASSES`."""

    vectorizer: TfidfVectorizer
    classifier: CalibratedClassifierCV
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    report: dict[str, Any] = field(default_factory=dict)

    def predict_features(self, features: Sequence[str]) -> list[RelationPrediction]:
        if not features:
            return []
        proba = self.classifier.predict_proba(self.vectorizer.transform(features))
        classes = [str(c) for c in self.classifier.classes_]
        out = []
        for row in proba:
            probs = {c: float(p) for c, p in zip(classes, row, strict=True)}
            kinds = {k: probs.get(k + ">", 0.0) + probs.get(k + "<", 0.0) for k in DIRECTED}
            kinds.update({k: probs.get(k, 0.0) for k in ("associated", "none")})
            kind = max(kinds, key=lambda k: kinds[k])
            first = probs.get(kind + ">", 0.0) >= probs.get(kind + "<", 0.0) if kind in DIRECTED else True
            out.append(RelationPrediction(kind, first, round(kinds[kind], 4),
                                          tuple((c, round(probs.get(c, 0.0), 4)) for c in CLASSES)))
        return out

    def predict(self, pairs: Sequence[tuple[Span, Span]]) -> list[RelationPrediction]:
        """One prediction per (a, b) span pair of one sentence; ``subject_first`` refers to text order."""
        return self.predict_features([features_of(a, b) for a, b in pairs])

    def save(self, folder: Path | str) -> Path:
        return save_pickled(self, folder, MODEL_FILE, META_FILE, {"trained_at": self.trained_at, **self.report})

    @classmethod
    def load(cls, folder: Path | str) -> RelationKindModel:
        return load_pickled(cls, folder, MODEL_FILE)


def _fit(features: Sequence[str], labels: np.ndarray, c: float) -> tuple[TfidfVectorizer, CalibratedClassifierCV]:
    vec = TfidfVectorizer(token_pattern=r"\S+", lowercase=False, sublinear_tf=True, min_df=1)
    x = vec.fit_transform(features)
    counts = np.unique(labels, return_counts=True)[1]
    folds = max(2, min(3, int(counts.min())))
    svm = LinearSVC(C=c, class_weight="balanced", random_state=0)
    clf = CalibratedClassifierCV(svm, method="sigmoid", cv=folds, ensemble=False)
    clf.fit(x, labels)
    return vec, clf


def train_relation_kinds(examples: Sequence[PairExample], *, c_grid: Sequence[float] = (0.03, 0.1, 0.3),
                         folds: int = 4, cross_validate: bool = True) -> RelationKindModel:
    """Choose C by document-grouped cross-validation (macro F1 over the kinds), then fit on all examples.

    Without ``cross_validate`` the first C of ``c_grid`` is used as it is.
    """
    labels = np.array([e.label for e in examples])
    if len(set(labels)) < 2:
        raise ValueError("relation-kind training needs at least two classes")
    feats = [e.features for e in examples]
    groups = np.array([e.group for e in examples])
    folds = max(2, min(folds, len(set(groups))))
    kinds = np.array([e.label.rstrip("<>") for e in examples])
    cv: dict[float, float] = {}
    for c in c_grid if cross_validate else ():
        pred = np.empty(len(examples), dtype=object)
        for tr, te in GroupKFold(folds).split(feats, labels, groups):
            vec, clf = _fit([feats[i] for i in tr], labels[tr], c)
            pred[te] = clf.predict(vec.transform([feats[i] for i in te]))
        cv[c] = float(f1_score(kinds, [str(p).rstrip("<>") for p in pred], average="macro"))
    best = max(cv, key=lambda k: cv[k]) if cv else c_grid[0]
    vec, clf = _fit(feats, labels, best)
    counts = {str(k): int(v) for k, v in zip(*np.unique(labels, return_counts=True), strict=True)}
    corpora = {str(k): int(v) for k, v in zip(*np.unique([e.corpus for e in examples], return_counts=True),
                                              strict=True)}
    report = {"training_pairs": len(examples), "classes": counts, "corpora": corpora, "C": best,
              "cv_kind_macro_f1": {str(k): round(v, 4) for k, v in cv.items()}, "folds": folds}
    return RelationKindModel(vec, clf, report=report)
