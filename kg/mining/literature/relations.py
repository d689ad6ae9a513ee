"""Candidate cause -> effect pairs of a processed document and the features the classifier reads.

A candidate is a pair of concept ids (a chemical and a disease) that both occur in one document.
Its features describe how the two are mentioned: in one sentence or apart, how close, whether a
lexical or dependency pattern states the relation (and whether negated or hedged), whether they are in
the title, how often each is mentioned, plus optional priors learned from the training corpus. The
evidence sentence (the best-supported co-occurrence) anchors the claim's provenance.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from spacy.tokens import Doc, Span

from kg.mining.core.documents import Document, GoldMention

FEATURE_NAMES: tuple[str, ...] = (
    "cooc_sentences", "cooc_any", "cooc_adjacent", "min_token_distance", "title_cause", "title_effect",
    "title_both", "freq_cause", "freq_effect", "top_cause", "top_effect", "n_causes", "n_effects",
    "first_cause", "first_effect", "effect_in_last", "strong_pattern", "weak_pattern", "dep_pattern",
    "reverse_pattern", "pattern_negated", "pattern_hedged", "pattern_between", "sentence_cue",
    "n_sentences", "single_sentence", "treat_between", "treat_sentence", "pair_cooc_rank", "cause_cooc_share",
    "effect_cooc_share", "effect_specific", "prior_pair", "prior_cause", "prior_effect", "prior_pair_seen",
)

_SENTENCE_CUES = frozenset({
    "induced", "induce", "induces", "caused", "cause", "causes", "toxicity", "associated", "after", "following",
    "developed", "due", "secondary", "related", "during", "treated", "receiving", "adverse", "side", "effect",
    "effects", "complication", "complications", "risk", "reaction", "reactions", "ingestion", "overdose",
    "intoxication", "poisoning", "administration", "therapy", "treatment",
})


TREAT_CUES = frozenset({
    "treat", "treated", "treating", "treatment", "treatments", "therapy", "therapeutic", "prevent", "prevents",
    "prevented", "prevention", "preventing", "protect", "protects", "protected", "protective", "protection",
    "attenuate", "attenuated", "attenuates", "reverse", "reversed", "reverses", "reversal", "inhibit",
    "inhibited", "inhibits", "antagonize", "antagonized", "ameliorate", "ameliorated", "improve", "improved",
    "improves", "alleviate", "alleviated", "relieve", "relieved", "reduce", "reduced", "reduces", "suppress",
    "suppressed", "against", "efficacy", "effective", "management", "benefit", "beneficial", "counteract",
    "abolished", "blocked", "blocks", "restored", "normalized",
})
"""Words that state the opposite of causation: the chemical treats or prevents the disease."""


@dataclass(frozen=True)
class MentionRef:
    """One entity mention as the pair builder needs it."""

    index: int
    kind: str
    ids: tuple[str, ...]
    start_char: int
    end_char: int
    sent: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Priors:
    """What the training corpus says about pairs and single concepts (learned on training folds only)."""

    pair: dict[tuple[str, str], float] = field(default_factory=dict)
    """Share of training documents with both concepts where the pair is a gold relation."""
    pair_seen: dict[tuple[str, str], int] = field(default_factory=dict)
    cause: dict[str, float] = field(default_factory=dict)
    """Share of training documents mentioning the cause where it takes part in a gold relation."""
    effect: dict[str, float] = field(default_factory=dict)

    @classmethod
    def learn(cls, docs: Iterable[Document], cause_kind: str = "Chemical", effect_kind: str = "Disease") -> Priors:
        pair_pos: Counter[tuple[str, str]] = Counter()
        pair_all: Counter[tuple[str, str]] = Counter()
        c_pos: Counter[str] = Counter()
        c_all: Counter[str] = Counter()
        e_pos: Counter[str] = Counter()
        e_all: Counter[str] = Counter()
        for d in docs:
            causes = {i for m in d.mentions if m.kind == cause_kind for i in m.ids}
            effects = {i for m in d.mentions if m.kind == effect_kind for i in m.ids}
            rel = set(d.relations)
            for c in causes:
                c_all[c] += 1
                c_pos[c] += any(r[0] == c for r in rel)
            for e in effects:
                e_all[e] += 1
                e_pos[e] += any(r[1] == e for r in rel)
            for c in causes:
                for e in effects:
                    pair_all[(c, e)] += 1
                    pair_pos[(c, e)] += (c, e) in rel
        return cls({k: pair_pos[k] / n for k, n in pair_all.items()}, dict(pair_all),
                   {k: c_pos[k] / n for k, n in c_all.items()}, {k: e_pos[k] / n for k, n in e_all.items()})


@dataclass(frozen=True)
class Candidate:
    """A (cause id, effect id) pair of one document with its features and best evidence."""

    doc_id: str
    cause_id: str
    effect_id: str
    features: tuple[float, ...]
    sentence_start: int
    sentence_end: int
    sentence: str
    marked: str
    """Evidence sentence with the pair's mentions replaced by @CHEMICAL$ / @DISEASE$ (for embeddings)."""
    polarity: str = "positive"
    certainty: str = "certain"
    cause_label: str = ""
    effect_label: str = ""
    cause_spans: tuple[tuple[int, int], ...] = ()
    effect_spans: tuple[tuple[int, int], ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.doc_id, self.cause_id, self.effect_id)


