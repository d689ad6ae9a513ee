"""Is a condition negated in its sentence? medspaCy's ConText as features, a learnt model on top.

ConText's rules (NegEx's trigger terms with their scope) are strong but fixed; the model adds the words
around the target, so corpus-specific wordings ("free of", "resolved", "rule out ... with") and scope
mistakes can be learnt. Its features: ConText's verdict and the categories and literals of the modifiers
it attaches to the target, plus the words just before and after the target (with their distance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from spacy.language import Language
from spacy.tokens import Doc, Span

from kg.mining.classifiers.corpora import NegationExample
from kg.mining.classifiers.persistence import load_pickled, save_pickled
from kg.mining.classifiers.text_features import NEGATION

MODEL_FILE = "negation.pkl"
META_FILE = "negation.json"


@dataclass(frozen=True)
class Target:
    """A sentence and the character range of the condition whose negation is asked."""

    sentence: str
    start: int
    end: int

    @classmethod
    def of(cls, sentence: str, condition: str) -> Target:
        """The condition's first occurrence (case-insensitive); the whole sentence when it is absent."""
        i = sentence.lower().find(condition.lower()) if condition else -1
        return cls(sentence, i, i + len(condition)) if i >= 0 else cls(sentence, 0, len(sentence))


@dataclass(frozen=True)
class NegationPrediction:
    negated: bool
    probability: float
    """Probability that the target is negated."""
    rule_negated: bool
    """ConText's own verdict."""


@lru_cache(maxsize=1)
def _context_nlp() -> Language:
    """A blank English tokenizer + sentencizer + medspaCy ConText with its default rules."""
    import medspacy  # noqa: F401  (registers medspacy_context)
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("medspacy_context")
    return nlp


def _target_span(doc: Doc, t: Target) -> Span:
    span = doc.char_span(t.start, t.end, label="TARGET", alignment_mode="expand") if t.end > t.start else None
    if span is None or len(span) == 0:
        span = Span(doc, 0, len(doc), label="TARGET")
    return span


def _features(doc: Doc, ent: Span) -> tuple[bool, tuple[str, ...]]:
    """ConText's verdict on one target of a processed doc and the feature strings the model reads."""
    rule = bool(ent._.is_negated)
    feats = [f"RULE_{rule}", f"RULE_UNCERTAIN_{bool(ent._.is_uncertain)}",
             f"RULE_HYPOTHETICAL_{bool(ent._.is_hypothetical)}"]
    for mod in ent._.modifiers:
        cat = mod.category
        m_start, m_end = mod.modifier_span
        feats.append("MOD_" + cat)
        feats.append(f"MODLIT_{cat}_{'_'.join(doc[m_start:m_end].text.lower().split())}")
        gap = (ent.start - m_end) if m_end <= ent.start else (m_start - ent.end)
        feats.append(f"MODGAP_{cat}_{min(max(gap, 0), 8) // 2}")
    before = [tok.lower_ for tok in doc[max(0, ent.start - 6):ent.start]]
    after = [tok.lower_ for tok in doc[ent.end:ent.end + 4]]
    for i, w in enumerate(reversed(before)):
        feats.append(f"B{min(i, 3)}_{w}")
        feats.append(f"B_{w}")
    for i, w in enumerate(after):
        feats.append(f"A{min(i, 2)}_{w}")
    feats.append(f"NEG_BEFORE_{any(w in NEGATION for w in before)}")
    feats.append(f"NEG_AFTER_{any(w in NEGATION for w in after)}")
    feats.append("TARGET_LEN_" + str(min(len(ent), 5)))
    return rule, tuple(feats)


def _run_context(doc: Doc, spans: list[Span]) -> Doc:
    doc.ents = spans
    for _, proc in _context_nlp().pipeline:
        doc = proc(doc)
    return doc


def context_features(t: Target) -> tuple[bool, list[str]]:
    """ConText's verdict on the target and the feature strings the model reads."""
    rule, feats = context_features_many([t])[0]
    return rule, list(feats)


