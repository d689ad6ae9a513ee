"""Document-level cause -> effect scoring (BC5CDR's chemical-induced disease task) on top of sentence kinds.

A document states a relation in one sentence, or only across sentences (the title names the drug, a
later sentence the disease). Each (cause id, effect id) pair of an abstract gets features that sum up
its sentence-level kind probabilities (from :class:`RelationKindModel`, out of fold while training) and
its place in the abstract (title, frequency, first mention, co-occurrence), plus what the training
corpus says about the pair; gradient-boosted trees turn them into a probability, and the threshold with
the best cross-validated F1 decides.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from spacy.tokens import Doc, Span

from kg.mining.classifiers.corpora import Abstract, Mention
from kg.mining.classifiers.persistence import load_pickled, save_pickled
from kg.mining.classifiers.relation_kinds import (
    PairExample,
    RelationKindModel,
    RelationPrediction,
    features_of,
    train_relation_kinds,
)
from kg.mining.classifiers.sentence_pairs import SentencePair, mention_spans, sentence_pairs

MODEL_FILE = "document_relations.pkl"
META_FILE = "document_relations.json"

DOC_FEATURES: tuple[str, ...] = (
    "p_cause_max", "p_cause_mean", "p_reverse_max", "p_benefit_max", "p_assoc_max", "p_none_min",
    "n_cooc", "adjacent", "cause_in_title", "effect_in_title", "both_in_title", "freq_cause", "freq_effect",
    "top_cause", "top_effect", "n_causes", "n_effects", "first_cause", "first_effect", "effect_in_last",
    "effect_specific", "cause_best_any", "effect_best_any", "pair_rank_for_cause", "n_sentences",
    "prior_pair", "prior_cause", "prior_effect", "prior_pair_seen",
)


@dataclass(frozen=True)
class Priors:
    """What the training corpus says about pairs and single concepts (shares of documents)."""

    pair: dict[tuple[str, str], float] = field(default_factory=dict)
    pair_seen: dict[tuple[str, str], int] = field(default_factory=dict)
    cause: dict[str, float] = field(default_factory=dict)
    effect: dict[str, float] = field(default_factory=dict)

    @classmethod
    def learn(cls, abstracts: Iterable[Abstract], relation: str = "CID", cause_kind: str = "Chemical",
              effect_kind: str = "Disease") -> Priors:
        pp: Counter[tuple[str, str]] = Counter()
        pa: Counter[tuple[str, str]] = Counter()
        cp: Counter[str] = Counter()
        ca: Counter[str] = Counter()
        ep: Counter[str] = Counter()
        ea: Counter[str] = Counter()
        for a in abstracts:
            causes = {i for m in a.mentions if m.kind == cause_kind for i in m.ids[:1]}
            effects = {i for m in a.mentions if m.kind == effect_kind for i in m.ids[:1]}
            rel = {(r.id1, r.id2) for r in a.relations if r.kind == relation}
            for c in causes:
                ca[c] += 1
                cp[c] += any(r[0] == c for r in rel)
                for e in effects:
                    pa[(c, e)] += 1
                    pp[(c, e)] += (c, e) in rel
            for e in effects:
                ea[e] += 1
                ep[e] += any(r[1] == e for r in rel)
        return cls({k: pp[k] / n for k, n in pa.items()}, dict(pa), {k: cp[k] / n for k, n in ca.items()},
                   {k: ep[k] / n for k, n in ea.items()})

    def features(self, c: str, e: str) -> tuple[float, float, float, float]:
        return (self.pair.get((c, e), -1.0), self.cause.get(c, -1.0), self.effect.get(e, -1.0),
                math.log1p(self.pair_seen.get((c, e), 0)))


@dataclass(frozen=True)
class DocumentCandidate:
    """A (cause id, effect id) pair of one document with its features and best evidence sentence."""

    doc_id: str
    cause_id: str
    effect_id: str
    features: tuple[float, ...]
    evidence: tuple[int, int] | None
    """Character range of the sentence with the highest cause probability (None: never in one sentence)."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.doc_id, self.cause_id, self.effect_id)


SentenceScorer = Callable[[Sequence[str]], list[RelationPrediction]]


