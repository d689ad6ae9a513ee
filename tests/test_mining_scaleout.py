"""Scale-out: the same partitions on local worker processes and on a 2-worker Dask cluster."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from kg.mining.api import mine_reports
from kg.mining.core.documents import Document
from kg.mining.core.runner import MiningTask, execute, partitions
from kg.mining.reports.task import ReportTask

FIX = Path(__file__).parent / "fixtures" / "mining"


def test_partitions_cover_every_document_once() -> None:
    docs = [Document(str(i), "x", "t", "report") for i in range(7)]
    parts = list(partitions(docs, 3))
    assert [len(p) for p in parts] == [3, 3, 1]
    with pytest.raises(ValueError, match="batch size"):
        execute(ReportTask(), docs, batch_size=0, on_result=lambda r: None)


class _Flaky:
    def mine(self, docs, when):
        if any(d.doc_id == "bad" for d in docs):
            raise RuntimeError("boom")
        return []


@dataclass(frozen=True)
class _FlakyTask(MiningTask):
    """Any typed task can run: the runner only asks it to build its miner."""

    def build(self) -> _Flaky:
        return _Flaky()


def test_a_failing_document_is_skipped_not_fatal() -> None:
    from kg.mining.core import runner

    res = runner.run_partition(_FlakyTask(), 0, [Document("ok", "x", "t", "report"), Document("bad", "y", "t", "report")])
    assert [s.where for s in res.skipped] == ["t:bad"] and "boom" in res.skipped[0].reason


def test_each_miner_has_its_own_typed_task() -> None:
    from kg.mining.literature.task import LiteratureTask

    report, literature = ReportTask(labeler_dir="x", parse=True), LiteratureTask(model_dir="m", min_confidence=0.4)
    assert not hasattr(report, "model_dir") and not hasattr(literature, "labeler_dir")
    assert report.worker_key() == ReportTask(labeler_dir="x", parse=True, generated_at="")
    assert report.worker_key() != ReportTask(labeler_dir="y", parse=True).worker_key()
    with pytest.raises(TypeError):
        MiningTask()  # type: ignore[abstract]


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
