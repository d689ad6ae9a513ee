"""The graph's schema has one owner: namespaces in kg/namespaces.py, claim SPARQL in kg."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

VOCABULARIES = ("http://www.w3.org/ns/prov#", "http://www.w3.org/2004/02/skos/core#", "http://purl.org/dc/terms/",
                "http://www.w3.org/ns/oa#", "http://www.w3.org/2000/01/rdf-schema#", "https://w3id.org/mcrag#")
DATATYPES = ("http://www.w3.org/2001/XMLSchema#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#")
"""Also named by the store seam's term model (``kg/store/``), which types literals itself."""

CLAIM_SCHEMA = ("mcrag:CausalClaim", "mcrag:hasValidation", "mcrag:ValidationResult", "mcrag:CurationActivity")


def _strings(path: Path) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _product(*packages: str) -> list[Path]:
    return [p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))]


def _code_strings(path: Path) -> list[str]:
    """String constants that are not documentation (a string standing alone as a statement)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def test_namespaces_are_declared_only_in_kg_namespaces() -> None:
    offenders = []
    for path in _product("kg", "reasoning", "vlm", "mcrag"):
        rel = str(path.relative_to(ROOT))
        if rel == "kg/namespaces.py":
            continue
        names = VOCABULARIES + (() if rel.startswith("kg/store/") else DATATYPES)
        if any(ns in s for s in _strings(path) for ns in names):
            offenders.append(rel)
    assert offenders == []


def test_only_kg_writes_sparql_over_the_claim_schema() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in _product("reasoning", "vlm", "mcrag")
                 if any(term in s for s in _code_strings(p) for term in CLAIM_SCHEMA)]
    assert offenders == []
