"""Settings are read in one place and passed down; imports are plain and free of cycles."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from mcrag.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("kg", "reasoning", "vlm", "mcrag")
SETS_ENVIRONMENT_ON_ITS_OWN: set[str] = set()
"""Modules that still touch the environment themselves; the test fails when this list is longer or
shorter than the truth."""


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PRODUCT:
        for p in (ROOT / pkg).rglob("*.py"):
            rel = p.relative_to(ROOT).with_suffix("")
            out[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = p
    return out


def _touches_environment(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            return True
    return False


def test_only_the_settings_module_reads_the_environment() -> None:
    touching = {str(p.relative_to(ROOT)) for p in _modules().values() if _touches_environment(p)}
    assert touching - {"mcrag/settings.py"} == SETS_ENVIRONMENT_ON_ITS_OWN


def test_the_vlm_settings_come_from_the_one_settings_object(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("MCRAG_VLM_MODEL", "MCRAG_VLM_INDEX", "MCRAG_RETRIEVAL", "MCRAG_VLM_THREADS", "MCRAG_CURATOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MCRAG_HOME", str(tmp_path))
    vs = load_settings().vlm()
    assert (vs.model_dir, vs.index_dir, vs.cache_dir) == (tmp_path / "models" / "vlm-default",
                                                          tmp_path / "index" / "exemplars", tmp_path / "cache")
    assert (vs.retrieval, vs.threads) == ("causal", 1)
    monkeypatch.setenv("MCRAG_VLM_MODEL", str(tmp_path / "m"))
    monkeypatch.setenv("MCRAG_RETRIEVAL", "semantic")
    monkeypatch.setenv("MCRAG_VLM_THREADS", "3")
    monkeypatch.setenv("MCRAG_CURATOR", "alice")
    settings = load_settings()
    vs = settings.vlm()
    assert (vs.model_dir, vs.retrieval, vs.threads, settings.curator) == (tmp_path / "m", "semantic", 3, "alice")
    monkeypatch.setenv("MCRAG_RETRIEVAL", "magic")
    with pytest.raises(ValueError, match="retrieval mode"):
        load_settings().vlm()
    monkeypatch.setenv("MCRAG_VLM_THREADS", "many")
    with pytest.raises(ValueError, match="MCRAG_VLM_THREADS"):
        load_settings()


def test_importing_the_vlm_layer_leaves_the_environment_alone() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM")}
    code = ("import os; before = dict(os.environ); import vlm.encoders, vlm.config, vlm.index, vlm.grounding; "
            "print(sorted(set(os.environ) ^ set(before)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_no_import_cycles_in_the_product() -> None:
    """Counting imports inside functions too: a lazy import that closes a loop still hides a tangle."""
    mods = _modules()
    g = nx.DiGraph()
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            g.add_edges_from((name, t) for t in targets if t in mods and t != name)
    assert list(nx.simple_cycles(g)) == []


def test_commands_and_routes_are_plain_imports() -> None:
    """``__import__`` loaders that skip a missing module hide a broken install: none are left."""
    offenders = []
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
