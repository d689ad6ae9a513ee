"""Mining into the store: provenance queryable by SPARQL, idempotent re-runs, summaries, the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg.mining.api import mine_reports
from kg.namespaces import NAMED_GRAPHS

FIX = Path(__file__).parent / "fixtures" / "mining"

CLAIMS_WITH_OFFSETS = """
SELECT ?c ?s ?start ?end ?doc WHERE {
  ?c a mcrag:CausalClaim ; mcrag:sentence ?s ;
     prov:wasDerivedFrom ?span .
  ?span oa:hasSelector ?sel ; oa:hasSource ?d .
  ?sel oa:start ?start ; oa:end ?end .
  ?d dcterms:identifier ?doc .
} ORDER BY ?doc ?start
"""


def test_report_claims_land_with_sentence_offsets_and_rerun_adds_nothing(memory_store) -> None:
    first = mine_reports(memory_store, FIX / "annotation.json", batch_size=2)
    assert first.documents == 4 and first.skipped == 1 and first.skipped_reasons == {"empty document": 1}
    assert first.claims_added >= 2 and first.claims_added == first.claims_found and first.batches == 2
    rows = memory_store.select(CLAIMS_WITH_OFFSETS)
    assert len(rows) == first.claims_added
    texts = {r["doc"]: r for r in rows}
    assert "secondary to" in texts["CXR1_1_IM-0001"]["s"]
    assert int(texts["CXR1_1_IM-0001"]["end"]) > int(texts["CXR1_1_IM-0001"]["start"]) >= 0
    size = memory_store.count()
    second = mine_reports(memory_store, FIX / "annotation.json", batch_size=3)
    assert second.claims_added == 0 and second.claims_existing == first.claims_added
    assert memory_store.count() == size
    assert NAMED_GRAPHS["reports"] in memory_store.named_graphs()
    prov = memory_store.select("SELECT ?agent ?t WHERE { ?c a mcrag:CausalClaim ; prov:wasGeneratedBy ?a . "
                               "?a prov:wasAssociatedWith ?agent ; prov:endedAtTime ?t }")
    assert prov and all(r["agent"] and r["t"] for r in prov)


def test_new_documents_are_added_incrementally(memory_store, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a.txt").write_text("Atelectasis secondary to effusion.", encoding="utf-8")
    one = mine_reports(memory_store, folder)
    (folder / "b.txt").write_text("Edema due to congestive heart failure.", encoding="utf-8")
    two = mine_reports(memory_store, folder)
    assert one.claims_added == 1 and two.claims_added == 1 and two.claims_existing == 1


def test_claims_pass_the_shacl_shapes(memory_store) -> None:
    from kg.check import check_store

    mine_reports(memory_store, FIX / "annotation.json")
    report = check_store(memory_store, graphs=[NAMED_GRAPHS["reports"]], owl=False, shacl=True)
    assert report.conforms, report.violations


def test_cli_mines_reports_and_reports_bad_paths(tmp_path: Path, capsys) -> None:
    from mcrag.cli import main

    store = tmp_path / "store"
    matrix = tmp_path / "m.csv"
    with pytest.raises(SystemExit) as ok:
        main(["mine", "reports", str(FIX / "annotation.json"), "--store", str(store), "--matrix", str(matrix),
              "--no-progress", "--json", "--labeler-dir", str(tmp_path)])
    assert ok.value.code == 0
    out = capsys.readouterr().out
    assert '"claims_added"' in out and matrix.is_file()
    with pytest.raises(SystemExit) as bad:
        main(["mine", "reports", str(tmp_path / "missing.json"), "--store", str(store)])
    assert bad.value.code == 2
    with pytest.raises(SystemExit) as no_model:
        main(["mine", "literature", str(FIX / "sample.pubtator"), "--store", str(store),
              "--model-dir", str(tmp_path / "nomodel")])
    assert no_model.value.code == 2
    shutil.rmtree(store)
