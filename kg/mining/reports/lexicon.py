"""What counts as a mention of each finding in a chest X-ray report.

Terms are written as space-separated tokens; ``word*`` matches any token starting with ``word`` and
``_`` matches any single token (IU-Xray's ``XXXX`` anonymisation sits inside many phrases). The
curated terms below were chosen on the IU-Xray train and validation studies against the Open-i gold
labels; the CheXpert labeler's mention / unmention phrase lists are merged in from the data folder
for the observations that map to one key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FINDING_TERMS: dict[str, tuple[str, ...]] = {
    "Atelectasis": ("atelecta*", "collapse", "collapsed"),
    "Cardiomegaly": ("cardiomegaly", "enlarged heart", "cardiac enlargement", "enlarged cardiac silhouette",
                     "enlargement of the cardiac silhouette", "enlarged cardiomediastinal silhouette",
                     "cardiomegal*"),
    "Effusion": ("effusion*", "pleural fluid", "hydrothorax", "fluid in the _ fissure"),
    "Infiltration": ("infiltrat*",),
    "Mass": ("mass", "masses", "mass-like", "masslike", "mass lesion"),
    "Nodule": ("nodule", "nodules", "micronodule*"),
    "Pneumonia": ("pneumonia*", "bronchopneumonia", "pneumonitis"),
    "Pneumothorax": ("pneumothora*",),
    "Consolidation": ("consolidat*",),
    "Edema": ("edema", "oedema", "edematous"),
    "Emphysema": ("emphysema*", "emphysematous"),
    "Fibrosis": ("fibrosis", "fibrotic", "fibrothorax"),
    "Pleural_Thickening": ("pleural thickening", "thickening of the pleura", "apical pleural thickening",
                           "pleural capping", "apical capping", "pleural plaque*"),
    "Hernia": ("hernia*", "hiatal", "hiatus"),
    # extra matrix columns and report causes
    "support_device": ("pacemaker", "picc", "catheter", "central line", "central venous catheter", "port",
                       "endotracheal tube", "et tube", "tracheostomy", "nasogastric tube", "ng tube",
                       "feeding tube", "chest tube", "drain", "defibrillator", "aicd", "icd", "lead",
                       "leads", "sternotomy wires", "wires", "clips", "surgical clips", "stent",
                       "valve replacement", "prosthetic valve", "hardware", "device", "mediport",
                       "port-a-cath", "swan-ganz", "loop recorder"),
    "fracture": ("fracture*",),
    "lung_opacity": ("opacit*", "opacification", "airspace disease", "air space disease",
                     "airspace opacit*", "density", "densities"),
    "enlarged_cardiomediastinum": ("widened mediastinum", "mediastinal widening", "widening of the mediastinum"),
    "granuloma": ("granuloma*", "granulomatous"),
    "scarring": ("scar", "scars", "scarring"),
    "heart_failure": ("heart failure", "chf", "cardiac failure", "congestive heart failure"),
    "copd": ("copd", "chronic obstructive pulmonary disease", "chronic obstructive lung disease"),
    "hyperinflation": ("hyperinfla*", "hyperexpan*", "hyperlucen*", "flattened diaphragm*",
                       "flattening of the _ diaphragm*", "flattening of the diaphragm*",
                       "flattened hemidiaphragm*", "flattening of the hemidiaphragm*"),
    "thoracic_surgery": ("sternotomy", "thoracotomy", "cabg", "post - surgical", "postsurgical", "postoperative",
                "lobectomy", "pneumonectomy", "mastectomy"),
    "pulmonary_venous_hypertension": ("vascular congestion", "pulmonary congestion", "venous congestion",
                                      "pulmonary venous hypertension", "cephalization"),
    "fluid_overload": ("fluid overload", "volume overload", "hypervolemia"),
    "infection": ("infection", "infectious process", "infectious"),
    "aspiration": ("aspiration",),
    "malignancy": ("malignancy", "neoplasm", "tumor", "carcinoma", "metastas*", "cancer"),
    "smoking": ("smoking", "smoker"),
    "trauma": ("trauma", "injury"),
    "interstitial_edema": ("interstitial edema", "kerley b lines", "kerley lines"),
    # no concept of their own. A blunted costophrenic angle is a sign, not an effusion: Open-i indexes it
    # apart ("Costophrenic Angle/blunted"), and on the train and validation studies only 3 of 10 reports
    # whose one effusion-like mention is a blunting carry the Effusion label.
    "costophrenic_blunting": ("costophrenic _ blunting", "costophrenic blunting", "costophrenic _ _ blunting",
                              "costophrenic _ blunted", "costophrenic _ are blunted", "costophrenic _ is blunted",
                              "sulcus blunting", "sulci blunting", "blunting of the _ costophrenic sulc*",
                              "blunting of the costophrenic sulc*", "blunting of the _ _ costophrenic sulc*"),
    # Open-i indexes every thickening as "Thickening" (see OPENI_LABEL_SOURCES)
    "thickening": ("thickening", "thickened", "peribronchial cuffing", "bronchial cuffing"),
}
"""Mention terms per key (an Open-i label name or a concept key of :mod:`kg.concepts`)."""

UNMENTION_TERMS: dict[str, tuple[str, ...]] = {
    "Effusion": ("pericardial effusion*", "joint effusion*"),
    "Mass": ("massive", "soft tissue mass", "nodule / mass", "nodules and masses", "masslike", "mass-like"),
    "Fibrosis": ("cystic fibrosis",),
    "Nodule": ("nipple shadow*",),
    "Emphysema": ("subcutaneous emphysema", "soft tissue emphysema", "subcutaneous air"),
    "Edema": ("soft tissue edema", "laryngeal edema"),
    "Hernia": ("hernia repair",),
    "support_device": ("portion", "lead to", "leads to", "port of"),
    "lung_opacity": ("bone density", "bony density", "soft tissue density", "breast density", "breast densities"),
}
"""Terms that, when they cover a mention, cancel it (e.g. ``pericardial effusion`` is no pleural effusion)."""


@dataclass(frozen=True)
class AnchoredRule:
    """An organ word and a state word in one sentence, at most ``window`` tokens apart.

    The mention is the state word, so ConText's negation cues around it ("not enlarged") still apply.
    """

    key: str
    anchors: tuple[str, ...]
    states: tuple[str, ...]
    window: int = 6


ANCHORED_RULES: tuple[AnchoredRule, ...] = (
    AnchoredRule("Cardiomegaly", ("heart", "cardiac", "cardiomediastinal", "cardio", "cardiopericardial"),
                 ("enlarged", "enlargement", "large", "prominent", "increased", "borderline")),
    AnchoredRule("Hernia", ("hiatal", "hiatus"), ("hernia*",), 2),
)

OPENI_LABEL_SOURCES: dict[str, tuple[str, ...]] = {
    "Pleural_Thickening": ("Pleural_Thickening", "thickening"),
}
"""Open-i labels whose indexing is wider than their name: the keys whose mentions count for the label.

