"""The main job on a machine without the data folder: it runs what installed packages serve and skips the rest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcrag.commands import pipeline
from mcrag.datasets.locate import availability_in


def _stand_ins(steps: list[pipeline.Step], calls: list[str], *, all_steps: bool = False) -> list[pipeline.Step]:
    """Steps whose work is replaced by a recorder (every step with data needs, or all of them)."""

    def recorder(key: str):  # type: ignore[no-untyped-def]
        def run(ctx: pipeline.PipelineContext) -> str:
            calls.append(key)
            return f"{key} stand-in"
        return run

    return [replace(s, run=recorder(s.key)) if (all_steps or s.needs) else s for s in steps]


def _expected_to_run(steps: list[pipeline.Step], data_dir: Path) -> list[str]:
    ran: set[str] = set()
    out = []
    for s in steps:
        if all(a in ran for a in s.after) and all(availability_in(data_dir, n).present for n in s.needs):
            ran.add(s.key)
            out.append(s.key)
    return out


def _run(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    from mcrag.cli import app

    for var in ("MCRAG_STORE", "MCRAG_UPDATE_URL", "MCRAG_GSP_URL", "MCRAG_VLM_MODEL", "MCRAG_VLM_INDEX"):
        monkeypatch.delenv(var, raising=False)
    env = {"MCRAG_DATA_DIR": str(data_dir), "MCRAG_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["pipeline"], env=env)
    return result.exit_code, result.output


def test_the_main_job_without_a_data_folder_ends_green_with_a_summary(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "data"
    empty.mkdir()
    calls: list[str] = []
    steps = _stand_ins(pipeline.STEPS, calls)
    monkeypatch.setattr(pipeline, "STEPS", steps)
    code, out = _run(tmp_path, empty, monkeypatch)
    assert code == 0, out
    # the steps that need no data ran for real (store, starter graph, SPARQL)
    assert "8 two-hop causal paths" in out and (tmp_path / "home" / "store").is_dir()
    # a step runs only when every set it needs is located (packages such as torchxrayvision count)
    assert calls == [k for k in _expected_to_run(steps, empty) if any(s.key == k and s.needs for s in steps)]
    skipped = [line for line in out.splitlines() if line.strip().startswith("skipped:")]
    assert len(skipped) == len(steps) - len(_expected_to_run(steps, empty))
    # every step skipped for lack of data names each missing set and how to get it
    for s in steps:
        missing = [n for n in s.needs if not availability_in(empty, n).present]
        if missing and all(a in _expected_to_run(steps, empty) for a in s.after):
            line = next(x for x in skipped if f"needs {', '.join(missing)}" in x)
            assert any(f"`mcrag data fetch {n}`" in line for n in missing), line
    assert "main job: what ran and what was skipped" in out
    ran = len(_expected_to_run(steps, empty))
    assert f"{ran} steps ran, {len(steps) - ran} skipped" in out
    assert list(empty.iterdir()) == []  # nothing was written into the data folder


@pytest.mark.shared_data
def test_with_the_data_folder_every_step_runs(shared_data: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(pipeline, "STEPS", _stand_ins(pipeline.STEPS, calls, all_steps=True))
    code, out = _run(tmp_path, shared_data, monkeypatch)
    assert code == 0, out
    assert calls == [s.key for s in pipeline.STEPS] and "skipped:" not in out


def test_a_step_after_a_skipped_step_is_skipped_with_the_reason(tmp_path: Path) -> None:
    from mcrag.settings import Settings

    calls: list[str] = []
    steps = _stand_ins([
        pipeline.Step("a", "needs absent data", pipeline.step_two_hop, needs=("vqa_rad",)),
        pipeline.Step("b", "builds on a", pipeline.step_two_hop, after=("a",)),
        pipeline.Step("c", "needs nothing", pipeline.step_two_hop),
    ], calls, all_steps=True)
    ctx = pipeline.PipelineContext(Settings(home=tmp_path, data_dir=tmp_path / "none"), store=None, sample=1)  # type: ignore[arg-type]
    outcomes = pipeline.run_steps(ctx, steps)
    assert [(o.step.key, o.ran) for o in outcomes] == [("a", False), ("b", False), ("c", True)]
    assert outcomes[0].missing == ["vqa_rad"] and "step a" in outcomes[1].detail and calls == ["c"]


def test_the_vlm_steps_declare_the_sets_the_model_trains_on() -> None:
    from vlm.data import SOURCES

    assert set(pipeline.VLM_SOURCES) == set(SOURCES)
