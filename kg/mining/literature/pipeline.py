"""The literature pipeline: the base model's tagger, parser and lemmatizer (the relation features walk the
parse and read lemmas, as in training), the learned chemical / disease recogniser and the dictionary
matcher (:mod:`.terms`). Abbreviations are expanded by the normaliser, after the pipeline."""

from __future__ import annotations

from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from kg.mining.core.pipeline import BASE_MODEL, load_base

PARSE_COMPONENTS = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")


def build_literature_nlp(recogniser: Path | str | None, lexicon: Path | str | None, *, dictionary: bool = True,
                         model: str = BASE_MODEL) -> Language:
    """The pipeline; without ``recogniser`` no learned mentions, without ``dictionary`` no dictionary
    mentions (gold-entity runs have neither), without ``lexicon`` the dictionary holds the concept table's
    and the built-in exposure and procedure terms only."""
    import kg.mining.classifiers.entity_recognizer  # noqa: F401  (registers mcrag_entity_recognizer)
    import kg.mining.literature.terms  # noqa: F401  (registers mcrag_term_matcher)

    nlp = load_base(model, PARSE_COMPONENTS)
    nlp.add_pipe("mcrag_line_breaks", before="parser")
    if recogniser is not None:
        nlp.add_pipe("mcrag_entity_recognizer", config={"model_path": str(recogniser)})
    if dictionary:
        nlp.add_pipe("mcrag_term_matcher", config={"lexicon_path": str(lexicon) if lexicon else ""})
    return nlp


@Language.component("mcrag_line_breaks")
def line_breaks(doc: Doc) -> Doc:
    """A line break ends a sentence (page paragraphs and list items are not run together); the parser keeps
    the boundaries set here and finds the others."""
    for tok in doc[1:]:
        prev = doc[tok.i - 1]
        if "\n" in prev.text or "\n" in prev.whitespace_:
            tok.is_sent_start = True
    return doc
