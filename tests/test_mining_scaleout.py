"""Scale-out: the same partitions on local worker processes and on a 2-worker Dask cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.mining.api import mine_reports
from kg.mining.documents import Document
from kg.mining.runner import MiningTask, execute, partitions

FIX = Path(__file__).parent / "fixtures" / "mining"


def test_partitions_cover_every_document_once() -> None:
    docs = [Document(str(i), "x", "t", "report") for i in range(7)]
    parts = list(partitions(docs, 3))
    assert [len(p) for p in parts] == [3, 3, 1]
    with pytest.raises(ValueError, match="batch size"):
        execute(MiningTask("report"), docs, batch_size=0, on_result=lambda r: None)


def test_a_failing_document_is_skipped_not_fatal(monkeypatch) -> None:
    from kg.mining import runner

    class Flaky:
        def mine(self, docs, when):
            if any(d.doc_id == "bad" for d in docs):
                raise RuntimeError("boom")
            return []

    monkeypatch.setitem(runner._WORKERS, MiningTask("report", generated_at=""), Flaky())
    res = runner.run_partition(MiningTask("report"), 0, [Document("ok", "x", "t", "report"),
                                                        Document("bad", "y", "t", "report")])
    assert [s.where for s in res.skipped] == ["t:bad"] and "boom" in res.skipped[0].reason


@pytest.mark.slow
def test_local_processes_and_dask_cluster_match_inline(tmp_path: Path) -> None:
    from distributed import LocalCluster

    from kg.store import open_store

    def claims(store) -> set[str]:
        return {r["c"] for r in store.select("SELECT ?c WHERE { ?c a mcrag:CausalClaim }")}

    inline = open_store(":memory:")
    base = mine_reports(inline, FIX / "annotation.json", batch_size=1, matrix_out=tmp_path / "inline.csv")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask_store = open_store(":memory:")
        on_dask = mine_reports(dask_store, FIX / "annotation.json", batch_size=1, cluster=cluster.scheduler_address,
                               matrix_out=tmp_path / "dask.csv")
    assert on_dask.backend == "dask" and on_dask.batches == base.batches == 4
    assert claims(dask_store) == claims(inline) and len(claims(inline)) >= 2
    assert (tmp_path / "dask.csv").read_text() == (tmp_path / "inline.csv").read_text()
    local = open_store(":memory:")
    on_procs = mine_reports(local, FIX / "annotation.json", batch_size=2, processes=2)
    assert on_procs.backend == "processes" and claims(local) == claims(inline)
