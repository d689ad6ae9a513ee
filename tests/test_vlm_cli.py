"""``mcrag train-vlm``, ``mcrag index build`` and ``mcrag infer`` from the shell: end to end and bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mcrag.cli import main
from tests.fixtures.vlm.builders import make_iu_xray, png_with_size, tiny_assets, write_png


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def files_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")} if path.exists() else set()


@pytest.fixture()
def env(tmp_path, monkeypatch):
    a = tiny_assets()
    home = tmp_path / "home"
    monkeypatch.setenv("MCRAG_HOME", str(home))
    monkeypatch.setenv("MCRAG_DATA_DIR", str(a["data"]))
    monkeypatch.setenv("MCRAG_VLM_MODEL", str(a["model"]))
    monkeypatch.setenv("MCRAG_VLM_INDEX", str(a["index"]))
    for var in ("MCRAG_STORE", "MCRAG_RETRIEVAL"):
        monkeypatch.delenv(var, raising=False)
    return {"home": home, "tmp": tmp_path, **a}


@pytest.mark.slow
def test_infer_prints_the_answer_with_its_evidence(env, capsys):
    img = env["iu_xray"] / "images" / "CXR2_1_IM-0002" / "0.png"
    code, out, _ = run(["infer", "--image", str(img), "--task", "diagnose", "--retrieval", "causal"], capsys)
    assert code == 0
    assert "Answer:" in out and "Exemplars" in out and "starter graph" in out
    code, out, _ = run(["infer", "--image", str(img), "--task", "report", "--retrieval", "causal", "--json",
                        "--findings", "Effusion=0.9"], capsys)
    data = json.loads(out)
    assert code == 0 and data["front_end"] == "injected" and data["subgraph"]["edges"]
    edge = data["subgraph"]["edges"][0]
    assert {"claim_id", "status", "effect", "sources"} <= set(edge)
    assert data["counterfactuals"] and data["exemplars"]
    code, out, _ = run(["infer", "--image", str(img), "--task", "vqa", "--question", "Is the heart enlarged?",
                        "--retrieval", "semantic", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["question"] == "Is the heart enlarged?" and data["subgraph"] is None


@pytest.mark.parametrize("args,match", [
    (["--task", "summarise"], "unknown task"),
    (["--retrieval", "fuzzy"], "unknown retrieval mode"),
    (["--task", "vqa"], "non-empty --question"),
    (["--task", "vqa", "--question", "  "], "non-empty --question"),
    (["--findings", "Effusion=2"], r"\[0, 1\]"),
    (["--view", "lateral"], "unknown view"),
])
def test_bad_options_exit_2_and_write_nothing(env, capsys, args, match):
    img = write_png(env["tmp"] / "ok.png")
    before = files_under(env["tmp"])
    code, out, err = run(["infer", "--image", str(img), *args], capsys)
    assert code == 2 and out == ""
    assert re.search(match, err)
    assert files_under(env["tmp"]) == before


@pytest.mark.parametrize("kind", ["truncated", "text", "bomb", "missing"])
def test_bad_images_exit_2_and_write_nothing(env, capsys, kind):
    path = env["tmp"] / f"{kind}.png"
    if kind == "truncated":
        data = write_png(env["tmp"] / "full.png", size=(120, 120)).read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "text":
        path.write_text("patient notes, not a radiograph")
    elif kind == "bomb":
        png_with_size(path, 90_000, 90_000)
    before = files_under(env["tmp"])
    code, out, err = run(["infer", "--image", str(path)], capsys)
    assert code == 2 and out == "" and str(path.name) in err
    assert files_under(env["tmp"]) == before


def test_missing_model_and_index_name_the_command_that_builds_them(env, capsys, monkeypatch):
    img = write_png(env["tmp"] / "ok.png")
    monkeypatch.setenv("MCRAG_VLM_MODEL", str(env["tmp"] / "no-model"))
    code, _, err = run(["infer", "--image", str(img), "--retrieval", "none"], capsys)
    assert code == 2 and "mcrag train-vlm" in err
    monkeypatch.setenv("MCRAG_VLM_MODEL", str(env["model"]))
    monkeypatch.setenv("MCRAG_VLM_INDEX", str(env["tmp"] / "no-index"))
    code, _, err = run(["infer", "--image", str(img), "--retrieval", "causal"], capsys)
    assert code == 2 and "mcrag index build" in err
    code, out, _ = run(["infer", "--image", str(img), "--retrieval", "none"], capsys)
    assert code == 0 and "Answer:" in out
    code, _, err = run(["index", "build", "--model", str(env["tmp"] / "no-model"), "--out", str(env["tmp"] / "i")],
                       capsys)
    assert code == 2 and "mcrag train-vlm" in err and not (env["tmp"] / "i").exists()
    code, _, err = run(["train-vlm", "--data-dir", str(env["tmp"] / "no-data")], capsys)
    assert code == 2 and "not found" in err
    code, _, err = run(["train-vlm", "--sources", "mimic"], capsys)
    assert code == 2 and "unknown source" in err


@pytest.mark.slow
def test_fresh_checkout_flow_train_index_infer(tmp_path, capsys, monkeypatch):
    """train-vlm -> index build -> infer in each mode, on a generated IU-Xray folder with images."""
    data = tmp_path / "data"
    make_iu_xray(data / "iu_xray")
    monkeypatch.setenv("MCRAG_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("MCRAG_DATA_DIR", str(data))
    for var in ("MCRAG_VLM_MODEL", "MCRAG_VLM_INDEX", "MCRAG_STORE", "MCRAG_RETRIEVAL"):
        monkeypatch.delenv(var, raising=False)
    code, out, err = run(["train-vlm", "--sources", "iu_xray", "--max-steps", "2", "--epochs", "1", "--lm-epochs", "1"],
                         capsys)
    assert code == 0, err
    model = tmp_path / "var" / "models" / "vlm-default"
    assert (model / "config.json").is_file() and (model / "training_curve.png").stat().st_size > 1000
    assert "training curve" in out
    report = json.loads((model / "train_report.json").read_text())
    assert report["config"]["max_steps"] == 2 and len(report["history"]["vision_train_loss"]) == 2
    code, out, err = run(["index", "build", "--sources", "iu_xray"], capsys)
    assert code == 0, err
    assert (tmp_path / "var" / "index" / "exemplars" / "index.faiss").is_file()
    img = data / "iu_xray" / "images" / "CXR4_1_IM-0004" / "0.png"
    for mode in ("none", "semantic", "causal"):
        code, out, err = run(["infer", "--image", str(img), "--task", "diagnose", "--retrieval", mode, "--json"], capsys)
        assert code == 0, err
        r = json.loads(out)
        assert r["retrieval"] == mode and r["answer"]
        assert bool(r["exemplars"]) == (mode != "none")
        assert (r["subgraph"] is not None) == (mode == "causal")
