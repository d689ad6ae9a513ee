"""IU-Xray full reports: the Open-i XML reader (files, folders, the .tgz archive), sections, Open-i labels,
negation and uncertainty scope, and in-report causal statements with their provenance.

Every report here is written by the test in the real Open-i layout (eCitation, AbstractText sections,
MeSH, parentImage), so none of it needs the data folder.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from kg.concepts import FINDING_CONCEPTS, REPORT_CONCEPTS
from kg.mining.core.documents import Document, Skipped
from kg.mining.core.readers import iter_report_documents, read_openi_report, read_r2gen_splits, study_id
from kg.mining.reports.findings import report_claims, report_findings
from kg.mining.reports.pipeline import build_report_nlp


def openi_xml(uid: str, *, findings: str = "", impression: str = "", indication: str = "",
              comparison: str = "None.", mesh: tuple[str, ...] = ("normal",), images: tuple[str, ...] = ()) -> str:
    """One report in the Open-i XML layout of NLMCXR_reports.tgz."""
    sections = "".join(f'\n            <AbstractText Label="{label}">{body}</AbstractText>'
                       for label, body in (("COMPARISON", comparison), ("INDICATION", indication),
                                           ("FINDINGS", findings), ("IMPRESSION", impression)))
    major = "".join(f"\n      <major>{m}</major>" for m in mesh)
    figures = "".join(f'\n   <parentImage id="{i}">\n      <figureId>F1</figureId>\n   </parentImage>' for i in images)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<eCitation>
   <meta type="rr"/>
   <uId id="{uid}"/>
   <docSource>CXR</docSource>
   <MedlineCitation Owner="Indiana University" Status="supplied by publisher">
      <Article PubModel="Electronic">
         <ArticleTitle>Indiana University Chest X-ray Collection</ArticleTitle>
         <Abstract>{sections}
         </Abstract>
      </Article>
   </MedlineCitation>
   <MeSH>{major}
      <automatic>sternotomy</automatic>
   </MeSH>{figures}
</eCitation>
"""


REPORTS = {
    "1.xml": openi_xml("CXR1", indication="Positive TB test", findings="The heart is normal. No pleural effusion.",
                       impression="Normal chest.", images=("CXR1_1_IM-0001-3001", "CXR1_1_IM-0001-4001")),
    "2.xml": openi_xml("CXR2", findings="Borderline cardiomegaly. Midline sternotomy XXXX.",
                       impression="No acute pulmonary findings.", mesh=("Cardiomegaly/borderline",),
                       images=("CXR2_IM-0652-1001",)),
    "10.xml": openi_xml("CXR10", indication="Evaluate for pneumonia",
                        impression="Left basilar opacity, atelectasis versus pneumonia."),
    "16.xml": openi_xml("CXR16", indication="Cough"),  # no findings, no impression: nothing to mine
}


