"""The data set registry, the locator and the ``mcrag data`` commands (no network anywhere)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcrag.datasets import locate, registry, repairs
from mcrag.datasets.verify import sha256_file
from mcrag.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
MAIN_JOB_AND_BENCHMARK_SETS = {"iu_xray", "iu_xray_reports", "vqa_rad", "cxr_covid", "nih_1000", "nih_621",
                               "pediatric_cxr", "pneumoniamnist", "labeler", "bc5cdr", "ade_corpus_v2", "pubmedqa",
                               "medquad", "causal_language", "negex", "biored", "ontologies", "cxr_labels",
                               "padchest_tree"}


def test_every_set_is_listed_with_licence_source_and_pins() -> None:
    assert set(registry.names()) == MAIN_JOB_AND_BENCHMARK_SETS
    assert len(registry.names()) == len(set(registry.names()))
    for ds in registry.DATASETS:
        assert ds.licence and ds.source and ds.title and ds.homepage.startswith("https://"), ds.name
        if ds.fetchable:
            assert ds.files, f"{ds.name} has no pinned files"
            for f in ds.files:
                assert f.url.startswith("https://"), f.url
                assert len(f.sha256) == 64 and f.size > 0
                assert (f.wheel is None) == (f.member == "")
                ds.part_for(f.path)  # every pinned file belongs to a part
        else:
            assert ds.markers and not ds.files


def test_urls_point_at_the_pinned_commit_or_wheel() -> None:
    files = {f.path: f for f in registry.get("iu_xray").files}
    assert files["iu_xray/openi_labels.csv"].url == \
        "https://github.com/ncbi-nlp/NegBio/raw/073199e/examples/openi_gld_std14.csv"
    assert files["iu_xray/annotation.json"].repair == "r2gen_test_key"
    biored = {f.path: f for f in registry.get("biored").files}
    assert biored["literature/biored/Train.PubTator"].url.endswith("/raw/637e02c/RE%20BioRED/data/BioRED/Train.PubTator")
    padchest = {f.path: f for f in registry.get("cxr_labels").files}
    f = padchest["cxr_labels/PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz"]
    assert f.wheel is registry.TORCHXRAYVISION
    assert f.member == "torchxrayvision/data/PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz"


def test_unknown_set_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: iu_xray"):
        registry.get("mimic")


def test_the_r2gen_repair_names_the_test_split_and_keeps_the_length() -> None:
    broken = b'{"train": [{"id": 1}], "val": [{"id": 2}], "    ": [{"id": 3}]}'
    fixed = repairs.apply("r2gen_test_key", broken)
    assert json.loads(fixed)["test"] == [{"id": 3}] and len(fixed) == len(broken)
    assert repairs.apply("r2gen_test_key", fixed) == fixed


def test_an_empty_data_folder_has_nothing_but_what_packages_ship(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", data_dir=tmp_path / "data")
    for name in ("iu_xray", "vqa_rad", "cxr_covid", "bc5cdr", "padchest_tree"):
        a = locate.availability(settings, name)
        assert not a.present and a.where is None and a.missing, name
    assert "mcrag data fetch iu_xray" in locate.how_to_get("iu_xray")
    assert "fetch cannot pin" in locate.how_to_get("cxr_covid")


def test_a_truncated_file_is_not_present(tmp_path: Path) -> None:
    ds = registry.get("negex")
    (f,) = ds.files
    target = tmp_path / f.path
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x" * (f.size - 1))
    assert locate.availability_in(tmp_path, "negex").missing == (f.path,)


def _xrv_installed() -> bool:
    return locate.package_dir("torchxrayvision") is not None


@pytest.mark.skipif(not _xrv_installed(), reason="torchxrayvision is not installed")
def test_label_tables_and_iu_reports_come_from_the_installed_wheel_without_importing_it(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from mcrag.settings import Settings\n"
        "from mcrag.datasets.locate import cxr_labels_dir, iu_reports_archive, availability\n"
        f"s = Settings(home=Path({str(tmp_path)!r}), data_dir=Path({str(tmp_path / 'empty')!r}))\n"
        "print(cxr_labels_dir(s)); print(iu_reports_archive(s)); print(availability(s, 'cxr_labels').via)\n"
        "print('torchxrayvision' in sys.modules, 'torchvision' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO_ROOT).stdout.splitlines()
    labels, reports, via, imported = out
    assert Path(labels).parts[-2:] == ("torchxrayvision", "data")
    assert (Path(labels) / "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz").is_file()
    assert Path(reports).name == "NLMCXR_reports.tgz" and Path(reports).is_file()
    assert via.startswith("installed package torchxrayvision")
    assert imported == "False False"


@pytest.mark.shared_data
def test_the_shared_copy_matches_every_pin(shared_data: Path) -> None:
    for ds in registry.DATASETS:
        if not ds.fetchable:
            continue
        for f in ds.files:
            path = shared_data / f.path
            assert path.stat().st_size == f.size and sha256_file(path) == f.sha256, f.path


@pytest.mark.shared_data
def test_the_pinned_annotation_is_the_repaired_upstream_file(shared_data: Path) -> None:
    # Upstream names the test split "    "; the pin is reached from those exact bytes by the repair.
    ours = (shared_data / "iu_xray" / "annotation.json").read_bytes()
    upstream = ours.replace(b'], "test": [{', b'], "    ": [{', 1)
    assert upstream != ours
    (pin,) = [f for f in registry.get("iu_xray").files if f.path == "iu_xray/annotation.json"]
    import hashlib

    assert hashlib.sha256(repairs.apply(pin.repair, upstream)).hexdigest() == pin.sha256


@pytest.mark.shared_data
@pytest.mark.skipif(not _xrv_installed(), reason="torchxrayvision is not installed")
def test_the_installed_wheel_carries_the_pinned_label_tables() -> None:
    for name in ("cxr_labels", "iu_xray_reports"):
        for f in registry.get(name).files:
            src = locate.installed_member(f)
            assert src is not None and sha256_file(src) == f.sha256, f.path


def _cli(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    from mcrag.cli import app

    result = CliRunner().invoke(app, args, env=env)
    return result.exit_code, result.output


def test_data_list_shows_every_set_with_status(tmp_path: Path) -> None:
    code, out = _cli(["data", "list", "--format", "json"], {"MCRAG_DATA_DIR": str(tmp_path)})
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(rows) == MAIN_JOB_AND_BENCHMARK_SETS
    assert rows["iu_xray"]["status"] == "absent" and "mcrag data fetch iu_xray" in rows["iu_xray"]["where"]
    assert rows["vqa_rad"]["licence"].startswith("VQA-RAD: CC0") and rows["vqa_rad"]["size_bytes"] > 17_000_000
    assert rows["cxr_covid"]["fetch"].startswith("derived")
    code, out = _cli(["data", "list"], {"MCRAG_DATA_DIR": str(tmp_path), "COLUMNS": "200"})
    assert code == 0 and "pneumoniamnist" in out and "MedMNIST: CC BY 4.0" in out


@pytest.mark.slow
def test_cli_exit_codes_for_data_errors(tmp_path: Path) -> None:
    env = {**_base_env(), "MCRAG_DATA_DIR": str(tmp_path)}
    cases = {("data", "path", "iu_xray"): "not present: run `mcrag data fetch iu_xray`",
             ("data", "fetch", "mimic"): "unknown data set 'mimic'",
             ("data", "fetch", "cxr_covid"): "derived"}
    for args, message in cases.items():
        proc = subprocess.run([sys.executable, "-m", "mcrag.cli", *args], capture_output=True, text=True, env=env,
                              cwd=REPO_ROOT, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and message in proc.stderr
    assert list(tmp_path.iterdir()) == []


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("MCRAG_")} | {"PYTHONPATH": str(REPO_ROOT)}


def test_without_a_shared_folder_the_data_folder_is_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcrag import settings as settings_module

    monkeypatch.delenv("MCRAG_DATA_DIR", raising=False)
    monkeypatch.setenv("MCRAG_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(settings_module, "_default_data_dir", lambda: tmp_path / "no-shared-folder")
    assert settings_module.load_settings().data_dir == tmp_path / "home" / "data"
    (tmp_path / "no-shared-folder").mkdir()
    assert settings_module.load_settings().data_dir == tmp_path / "no-shared-folder"


def test_torchvision_is_either_absent_or_loads() -> None:
    # torchxrayvision is installed without its dependencies: PyPI's torchvision is a CUDA build that
    # fails to load beside the CPU torch, and then transformers cannot import any model class.
    import importlib.util

    if importlib.util.find_spec("torchvision") is None:
        return
    proc = subprocess.run([sys.executable, "-c", "import torchvision, transformers; "
                           "from transformers import GPT2LMHeadModel"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, "torchvision is installed but does not load: " + proc.stderr[-500:]
