"""Yes/no questions about a chest radiograph: what they ask, and what a report answers to them.

Nothing here is written against, or fitted to, a test file. Three parts, all learnt from the
train-split reports and their Open-i labels:

* :class:`SentenceReader`: whether a report sentence asserts an abnormality. Negation uses the
  NegEx pre-negation cues; "abnormal" means the sentence holds a word that Open-i *normal* reports
  rarely use (per-word log-odds, normal vs abnormal train reports; the cut-off is fitted on the val
  split's reports against their Open-i ``normal`` label).
* :func:`generate_questions`: training questions built from one report with generic templates
  ("Is there X?", "Does the chest X-ray show X?", "Is the X normal?" ...), X being the report's own
  phrases and the graph's finding concepts, answered from the report and its Open-i labels.
* :class:`QuestionModel`: question -> (Open-i finding or ``other``, normal-form or not), a
  logistic regression over word n-grams (optionally MiniLM embeddings) fitted on those generated questions
  (C chosen on the val split's generated questions). The finding lexicon of the graph's concepts
  (:func:`vlm.labels.mentions`) names findings first; the model maps what the lexicon does not
  name (heart size, lungs clear, "any abnormality"). Whatever else a question asks is kept as
  content words (spaCy's English stop words removed), and a report answers it by whether a
  sentence naming one of them asserts an abnormality.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from nltk.stem import PorterStemmer
from spacy.lang.en.stop_words import STOP_WORDS

from vlm.labels import FINDINGS, findings_from_text, label_phrases, label_text, mentions, sentences

_STEM = PorterStemmer()
NEGATION = re.compile(r"\b(no|not|without|negative for|free of|clear of|absence of|no evidence of|"
                      r"no signs? of|resolved|removed|neither|nor|denies|ruled out)\b", re.I)
"""NegEx pre-negation cues (Chapman et al. 2001), the common ones."""
OTHER = "other"
PRESENCE_TEMPLATES: tuple[str, ...] = (
    "Is there {x}?", "Are there signs of {x}?", "Does the chest X-ray show {x}?", "Is {x} present?",
    "Does the patient have {x}?", "Is there evidence of {x} in the image?", "Can {x} be seen on the radiograph?",
    "Is {x} visible in the chest X-ray?")
NORMAL_TEMPLATES: tuple[str, ...] = (
    "{be} the {s} {p}?", "Does the {s} appear {p}?", "{be} the {s} normal?", "{be} the {s} within normal limits?",
    "{be} the {s} {p} in the chest X-ray?")
STUDY_TEMPLATES: tuple[tuple[str, bool], ...] = (
    ("Is the chest X-ray normal?", True), ("Are there any abnormalities in the chest X-ray?", False),
    ("Does the radiograph show any abnormality?", False), ("Is this a normal chest radiograph?", True),
    ("Are there any abnormal findings?", False))
"""Whole-study questions (answered by the Open-i ``normal`` label), with whether "yes" means normal."""
FRAME_WORDS = frozenset(w for t in PRESENCE_TEMPLATES + NORMAL_TEMPLATES + tuple(q for q, _ in STUDY_TEMPLATES)
                        for w in re.findall(r"[a-z]+", t.lower().replace("{x}", " ").replace("{s}", " ")
                                            .replace("{p}", " ").replace("{be}", " ")))
"""The templates' own words: not content, whatever a question asks."""
_EXISTENCE = frozenset({"seen", "noted", "present", "identified", "visualized", "demonstrated", "evident",
                        "appreciated", "observed"})
_COPULA = re.compile(r"\b(is|are|appears?|remains?)\b")
_LEAD = re.compile(r"^(?:there (?:is|are) )?(?P<neg>(?:no|without|negative for|free of)\s+)?"
                   r"(?:(?:evidence|signs?) of\s+)?(?P<rest>.*)$")


def clean(question: str) -> str:
    """The question without the image tag and answer options (the whole text if nothing is left)."""
    text = question.split("Please choose")[0].replace("<image>", " ")
    return " ".join(text.split()) or question.strip()


@functools.lru_cache(maxsize=50000)
def _stem(word: str) -> str:
    return _STEM.stem(word)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", (text or "").lower())


@functools.lru_cache(maxsize=1)
def _concept_stems() -> dict[str, tuple[frozenset[str], ...]]:
    return {n: tuple(frozenset(_stem(w) for w in words(p)) for p in ph) for n, ph in label_phrases().items()
            if n in FINDINGS}


