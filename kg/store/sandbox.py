"""Run callers' SPARQL in worker processes that are killed at the deadline or when they outgrow memory.

A thread cannot stop Oxigraph in the middle of a query, and a query can ask for gigabytes or
overflow the parser's stack, which aborts the whole process. So the service never evaluates a
caller's text in its own process:

* a query runs in a worker that opened the store folder read-only (reopened after each write; an
  in-memory store is copied to the worker instead), capped by ``RLIMIT_AS``; at the deadline the
  worker is killed, so the CPU is free at once, and a fresh one takes its place;
* an update first runs in a worker on a private copy of the store (a hard-linked checkpoint of the
  folder, or the in-memory copy), under the same limits. Only an update that finished there in time
  is applied to the real store, under the write lock held across both steps, so it does the same
  bounded work again and sees the same data.

The store stays the one writer; workers never write to it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.errors import (
    KGError,
    MalformedQueryError,
    QueryTimeoutError,
    ResultTooLargeError,
    StoreUnavailableError,
)
from kg.store.guard import RemoteAccessRefusedError
from kg.store.oxigraph import OxigraphStore
from kg.store.sandbox_worker import _HEADER, write_frame

log = logging.getLogger(__name__)
KILL_GRACE_S = 0.25
"""How long past the deadline a worker may take to report its own timeout before it is killed."""


class ResourceLimitError(KGError):
    """A query or update needed more memory (or parser depth) than one request may use."""


class SandboxBusyError(KGError):
    """Every worker stayed busy until the request's deadline."""


@dataclass(frozen=True)
class SandboxLimits:
    workers: int = 2
    memory_mb: int = 1024
    """Address-space cap of each worker process (0: none)."""
    allow_remote: tuple[str, ...] = ()
    """SERVICE / LOAD targets that may be contacted (see :mod:`kg.store.guard`)."""


