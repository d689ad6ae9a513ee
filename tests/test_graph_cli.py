"""``mcrag graph learn`` end to end on tiny sources in the real files' layout, and its bad-input errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cxr_fixtures import write_all


@pytest.fixture()
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for var in ("MCRAG_STORE", "MCRAG_UPDATE_URL", "MCRAG_GSP_URL"):
        monkeypatch.delenv(var, raising=False)
    return {"MCRAG_HOME": str(tmp_path / "home"), "MCRAG_DATA_DIR": str(tmp_path / "nodata"), "COLUMNS": "200"}


def test_learn_imports_into_home_and_writes_a_run(tmp_path: Path, env: dict[str, str]) -> None:
    from mcrag.cli import app

    data = write_all(tmp_path / "cxr")
    runner = CliRunner()
    assert runner.invoke(app, ["kg", "init"], env=env).exit_code == 0
    r = runner.invoke(app, ["graph", "learn", "--data", str(data), "--no-per-source-discovery"], env=env)
    assert r.exit_code == 0, r.output
    for s in ("padchest", "nih", "chexpert", "vindr", "iu_xray"):
        assert (tmp_path / "home" / "matrices" / "cxr_labels" / f"{s}.parquet").is_file()
    assert "claims:" in r.output and "studies per source" in r.output


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from mcrag.cli import main

    for k, v in env.items():
        monkeypatch.setenv(k, v)

    def run(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as exit_:
            main(list(args))
        err = capsys.readouterr().err
        return int(exit_.value.code or 0), err

    assert run("kg", "init")[0] == 0
    code, err = run("graph", "learn", "--sources", "padchest,mimic")
    assert code == 2 and "unknown source(s) mimic" in err and len(err.strip().splitlines()) == 1
    code, err = run("graph", "learn", "--sample", "5", "--data", str(tmp_path))
    assert code == 2 and "too small" in err
    code, err = run("graph", "learn", "--data", str(tmp_path / "absent"))
    assert code == 2 and "folder not found" in err


def test_whatif_says_in_one_line_that_zero_co_occurrences_give_no_effect(tmp_path: Path, env: dict[str, str],
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    import pandas as pd

    from mcrag.cli import main

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    rng = np.random.default_rng(0)
    emph = (rng.random(3000) < 0.05).astype(int)
    ptx = np.where(emph == 1, 0, (rng.random(3000) < 0.01).astype(int))
    table = tmp_path / "labels.csv"
    pd.DataFrame({"report_id": range(3000), "Emphysema": emph, "Pneumothorax": ptx}).to_csv(table, index=False)
    with pytest.raises(SystemExit) as init:
        main(["kg", "init"])
    assert init.value.code == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as run:
        main(["whatif", "--data", str(table), "--do", "Emphysema=1", "--outcome", "Pneumothorax"])
    out = capsys.readouterr().out
    assert run.value.code == 0
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1 and "not estimable: 0 studies with both" in lines[0] and "effect" not in lines[0].split(":")[0]
