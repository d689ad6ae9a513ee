"""Imports flow one way: benchmarks -> mcrag -> vlm -> reasoning -> kg. A layer never imports one above it.

``benchmarks/`` sits above the shell: no product code (kg, reasoning, vlm, mcrag) imports it; ``mcrag
eval`` finds it through the ``mcrag.benchmarks`` entry-point group instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["kg", "reasoning", "vlm", "mcrag", "benchmarks"]
PRODUCT = ORDER[:-1]
_DYNAMIC = {"__import__", "import_module"}


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and (
                getattr(node.func, "id", None) in _DYNAMIC or getattr(node.func, "attr", None) in _DYNAMIC):
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.add(arg.value.split(".")[0])
    return names


@pytest.mark.parametrize("layer", ORDER[:-1])
def test_layer_never_imports_a_layer_above(layer: str) -> None:
    above = set(ORDER[ORDER.index(layer) + 1:])
    offenders = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        bad = imported_top_levels(path) & above
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_no_product_code_imports_benchmarks() -> None:
    offenders = [str(p.relative_to(ROOT)) for layer in PRODUCT for p in sorted((ROOT / layer).rglob("*.py"))
                 if "benchmarks" in imported_top_levels(p)]
    assert not offenders, f"product code imports benchmarks: {offenders}"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


@pytest.mark.parametrize(("part", "forbidden"), [
    ("core", ("kg.mining.reports", "kg.mining.literature", "kg.mining.api")),
    ("reports", ("kg.mining.literature", "kg.mining.api")),
    ("literature", ("kg.mining.reports", "kg.mining.api")),
])
def test_mining_core_is_shared_and_the_miners_stay_apart(part: str, forbidden: tuple[str, ...]) -> None:
    offenders = [f"{p.relative_to(ROOT)} imports {m}" for p in sorted((ROOT / "kg" / "mining" / part).rglob("*.py"))
                 for m in sorted(_imported_modules(p)) if m.startswith(forbidden)]
    assert not offenders, "\n".join(offenders)


def test_checker_sees_upward_imports(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("from vlm.model import X\nimport mcrag.cli\nimport importlib\n"
                   "importlib.import_module('benchmarks.registry')\n__import__('reasoning')\n")
    assert imported_top_levels(bad) == {"vlm", "mcrag", "importlib", "benchmarks", "reasoning"}
