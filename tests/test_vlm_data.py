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


def test_nih_reader_labels_every_finding_and_keeps_test_patients_out_of_training(tmp_path):
    from tests.fixtures.vlm.frontend_data import make_nih, nih_rows
    from vlm.data import load_sources, nih_labels, read_nih

    make_nih(tmp_path / "nih_1000", nih_rows(40))
    make_nih(tmp_path / "nih_621", nih_rows(6, start=36))  # patients 36-39 are in both
    train = load_sources(tmp_path, ("nih_1000",))
    assert len(train.records) == 36 and {r.split for r in train.records} <= {"train", "val"}
    assert not {r.group for r in train.records} & {f"nih-{p}" for p in range(36, 42)}
    test = read_nih(tmp_path / "nih_621", "nih_621", test=True)
    assert {r.split for r in test.records} <= {"dev", "test"} and len(test.records) == 6
    r = train.by_id()["nih_1000/00000001_000.png"]
    assert set(r.positives()) == {"Pneumonia", "Infiltration"} and r.follow_up == 0 and r.view in ("AP", "PA")
    assert r.labels[LABEL_INDEX["COVID-19"]] == 0 and r.labels[LABEL_INDEX["Hernia"]] == 0
    assert r.labels[LABEL_INDEX["normal"]] == 0 and UNKNOWN not in r.labels
    n = train.by_id()["nih_1000/00000000_000.png"]
    assert n.positives() == ("normal",) and n.text == "adult chest x-ray: no finding"
    assert nih_labels("Effusion|Mass")["Mass"] == 1
    with pytest.raises(ValueError, match="unknown NIH finding"):
        nih_labels("Broken_Arm")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="labels.csv"):
        read_nih(tmp_path / "empty")


def test_nih_621_is_cut_into_a_dev_and_a_test_part_by_patient_stratified_by_class_and_view(tmp_path):
    from tests.fixtures.vlm.frontend_data import make_nih, nih_rows
    from vlm.data import NIH_621_DEV_FRACTION, read_nih

    rows = nih_rows(80, start=500)
    rows += [{**rows[0], "image": "00000500_001.png"}]  # a second film of patient 500
    make_nih(tmp_path / "nih_621", rows)
    recs = read_nih(tmp_path / "nih_621", "nih_621", test=True).records
    again = read_nih(tmp_path / "nih_621", "nih_621", test=True).records
    assert [r.split for r in recs] == [r.split for r in again], "the split is fixed (seeded)"
    assert {r.split for r in recs} == {"dev", "test"}
    assert len({r.split for r in recs if r.group == "nih-500"}) == 1, "a patient's films stay together"
    for view in ("AP", "PA"):
        for normal in (0, 1):
            cell = [r for r in recs if r.view == view and r.labels[LABEL_INDEX["normal"]] == normal and r.group != "nih-500"]
            dev = sum(r.split == "dev" for r in cell)
            assert abs(dev - NIH_621_DEV_FRACTION * len(cell)) <= 1, (view, normal, dev, len(cell))


def test_pediatric_reader_keeps_the_official_test_split_and_splits_train_by_patient(tmp_path):
    from tests.fixtures.vlm.frontend_data import make_pediatric
    from vlm.data import pediatric_patient, read_pediatric_cxr

    corpus = read_pediatric_cxr(make_pediatric(tmp_path / "ped", per_class=8))
    assert len(corpus.records) == 32
    assert {r.split for r in corpus.records if "/test/" in r.id} == {"test"}
    assert {r.split for r in corpus.records if "/train/" in r.id} <= {"train", "val"}
    pos = next(r for r in corpus.records if "PNEUMONIA" in r.id)
    assert pos.positives() == ("Pneumonia",) and pos.labels[LABEL_INDEX["Effusion"]] == UNKNOWN
    neg = next(r for r in corpus.records if "NORMAL" in r.id)
    assert neg.positives() == ("normal",) and neg.labels[LABEL_INDEX["COVID-19"]] == 0
    assert pediatric_patient("person1000_bacteria_2931.jpeg") == "person1000"
    assert pediatric_patient("NORMAL2-IM-1419-0001.jpeg") == "NORMAL2-IM-1419"
    assert pediatric_patient("IM-0115-0001.jpeg") == "IM-0115"
    with pytest.raises(FileNotFoundError, match="pediatric"):
        read_pediatric_cxr(tmp_path / "nowhere")


