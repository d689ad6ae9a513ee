"""spaCy components of the literature pipeline: dictionary entity matcher and causal patterns.

The entity matcher marks chemicals and diseases from :class:`kg.mining.literature.lexicon.EntityLexicon`
(``Span.label_`` is the kind, ``Span.kb_id_`` the concept id) and carries an abbreviation's meaning to
its short form ("methotrexate (MTX)" makes every "MTX" methotrexate). The pattern finder records, for
mention pairs of a sentence, the lexical cue or the dependency path that states cause and effect, with
the negation and hedging around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from kg.mining.core.causal_cues import NEGATION_CUES, CueIndex, hedge_certainty
from kg.mining.core.factory_annotations import resolved
from kg.mining.literature.lexicon import EntityLexicon

if not Doc.has_extension("pattern_hits"):
    Doc.set_extension("pattern_hits", default=None)

_CAUSE_VERBS = frozenset({
    "cause", "causes", "caused", "causing", "induce", "induces", "induced", "inducing", "produce", "produces",
    "produced", "producing", "provoke", "provokes", "provoked", "precipitate", "precipitated", "precipitates",
    "trigger", "triggers", "triggered", "elicit", "elicited", "elicits", "evoke", "evoked", "evokes",
    "lead", "leads", "led", "leading", "result", "results", "resulted", "resulting", "exacerbate",
    "exacerbated", "aggravate", "aggravated", "worsen", "worsened", "develop", "developed",
    "contribute", "contributed", "contributes",
})
_SUBJ = frozenset({"nsubj", "csubj"})
_PASSIVE_SUBJ = frozenset({"nsubjpass", "csubjpass"})
_OBJ = frozenset({"dobj", "attr", "prep", "xcomp", "ccomp", "acomp", "oprd", "advcl", "pobj", "conj"})


@dataclass(frozen=True)
class PatternHit:
    """A stated cause -> effect between two entities (indices into ``doc.ents``)."""

    cause: int
    effect: int
    cue: str
    kind: str
    """``lexical`` or ``dependency``."""
    weak: bool
    negated: bool
    certainty: str
    between: int = 0
    """Other entities between the two mentions."""


class EntityMatcher:
    """Dictionary matcher over lower-cased tokens, longest match first, plus abbreviation carry-over."""

    def __init__(self, nlp: Language, lexicon: EntityLexicon) -> None:
        self.lexicon = lexicon
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.exact = PhraseMatcher(nlp.vocab, attr="ORTH")
        for matcher, keys in ((self.matcher, list(lexicon.terms)), (self.exact, list(lexicon.exact))):
            for i in range(0, len(keys), 5000):
                matcher.add("T", list(nlp.tokenizer.pipe(keys[i:i + 5000])))  # type: ignore[union-attr]

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for matcher, exact in ((self.exact, True), (self.matcher, False)):
            for _, start, end in matcher(doc):
                span = doc[start:end]
                entry = self.lexicon.exact.get(span.text) if exact else self.lexicon.terms.get(
                    " ".join(span.text.lower().split()))
                if entry is None:
                    continue
                spans.append(Span(doc, start, end, label=entry.kind, kb_id=entry.concept_id))
        spans = self._abbreviations(doc, spans)
        doc.ents = filter_spans(spans)
        return doc

    def _abbreviations(self, doc: Doc, spans: list[Span]) -> list[Span]:
        if not Doc.has_extension("abbreviations") or not doc._.abbreviations:
            return spans
        by_range = {(s.start, s.end): s for s in spans}
        out = list(spans)
        for short in doc._.abbreviations:
            long = short._.long_form
            if long is None:
                continue
            ent = by_range.get((long.start, long.end)) or next(
                (s for s in spans if s.start >= long.start and s.end <= long.end and s.end == long.end), None)
            if ent is None:
                continue
            out = [s for s in out if not (s.start < short.end and short.start < s.end)]
            out.append(Span(doc, short.start, short.end, label=ent.label_, kb_id=ent.kb_id_))
        return out


class CausalPatterns:
    """Lexical and dependency cause-effect patterns between the entity pairs of each sentence."""

    def __init__(self, max_gap: int = 12, use_parse: bool = True) -> None:
        self.cues = CueIndex()
        self.max_gap = max_gap
        self.use_parse = use_parse

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        hits: list[PatternHit] = []
        if len(ents) >= 2:
            words = [t.lower_ for t in doc]
            cue_hits = self.cues.hits(words)
            by_sent: dict[int, list[int]] = {}
            for i, e in enumerate(ents):
                by_sent.setdefault(e.sent.start, []).append(i)
            for idx in by_sent.values():
                if len(idx) < 2:
                    continue
                hits.extend(self._lexical(doc, ents, idx, cue_hits, words))
                if self.use_parse and doc.has_annotation("DEP"):
                    hits.extend(self._dependency(doc, ents, idx))
        doc._.pattern_hits = hits
        return doc

    def _lexical(self, doc: Doc, ents: list[Span], idx: list[int], cue_hits: list, words: list[str]) -> list[PatternHit]:
        out = []
        for a_pos, a in enumerate(idx):
            for b in idx[a_pos + 1:]:
                ea, eb = ents[a], ents[b]
                if eb.start - ea.end > self.max_gap:
                    continue
                for cue in cue_hits:
                    if cue.start < ea.end or cue.end > eb.start:
                        continue
                    cause, effect = (a, b) if cue.direction == "cause_first" else (b, a)
                    before = words[max(ea.end, cue.start - 3):cue.start]
                    neg = bool(set(before) & NEGATION_CUES)
                    sent = words[ea.sent.start:ea.sent.end]
                    between = sum(1 for e in ents if ea.end <= e.start and e.end <= eb.start)
                    out.append(PatternHit(cause, effect, cue.cue, "lexical", cue.weak, neg, hedge_certainty(sent),
                                          between))
                    break
        return out

    def _dependency(self, doc: Doc, ents: list[Span], idx: list[int]) -> list[PatternHit]:
        out = []
        sent = ents[idx[0]].sent
        roots = {i: ents[i].root.i for i in idx}
        for tok in sent:
            if tok.lower_ not in _CAUSE_VERBS or tok.pos_ not in ("VERB", "AUX", ""):
                continue
            cause_side, effect_side = _arguments(tok)
            if not cause_side or not effect_side:
                continue
            for a in idx:
                for b in idx:
                    if a == b:
                        continue
                    if roots[a] in cause_side and roots[b] in effect_side:
                        neg = _negated_token(tok)
                        cert = _modal_certainty(tok) or hedge_certainty([t.lower_ for t in sent])
                        lo, hi = sorted((a, b))
                        out.append(PatternHit(a, b, tok.lower_, "dependency", False, neg, cert, hi - lo - 1))
        return out


def _subtree_ids(tok: Token) -> set[int]:
    return {t.i for t in tok.subtree}


def _arguments(verb: Token) -> tuple[set[int], set[int]]:
    """Token ids on the cause side and on the effect side of a causal verb.

    Active ("X caused Y", "X led to Y"): subject -> object side. Passive ("Y was induced by X"): agent ->
    passive subject. As a modifier ("X-induced Y", "Y induced by X") the verb's head noun is the effect.
    """
    cause: set[int] = set()
    effect: set[int] = set()
    if verb.dep_ in ("amod", "acl") and verb.head is not verb:
        effect |= {verb.head.i} | {t.i for t in verb.head.children if t.dep_ in ("compound", "amod") and t.i != verb.i}
        for child in verb.children:
            if child.dep_ == "agent" or (verb.dep_ == "amod" and child.i < verb.i):
                cause |= _subtree_ids(child)
        return cause, effect
    passive = any(c.dep_ in _PASSIVE_SUBJ for c in verb.children)
    for child in verb.children:
        if child.dep_ in _SUBJ and not passive:
            cause |= _subtree_ids(child)
        elif child.dep_ in _PASSIVE_SUBJ:
            effect |= _subtree_ids(child)
        elif child.dep_ == "agent" and passive:
            cause |= _subtree_ids(child)
        elif child.dep_ in _OBJ and not passive:
            effect |= _subtree_ids(child)
    return cause, effect


def _negated_token(tok: Token) -> bool:
    if any(c.dep_ == "neg" for c in tok.children):
        return True
    prev = [t.lower_ for t in tok.doc[max(tok.sent.start, tok.i - 3):tok.i]]
    return bool(set(prev) & NEGATION_CUES)


def _modal_certainty(tok: Token) -> str | None:
    for c in tok.children:
        if c.dep_ == "aux" and c.lower_ in ("may", "might", "could", "can"):
            return "possible"
    return None


@Language.factory("mcrag_entity_matcher", default_config={"lexicon_path": ""})
@resolved
def make_entity_matcher(nlp: Language, name: str, lexicon_path: str) -> EntityMatcher:
    path = Path(lexicon_path)
    if not lexicon_path or not path.is_file():
        raise FileNotFoundError(f"entity lexicon {lexicon_path or '(none given)'} not found; "
                                "run `mcrag mine train-relations` or give the ontology folder")
    return EntityMatcher(nlp, EntityLexicon.load(path))


@Language.factory("mcrag_causal_patterns", default_config={"max_gap": 12, "use_parse": True})
@resolved
def make_causal_patterns(nlp: Language, name: str, max_gap: int, use_parse: bool) -> CausalPatterns:
    return CausalPatterns(max_gap, use_parse)