Open-i's indexers file any thickening (bronchial wall, peribronchial, fissural, paratracheal) under the
MeSH heading "Thickening", which the Open-i gold maps to ``Pleural_Thickening`` (on the train and
validation studies 40 of 45 reports naming a thickening carry the label). The label column follows that
definition; the mentions keep their own key, so a causal statement about a bronchial thickening never
becomes a pleural-thickening claim.
"""

CHEXPERT_TO_KEY: dict[str, str] = {
    "atelectasis": "Atelectasis",
    "pleural_effusion": "Effusion",
    "pneumothorax": "Pneumothorax",
    "consolidation": "Consolidation",
    "support_devices": "support_device",
    "fracture": "fracture",
}
"""CheXpert observation files whose phrases map onto one of our keys without change.

CheXpert's pneumonia list ("infection", "infectious process") is left out: in these reports it mostly
names old granulomatous infection, which Open-i does not index as pneumonia.
"""


def load_chexpert_terms(labeler_dir: Path | str | None) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Mention and unmention terms from ``labeler/chexpert/phrases`` (empty when the folder is absent).

    CheXpert phrases are word stems matched inside words (``atelecta``), so each becomes a prefix term.
    """
    mention: dict[str, list[str]] = {}
    unmention: dict[str, list[str]] = {}
    if labeler_dir is None:
        return mention, unmention
    base = Path(labeler_dir) / "chexpert" / "phrases"
    if not base.is_dir():
        log.info("CheXpert phrases not found under %s; using the built-in terms only", base)
        return mention, unmention
    for folder, out in (("mention", mention), ("unmention", unmention)):
        for f in sorted((base / folder).glob("*.txt")):
            key = CHEXPERT_TO_KEY.get(f.stem)
            if key is None:
                continue
            for line in f.read_text(encoding="utf-8").splitlines():
                raw = line.strip().lower()
                phrase = raw.strip("_").strip()
                if phrase:  # a trailing "_" in CheXpert's lists means "whole word"
                    out.setdefault(key, []).append(phrase if raw.endswith("_") else phrase + "*")
    return mention, unmention


def report_terms(labeler_dir: Path | str | None = None, *, chexpert: bool = True
                 ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """All mention and unmention terms: curated ones plus, when asked, the CheXpert phrase lists."""
    mention = {k: list(v) for k, v in FINDING_TERMS.items()}
    unmention = {k: list(v) for k, v in UNMENTION_TERMS.items()}
    if chexpert:
        cm, cu = load_chexpert_terms(labeler_dir)
        for k, v in cm.items():
            mention.setdefault(k, []).extend(t for t in v if t not in mention[k])
        for k, v in cu.items():
            unmention.setdefault(k, []).extend(t for t in v if t not in unmention.get(k, []))
    return mention, unmention
