"""ConText modifier rules for chest X-ray reports: negation, uncertainty, history.

Drawn from the NegBio and CheXpert negation / uncertainty patterns, rewritten as the lexical cues
with a direction and a scope that medspaCy's ConText understands (it has no dependency parse to
walk), then adjusted on the IU-Xray train and validation studies.
"""

from __future__ import annotations

from medspacy.context import ConTextRule

NEG, POSS, HIST, HYPO = "NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HISTORICAL", "HYPOTHETICAL"

_NEGATION_FORWARD = (
    "no", "not", "without", "negative for", "free of", "clear of", "absence of", "absent", "no evidence of",
    "no evidence", "no evidence for", "no findings of", "no finding of", "no signs of", "no sign of",
    "no definite", "no definitive", "no convincing", "no acute", "no focal", "no visible", "no large",
    "no significant", "without evidence of", "without any", "rather than", "resolution of",
    "resolved", "interval resolution of", "interval clearing of", "removal of", "no radiographic evidence of",
    "not seen", "neither", "nor", "exclude", "excluded", "rule out", "ruled out", "no new", "nothing to suggest",
    "no suspicious", "no typical findings of", "negative", "no residual", "no other", "there is no",
    "there are no", "removed", "clearing of", "cleared",
)
_NEGATION_BACKWARD = (
    "is not seen", "are not seen", "not seen", "not identified", "is absent", "are absent", "not present",
    "is not present", "are not present", "not visualized", "resolved",
    "cleared", "no longer seen", "no longer visualized", "no longer present",
    "is not identified", "are not identified", "not demonstrated", "not evident", "is not evident",
    "not appreciated", "not noted", "removed", "not detected",
    "is not visualized", "are not visualized", "excluded", "is excluded", "unlikely", "not visible",
    "is not visible", "are not visible", "is negative", "not apparent", "resolving",
)
_UNCERTAIN_FORWARD = (
    "may", "may represent", "may reflect", "may be", "might", "could", "could represent", "could be",
    "possible", "possibly", "suspicious for", "suspect", "suspected",
    "concerning for", "concern for", "question of", "questionable", "cannot exclude", "can not exclude",
    "cannot be excluded", "not excluded", "cannot rule out", "can not rule out",
    "suggestive of", "question", "correlate clinically for", "clinical correlation for", "suggests", "suggesting", "suggest", "worrisome for",
    "equivocal", "indeterminate", "vague", "ill-defined", "would be difficult to exclude",
    "not entirely excluded", "cannot be completely excluded", "can't exclude",
)
# "consistent with", "compatible with", "probable", "likely", "represents" and "borderline" are left out on
# purpose: Open-i's indexers read them as affirmations (e.g. 24 of 25 "consistent with" mentions are
# gold positives on the train and validation studies).
_UNCERTAIN_BACKWARD = (
    "is not excluded", "are not excluded", "not excluded", "cannot be excluded", "can not be excluded",
    "is possible", "is suspected", "is questioned",
    "not ruled out", "is not ruled out", "are possible", "is questionable", "is uncertain",
    "not entirely excluded", "is not entirely excluded", "are not entirely excluded", "is a possibility",
    "not completely excluded", "is not completely excluded", "difficult to exclude", "difficult to entirely exclude",
    "are also possible", "is also possible", "would be a consideration", "is a consideration",
    "is in the differential", "are in the differential", "cannot be ruled out", "can not be ruled out",
)
_UNCERTAIN_SENTENCE = ("differential", "differential diagnosis", "differential considerations",
                       "differential diagnoses", "diagnostic considerations", "considerations include")
"""A differential diagnosis lists alternatives up to the end of its sentence, however long the list."""
_UNCERTAIN_SENTENCE_BACKWARD = ("would be a consideration", "is a consideration", "is in the differential",
                                "are in the differential")
_NEGATION_SENTENCE_BACKWARD = ("has resolved", "have resolved", "has cleared", "have cleared",
                               "have been removed", "has been removed")
