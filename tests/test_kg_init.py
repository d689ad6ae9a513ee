"""``mcrag kg init`` on a used store: nothing curated changes, nothing is duplicated."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from kg import curation
from kg.store import open_store

pytestmark = pytest.mark.slow  # CLI processes


def _mcrag(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mcrag.cli", *args], capture_output=True, text=True, timeout=300)


def _dump(folder: Path) -> list[str]:
    with open_store(folder) as st:
        buf = io.BytesIO()
        st.export(buf, "nquads")
    return sorted(buf.getvalue().decode().splitlines())


def test_init_twice_keeps_curated_state(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert _mcrag("kg", "init", "--store", str(store)).returncode == 0
    with open_store(store) as st:
        item = curation.review_queue(st, 1, statuses=("accepted",))[0]
        detail = curation.claim_detail(st, item.claim)
        new = "possible" if detail.record.certainty != "possible" else "probable"
        curation.edit(st, item.claim, "tester", "weaker evidence", detail.version, certainty=new)
    before = _dump(store)
    again = _mcrag("kg", "init", "--store", str(store))
    assert again.returncode == 0, again.stderr
    assert "already present" in again.stdout
    assert _dump(store) == before
    with open_store(store) as st:
        rows = st.select("SELECT ?c (COUNT(DISTINCT ?v) AS ?n) WHERE { ?c mcrag:version ?v } GROUP BY ?c HAVING (?n > 1)")
        assert rows == [], "a claim with two versions"
        assert st.select("SELECT ?c (COUNT(DISTINCT ?x) AS ?n) WHERE { ?c mcrag:certainty ?x } GROUP BY ?c "
                         "HAVING (?n > 1)") == []
        assert curation.claim_detail(st, item.claim).record.certainty == new