def _archive(folder: Path, members: dict[str, str], broken: bool = False) -> Path:
    path = folder / "NLMCXR_reports.tgz"
    with tarfile.open(path, "w:gz") as tar:
        items = dict(members)
        if broken:
            items["99.xml"] = "<eCitation><uId id='CXR99'/>"
        for name, text in items.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(f"ecgen-radiology/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def nlp():
    return build_report_nlp(None)


def _docs(items: list) -> list[Document]:
    return [i for i in items if isinstance(i, Document)]


# ---------------------------------------------------------------- reader

def test_archive_reports_keep_sections_images_and_mesh_apart(tmp_path: Path) -> None:
    items = list(iter_report_documents(_archive(tmp_path, REPORTS)))
    docs = _docs(items)
    assert [d.doc_id for d in docs] == ["CXR1", "CXR2", "CXR10"]  # member names in number order
    one = docs[0]
    assert one.source == "iu_xray" and one.kind == "report"
    assert [name for name, _, _ in one.sections] == ["comparison", "indication", "findings", "impression"]
    bodies = {name: one.text[a:b] for name, a, b in one.sections}
    assert bodies == {"comparison": "None.", "indication": "Positive TB test",
                      "findings": "The heart is normal. No pleural effusion.", "impression": "Normal chest."}
    assert one.text.splitlines()[2] == "FINDINGS: The heart is normal. No pleural effusion."
    assert one.meta_value("images") == "CXR1_1_IM-0001-3001 CXR1_1_IM-0001-4001"
    assert one.meta_value("n_images") == "2" and one.meta_value("study_id") == "CXR1"
    assert docs[1].meta_value("mesh_major") == "Cardiomegaly/borderline"
    assert docs[1].meta_value("mesh_automatic") == "sternotomy"
    assert docs[2].section_at(docs[2].text.index("atelectasis")) == "impression"
    (empty,) = [i for i in items if isinstance(i, Skipped)]
    assert "CXR16" in empty.where and "no findings or impression" in empty.reason


def test_a_broken_member_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    items = list(iter_report_documents(_archive(tmp_path, REPORTS, broken=True)))
    assert len(_docs(items)) == 3
    reasons = [i.reason for i in items if isinstance(i, Skipped)]
    assert any("malformed XML" in r for r in reasons)


def test_folder_of_xml_files_and_a_corrupt_archive(tmp_path: Path) -> None:
    folder = tmp_path / "ecgen-radiology"
    folder.mkdir()
    for name, text in REPORTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "labels.csv.gz").write_bytes(b"\x1f\x8b not a tar archive")  # a .gz that is no .tar.gz: not read
    assert sorted(d.doc_id for d in _docs(list(iter_report_documents(folder)))) == ["CXR1", "CXR10", "CXR2"]
    bad = tmp_path / "bad.tgz"
    bad.write_bytes(b"not gzip at all")
    (skipped,) = list(iter_report_documents(bad))
    assert isinstance(skipped, Skipped) and skipped.where.endswith("bad.tgz")


def test_r2gen_splits_join_the_full_reports_by_study_id(tmp_path: Path) -> None:
    ann = tmp_path / "annotation.json"
    ann.write_text(json.dumps({"train": [{"id": "CXR1_1_IM-0001", "report": "x"}],
                               "val": [], "test": [{"id": "CXR2_IM-0652", "report": "y"}]}), encoding="utf-8")
    splits = read_r2gen_splits(ann)
    assert splits == {"CXR1": "train", "CXR2": "test"}
    assert study_id("CXR1_1_IM-0001-3001") == "CXR1" == study_id("CXR1")
    docs = _docs(list(iter_report_documents(_archive(tmp_path, REPORTS), splits=splits)))
    assert [(d.doc_id, d.split) for d in docs] == [("CXR1", "train"), ("CXR2", "test"), ("CXR10", "")]
    (tmp_path / "other.json").write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="not an R2Gen annotation.json"):
        read_r2gen_splits(tmp_path / "other.json")


# ---------------------------------------------------------------- sections, statuses, Open-i labels

def _row(nlp, xml: str):
    doc = read_openi_report(xml)
    assert isinstance(doc, Document)
    return report_findings(nlp(doc.text), doc, keep_mentions=True), doc


def test_impression_counts_and_indication_does_not(nlp) -> None:
    row, _ = _row(nlp, openi_xml("CXR5", indication="Pneumonia", findings="Heart size normal.",
                                 impression="Small right pleural effusion."))
    assert row.status("Effusion") == "present" and "Pneumonia" not in dict(row.statuses)
    assert row.labels == ("Effusion",)
    sections = {m.key: m.section for m in row.mentions}
    assert sections == {"Pneumonia": "indication", "Effusion": "impression"}


def test_a_title_without_full_stop_does_not_carry_negation_into_the_next_section(nlp) -> None:
    row, _ = _row(nlp, openi_xml("CXR6", indication="No fever", findings="Atelectasis at the left base."))
    assert row.status("Atelectasis") == "present"


