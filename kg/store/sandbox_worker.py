"""A process that evaluates one caller's SPARQL at a time, under limits the server can enforce by killing it.

Started by :class:`kg.store.sandbox.QuerySandbox` as ``python -m kg.store.sandbox_worker MEMORY_MB``.
It caps its own address space (``RLIMIT_AS``) and core dumps before touching any data, so a query
that needs gigabytes, or overflows the parser's stack, ends this process and nothing else. Requests
and answers are length-prefixed pickles on standard input and output.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import resource
import struct
import sys
from typing import Any, BinaryIO

_HEADER = struct.Struct("!Q")


def read_frame(stream: BinaryIO) -> Any:
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def write_frame(stream: BinaryIO, payload: Any) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def limit_resources(memory_mb: int) -> None:
    """No core files; at most ``memory_mb`` of address space (0: no memory cap); two malloc arenas.

    glibc reserves 64 MiB of address space per thread arena; capped at two, the address-space limit
    measures what the query uses rather than how many threads touched memory.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    if memory_mb > 0:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


class _Snapshot:
    """The store this worker reads: a read-only open of the store folder, or a copy of an in-memory store."""

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.store: Any = None

    def get(self, source: dict[str, Any]) -> Any:
        import pyoxigraph as ox

        from kg.store.oxigraph import OxigraphStore

        kind = source["kind"]
        if kind == "checkpoint":  # a private copy for a trial update: opened writable, never kept
            self.key, self.store = None, None
            return OxigraphStore.wrap(ox.Store(source["path"]), source["path"])
        key = (kind, source.get("path"), source["generation"])
        if key != self.key:
            self.store = None
            if kind == "path":
                raw = ox.Store.read_only(source["path"])
            else:
                if source.get("data") is None:
                    raise LookupError("no copy of the in-memory store was sent")
                raw = ox.Store()
                raw.load(source["data"], format=ox.RdfFormat.N_QUADS)
            # a folder is opened read-only; an in-memory copy is private to this worker, so writable
            self.store = OxigraphStore.wrap(raw, source.get("path") or ":memory:", read_only=kind == "path")
            self.key = key
        return self.store


_RETRIES = 5


def _vanished(err: BaseException) -> bool:
    """A read-only view lost a file the writer compacted away: reopening sees the new files."""
    text = str(err)
    return "No such file" in text or "Corruption" in text


def handle(request: dict[str, Any], snapshot: _Snapshot) -> dict[str, Any]:
    """Answer one request; a view that lost files to the writer's compaction is reopened and retried."""
    import time

    for attempt in range(_RETRIES):
        answer = _handle_once(request, snapshot)
        if answer.get("error") != "vanished":
            return answer
        snapshot.key, snapshot.store = None, None
        time.sleep(0.02 * (attempt + 1))
    return {"ok": False, "error": "store", "message": answer["message"]}


def _handle_once(request: dict[str, Any], snapshot: _Snapshot) -> dict[str, Any]:
    from kg.errors import MalformedQueryError, QueryTimeoutError, ResultTooLargeError, StoreUnavailableError
    from kg.namespaces import PREFIXES
    from kg.results_format import render
    from kg.store.guard import RemoteAccessRefusedError, check_remote_access

    text: str = request["text"]
    try:
        store = snapshot.get(request["source"])  # first, so a copy that was sent is kept whatever follows
        check_remote_access(text, tuple(request.get("allow", ())), PREFIXES)
        if request["op"] == "update":
            store.update(text)
            store.close()
            return {"ok": True}
        result = store.query(text, timeout=request["timeout"], max_rows=request["max_rows"],
                             union_default_graph=request.get("union", True))
        body, media = render(result, request["format"])
        return {"ok": True, "body": body, "media": media}
    except RemoteAccessRefusedError as err:
        return {"ok": False, "error": "refused", "message": str(err)}
    except MalformedQueryError as err:
        return {"ok": False, "error": "syntax", "message": str(err)}
    except QueryTimeoutError as err:
        return {"ok": False, "error": "timeout", "message": str(err)}
    except ResultTooLargeError as err:
        return {"ok": False, "error": "too_large", "message": str(err)}
    except MemoryError:
        return {"ok": False, "error": "memory", "message": "the query needed more memory than a query may use"}
    except (StoreUnavailableError, OSError, RuntimeError) as err:
        if request["source"]["kind"] == "path" and _vanished(err):
            return {"ok": False, "error": "vanished", "message": f"store read failed: {err}"}
        if isinstance(err, RuntimeError):
            return {"ok": False, "error": "engine", "message": f"{type(err).__name__}: {err}"}
        return {"ok": False, "error": "store", "message": f"store read failed: {err}"}
    except LookupError as err:
        return {"ok": False, "error": "need_data", "message": str(err)}
    except Exception as err:  # noqa: BLE001 - an engine error is the query's: report it, keep serving
        return {"ok": False, "error": "engine", "message": f"{type(err).__name__}: {err}"}


def main(argv: list[str]) -> None:
    memory_mb = int(argv[1]) if len(argv) > 1 else 0
    limit_resources(memory_mb)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the parent's pipe
    snapshot = _Snapshot()
    write_frame(stdout, {"ready": os.getpid()})
    while True:
        try:
            request = read_frame(stdin)
        except EOFError:
            return
        write_frame(stdout, handle(request, snapshot))


if __name__ == "__main__":
    main(sys.argv)
