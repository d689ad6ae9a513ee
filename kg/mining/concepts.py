"""Concepts the report miner reads besides the vocabulary's findings and starter-graph causes.

They appear as extra columns of the report x finding matrix (devices are a confounder worth
adjusting for) and as causes in report statements ("effusion due to heart failure").
"""

from __future__ import annotations

from kg.claims import Concept, concept_iri_for
from kg.vocabulary import FINDING_CONCEPTS, OTHER_CONCEPTS

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

REPORT_CONCEPTS: dict[str, Concept] = {**FINDING_CONCEPTS, **OTHER_CONCEPTS, **EXTRA_REPORT_CONCEPTS}
"""Every key the report miner can emit -> its concept."""

MATRIX_EXTRA_KEYS: tuple[str, ...] = ("support_device", "fracture", "lung_opacity", "enlarged_cardiomediastinum",
                                      "granuloma", "scarring", "heart_failure", "copd", "hyperinflation",
                                      "thoracic_surgery")
"""Extra 0/1 columns of the report x finding matrix, after the 14 Open-i findings."""
