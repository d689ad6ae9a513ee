"""Mentions of one idea get one id: the concept table first, then external ids, then text keys.

A mention's id is what pairs and claims are keyed by, so every name of one idea must carry the same id
within a run: "pleural effusion" from the table, "effusions" that the recogniser found and that the term
table gives ``MESH:D010996``, and "PE" defined as "pleural effusion" in the abstract. :func:`canonical_id`
turns any id into the one its idea carries (a table concept's first exact MeSH id, else
``concept:<id>``); :func:`table_lookup` reads a mention's text against the table's labels, except a
one-word truncation of a longer name ("injury" for chest trauma, "mass" for pulmonary mass), which names
that concept only in a report. Qualifiers ("acute", "position") are never mentions
(:func:`kg.concepts.is_qualifier`).
"""

from __future__ import annotations

from functools import lru_cache

from spacy.tokens import Span

from kg.concepts import ChestConcept, ConceptTable, default_table, is_qualifier, normalise, normalise_label
from kg.mining.literature.lexicon import is_short_form
from kg.mining.literature.terms import EXTRA_PREFIX, TABLE_PREFIX, truncation


def table_concept_id(c: ChestConcept) -> str:
    """The id the miner gives a table concept: its first exact MeSH id, else ``concept:<id>``."""
    mesh = c.ids("exactMatch", "MESH")
    return mesh[0] if mesh else TABLE_PREFIX + c.id


@lru_cache(maxsize=4096)
def canonical_id(cid: str) -> str:
    """The id one idea carries: a table concept's :func:`table_concept_id`, other ids unchanged."""
    table = default_table()
    if cid.startswith(TABLE_PREFIX):
        c = table.concepts.get(cid[len(TABLE_PREFIX):])
        return table_concept_id(c) if c is not None else cid
    if ":" in cid and not cid.startswith(("TEXT:", "term:")):
        c = table.by_curie(cid)
        if c is not None:
            return table_concept_id(c)
    return cid


@lru_cache(maxsize=65536)
def table_lookup(text: str) -> str | None:
    """The id of the table concept a mention's text names, if any (not a one-word truncation of a longer
    name, unless it is an abbreviation such as "COPD")."""
    c = normalise(text)
    if c is None or (truncation(normalise_label(text), normalise_label(c.label)) and not is_short_form(text.strip())):
        return None
    return table_concept_id(c)


def table_concept(cid: str, table: ConceptTable | None = None) -> ChestConcept | None:
    """The table concept behind a canonical id, if it is one."""
    t = table or default_table()
    if cid.startswith(TABLE_PREFIX):
        return t.concepts.get(cid[len(TABLE_PREFIX):])
    if ":" in cid and not cid.startswith(("TEXT:", "term:")):
        return t.by_curie(cid)
    return None


def qualifier(text: str) -> bool:
    """A mention that is only a qualifier or modifier ("acute", "chronic", "position")."""
    return is_qualifier(text)


_NOT_NAMES = frozenset({"ADJ", "VERB", "DET", "ADP", "PRON", "ADV", "AUX", "CCONJ", "SCONJ", "PART", "NUM", "INTJ",
                        "PUNCT", "SYM"})


def worth_a_mention(span: Span) -> bool:
    """A span names something: not one word that is no noun ("sharp", "check", "an"), not a two-letter
    lower-case word; dictionary spans of the concept table and the exposure / procedure terms always do."""
    if span.kb_id_.startswith((TABLE_PREFIX, EXTRA_PREFIX)):
        return True
    text = span.text.strip()
    if len(text) < 3 and not (text.isupper() and len(text) == 2):
        return False
    return not (len(span) == 1 and span.root.pos_ in _NOT_NAMES)
