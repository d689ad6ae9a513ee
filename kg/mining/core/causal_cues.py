"""Lexical cause-effect cues shared by the report and the literature miners.

A cue sits between two entity mentions: "<effect> secondary to <cause>" (effect first) or
"<cause> leads to <effect>" (cause first). Hedges and negations near the cue become claim attributes
(certainty, polarity) instead of silently dropping the statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from kg.mining.core.term_matcher import TermIndex

Direction = Literal["cause_first", "effect_first"]

CAUSE_FIRST_CUES: tuple[str, ...] = (
    "cause", "causes", "caused", "causing", "leads to", "led to", "leading to", "lead to",
    "induce", "induces", "induced", "inducing", "result in", "results in", "resulted in", "resulting in",
    "produce", "produces", "produced", "producing", "provoke", "provokes", "provoked", "trigger", "triggers",
    "triggered", "precipitate", "precipitates", "precipitated", "elicit", "elicits", "elicited", "evoke",
    "evokes", "evoked", "contribute to", "contributes to", "contributed to", "contributing to",
    "is responsible for", "was responsible for", "were responsible for", "responsible for",
    "exacerbate", "exacerbates", "exacerbated", "aggravate", "aggravates", "aggravated", "worsen",
    "worsens", "worsened", "with resultant", "with subsequent", "give rise to", "gives rise to",
    "gave rise to", "- induced", "- associated", "- related", "- provoked", "- mediated", "- triggered",
    "- dependent", "- caused", "-induced", "associated with", "is associated with", "was associated with",
    "were associated with", "related", "toxicity", "causative", "may cause", "can cause", "could cause",
    "develop", "developed", "developing", "with development of", "followed by",
)
EFFECT_FIRST_CUES: tuple[str, ...] = (
    "due to", "secondary to", "caused by", "induced by", "provoked by", "triggered by", "produced by",
    "precipitated by", "mediated by", "elicited by", "evoked by", "resulting from", "result of",
    "as a result of", "as a consequence of", "consequence of", "because of", "attributed to",
    "attributable to", "related to", "from", "following", "after", "associated with", "in association with",
    "in patients treated with", "in patients receiving", "during treatment with", "during therapy with",
    "during", "on", "under", "with the use of", "in the setting of", "in response to", "complicating",
    "induced", "treated with", "receiving", "given", "exposure to", "after administration of",
    "after treatment with", "following administration of", "following treatment with", "from the",
)
WEAK_CUES: frozenset[str] = frozenset({
    "associated with", "is associated with", "was associated with", "were associated with", "related",
    "related to", "from", "following", "after", "during", "on", "under", "in association with", "develop",
    "developed", "developing", "followed by", "treated with", "receiving", "given", "in the setting of",
    "with the use of", "from the", "exposure to", "- related", "- associated", "- dependent", "- mediated",
})
"""Cues that often co-occur with causation without stating it; the classifier weighs them separately."""

HEDGE_POSSIBLE: frozenset[str] = frozenset({
    "may", "might", "could", "possibly", "possible", "suggest", "suggests", "suggested", "suggesting",
    "hypothesize", "hypothesized", "speculate", "speculated", "potential", "potentially", "perhaps",
    "question", "questionable", "unclear", "uncertain", "can",
})
HEDGE_PROBABLE: frozenset[str] = frozenset({
    "likely", "probably", "probable", "presumably", "presumed", "apparently", "appear", "appears",
    "appeared", "seem", "seems", "seemed", "suspected", "suspect", "implicated", "consistent",
})
NEGATION_CUES: frozenset[str] = frozenset({
    "not", "no", "never", "neither", "nor", "without", "unlikely", "failed", "fails", "lack", "lacks",
    "absence", "none", "n't", "cannot", "unrelated", "independent",
})


@dataclass(frozen=True)
class CueHit:
    """A causal cue found between two mentions of a sentence."""

    cue: str
    direction: Direction
    weak: bool
    start: int
    end: int
    """Token offsets of the cue within the document."""


class CueIndex:
    """Both cue lists compiled once; :meth:`between` finds a cue in the gap of a mention pair."""

    def __init__(self, cause_first: Sequence[str] = CAUSE_FIRST_CUES,
                 effect_first: Sequence[str] = EFFECT_FIRST_CUES) -> None:
        self.index = TermIndex({"cause_first": cause_first, "effect_first": effect_first})

    def hits(self, words: Sequence[str]) -> list[CueHit]:
        """All cue matches over lower-cased words, the longest kept where two overlap."""
        matches = sorted(self.index.match(words), key=lambda m: (m.start, -(m.end - m.start)))
        out: list[CueHit] = []
        last_end = -1
        for m in matches:
            if m.start < last_end:
                continue
            out.append(CueHit(m.term, m.key, m.term in WEAK_CUES, m.start, m.end))  # type: ignore[arg-type]
            last_end = m.end
        return out


def hedge_certainty(words: Sequence[str]) -> str:
    """``possible`` / ``probable`` / ``certain`` from the hedge words of a sentence."""
    ws = set(words)
    if ws & HEDGE_POSSIBLE:
        return "possible"
    if ws & HEDGE_PROBABLE:
        return "probable"
    return "certain"


def is_negated(words: Sequence[str]) -> bool:
    """True when a negation cue occurs in ``words`` (the cue and the tokens just before it)."""
    return bool(set(words) & NEGATION_CUES)
