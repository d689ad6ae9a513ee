"""The committed starter graph (ontologies/starter.ttl) is what its table (starter_claims.csv) builds."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from scripts.build_starter_graph import STARTER_TTL, starter_triples


def _ttl_triples(path: Path) -> set[ox.Triple]:
    return {ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(path.read_bytes(), format=ox.RdfFormat.TURTLE)}


def _difference(built: set[ox.Triple], committed: set[ox.Triple]) -> str:
    missing, extra = built - committed, committed - built
    return (f"starter.ttl is out of date with starter_claims.csv: {len(missing)} triple(s) missing "
            f"(e.g. {sorted(map(str, missing))[:2]}), {len(extra)} extra (e.g. {sorted(map(str, extra))[:2]}); "
            "run python scripts/build_starter_graph.py")


def test_starter_ttl_matches_the_claims_table() -> None:
    built = set(starter_triples())
    committed = _ttl_triples(STARTER_TTL)
    assert built == committed, _difference(built, committed)
    assert len(built) > 26 * 10, "26 claims with provenance, concepts and mappings"


def test_an_edited_table_row_is_caught(tmp_path: Path) -> None:
    """The comparison notices a claim whose mechanism was changed in the Turtle but not in the table."""
    text = STARTER_TTL.read_text(encoding="utf-8")
    assert "Hydrostatic pulmonary edema." in text
    edited = tmp_path / "starter.ttl"
    edited.write_text(text.replace("Hydrostatic pulmonary edema.", "Hydrostatic pulmonary oedema."), encoding="utf-8")
    built = set(starter_triples())
    committed = _ttl_triples(edited)
    assert built != committed and "out of date" in _difference(built, committed)
    assert all("oedema" in str(t) for t in committed - built) and committed - built
