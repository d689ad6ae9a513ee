"""Features of a parsed sentence shared by the claim-strength and relation-kind classifiers.

Words are grouped into cue classes (hedge, correlation, causal, treatment, prevention, negation). Bag
of words misses how they combine: "may improve" is a conditional causal claim but "may be associated
with" a correlational one, "did not reduce" is still a direct claim. So the features also name the
sentence's root verb with its auxiliaries, negation and complements, the verbs under "suggest" /
"indicate" roots, and the sequence of cue classes in the sentence. All are strings, so a linear model
over their counts learns which matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from kg.mining.core.pipeline import BASE_MODEL

HEDGE = frozenset({
    "may", "might", "could", "can", "possibly", "possible", "potential", "potentially", "suggest", "likely",
    "appear", "seem", "perhaps", "indicate", "probably", "would", "hypothesize", "speculate", "presumably",
    "suspect", "suspected", "unclear", "uncertain", "question", "putative", "plausible",
})
CORRELATION = frozenset({
    "associate", "associated", "association", "correlate", "correlated", "correlation", "link", "linked",
    "relate", "related", "relationship", "predict", "predictor", "risk", "odds", "prevalence", "independent",
    "independently", "predictive", "marker", "accompany", "coincide", "incidence", "common", "frequent",
})
CAUSAL = frozenset({
    "cause", "increase", "decrease", "reduce", "improve", "lead", "induce", "result", "effect", "affect",
    "enhance", "promote", "inhibit", "contribute", "impair", "trigger", "worsen", "produce", "provoke",
    "precipitate", "responsible", "due", "secondary", "elicit", "evoke", "aggravate", "exacerbate",
    "complicate", "develop", "raise", "lower", "alter", "influence", "toxicity", "damage", "obstruct",
})
TREATMENT = frozenset({
    "treat", "treatment", "therapy", "therapeutic", "ameliorate", "relieve", "alleviate", "reverse",
    "effective", "efficacy", "benefit", "beneficial", "manage", "management", "cure", "resolve", "improve",
    "drain", "control", "respond", "response", "administer", "give", "receive", "counteract", "antagonize",
})
PREVENTION = frozenset({
    "prevent", "prevention", "preventive", "prophylaxis", "prophylactic", "protect", "protective",
    "protection", "attenuate", "avert", "avoid", "pretreatment", "vaccination", "vaccine", "cessation",
    "against", "block", "abolish",
})
DECREASE = frozenset({
    "reduce", "decrease", "lower", "diminish", "suppress", "inhibit", "attenuate", "alleviate", "abolish",
    "block", "ameliorate", "mitigate", "lessen", "halve", "cut",
})
"""Verbs that lower something: with a disease as object a treatment, with its risk a prevention."""
RISK = frozenset({"risk", "incidence", "occurrence", "development", "onset", "rate", "frequency", "odds"})
NEGATION = frozenset({
    "not", "no", "neither", "nor", "without", "fail", "lack", "cannot", "never", "absence", "absent",
    "exclude", "rule", "unlikely", "none", "n't", "rarely", "unrelated",
})
CUE_CLASSES: tuple[tuple[str, frozenset[str]], ...] = (
    ("NEG", NEGATION), ("HEDGE", HEDGE), ("PREV", PREVENTION), ("TREAT", TREATMENT), ("CORR", CORRELATION),
    ("CAUSE", CAUSAL),
)


def lemma(tok: Token) -> str:
    """The token's lemma when the pipeline has a lemmatizer, else its lower-case form."""
    return (tok.lemma_ or tok.lower_).lower()


def cue_class(word: str) -> str | None:
    """The first cue class that holds ``word`` (a lemma or lower-case form), or None."""
    for name, words in CUE_CLASSES:
        if word in words:
            return name
    return None


def cue_classes(tok: Token) -> str | None:
    return cue_class(lemma(tok)) or cue_class(tok.lower_)


@lru_cache(maxsize=2)
def parser(model: str = BASE_MODEL) -> Language:
    """The base English model with tagger, parser and lemmatizer (no NER), loaded once per process."""
    import spacy

    try:
        return spacy.load(model, exclude=["ner"])
    except OSError as err:
        raise FileNotFoundError(f"spaCy model {model!r} is not installed ({err})") from None


def parse(texts: Sequence[str], batch_size: int = 64) -> list[Doc]:
    return list(parser().pipe(texts, batch_size=batch_size))


def structure_features(sent: Span | Doc) -> list[str]:
    """Root-verb, complement, auxiliary and cue-sequence features of one sentence."""
    toks = list(sent)
    out: list[str] = []
    seq = [c for c in (cue_classes(t) for t in toks) if c]
    out += ["SEQ_" + "_".join(seq[i:i + k]) for k in (1, 2, 3) for i in range(len(seq) - k + 1)]
    for root in (t for t in toks if t.dep_ == "ROOT"):
        rl = lemma(root)
        out.append("ROOT_" + rl)
        for k in root.children:
            if k.dep_ in ("aux", "neg", "auxpass", "advmod", "ccomp", "xcomp", "acomp", "dobj", "attr", "nsubj"):
                kl = lemma(k)
                out.append(f"RK_{k.dep_}_{kl}")
                out.append(f"RK_{rl}_{k.dep_}_{kl}")
                if k.dep_ in ("ccomp", "xcomp"):
                    out.append("CC_" + kl)
                    for g in k.children:
                        if g.dep_ in ("aux", "neg", "dobj", "prep", "acomp"):
                            gl = lemma(g)
                            out.append(f"CK_{kl}_{g.dep_}_{gl}")
                            out.append(f"CK_{g.dep_}_{gl}")
    for t in toks:
        tl = lemma(t)
        cls = cue_class(tl)
        if t.pos_ == "VERB" or cls:
            out.append("V_" + tl)
            for k in t.children:
                if k.dep_ in ("aux", "neg", "auxpass"):
                    kl = lemma(k)
                    out.append(f"VA_{kl}_{tl}")
                    out.append(f"VA_{kl}_{cls or 'O'}")
    return out