def named_findings(text: str) -> tuple[str, ...]:
    """Graph finding concepts a text names: the lexicon's phrases in order, else all of a phrase's word stems."""
    found = [n for n in mentions(text) if n in FINDINGS]
    if not found:
        st = set(stem_tokens(text))
        found = [n for n, phrases in _concept_stems().items() if any(p and p <= st for p in phrases)]
    return tuple(dict.fromkeys(found))


def stem_tokens(text: str) -> list[str]:
    return [_stem(w) for w in words(text)]


def content_stems(text: str) -> tuple[str, ...]:
    """Stems of the words that are neither English stop words (spaCy's list) nor template words."""
    return tuple(dict.fromkeys(_stem(w) for w in words(text)
                               if w not in STOP_WORDS and w not in FRAME_WORDS and len(w) > 2 and w != "xxxx"))


# -- report sentences ---------------------------------------------------------------------------

@dataclass(eq=False)
class SentenceReader:
    """Whether a report sentence asserts an abnormality: not negated, and holding an abnormal word."""

    log_odds: dict[str, float] = field(default_factory=dict)
    """Per word stem: log P(word | sentence of a normal report) - log P(word | abnormal report)."""
    cut: float = 1.0
    """A word with log-odds below -cut marks its sentence abnormal."""

    @classmethod
    def fit(cls, reports: Sequence[str], normal: Sequence[int], min_count: int = 5) -> SentenceReader:
        n_cnt: Counter[str] = Counter()
        a_cnt: Counter[str] = Counter()
        n_s = a_s = 0
        for rep, is_normal in zip(reports, normal, strict=True):
            for s in sentences(rep):
                st = {_stem(w) for w in words(s) if w not in STOP_WORDS and w != "xxxx"}
                if is_normal:
                    n_cnt.update(st)
                    n_s += 1
                else:
                    a_cnt.update(st)
                    a_s += 1
        odds = {w: math.log((n_cnt[w] + 0.5) / (n_s + 1)) - math.log((a_cnt[w] + 0.5) / (a_s + 1))
                for w in set(n_cnt) | set(a_cnt) if n_cnt[w] + a_cnt[w] >= min_count}
        return cls(odds)

    def tune(self, reports: Sequence[str], normal: Sequence[int],
             cuts: Sequence[float] = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0)) -> dict[float, float]:
        """Pick the cut-off that best tells val reports' Open-i ``normal`` label; accuracy per cut-off."""
        scores = {}
        for c in cuts:
            self.cut = c
            _report_sentences.cache_clear()
            pred = [int(not any(abn and not neg for _, neg, abn in self.read(r))) for r in reports]
            scores[c] = float(np.mean(np.array(pred) == np.array(normal))) if len(reports) else 0.0
        self.cut = max(scores, key=lambda c: (scores[c], -abs(c - 1.5)))
        _report_sentences.cache_clear()
        return scores

    def abnormal(self, stems: frozenset[str]) -> bool:
        return any(self.log_odds.get(w, 0.0) < -self.cut for w in stems)

    def read(self, report: str) -> tuple[tuple[frozenset[str], bool, bool], ...]:
        """Per sentence: word stems, negated, asserts an abnormal word."""
        return _report_sentences(report, self)


@functools.lru_cache(maxsize=16384)
def _report_sentences(report: str, reader: SentenceReader) -> tuple[tuple[frozenset[str], bool, bool], ...]:
    out = []
    for s in sentences(report):
        st = frozenset(_stem(w) for w in words(s))
        out.append((st, bool(NEGATION.search(s)), reader.abnormal(st)))
    return tuple(out)


# -- questions ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParsedQuestion:
    text: str
    findings: tuple[str, ...]
    """Open-i findings the question asks about (``normal`` for whole-study questions)."""
    normal_form: bool
    """True when "yes" means normal ("is the heart size within normal limits?")."""
    keywords: tuple[str, ...]
    """Stemmed content words, for questions no label answers."""


def report_answers(question: ParsedQuestion, report: str, reader: SentenceReader) -> float:
    """1.0 if the report's text answers "yes", 0.0 if "no", for a question about content words.

    A sentence naming a keyword counts as abnormal when it is not negated and asserts an abnormal word.
    """
    keys = set(question.keywords)
    abnormal = any(stems & keys and abn and not neg for stems, neg, abn in reader.read(report))
    if question.normal_form:
        return 0.0 if abnormal else 1.0
    return 1.0 if abnormal else 0.0


