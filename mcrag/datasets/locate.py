"""Where a data set is present: in the data folder, or inside an installed package that ships it.

The label tables and the IU-Xray full reports ship in the torchxrayvision wheel. Its folder is found
with ``importlib.util.find_spec``, which locates a top-level package without running it:
``importlib.resources.files("torchxrayvision")`` would import the package, and its ``__init__``
imports torchvision, which MCRAG neither needs nor installs.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from mcrag.datasets.registry import DataSet, PinnedFile, get
from mcrag.settings import Settings

DATA_FOLDER = "data folder"


@dataclass(frozen=True)
class Availability:
    """Whether a set can be read, from where, and what is missing otherwise."""

    name: str
    present: bool
    where: Path | None
    """The folder to read the set from (in the data folder or in the installed package)."""
    via: str
    """``data folder`` or ``installed package <project> <version>``; empty when absent."""
    missing: tuple[str, ...] = ()
    """Paths (relative to the data folder) that are absent or of the wrong size there."""

    def file(self, name: str) -> Path:
        """A file of the set inside :attr:`where` (only meaningful when present)."""
        if self.where is None:
            raise FileNotFoundError(f"data set {self.name} is not present: {how_to_get(self.name)}")
        return self.where / name


def package_dir(package: str) -> Path | None:
    """The folder of an installed top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def installed_member(f: PinnedFile) -> Path | None:
    """The installed package's copy of a file that ships in a wheel, when it has the pinned size."""
    if f.wheel is None:
        return None
    root = package_dir(f.wheel.package)
    if root is None:
        return None
    path = root.parent / f.member
    try:
        return path if path.stat().st_size == f.size else None
    except OSError:
        return None


def _installed_version(project: str) -> str:
    try:
        return importlib.metadata.version(project)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _missing_in(data_dir: Path, ds: DataSet) -> tuple[str, ...]:
    if not ds.fetchable:
        out = []
        for m in ds.markers:
            p = data_dir / m
            if not (p.is_file() or (p.is_dir() and any(p.iterdir()))):
                out.append(m)
        return tuple(out)
    missing = []
    for f in ds.files:
        try:
            if (data_dir / f.path).stat().st_size != f.size:
                missing.append(f.path)
        except OSError:
            missing.append(f.path)
    return tuple(missing)


def availability_in(data_dir: Path, name: str) -> Availability:
    """Where set ``name`` is present: the data folder first, then the installed package that ships it."""
    ds = get(name)
    missing = _missing_in(data_dir, ds)
    if not missing:
        return Availability(name, True, data_dir / ds.folder, DATA_FOLDER)
    if ds.package is not None:
        members = [installed_member(f) for f in ds.files]
        if members and all(m is not None for m in members):
            where = members[0].parent  # type: ignore[union-attr]
            via = f"installed package {ds.package.project} {_installed_version(ds.package.project)}".rstrip()
            return Availability(name, True, where, via)
    return Availability(name, False, None, "", missing)


def availability(settings: Settings, name: str) -> Availability:
    return availability_in(settings.data_dir, name)


def dataset_dir(settings: Settings, name: str) -> Path | None:
    """The folder to read set ``name`` from, or None when it is absent."""
    return availability(settings, name).where


def cxr_labels_dir(settings: Settings) -> Path | None:
    """The folder holding the label tables: ``<data>/cxr_labels`` or the installed ``torchxrayvision/data``."""
    return dataset_dir(settings, "cxr_labels")


def iu_reports_archive(settings: Settings) -> Path | None:
    """``NLMCXR_reports.tgz`` (IU-Xray full reports as XML) from the data folder or the installed wheel."""
    where = dataset_dir(settings, "iu_xray_reports")
    return where / "NLMCXR_reports.tgz" if where is not None else None


def how_to_get(name: str) -> str:
    """One line telling a user how to obtain set ``name``."""
    ds = get(name)
    if ds.fetchable:
        return f"run `mcrag data fetch {name}`"
    return f"a derived copy that fetch cannot pin: get the source from {ds.homepage} (see `mcrag data list`)"
