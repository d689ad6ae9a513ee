"""Every CLI mistake is one line on stderr and exit code 2, with a suggestion where there is one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg.store import open_store

pytestmark = pytest.mark.slow  # each test runs the CLI as a process


def mcrag(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
          timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mcrag.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": os.getcwd(), **(env or {})})


def one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "store"
    assert mcrag("kg", "init", "--store", str(folder)).returncode == 0
    return folder


@pytest.mark.parametrize(("args", "hint"), [
    (["kg", "qurey"], "Did you mean 'query'"),
    (["qurey"], "mcrag kg query"),
    (["kg", "query", "--formt", "csv", "ASK {}"], "--format"),
    (["curate", "edit", "--subjct", "x"], "Possible options: --object, --subject"),
    (["curate", "edit", "--subject", "x"], "Missing argument 'claim'"),
    (["kg", "query", "--timeout", "soon", "ASK {}"], "--timeout"),
    (["whatif", "--do", "Effusion=1", "--outcome", "Atelectasis"], "--data"),
])
def test_typos_and_missing_options_are_one_line_with_a_hint(args: list[str], hint: str) -> None:
    assert hint in one_line_error(mcrag(*args))


def test_corrupt_current_file_is_named(store: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    (copy / "CURRENT").write_text("garbage")
    line = one_line_error(mcrag("kg", "stats", "--store", str(copy)))
    assert "damaged" in line and str(copy) in line


def test_reading_commands_make_no_files_in_a_folder_that_is_not_a_store(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    for args in (["kg", "stats", "--store", "."], ["kg", "query", "ASK {}", "--store", "."],
                 ["kg", "export", "-", "--store", str(tmp_path)]):
        line = one_line_error(mcrag(*args, cwd=tmp_path))
        assert "not a store" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert "holds other files" in one_line_error(mcrag("kg", "init", "--store", str(tmp_path)))


def test_serve_on_a_locked_store_is_one_line(store: Path) -> None:
    with open_store(store):
        line = one_line_error(mcrag("serve", "--store", str(store), "--port", "8"))
    assert "locked" in line


def test_serve_on_a_busy_port_is_one_line(store: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        line = one_line_error(mcrag("serve", "--store", str(store), "--port", str(port)))
    assert "in use" in line


@pytest.fixture()
def read_only_mount(store: Path, tmp_path: Path) -> Path:
    """The store seen through a read-only bind mount (needs root and mount rights; skipped otherwise)."""
    target = tmp_path / "ro"
    target.mkdir()
    r = subprocess.run(["mount", "--bind", "-o", "ro", str(store), str(target)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {r.stderr.decode(errors='replace').strip()}")
    yield target
    subprocess.run(["umount", str(target)], check=False)


def test_store_on_a_read_only_mount_can_be_queried(read_only_mount: Path) -> None:
    r = mcrag("kg", "query", "ASK { ?s a mcrag:CausalClaim }", "--store", str(read_only_mount))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "true"
    refused = mcrag("kg", "update", "CLEAR ALL", "--store", str(read_only_mount))
    assert refused.returncode == 2


def test_table_shows_values_as_written(store: Path) -> None:
    r = mcrag("kg", "query", "SELECT ?v WHERE { VALUES ?v { '[red]alarm' 'E[Y | do(X)] [95% CI]' } }",
              "--store", str(store))
    assert r.returncode == 0, r.stderr
    assert "[red]alarm" in r.stdout and "E[Y | do(X)] [95% CI]" in r.stdout


def test_relation_model_is_looked_for_under_mcrag_home(tmp_path: Path) -> None:
    abstracts = tmp_path / "a.txt"
    abstracts.write_text("Aspirin causes ulcers.\n")
    line = one_line_error(mcrag("mine", "literature", str(abstracts), env={"MCRAG_HOME": str(tmp_path / "home")}))
    assert str(tmp_path / "home" / "models" / "relation") in line


def test_serve_on_a_read_only_mount_answers_queries_and_refuses_writes(read_only_mount: Path) -> None:
    import httpx

    from tests.servers import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mcrag.cli", "serve", "--store", str(read_only_mount),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": os.getcwd(), "PYTHONUNBUFFERED": "1",
                                 "MCRAG_TOKEN": "t"})
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        while banner.startswith("WARNING"):
            banner = proc.stdout.readline()
        assert "serving" in banner and "read-only" in banner, banner
        root = f"http://127.0.0.1:{port}"
        ok = httpx.get(f"{root}/sparql", params={"query": "ASK { ?s a mcrag:CausalClaim }"}, timeout=60)
        assert ok.status_code == 200 and ok.json()["boolean"] is True
        refused = httpx.post(f"{root}/sparql", data={"update": "CLEAR ALL"}, headers={"Authorization": "Bearer t"},
                             timeout=60)
        assert refused.status_code == 405 and "read-only" in refused.json()["detail"]
    finally:
        proc.terminate()
        proc.wait(timeout=15)
