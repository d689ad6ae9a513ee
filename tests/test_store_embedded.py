"""Behaviour specific to the embedded Oxigraph store: locking, bulk loads, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

import kg.store.oxigraph as oxmod
from kg.errors import MalformedRDFError, QueryTimeoutError, ResultTooLargeError, StoreUnavailableError
from kg.store import OxigraphStore, open_store


def test_second_writer_gets_a_clear_lock_message(tmp_path: Path) -> None:
    first = open_store(tmp_path / "s")
    try:
        with pytest.raises(StoreUnavailableError, match="locked by another process"):
            open_store(tmp_path / "s")
    finally:
        first.close()


def test_location_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StoreUnavailableError, match="is a file"):
        open_store(f)


def test_large_file_path_validates_before_bulk_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oxmod, "BULK_THRESHOLD_BYTES", 0)
    good = tmp_path / "good.nt"
    good.write_text("".join(f"<urn:s{i}> <urn:p> <urn:o{i}> .\n" for i in range(1000)))
    bad = tmp_path / "bad.nt"
    bad.write_text("".join(f"<urn:x{i}> <urn:p> <urn:o{i}> .\n" for i in range(1000)) + "<urn:broken> <urn:p> .\n")
    store = OxigraphStore(tmp_path / "s")
    assert store.load(good, graph="urn:g:good").added == 1000
    with pytest.raises(MalformedRDFError) as err:
        store.load(bad, graph="urn:g:bad")
    assert err.value.line == 1001
    assert store.count() == 1000
    assert not (tmp_path / "s" / oxmod.JOURNAL_NAME).exists()


def test_bulk_load_refuses_a_graph_that_holds_data(tmp_path: Path) -> None:
    from kg.errors import KGError

    data = tmp_path / "d.nt"
    data.write_text("<urn:a> <urn:b> <urn:c> .\n")
    store = OxigraphStore(tmp_path / "s")
    store.load(data, graph="urn:g:1", bulk=True)
    with pytest.raises(KGError, match="empty graphs"):
        store.load(data, graph="urn:g:1", bulk=True)
    with pytest.raises(KGError, match="target graph"):
        store.load(data, bulk=True)


def test_interrupted_bulk_load_is_undone_on_next_open(tmp_path: Path) -> None:
    """A journal left by a crash names the graphs being filled; reopening drops their partial data."""
    store = OxigraphStore(tmp_path / "s")
    store.load(b"<urn:keep> <urn:p> <urn:o> .", "ntriples", graph="urn:g:keep")
    store.load(b"<urn:half> <urn:p> <urn:o> .", "ntriples", graph="urn:g:partial")
    oxmod.write_json_atomically(tmp_path / "s" / oxmod.JOURNAL_NAME, {"file": "big.nt", "graphs": ["urn:g:partial"]})
    store.close()
    reopened = OxigraphStore(tmp_path / "s")
    assert reopened.named_graphs() == ["urn:g:keep"]
    assert not (tmp_path / "s" / oxmod.JOURNAL_NAME).exists()


def test_row_limit_and_deadline(memory_store: OxigraphStore) -> None:
    memory_store.load("".join(f"<urn:s{i}> <urn:p> <urn:o{i}> .\n" for i in range(200)).encode(), "ntriples")
    with pytest.raises(ResultTooLargeError):
        memory_store.query("SELECT * WHERE { ?s ?p ?o }", max_rows=50)
    with pytest.raises(QueryTimeoutError):
        memory_store.query("SELECT * WHERE { ?a ?p ?b . ?c ?q ?d . ?e ?r ?f }", timeout=0.2)


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    from kg.errors import ReadOnlyStoreError

    with open_store(tmp_path / "s") as st:
        st.load(b"<urn:a> <urn:b> <urn:c> .", "ntriples")
    ro = open_store(tmp_path / "s", read_only=True)
    assert ro.count() == 1
    with pytest.raises(ReadOnlyStoreError):
        ro.update("INSERT DATA { <urn:x> <urn:y> <urn:z> }")
