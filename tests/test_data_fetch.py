"""``mcrag data fetch`` against a local HTTP server on 127.0.0.1 serving files made by the test.

Nothing here touches a real source: every URL is a loopback address of a server the test starts.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from mcrag.datasets import fetch as fetching
from mcrag.datasets.download import DownloadError
from mcrag.datasets.policy import DEFAULT_POLICY, UnsafeUrlError, UrlPolicy
from mcrag.datasets.registry import DataSet, GitHubFiles, Part, PinnedFile, WheelFiles
from mcrag.datasets.verify import ChecksumError

LOOPBACK = UrlPolicy(allow_loopback_http=True)


@dataclass
class Route:
    body: bytes = b""
    cut_after: int | None = None
    """Send the full Content-Length but close the connection after this many bytes, once."""
    ignore_range: bool = False
    redirect: str | None = None
    status: int = 200


@dataclass
class FileServer:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            rng = self.headers.get("Range")
            server.requests.append((self.path, rng))
            route = server.routes.get(self.path)
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if route.redirect:
                self.send_response(302)
                self.send_header("Location", route.redirect)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, start = route.body, 0
            if rng and not route.ignore_range:
                start = int(rng.split("=")[1].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(route.status)
            chunk = body[start:]
            self.send_header("Content-Length", str(len(chunk)))
            self.end_headers()
            if route.cut_after is not None:
                self.wfile.write(chunk[:route.cut_after])
                self.wfile.flush()
                route.cut_after = None  # only the first response is cut
                self.close_connection = True
                return
            self.wfile.write(chunk)

    return Handler


@pytest.fixture()
def server() -> Iterator[FileServer]:
    fs = FileServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fs))
    fs.port = httpd.server_address[1]
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield fs
    httpd.shutdown()
    httpd.server_close()
    t.join(5)


@pytest.fixture()
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10.0, trust_env=False) as c:
        yield c


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _set(*files: PinnedFile) -> DataSet:
    return DataSet(name="toy", title="toy", licence="CC0", source="test server", folder="toy",
                   parts=(Part("toy", GitHubFiles("example/toy", "0000000")),), pinned=files)


def _all_files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


BODY = bytes(range(256)) * 2000  # 512,000 bytes


def test_a_good_file_lands(server: FileServer, client: httpx.Client, tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(BODY)
    ds = _set(PinnedFile("toy/a.bin", _sha(BODY), len(BODY), server.url("/a.bin")))
    result = fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert (tmp_path / "toy" / "a.bin").read_bytes() == BODY
    assert result.landed == ["toy/a.bin"] and result.downloaded_bytes == len(BODY)
    assert _all_files(tmp_path) == ["toy", "toy/a.bin"]  # no .part or temporary left
    again = fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert again.landed == [] and again.already == ["toy/a.bin"]
    assert len(server.requests) == 1  # a present, matching file is not downloaded again


def test_a_corrupted_file_is_refused_and_nothing_is_left(server: FileServer, client: httpx.Client,
                                                        tmp_path: Path) -> None:
    bad = bytearray(BODY)
    bad[1000] ^= 0xFF
    server.routes["/a.bin"] = Route(bytes(bad))
    ds = _set(PinnedFile("toy/sub/a.bin", _sha(BODY), len(BODY), server.url("/a.bin")))
    with pytest.raises(ChecksumError, match="refused"):
        fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert _all_files(tmp_path) == []  # no file, no .part, and the folders it made are gone


def test_a_file_larger_than_its_pin_is_refused(server: FileServer, client: httpx.Client, tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(BODY + b"more")
    ds = _set(PinnedFile("toy/a.bin", _sha(BODY), len(BODY), server.url("/a.bin")))
    with pytest.raises(DownloadError, match="pinned size"):
        fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert _all_files(tmp_path) == []


def test_an_interrupted_download_resumes_with_a_range_request(server: FileServer, client: httpx.Client,
                                                              tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(BODY, cut_after=200_000)
    ds = _set(PinnedFile("toy/a.bin", _sha(BODY), len(BODY), server.url("/a.bin")))
    result = fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert (tmp_path / "toy" / "a.bin").read_bytes() == BODY
    assert len(server.requests) == 2 and server.requests[0] == ("/a.bin", None)
    path, rng = server.requests[1]
    kept = int((rng or "bytes=0-")[len("bytes="):-1])
    assert path == "/a.bin" and 0 < kept <= 200_000  # resumed where the cut left the .part file
    assert result.downloaded_bytes == len(BODY)  # each byte came over the wire once
    assert _all_files(tmp_path) == ["toy", "toy/a.bin"]


def test_an_interrupted_fetch_keeps_its_part_file_and_the_next_run_resumes(server: FileServer,
                                                                           client: httpx.Client,
                                                                           tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(BODY, cut_after=300_000)
    ds = _set(PinnedFile("toy/a.bin", _sha(BODY), len(BODY), server.url("/a.bin")))
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client, attempts=1)
    part = tmp_path / "toy" / "a.bin.part"
    kept = part.stat().st_size
    assert 0 < kept <= 300_000 and part.read_bytes() == BODY[:kept]
    assert not (tmp_path / "toy" / "a.bin").exists()
    result = fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client, attempts=1)
    assert server.requests[-1] == ("/a.bin", f"bytes={kept}-")
    assert result.downloaded_bytes == len(BODY) - kept
    assert (tmp_path / "toy" / "a.bin").read_bytes() == BODY and not part.exists()


def test_a_server_that_ignores_the_range_restarts_the_file(server: FileServer, client: httpx.Client,
                                                           tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(BODY, cut_after=100_000, ignore_range=True)
    ds = _set(PinnedFile("toy/a.bin", _sha(BODY), len(BODY), server.url("/a.bin")))
    fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert (tmp_path / "toy" / "a.bin").read_bytes() == BODY


def test_redirects_to_plain_http_or_private_addresses_are_refused(server: FileServer, client: httpx.Client,
                                                                  tmp_path: Path) -> None:
    server.routes["/to-http"] = Route(redirect="http://example.org/a.bin")
    server.routes["/to-private"] = Route(redirect="https://10.1.2.3/a.bin")
    for path in ("/to-http", "/to-private"):
        ds = _set(PinnedFile("toy/a.bin", _sha(BODY), len(BODY), server.url(path)))
        with pytest.raises(UnsafeUrlError):
            fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert [p for p, _ in server.requests] == ["/to-http", "/to-private"]  # the targets were never asked
    assert _all_files(tmp_path) == []


def test_the_default_policy_allows_only_https_to_public_addresses() -> None:
    with pytest.raises(UnsafeUrlError, match="only https"):
        DEFAULT_POLICY.check("http://files.pythonhosted.org/x.whl")
    for url in ("https://127.0.0.1/x", "https://192.168.0.4/x", "https://[::1]/x", "https://169.254.169.254/x"):
        with pytest.raises(UnsafeUrlError, match="private or local"):
            DEFAULT_POLICY.check(url)
    with pytest.raises(UnsafeUrlError, match="private or local"):
        UrlPolicy(resolve=lambda host: ["10.0.0.7"]).check("https://rebind.example/x")
    with pytest.raises(UnsafeUrlError, match="credentials"):
        DEFAULT_POLICY.check("https://user:pw@github.com/x")
    UrlPolicy(resolve=lambda host: ["140.82.112.3"]).check("https://github.com/a/b/raw/c/d")
    with pytest.raises(UnsafeUrlError):  # the test policy admits loopback only, not plain http elsewhere
        LOOPBACK.check("http://example.org/x")


def test_a_missing_file_on_the_server_is_a_clear_error(server: FileServer, client: httpx.Client,
                                                       tmp_path: Path) -> None:
    ds = _set(PinnedFile("toy/a.bin", _sha(BODY), len(BODY), server.url("/nope")))
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert _all_files(tmp_path) == []


def _wheel(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _wheel_set(server: FileServer, wheel: bytes, members: dict[str, bytes], pins: dict[str, bytes]) -> DataSet:
    w = WheelFiles(project="toypkg", version="1.0", url=server.url("/toypkg-1.0-py3-none-any.whl"),
                   sha256=_sha(wheel), size=len(wheel), package="toypkg_not_installed", base="toypkg/data/")
    files = [PinnedFile(f"toy/{name}", _sha(pins[name]), len(pins[name]), w.url, member=w.member(name), wheel=w)
             for name in members]
    return _set(*files)


def test_files_are_unpacked_from_a_wheel_and_the_wheel_is_removed(server: FileServer, client: httpx.Client,
                                                                   tmp_path: Path) -> None:
    members = {"a.csv": b"x,y\n1,2\n", "b.tgz": b"\x1f\x8b" + b"z" * 5000}
    wheel = _wheel({f"toypkg/data/{k}": v for k, v in members.items()} | {"toypkg/__init__.py": b""})
    server.routes["/toypkg-1.0-py3-none-any.whl"] = Route(wheel)
    ds = _wheel_set(server, wheel, members, members)
    result = fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert sorted(result.landed) == ["toy/a.csv", "toy/b.tgz"]
    assert (tmp_path / "toy" / "a.csv").read_bytes() == members["a.csv"]
    assert _all_files(tmp_path) == ["toy", "toy/a.csv", "toy/b.tgz"]  # .downloads and the wheel are gone


def test_a_wheel_member_that_differs_from_its_pin_is_refused(server: FileServer, client: httpx.Client,
                                                             tmp_path: Path) -> None:
    members = {"a.csv": b"x,y\n1,2\n"}
    wheel = _wheel({"toypkg/data/a.csv": members["a.csv"]})
    server.routes["/toypkg-1.0-py3-none-any.whl"] = Route(wheel)
    ds = _wheel_set(server, wheel, members, {"a.csv": b"x,y\n1,3\n"})
    with pytest.raises(ChecksumError):
        fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert _all_files(tmp_path) == []


def test_a_repair_is_applied_before_the_check(server: FileServer, client: httpx.Client, tmp_path: Path) -> None:
    upstream = b'{"train": [{"id": 1}], "val": [{"id": 2}], "    ": [{"id": 3}]}'
    repaired = upstream.replace(b'"    "', b'"test"')
    server.routes["/annotation.json"] = Route(upstream)
    ds = _set(PinnedFile("toy/annotation.json", _sha(repaired), len(repaired), server.url("/annotation.json"),
                         repair="r2gen_test_key"))
    fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert (tmp_path / "toy" / "annotation.json").read_bytes() == repaired


def test_an_existing_file_with_other_bytes_is_kept_unless_forced(server: FileServer, client: httpx.Client,
                                                                 tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(BODY)
    ds = _set(PinnedFile("toy/a.bin", _sha(BODY), len(BODY), server.url("/a.bin")))
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "a.bin").write_bytes(b"mine")
    with pytest.raises(fetching.ExistingFileError, match="--force"):
        fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client)
    assert (tmp_path / "toy" / "a.bin").read_bytes() == b"mine" and server.requests == []
    fetching.fetch(ds, tmp_path, policy=LOOPBACK, client=client, force=True)
    assert (tmp_path / "toy" / "a.bin").read_bytes() == BODY


def test_a_derived_set_is_not_fetched() -> None:
    from mcrag.datasets.registry import get

    with pytest.raises(fetching.NotFetchableError, match="derived"):
        fetching.fetch(get("cxr_covid"), Path("/nonexistent"))


def test_the_fetch_command_lands_a_set_and_verify_checks_it(server: FileServer, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from mcrag.cli import app
    from mcrag.datasets import registry

    server.routes["/a.bin"] = Route(BODY, cut_after=100_000)
    toy = _set(PinnedFile("toy/a.bin", _sha(BODY), len(BODY), server.url("/a.bin")))
    monkeypatch.setattr(registry, "DATASETS", (*registry.DATASETS, toy))
    monkeypatch.setattr(fetching, "DEFAULT_POLICY", LOOPBACK)
    monkeypatch.setattr(fetching, "new_client", lambda: httpx.Client(timeout=10.0, trust_env=False))
    env = {"MCRAG_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    result = runner.invoke(app, ["data", "fetch", "toy"], env=env)
    assert result.exit_code == 0, result.output
    assert "toy: 1 files downloaded and checked" in result.output
    assert (tmp_path / "data" / "toy" / "a.bin").read_bytes() == BODY
    result = runner.invoke(app, ["data", "path", "toy"], env=env)
    assert result.exit_code == 0 and result.output.strip() == str(tmp_path / "data" / "toy")
    assert runner.invoke(app, ["data", "verify", "toy"], env=env).exit_code == 0
    with (tmp_path / "data" / "toy" / "a.bin").open("r+b") as fh:
        fh.write(b"\xff")  # same size, other bytes: only the digest tells
    result = runner.invoke(app, ["data", "verify", "toy"], env=env)
    assert result.exit_code == 1 and "1 files differ" in result.output


def test_files_an_installed_package_ships_are_copied_without_a_download(server: FileServer, client: httpx.Client,
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    (site / "toypkg_shipped" / "data").mkdir(parents=True)
    (site / "toypkg_shipped" / "__init__.py").write_text("raise ImportError('never imported')\n")
    data = b"a,b\n1,2\n"
    (site / "toypkg_shipped" / "data" / "a.csv").write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    w = WheelFiles(project="toypkg-shipped", version="1.0", url=server.url("/never.whl"), sha256="0" * 64,
                   size=10, package="toypkg_shipped", base="toypkg_shipped/data/")
    ds = _set(PinnedFile("toy/a.csv", _sha(data), len(data), w.url, member=w.member("a.csv"), wheel=w))
    result = fetching.fetch(ds, tmp_path / "data", policy=LOOPBACK, client=client)
    assert result.from_package == ["toy/a.csv"] and server.requests == []
    assert (tmp_path / "data" / "toy" / "a.csv").read_bytes() == data