def context_features_many(targets: Sequence[Target]) -> list[tuple[bool, tuple[str, ...]]]:
    """Features of many targets: the distinct, non-overlapping targets of one sentence share one ConText
    run (ConText finds a sentence's modifiers once and attaches them to every target in their scope)."""
    nlp = _context_nlp()
    found: dict[tuple[str, int, int], tuple[bool, tuple[str, ...]]] = {}
    by_sentence: dict[str, list[Target]] = {}
    for t in targets:
        by_sentence.setdefault(t.sentence, []).append(t)
    for sentence, ts in by_sentence.items():
        pending = list(dict.fromkeys(ts))
        while pending:
            doc = nlp.make_doc(sentence)
            taken: list[tuple[Target, Span]] = []
            rest: list[Target] = []
            for t in pending:
                span = _target_span(doc, t)
                if any(span.start < s.end and s.start < span.end for _, s in taken):
                    rest.append(t)
                else:
                    taken.append((t, span))
            doc = _run_context(doc, sorted((s for _, s in taken), key=lambda s: s.start))
            by_range = {(e.start, e.end): e for e in doc.ents}
            for t, span in taken:
                found[(t.sentence, t.start, t.end)] = _features(doc, by_range[(span.start, span.end)])
            pending = rest
    return [found[(t.sentence, t.start, t.end)] for t in targets]


def rule_baseline(targets: Sequence[Target]) -> list[bool]:
    """ConText alone (default rules)."""
    return [rule for rule, _ in context_features_many(targets)]


@dataclass
class NegationModel:
    vectorizer: TfidfVectorizer
    classifier: LogisticRegression
    threshold: float = 0.5
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    report: dict[str, Any] = field(default_factory=dict)

    def predict(self, targets: Sequence[Target]) -> list[NegationPrediction]:
        if not targets:
            return []
        rules, feats = zip(*context_features_many(targets), strict=True)
        proba = self.classifier.predict_proba(self.vectorizer.transform([" ".join(f) for f in feats]))[:, 1]
        return [NegationPrediction(bool(p >= self.threshold), round(float(p), 4), bool(r))
                for p, r in zip(proba, rules, strict=True)]

    def save(self, folder: Path | str) -> Path:
        return save_pickled(self, folder, MODEL_FILE, META_FILE, {"trained_at": self.trained_at, **self.report})

    @classmethod
    def load(cls, folder: Path | str) -> NegationModel:
        return load_pickled(cls, folder, MODEL_FILE)


def targets_of(examples: Sequence[NegationExample]) -> list[Target]:
    return [Target.of(e.sentence, e.condition) for e in examples]


def _fit(feats: Sequence[str], y: np.ndarray, c: float) -> tuple[TfidfVectorizer, LogisticRegression]:
    vec = TfidfVectorizer(token_pattern=r"\S+", lowercase=False, sublinear_tf=True)
    x = vec.fit_transform(feats)
    return vec, LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x, y)


def train_negation(examples: Sequence[NegationExample], *, c: float = 1.0,
                   c_grid: Sequence[float] | None = None, folds: int = 5, seed: int = 0) -> NegationModel:
    """Fit the model on labelled examples (ConText features + context words).

    With ``c_grid``, C is chosen by stratified ``folds``-fold cross-validation (negated-class F1) on the
    examples; ConText runs once per example either way.
    """
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    y = np.array([e.negated for e in examples], dtype=bool)
    if y.all() or not y.any():
        raise ValueError("negation training needs negated and affirmed examples")
    feats = [" ".join(f) for _, f in context_features_many(targets_of(examples))]
    cv: dict[str, float] = {}
    for cand in c_grid or ():
        pred = np.zeros(len(y), dtype=bool)
        for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(feats, y):
            vec, clf = _fit([feats[i] for i in tr], y[tr], cand)
            pred[te] = clf.predict(vec.transform([feats[i] for i in te]))
        cv[str(cand)] = round(float(f1_score(y, pred)), 4)
    if cv:
        c = float(max(cv, key=lambda k: (cv[k], -float(k))))
    vec, clf = _fit(feats, y, c)
    report: dict[str, Any] = {"training_examples": len(examples), "negated": int(y.sum()), "C": c}
    if cv:
        report["cv_f1"] = cv
    return NegationModel(vec, clf, report=report)
