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
    "is not present", "are not present", "not visualized", "has resolved", "have resolved", "resolved",
    "has cleared", "have cleared", "cleared", "no longer seen", "no longer visualized", "no longer present",
    "is not identified", "are not identified", "not demonstrated", "not evident", "is not evident",
    "not appreciated", "not noted", "have been removed", "has been removed", "removed", "not detected",
    "is not visualized", "are not visualized", "excluded", "is excluded", "unlikely", "not visible",
    "is not visible", "are not visible", "is negative", "not apparent", "resolving",
)
_UNCERTAIN_FORWARD = (
    "may", "may represent", "may reflect", "may be", "might", "could", "could represent", "could be",
    "possible", "possibly", "suspicious for", "suspect", "suspected",
    "concerning for", "concern for", "question of", "questionable", "cannot exclude", "can not exclude",
    "cannot be excluded", "not excluded", "cannot rule out", "can not rule out", "differential",
    "versus", "vs", "suggestive of", "suggests", "suggesting", "suggest", "worrisome for",
    "either", "equivocal", "indeterminate", "vague", "ill-defined", "would be difficult to exclude",
    "not entirely excluded", "cannot be completely excluded", "can't exclude",
)
# "consistent with", "compatible with", "probable", "likely", "represents" and "borderline" are left out on
# purpose: Open-i's indexers read them as affirmations (e.g. 24 of 25 "consistent with" mentions are
# gold positives on the train and validation studies).
_UNCERTAIN_BACKWARD = (
    "is not excluded", "are not excluded", "not excluded", "cannot be excluded", "can not be excluded",
    "is possible", "is suspected", "is questioned", "versus", "vs",
    "not ruled out", "is not ruled out", "are possible", "is questionable", "is uncertain",
)
_PSEUDO = (
    "no change", "no significant change", "no interval change", "not changed", "no increase", "no decrease",
    "not only", "no further", "without change", "no new", "not significantly changed", "no longer",
    "unchanged", "no acute osseous", "no acute bony", "no acute bone", "not well seen", "not well visualized",
    "if not", "not clear", "may be due", "could be due", "or without", "not seen on prior", "not seen on the prior",
    "not seen on previous", "not seen on the previous", "not present on prior", "not present on the prior",
    "not visualized on prior", "not seen previously", "not previously seen", "not present previously",
    "not present on previous", "not seen on comparison", "not identified on prior",
)
_TERMINATE = (
    "but", "however", "although", "though", "which", "aside from", "apart from", "except", "otherwise",
    "and there is", "there is", "there are", ";", "while", "whereas", "yet", "still",
    "again", "is present", "are present", "is seen", "are seen", "is noted", "are noted", "is again seen",
    "is unchanged", "are unchanged", "persistent", "remains", "remain",
)
_HISTORICAL_FORWARD = ("history of", "h/o", "prior history of", "previous history of", "known")
_HYPOTHETICAL_FORWARD = ("evaluate for", "evaluation for", "assess for", "rule out", "r/o", "to exclude",
                         "if", "recommend", "follow-up", "followup")


def report_context_rules() -> list[ConTextRule]:
    """The rule set the report pipeline's ConText component loads."""
    rules: list[ConTextRule] = []
    for lit in _NEGATION_FORWARD:
        rules.append(ConTextRule(lit, NEG, direction="FORWARD"))
    for lit in _NEGATION_BACKWARD:
        rules.append(ConTextRule(lit, NEG, direction="BACKWARD", max_scope=6))
    for lit in _UNCERTAIN_FORWARD:
        rules.append(ConTextRule(lit, POSS, direction="FORWARD", max_scope=8))
    for lit in _UNCERTAIN_BACKWARD:
        rules.append(ConTextRule(lit, POSS, direction="BACKWARD", max_scope=6))
    for lit in _PSEUDO:
        rules.append(ConTextRule(lit, "PSEUDO", direction="PSEUDO"))
    for lit in _TERMINATE:
        rules.append(ConTextRule(lit, "TERMINATE", direction="TERMINATE"))
    for lit in _HISTORICAL_FORWARD:
        rules.append(ConTextRule(lit, HIST, direction="FORWARD"))
    for lit in _HYPOTHETICAL_FORWARD:
        rules.append(ConTextRule(lit, HYPO, direction="FORWARD"))
    return rules
