"""Yes/no questions about a chest radiograph: what they ask, and what a report answers to them.

A question maps to ontology findings through the same phrase lexicon the graph's finding concepts
carry (:mod:`vlm.labels`), plus three question families the Open-i labels answer directly: heart
size (cardiomegaly), "any abnormality" and "are the lungs clear" (the ``normal`` label). Whatever
else a question asks (bones, devices, calcified granulomas ...) is kept as content words, and a
report answers it by whether a sentence naming one of them is asserted, negated or called normal.
Nothing here is fitted to a test file.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from nltk.stem import PorterStemmer

from vlm.labels import FINDINGS, mentions

_STEM = PorterStemmer()
_NORMAL_WORDS = re.compile(r"\b(normal|clear|intact|unremarkable|within normal limits|stable|unchanged|"
                           r"no acute|negative|well expanded|not enlarged)\b", re.I)
_NEGATION = re.compile(r"\b(no|not|without|negative for|free of|clear of|absence of|no evidence of|"
                       r"resolved|removed|neither|nor)\b", re.I)
_HEART = re.compile(r"\b(heart size|size of the heart|enlarged heart|heart (is )?enlarged|cardiac silhouette|"
                    r"cardiomediastinal|heart|cardiac)\b", re.I)
_ANY = re.compile(r"\b(abnormalit|abnormal findings|acute (cardiopulmonary|disease|findings|process)|"
                  r"noteworthy findings|significant findings|any findings|disease)\w*", re.I)
_LUNGS_CLEAR = re.compile(r"\b(lungs?|lung fields?) (are |appear |is )?(clear|normal)|clear lungs", re.I)
_STOP = set(["does", "do", "did", "is", "are", "was", "were", "can", "could", "has", "have", "any", "the", "a", "an", "of", "in", "on", "at", "to", "for", "as", "per", "with", "from", "this", "that", "these", "those", "there", "their", "patient", "patients", "chest", "x", "ray", "xray", "x-ray", "image", "images", "radiograph", "film", "show", "shows", "showing", "seen", "see", "visible", "be", "been", "evidence", "sign", "signs", "indicate", "indicates", "indication", "suggest", "suggests", "present", "presence", "appear", "appears", "noted", "according", "report", "reported", "based", "provided", "information", "detected", "detect", "observed", "observe", "identified", "findings", "finding", "what", "which", "how", "some", "it", "its", "or", "and", "by", "if", "into", "about", "other", "than", "such", "like", "please", "choose", "following", "two", "options", "yes", "no"])


@dataclass(frozen=True)
class ParsedQuestion:
    text: str
    findings: tuple[str, ...]
    """Open-i findings the question asks about (``normal`` for whole-study questions)."""
    normal_form: bool
    """True when "yes" means normal ("is the heart size within normal limits?")."""
    keywords: tuple[str, ...]
    """Stemmed content words, for questions no label answers."""


def clean(question: str) -> str:
    """The question without the image tag and answer options (the whole text if nothing is left)."""
    text = question.split("Please choose")[0].replace("<image>", " ")
    return " ".join(text.split()) or question.strip()


def parse_question(question: str) -> ParsedQuestion:
    q = clean(question)
    low = q.lower()
    normal_form = bool(_NORMAL_WORDS.search(low)) and not re.search(r"\babnormal", low)
    found = [n for n, asserted in mentions(q).items() if n in FINDINGS]
    if not found and _HEART.search(low) and not re.search(r"\b(calcif|aort|valve|pacemaker|device)", low):
        found = ["Cardiomegaly"]
    if not found and (_ANY.search(low) or _LUNGS_CLEAR.search(low)) and not re.search(
            r"\b(bone|bony|osseous|soft tissue|fracture|spine|rib)", low):
        found = ["normal"]
    words = [w for w in re.findall(r"[a-z]+", low) if w not in _STOP and len(w) > 2]
    return ParsedQuestion(q, tuple(dict.fromkeys(found)), normal_form,
                          tuple(dict.fromkeys(_stem(w) for w in words)))


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text or "") if s.strip()]


@functools.lru_cache(maxsize=20000)
def _stem(word: str) -> str:
    return _STEM.stem(word)


@functools.lru_cache(maxsize=8192)
def _report_sentences(report: str) -> tuple[tuple[frozenset[str], bool], ...]:
    """Per sentence: its word stems, and whether it is negated or calls something normal."""
    return tuple((frozenset(_stem(w) for w in re.findall(r"[a-z]+", s.lower())),
                  bool(_NEGATION.search(s) or _NORMAL_WORDS.search(s))) for s in _sentences(report))


def report_answers(question: ParsedQuestion, report: str) -> float:
    """1.0 if the report's text answers "yes", 0.0 if "no", for a question about content words.

    A sentence naming a keyword counts as abnormal unless it is negated or calls it normal.
    """
    abnormal = False
    keys = set(question.keywords)
    for stems, normal_or_negated in _report_sentences(report):
        if stems & keys and not normal_or_negated:
            abnormal = True
            break
    if question.normal_form:
        return 0.0 if abnormal else 1.0
    return 1.0 if abnormal else 0.0