@pytest.mark.parametrize(("impression", "label", "status", "indexed"), [
    ("Streaky left basilar opacity, atelectasis versus infiltrate.", "Atelectasis", "uncertain", True),
    ("Streaky left basilar opacity, atelectasis versus infiltrate.", "Infiltration", "uncertain", True),
    ("Bibasilar airspace disease, either atelectasis or infiltrate.", "Infiltration", "uncertain", True),
    ("Opacity which may represent atelectasis.", "Atelectasis", "uncertain", False),
    ("Abnormal opacities, differential diagnosis includes infection, aspiration, atypical pulmonary edema.",
     "Edema", "uncertain", False),
    ("Consolidation, atelectasis and effusion in the left lower lobe have cleared in the interval.",
     "Consolidation", "absent", False),
    ("Lungs are free of infiltrate and there is no pleural effusion.", "Effusion", "absent", False),
    ("Redemonstration without significant interval change of mild subsegmental atelectasis.",
     "Atelectasis", "present", True),
    ("Abnormal opacities most suggestive of pulmonary edema.", "Edema", "present", True),
    ("Infiltrate cannot be ruled out.", "Infiltration", "uncertain", False),
    ("Nodular density; XXXX recommended to rule-out underlying pulmonary nodule.", "Nodule", "uncertain", False),
    ("Bronchial wall thickening.", "Pleural_Thickening", "present", True),
    ("Borderline heart size.", "Cardiomegaly", "present", True),
    ("Stable heart size, moderately enlarged and tortuous aorta.", "Cardiomegaly", None, False),
    ("Blunting of the right costophrenic sulcus.", "Effusion", None, False),
    ("Changes of cystic fibrosis.", "Fibrosis", None, False),
])
def test_status_and_open_i_label(nlp, impression: str, label: str, status: str | None, indexed: bool) -> None:
    row, _ = _row(nlp, openi_xml("CXR7", impression=impression))
    assert row.status(label) == status
    assert (label in row.labels) is indexed


def test_a_literal_listed_both_ways_looks_both_ways() -> None:
    from kg.mining.core.context_rules import report_context_rules

    rules = report_context_rules()
    literals = [r.literal.lower() for r in rules]
    assert len(literals) == len(set(literals))  # medspaCy keeps one rule per literal
    by = {r.literal.lower(): r for r in rules}
    assert by["cannot be excluded"].direction == "BIDIRECTIONAL"
    assert by["no new"].category == "PSEUDO"


# ---------------------------------------------------------------- causal statements

def _claims(nlp, impression: str, findings: str = "Heart size normal."):
    xml = openi_xml("CXR8", indication="Effusion due to heart failure", findings=findings, impression=impression)
    doc = read_openi_report(xml)
    assert isinstance(doc, Document)
    return list(report_claims(nlp(doc.text), doc)), doc


def test_causal_and_explanation_statements_carry_their_provenance(nlp) -> None:
    claims, doc = _claims(nlp, "Right basilar atelectasis secondary to the pleural effusion. "
                               "Hyperexpanded lungs, likely representing emphysema.")
    got = {(c.subject.iri, c.relation, c.object.iri, c.certainty) for c in claims}
    assert (FINDING_CONCEPTS["Effusion"].iri, "causes", FINDING_CONCEPTS["Atelectasis"].iri, "certain") in got
    assert (FINDING_CONCEPTS["Emphysema"].iri, "manifestsAs", REPORT_CONCEPTS["hyperinflation"].iri,
            "probable") in got
    assert len(claims) == 2  # the indication's "effusion due to heart failure" is no claim
    for c in claims:
        assert c.span is not None and c.span.section == "impression" and c.scope == "chest"
        assert doc.text[c.span.start:c.span.end] == c.span.sentence
        assert c.span.document_id == "CXR8" and c.polarity == "positive"


def test_negated_hedged_and_alternative_statements(nlp) -> None:
    negative, _ = _claims(nlp, "The opacity is not due to atelectasis.")
    assert [(c.subject.iri, c.relation, c.object.iri, c.polarity) for c in negative] == [
        (FINDING_CONCEPTS["Atelectasis"].iri, "causes", REPORT_CONCEPTS["lung_opacity"].iri, "negative")]
    hedged, _ = _claims(nlp, "Left basilar opacity may represent pneumonia.")
    assert [(c.subject.iri, c.certainty) for c in hedged] == [(FINDING_CONCEPTS["Pneumonia"].iri, "possible")]
    anonymised, _ = _claims(nlp, "Left basilar opacity XXXX due to atelectasis.")
    assert [c.certainty for c in anonymised] == ["probable"]
    across, _ = _claims(nlp, "Blunting due to small effusions versus due to hyperinflation.")
    assert not any(c.object.iri == FINDING_CONCEPTS["Effusion"].iri for c in across)
    absent, _ = _claims(nlp, "No effusion to cause atelectasis.")
    assert absent == []


