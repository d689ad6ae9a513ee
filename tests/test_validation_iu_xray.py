"""On the real IU-Xray finding labels: verdicts for mined report edges, listed by SPARQL with their effects."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg import curation
from kg.claims import write_claims
from kg.namespaces import NAMED_GRAPHS
from kg.validations import VALIDATED_EDGES_QUERY
from reasoning.validate import validate_store
from tests.fixtures.validation.scenario import claim

MINED = [  # the shape of edges mined from report sentences (proposed claims), contradictions included
    ("Cardiomegaly", "Effusion"), ("Effusion", "Atelectasis"), ("Consolidation", "Atelectasis"),
    ("Atelectasis", "Pleural_Thickening"), ("Nodule", "Mass"), ("Emphysema", "Cardiomegaly"),
    ("Infiltration", "Atelectasis"), ("Cardiomegaly", "Nodule"), ("Fibrosis", "Pleural_Thickening"),
    ("Edema", "Cardiomegaly"), ("Consolidation", "Pleural_Thickening"), ("Mass", "Nodule"),
    ("Atelectasis", "Consolidation"), ("Nodule", "Cardiomegaly"), ("Emphysema", "Nodule"),
]


@pytest.fixture(scope="module")
def labels(shared_data: Path) -> Path:
    path = shared_data / "iu_xray" / "openi_labels.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def test_mined_report_edges_get_verdicts_on_openi_labels(bootstrapped_store, labels: Path) -> None:  # type: ignore[no-untyped-def]
    store = bootstrapped_store
    mined = [claim(s, o, doc=f"CXR{100 + i}", sentence=f"{s} with {o}.") for i, (s, o) in enumerate(MINED)]
    write_claims(store, mined, NAMED_GRAPHS["reports"])
    run = validate_store(store, labels, graphs=[NAMED_GRAPHS["reports"]],
                         refuters=("placebo_treatment", "data_subset"), simulations=10)
    assert run.rows == 3851 and len(run.claims) == len(MINED)
    v = {(c.cause.rsplit("/", 1)[-1], c.effect.rsplit("/", 1)[-1]): c for c in run.claims}
    assert v[("infiltration", "atelectasis")].verdict == "validated"
    assert v[("consolidation", "atelectasis")].verdict == "validated"
    assert v[("cardiomegaly", "lung_nodule")].verdict == "refuted"
    assert "within +/-0.05" in v[("cardiomegaly", "lung_nodule")].reason
    # heart failure (no column) causes both in the starter graph: the association is not an effect
    assert "confounding through latent heart_failure" in v[("cardiomegaly", "pleural_effusion")].reason
    assert "too few samples" in v[("consolidation", "pleural_thickening")].reason
    assert "closed a cycle" in v[("lung_nodule", "lung_mass")].reason  # mass -> nodule and nodule -> mass
    for c in run.claims:  # every mined claim moved from 'proposed' and carries its result
        detail = curation.claim_detail(store, c.claim)
        assert detail.status == c.verdict and detail.latest_validation is not None
    rows = store.select(VALIDATED_EDGES_QUERY)
    listed = {(r["cause"], r["effect"]): r for r in rows}
    row = listed[("pulmonary infiltrate", "atelectasis")]
    assert row["verdict"].endswith("validated") and float(row["effectSize"]) > 0.2 and row["n"] == "3851"
    assert listed[("cardiomegaly", "pulmonary nodule")]["verdict"].endswith("refuted")
    assert "openi_labels.csv" in row["dataset"]