def test_covid_collection_is_split_by_patient_with_both_classes_in_every_split(tmp_path):
    import csv as _csv

    from tests.fixtures.vlm.builders import write_png
    from vlm.data import read_cxr_covid

    root = tmp_path / "cxr_covid"
    rows = []
    for p in range(30):
        finding = "COVID-19" if p % 3 else "Pneumonia/Bacterial"
        for k, view in enumerate(("PA", "L")):
            rows.append({"image": f"{p}-{k}.png", "patientid": str(p), "finding": finding, "view": view,
                         "clinical_notes": ""})
    rows.append({"image": "x.png", "patientid": "99", "finding": "todo", "view": "AP", "clinical_notes": ""})
    for r in rows:
        write_png(root / "images" / r["image"], seed=len(r["image"]), size=(20, 20))
    with (root / "metadata.csv").open("w", newline="", encoding="utf-8") as fh:
        w = _csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    corpus = read_cxr_covid(root)
    by_patient: dict[str, set[str]] = {}
    for r in corpus.records:
        by_patient.setdefault(r.group, set()).add(r.split)
    assert all(len(s) == 1 for s in by_patient.values()), "a patient's films (lateral included) stay together"
    for split in ("train", "val", "test"):
        covid = {r.labels[LABEL_INDEX["COVID-19"]] for r in corpus.records if r.split == split and r.group != "covid-99"}
        assert covid == {0, 1}, f"{split} holds both classes"
    n = {s: len({r.group for r in corpus.split(s)}) for s in ("train", "val", "test")}
    assert n["train"] > n["val"] and n["train"] > n["test"]


def test_covid_split_is_the_diagnosis_benchmarks_patient_split(shared_data):
    from benchmarks.covid_split import patient_split, read_cases
    from vlm.data import read_cxr_covid

    cases, _ = read_cases(shared_data / "cxr_covid")
    ours = {r.image_path.name: r.split for r in read_cxr_covid(shared_data / "cxr_covid").records}
    theirs = patient_split(cases)
    assert all(ours[c.key] == split for split, films in theirs.items() for c in films)
    assert sum(len(v) for v in theirs.values()) == len(cases)


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


def test_adult_and_paediatric_readers_match_the_documented_counts(shared_data):
    from vlm.data import load_sources

    corpus = load_sources(shared_data, ("nih_1000", "nih_621", "pediatric_cxr"))
    by = {s: [r for r in corpus.records if r.source == s] for s in ("nih_1000", "nih_621", "pediatric_cxr")}
    assert len(by["nih_621"]) == 621 and {r.split for r in by["nih_621"]} == {"dev", "test"}
    dev = [r for r in by["nih_621"] if r.split == "dev"]
    assert len(dev) in range(184, 189) and sum(r.labels[LABEL_INDEX["normal"]] == 1 for r in dev) == 30
    test_patients = {r.group for r in by["nih_621"]}
    assert len(by["nih_1000"]) < 1000 and not {r.group for r in by["nih_1000"]} & test_patients
    assert sum(r.labels[LABEL_INDEX["normal"]] == 1 for r in by["nih_621"]) == 100
    ped = by["pediatric_cxr"]
    assert sum(r.split == "test" for r in ped) == 624 and sum(r.split in ("train", "val") for r in ped) == 5216
    groups = {s: {r.group for r in ped if r.split == s} for s in ("train", "val")}
    assert not groups["train"] & groups["val"], "paediatric train and val split by patient"


def test_the_adult_base_rates_are_those_of_the_nih_label_table(shared_data):
    import csv
    import gzip

    from vlm.labels import ADULT_PREVALENCE

    counts: dict[str, int] = {}
    n = 0
    with gzip.open(shared_data / "cxr_labels" / "Data_Entry_2017_v2020.csv.gz", "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            n += 1
            for label in row["Finding Labels"].split("|"):
                counts[label] = counts.get(label, 0) + 1
    assert n == 112_120
    table = {("normal" if k == "No Finding" else k): v / n for k, v in counts.items()}
    assert set(table) == set(ADULT_PREVALENCE)
    for label, rate in ADULT_PREVALENCE.items():
        assert rate == pytest.approx(table[label], abs=5e-5), label