class _Worker:
    def __init__(self, memory_mb: int) -> None:
        # the worker finds this very package on the parent's import path, wherever the parent runs
        boot = f"import sys; sys.path[:0] = {[p for p in sys.path if p]!r}; import kg.store.sandbox_worker as w; w.main(sys.argv)"
        self.proc = subprocess.Popen([sys.executable, "-c", boot, str(memory_mb)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
        self.generation: tuple[Any, ...] | None = None
        self.ready = False

    def send(self, payload: Any) -> None:
        assert self.proc.stdin is not None
        write_frame(self.proc.stdin, payload)  # type: ignore[arg-type]

    def receive(self, deadline: float | None) -> Any:
        """The next frame, or ``TimeoutError`` at the deadline, or ``EOFError`` if the worker died."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = b""
        need = _HEADER.size
        size: int | None = None
        while True:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, max(need - len(buf), 1 << 16) if size is None else need - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
            if size is None and len(buf) >= _HEADER.size:
                (size,) = _HEADER.unpack(buf[:_HEADER.size])
                buf, need = buf[_HEADER.size:], size
            if size is not None and len(buf) >= need:
                import pickle

                return pickle.loads(buf[:need])

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]

    def death(self) -> str:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        rc = self.proc.returncode
        if rc is not None and rc < 0:
            return signal.Signals(-rc).name
        return f"exit code {rc}"


class QuerySandbox:
    """A small pool of killable workers for one :class:`OxigraphStore` (on disk or in memory)."""

    def __init__(self, store: OxigraphStore, limits: SandboxLimits | None = None) -> None:
        self.store = store
        self.limits = limits or SandboxLimits()
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._flushed_generation = -1
        self._copy: tuple[int, bytes] | None = None
        self._closed = False
        self._all: set[_Worker] = set()
        if self.on_disk and not store.read_only:
            self._remove_stale_trials()
        for _ in range(max(1, self.limits.workers)):
            self._idle.put(self._spawn())

    @property
    def on_disk(self) -> bool:
        return self.store.capabilities.persistent

    def _spawn(self) -> _Worker:
        w = _Worker(self.limits.memory_mb)
        with self._lock:
            self._all.add(w)
        return w

    def _retire(self, w: _Worker) -> None:
        w.kill()
        with self._lock:
            self._all.discard(w)
        if not self._closed:  # a fresh worker takes its place off the request's path
            threading.Thread(target=lambda: self._idle.put(self._spawn()), daemon=True).start()

    def _source(self, w: _Worker) -> dict[str, Any]:
        """Where the worker reads the store, with the data itself when its copy is stale."""
        gen = self.store.generation
        if self.on_disk:
            with self._lock:
                if self._flushed_generation != gen and not self.store.read_only:
                    self.store.flush()  # a short log makes the worker's read-only open fast
                    self._flushed_generation = gen
            return {"kind": "path", "path": self.store.location, "generation": (id(self), gen)}
        source: dict[str, Any] = {"kind": "dump", "generation": (id(self), gen)}
        if w.generation != source["generation"]:
            with self._lock:
                if self._copy is None or self._copy[0] != gen:
                    self._copy = gen, self.store.raw.dump(format=ox.RdfFormat.N_QUADS) or b""
                source["data"] = self._copy[1]
        return source

    def _acquire(self, deadline: float) -> _Worker:
        try:
            w = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise SandboxBusyError("every query worker stayed busy until the time limit; try again") from None
        if not w.ready:
            try:
                hello = w.receive(time.monotonic() + 60)
            except (EOFError, TimeoutError):
                self._retire(w)
                raise StoreUnavailableError(f"a query worker failed to start ({w.death()})") from None
            w.ready = "ready" in hello
        return w

    def _call(self, request: dict[str, Any], timeout: float, what: str) -> dict[str, Any]:
        start = time.monotonic()
        w = self._acquire(start + timeout)
        request["source"] = request.get("source") or self._source(w)
        deadline = time.monotonic() + timeout
        request["timeout"] = max(0.05, deadline - time.monotonic())
        try:
            w.send(request)
            answer = w.receive(deadline + KILL_GRACE_S)
        except TimeoutError:
            self._retire(w)
            raise QueryTimeoutError(f"{what} ran past the {timeout:g} s time limit and was stopped") from None
        except (EOFError, BrokenPipeError, OSError):
            why = w.death()
            self._retire(w)
            raise ResourceLimitError(
                f"{what} stopped the process evaluating it ({why}): it needs more than the "
                f"{self.limits.memory_mb} MiB of memory or the nesting depth that one request may use") from None
        if answer.get("error") == "memory":
            self._retire(w)
        else:
            if request["source"]["kind"] != "checkpoint":
                w.generation = None if answer.get("error") == "need_data" else request["source"]["generation"]
            self._idle.put(w)
        return answer

    @staticmethod
    def _raise(answer: dict[str, Any]) -> None:
        kind, msg = answer.get("error"), answer.get("message", "")
        if kind == "refused":
            raise RemoteAccessRefusedError(msg)
        if kind == "syntax" or kind == "engine":
            raise MalformedQueryError(msg)
        if kind == "timeout":
            raise QueryTimeoutError(msg)
        if kind == "too_large":
            raise ResultTooLargeError(msg)
        if kind == "memory":
            raise ResourceLimitError(msg)
        raise StoreUnavailableError(msg)

    def query(self, sparql: str, results_format: str = "json", *, timeout: float, max_rows: int | None = None,
              union_default_graph: bool = True) -> tuple[bytes, str]:
        """Serialized results and their media type; every failure is a :class:`KGError`."""
        request = {"op": "query", "text": sparql, "format": results_format, "max_rows": max_rows,
                   "allow": self.limits.allow_remote, "union": union_default_graph}
        answer = self._call(request, timeout, "the query")
        if answer.get("error") == "need_data":  # the worker lost its copy: send the data again
            answer = self._call(request | {"source": None}, timeout, "the query")
        if not answer.get("ok"):
            self._raise(answer)
        return answer["body"], answer["media"]

    def update(self, sparql: str, *, timeout: float) -> None:
        """Try the update on a private copy under the limits; if it finishes, apply it to the store."""
        self.store._writable()
        with self.store.write_lock:
            trial: Path | None = None
            try:
                if self.on_disk:
                    trial = self._checkpoint()
                    source: dict[str, Any] = {"kind": "checkpoint", "path": str(trial)}
                else:
                    gen = self.store.generation
                    data = self.store.raw.dump(format=ox.RdfFormat.N_QUADS) or b""
                    source = {"kind": "dump", "generation": ("trial", id(self), gen, time.monotonic()),
                              "data": data}
                request = {"op": "update", "text": sparql, "allow": self.limits.allow_remote, "source": source}
                answer = self._call(request, timeout, "the update")
                if not answer.get("ok"):
                    self._raise(answer)
            finally:
                if trial is not None:
                    shutil.rmtree(trial.parent, ignore_errors=True)
            self.store.update(sparql)

    def _remove_stale_trials(self) -> None:
        """Trial copies a crashed server left beside the store (they are only hard links, but still files)."""
        folder = Path(self.store.location)
        with contextlib.suppress(OSError):
            for old in folder.parent.glob(f".{folder.name}.trial-*"):
                shutil.rmtree(old, ignore_errors=True)

    def _checkpoint(self) -> Path:
        """A hard-linked copy of the store folder (a RocksDB checkpoint), beside it when possible."""
        folder = Path(self.store.location)
        for base in (folder.parent, None):
            try:
                tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.trial-", dir=base))
            except OSError:
                continue
            try:
                self.store.raw.backup(str(tmp / "store"))
                return tmp / "store"
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        raise StoreUnavailableError(f"cannot make a trial copy of {folder} to check the update")

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.kill()

    def __enter__(self) -> QuerySandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
