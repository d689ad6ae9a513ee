"""Report pipeline: finding statuses (present / absent / uncertain), sections, causal statements, matrix."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kg.concepts import FINDING_CONCEPTS, FINDINGS, OTHER_CONCEPTS
from kg.mining.core.documents import Document
from kg.mining.reports.findings import report_claims, report_findings
from kg.mining.reports.matrix import matrix_columns
from kg.mining.reports.pipeline import build_report_nlp

FIX = Path(__file__).parent / "fixtures" / "mining"


@pytest.fixture(scope="module")
def nlp():  # the built-in terms only: no data folder needed
    return build_report_nlp(None)


def _statuses(nlp, text: str) -> dict[str, str]:
    doc = nlp(text)
    return dict(report_findings(doc, Document("r", text, "t", "report")).statuses)


@pytest.mark.parametrize(("text", "key", "status"), [
    ("No pneumothorax or pleural effusion.", "Pneumothorax", "absent"),
    ("No pneumothorax or pleural effusion.", "Effusion", "absent"),
    ("Small left pleural effusion.", "Effusion", "present"),
    ("Streaky opacity may represent atelectasis.", "Atelectasis", "uncertain"),
    ("Atelectasis cannot be excluded.", "Atelectasis", "uncertain"),
    ("Lungs are hyperexpanded, consistent with emphysema.", "Emphysema", "present"),
    ("The heart is not enlarged.", "Cardiomegaly", "absent"),
    ("The cardiac silhouette is mildly enlarged.", "Cardiomegaly", "present"),
    ("Pleural effusion has resolved.", "Effusion", "absent"),
    ("There is a 9 mm nodule, not seen on prior exams.", "Nodule", "present"),
    ("Pericardial effusion.", "Effusion", None),
    ("Subcutaneous emphysema in the chest wall.", "Emphysema", None),
    ("A left PICC line tip in the SVC.", "support_device", "present"),
])
def test_finding_status(nlp, text: str, key: str, status: str | None) -> None:
    assert _statuses(nlp, text).get(key) == status


def test_indication_section_does_not_count(nlp) -> None:
    text = "INDICATION: Evaluate for pneumonia.\nFINDINGS: Right pleural effusion. No pneumothorax."
    st = _statuses(nlp, text)
    assert "Pneumonia" not in st
    assert st["Effusion"] == "present" and st["Pneumothorax"] == "absent"


def test_present_wins_over_negated_mention(nlp) -> None:
    st = _statuses(nlp, "No right effusion. Small left pleural effusion.")
    assert st["Effusion"] == "present"


def test_causal_statements_become_claims_with_offsets(nlp) -> None:
    text = "The heart is normal. Mild atelectasis secondary to the small left effusion. Edema due to heart failure."
    document = Document("CXR1_1_IM-0001", text, "iu_xray", "report", "train")
    doc = nlp(text)
    claims = list(report_claims(doc, document))
    pairs = {(c.subject.iri, c.object.iri) for c in claims}
    assert (FINDING_CONCEPTS["Effusion"].iri, FINDING_CONCEPTS["Atelectasis"].iri) in pairs
    assert (OTHER_CONCEPTS["heart_failure"].iri, FINDING_CONCEPTS["Edema"].iri) in pairs
    for c in claims:
        assert c.span is not None and text[c.span.start:c.span.end] == c.span.sentence
        assert c.relation == "causes" and c.polarity == "positive" and 0 < c.confidence <= 1


def test_compressive_atelectasis_is_caused_by_the_effusion(nlp) -> None:
    text = "Large right pleural effusion with compressive atelectasis."
    claims = list(report_claims(nlp(text), Document("x", text, "t", "report")))
    assert [(c.subject.label, c.object.label, c.certainty) for c in claims] == [
        ("pleural effusion", "atelectasis", "probable")]


def test_hedged_statement_keeps_its_certainty(nlp) -> None:
    text = "Opacity likely atelectasis due to effusion."
    claims = list(report_claims(nlp(text), Document("x", text, "t", "report")))
    assert claims and all(c.certainty == "probable" for c in claims)


def test_matrix_has_the_agreed_columns_and_values(tmp_path: Path) -> None:
    from kg.mining.api import build_finding_matrix

    out = build_finding_matrix(FIX / "annotation.json", tmp_path / "m.csv")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0])[:16] == ["report_id", "split", *FINDINGS]
    assert list(rows[0]) == matrix_columns()
    by_id = {r["report_id"]: r for r in rows}
    assert set(by_id) == {"CXR1_1_IM-0001", "CXR2_1_IM-0002", "CXR3_1_IM-0003", "CXR4_1_IM-0004"}
    assert by_id["CXR1_1_IM-0001"]["Effusion"] == "1" and by_id["CXR1_1_IM-0001"]["Pneumothorax"] == "0"
    assert by_id["CXR2_1_IM-0002"]["Cardiomegaly"] == "1" and by_id["CXR2_1_IM-0002"]["support_device"] == "1"
    assert by_id["CXR3_1_IM-0003"]["Atelectasis"] == "1"  # uncertain counts as present by default
    assert by_id["CXR4_1_IM-0004"]["Nodule"] == "1" and by_id["CXR4_1_IM-0004"]["Pneumonia"] == "0"
    assert by_id["CXR3_1_IM-0003"]["split"] == "val" and by_id["CXR1_1_IM-0001"]["study_id"] == "CXR1"
    strict = build_finding_matrix(FIX / "annotation.json", tmp_path / "s.csv", uncertain_as_present=False)
    rows = list(csv.DictReader(strict.open(encoding="utf-8")))
    assert {r["report_id"]: r["Atelectasis"] for r in rows}["CXR3_1_IM-0003"] == "0"


def test_parquet_matrix_or_a_clear_error(tmp_path: Path) -> None:
    from kg.mining.api import build_finding_matrix

    try:
        import pyarrow.parquet as pq
    except ImportError:
        with pytest.raises(ValueError, match="Parquet output needs a working pyarrow"):
            build_finding_matrix(FIX / "annotation.json", tmp_path / "m.parquet")
        return
    out = build_finding_matrix(FIX / "annotation.json", tmp_path / "m.parquet")
    assert pq.read_table(out).column_names[:2] == ["report_id", "split"]