def mentions_of(doc: Doc) -> list[MentionRef]:
    """The document's entities with their sentence index (ids from ``kb_id_``, ``|``-separated)."""
    sent_index = {s.start: i for i, s in enumerate(doc.sents)}
    out = []
    for i, e in enumerate(doc.ents):
        ids = tuple(x for x in e.kb_id_.split("|") if x and x != "-1")
        if not ids:
            continue
        out.append(MentionRef(i, e.label_, ids, e.start_char, e.end_char, sent_index[e.sent.start], e.start, e.end,
                              e.text))
    return out


def set_gold_entities(doc: Doc, mentions: Sequence[GoldMention], *, key_by_text: bool = False) -> Doc:
    """Replace ``doc.ents`` by a corpus's gold mentions (the gold-entity evaluation setting)."""
    spans: list[Span] = []
    taken: set[int] = set()
    for m in sorted(mentions, key=lambda m: (m.start, -(m.end - m.start))):
        span = doc.char_span(m.start, m.end, label=m.kind, alignment_mode="expand",
                             kb_id="|".join(m.ids) if not key_by_text else m.text.lower())
        if span is None or any(i in taken for i in range(span.start, span.end)):
            continue
        if not key_by_text and not m.ids:
            continue
        taken.update(range(span.start, span.end))
        spans.append(span)
    doc.ents = spans
    return doc


def candidates(doc: Doc, document: Document, *, cause_kind: str = "Chemical", effect_kind: str = "Disease",
               priors: Priors | None = None) -> list[Candidate]:
    """Every (cause, effect) concept pair of the document, with features and evidence."""
    ments = mentions_of(doc)
    causes: dict[str, list[MentionRef]] = defaultdict(list)
    effects: dict[str, list[MentionRef]] = defaultdict(list)
    for m in ments:
        for cid in m.ids:
            if m.kind == cause_kind:
                causes[cid].append(m)
            elif m.kind == effect_kind:
                effects[cid].append(m)
    if not causes or not effects:
        return []
    sents = list(doc.sents)
    n_sents = len(sents)
    hits = doc._.pattern_hits or []
    ent_to_ment = {m.index: m for m in ments}
    c_rank = Counter({k: len(v) for k, v in causes.items()})
    e_rank = Counter({k: len(v) for k, v in effects.items()})
    top_c = max(c_rank.values())
    top_e = max(e_rank.values())
    cooc = {(c, e): len({m.sent for m in cms} & {m.sent for m in ems})
            for c, cms in causes.items() for e, ems in effects.items()}
    ctx = _Context(
        cause_total=Counter(), effect_total=Counter(), rank={},
        specific=_specificity(effects, sents))
    for (c, e), n in cooc.items():
        ctx.cause_total[c] += n
        ctx.effect_total[e] += n
    for c in causes:
        ordered = sorted((n for (c2, _), n in cooc.items() if c2 == c), reverse=True)
        for (c2, e), n in cooc.items():
            if c2 == c:
                ctx.rank[(c, e)] = ordered.index(n)
    out: list[Candidate] = []
    for cid, cms in causes.items():
        for eid, ems in effects.items():
            if cid == eid:
                continue
            out.append(_candidate(doc, document, sents, n_sents, hits, ent_to_ment, cid, cms, eid, ems,
                                  top_c, top_e, len(causes), len(effects), priors, cooc[(cid, eid)], ctx))
    return out


