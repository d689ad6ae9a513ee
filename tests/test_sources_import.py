"""Source importers on tiny fixtures in the real layout, their mapping files, and (shared_data) the real files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from kg.concepts import load_concept_table
from reasoning.sources import SOURCES, SourceError, import_sources, read_source
from reasoning.sources.base import META_COLUMNS
from reasoning.sources.mapping import load_source_map, map_key
from tests import cxr_fixtures as fx


@pytest.fixture()
def labels_dir(tmp_path: Path) -> Path:
    return fx.write_all(tmp_path / "cxr_labels")


def _row(frame: pd.DataFrame, study: str) -> pd.Series:
    return frame.set_index("study_id").loc[study]


def test_import_all_sources_writes_one_matrix_each(labels_dir: Path, tmp_path: Path) -> None:
    report = import_sources(labels_dir, tmp_path / "out", progress=False)
    assert [s.source for s in report.sources] == list(SOURCES)
    for s in report.sources:
        frame = pd.read_parquet(s.path)
        assert list(frame.columns[:len(META_COLUMNS)]) == list(META_COLUMNS)
        assert set(frame["source"].astype(str)) == {s.source}
        for c in s.concept_columns:
            assert str(frame[c].dtype) == "Int8"
            assert set(frame[c].dropna().unique()) <= {-1, 0, 1}
    assert not list((tmp_path / "out").glob("*.part"))


def test_padchest_study_labels_confounders_and_not_reported(labels_dir: Path) -> None:
    m = read_source("padchest", labels_dir, progress=False)
    f = m.frame
    assert len(f) == 6  # six studies; s1 has two images
    s1 = _row(f, "s1")
    assert (s1["pleural_effusion"], s1["cardiomegaly"], s1["atelectasis"]) == (1, 1, 0)
    assert s1["n_images"] == 2 and s1["view"] == "PA" and s1["age"] == 65 and s1["sex"] == "M"
    assert s1["label_method"] == "human" and s1["device_maker"] == "PhilipsMedicalSystems"
    s2 = _row(f, "s2")
    assert (s2["atelectasis"], s2["nasogastric_tube"], s2["view"], s2["label_method"]) == (1, 1, "AP supine", "model")
    s3 = _row(f, "s3")
    assert s3["cardiomegaly"] == 0 and s3["pleural_effusion"] == 0  # 'normal': absent, not missing
    assert pd.isna(_row(f, "s4")["cardiomegaly"])  # 'exclude': not reported
    s5 = _row(f, "s5")
    assert pd.isna(s5["pleural_effusion"]) and pd.isna(s5["sex"])  # no label list; sex 'O' is not F/M
    s6 = _row(f, "s6")
    assert (s6["copd"], s6["hyperinflation"]) == (1, 1)  # two labels, one concept
    assert m.unmapped_seen["unchanged"] == 1 and m.unmapped_seen["chronic changes"] == 1


def test_nih_labels_split_on_bars(labels_dir: Path) -> None:
    f = read_source("nih", labels_dir, progress=False).frame
    assert len(f) == 4
    assert (_row(f, "00000001_001")["cardiomegaly"], _row(f, "00000001_001")["emphysema"]) == (1, 1)
    assert _row(f, "00000002_000")[["cardiomegaly", "pleural_effusion"]].tolist() == [0, 0]
    r = _row(f, "00000003_000")
    assert (r["pleural_effusion"], r["pleural_thickening"], r["view"], r["age"]) == (1, 1, "AP", 30)


def test_chexpert_keeps_uncertain_and_not_reported_apart(labels_dir: Path) -> None:
    f = read_source("chexpert", labels_dir, progress=False).frame
    assert len(f) == 3  # patient00002/study2 has a frontal and a lateral image
    r = _row(f, "patient00002/study2")
    assert r["cardiomegaly"] == -1 and r["pulmonary_edema"] == -1 and r["lung_opacity"] == 1
    assert r["pleural_effusion"] == 0 and pd.isna(r["pneumothorax"])
    assert r["view"] == "PA" and r["n_images"] == 2 and r["sex"] == "F"
    assert _row(f, "patient00001/study1")["support_device"] == 1


def test_vindr_three_readers_majority_and_uncertain(labels_dir: Path) -> None:
    f = read_source("vindr", labels_dir, progress=False).frame
    a, b, c = _row(f, "img_a"), _row(f, "img_b"), _row(f, "img_c")
    assert a["cardiomegaly"] == 1  # two of three readers
    assert a["pleural_effusion"] == -1  # one reader (two boxes) of three
    assert b[["cardiomegaly", "pleural_effusion"]].tolist() == [0, 0]
    assert c["lung_lesion"] == 1
    assert pd.isna(a["age"]) and pd.isna(a["view"]) and a["label_method"] == "human"


def test_iu_labels_from_mesh_major_and_automatic(labels_dir: Path) -> None:
    f = read_source("iu_xray", labels_dir, progress=False).frame
    r2 = _row(f, "CXR2")
    assert r2["pulmonary_edema"] == 1 and r2["interstitial_edema"] == 1 and r2["cardiomegaly"] == 1
    assert r2["pleural_effusion"] == -1  # named only by the indexing software: a hedged mention
    assert r2["view"] == "AP" and r2["age"] == 72
    r1 = _row(f, "CXR1")
    assert r1["cardiomegaly"] == 0 and r1["view"] == "PA" and r1["n_images"] == 2
    assert pd.isna(_row(f, "CXR3")["cardiomegaly"])  # No Indexing: not reported
    r4 = _row(f, "CXR4")
    assert r4["diaphragm_elevation"] == 1
    assert r4["sternotomy"] == 0  # reached only through a qualifier, so an automatic term never hedges it
    assert pd.isna(r4["view"])  # no DICOM header for its images


def test_unknown_label_stops_everything_and_writes_nothing(labels_dir: Path, tmp_path: Path) -> None:
    nih = fx.nih_frame()
    nih.loc[2, "Finding Labels"] = "Cardiomegaly|Pneumonitis"
    fx.write_frame(labels_dir, fx.NIH, nih)
    out = tmp_path / "out"
    with pytest.raises(SourceError, match=r"nih: Data_Entry_2017_v2020\.csv\.gz column 'Finding Labels' .*'Pneumonitis'"):
        import_sources(labels_dir, out, progress=False)
    assert not out.exists() or not any(out.iterdir())


def test_unknown_padchest_label_names_it(labels_dir: Path) -> None:
    df = fx.padchest_frame()
    df.loc[0, "Labels"] = "['pleural effusion', 'floating ribs']"
    fx.write_frame(labels_dir, fx.PADCHEST, df)
    with pytest.raises(SourceError, match="'floating ribs'.*padchest.csv"):
        read_source("padchest", labels_dir, progress=False)


def test_unknown_iu_heading_names_file(labels_dir: Path) -> None:
    fx.write_iu(labels_dir, [("CXR9", ["Flail Chest/left"], [], [])])
    with pytest.raises(SourceError, match=r"1\.xml .*heading 'Flail Chest'"):
        read_source("iu_xray", labels_dir, progress=False)


def test_missing_column_is_named(labels_dir: Path) -> None:
    fx.write_frame(labels_dir, fx.CHEXPERT, fx.chexpert_frame().drop(columns=["AP/PA"]))
    with pytest.raises(SourceError, match=r"chexpert_train\.csv\.gz has no column 'AP/PA'"):
        read_source("chexpert", labels_dir, progress=False)


def test_unknown_label_column_is_named(labels_dir: Path) -> None:
    fx.write_frame(labels_dir, fx.CHEXPERT, fx.chexpert_frame().assign(**{"Rib Notching": 0.0}))
    with pytest.raises(SourceError, match="label column.*'Rib Notching'"):
        read_source("chexpert", labels_dir, progress=False)


def test_wrong_label_value_is_named(labels_dir: Path) -> None:
    df = fx.chexpert_frame()
    df.loc[0, "Edema"] = 2.0
    fx.write_frame(labels_dir, fx.CHEXPERT, df)
    with pytest.raises(SourceError, match="column 'Edema' holds 2.0; expected 1, 0, -1 or blank"):
        read_source("chexpert", labels_dir, progress=False)


def test_wrong_encoding_is_named(labels_dir: Path) -> None:
    text = fx.nih_frame().to_csv(index=False).replace("Cardiomegaly|Emphysema", "Cardiomegalia|Enfisema pulmón")
    with gzip.open(labels_dir / fx.NIH, "wb") as fh:
        fh.write(text.encode("latin-1"))
    with pytest.raises(SourceError, match="not UTF-8"):
        read_source("nih", labels_dir, progress=False)


def test_not_gzip_is_named(labels_dir: Path) -> None:
    (labels_dir / fx.VINDR).write_bytes(b"image_id,class_name,rad_id\nx,No finding,R1\n")
    with pytest.raises(SourceError, match="vinbigdata-train.csv.gz is not a valid gzip file"):
        read_source("vindr", labels_dir, progress=False)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cxr_labels folder .* not found"):
        read_source("nih", tmp_path / "nowhere", progress=False)
    tmp_path.joinpath("empty").mkdir()
    with pytest.raises(SourceError, match="Data_Entry_2017_v2020.csv.gz not found"):
        read_source("nih", tmp_path / "empty", progress=False)
    with pytest.raises(SourceError, match="unknown source"):
        import_sources(tmp_path, tmp_path / "o", sources=("mimic",), progress=False)


def test_failed_rerun_keeps_the_previous_matrix(labels_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    import_sources(labels_dir, out, sources=("nih",), progress=False)
    before = (out / "nih.parquet").read_bytes()
    fx.write_frame(labels_dir, fx.NIH, fx.nih_frame().drop(columns=["View Position"]))
    with pytest.raises(SourceError):
        import_sources(labels_dir, out, sources=("nih",), progress=False)
    assert (out / "nih.parquet").read_bytes() == before


# ------------------------------------------------------------------------------------ mapping files
@pytest.mark.parametrize("source", SOURCES)
def test_every_mapping_row_maps_or_says_why(source: str) -> None:
    table = load_concept_table()
    smap = load_source_map(source, table)
    assert smap.labels
    for m in [*smap.labels.values(), *smap.qualifiers.values()]:
        assert (m.concept in table) if m.concept else bool(m.reason), m


def test_mapping_file_errors(tmp_path: Path) -> None:
    table = load_concept_table()
    bad = tmp_path / "m.csv"
    bad.write_text("label,concept,match,reason\nEffusion,,,\n", encoding="utf-8")
    with pytest.raises(SourceError, match="maps to no concept and gives no reason"):
        load_source_map("nih", table, bad)
    bad.write_text("label,concept,match,reason\nEffusion,pleural_fluid,exactMatch,\n", encoding="utf-8")
    with pytest.raises(SourceError, match="not in the chest concept table"):
        load_source_map("nih", table, bad)
    bad.write_text("label,concept,match,reason\nEffusion,pleural_effusion,sameAs,\n", encoding="utf-8")
    with pytest.raises(SourceError, match="match 'sameAs'"):
        load_source_map("nih", table, bad)


def test_fixture_labels_cover_the_mapping_vocabularies() -> None:
    """The fixtures use real label names: each is listed in its source's mapping file."""
    table = load_concept_table()
    nih = {x for v in fx.nih_frame()["Finding Labels"] for x in v.split("|")}
    assert not load_source_map("nih", table).unknown(nih)
    assert not load_source_map("vindr", table).unknown(set(fx.vindr_frame()["class_name"]))
    assert not load_source_map("chexpert", table).unknown(fx.CHEXPERT_LABELS)


