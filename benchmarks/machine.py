"""What machine a benchmark ran on: CPU, memory, platform, package versions, load, date."""

from __future__ import annotations

import datetime as dt
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any


def _proc_field(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine_info(packages: tuple[str, ...] = ()) -> dict[str, Any]:
    """A dict for the ``machine`` field of a results JSON, so figures say where they were measured."""
    versions: dict[str, str | None] = {}
    for pkg in packages:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    mem = _proc_field("/proc/meminfo", "MemTotal:")
    return {"cpu_count": os.cpu_count(), "cpu_model": _proc_field("/proc/cpuinfo", "model name"),
            "memory_gb": round(int(mem.split()[0]) / 2**20, 1) if mem else None,
            "platform": platform.platform(), "python": platform.python_version(), "packages": versions,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
