"""A learned chemical and disease recogniser: a spaCy NER component trained on gold corpus mentions.

The dictionary matcher finds only names its lexicon holds, so a drug first named in a new abstract is
never a candidate. This recogniser learns from BC5CDR training and BioRED training mentions instead;
its hashed embeddings read each word's prefix, suffix and shape besides its form, so unseen names that
look like drug or disease names ("-mab", "-itis", "-pril") are found. It is trained as a small
standalone spaCy pipeline (tokenizer + ``ner``) saved as a folder; the ``mcrag_entity_recognizer``
factory runs it inside another pipeline on that pipeline's tokens.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import filter_spans, minibatch

from kg.mining.classifiers.corpora import Abstract
from kg.mining.core.factory_annotations import resolved

log = logging.getLogger(__name__)

ENTITY_LABELS: tuple[str, ...] = ("Chemical", "Disease")
META_FILE = "recognizer.json"


@dataclass(frozen=True)
class EntityMention:
    """A recognised mention: character offsets into the text, the text and its kind."""

    start: int
    end: int
    text: str
    kind: str
    """``Chemical`` or ``Disease``."""


def _doc_with_gold(nlp: Language, abstract: Abstract) -> Doc:
    doc = nlp.make_doc(abstract.text)
    spans = []
    for m in abstract.mentions:
        if m.kind not in ENTITY_LABELS:
            continue
        span = doc.char_span(m.start, m.end, label=m.kind, alignment_mode="expand")
        if span is not None:
            spans.append(span)
    doc.ents = filter_spans(spans)
    return doc


def _blank(embed_size: int, width: int, depth: int) -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("ner", config={"model": {
        "@architectures": "spacy.TransitionBasedParser.v2", "state_type": "ner", "extra_state_tokens": False,
        "hidden_width": 64, "maxout_pieces": 2, "use_upper": True,
        "tok2vec": {"@architectures": "spacy.HashEmbedCNN.v2", "pretrained_vectors": None, "width": width,
                    "depth": depth, "embed_size": embed_size, "window_size": 1, "maxout_pieces": 3,
                    "subword_features": True}}})
    return nlp


def train_entity_recognizer(abstracts: Sequence[Abstract], out_dir: Path | str, *, epochs: int = 12,
                            seed: int = 0, dropout: float = 0.2, batch_size: int = 16, embed_size: int = 5000,
                            width: int = 96, depth: int = 4,
                            progress: Callable[[int, float], None] | None = None) -> Path:
    """Train on the chemical and disease mentions of ``abstracts``; save the pipeline to ``out_dir``.

    ``progress(epoch, loss)`` is called after each epoch. The folder is written whole or not at all.
    """
    if not abstracts:
        raise ValueError("no training abstracts")
    random.seed(seed)
    spacy.util.fix_random_seed(seed)
    nlp = _blank(embed_size, width, depth)
    examples = []
    for a in abstracts:
        gold = _doc_with_gold(nlp, a)
        examples.append(Example(nlp.make_doc(a.text), gold))
    ner = nlp.get_pipe("ner")
    for label in ENTITY_LABELS:
        ner.add_label(label)  # type: ignore[attr-defined]
    optimizer = nlp.initialize(lambda: examples)
    started = time.perf_counter()
    for epoch in range(epochs):
        random.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=batch_size):
            nlp.update(batch, drop=dropout, sgd=optimizer, losses=losses)
        if progress is not None:
            progress(epoch + 1, losses.get("ner", 0.0))
    out = Path(out_dir)
    tmp = out.with_name(out.name + ".part")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    nlp.to_disk(tmp)
    meta = {"labels": list(ENTITY_LABELS), "training_abstracts": len(abstracts), "epochs": epochs, "seed": seed,
            "dropout": dropout, "embed_size": embed_size, "width": width, "depth": depth,
            "training_seconds": round(time.perf_counter() - started, 1)}
    (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    if out.exists():
        import shutil

        shutil.rmtree(out)
    tmp.replace(out)
    return out


class EntityRecognizer:
    """A trained recogniser; call it on a Doc (any pipeline with English tokenization) or on a text."""

    def __init__(self, model_path: Path | str) -> None:
        path = Path(model_path)
        if not (path / "ner").is_dir():
            raise FileNotFoundError(f"no entity recogniser at {path}; train one with train_entity_recognizer")
        self.nlp = spacy.load(path)
        self.ner = self.nlp.get_pipe("ner")
        self.meta = json.loads((path / META_FILE).read_text(encoding="utf-8")) if (path / META_FILE).is_file() else {}

    def __call__(self, doc: Doc) -> Doc:
        """Set ``doc.ents`` to the recognised mentions (labels ``Chemical`` / ``Disease``)."""
        for label in ENTITY_LABELS:
            doc.vocab.strings.add(label)
        return self.ner(doc)

    def pipe(self, docs: Iterable[Doc], batch_size: int = 32) -> Iterable[Doc]:
        for label in ENTITY_LABELS:
            self.nlp.vocab.strings.add(label)
        return self.ner.pipe(docs, batch_size=batch_size)  # type: ignore[attr-defined]

    def recognise(self, texts: Sequence[str], batch_size: int = 32) -> list[list[EntityMention]]:
        """Mentions of each text, in text order."""
        out = []
        for doc in self.pipe((self.nlp.make_doc(t) for t in texts), batch_size=batch_size):
            out.append([EntityMention(e.start_char, e.end_char, e.text, e.label_) for e in doc.ents])
        return out


@Language.factory("mcrag_entity_recognizer", default_config={"model_path": ""})
@resolved
def make_entity_recognizer(nlp: Language, name: str, model_path: str) -> EntityRecognizer:
    """The trained recogniser as a pipeline component (``model_path``: its saved folder)."""
    return EntityRecognizer(model_path)
