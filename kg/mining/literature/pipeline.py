"""The literature pipeline: the base model's tagger and dependency parser (causal patterns walk the
parse), scispaCy's abbreviation detector, the ontology / dictionary entity matcher and the causal
pattern finder."""

from __future__ import annotations

from pathlib import Path

from spacy.language import Language

from kg.mining.core.pipeline import BASE_MODEL, load_base


def build_literature_nlp(lexicon_path: Path | str | None, *, model: str = BASE_MODEL, parse: bool = True,
                         abbreviations: bool = True) -> Language:
    """The literature pipeline. Without ``lexicon_path`` it has no entity matcher (gold-entity runs)."""
    import kg.mining.literature.components  # noqa: F401  (registers the literature factories)

    keep = ("tok2vec", "tagger", "parser", "attribute_ruler") if parse else ()
    nlp = load_base(model, keep)
    if not parse:
        nlp.add_pipe("sentencizer")
    if abbreviations:
        import scispacy.abbreviation  # noqa: F401  (registers "abbreviation_detector")

        nlp.add_pipe("abbreviation_detector")
    if lexicon_path is not None:
        nlp.add_pipe("mcrag_entity_matcher", config={"lexicon_path": str(lexicon_path)})
    nlp.add_pipe("mcrag_causal_patterns", config={"use_parse": parse})
    return nlp
