"""Run a miner over document partitions: inline, on local worker processes, or on a Dask cluster.

Each worker builds its own pipeline once (medspaCy's rule objects cannot be pickled, so spaCy's
``n_process`` is no option) and turns a partition of documents into a :class:`PartitionResult`.
The caller consumes results as they arrive and writes each partition's claims in one transaction,
so an interrupted run leaves whole batches or nothing, never half a batch.
"""

from __future__ import annotations

import logging
import multiprocessing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Protocol

from kg.claims import CausalClaim
from kg.mining.core.documents import DocOutput, Document, ReportFindings, Skipped

log = logging.getLogger(__name__)


class Miner(Protocol):
    """A built miner: turns a batch of documents into one :class:`DocOutput` per document."""

    def mine(self, docs: Sequence[Document], when: datetime | None = None) -> list[DocOutput]: ...


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class MiningTask(ABC):
    """What to run in a worker; plain values only, so it travels to processes and Dask workers.

    Each miner has its own typed task (:class:`kg.mining.reports.task.ReportTask`,
    :class:`kg.mining.literature.task.LiteratureTask`) that holds its settings and builds it.
    """

    generated_at: str = field(default_factory=_now, kw_only=True)
    """When the claims were generated (one timestamp for the whole run)."""

    @abstractmethod
    def build(self) -> Miner:
        """The miner this task runs, built once per worker process."""

    def worker_key(self) -> MiningTask:
        """The task without its timestamp: runs with the same settings share one built miner."""
        return replace(self, generated_at="")


@dataclass
class PartitionResult:
    """What one partition produced."""

    index: int
    documents: int = 0
    claims: list[CausalClaim] = field(default_factory=list)
    findings: list[ReportFindings] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


_WORKERS: dict[MiningTask, Miner] = {}


def _worker_for(task: MiningTask) -> Miner:
    """The per-process miner for a task, built on first use."""
    key = task.worker_key()
    worker = _WORKERS.get(key)
    if worker is None:
        worker = _WORKERS[key] = task.build()
    return worker


def run_partition(task: MiningTask, index: int, docs: list[Document]) -> PartitionResult:
    """Mine one partition; a document that fails is skipped with the error as its reason."""
    worker = _worker_for(task)
    when = datetime.fromisoformat(task.generated_at)
    result = PartitionResult(index, len(docs))
    try:
        outputs = worker.mine(docs, when)
    except Exception as err:  # noqa: BLE001 - isolate the failing document below
        log.warning("partition %d failed as a whole (%s); retrying document by document", index, err)
        outputs = []
        for d in docs:
            try:
                outputs.extend(worker.mine([d], when))
            except Exception as one_err:  # noqa: BLE001 - one bad document must not stop the run
                result.skipped.append(Skipped(f"{d.source}:{d.doc_id}", f"processing failed: {one_err}"))
    for out in outputs:
        result.claims.extend(out.claims)
        if out.findings is not None:
            result.findings.append(out.findings)
    return result


def partitions(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    it = iter(docs)
    while batch := list(islice(it, size)):
        yield batch


def execute(task: MiningTask, docs: Iterable[Document], *, batch_size: int = 256, processes: int = 1,
            cluster: str | None = None, on_result: Callable[[PartitionResult], None]) -> str:
    """Run ``task`` over ``docs`` in partitions and hand each result to ``on_result`` as it arrives.

    Returns the backend used: ``inline``, ``processes`` or ``dask``.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    parts = partitions(docs, batch_size)
    if cluster:
        _run_dask(task, parts, cluster, on_result)
        return "dask"
    if processes <= 1:
        for i, part in enumerate(parts):
            on_result(run_partition(task, i, part))
        return "inline"
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as pool:
        _drain(((i, p) for i, p in enumerate(parts)), lambda i, p: pool.submit(run_partition, task, i, p),
               2 * processes, on_result)
    return "processes"


def _drain(items: Iterator[tuple[int, list[Document]]], submit: Callable[[int, list[Document]], Future],
           in_flight: int, on_result: Callable[[PartitionResult], None]) -> None:
    """Keep ``in_flight`` partitions submitted; consume whichever finishes first."""
    pending: set[Future] = set()
    for i, part in items:
        pending.add(submit(i, part))
        if len(pending) >= in_flight:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                on_result(f.result())
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for f in done:
            on_result(f.result())


def _run_dask(task: MiningTask, parts: Iterator[list[Document]], address: str,
              on_result: Callable[[PartitionResult], None]) -> None:
    try:
        from distributed import Client
        from distributed import wait as dask_wait
    except ImportError as err:  # pragma: no cover - pinned dependency
        raise RuntimeError(f"Dask distributed is not installed ({err})") from None
    with Client(address, timeout="30s") as client:
        window = 2 * max(1, len(client.scheduler_info().get("workers", {})))
        pending: set[Any] = set()

        def consume(which: str) -> None:
            nonlocal pending
            done, not_done = dask_wait(list(pending), return_when=which)
            pending = set(not_done)
            for f in done:
                on_result(f.result())

        for i, part in enumerate(parts):
            pending.add(client.submit(run_partition, task, i, part, pure=False))
            if len(pending) >= window:
                consume("FIRST_COMPLETED")
        while pending:
            consume("FIRST_COMPLETED")
