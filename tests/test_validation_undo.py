"""Validation never wipes a verdict with "no data here", refuses data that bind to no claim, and its
status moves are acts that ``undo`` reverts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kg import curation
from kg.ontology import load_ontology
from kg.store import open_store
from mcrag.cli import main
from reasoning.validate import validate_store
from tests.fixtures.validation.scenario import load_scenario, scenario_frame

FAST = {"discovery": "none", "refuters": (), "simulations": 5}


def _statuses(store: Any) -> dict[str, tuple[str, str]]:
    rows = store.select("SELECT ?c ?s ?v WHERE { ?c a mcrag:CausalClaim ; mcrag:status ?s ; mcrag:version ?v }")
    return {r["c"]: (r["s"], r["v"]) for r in rows}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture()
def store_dir(tmp_path: Path) -> Path:
    store = open_store(tmp_path / "store")
    load_ontology(store)
    load_scenario(store)
    store.close()
    return tmp_path / "store"


@pytest.mark.parametrize("table", [
    pd.DataFrame({"age": [34, 51, 70, 45], "sex": [0, 1, 1, 0]}),  # no column names a concept of the graph
    pd.DataFrame({"Effusion": [], "Atelectasis": [], "Edema": []}),  # only a header
], ids=["unrelated-columns", "header-only"])
def test_data_that_bind_to_no_claim_are_refused_and_nothing_changes(store_dir: Path, tmp_path: Path, table: Any,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.csv"
    table.to_csv(data, index=False)
    store = open_store(store_dir)
    before_count, before = store.count(), _statuses(store)
    store.close()
    code, _, err = _run(capsys, "validate", "--data", str(data), "--store", str(store_dir), "--discovery", "none",
                        "--refuters", "")
    assert code == 2
    assert err.startswith("error:") and "claim" in err and "Traceback" not in err
    store = open_store(store_dir)
    assert store.count() == before_count and _statuses(store) == before
    store.close()


def test_absent_data_never_overwrite_an_earlier_verdict() -> None:
    store = open_store(":memory:")
    claims = load_scenario(store)
    effusion = next(c.iri for c in claims if c.subject.label == "pleural effusion")
    validate_store(store, scenario_frame(3000), **FAST)
    detail = curation.claim_detail(store, effusion)
    assert detail.status == "validated"
    latest = detail.latest_validation
    # a later table that measures other findings, but neither pleural effusion nor atelectasis
    other = scenario_frame(3000).drop(columns=["Effusion", "Atelectasis"])
    run = validate_store(store, other, **FAST)
    (v,) = [v for v in run.claims if v.claim == effusion]
    assert v.verdict == "notTestable" and v.reason.startswith("no data column")
    after = curation.claim_detail(store, effusion)
    assert (after.status, after.version) == ("validated", detail.version), "absent data leave the claim as it was"
    assert after.latest_validation == latest
    assert all(h.action != "validate" or h.time <= latest.time for h in after.history)  # type: ignore[union-attr]


def test_a_validation_status_move_is_an_act_that_undo_reverts() -> None:
    store = open_store(":memory:")
    claims = load_scenario(store)
    effusion = next(c.iri for c in claims if c.subject.label == "pleural effusion")
    run = validate_store(store, scenario_frame(3000), **FAST)
    trail = curation.history(store, effusion)
    (move,) = [r for r in trail if r.action == "validate"]
    assert (move.previous_status, move.new_status, move.from_version, move.to_version) == ("proposed", "validated", 1, 2)
    assert [(c.field, c.old, c.new) for c in move.changes] == [
        ("status", "<https://w3id.org/mcrag#proposed>", "<https://w3id.org/mcrag#validated>")]
    assert move.agent == "mcrag validate" and move.informed_by == run.activity

    und = curation.undo(store, effusion, "alice", "re-check on cleaner labels")
    assert und.undoes == move.activity
    assert (curation.claim_detail(store, effusion).status, und.to_version) == ("proposed", 3)
    # the result stays attached: the data said what they said
    assert curation.claim_detail(store, effusion).latest_validation is not None


def test_undoing_a_run_puts_back_every_status_it_moved_and_keeps_later_curation() -> None:
    store = open_store(":memory:")
    claims = load_scenario(store)
    before = _statuses(store)
    run = validate_store(store, scenario_frame(3000), **FAST)
    moved = [v.claim for v in run.claims if v.new_status != v.previous_status]
    assert len(moved) >= 3
    kept_by_curator = moved[0]
    version = curation.claim_detail(store, kept_by_curator).version
    curation.reject(store, kept_by_curator, "bob", "wrong direction", version)
    result = curation.undo_run(store, run.activity, "alice", "the table was the wrong export")
    assert {r.claim for r in result.undone} == set(moved) - {kept_by_curator}
    assert set(result.kept) == {kept_by_curator} and "later act" in result.kept[kept_by_curator]
    after = _statuses(store)
    for c in moved[1:]:
        assert after[c][0] == before[c][0]
    assert after[kept_by_curator][0].endswith("rejected")
    assert {c.iri for c in claims} == set(after)


def test_the_cli_names_the_run_and_puts_it_back(store_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "findings.csv"
    scenario_frame(3000).to_csv(data, index=False)
    store = open_store(store_dir)
    before = _statuses(store)
    store.close()
    code, out, err = _run(capsys, "validate", "--data", str(data), "--store", str(store_dir), "--discovery", "none",
                          "--refuters", "")
    assert code == 0, err
    assert "2 claim(s) left as they were" in out
    run_id = out.split("mcrag curate undo-run ", 1)[1].split()[0]
    code, out, err = _run(capsys, "curate", "undo-run", run_id, "--curator", "alice", "--reason", "wrong table",
                          "--store", str(store_dir))
    assert code == 0, err
    assert "status move(s) put back, 0 kept" in out
    store = open_store(store_dir)
    assert {c: s for c, (s, _) in _statuses(store).items()} == {c: s for c, (s, _) in before.items()}
    store.close()
    code, _, err = _run(capsys, "curate", "undo-run", "20000101T000000Z-00000000", "--curator", "alice",
                        "--reason", "r", "--store", str(store_dir))
    assert code == 2 and "no validation run" in err


@pytest.mark.slow
def test_store_checks_pass_after_a_run_and_its_undo() -> None:
    from kg.check import check_store

    store = open_store(":memory:")
    load_ontology(store)
    load_scenario(store)
    run = validate_store(store, scenario_frame(3000), **FAST)
    curation.undo_run(store, run.activity, "alice", "wrong table")
    report = check_store(store, owl=True, shacl=True)
    assert report.ok, [str(v) for v in report.violations]
