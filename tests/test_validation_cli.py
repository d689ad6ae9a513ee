"""``mcrag validate``, ``mcrag curate ...`` and ``mcrag whatif`` through the real entry point, in process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kg.store import open_store
from mcrag.cli import main
from tests.fixtures.validation.scenario import load_scenario, scenario_frame


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    store = open_store(root / "store")
    load_scenario(store)
    store.close()
    scenario_frame(4000).to_csv(root / "findings.csv", index=False)
    return root


def test_validate_curate_whatif_session(workspace: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    store, data = str(workspace / "store"), str(workspace / "findings.csv")
    code, out, err = run(capsys, "validate", "--data", data, "--store", store, "--refuters", "placebo_treatment",
                         "--simulations", "5", "--jobs", "1", "--json", str(workspace / "run.json"))
    assert code == 0, err
    assert "validated" in out and "not testable" in out and "wrote results to" in out
    summary: dict[str, Any] = json.loads((workspace / "run.json").read_text())
    assert summary["counts"]["validated"] >= 2 and summary["discovery"]["test"] == "chisq"

    code, out, _ = run(capsys, "curate", "queue", "--json", "--store", store)
    items = json.loads(out)
    target = next(i for i in items if "atelectasis" in i["object_label"])
    cid, version = target["claim"].rsplit("/", 1)[-1], str(target["version"])
    code, out, _ = run(capsys, "curate", "show", cid, "--store", store)
    assert code == 0 and "validation" in out and "refuter placebo_treatment" in out

    code, out, err = run(capsys, "curate", "accept", cid, "--curator", "alice", "--reason", "validated", "--version",
                         version, "--store", store)
    assert code == 0, err
    assert "accept by alice" in out
    code, _, err = run(capsys, "curate", "reject", cid, "--curator", "bob", "--reason", "late", "--version",
                       version, "--store", store)
    assert code == 2 and "error:" in err and "reload" in err  # stale version: nothing changed
    code, out, err = run(capsys, "curate", "edit", cid, "--curator", "alice", "--reason", "hedge", "--version",
                         str(int(version) + 1), "--certainty", "possible", "--store", store)
    assert code == 0, err
    code, out, err = run(capsys, "curate", "undo", cid, "--curator", "alice", "--reason", "back", "--store", store)
    assert code == 0, err
    code, out, _ = run(capsys, "curate", "history", cid, "--json", "--store", store)
    assert [r["action"] for r in json.loads(out)] == ["validate", "accept", "edit", "undo"]
    code, _, err = run(capsys, "curate", "accept", "ffffffffffffffffffff", "--curator", "a", "--reason", "r",
                       "--version", "1", "--store", store)
    assert code == 2 and "no causal claim" in err

    code, out, err = run(capsys, "curate", "export", str(workspace / "g.dot"), "--store", store)
    assert code == 0, err
    assert (workspace / "g.dot").read_text().startswith("digraph")
    code, out, err = run(capsys, "curate", "render", str(workspace / "g.svg"), "--center", "Effusion", "--store", store)
    assert code == 0, err
    assert (workspace / "g.svg").stat().st_size > 1000

    code, out, err = run(capsys, "whatif", "--data", data, "--do", "Effusion=1", "--outcome", "Atelectasis",
                         "--store", store)
    assert code == 0, err
    assert "E[atelectasis | do(pleural effusion=1)]" in out
    code, out, err = run(capsys, "whatif", "--data", data, "--do", "Effusion=0", "--case-id", "CXR7",
                         "--json", "--store", store)
    assert code == 0, err
    assert json.loads(out)["intervention"] == {"pleural effusion": 0.0}
    code, _, err = run(capsys, "whatif", "--data", data, "--do", "Effusion", "--outcome", "Atelectasis",
                       "--store", store)
    assert code == 2 and "NAME=VALUE" in err


def test_missing_data_file_is_a_user_error(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", "--data", str(workspace / "nope.csv"), "--store", str(workspace / "store"))
    assert code == 2 and "not found" in err
    code, _, err = run(capsys, "curate", "accept", "abcdef12", "--reason", "r", "--version", "1",
                       "--store", str(workspace / "store"))
    assert code == 2 and ("curator" in err)