def test_claims_from_xml_reports_write_and_pass_the_shapes(tmp_path: Path, memory_store) -> None:
    from kg.check import check_store
    from kg.mining.api import mine_reports
    from kg.namespaces import NAMED_GRAPHS

    reports = {**REPORTS, "3.xml": openi_xml("CXR3", findings="Large right pleural effusion with compressive "
                                                              "atelectasis.", impression="Effusion.")}
    summary = mine_reports(memory_store, _archive(tmp_path, reports))
    assert summary.documents == 4 and summary.skipped == 1 and summary.claims_added == 1
    rows = memory_store.query("""SELECT ?scope ?section WHERE { ?c a mcrag:CausalClaim ; mcrag:scope ?scope ;
        prov:wasDerivedFrom ?s . ?s mcrag:section ?section }""").dicts()
    assert [(r["scope"], r["section"]) for r in rows] == [("chest", "findings")]
    report = check_store(memory_store, graphs=[NAMED_GRAPHS["reports"]], owl=False, shacl=True)
    assert report.conforms, report.violations


# ---------------------------------------------------------------- CLI and the main job's step

def _annotation(tmp_path: Path) -> Path:
    ann = tmp_path / "annotation.json"
    ann.write_text(json.dumps({"train": [{"id": "CXR1_1_IM-0001", "report": "x"}], "val": [],
                               "test": [{"id": "CXR2_IM-0652", "report": "y"}]}), encoding="utf-8")
    return ann


def test_cli_mines_the_archive_with_its_split_and_refuses_what_it_cannot_read(tmp_path: Path, capsys,
                                                                              monkeypatch) -> None:
    import csv

    from mcrag.cli import main

    archive = _archive(tmp_path, REPORTS)
    matrix = tmp_path / "m.csv"
    with pytest.raises(SystemExit) as ok:
        main(["mine", "reports", str(archive), "--splits", str(_annotation(tmp_path)), "--dry-run",
              "--matrix", str(matrix), "--no-progress", "--json", "--labeler-dir", str(tmp_path)])
    assert ok.value.code == 0
    assert json.loads(capsys.readouterr().out)["documents"] == 3
    with matrix.open(encoding="utf-8") as fh:
        rows = {r["report_id"]: r for r in csv.DictReader(fh)}
    assert (rows["CXR1"]["split"], rows["CXR2"]["split"], rows["CXR2"]["Cardiomegaly"]) == ("train", "test", "1")

    with pytest.raises(SystemExit) as bad_split:
        main(["mine", "reports", str(archive), "--splits", str(tmp_path / "none.json"), "--dry-run"])
    assert bad_split.value.code == 2

    # no path and no full reports anywhere (no data folder, no installed torchxrayvision): one clear line
    import mcrag.datasets.locate as locate

    monkeypatch.setenv("MCRAG_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(locate, "package_dir", lambda package: None)
    with pytest.raises(SystemExit) as absent:
        main(["mine", "reports", "--dry-run", "--no-progress"])
    assert absent.value.code == 2
    assert "IU-Xray full reports" in capsys.readouterr().err


def test_the_main_job_mines_the_full_reports(tmp_path: Path, monkeypatch, memory_store) -> None:
    from mcrag.commands import pipeline
    from mcrag.settings import load_settings

    (step,) = [s for s in pipeline.STEPS if s.key == "mine_reports"]
    assert step.needs == ("iu_xray_reports",) and set(step.uses) == {"iu_xray", "labeler"}
    archive = _archive(tmp_path, REPORTS)
    _annotation(tmp_path)
    monkeypatch.setattr(pipeline, "_located", lambda ctx, name, *parts: archive)
    monkeypatch.setattr(pipeline, "_optional", lambda ctx, name: tmp_path if name == "iu_xray" else None)
    monkeypatch.setenv("MCRAG_HOME", str(tmp_path / "home"))
    ctx = pipeline.PipelineContext(load_settings(), memory_store, sample=10)
    ctx.settings.runs_dir.mkdir(parents=True, exist_ok=True)
    summary = pipeline.step_mine_reports(ctx)
    assert summary.startswith("3 full reports")
    assert ctx.matrix is not None and "CXR2,test," in ctx.matrix.read_text(encoding="utf-8")
