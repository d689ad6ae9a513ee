"""``mcrag eval`` finds its benchmarks through the ``mcrag.benchmarks`` entry-point group, never by import."""

from __future__ import annotations

import inspect
import json
import sys
import tomllib
from pathlib import Path

import pytest

from mcrag.cli import main
from mcrag.commands import evaluate

ROOT = Path(__file__).resolve().parent.parent


def _register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entries: dict[str, str], name: str) -> None:
    """Install entry points the way pip does: a ``*.dist-info`` folder on ``sys.path``."""
    dist = tmp_path / f"{name}-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[{evaluate.PLUGIN_GROUP}]\n" + "".join(
        f"{k} = {v}\n" for k, v in entries.items()), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))


def _repo_entry_points() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["entry-points"][evaluate.PLUGIN_GROUP]


def _eval(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(["eval", *args])
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def test_pyproject_registers_the_benchmarks_package() -> None:
    from benchmarks import registry

    assert _repo_entry_points() == {"mcrag": "benchmarks.registry"}
    assert registry.BENCHMARKS == {"diagnose": ("pneumoniamnist", "cxr_covid"), "vqa": ("iu_xray", "vqa_rad"),
                                   "report": ("iu_xray",)}
    params = set(inspect.signature(registry.run).parameters)
    assert {"task", "dataset", "data_dir", "models_dir", "out_dir", "modes", "aucs", "progress", "encoder",
            "train_budget_s", "command"} <= params


def test_without_plugins_eval_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(evaluate, "entry_points", lambda group: [])
    code, _, err = _eval(capsys, "--task", "diagnose", "--dataset", "pneumoniamnist")
    assert code == 2
    assert err.strip().count("\n") == 0 and "no benchmarks are installed" in err and evaluate.PLUGIN_GROUP in err


def test_the_repository_plugin_answers_for_its_pairs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _register(tmp_path, monkeypatch, _repo_entry_points(), "mcrag_repo_benchmarks")
    plugins = evaluate.benchmark_plugins()
    assert [p.__name__ for p in plugins].count("benchmarks.registry") == 1
    assert evaluate.plugin_for("vqa", "vqa_rad", plugins).__name__ == "benchmarks.registry"
    code, _, err = _eval(capsys, "--task", "vqa", "--dataset", "pneumoniamnist")
    assert code == 2 and "unknown data set 'pneumoniamnist' for task vqa; use one of iu_xray, vqa_rad" in err
    code, _, err = _eval(capsys, "--task", "segment", "--dataset", "iu_xray")
    assert code == 2 and "unknown task 'segment'" in err


PLUGIN = '''
import json
BENCHMARKS = {"demo": ("tiny",)}
CALLS = []

def run(task, dataset, *, data_dir, models_dir, out_dir, modes, aucs, progress, encoder, train_budget_s, command):
    if not (data_dir / "tiny.txt").is_file():
        raise FileNotFoundError(f"tiny data set not found in {data_dir}")
    result = {"task": task, "dataset": dataset, "modes": {m: {"auc": 0.5 + i / 10} for i, m in enumerate(modes)},
              "notes": ["made by a plugin"], "command": command}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{task}_{dataset}.json").write_text(json.dumps(result))
    CALLS.append(result)
    return result
'''


def test_a_third_party_plugin_runs_through_mcrag_eval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "demo_bench_plugin.py").write_text(PLUGIN, encoding="utf-8")
    _register(tmp_path, monkeypatch, {"demo": "demo_bench_plugin"}, "demo_bench")
    monkeypatch.setenv("MCRAG_HOME", str(tmp_path / "home"))
    data, out = tmp_path / "data", tmp_path / "results"
    data.mkdir()
    code, _, err = _eval(capsys, "--task", "demo", "--dataset", "tiny", "--data-dir", str(data), "-o", str(out))
    assert code == 2 and "tiny data set not found" in err, "a plugin's FileNotFoundError is one line, exit 2"
    (data / "tiny.txt").write_text("x")
    code, printed, _ = _eval(capsys, "--task", "demo", "--dataset", "tiny", "--retrieval", "none,causal",
                             "--data-dir", str(data), "-o", str(out))
    assert code == 0 and "made by a plugin" in printed and "wrote" in printed
    written = json.loads((out / "demo_tiny.json").read_text())
    assert set(written["modes"]) == {"none", "causal"}
    assert written["command"] == "mcrag eval --task demo --dataset tiny --retrieval none,causal"
    assert sys.modules["demo_bench_plugin"].CALLS[-1]["dataset"] == "tiny"


def test_the_registry_names_every_benchmark_and_its_results() -> None:
    """Every benchmark module is in the one registry, and the registry's entries exist with their results."""
    import importlib.util

    from benchmarks.registry import EVALUATIONS, SCRIPTS

    results = ROOT / "docs" / "results"
    for name, script in SCRIPTS.items():
        spec = importlib.util.find_spec(script.module)
        assert spec is not None and spec.origin, name
        assert "def main(" in Path(spec.origin).read_text(encoding="utf-8"), f"{name} has a command line"
        assert all((results / r).is_file() for r in script.results), f"{name}'s committed results are listed"
    for (task, dataset), target in EVALUATIONS.items():
        module, _, fn = target.partition(":")
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin and f"def {fn}(ctx" in Path(spec.origin).read_text(encoding="utf-8")
        assert (results / f"{task}_{dataset}.json").is_file()
    with_command_line = {p.stem for p in (ROOT / "benchmarks").glob("*.py")
                         if p.stem != "__main__" and "def main(" in p.read_text(encoding="utf-8")}
    assert {"bench_store", "eval_mining", "frontend_images", "frontend_shortcuts", "cross_source", "import_sources",
            "curation_workbench"} <= with_command_line
    assert with_command_line == set(SCRIPTS), "a benchmark script that the registry does not list"


def test_registry_run_writes_the_result_and_its_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What every evaluation gets from the registry: its context, the stamped result, the JSON and a plot."""
    from benchmarks import registry

    seen = []

    def fake(ctx: registry.RunContext) -> dict:
        seen.append(ctx)
        return {"modes": {m: {"auc": 0.7, "accuracy": 0.6, "hallucination_rate": 0.1, "traceability_graph": 0.5}
                          for m in ctx.modes}}

    monkeypatch.setitem(sys.modules, "fake_eval_module", type(sys)("fake_eval_module"))
    sys.modules["fake_eval_module"].run = fake  # type: ignore[attr-defined]
    monkeypatch.setitem(registry.EVALUATIONS, ("demo", "tiny"), "fake_eval_module:run")
    monkeypatch.setitem(registry.BENCHMARKS, "demo", ("tiny",))
    out = registry.run("demo", "tiny", data_dir=tmp_path, models_dir=tmp_path / "m", out_dir=tmp_path / "r",
                       modes=("none", "causal"), command="mcrag eval --task demo --dataset tiny")
    assert seen[0].modes == ("none", "causal") and seen[0].train_cap_s is None and seen[0].train_budget_s == 600.0
    assert out["task"] == "demo" and out["command"].startswith("mcrag eval") and "seconds" in out
    assert json.loads((tmp_path / "r" / "demo_tiny.json").read_text())["modes"]["causal"]["auc"] == 0.7
    assert (tmp_path / "r" / "demo_tiny.png").is_file()
    with pytest.raises(registry.BenchmarkError, match="unknown data set 'big' for task demo"):
        registry.run("demo", "big", data_dir=tmp_path, models_dir=tmp_path, out_dir=None)
