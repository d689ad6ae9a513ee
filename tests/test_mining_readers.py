"""Readers: every supported format, and bad input skipped with a reason instead of stopping."""

from __future__ import annotations

import json
from pathlib import Path

from kg.mining.core.documents import Document, Skipped
from kg.mining.core.readers import iter_literature_documents, iter_report_documents, parse_pubtator
from kg.mining.literature.obo import read_obo

FIX = Path(__file__).parent / "fixtures" / "mining"


def _docs(items: list) -> list[Document]:
    return [i for i in items if isinstance(i, Document)]


def test_annotation_json_keeps_ids_splits_and_skips_empty_reports() -> None:
    items = list(iter_report_documents(FIX / "annotation.json"))
    docs = _docs(items)
    assert [d.doc_id for d in docs] == ["CXR1_1_IM-0001", "CXR2_1_IM-0002", "CXR3_1_IM-0003", "CXR4_1_IM-0004"]
    assert [d.split for d in docs] == ["train", "train", "val", "test"]
    assert docs[0].source == "mining" and docs[0].meta_value("n_images") == "2"
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert len(skipped) == 1 and "empty" in skipped[0].reason and "CXR5" in skipped[0].where


def test_openi_xml_csv_and_text_reports() -> None:
    (xml,) = _docs(list(iter_report_documents(FIX / "openi_report.xml")))
    assert xml.doc_id == "CXR9"
    assert xml.text.splitlines()[2].startswith("FINDINGS: Large right pleural effusion")
    rows = _docs(list(iter_report_documents(FIX / "reports.csv")))
    assert [(d.doc_id, d.split) for d in rows] == [("R1", "train"), ("R2", "test")]
    folder = list(iter_report_documents(FIX / "reports_folder"))
    assert [d.doc_id for d in _docs(folder)] == ["r10", "r11"]
    assert [s.reason for s in folder if isinstance(s, Skipped)] == ["empty document"]


