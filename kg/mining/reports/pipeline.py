"""The report pipeline: the base model's tokenizer, a rule sentencizer, the finding matcher, medspaCy's
sectionizer and ConText, and the in-report causal statements.

The statistical components are left out by default: the rule stages need none of them, and dropping
them is what lets the whole pipeline run faster than the bare model.
"""

from __future__ import annotations

from pathlib import Path

from spacy.language import Language
from spacy.pipeline.sentencizer import Sentencizer

import kg.mining.reports.causal  # noqa: F401  (registers the causal-statement factory)
import kg.mining.reports.components  # noqa: F401  (registers the finding matcher factory)
from kg.mining.core.context_rules import report_context_rules
from kg.mining.core.pipeline import BASE_MODEL, load_base
from kg.mining.core.sections import section_rules
from kg.mining.reports.components import FINDINGS_GROUP

REPORT_SENTENCE_ENDS: list[str] = [*Sentencizer.default_punct_chars, "\n", "\n\n", "..", "..."]
"""Sentence ends: spaCy's punctuation, a line break (each report section is one line, so a title and a
section without a full stop never run into the next one) and the doubled full stops IU-Xray reports have."""


def build_report_nlp(labeler_dir: Path | str | None = None, *, model: str = BASE_MODEL, parse: bool = False,
                     chexpert: bool = True) -> Language:
    """The report pipeline; ``labeler_dir`` is ``<data>/labeler`` (CheXpert phrases, NegBio titles)."""
    nlp = load_base(model, ("tok2vec", "tagger", "parser", "attribute_ruler") if parse else ())
    if not parse:
        nlp.add_pipe("sentencizer", config={"punct_chars": REPORT_SENTENCE_ENDS})
    nlp.add_pipe("mcrag_report_matcher", config={"labeler_dir": str(labeler_dir or ""), "chexpert": chexpert})
    sectionizer = nlp.add_pipe("medspacy_sectionizer", config={
        "rules": None, "input_span_type": "group", "span_group_name": FINDINGS_GROUP})
    sectionizer.add(section_rules(labeler_dir))  # type: ignore[attr-defined]
    context = nlp.add_pipe("medspacy_context", config={
        "rules": None, "input_span_type": "group", "span_group_name": FINDINGS_GROUP})
    context.add(report_context_rules())  # type: ignore[attr-defined]
    nlp.add_pipe("mcrag_report_causal")
    return nlp
