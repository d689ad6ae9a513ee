"""Which of two mentions a sentence states as the cause, when a causal construction joins them.

The relation-kind model learns the direction from wording, but it learnt it from drug -> disease sentences,
and pathophysiology is often worded otherwise: "angina is a symptom of coronary heart disease", "symptoms
of emphysema include wheezing", "anemia due to internal bleeding", "people who have AAT deficiency develop
emphysema". This module reads such constructions from the dependency parse, for any kinds of mention:

* causal verbs ("cause", "lead to", "result in", "induce", "develop", ...): the subject's side is the cause,
  the object's side the effect; passive ("Y was caused by X") and modifier ("X-induced Y", "Y induced by
  X") forms turn it round, and so does "result from";
* causal nouns and prepositions: "Y due to / secondary to / because of / as a result of X"; "X is a cause of
  Y", "the cause of Y is X";
* manifestation nouns: "X is a symptom / sign / complication / manifestation of Y", "symptoms of Y include X"
  (Y causes X).

The miner lets a construction found here decide the direction of a ``causes`` reading, and requires one for
a ``causes`` reading of a pair the model has no training signal for (see :mod:`kg.mining.literature.reading`).
"""

from __future__ import annotations

from typing import Literal

from spacy.tokens import Span, Token

from kg.mining.classifiers.pair_features import dependency_path
from kg.mining.classifiers.text_features import lemma

Direction = Literal["forward", "backward"]
"""``forward``: the first mention (in text order) is the cause."""

CAUSAL_VERBS = frozenset({
    "cause", "induce", "produce", "provoke", "precipitate", "trigger", "elicit", "evoke", "lead", "result",
    "contribute", "develop", "exacerbate", "aggravate", "worsen", "damage", "bring", "create", "generate",
    "give", "make", "injure", "weaken", "narrow", "block", "inflame", "scar", "raise", "increase",
})
"""Verbs whose subject brings about their object ("give rise to", "make ... worse", "raise the pressure")."""
REVERSED_VERBS = frozenset({"result", "stem", "arise", "occur", "come", "develop"})
"""With "from" / "as a result of": the subject is the effect ("Y results from X", "Y occurs as a result of X")."""
COMPLICATION_VERBS = frozenset({"complicate"})
"""The subject of "X was complicated by Y" is the primary disease: the cause."""
CAUSE_NOUNS = frozenset({"cause", "reason", "source", "trigger", "origin", "culprit"})
EFFECT_NOUNS = frozenset({"symptom", "sign", "complication", "manifestation", "consequence", "feature",
                          "sequela", "result", "effect", "finding", "outcome"})
BECAUSE_OF = frozenset({"due", "secondary", "because", "owing", "attributable", "attributed"})
_SUBJ = frozenset({"nsubj", "csubj"})
_PASSIVE_SUBJ = frozenset({"nsubjpass", "csubjpass"})
_OBJ = frozenset({"dobj", "attr", "prep", "xcomp", "ccomp", "acomp", "oprd", "pobj", "conj", "advcl"})


def _ids(tok: Token) -> set[int]:
    return {t.i for t in tok.subtree}


def _from_preps(verb: Token) -> list[Token]:
    """Prepositions that name where the subject came from: "from", "of", "as (a result of)"."""
    return [c for c in verb.children if c.dep_ == "prep" and (c.lower_ in ("from", "of") or (
        c.lower_ == "as" and any(g.lower_ in ("result", "consequence") for g in c.children)))]


def _governing_subject(verb: Token) -> set[int]:
    """The subject of the verb that governs a subjectless one ("X may play a role in causing Y")."""
    tok = verb
    for _ in range(6):
        if tok.dep_ not in ("xcomp", "pcomp", "advcl", "conj", "prep", "pobj", "dobj") or tok.head.i == tok.i:
            return set()
        tok = tok.head
        subj = [c for c in tok.children if c.dep_ in _SUBJ]
        if subj:
            return set().union(*(_ids(c) for c in subj))
    return set()


def _verb_sides(verb: Token) -> tuple[set[int], set[int]] | None:
    """(cause side, effect side) token ids of a causal verb."""
    v = lemma(verb)
    if v in COMPLICATION_VERBS:
        sides = _verb_sides_plain(verb, v)
        return (sides[1], sides[0]) if sides else None
    return _verb_sides_plain(verb, v)