@dataclass(frozen=True)
class GeneratedQuestion:
    text: str
    target: str
    """An Open-i label, or :data:`OTHER`."""
    normal_form: bool
    answer: int
    study: str = ""


def _phrase(text: str, max_words: int) -> str:
    text = re.sub(r"\bx+\b", " ", text.lower())
    text = re.split(r",|;|\bor\b|\band\b|\bwith\b|\bwhich\b", text)[0]
    ws = re.findall(r"[a-z][a-z\-]*", text)
    return " ".join(ws[:max_words]) if ws and len(ws) <= max_words else ""


def _target(sentence: str) -> tuple[str, tuple[str, ...]]:
    named = named_findings(sentence)
    if len(named) == 1:
        return named[0], named
    if named or findings_from_text(sentence).get("normal"):
        return "normal", named
    return OTHER, ()


def generate_questions(report: str, gold: Mapping[str, int], reader: SentenceReader, rng: np.random.Generator,
                       study: str = "", per_sentence: int = 2, concepts: int = 2) -> list[GeneratedQuestion]:
    """Yes/no questions about one report, answered from it: its sentences' phrases under generic templates,
    plus presence questions about ``concepts`` random graph finding concepts answered by the Open-i labels."""
    out: list[GeneratedQuestion] = []

    def label_answer(target: str, named: tuple[str, ...], normal_form: bool, text_says_abnormal: bool) -> int:
        if target == OTHER:
            abn = text_says_abnormal
        elif target == "normal":
            abn = any(gold.get(n, 0) for n in named) if named else not gold.get("normal", 0)
        else:
            abn = bool(gold.get(target, 0))
        return int(not abn) if normal_form else int(abn)

    for s in sentences(report):
        low = s.lower().strip().rstrip(".")
        m = _LEAD.match(low)
        if not m:
            continue
        neg = bool(m.group("neg")) or bool(NEGATION.search(low))
        stems = frozenset(_stem(w) for w in words(low))
        says_abn = (reader.abnormal(stems) or any(a for n, a in mentions(s).items() if n in FINDINGS)) and not neg
        rest = m.group("rest")
        cop = _COPULA.search(rest)
        pred_words = words(rest[cop.end():]) if cop else []
        made: list[tuple[str, bool]] = []
        if cop and not m.group("neg") and pred_words and not set(pred_words) <= _EXISTENCE:
            subj = _phrase(re.sub(r"^(the|a|an)\s+", "", rest[:cop.start()].strip()), 5)
            pred = _phrase(rest[cop.end():], 5)
            target, named = _target(rest)
            if subj and pred:
                be = "Are" if subj.endswith("s") else "Is"
                for t in rng.choice(len(NORMAL_TEMPLATES), size=min(per_sentence, len(NORMAL_TEMPLATES)), replace=False):
                    # "is the S P?" asks for the abnormality when the report's predicate asserts one
                    form = "{p}" not in NORMAL_TEMPLATES[t] or not says_abn
                    made.append((NORMAL_TEMPLATES[t].format(be=be, s=subj, p=pred), form))
        elif neg or says_abn:
            x = _phrase(rest[:cop.start()] if cop else rest, 7)
            target, named = _target(x)
            if target == OTHER and neg and findings_from_text(s).get("normal"):
                target = "normal"
            if x:
                for t in rng.choice(len(PRESENCE_TEMPLATES), size=min(per_sentence, len(PRESENCE_TEMPLATES)),
                                    replace=False):
                    made.append((PRESENCE_TEMPLATES[t].format(x=x), False))
        for text, normal_form in made:
            out.append(GeneratedQuestion(text[0].upper() + text[1:], target, normal_form,
                                         label_answer(target, named, normal_form, says_abn), study))
    t = int(rng.integers(len(STUDY_TEMPLATES)))
    out.append(GeneratedQuestion(STUDY_TEMPLATES[t][0], "normal", STUDY_TEMPLATES[t][1],
                                 int(gold.get("normal", 0)) if STUDY_TEMPLATES[t][1] else 1 - int(gold.get("normal", 0)),
                                 study))
    for f in rng.choice(len(FINDINGS), size=min(concepts, len(FINDINGS)), replace=False):
        name = FINDINGS[int(f)]
        t = PRESENCE_TEMPLATES[int(rng.integers(len(PRESENCE_TEMPLATES)))]
        out.append(GeneratedQuestion(t.format(x=label_text(name).lower()).capitalize(), name, False,
                                     int(gold.get(name, 0)), study))
    return out