"""Resolution words look back over the whole sentence ("consolidation, atelectasis and blunting have cleared")."""
ALTERNATIVE_CUES: tuple[str, ...] = ("versus", "vs", "vs.", "either")
"""An alternative ("atelectasis versus infiltrate") leaves both of its sides uncertain."""
_PSEUDO = (
    "no change", "no significant change", "no interval change", "not changed", "no increase", "no decrease",
    "not only", "no further", "without change", "no new", "not significantly changed", "no longer",
    "unchanged", "no acute osseous", "no acute bony", "no acute bone", "not well seen", "not well visualized",
    "if not", "not clear", "or without", "not seen on prior", "not seen on the prior",
    "not seen on previous", "not seen on the previous", "not present on prior", "not present on the prior",
    "not visualized on prior", "not seen previously", "not previously seen", "not present previously",
    "most suggestive of", "strongly suggestive of", "without significant interval change", "without interval change",
    "without significant change",
    "not present on previous", "not seen on comparison", "not identified on prior",
)
_TERMINATE = (
    "but", "however", "although", "though", "which", "aside from", "apart from", "except", "otherwise",
    "there is", "there are", ";", "while", "whereas", "yet", "still",
    "again", "is present", "are present", "is seen", "are seen", "is noted", "are noted", "is again seen",
    "is unchanged", "are unchanged", "persistent", "remains", "remain",
)
_HISTORICAL_FORWARD = ("history of", "h/o", "prior history of", "previous history of", "known")
_HYPOTHETICAL_FORWARD = ("evaluate for", "evaluation for", "assess for", "rule out", "rule-out", "r/o", "to exclude",
                         "if", "recommend", "follow-up", "followup")


_ORDER: tuple[tuple[tuple[str, ...], str, str, int | None], ...] = (
    (_NEGATION_FORWARD, NEG, "FORWARD", None),
    (_NEGATION_BACKWARD, NEG, "BACKWARD", 6),
    (_UNCERTAIN_FORWARD, POSS, "FORWARD", None),
    (_UNCERTAIN_BACKWARD, POSS, "BACKWARD", 6),
    (_UNCERTAIN_SENTENCE, POSS, "FORWARD", None),
    (_NEGATION_SENTENCE_BACKWARD, NEG, "BACKWARD", None),
    (_UNCERTAIN_SENTENCE_BACKWARD, POSS, "BACKWARD", None),
    (ALTERNATIVE_CUES, POSS, "BIDIRECTIONAL", 6),
    (_PSEUDO, "PSEUDO", "PSEUDO", None),
    (_TERMINATE, "TERMINATE", "TERMINATE", None),
    (_HISTORICAL_FORWARD, HIST, "FORWARD", None),
    (_HYPOTHETICAL_FORWARD, HYPO, "FORWARD", None),
)
"""The cue lists in precedence order: a literal listed twice keeps its later meaning."""


def _scope(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def report_context_rules() -> list[ConTextRule]:
    """The rule set the report pipeline's ConText component loads: one rule per literal.

    medspaCy keeps only one rule per literal (the one added last), so duplicates are resolved here:
    a literal that is a cue of the same kind forwards and backwards ("resolved", "cannot be excluded")
    looks both ways; otherwise the later list wins ("no new" is a pseudo-cue, "rule out" hypothetical).
    """
    chosen: dict[str, tuple[str, str, int | None]] = {}
    for literals, category, direction, scope in _ORDER:
        for lit in literals:
            key = lit.lower()
            prev = chosen.get(key)
            if (prev is not None and prev[0] == category and prev[1] != direction
                    and {prev[1], direction} <= {"FORWARD", "BACKWARD", "BIDIRECTIONAL"}):
                chosen[key] = (category, "BIDIRECTIONAL", _scope(prev[2], scope))
            else:
                chosen[key] = (category, direction, scope)
    return [ConTextRule(lit, category, direction=direction, max_scope=scope)
            for lit, (category, direction, scope) in chosen.items()]