@dataclass
class _Context:
    """Document-wide counts that put one pair in relation to the others."""

    cause_total: Counter[str]
    effect_total: Counter[str]
    rank: dict[tuple[str, str], int]
    specific: dict[str, float]


def _specificity(effects: dict[str, list[MentionRef]], sents: list[Span]) -> dict[str, float]:
    """1 when no other disease mention of the document contains this one's words ("hepatitis" in
    "acute hepatitis" makes the shorter one the less specific), else 0."""
    texts = {e: {m.text.lower() for m in ms} for e, ms in effects.items()}
    out = {}
    for e, ts in texts.items():
        longer = any(t != u and t in u for o, us in texts.items() if o != e for u in us for t in ts)
        out[e] = 0.0 if longer else 1.0
    return out


def _candidate(doc: Doc, document: Document, sents: list[Span], n_sents: int, hits: list, ent_to_ment: dict,
               cid: str, cms: list[MentionRef], eid: str, ems: list[MentionRef], top_c: int, top_e: int,
               n_c: int, n_e: int, priors: Priors | None, n_cooc: int, ctx: _Context) -> Candidate:
    c_idx = {m.index for m in cms}
    e_idx = {m.index for m in ems}
    c_sents = {m.sent for m in cms}
    e_sents = {m.sent for m in ems}
    cooc = sorted(c_sents & e_sents)
    adjacent = any(abs(a - b) <= 1 for a in c_sents for b in e_sents)
    dist = min((abs(a.start - b.start) for a in cms for b in ems if a.sent == b.sent), default=200)
    pair_hits = [h for h in hits if h.cause in c_idx and h.effect in e_idx]
    rev_hits = [h for h in hits if h.cause in e_idx and h.effect in c_idx]
    strong = [h for h in pair_hits if h.kind == "lexical" and not h.weak]
    weak = [h for h in pair_hits if h.kind == "lexical" and h.weak]
    dep = [h for h in pair_hits if h.kind == "dependency"]
    title_c = any(m.start_char < document.title_end for m in cms)
    title_e = any(m.start_char < document.title_end for m in ems)
    sentence_cue = any(t.lower_ in _SENTENCE_CUES for s in cooc for t in sents[s])
    treat_sentence = any(t.lower_ in TREAT_CUES for s in cooc for t in sents[s])
    treat_between = False
    for a in cms:
        for b in ems:
            if a.sent == b.sent:
                lo, hi = (a.end, b.start) if a.start < b.start else (b.end, a.start)
                if any(doc[i].lower_ in TREAT_CUES for i in range(lo, hi)):
                    treat_between = True
    pp = priors or Priors()
    feats = (
        math.log1p(len(cooc)), float(bool(cooc)), float(adjacent), min(dist, 200) / 50.0,
        float(title_c), float(title_e), float(title_c and title_e),
        math.log1p(len(cms)), math.log1p(len(ems)), float(len(cms) == top_c), float(len(ems) == top_e),
        math.log1p(n_c), math.log1p(n_e),
        min(m.sent for m in cms) / max(1, n_sents), min(m.sent for m in ems) / max(1, n_sents),
        float(any(m.sent >= n_sents - 2 for m in ems)),
        float(bool(strong)), float(bool(weak)), float(bool(dep)), float(bool(rev_hits)),
        float(bool(pair_hits) and all(h.negated for h in pair_hits)),
        float(any(h.certainty != "certain" for h in pair_hits)),
        min((h.between for h in pair_hits), default=5) / 5.0,
        float(sentence_cue), math.log1p(n_sents), float(n_sents == 1),
        float(treat_between), float(treat_sentence), float(min(ctx.rank.get((cid, eid), 9), 9)),
        n_cooc / max(1, ctx.cause_total[cid]), n_cooc / max(1, ctx.effect_total[eid]), ctx.specific.get(eid, 1.0),
        pp.pair.get((cid, eid), -1.0), pp.cause.get(cid, -1.0), pp.effect.get(eid, -1.0),
        math.log1p(pp.pair_seen.get((cid, eid), 0)),
    )
    best = _best_sentence(sents, cooc, strong or dep or weak, ent_to_ment, cms, ems, title_c and title_e)
    s_start, s_end, text, marked = _evidence(document.text, sents, best, cms, ems)
    chosen = strong or dep or weak
    polarity = "negative" if chosen and all(h.negated for h in chosen) else "positive"
    certainty = _weakest_certainty([h.certainty for h in chosen]) if chosen else "certain"
    return Candidate(document.doc_id, cid, eid, feats, s_start, s_end, text, marked, polarity, certainty,
                     cms[0].text, ems[0].text, tuple((m.start_char, m.end_char) for m in cms),
                     tuple((m.start_char, m.end_char) for m in ems))