# ------------------------------------------------------------------------------------- real files
@pytest.mark.shared_data
def test_real_headers_have_the_required_columns(shared_data: Path) -> None:
    from reasoning.sources import chexpert, iu_xray, nih, padchest, vindr

    folder = shared_data / "cxr_labels"
    for name, cols in ((padchest.FILE, padchest.COLUMNS), (nih.FILE, nih.COLUMNS), (chexpert.FILE, chexpert.META),
                       (vindr.FILE, vindr.COLUMNS), (iu_xray.DICOM, iu_xray.DICOM_COLUMNS)):
        header = pd.read_csv(folder / name, nrows=5).columns
        assert set(cols) <= set(header), name


@pytest.mark.shared_data
def test_every_real_label_is_in_its_mapping_file(shared_data: Path) -> None:
    from reasoning.sources import chexpert, iu_xray, nih, padchest, vindr

    folder = shared_data / "cxr_labels"
    table = load_concept_table()
    pad = pd.read_csv(folder / padchest.FILE, usecols=["Labels"])["Labels"].dropna()
    pad_labels = {x.strip() for x in pad.str.findall(r"'([^']*)'").explode().dropna()} - {""}
    assert not load_source_map("padchest", table).unknown(pad_labels)
    tree = (folder / "padchest_tree_term_CUI_counts_160K.csv").read_text(encoding="utf-8").splitlines()
    tree_labels = {line.split(" [")[0].lstrip("│├└─ \u00a0") for line in tree if " [" in line}
    assert not load_source_map("padchest", table).unknown(tree_labels)
    n = pd.read_csv(folder / nih.FILE, usecols=["Finding Labels"])["Finding Labels"]
    assert not load_source_map("nih", table).unknown(set(n.str.split("|").explode()))
    v = pd.read_csv(folder / vindr.FILE, usecols=["class_name"])["class_name"]
    assert not load_source_map("vindr", table).unknown(set(v))
    header = pd.read_csv(folder / chexpert.FILE, nrows=0).columns
    assert not load_source_map("chexpert", table).unknown([c for c in header if c not in chexpert.META])
    iu = load_source_map("iu_xray", table)
    headings = {t.split("/")[0].strip() for r in iu_xray.read_reports(folder / iu_xray.REPORTS, progress=False)
                for t in r.major if t.strip()}
    assert len(headings) > 100
    assert not [h for h in headings if map_key(h) not in iu.labels]


@pytest.mark.shared_data
def test_real_nih_import_matches_the_published_counts(shared_data: Path) -> None:
    f = read_source("nih", shared_data / "cxr_labels", progress=False).frame
    assert len(f) == 112_120 and f["patient_id"].nunique() == 30_805
    assert f["view"].astype(str).value_counts().to_dict() == {"PA": 67_310, "AP": 44_810}
    assert int((f["pleural_effusion"] == 1).sum()) == 13_317 and int((f["hiatal_hernia"] == 1).sum()) == 227