def test_bad_files_are_skipped_with_their_reason(tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes("Pneumothorax \xe9tendu".encode("latin-1"))
    (tmp_path / "broken.json").write_text('{"train": [', encoding="utf-8")
    (tmp_path / "broken.xml").write_text("<eCitation><uId id='X'/>", encoding="utf-8")
    (tmp_path / "big.txt").write_text("effusion " * 50, encoding="utf-8")
    (tmp_path / "ok.txt").write_text("Small effusion.", encoding="utf-8")
    items = list(iter_report_documents(tmp_path, max_chars=200))
    reasons = {Path(i.where).name.split(":")[0] if "/" in i.where else i.where: i.reason
               for i in items if isinstance(i, Skipped)}
    assert any("not UTF-8" in r for r in reasons.values())
    assert any("malformed JSON" in r for r in reasons.values())
    assert any("malformed XML" in r for r in reasons.values())
    assert any("enormous" in r for r in reasons.values())
    assert [d.doc_id for d in _docs(items)] == ["ok"]


def test_pubtator_offsets_mentions_and_relations() -> None:
    docs = _docs(list(iter_literature_documents(FIX / "sample.pubtator")))
    assert [d.doc_id for d in docs] == ["9001", "9002", "9003"]
    d = docs[0]
    assert d.title_end == len("Clonidine-induced hypotension in rats.")
    assert ("MESH:D003000", "MESH:D007022") in d.relations
    for m in d.mentions:
        assert d.text[m.start:m.end] == m.text
        assert m.ids and m.ids[0].startswith("MESH:D")


def test_pubtator_block_with_wrong_offsets_is_skipped() -> None:
    text = "1|t|Aspirin ulcer.\n1|a|Text.\n1\t0\t5\tAspirin\tChemical\tD001241\n\n2|t|Fine.\n2|a|Ok."
    items = list(parse_pubtator(text, "x"))
    assert isinstance(items[0], Skipped) and "does not match" in items[0].reason
    assert isinstance(items[1], Document) and items[1].doc_id == "2"


def test_pubmed_xml_and_json_abstracts(tmp_path: Path) -> None:
    items = list(iter_literature_documents(FIX / "pubmed.xml"))
    (doc,) = _docs(items)
    assert doc.doc_id == "1234" and doc.text.startswith("Amiodarone-induced pulmonary fibrosis. BACKGROUND:")
    assert any(isinstance(i, Skipped) and "PMID" in i.reason for i in items)
    items = list(iter_literature_documents(FIX / "abstracts.json"))
    assert [d.doc_id for d in _docs(items)] == ["555"]
    assert any(isinstance(i, Skipped) for i in items)
    qa = tmp_path / "pqa.json"
    qa.write_text(json.dumps({"77": {"QUESTION": "q?", "CONTEXTS": ["Drug X caused rash.", "More."]}}), encoding="utf-8")
    (d,) = _docs(list(iter_literature_documents(qa)))
    assert d.doc_id == "77" and d.text == "Drug X caused rash. More."


def test_obo_reader_names_synonyms_xrefs_and_obsolete_terms() -> None:
    terms = list(read_obo(FIX / "mini.obo"))
    assert [t.id for t in terms] == ["DOID:1234", "DOID:999"]
    assert terms[0].synonyms == (("toxic hepatitis", "EXACT"),)
    assert terms[0].xrefs_with("MSH") == ["MSH:D056486"]
    assert terms[1].obsolete
    (seizure, _) = list(read_obo(FIX / "mini_hp.obo"))
    assert seizure.parents == ("HP:0012638",) and ("Fits", "RELATED") in seizure.synonyms


def test_medquad_page_is_one_document_with_a_section_per_answer() -> None:
    (doc,) = _docs(list(iter_literature_documents(FIX / "medquad_page.xml")))
    assert doc.doc_id == "NHLBI-0000042" and doc.source == "medquad_nhlbi" and doc.title_end == len("Heart Failure")
    assert doc.meta_value("focus") == "Heart Failure" and doc.meta_value("url").endswith("/hf")
    assert [name for name, _, _ in doc.sections] == ["information", "causes"]  # the empty answer is left out
    causes = doc.text[doc.sections[1][1]:doc.sections[1][2]]
    assert causes == "Coronary heart disease leads to heart failure.\nOther causes include:\nHigh blood pressure\nDiabetes"
    info = doc.text[doc.sections[0][1]:doc.sections[0][2]]
    assert "Overview" not in info and info.endswith("Heart failure causes fluid to build up in the lungs.")
    at = doc.text.index("Coronary")
    assert doc.section_at(at) == "causes" and doc.section_at(doc.text.index("fluid")) == "information"


def test_a_medquad_page_whose_root_is_disease_file_is_read_as_a_page(tmp_path: Path) -> None:
    """One CDC page of MedQuAD has ``<DiseaseFile fid=...>`` as its root instead of ``<Document id=...>``."""
    page = tmp_path / "cdc" / "0000397.xml"
    page.parent.mkdir()
    page.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<DiseaseFile fid="0000397" source="CDC" url="u">\n'
                    "<Focus>Parasites - Taeniasis</Focus>\n<QAPairs><QAPair pid=\"1\">"
                    '<Question qid="0000397-1" qtype="causes">What causes it ?</Question>'
                    "<Answer>Taeniasis is caused by the beef tapeworm.</Answer></QAPair></QAPairs></DiseaseFile>\n",
                    encoding="utf-8")
    (doc,) = _docs(list(iter_literature_documents(page)))
    assert doc.doc_id == "CDC-0000397" and doc.title_end == len("Parasites - Taeniasis")
    assert [(n, doc.text[s:e]) for n, s, e in doc.sections] == [("causes", "Taeniasis is caused by the beef tapeworm.")]


def test_pubmedqa_contexts_become_labelled_sections_with_the_long_answer_last(tmp_path: Path) -> None:
    qa = tmp_path / "pqa.json"
    qa.write_text(json.dumps({"9": {"QUESTION": "Does X cause Y?", "CONTEXTS": ["We studied X.", "X caused Y."],
                                    "LABELS": ["BACKGROUND", "RESULTS"], "LONG_ANSWER": "X causes Y."}}),
                  encoding="utf-8")
    (d,) = _docs(list(iter_literature_documents(qa)))
    assert d.text == "We studied X. X caused Y. X causes Y." and d.title_end == 0
    assert [(n, d.text[s:e]) for n, s, e in d.sections] == [("background", "We studied X."), ("results", "X caused Y."),
                                                           ("conclusions", "X causes Y.")]