def _verb_sides_plain(verb: Token, v: str) -> tuple[set[int], set[int]] | None:
    cause: set[int] = set()
    effect: set[int] = set()
    if verb.dep_ in ("amod", "acl") and verb.head.i != verb.i and v not in REVERSED_VERBS:  # X-induced Y, Y induced by X
        effect |= {verb.head.i} | {t.i for t in verb.head.children if t.dep_ in ("compound", "amod") and t.i != verb.i}
        for child in verb.children:
            if child.dep_ == "agent" or (verb.dep_ == "amod" and child.i < verb.i):
                cause |= _ids(child)
        return (cause, effect) if cause and effect else None
    passive = any(c.dep_ in _PASSIVE_SUBJ for c in verb.children)
    from_prep = _from_preps(verb) if v in REVERSED_VERBS else []
    for child in verb.children:
        if child.dep_ in _SUBJ and not passive:
            (effect if v in REVERSED_VERBS and from_prep else cause).update(_ids(child))
        elif child.dep_ in _PASSIVE_SUBJ:
            effect |= _ids(child)
        elif child.dep_ == "agent" and passive:
            cause |= _ids(child)
        elif child.dep_ in _OBJ and not passive:
            (cause if v in REVERSED_VERBS and child in from_prep else effect).update(_ids(child))
    if verb.dep_ == "relcl" and not any(c.dep_ in _SUBJ | _PASSIVE_SUBJ for c in verb.children):
        cause |= {verb.head.i}  # "a disease that causes Y"
    if not cause and not passive and not any(c.dep_ in _SUBJ for c in verb.children):
        cause = _governing_subject(verb)
    return (cause, effect) if cause and effect else None


def _noun_sides(noun: Token) -> tuple[set[int], set[int]] | None:
    """Sides of "X is a cause of Y" / "X is a symptom of Y" / "symptoms of Y include X"."""
    n = lemma(noun)
    of = [c for c in noun.children if c.dep_ == "prep" and c.lower_ in ("of", "for")]
    if not of:
        return None
    inner = set().union(*(_ids(c) for c in of))
    while noun.dep_ == "conj" and noun.head.i != noun.i:  # "signs and symptoms of Y include X"
        noun = noun.head
    head = noun.head
    outer: set[int] = set()
    if noun.dep_ in ("attr", "acomp") and head.i != noun.i:  # X is a symptom of Y
        outer = set().union(*(_ids(c) for c in head.children if c.dep_ in _SUBJ))
    elif noun.dep_ in _SUBJ:  # symptoms of Y include X / the cause of Y is X
        outer = set().union(*(_ids(c) for c in head.children if c.dep_ in ("dobj", "attr", "oprd")))
    elif noun.dep_ == "appos":
        outer = {head.i}
    if not outer:
        return None
    return (outer, inner) if n in CAUSE_NOUNS else (inner, outer)


def _because_sides(tok: Token) -> tuple[set[int], set[int]] | None:
    """Sides of "Y due to X" / "Y secondary to X" / "Y because of X" / "Y as a result of X"."""
    if lemma(tok) in BECAUSE_OF or (tok.lower_ == "result" and tok.head.lower_ == "as"):
        obj = [t for t in tok.subtree if t.dep_ == "pobj"]
        if not obj:
            return None
        anchor = tok.head if tok.lower_ != "result" else tok.head.head
        while anchor.dep_ in ("prep", "amod", "acomp", "advmod") and anchor.head.i != anchor.i:
            anchor = anchor.head
        cause = _ids(obj[0])
        effect = _ids(anchor) - _ids(tok)  # "Y due to X", "you have Y due to X"
        return (cause, effect) if effect else None
    return None


def stated_direction(first: Span, second: Span) -> Direction | None:
    """The direction a causal construction on the path joining two mentions states, or None without one."""
    _, nodes = dependency_path(first.root, second.root)
    a, b = first.root.i, second.root.i
    for tok in nodes:
        sides = None
        lem = lemma(tok)
        if tok.pos_ in ("VERB", "AUX") and lem in CAUSAL_VERBS | REVERSED_VERBS | COMPLICATION_VERBS:
            sides = _verb_sides(tok)
        elif tok.pos_ in ("NOUN", "PROPN") and lem in CAUSE_NOUNS | EFFECT_NOUNS:
            sides = _noun_sides(tok)
        elif lem in BECAUSE_OF or tok.lower_ == "result":
            sides = _because_sides(tok)
        if sides is None:
            continue
        cause, effect = sides
        if a in cause and b in effect:
            return "forward"
        if b in cause and a in effect:
            return "backward"
    return None