def document_candidates(doc_id: str, title_end: int, doc: Doc, mentions: Sequence[Mention],
                        predictions: dict[tuple[str, str], list[tuple[SentencePair, RelationPrediction]]],
                        priors: Priors | None = None, cause_kind: str = "Chemical",
                        effect_kind: str = "Disease") -> list[DocumentCandidate]:
    """Every (cause, effect) concept pair of the document with its features (:data:`DOC_FEATURES`)."""
    spans = mention_spans(doc, mentions)
    sents = list(doc.sents)
    sent_index = {s.start: i for i, s in enumerate(sents)}
    n_sents = max(1, len(sents))
    causes: dict[str, list[Span]] = defaultdict(list)
    effects: dict[str, list[Span]] = defaultdict(list)
    for m, s in spans:
        if m.kind == cause_kind:
            causes[m.ids[0]].append(s)
        elif m.kind == effect_kind:
            effects[m.ids[0]].append(s)
    if not causes or not effects:
        return []
    top_c = max(len(v) for v in causes.values())
    top_e = max(len(v) for v in effects.values())
    texts = {e: {s.text.lower() for s in ss} for e, ss in effects.items()}
    specific = {e: 0.0 if any(t != u and t in u for o, us in texts.items() if o != e for u in us for t in ts) else 1.0
                for e, ts in texts.items()}

    def p_cause(c: str, e: str) -> list[float]:
        return [pr.kind_probability("causes", sp.cause_first) for sp, pr in predictions.get((c, e), [])]

    best_cause = {c: max((max(p_cause(c, e), default=0.0) for e in effects), default=0.0) for c in causes}
    best_effect = {e: max((max(p_cause(c, e), default=0.0) for c in causes), default=0.0) for e in effects}
    pp = priors or Priors()
    out = []
    for c, cs in causes.items():
        ranked = sorted(((max(p_cause(c, e), default=0.0), e) for e in effects), reverse=True)
        rank = {e: i for i, (_, e) in enumerate(ranked)}
        for e, es in effects.items():
            if c == e:
                continue
            preds = predictions.get((c, e), [])
            pc = p_cause(c, e)
            rev = [pr.kind_probability("causes", not sp.cause_first) for sp, pr in preds]
            benefit = [pr.kind_probability("treats") + pr.kind_probability("prevents") for _, pr in preds]
            c_sents = {sent_index[s.sent.start] for s in cs}
            e_sents = {sent_index[s.sent.start] for s in es}
            c_title = any(s.start_char < title_end for s in cs)
            e_title = any(s.start_char < title_end for s in es)
            feats = (
                max(pc, default=0.0), float(np.mean(pc)) if pc else 0.0, max(rev, default=0.0),
                max(benefit, default=0.0), max((pr.kind_probability("associated") for _, pr in preds), default=0.0),
                min((pr.kind_probability("none") for _, pr in preds), default=1.0),
                math.log1p(len(c_sents & e_sents)), float(any(abs(a - b) <= 1 for a in c_sents for b in e_sents)),
                float(c_title), float(e_title), float(c_title and e_title),
                math.log1p(len(cs)), math.log1p(len(es)), float(len(cs) == top_c), float(len(es) == top_e),
                math.log1p(len(causes)), math.log1p(len(effects)), min(c_sents) / n_sents, min(e_sents) / n_sents,
                float(max(e_sents) >= n_sents - 2), specific[e], best_cause[c], best_effect[e],
                float(min(rank[e], 9)), math.log1p(n_sents), *pp.features(c, e),
            )
            evidence = None
            if preds:
                sp, _ = max(preds, key=lambda x: x[1].kind_probability("causes", x[0].cause_first))
                evidence = (sp.cause.sent.start_char, sp.cause.sent.end_char)
            out.append(DocumentCandidate(doc_id, c, e, feats, evidence))
    return out


def predict_sentence_pairs(pairs: Sequence[SentencePair], model: RelationKindModel | SentenceScorer
                           ) -> dict[tuple[str, str], list[tuple[SentencePair, RelationPrediction]]]:
    feats = [features_of(p.cause, p.effect, p.between) for p in pairs]
    preds = model.predict_features(feats) if isinstance(model, RelationKindModel) else model(feats)
    out: dict[tuple[str, str], list[tuple[SentencePair, RelationPrediction]]] = defaultdict(list)
    for p, pr in zip(pairs, preds, strict=True):
        out[(p.cause_id, p.effect_id)].append((p, pr))
    return out


def _trees() -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, max_leaf_nodes=15,
                                          l2_regularization=1.0, random_state=0)


def _fit_trees(x: np.ndarray, y: np.ndarray) -> HistGradientBoostingClassifier:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        return _trees().fit(x, y)


def best_threshold(scores: np.ndarray, y: np.ndarray, n_gold: int) -> tuple[float, float]:
    """Threshold with the best F1 (recall over ``n_gold``, which counts gold pairs never proposed)."""
    best = (0.5, 0.0)
    for th in np.arange(0.05, 0.95, 0.01):
        pred = scores >= th
        tp = int((pred & y).sum())
        p = tp / max(1, int(pred.sum()))
        r = tp / max(1, n_gold)
        f = 2 * p * r / (p + r) if p + r else 0.0
        if f > best[1]:
            best = (float(th), f)
    return best


