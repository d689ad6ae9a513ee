"""The concept table: the chest-radiology concepts MCRAG knows before anything is mined.

The 14 findings of the Open-i / NegBio / ChestX-ray14 label set map to one concept each
(:data:`FINDING_CONCEPTS`), with HPO, DOID, MeSH and UMLS ids taken from the shared ontologies; further
concepts are the causes and mechanisms of the starter graph (:data:`OTHER_CONCEPTS`) and what the report
miner reads besides them (:data:`EXTRA_REPORT_CONCEPTS`: extra columns of the report x finding matrix,
devices being a confounder worth adjusting for, and causes in report statements such as "effusion due to
heart failure"). Miners, validators and the VLM all normalise to these IRIs.
"""

from __future__ import annotations

from kg.claims import Concept, ConceptKind, concept_iri_for

_F: ConceptKind = "ImagingFinding"

FINDING_CONCEPTS: dict[str, Concept] = {
    "Atelectasis": Concept(concept_iri_for("atelectasis"), "atelectasis", _F,
                           ("HP:0100750", "MESH:D001261"), ("collapse", "volume loss")),
    "Cardiomegaly": Concept(concept_iri_for("cardiomegaly"), "cardiomegaly", _F,
                            ("HP:0001640", "MESH:D006332"), ("enlarged heart", "enlarged cardiac silhouette")),
    "Effusion": Concept(concept_iri_for("pleural effusion"), "pleural effusion", _F,
                        ("HP:0002202", "MESH:D010996"), ("effusion", "pleural fluid")),
    "Infiltration": Concept(concept_iri_for("infiltration"), "pulmonary infiltrate", _F,
                            ("HP:0002113",), ("infiltrate", "opacity")),
    "Mass": Concept(concept_iri_for("lung mass"), "pulmonary mass", _F, ("HP:0033821",), ("mass",)),
    "Nodule": Concept(concept_iri_for("lung nodule"), "pulmonary nodule", _F, ("HP:0033608",), ("nodule",)),
    "Pneumonia": Concept(concept_iri_for("pneumonia"), "pneumonia", "Disease",
                         ("HP:0002090", "DOID:552", "MESH:D011014", "UMLS:C0032285"), ("pneumonitis",)),
    "Pneumothorax": Concept(concept_iri_for("pneumothorax"), "pneumothorax", _F,
                            ("HP:0002107", "DOID:1673", "MESH:D011030", "UMLS:C0029850"), ()),
    "Consolidation": Concept(concept_iri_for("consolidation"), "consolidation", _F,
                             ("HP:0031457",), ("airspace disease", "airspace opacity")),
    "Edema": Concept(concept_iri_for("pulmonary edema"), "pulmonary edema", _F,
                     ("HP:0100598", "DOID:11396", "MESH:D011654", "UMLS:C0034063"), ("edema", "oedema")),
    "Emphysema": Concept(concept_iri_for("emphysema"), "emphysema", "Disease",
                         ("HP:0002097", "DOID:9675", "MESH:D011656", "UMLS:C0029607"), ("hyperexpanded lungs",)),
    "Fibrosis": Concept(concept_iri_for("pulmonary fibrosis"), "pulmonary fibrosis", "Disease",
                        ("HP:0002206", "DOID:3770", "MESH:D011658", "UMLS:C0034069"), ("fibrosis", "scarring")),
    "Pleural_Thickening": Concept(concept_iri_for("pleural thickening"), "pleural thickening", _F,
                                  ("HP:0031944",), ()),
    "Hernia": Concept(concept_iri_for("hiatal hernia"), "hiatal hernia", "Disease",
                      ("HP:0002036", "DOID:12642", "MESH:D006551", "UMLS:C0019291"), ("hiatus hernia",)),
}
"""Open-i / NegBio label column -> concept."""

FINDINGS: tuple[str, ...] = tuple(FINDING_CONCEPTS)
"""The 14 label names in the order of ``openi_labels.csv``."""