def _weakest_certainty(values: list[str]) -> str:
    """The most certain wording among the stating sentences (one clear statement suffices)."""
    for level in ("certain", "probable", "possible"):
        if level in values:
            return level
    return "certain"


def _best_sentence(sents: list[Span], cooc: list[int], stating: list, ent_to_ment: dict, cms: list[MentionRef],
                   ems: list[MentionRef], both_in_title: bool) -> tuple[int, int]:
    """Sentence range (first, last index) that best supports the pair."""
    if stating:
        m = ent_to_ment.get(stating[0].cause)
        if m is not None:
            return (m.sent, m.sent)
    if both_in_title and cooc and cooc[0] == 0:
        return (0, 0)
    if cooc:
        return (cooc[0], cooc[0])
    a, b = min(((x, y) for x in cms for y in ems), key=lambda p: (abs(p[0].sent - p[1].sent), p[0].sent))
    return (min(a.sent, b.sent), max(a.sent, b.sent))


def _evidence(full: str, sents: list[Span], rng: tuple[int, int], cms: list[MentionRef], ems: list[MentionRef]
              ) -> tuple[int, int, str, str]:
    """Offsets and text of the evidence, and its marked form (the two end sentences only when apart)."""
    first, last = sents[rng[0]], sents[rng[1]]
    start, end = first.start_char, last.end_char
    text = full[start:end]
    parts = [first] if rng[0] == rng[1] else [first, last]
    marked = " ... ".join(_marked(full, s.start_char, s.end_char, cms, ems) for s in parts)
    return start, end, text.strip(), marked


def _marked(full: str, start: int, end: int, cms: list[MentionRef], ems: list[MentionRef]) -> str:
    marks = sorted([(m.start_char, m.end_char, "@CHEMICAL$") for m in cms if start <= m.start_char < end]
                   + [(m.start_char, m.end_char, "@DISEASE$") for m in ems if start <= m.start_char < end])
    out, pos = [], start
    for s, e, tag in marks:
        if s < pos:
            continue
        out.append(full[pos:s])
        out.append(tag)
        pos = e
    out.append(full[pos:end])
    return "".join(out).strip()


_PRIOR_AT = FEATURE_NAMES.index("prior_pair")


def apply_priors(cands: Iterable[Candidate], priors: Priors | None) -> list[Candidate]:
    """The same candidates with their prior features recomputed from ``priors`` (e.g. another fold's)."""
    pp = priors or Priors()
    out = []
    for c in cands:
        tail = (pp.pair.get((c.cause_id, c.effect_id), -1.0), pp.cause.get(c.cause_id, -1.0),
                pp.effect.get(c.effect_id, -1.0), math.log1p(pp.pair_seen.get((c.cause_id, c.effect_id), 0)))
        out.append(replace(c, features=c.features[:_PRIOR_AT] + tail))
    return out