@dataclass
class DocumentRelationScorer:
    """Sentence kind model + trees over document features + priors + threshold."""

    sentences: RelationKindModel
    trees: HistGradientBoostingClassifier
    priors: Priors
    threshold: float
    cause_kind: str = "Chemical"
    effect_kind: str = "Disease"
    trained_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    report: dict[str, Any] = field(default_factory=dict)

    def candidates(self, doc_id: str, title_end: int, doc: Doc, mentions: Sequence[Mention]
                   ) -> list[DocumentCandidate]:
        pairs = sentence_pairs(doc, mentions, self.cause_kind, self.effect_kind)
        preds = predict_sentence_pairs(pairs, self.sentences)
        return document_candidates(doc_id, title_end, doc, mentions, preds, self.priors, self.cause_kind,
                                   self.effect_kind)

    def score(self, cands: Sequence[DocumentCandidate]) -> np.ndarray:
        if not cands:
            return np.zeros(0)
        return self.trees.predict_proba(np.array([c.features for c in cands]))[:, 1]

    def save(self, folder: Path | str) -> Path:
        return save_pickled(self, folder, MODEL_FILE, META_FILE,
                            {"trained_at": self.trained_at, "threshold": self.threshold, **self.report})

    @classmethod
    def load(cls, folder: Path | str) -> DocumentRelationScorer:
        return load_pickled(cls, folder, MODEL_FILE)


def train_document_scorer(abstracts: Sequence[Abstract], docs: Sequence[Doc],
                          sentence_examples: Sequence[PairExample], *, folds: int = 4, c: float = 0.3,
                          relation: str = "CID", seed: int = 0,
                          progress: Callable[[str], None] | None = None) -> DocumentRelationScorer:
    """Fit on ``abstracts`` (with gold mentions and ``relation`` pairs) and their parsed ``docs``.

    ``sentence_examples`` are all sentence-level training pairs; those whose group is ``<corpus>:<pmid>``
    of an abstract in a held-out fold are left out of that fold's sentence model, so every document
    feature of a training row comes from a sentence model that never saw its document; priors likewise
    come from the other folds.
    """
    if len(abstracts) < folds:
        raise ValueError(f"need at least {folds} training abstracts, got {len(abstracts)}")
    order = np.random.default_rng(seed).permutation(len(abstracts))
    fold_of = np.empty(len(abstracts), dtype=int)
    for k, part in enumerate(np.array_split(order, folds)):
        fold_of[part] = k
    pmid_fold = {a.pmid: int(fold_of[i]) for i, a in enumerate(abstracts)}
    rows: list[DocumentCandidate] = []
    y: list[bool] = []
    n_gold = 0
    for k in range(folds):
        train_ex = [e for e in sentence_examples if pmid_fold.get(e.group.split(":", 1)[1], -1) != k]
        model = train_relation_kinds(train_ex, c_grid=(c,), folds=2, cross_validate=False)
        priors = Priors.learn([a for i, a in enumerate(abstracts) if fold_of[i] != k], relation)
        for i in np.where(fold_of == k)[0]:
            a, doc = abstracts[i], docs[i]
            gold = {(r.id1, r.id2) for r in a.relations if r.kind == relation}
            n_gold += len(gold)
            pairs = sentence_pairs(doc, a.mentions)
            cands = document_candidates(a.pmid, a.title_end, doc, a.mentions, predict_sentence_pairs(pairs, model),
                                        priors)
            rows += cands
            y += [(c_.cause_id, c_.effect_id) in gold for c_ in cands]
        if progress is not None:
            progress(f"fold {k + 1}/{folds}")
    x = np.array([r.features for r in rows])
    ya = np.array(y, dtype=bool)
    row_doc = {a.pmid: i for i, a in enumerate(abstracts)}
    row_fold = np.array([fold_of[row_doc[r.doc_id]] for r in rows])
    oof = np.zeros(len(rows))
    for k in range(folds):
        tr, te = row_fold != k, row_fold == k
        oof[te] = _fit_trees(x[tr], ya[tr]).predict_proba(x[te])[:, 1]
    threshold, cv_f1 = best_threshold(oof, ya, n_gold)
    trees = _fit_trees(x, ya)
    sentences = train_relation_kinds(sentence_examples, c_grid=(c,), folds=2, cross_validate=False)
    report = {"training_abstracts": len(abstracts), "candidate_pairs": len(rows), "positive_pairs": int(ya.sum()),
              "gold_pairs": n_gold, "cv_f1": round(cv_f1, 4), "threshold": round(threshold, 2), "folds": folds,
              "sentence_model": sentences.report}
    return DocumentRelationScorer(sentences, trees, Priors.learn(abstracts, relation), threshold, report=report)
