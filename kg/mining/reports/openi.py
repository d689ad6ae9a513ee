"""Open-i indexing: which of the 14 Open-i labels a report carries, from its finding mentions.

The Open-i gold labels come from human MeSH indexing of the whole report, and the indexers follow
conventions of their own that a finding status alone does not capture. Two were measured on the IU-Xray
train and validation studies and the Open-i reports outside the R2Gen split (never on the test split):

* a finding named as one side of an alternative ("atelectasis versus infiltrate", "effusion vs
  thickening") is indexed: 32 of 56 such reports carry the label, while a finding under any other hedge
  ("may represent", "suggestive of", "possibly", a differential list) almost never does (5 of 265);
* every thickening is indexed as "Thickening", which the gold maps to ``Pleural_Thickening``
  (:data:`~kg.mining.reports.lexicon.OPENI_LABEL_SOURCES`).

A label is therefore set when its status is ``present``, or when one of its mentions is uncertain only
because it is one side of an alternative. Mentions in the indication, history, comparison and technique
sections never count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kg.concepts import FINDINGS
from kg.mining.core.context_rules import ALTERNATIVE_CUES, POSS
from kg.mining.core.documents import FindingMention
from kg.mining.core.sections import IGNORED_SECTIONS
from kg.mining.reports.lexicon import OPENI_LABEL_SOURCES

ALTERNATIVE_MODIFIERS: frozenset[str] = frozenset(f"{POSS}:{c}" for c in ALTERNATIVE_CUES)


def is_alternative(mention: FindingMention) -> bool:
    """True when the mention is uncertain only because it is one side of "A versus B"."""
    return (mention.status == "uncertain" and bool(mention.cues)
            and all(c in ALTERNATIVE_MODIFIERS for c in mention.cues))


def openi_labels(mentions: Iterable[FindingMention], statuses: Mapping[str, str]) -> tuple[str, ...]:
    """The Open-i labels (in :data:`~kg.concepts.FINDINGS` order) that Open-i's indexers would set."""
    alternatives = {m.key for m in mentions if m.section not in IGNORED_SECTIONS and is_alternative(m)}
    out = []
    for label in FINDINGS:
        keys = OPENI_LABEL_SOURCES.get(label, (label,))
        if statuses.get(label) == "present" or any(k in alternatives for k in keys):
            out.append(label)
    return tuple(out)
