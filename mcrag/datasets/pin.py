"""Write the pinned SHA-256 digests of data sets from a local copy: ``python -m mcrag.datasets.pin --from DIR``.

Run it only on a copy whose files are byte-identical to the public source (after the named repairs);
``fetch`` then refuses anything else. Sets marked ``derived`` are not pinned.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

from mcrag.datasets.registry import DATASETS, PINS_FOLDER, DataSet
from mcrag.datasets.verify import sha256_file

PINS_DIR = Path(__file__).resolve().parent / PINS_FOLDER
PACK_ABOVE = 500
"""Pin files of sets with more files than this are gzipped."""


def collect(ds: DataSet, root: Path) -> dict[str, list[object]]:
    """``{path: [sha256, size]}`` for every file of ``ds`` found under ``root``."""
    pins: dict[str, list[object]] = {}
    for part in ds.parts:
        base = root / part.folder
        candidates = [base / n for n in part.only] if part.only else sorted(p for p in base.rglob("*"))
        for path in candidates:
            if not path.is_file() or path.name.startswith("."):
                if part.only:
                    raise FileNotFoundError(f"{path} is missing from the copy being pinned")
                continue
            rel = path.relative_to(root).as_posix()
            if rel not in pins:
                pins[rel] = [sha256_file(path), path.stat().st_size]
    if not pins:
        raise FileNotFoundError(f"no files of {ds.name} under {root}")
    return pins


def write(ds: DataSet, pins: dict[str, list[object]], out_dir: Path = PINS_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"  {json.dumps(path)}: {json.dumps(v)}" for path, v in sorted(pins.items())]
    body = '{"files": {\n' + ",\n".join(lines) + "\n}}\n"  # one file per line: reviewable diffs
    for stale in (out_dir / f"{ds.name}.json", out_dir / f"{ds.name}.json.gz"):
        stale.unlink(missing_ok=True)
    if len(pins) > PACK_ABOVE:
        target = out_dir / f"{ds.name}.json.gz"
        target.write_bytes(gzip.compress(body.encode("utf-8"), mtime=0))
    else:
        target = out_dir / f"{ds.name}.json"
        target.write_text(body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*", help="sets to pin (default: every set that is not derived)")
    ap.add_argument("--from", dest="root", type=Path, required=True, help="the data folder to pin from")
    args = ap.parse_args(argv)
    chosen = [d for d in DATASETS if d.fetchable and (not args.names or d.name in args.names)]
    for ds in chosen:
        pins = collect(ds, args.root)
        target = write(ds, pins)
        print(f"{ds.name}: {len(pins)} files, {sum(int(v[1]) for v in pins.values())} bytes -> {target}")  # type: ignore[call-overload]


if __name__ == "__main__":
    main()
