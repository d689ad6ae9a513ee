"""Resumable, bounded download of one URL into a ``.part`` file.

What is already in the ``.part`` file is kept and the rest is asked for with an HTTP ``Range``
request; a server that ignores the range restarts the file. A dropped connection is retried from
where it stopped; after the last attempt the ``.part`` file stays for the next run to resume. The
pinned size bounds every response: a server offering more is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import httpx

from mcrag.datasets.policy import DEFAULT_POLICY, UrlPolicy

CHUNK = 1 << 16
USER_AGENT = "mcrag-data-fetch/0.1"


class DownloadError(RuntimeError):
    """A download that failed for a reason named in the message."""


class _Interrupted(Exception):
    pass


def new_client(timeout: float = 60.0) -> httpx.Client:
    """One client per fetch: keep-alive across the many small files of a set."""
    return httpx.Client(timeout=httpx.Timeout(timeout, connect=20.0), headers={"User-Agent": USER_AGENT},
                        follow_redirects=False)


@contextmanager
def _open(client: httpx.Client, url: str, headers: dict[str, str], policy: UrlPolicy) -> Iterator[httpx.Response]:
    """GET ``url``, following redirects by hand so that every hop passes the policy first."""
    for _ in range(policy.max_redirects + 1):
        policy.check(url)
        try:
            resp = client.send(client.build_request("GET", url, headers=headers), stream=True,
                               follow_redirects=False)
        except httpx.TransportError as err:
            raise _Interrupted(f"{url}: {err}") from err
        if resp.is_redirect:
            location = resp.headers.get("location", "")
            resp.close()
            if not location:
                raise DownloadError(f"{url}: redirect without a Location")
            url = urljoin(url, location)
            continue
        try:
            yield resp
        finally:
            resp.close()
        return
    raise DownloadError(f"{url}: more than {policy.max_redirects} redirects")


def _range_start(header: str | None) -> int | None:
    m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", header or "")
    return int(m.group(1)) if m else None


def _once(client: httpx.Client, url: str, part: Path, size: int, policy: UrlPolicy,
          on_bytes: Callable[[int], None] | None) -> None:
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    if have == size:
        return
    headers = {"Range": f"bytes={have}-"} if have else {}
    with _open(client, url, headers, policy) as resp:
        if resp.status_code == 206 and have:
            start = _range_start(resp.headers.get("content-range"))
            if start != have:
                raise DownloadError(f"{url}: server resumed at byte {start}, not {have}")
            mode = "ab"
        elif resp.status_code == 200:
            if have and on_bytes:
                on_bytes(-have)  # the server ignored the range: the kept bytes count again
            have, mode = 0, "wb"
        elif resp.status_code == 416:
            part.unlink(missing_ok=True)
            raise _Interrupted(f"{url}: range not satisfiable; starting over")
        else:
            raise DownloadError(f"{url}: HTTP {resp.status_code} {resp.reason_phrase}")
        length = resp.headers.get("content-length")
        if length is not None and length.isdigit() and have + int(length) > size:
            part.unlink(missing_ok=True)
            raise DownloadError(f"{url}: the server offers {have + int(length)} bytes, the pinned size is "
                                f"{size}; refused")
        written = have
        with part.open(mode) as fh:
            try:
                for chunk in resp.iter_bytes(CHUNK):
                    written += len(chunk)
                    if written > size:
                        fh.close()
                        part.unlink(missing_ok=True)
                        raise DownloadError(f"{url}: more than the pinned {size} bytes; refused")
                    fh.write(chunk)
                    if on_bytes:
                        on_bytes(len(chunk))
            except httpx.TransportError as err:
                raise _Interrupted(f"{url}: {err}") from err
            finally:
                if not fh.closed:
                    fh.flush()
                    os.fsync(fh.fileno())
    if written < size:
        raise _Interrupted(f"{url}: connection closed after {written} of {size} bytes")


def download(url: str, part: Path, *, size: int, client: httpx.Client | None = None,
             policy: UrlPolicy = DEFAULT_POLICY, on_bytes: Callable[[int], None] | None = None,
             attempts: int = 3) -> Path:
    """Bring ``part`` to exactly ``size`` bytes of ``url``, resuming what it holds; return ``part``."""
    part.parent.mkdir(parents=True, exist_ok=True)
    own = client is None
    cl = client or new_client()
    last = ""
    try:
        for _ in range(max(1, attempts)):
            try:
                _once(cl, url, part, size, policy, on_bytes)
                return part
            except _Interrupted as err:
                last = str(err)
    finally:
        if own:
            cl.close()
    kept = part.stat().st_size if part.exists() else 0
    raise DownloadError(f"{last}; {kept} of {size} bytes kept in {part.name}: run the same command again to resume")