class QuestionModel:
    """Question -> (finding or ``other``, normal form), fitted on generated questions."""

    def __init__(self, encoder: Any = None, c: float = 1.0) -> None:
        self.encoder = encoder
        self.c = c
        self.vectorizer: Any = None
        self.target_clf: Any = None
        self.form_clf: Any = None
        self.classes: tuple[str, ...] = ()

    def _features(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import csr_matrix, hstack

        x = self.vectorizer.transform(list(texts))
        if self.encoder is not None:
            x = hstack([x, csr_matrix(np.asarray(self.encoder.encode(list(texts)), dtype=np.float64))]).tocsr()
        return x

    def fit(self, qs: Sequence[GeneratedQuestion]) -> QuestionModel:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        texts = [q.text for q in qs]
        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, tokenizer=stem_tokens,
                                          token_pattern=None, lowercase=False).fit(texts)
        x = self._features(texts)
        # the lexicon names findings first, so the target model learns from the questions it leaves
        free = [i for i, t in enumerate(texts) if not named_findings(t)]
        y_t = [qs[i].target for i in free]
        y_f = [int(q.normal_form) for q in qs]
        self.classes = tuple(sorted(set(y_t))) or (OTHER,)
        if len(self.classes) > 1:
            self.target_clf = LogisticRegression(C=self.c, max_iter=2000).fit(x[free], y_t)
        if len(set(y_f)) > 1:
            self.form_clf = LogisticRegression(C=self.c, max_iter=2000).fit(x, y_f)
        return self

    def predict(self, texts: Sequence[str]) -> list[tuple[str, bool]]:
        if not texts:
            return []
        x = self._features(texts)
        targets = self.target_clf.predict(x) if self.target_clf is not None else [self.classes[0]] * len(texts)
        forms = self.form_clf.predict(x) if self.form_clf is not None else [0] * len(texts)
        return [(str(t), bool(f)) for t, f in zip(targets, forms, strict=True)]

    def score(self, qs: Sequence[GeneratedQuestion]) -> dict[str, float]:
        """Accuracy of the mapping the parser uses (lexicon first, then the model) on generated questions."""
        parsed = self.parse_many([q.text for q in qs])
        tgt = [(p.findings[0] if len(p.findings) == 1 else ("normal" if p.findings else OTHER)) for p in parsed]
        return {"target": float(np.mean([t == q.target for t, q in zip(tgt, qs, strict=True)])) if qs else 0.0,
                "normal_form": float(np.mean([p.normal_form == q.normal_form for p, q in zip(parsed, qs, strict=True)]))
                if qs else 0.0}

    def parse_many(self, questions: Sequence[str]) -> list[ParsedQuestion]:
        texts = [clean(q) for q in questions]
        return [_parsed(t, target, form) for t, (target, form) in zip(texts, self.predict(texts), strict=True)]


def _parsed(text: str, target: str, normal_form: bool) -> ParsedQuestion:
    found = list(named_findings(text))
    if not found and target != OTHER:
        found = [target]
    return ParsedQuestion(text, tuple(dict.fromkeys(found)), normal_form, content_stems(text))


def parse_question(question: str, model: QuestionModel | None = None) -> ParsedQuestion:
    """One question; without a fitted model only the finding lexicon maps it, and it is never normal-form."""
    if model is not None:
        return model.parse_many([question])[0]
    return _parsed(clean(question), OTHER, False)


def fit_question_model(train: Sequence[GeneratedQuestion], val: Sequence[GeneratedQuestion], encoder: Any = None,
                       cs: Sequence[float] = (0.3, 1.0, 3.0)) -> tuple[QuestionModel, dict[str, Any]]:
    """Fit on train-report questions, choose C on val-report questions (target + normal-form accuracy)."""
    tried: dict[str, Any] = {}
    best: tuple[float, QuestionModel] | None = None
    for c in cs if val else cs[1:2]:
        m = QuestionModel(encoder, c).fit(train)
        sc = m.score(val) if val else {"target": 0.0, "normal_form": 0.0}
        tried[str(c)] = {k: round(v, 4) for k, v in sc.items()}
        total = sc["target"] + sc["normal_form"]
        if best is None or total > best[0]:
            best = (total, m)
    assert best is not None
    return best[1], {"val": tried, "chosen_c": best[1].c}
