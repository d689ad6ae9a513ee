"""Data readers: the IU-Xray layout with images of any mode, labels, weak labels from text, splits."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.vlm.builders import make_iu_xray
from vlm.data import cxr_covid_labels, group_split, read_iu_xray
from vlm.labels import LABEL_INDEX, LABELS, UNKNOWN, findings_from_text, mentions, resolve_label, vector


def test_iu_xray_layout_gives_one_record_per_image_with_gold_labels(tmp_path):
    root = make_iu_xray(tmp_path / "iu")
    corpus = read_iu_xray(root)
    assert len(corpus.records) == 16 and all(r.has_image for r in corpus.records)
    r = corpus.by_id()["iu_xray/CXR2_1_IM-0002/1"]
    assert r.view == "lateral" and r.split == "train" and r.image_path == root / "images/CXR2_1_IM-0002/1.png"
    assert set(r.positives()) == {"Cardiomegaly", "Effusion", "Atelectasis"}
    assert r.labels[LABEL_INDEX["Hernia"]] == 0, "gold rows annotate every finding"
    assert corpus.by_id()["iu_xray/CXR1_1_IM-0001/0"].view == "frontal"
    assert {r.split for r in corpus.records} == {"train", "val", "test"}


def test_without_images_or_label_file_reports_become_text_records_with_weak_labels(tmp_path):
    root = make_iu_xray(tmp_path / "iu", images=False)
    (root / "openi_labels.csv").unlink()
    corpus = read_iu_xray(root)
    assert len(corpus.records) == 8 and not any(r.has_image for r in corpus.records)
    r = corpus.by_id()["iu_xray/CXR3_1_IM-0003"]
    assert r.labels[LABEL_INDEX["Consolidation"]] == 1 and r.labels[LABEL_INDEX["Effusion"]] == 0
    assert r.labels[LABEL_INDEX["Mass"]] == UNKNOWN
    assert read_iu_xray(root, require_images=True).records == []


def test_bad_annotation_files_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="annotation"):
        read_iu_xray(tmp_path)
    (tmp_path / "annotation.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_iu_xray(tmp_path)
    (tmp_path / "annotation.json").write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="R2Gen"):
        read_iu_xray(tmp_path)


def test_text_labeller_handles_negation_and_synonyms():
    assert findings_from_text("Small left pleural effusion. No pneumothorax.") == {"Effusion": 1, "Pneumothorax": 0}
    assert findings_from_text("Enlarged heart. Lungs are clear.")["Cardiomegaly"] == 1
    assert findings_from_text("No acute cardiopulmonary abnormality.") == {"normal": 1}
    assert mentions("There is no evidence of consolidation") == {"Consolidation": False}
    assert resolve_label("pleural effusion") == "Effusion" and resolve_label("pleural_thickening") == "Pleural_Thickening"
    with pytest.raises(KeyError):
        resolve_label("broken arm")
    v = vector({"effusion": 0.7})
    assert v.shape == (len(LABELS),) and v[LABEL_INDEX["Effusion"]] == pytest.approx(0.7)


def test_covid_metadata_labels_and_patient_splits():
    assert cxr_covid_labels("No Finding", "")["Pneumonia"] == 0
    lab = cxr_covid_labels("COVID-19", "Bilateral consolidation. No pleural effusion.")
    assert lab["Pneumonia"] == 1 and lab["COVID-19"] == 1 and lab["Consolidation"] == 1 and lab["Effusion"] == 0
    assert "Pneumonia" not in cxr_covid_labels("todo", "")
    assert cxr_covid_labels("ARDS", "").get("Pneumonia") is None
    assert group_split("patient-1") == group_split("patient-1")
    splits = [group_split(f"p{i}") for i in range(2000)]
    assert 0.05 < splits.count("test") / 2000 < 0.15 and 0.05 < splits.count("val") / 2000 < 0.15


def test_openi_labels_reader_keeps_a_blank_cell_unknown(tmp_path):
    """One reader of openi_labels.csv for training, mining figures and benchmarks: 0/1 cells are read, a
    blank cell stays unannotated (not a negative), columns outside the label space are ignored."""
    from vlm.data import read_openi_labels

    csv_file = tmp_path / "openi_labels.csv"
    csv_file.write_text("filename,Atelectasis,Effusion,normal,Comment\nCXR1,0,1,0,x\nCXR2,1,,0,\n", encoding="utf-8")
    gold = read_openi_labels(csv_file)
    assert gold == {"CXR1": {"Atelectasis": 0, "Effusion": 1, "normal": 0}, "CXR2": {"Atelectasis": 1, "normal": 0}}
    root = make_iu_xray(tmp_path / "iu", images=False)
    (root / "openi_labels.csv").write_text("filename,Atelectasis,Effusion,normal\nCXR2,1,,0\n", encoding="utf-8")
    rec = next(r for r in read_iu_xray(root).records if r.id.startswith("iu_xray/CXR2_"))
    assert rec.labels[LABEL_INDEX["Atelectasis"]] == 1 and rec.labels[LABEL_INDEX["Effusion"]] == UNKNOWN
