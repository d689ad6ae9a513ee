"""Training of the literature miner: entity lexicon and relation classifier from the training corpora.

BC5CDR training abstracts (gold chemical and disease mentions, document-level CID relations) and the
training part of the ADE corpus (drug -> adverse effect pairs per sentence, split by PMID) become
candidate pairs through the same pipeline the miner runs, with the gold mentions as entities.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from kg.mining.core.documents import Document, GoldMention
from kg.mining.literature.gold_corpora import AdeSentence, read_ade, read_bc5cdr, split_ade
from kg.mining.literature.lexicon import LEXICON_FILE, build_lexicon, normalise
from kg.mining.literature.pipeline import build_literature_nlp
from kg.mining.literature.relation_model import RelationModel, TrainingDoc, train_relation_model
from kg.mining.literature.relations import Candidate, candidates, set_gold_entities

log = logging.getLogger(__name__)


def ade_documents(sentences: Sequence[AdeSentence]) -> list[Document]:
    """ADE sentences as documents whose mentions and relations are keyed by normalised text."""
    out = []
    for i, s in enumerate(sentences):
        mentions: dict[tuple[int, int, str], GoldMention] = {}
        rels = []
        for r in s.relations:
            d, e = normalise(r.drug), normalise(r.effect)
            mentions[(*r.drug_span, "Chemical")] = GoldMention(*r.drug_span, r.drug, "Chemical", (d,))
            mentions[(*r.effect_span, "Disease")] = GoldMention(*r.effect_span, r.effect, "Disease", (e,))
            rels.append((d, e))
        out.append(Document(f"{s.pmid}-{i}", s.text, "ade", "abstract", mentions=tuple(mentions.values()),
                            relations=tuple(dict.fromkeys(rels))))
    return out


def gold_entity_candidates(docs: Sequence[Document], *, batch_size: int = 32,
                           progress: Callable[[int], None] | None = None) -> list[list[Candidate]]:
    """Candidates of each document with its gold mentions as the entities (patterns run on them)."""
    nlp = build_literature_nlp(None)
    patterns = nlp.get_pipe("mcrag_causal_patterns")
    out = []
    for document, doc in zip(docs, nlp.pipe([d.text for d in docs], batch_size=batch_size), strict=True):
        set_gold_entities(doc, document.mentions)
        patterns(doc)
        out.append(candidates(doc, document))
        if progress is not None:
            progress(1)
    return out


def training_docs(docs: Sequence[Document], corpus: str, cands: Sequence[list[Candidate]]) -> list[TrainingDoc]:
    return [TrainingDoc(cs, {(d.doc_id, c, e) for c, e in d.relations}, corpus, d if corpus == "bc5cdr" else None)
            for d, cs in zip(docs, cands, strict=True)]


def train_relations(model_dir: Path | str, bc5cdr_train: Path | str, *, ade_dir: Path | str | None = None,
                    ontology_dir: Path | str | None = None, embeddings: bool = False, folds: int = 5,
                    ade_seed: int = 13, embedding_cache: Path | str | None = None) -> RelationModel:
    """Build the entity lexicon and train the relation classifier; both are saved under ``model_dir``."""
    model_dir = Path(model_dir)
    train = read_bc5cdr(bc5cdr_train, "train")
    lexicon = build_lexicon(ontology_dir, train)
    lexicon.save(model_dir / LEXICON_FILE)
    docs = training_docs(train, "bc5cdr", gold_entity_candidates(train))
    if ade_dir is not None:
        ade_train, _ = split_ade(read_ade(ade_dir), seed=ade_seed)
        ade_docs = ade_documents([s for s in ade_train if s.relations])
        docs += training_docs(ade_docs, "ade", gold_entity_candidates(ade_docs))
    embed = None
    cache = None
    if embeddings:
        from kg.mining.literature.embeddings import EmbeddingCache

        cache = EmbeddingCache(embedding_cache)
        embed = cache.embed
    model = train_relation_model(docs, embed=embed, folds=folds)
    if cache is not None:
        cache.save()
    model.report["lexicon_terms"] = len(lexicon)
    model.save(model_dir)
    return model