OTHER_CONCEPTS: dict[str, Concept] = {
    "heart_failure": Concept(concept_iri_for("heart failure"), "heart failure", "Disease",
                             ("HP:0001635", "DOID:6000", "MESH:D006333", "UMLS:C0018801"),
                             ("congestive heart failure", "CHF", "cardiac failure")),
    "pulmonary_venous_hypertension": Concept(concept_iri_for("pulmonary venous hypertension"),
                                             "raised pulmonary venous pressure", "PathophysiologicalProcess",
                                             ("HP:0030950",), ("pulmonary venous hypertension", "pulmonary venous congestion")),
    "interstitial_edema": Concept(concept_iri_for("interstitial edema"), "interstitial pulmonary edema", _F,
                                  (), ("interstitial edema", "Kerley B lines")),
    "alveolar_edema": Concept(concept_iri_for("alveolar edema"), "alveolar pulmonary edema", _F,
                              (), ("alveolar edema", "alveolar flooding")),
    "hyperinflation": Concept(concept_iri_for("hyperinflation"), "pulmonary hyperinflation", _F,
                              (), ("hyperinflation", "hyperexpansion", "flattened diaphragms")),
    "smoking": Concept(concept_iri_for("tobacco smoking"), "tobacco smoking", "Exposure",
                       ("MESH:D012907",), ("smoking", "cigarette smoking")),
    "lung_cancer": Concept(concept_iri_for("lung cancer"), "lung cancer", "Disease",
                           ("DOID:1324", "MESH:D008175", "UMLS:C0024624"), ("bronchogenic carcinoma",)),
    "copd": Concept(concept_iri_for("copd"), "chronic obstructive pulmonary disease", "Disease",
                    ("DOID:3083", "MESH:D029424", "UMLS:C0024117"), ("COPD",)),
    "airway_obstruction": Concept(concept_iri_for("endobronchial obstruction"), "endobronchial obstruction",
                                  "PathophysiologicalProcess", (), ("bronchial obstruction",)),
    "fluid_overload": Concept(concept_iri_for("fluid overload"), "fluid overload", "PathophysiologicalProcess",
                              ("MESH:D006984",), ("hypervolemia", "overhydration")),
    "support_device": Concept(concept_iri_for("support device"), "support device", "Intervention",
                              (), ("line", "tube", "catheter", "pacemaker")),
}


EXTRA_REPORT_CONCEPTS: dict[str, Concept] = {
    "fracture": Concept(concept_iri_for("fracture"), "bone fracture", "ImagingFinding",
                        ("HP:0020110", "MESH:D050723"), ("fracture", "fractures")),
    "lung_opacity": Concept(concept_iri_for("lung opacity"), "lung opacity", "ImagingFinding",
                            ("HP:0031460",), ("opacity", "opacities")),
    "enlarged_cardiomediastinum": Concept(concept_iri_for("enlarged cardiomediastinum"),
                                          "enlarged cardiomediastinum", "ImagingFinding", (),
                                          ("widened mediastinum",)),
    "granuloma": Concept(concept_iri_for("granuloma"), "pulmonary granuloma", "ImagingFinding",
                         ("MESH:D006099",), ("granuloma", "granulomatous disease")),
    "scarring": Concept(concept_iri_for("lung scarring"), "lung scarring", "ImagingFinding", (),
                        ("scar", "scarring")),
    "thoracic_surgery": Concept(concept_iri_for("thoracic surgery"), "thoracic surgery", "Intervention",
                       ("MESH:D013903",), ("sternotomy", "thoracotomy", "CABG", "postsurgical")),
    "infection": Concept(concept_iri_for("infection"), "infection", "Disease",
                         ("MESH:D007239",), ("infectious process",)),
    "aspiration": Concept(concept_iri_for("aspiration"), "aspiration", "PathophysiologicalProcess",
                          ("MESH:D053120",), ("aspiration",)),
    "trauma": Concept(concept_iri_for("chest trauma"), "chest trauma", "Exposure",
                      ("MESH:D013898",), ("trauma", "injury")),
    "malignancy": Concept(concept_iri_for("malignancy"), "malignant neoplasm", "Disease",
                          ("MESH:D009369", "DOID:162"), ("malignancy", "neoplasm", "tumor", "metastasis")),
}
"""Concepts the report miner reads besides the findings and the starter graph's causes."""

REPORT_CONCEPTS: dict[str, Concept] = {**FINDING_CONCEPTS, **OTHER_CONCEPTS, **EXTRA_REPORT_CONCEPTS}
"""Every key the report miner can emit -> its concept."""

MATRIX_EXTRA_KEYS: tuple[str, ...] = ("support_device", "fracture", "lung_opacity", "enlarged_cardiomediastinum",
                                      "granuloma", "scarring", "heart_failure", "copd", "hyperinflation",
                                      "thoracic_surgery")
"""Extra 0/1 columns of the report x finding matrix, after the 14 Open-i findings."""


def concept_for_finding(name: str) -> Concept:
    """The concept for an Open-i label (``Effusion``) or a concept key (``heart_failure``)."""
    if name in FINDING_CONCEPTS:
        return FINDING_CONCEPTS[name]
    if name in OTHER_CONCEPTS:
        return OTHER_CONCEPTS[name]
    raise KeyError(f"unknown finding or concept {name!r}; known: {', '.join([*FINDINGS, *OTHER_CONCEPTS])}")


def finding_for_concept_iri(iri: str) -> str | None:
    """Inverse of :func:`concept_for_finding` for the 14 findings."""
    for name, c in FINDING_CONCEPTS.items():
        if c.iri == iri:
            return name
    return None
