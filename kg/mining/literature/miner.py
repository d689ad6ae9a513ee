"""The literature miner: pipeline, candidate pairs, relation classifier, claims.

With a trained relation model, a pair becomes a positive claim when its calibrated confidence reaches
the model's threshold (or ``min_confidence``). Statements the patterns find negated ("X did not cause
Y") become negative claims instead of being dropped. Without a model, the miner falls back to the
patterns alone, with rule confidences.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kg.claims import CausalClaim, Concept, ConceptKind, SourceSpan, concept_iri_for
from kg.concepts import FINDING_CONCEPTS, OTHER_CONCEPTS
from kg.mining.core.documents import DocOutput, Document
from kg.mining.literature.lexicon import LEXICON_FILE
from kg.mining.literature.pipeline import build_literature_nlp
from kg.mining.literature.relation_model import RELATION_EXTRACTOR, RELATION_MODEL_VERSION, RelationModel
from kg.mining.literature.relations import Candidate, candidates, set_gold_entities

log = logging.getLogger(__name__)

PATTERN_CONFIDENCE = {"strong": 0.7, "dependency": 0.6, "negated": 0.6}
"""Rule confidences for pattern-only claims (no trained model) and for negated statements."""

_BY_CURIE: dict[str, Concept] = {m: c for c in [*FINDING_CONCEPTS.values(), *OTHER_CONCEPTS.values()]
                                 for m in c.mappings}


def concept_for(curie: str, label: str, kind: str) -> Concept:
    """The concept-table entry that maps to this id, else a MeSH / HPO / DOID concept of its own."""
    known = _BY_CURIE.get(curie)
    if known is not None:
        return known
    ck: ConceptKind = "Chemical" if kind == "Chemical" else "Disease"
    if ":" not in curie:  # a text key (ADE-style mentions without ids)
        return Concept(concept_iri_for(f"term {curie}"), label or curie, ck, ())
    return Concept(concept_iri_for(curie), label or curie, ck, (curie,))


class LiteratureMiner:
    """Holds the literature pipeline and (optionally) the relation model."""

    def __init__(self, lexicon_path: Path | str | None, model_dir: Path | str | None = None, *,
                 min_confidence: float | None = None, gold_entities: bool = False, batch_size: int = 32) -> None:
        self.model = RelationModel.load(model_dir) if model_dir and (Path(model_dir) / "relation_model.pkl").is_file() else None
        if lexicon_path is None and model_dir is not None and (Path(model_dir) / LEXICON_FILE).is_file():
            lexicon_path = Path(model_dir) / LEXICON_FILE
        if lexicon_path is None and not gold_entities:
            raise FileNotFoundError("the literature miner needs an entity lexicon (or gold entities); "
                                    "train one with `mcrag mine train-relations`")
        self.nlp = build_literature_nlp(None if gold_entities else lexicon_path)
        self.gold_entities = gold_entities
        self.min_confidence = min_confidence
        self.batch_size = batch_size
        self._embed = None
        if self.model is not None and self.model.uses_embeddings:
            from kg.mining.literature.embeddings import EmbeddingCache

            self._embed = EmbeddingCache().embed
        self.version = RELATION_MODEL_VERSION + (f"+{self.model.trained_at}" if self.model else "+patterns")

    def candidates(self, docs: Sequence[Document]) -> list[list[Candidate]]:
        """Candidate pairs per document (gold mentions replace the matcher's in gold-entity mode)."""
        out = []
        patterns = self.nlp.get_pipe("mcrag_causal_patterns")
        for document, doc in zip(docs, self.nlp.pipe([d.text for d in docs], batch_size=self.batch_size),
                                 strict=True):
            if self.gold_entities:
                set_gold_entities(doc, document.mentions)
                patterns(doc)
            out.append(candidates(doc, document))
        return out

    def score(self, cands: Sequence[Candidate]) -> np.ndarray:
        if self.model is None:
            return np.array([_pattern_score(c) for c in cands])
        return self.model.confidence(cands, self._embed)

    @property
    def threshold(self) -> float:
        if self.min_confidence is not None:
            return self.min_confidence
        return self.model.threshold if self.model is not None else 0.5

    def mine(self, docs: Sequence[Document], when: datetime | None = None) -> list[DocOutput]:
        when = when or datetime.now(UTC)
        per_doc = self.candidates(docs)
        flat = [c for cs in per_doc for c in cs]
        scores = self.score(flat) if flat else np.zeros(0)
        by_doc = {d.doc_id: d for d in docs}
        claims: dict[str, list[CausalClaim]] = {d.doc_id: [] for d in docs}
        for cand, conf in zip(flat, scores, strict=True):
            claim = self._claim(cand, float(conf), by_doc[cand.doc_id], when)
            if claim is not None:
                claims[cand.doc_id].append(claim)
        return [DocOutput(d.doc_id, tuple(claims[d.doc_id])) for d in docs]

    def _claim(self, cand: Candidate, conf: float, document: Document, when: datetime) -> CausalClaim | None:
        if cand.polarity == "negative":
            conf = PATTERN_CONFIDENCE["negated"]
        elif conf < self.threshold:
            return None
        subject = concept_for(cand.cause_id, cand.cause_label, "Chemical")
        obj = concept_for(cand.effect_id, cand.effect_label, "Disease")
        if subject.iri == obj.iri:
            return None
        span = SourceSpan(document.doc_id, cand.sentence, cand.sentence_start, cand.sentence_end, document.source)
        return CausalClaim(subject=subject, object=obj, relation="causes", polarity=cand.polarity,  # type: ignore[arg-type]
                           certainty=cand.certainty, confidence=round(min(1.0, max(0.0, conf)), 4),  # type: ignore[arg-type]
                           span=span, extractor=RELATION_EXTRACTOR, extractor_version=self.version,
                           generated_at=when)


def _pattern_score(c: Candidate) -> float:
    from kg.mining.literature.relations import FEATURE_NAMES

    f = dict(zip(FEATURE_NAMES, c.features, strict=True))
    if f["strong_pattern"]:
        return PATTERN_CONFIDENCE["strong"]
    if f["dep_pattern"]:
        return PATTERN_CONFIDENCE["dependency"]
    return 0.0
