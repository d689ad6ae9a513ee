"""The domain a literature claim belongs to, so that grounding can read the chest domain only.

A concept of the concept table carries its scope (``chest``, ``cardiopulmonary`` or ``general``). A concept
outside it is ``cardiopulmonary`` when its name names the heart, the lungs, the airways or the pleura
("coronary heart disease", "shortness of breath"), ``chest`` when it names the chest wall or the
mediastinum, else ``general``. A claim takes the most specific chest scope of its two ends: a cause of a
cardiopulmonary disease belongs to the cardiopulmonary domain whatever the cause is.
"""

from __future__ import annotations

import re

from kg.claims import Concept
from kg.concepts import ConceptTable, default_table
from kg.namespaces import CONCEPT

CHEST_SCOPES: tuple[str, ...] = ("chest", "cardiopulmonary")
"""The scopes grounding on chest radiographs reads."""

_CARDIOPULMONARY = re.compile(
    r"\b(lungs?|pulmonary|pleura[l]?|bronch\w*|bronchiol\w*|alveol\w*|respirat\w*|breath\w*|cough\w*|wheez\w*"
    r"|airways?|trache\w*|pneum\w*|asthma\w*|emphysem\w*|dyspn\w*|apnea|apnoea|hypox\w*|sarcoid\w*|copd"
    r"|heart|cardi\w*|coronary|aort\w*|myocard\w*|pericard\w*|endocard\w*|atrial|atrium|ventric\w*|valv\w*"
    r"|mitral|tricuspid|angina|arrhythm\w*|tachycard\w*|bradycard\w*|fibrillation|palpitation\w*)\b", re.I)
_CHEST = re.compile(r"\b(chest|thorac\w*|thorax|ribs?|stern\w*|mediastin\w*|diaphragm\w*|esophag\w*|oesophag\w*"
                    r"|clavic\w*|scapul\w*|spine|vertebra\w*)\b", re.I)


def concept_scope(concept: Concept, table: ConceptTable | None = None) -> str:
    """The scope of one claim end."""
    t = table or default_table()
    base = str(CONCEPT)
    if concept.iri.startswith(base):
        c = t.concepts.get(concept.iri[len(base):])
        if c is not None and c.scope:
            return c.scope
    names = " ".join((concept.label, *concept.synonyms))
    if _CARDIOPULMONARY.search(names):
        return "cardiopulmonary"
    if _CHEST.search(names):
        return "chest"
    return "general"


def claim_scope(subject: Concept, obj: Concept, table: ConceptTable | None = None) -> str:
    """``cardiopulmonary`` if either end is, else ``chest`` if either end is, else ``general``."""
    scopes = {concept_scope(subject, table), concept_scope(obj, table)}
    for s in ("cardiopulmonary", "chest"):
        if s in scopes:
            return s
    return "general"
