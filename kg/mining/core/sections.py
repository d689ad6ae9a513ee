"""Section titles of radiology reports, as medspaCy ``SectionRule``s.

medspaCy's default section rules describe clinical notes (no FINDINGS or IMPRESSION); these describe
radiology reports: built-in titles plus, when the data folder has it, NegBio's list of section titles.
"""

from __future__ import annotations

from pathlib import Path

from medspacy.section_detection import SectionRule

IGNORED_SECTIONS: frozenset[str] = frozenset({"indication", "history", "comparison", "technique"})
"""Mentions in these sections describe why and how the exam was done, not what it showed."""

_BUILTIN: dict[str, tuple[str, ...]] = {
    "findings": ("FINDINGS:", "FINDING:", "FINDINGS AND IMPRESSION:", "REPORT:"),
    "impression": ("IMPRESSION:", "IMPRESSIONS:", "CONCLUSION:", "CONCLUSIONS:", "OPINION:"),
    "indication": ("INDICATION:", "INDICATIONS:", "REASON FOR EXAM:", "REASON FOR EXAMINATION:",
                   "CLINICAL INDICATION:", "CLINICAL INFORMATION:"),
    "history": ("HISTORY:", "CLINICAL HISTORY:", "PATIENT HISTORY:", "MEDICAL CONDITION:"),
    "comparison": ("COMPARISON:", "COMPARISONS:", "COMPARISON EXAM:", "COMPARISON STUDY:"),
    "technique": ("TECHNIQUE:", "EXAMINATION:", "EXAM:", "PROCEDURE:"),
}


def _category(title: str) -> str:
    t = title.upper()
    for word, cat in (("IMPRESSION", "impression"), ("CONCLUSION", "impression"), ("FINDING", "findings"),
                      ("COMPARISON", "comparison"), ("REFERENCE", "comparison"), ("HISTORY", "history"),
                      ("INDICATION", "indication"), ("REASON", "indication"), ("CONDITION", "history"),
                      ("QUESTION", "indication")):
        if word in t:
            return cat
    return "technique" if any(w in t for w in ("VIEW", "CHEST", "RADIOGRAPH", "PORTABLE", "AP", "PA")) else "other"


def section_rules(labeler_dir: Path | str | None = None) -> list[SectionRule]:
    """Built-in report section rules, plus NegBio's titles from ``labeler/negbio/section_titles.txt``."""
    titles: dict[str, str] = {}
    for cat, items in _BUILTIN.items():
        for t in items:
            titles[t] = cat
    if labeler_dir is not None:
        path = Path(labeler_dir) / "negbio" / "section_titles.txt"
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                t = line.strip()
                if t.endswith(":") and t not in titles:
                    titles[t] = _category(t)
    return [SectionRule(literal=t, category=c) for t, c in titles.items()]
