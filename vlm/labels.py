"""The label space of the diagnosis head and a small rule-based reader of findings in free text.

The head predicts the 14 Open-i findings (so its output maps onto the graph's concept IRIs), plus
``normal`` and ``COVID-19`` because two of the shared image sets are labelled that way. Any front
end (the image head, gold labels through a noise model, another model) hands the rest of the
system the same thing: a probability per label name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np

from kg.concepts import FINDING_CONCEPTS, FINDINGS

EXTRA_LABELS: tuple[str, ...] = ("normal", "COVID-19")
LABELS: tuple[str, ...] = (*FINDINGS, *EXTRA_LABELS)
"""Order of the diagnosis head's outputs and of every label vector in the system."""

LABEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(LABELS)}
ADULT_PREVALENCE: dict[str, float] = {
    "normal": 0.5384, "Infiltration": 0.1774, "Effusion": 0.1188, "Atelectasis": 0.1031, "Nodule": 0.0565,
    "Mass": 0.0516, "Pneumothorax": 0.0473, "Consolidation": 0.0416, "Pleural_Thickening": 0.0302,
    "Cardiomegaly": 0.0248, "Emphysema": 0.0224, "Edema": 0.0205, "Fibrosis": 0.015, "Pneumonia": 0.0128,
    "Hernia": 0.002,
}
"""Share of adult chest films with each label in NIH ChestX-ray14 (all 112,120 films, the NIH label table in
the shared data's ``cxr_labels/``; ``normal`` is "No Finding"): the base rates an adult film meets, against
which the front end's adult probabilities are corrected (training sets hold pneumonia at 50%, not 1.3%).
COVID-19 has no such rate (the table predates it)."""
NORMAL = LABEL_INDEX["normal"]
UNKNOWN = -1
"""Label value for "not annotated" (masked out of losses and consistency checks)."""

_ALIASES: dict[str, str] = {n.lower().replace("_", " "): n for n in LABELS}


def label_phrases() -> dict[str, tuple[str, ...]]:
    """Words that name each finding in a report (preferred label, label name and synonyms)."""
    out: dict[str, tuple[str, ...]] = {}
    for name, c in FINDING_CONCEPTS.items():
        words = {name.lower().replace("_", " "), c.label.lower(), *(s.lower() for s in c.synonyms)}
        out[name] = tuple(sorted(words, key=len, reverse=True))
    out["Cardiomegaly"] += ("heart is enlarged", "heart size is enlarged", "enlarged cardiomediastinal")
    out["Effusion"] += ("effusions",)
    out["Atelectasis"] += ("atelectatic",)
    out["Consolidation"] += ("consolidations", "consolidative")
    out["Nodule"] += ("nodules", "nodular")
    out["Infiltration"] += ("infiltrates", "opacities")
    out["COVID-19"] = ("covid-19", "covid 19", "covid", "sars-cov-2")
    return out


_PHRASES = label_phrases()
_PATTERNS = {name: re.compile(r"\b(" + "|".join(re.escape(p) for p in ph) + r")\b", re.I)
             for name, ph in _PHRASES.items()}
_NEGATION = re.compile(r"\b(no|not|without|negative for|free of|clear of|resolved|resolution of|"
                       r"absence of|rather than|ruled out|no evidence of|neither|nor)\b", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_NORMAL_CUES = re.compile(r"\b(no acute (cardiopulmonary|disease|abnormalit)|normal chest|lungs are clear|"
                          r"no active disease|within normal limits)\b", re.I)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text or "") if s.strip()]


_NORMAL_HEART = re.compile(
    r"\b(heart|cardiac silhouette|cardiomediastinal silhouette|heart size|cardiac size)\b[^.;]*\b(normal|within normal "
    r"limits|unremarkable|not enlarged|stable)\b|\bnormal (heart|cardiac) size\b", re.I)
_CLEAR_LUNGS = re.compile(r"\blungs? (are|is|remain) (clear|well expanded and clear)\b|\bclear lungs\b", re.I)
_CLEAR_LUNG_FINDINGS = ("Consolidation", "Infiltration", "Pneumonia", "Edema")


def mentions(sentence: str) -> dict[str, bool]:
    """Findings named in one sentence -> asserted (True) or negated (False).

    Normality statements count as negations too: "the heart is normal in size" negates cardiomegaly,
    "the lungs are clear" negates airspace disease and edema.
    """
    out: dict[str, bool] = {}
    if _NORMAL_HEART.search(sentence) and not _PATTERNS["Cardiomegaly"].search(sentence):
        out["Cardiomegaly"] = False
    if _CLEAR_LUNGS.search(sentence):
        for name in _CLEAR_LUNG_FINDINGS:
            out[name] = False
    for name, pat in _PATTERNS.items():
        m = pat.search(sentence)
        if not m:
            continue
        negated = bool(_NEGATION.search(sentence[:m.start()]))
        out[name] = out.get(name, False) or not negated
    return out


def findings_from_text(text: str) -> dict[str, int]:
    """Weak labels from free text: 1 when asserted, 0 when only negated; unmentioned findings are absent.

    Enough for clinical notes and for reports without a label file; gold labels win where they exist.
    """
    out: dict[str, int] = {}
    for s in sentences(text):
        for name, asserted in mentions(s).items():
            out[name] = max(out.get(name, 0), int(asserted))
    if not any(out.get(n) for n in FINDINGS) and _NORMAL_CUES.search(text or ""):
        out["normal"] = 1
    return out


def resolve_label(name: str) -> str:
    """Canonical label for ``pleural effusion`` / ``Effusion`` / ``pleural_thickening``."""
    key = name.strip().lower().replace("_", " ")
    if key in _ALIASES:
        return _ALIASES[key]
    for label, phrases in _PHRASES.items():
        if key in phrases:
            return label
    raise KeyError(f"unknown finding {name!r}; known: {', '.join(LABELS)}")


def vector(values: Mapping[str, float], fill: float = 0.0) -> np.ndarray:
    """A label-ordered float vector from ``{label: value}`` (names resolved leniently)."""
    out = np.full(len(LABELS), fill, dtype=np.float32)
    for k, v in values.items():
        out[LABEL_INDEX[resolve_label(k)]] = float(v)
    return out


def to_bits(labels: Iterable[int]) -> int:
    """Bitmask of positive labels (unknown counts as absent)."""
    bits = 0
    for i, v in enumerate(labels):
        if v == 1:
            bits |= 1 << i
    return bits


def known_bits(labels: Iterable[int]) -> int:
    """Bitmask of annotated labels."""
    bits = 0
    for i, v in enumerate(labels):
        if v != UNKNOWN:
            bits |= 1 << i
    return bits


def names_from_bits(bits: int) -> tuple[str, ...]:
    return tuple(n for i, n in enumerate(LABELS) if bits >> i & 1)


def label_text(name: str) -> str:
    """Readable name used in prompts and answers (``pleural effusion``)."""
    if name in FINDING_CONCEPTS:
        return FINDING_CONCEPTS[name].label
    return name
