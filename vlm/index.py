"""The exemplar index: unit vectors in one FAISS HNSW graph plus the metadata retrieval reasons over.

Per exemplar it keeps the label bitmask (positives) and the mask of annotated labels, so causal
filtering is a few vectorised bit operations over the candidates; the confounder stratum
(source | view | device) with an inverse-probability weight ``P(z) / P(z | finding)`` (a backdoor
adjustment over the index: reweighted, no stratum predicts a finding any more); and per-stratum mean
vectors, so retrieval can discount the part of a similarity that only comes from sharing a stratum.
Optionally, the front end's own probability per exemplar and label (``front_end``; NaN where a label
was not scored): from these, :meth:`ExemplarIndex.front_end_offsets` tells how far a stratum's mean
front-end logit lies from the stratum-weighted mean, the part of the score the confounder alone
explains, which ``causal`` inference takes off a query's reading. A front end scores its own training
films from memory, so those scores can hide the confounder's effect; the index can therefore carry a
**calibration set** (:class:`CalibrationSet`: front-end scores, strata and label bits of cases the front
end did not train on, e.g. out-of-fold scores of the exemplars), which the offsets are estimated from
when present.
Saved as ``index.faiss`` + ``arrays.npz`` + ``exemplars.jsonl`` + ``meta.json`` in one folder,
written to a temporary folder first and swapped in, so a failed build leaves the old index alone.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from vlm.errors import IndexMissingError
from vlm.labels import LABELS, names_from_bits

INDEX_FORMAT = 1
WEIGHT_CLIP = (0.2, 5.0)
LOGIT_CLIP = 1e-6
"""Front-end probabilities are clipped to [eps, 1 - eps] before taking logits."""
ADJUSTMENTS = ("off", "stratum", "stratum-finding")
"""How :meth:`ExemplarIndex.front_end_offsets` estimates the confounder's share of a front-end score."""
SCORE_SOURCES = ("auto", "exemplars", "calibration")
"""Which scores :meth:`ExemplarIndex.front_end_offsets` reads: ``auto`` (the calibration set when the index
holds one, else the exemplars' own scores), or one of them explicitly."""


def logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=np.float64), LOGIT_CLIP, 1 - LOGIT_CLIP)
    return np.log(q / (1 - q))


@dataclass(frozen=True)
class StratumOffsets:
    """Per stratum code: mean front-end logit (NaN: no scored exemplar, or not identifiable) and its offset."""

    label: str
    method: str
    means: np.ndarray
    offsets: np.ndarray
    reference: float
    counts: np.ndarray
    reason: str = ""
    """Why no stratum can be adjusted (empty when some can)."""
    source: str = "exemplars"
    """Whose scores the offsets come from: ``exemplars`` (the front end's scores of the indexed cases) or
    ``calibration`` (the index's calibration set)."""


@dataclass(frozen=True)
class CalibrationSet:
    """Front-end scores of cases the front end did not train on, to estimate the stratum offsets from.

    ``scores``: (m, labels) probabilities, NaN where a label was not scored; ``strata``: (m,) codes into
    the index's stratum names; ``label_bits`` / ``known_bits``: (m,) label masks, as for exemplars.
    """

    scores: np.ndarray
    strata: np.ndarray
    label_bits: np.ndarray
    known_bits: np.ndarray
    description: str = ""

    def __len__(self) -> int:
        return len(self.strata)


@dataclass(frozen=True)
class Exemplar:
    """What a retrieved case shows a user: where it came from, its findings and its text."""

    id: str
    source: str
    split: str = ""
    view: str = "unknown"
    device: str = "unknown"
    findings: tuple[str, ...] = ()
    text: str = ""
    image: str | None = None
    group: str = ""

    @property
    def stratum(self) -> str:
        return f"{self.source}|{self.view}|{self.device}"


@dataclass(frozen=True)
class IndexInfo:
    """How an index was built; ``encoder`` names the image model its vectors came from."""

    dim: int
    count: int
    encoder: str | None = None
    encoder_fingerprint: str | None = None
    text_encoder: str | None = None
    sources: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 64
    labels: tuple[str, ...] = LABELS
    built_at: str = ""
    build_seconds: float = 0.0
    format: int = INDEX_FORMAT
    extra: dict[str, Any] = field(default_factory=dict)


def confounder_weights(label_bits: np.ndarray, known_bits: np.ndarray, strata: np.ndarray,
                       n_labels: int = len(LABELS)) -> np.ndarray:
    """Inverse-probability weights ``P(z) / P(z | y)`` averaged over each exemplar's findings ``y``.

    ``z`` is the confounder stratum. Exemplars without a positive label count under a pseudo-finding
    "none" (or "unlabelled" when nothing is annotated). Weights are clipped to [0.2, 5] and scaled to
    mean 1, so they re-rank without changing the overall score scale.
    """
    n = len(strata)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    bits = ((label_bits[:, None] >> np.arange(n_labels, dtype=np.uint32)) & 1).astype(bool)
    none = ~bits.any(axis=1)
    unlabelled = none & (known_bits == 0)
    cols = np.concatenate([bits, (none & ~unlabelled)[:, None], unlabelled[:, None]], axis=1)
    n_strata = int(strata.max()) + 1
    onehot = np.zeros((n, n_strata), dtype=np.float64)
    onehot[np.arange(n), strata] = 1.0
    n_zy = onehot.T @ cols.astype(np.float64)  # (S, Y)
    n_y = cols.sum(axis=0).astype(np.float64)  # (Y,)
    p_z = onehot.sum(axis=0) / n  # (S,)
    p_z_given_y = n_zy / np.where(n_y > 0, n_y, 1.0)  # (S, Y)
    ratio = p_z[:, None] / np.where(p_z_given_y > 0, p_z_given_y, np.inf)  # (S, Y)
    per = ratio[strata] * cols  # (n, Y)
    w = per.sum(axis=1) / np.maximum(cols.sum(axis=1), 1)
    w = np.clip(w, *WEIGHT_CLIP)
    return (w / w.mean()).astype(np.float32)


def stratum_centroids(vectors: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """Mean vector per stratum (not renormalised: q . mean = the mean similarity to that stratum)."""
    n_strata = int(strata.max()) + 1 if len(strata) else 0
    out = np.zeros((n_strata, vectors.shape[1]), dtype=np.float32)
    np.add.at(out, strata, vectors)
    counts = np.bincount(strata, minlength=n_strata).astype(np.float32)
    return out / np.maximum(counts, 1)[:, None]


def _offsets(scores: np.ndarray, strata: np.ndarray, label_bits: np.ndarray, known_bits: np.ndarray, label: int,
             n_strata: int, name: str, method: str, source: str) -> StratumOffsets | None:
    """The stratum offsets of one label from one set of scored cases (see ``ExemplarIndex.front_end_offsets``)."""
    rows = np.flatnonzero(np.isfinite(scores))
    counts = np.bincount(strata[rows], minlength=n_strata)
    if (counts > 0).sum() < 2:
        return None
    lg = logit(scores[rows])
    z = strata[rows]
    means = np.full(n_strata, np.nan)
    reason = ""
    if method == "stratum":
        scored = counts > 0
        means[scored] = np.bincount(z, weights=lg, minlength=n_strata)[scored] / counts[scored]
        p_z = counts / counts.sum()
    else:
        bit = np.uint32(1 << label)
        known = (known_bits[rows] & bit) != 0
        y = ((label_bits[rows] & bit) != 0).astype(int)
        z, lg, y = z[known], lg[known], y[known]
        cell = np.zeros((n_strata, 2))
        sums = np.zeros((n_strata, 2))
        np.add.at(cell, (z, y), 1.0)
        np.add.at(sums, (z, y), lg)
        p_y = cell.sum(axis=0) / max(cell.sum(), 1.0)
        full = (cell > 0).all(axis=1)
        if p_y.min() == 0:
            full[:] = False
        means[full] = ((sums[full] / cell[full]) * p_y).sum(axis=1)
        counts = cell.sum(axis=1).astype(np.int64)
        p_z = np.where(full, counts, 0) / max(np.where(full, counts, 0).sum(), 1)
        if full.sum() < 2:
            whose = "exemplars" if source == "exemplars" else "calibration cases"
            reason = (f"not identifiable: fewer than two strata hold scored {whose} both with and without {name}")
    ok = np.isfinite(means)
    reference = float((means[ok] * p_z[ok]).sum()) if ok.sum() >= 2 else float("nan")
    offsets = means - reference if ok.sum() >= 2 else np.full(n_strata, np.nan)
    return StratumOffsets(name, method, means, offsets, reference, counts, reason, source)


class ExemplarIndex:
    """HNSW over unit vectors (inner product = cosine) with per-exemplar arrays and metadata."""

    def __init__(self, index: faiss.Index, *, label_bits: np.ndarray, known_bits: np.ndarray,
                 strata: np.ndarray, stratum_names: Sequence[str], weights: np.ndarray, centroids: np.ndarray,
                 exemplars: Sequence[Exemplar] | None, info: IndexInfo, front_end: np.ndarray | None = None,
                 calibration: CalibrationSet | None = None) -> None:
        self.index = index
        self.label_bits = label_bits.astype(np.uint32)
        self.known_bits = known_bits.astype(np.uint32)
        self.strata = strata.astype(np.int32)
        self.stratum_names = list(stratum_names)
        self.weights = weights.astype(np.float32)
        self.centroids = centroids.astype(np.float32)
        self._exemplars = list(exemplars) if exemplars is not None else None
        self.info = info
        self.front_end = None if front_end is None else np.asarray(front_end, dtype=np.float32)
        """(n, labels) front-end probabilities of the exemplars, NaN where not scored; None when absent."""
        if self.front_end is not None and self.front_end.shape != (len(self.strata), len(info.labels)):
            raise ValueError(f"front-end scores need shape ({len(self.strata)}, {len(info.labels)}), "
                             f"got {self.front_end.shape}")
        self.calibration: CalibrationSet | None = None
        """Held-out front-end scores the offsets are estimated from when present (see :meth:`set_calibration`)."""
        if calibration is not None:
            self._check_calibration(calibration)
            self.calibration = calibration
        self._offsets: dict[tuple[int, str, str], StratumOffsets | None] = {}
        self.location: str | None = None
        self._absent: dict[int, np.ndarray] = {}
        self._absent_flat: dict[int, tuple[np.ndarray, Any]] = {}
        self.set_ef(info.ef_search)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def set_ef(self, ef: int) -> None:
        if not hasattr(self, "_hnsw"):
            self._hnsw = getattr(faiss.downcast_index(self.index), "hnsw", None)
            self._ef = -1
        if self._hnsw is not None and ef != self._ef:
            self._hnsw.efSearch = int(ef)
            self._ef = int(ef)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarities and row numbers of the ``k`` nearest (``-1`` rows are padding)."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1, self.dim)
        k = max(1, min(int(k), len(self)))
        sims, idx = self.index.search(q, k)
        return sims, idx

    @property
    def label_matrix(self) -> np.ndarray:
        """Positives as an (n, labels) uint8 matrix, built once: bit unpacking per query costs more."""
        if not hasattr(self, "_label_matrix"):
            shifts = np.arange(len(self.info.labels), dtype=np.uint32)
            self._label_matrix = ((self.label_bits[:, None] >> shifts) & 1).astype(np.uint8)
        return self._label_matrix

    def absent_bitmap(self, label: int) -> np.ndarray:
        """Packed bitmap (FAISS ``IDSelectorBitmap`` order) of rows annotated as *not* having ``label``."""
        if label not in self._absent:
            bit = np.uint32(1 << label)
            mask = ((self.known_bits & bit) != 0) & ((self.label_bits & bit) == 0)
            self._absent[label] = np.packbits(mask, bitorder="little")
        return self._absent[label]

    def nearest_absent(self, query: np.ndarray, label: int, k: int = 1, sample: int = 2048
                       ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest rows annotated as lacking ``label``: exact over them, or over a fixed sample of them.

        Counterfactual exemplars need "the nearest case without this finding", where the usual
        neighbourhood is mostly excluded, so a filtered graph search would have to widen its beam a
        lot. A flat inner-product scan over at most ``sample`` such rows (all of them when fewer; a
        deterministic sample otherwise) does it at a fixed cost: 2048 rows x 384-d (3 MB, cache
        resident) take about 0.1 ms on one core, whatever the index size.
        """
        if label not in self._absent_flat:
            bit = np.uint32(1 << label)
            rows = np.flatnonzero(((self.known_bits & bit) != 0) & ((self.label_bits & bit) == 0))
            if len(rows) > sample:
                rows = np.sort(np.random.default_rng(label).choice(rows, size=sample, replace=False))
            flat = faiss.IndexFlatIP(self.dim)
            if len(rows):
                flat.add(np.ascontiguousarray(self.index.reconstruct_batch(rows.astype(np.int64)), dtype=np.float32))
            self._absent_flat[label] = (rows, flat)
        rows, flat = self._absent_flat[label]
        if len(rows) == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        sims, idx = flat.search(q, min(k, len(rows)))
        keep = idx[0] >= 0
        return sims[0][keep], rows[idx[0][keep]]

    def search_where(self, query: np.ndarray, k: int, bitmap: np.ndarray, ef: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest neighbours among the rows set in ``bitmap`` only (filtered HNSW search)."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(-1, self.dim)
        sel = faiss.IDSelectorBitmap(len(self), faiss.swig_ptr(bitmap))
        params = faiss.SearchParametersHNSW(sel=sel, efSearch=int(ef or self.info.ef_search))  # type: ignore[attr-defined]
        sims, idx = self.index.search(q, max(1, min(int(k), len(self))), params=params)
        return sims, idx

    def exemplar(self, row: int) -> Exemplar:
        if self._exemplars is not None:
            return self._exemplars[row]
        z = self.stratum_names[int(self.strata[row])].split("|")
        return Exemplar(id=f"row-{row}", source=z[0], view=z[1] if len(z) > 1 else "unknown",
                        device=z[2] if len(z) > 2 else "unknown",
                        findings=names_from_bits(int(self.label_bits[row])))

    # -- the front end's reading per stratum ---------------------------------------------------------
    def stratum_code(self, name: str) -> int | None:
        if not hasattr(self, "_codes"):
            self._codes = {n: i for i, n in enumerate(self.stratum_names)}
        return self._codes.get(name)

    def nearest_stratum(self, query: np.ndarray) -> int:
        """The stratum whose exemplars are, on average, most similar to ``query``."""
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        return int(np.argmax(self.centroids @ q))

    def _check_calibration(self, cal: CalibrationSet) -> None:
        m = len(cal.strata)
        if np.asarray(cal.scores).shape != (m, len(self.info.labels)):
            raise ValueError(f"calibration scores need shape ({m}, {len(self.info.labels)}), "
                             f"got {np.asarray(cal.scores).shape}")
        if not (len(cal.label_bits) == len(cal.known_bits) == m):
            raise ValueError("calibration scores, strata and label masks must have the same length")
        if m and (int(np.min(cal.strata)) < 0 or int(np.max(cal.strata)) >= len(self.stratum_names)):
            raise ValueError("calibration strata must be codes of the index's strata")

    def set_calibration(self, scores: np.ndarray, strata: Sequence[str], label_bits: np.ndarray,
                        known_bits: np.ndarray, description: str = "") -> CalibrationSet:
        """Attach held-out front-end scores (by stratum name); cases of a stratum the index lacks are dropped.

        ``scores`` is (m, labels) probabilities, NaN where not scored, on the scale the exemplar scores
        (and queries) use. Replaces any earlier calibration set and clears the cached offsets.
        """
        codes = np.array([self.stratum_code(z) if self.stratum_code(z) is not None else -1 for z in strata],
                         dtype=np.int32)
        keep = codes >= 0
        cal = CalibrationSet(np.asarray(scores, dtype=np.float32)[keep], codes[keep],
                          np.asarray(label_bits, dtype=np.uint32)[keep], np.asarray(known_bits, dtype=np.uint32)[keep],
                          description)
        self._check_calibration(cal)
        self.calibration = cal
        self._offsets.clear()
        return cal

    def score_source(self, source: str = "auto") -> str | None:
        """Which scores ``source`` resolves to here (``exemplars`` / ``calibration``), None when absent."""
        if source not in SCORE_SOURCES:
            raise ValueError(f"unknown score source {source!r}; use one of {', '.join(SCORE_SOURCES)}")
        if source == "auto":
            source = "calibration" if self.calibration is not None else "exemplars"
        if source == "calibration":
            return "calibration" if self.calibration is not None else None
        return "exemplars" if self.front_end is not None else None

    def front_end_offsets(self, label: int, method: str = "stratum", source: str = "auto") -> StratumOffsets | None:
        """How far each stratum's mean front-end logit for ``label`` lies from the stratum-weighted mean.

        ``stratum``: the offset of stratum ``v`` is ``E[logit | v] - sum_v' P(v') E[logit | v']`` over
        the scored cases (the backdoor formula, ``P(v)`` their share). ``stratum-finding``: the
        same over ``E_y[logit | v, y]``, the stratum mean standardised to the pooled mix of the
        finding ``y`` (present / absent), so a stratum is not moved for holding more cases of the
        finding; a stratum that lacks either level has no offset (not identifiable there). None
        without scores for the label, or with fewer than two scored strata.

        ``source`` (see :data:`SCORE_SOURCES`): by default the calibration set when the index holds one
        (held-out scores), else the exemplars' own scores; the result records which.
        """
        if method == "off":
            return None
        if method not in ADJUSTMENTS:
            raise ValueError(f"unknown front-end adjustment {method!r}; use one of {', '.join(ADJUSTMENTS)}")
        used = self.score_source(source)
        if used is None:
            return None
        key = (int(label), method, used)
        if key not in self._offsets:
            if used == "calibration":
                cal = self.calibration
                assert cal is not None
                self._offsets[key] = _offsets(np.asarray(cal.scores)[:, label], np.asarray(cal.strata),
                                              np.asarray(cal.label_bits), np.asarray(cal.known_bits), label,
                                              len(self.stratum_names), self.info.labels[label], method, used)
            else:
                assert self.front_end is not None
                self._offsets[key] = _offsets(self.front_end[:, label], self.strata, self.label_bits, self.known_bits,
                                              label, len(self.stratum_names), self.info.labels[label], method, used)
        return self._offsets[key]

    # -- persistence -------------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        """Write the index atomically: a sibling temporary folder is filled, then swapped in."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            faiss.write_index(self.index, str(tmp / "index.faiss"))
            extra_arrays = {} if self.front_end is None else {"front_end": self.front_end}
            if self.calibration is not None:
                cal = self.calibration
                extra_arrays.update(calib_scores=np.asarray(cal.scores, dtype=np.float32),
                                    calib_strata=np.asarray(cal.strata, dtype=np.int32),
                                    calib_label_bits=np.asarray(cal.label_bits, dtype=np.uint32),
                                    calib_known_bits=np.asarray(cal.known_bits, dtype=np.uint32))
            np.savez(tmp / "arrays.npz", label_bits=self.label_bits, known_bits=self.known_bits,
                     strata=self.strata, weights=self.weights, centroids=self.centroids, **extra_arrays)
            with (tmp / "exemplars.jsonl").open("w", encoding="utf-8") as fh:
                for e in self._exemplars or []:
                    fh.write(json.dumps(asdict(e), ensure_ascii=False) + "\n")
            meta: dict[str, Any] = {"info": asdict(self.info), "stratum_names": self.stratum_names}
            if self.calibration is not None:
                meta["calibration"] = {"count": len(self.calibration), "description": self.calibration.description}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
            old = None
            if folder.exists():
                old = folder.with_name(f".{folder.name}.old-{os.getpid()}-{int(time.time())}")
                folder.rename(old)
            tmp.rename(folder)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: Path | str) -> ExemplarIndex:
        folder = Path(folder)
        needed = ["index.faiss", "arrays.npz", "meta.json"]
        if not folder.is_dir() or any(not (folder / n).is_file() for n in needed):
            raise IndexMissingError(f"no exemplar index at {folder}; build it with `mcrag index build`")
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        info_d = dict(meta["info"])
        for key in ("sources", "splits", "labels"):
            info_d[key] = tuple(info_d.get(key, ()))
        info = IndexInfo(**info_d)
        if info.format != INDEX_FORMAT:
            raise IndexMissingError(f"index at {folder} has format {info.format}, this version reads "
                                    f"{INDEX_FORMAT}; rebuild it with `mcrag index build`")
        arrays = np.load(folder / "arrays.npz")
        exemplars = []
        ex_file = folder / "exemplars.jsonl"
        if ex_file.is_file():
            with ex_file.open(encoding="utf-8") as fh:
                for line in fh:
                    d = json.loads(line)
                    d["findings"] = tuple(d.get("findings", ()))
                    exemplars.append(Exemplar(**d))
        index = faiss.read_index(str(folder / "index.faiss"))
        loaded = cls(index, label_bits=arrays["label_bits"], known_bits=arrays["known_bits"],
                   strata=arrays["strata"], stratum_names=meta["stratum_names"], weights=arrays["weights"],
                   centroids=arrays["centroids"], exemplars=exemplars or None, info=info,
                   front_end=arrays["front_end"] if "front_end" in arrays.files else None,
                   calibration=CalibrationSet(arrays["calib_scores"], arrays["calib_strata"], arrays["calib_label_bits"],
                                           arrays["calib_known_bits"],
                                           str(meta.get("calibration", {}).get("description", "")))
                   if "calib_scores" in arrays.files else None)
        loaded.location = str(folder)
        return loaded


def index_from_vectors(vectors: np.ndarray, label_bits: np.ndarray, known_bits: np.ndarray, strata: Sequence[str] | np.ndarray,
                *, exemplars: Sequence[Exemplar] | None = None, hnsw_m: int = 32, ef_construction: int = 80,
                ef_search: int = 64, info: dict[str, Any] | None = None,
                progress: Callable[[int, int], None] | None = None, chunk: int = 50_000,
                front_end: np.ndarray | None = None) -> ExemplarIndex:
    """An index over unit ``vectors`` (n x d) with their label masks and stratum names (or codes).

    ``front_end``: optionally the front end's probability per exemplar and label (n x labels, NaN
    where a label was not scored), for the confounder-adjusted reading in ``causal`` inference.
    """
    vecs = np.ascontiguousarray(vectors, dtype=np.float32)
    if vecs.ndim != 2 or len(vecs) == 0:
        raise ValueError(f"need a non-empty (n, d) array of vectors, got shape {vecs.shape}")
    n, d = vecs.shape
    if not (len(label_bits) == len(known_bits) == len(strata) == n):
        raise ValueError("vectors, label masks and strata must have the same length")
    if exemplars is not None and len(exemplars) != n:
        raise ValueError("one exemplar record per vector is required")
    t0 = time.perf_counter()
    if isinstance(strata, np.ndarray) and np.issubdtype(strata.dtype, np.integer):
        codes = strata.astype(np.int32)
        names = [f"stratum-{i}" for i in range(int(codes.max()) + 1)]
    else:
        names_sorted = sorted(set(strata))
        lookup = {s: i for i, s in enumerate(names_sorted)}
        codes = np.fromiter((lookup[s] for s in strata), dtype=np.int32, count=n)
        names = names_sorted
    index = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    for start in range(0, n, chunk):
        index.add(vecs[start:start + chunk])
        if progress:
            progress(min(n, start + chunk), n)
    lb = np.asarray(label_bits, dtype=np.uint32)
    kb = np.asarray(known_bits, dtype=np.uint32)
    weights = confounder_weights(lb, kb, codes)
    centroids = stratum_centroids(vecs, codes)
    extra = dict(info or {})
    meta = IndexInfo(dim=d, count=n, hnsw_m=hnsw_m, ef_construction=ef_construction, ef_search=ef_search,
                     built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     build_seconds=round(time.perf_counter() - t0, 3),
                     **{k: v for k, v in extra.items() if k in IndexInfo.__dataclass_fields__},
                     extra={k: v for k, v in extra.items() if k not in IndexInfo.__dataclass_fields__})
    return ExemplarIndex(index, label_bits=lb, known_bits=kb, strata=codes, stratum_names=names,
                         weights=weights, centroids=centroids, exemplars=exemplars, info=meta, front_end=front_end)


# ---------------------------------------------------------------------------------------- from data
def build_index(data_dir: Path | str, out_dir: Path | str | None, model_path: Path | str, *,
                sources: Sequence[str] | None = None, splits: Sequence[str] = ("train", "val"),
                iu_xray: Path | str | None = None, text_encoder: Any = None, cache_dir: Path | str | None = None,
                progress: Callable[[str, int, int], None] | None = None, hnsw_m: int = 32,
                ef_construction: int = 80, ef_search: int = 64) -> ExemplarIndex:
    """Index the named data sets: images by the model's embedding head, text-only cases by MiniLM.

    Only the given splits are indexed (train and validation by default), so test cases never
    retrieve themselves. With ``out_dir`` the index is saved there (atomically). Without a
    ``text_encoder``, MiniLM embeddings are cached in ``cache_dir`` (when given).
    """
    from vlm.backends import GroundedBackend, load_backend
    from vlm.data import SOURCES, load_sources
    from vlm.encoders import TextEncoder
    from vlm.images import ImageError, preprocess
    from vlm.labels import known_bits, to_bits

    backend = load_backend(model_path)
    if not isinstance(backend, GroundedBackend):
        raise IndexMissingError(f"model {model_path} has no image-embedding head; build the index with an "
                                "mcrag-vlm model (`mcrag train-vlm`)")
    corpus = load_sources(Path(data_dir), tuple(sources or SOURCES), iu_xray=Path(iu_xray) if iu_xray else None)
    records = [r for r in corpus.records if r.split in set(splits) and (r.has_image or r.text)]
    if not records:
        raise ValueError(f"no records in splits {', '.join(splits)} of sources {', '.join(sources or SOURCES)}")
    if text_encoder is None:
        text_encoder = TextEncoder(cache_dir=Path(cache_dir) if cache_dir else None)
    enc = text_encoder
    image_recs = [r for r in records if r.has_image]
    pixels, kept = [], []
    for i, r in enumerate(image_recs):
        try:
            pixels.append(preprocess(r.image, backend.image_size))  # type: ignore[arg-type]
            kept.append(r)
        except ImageError:
            continue
        if progress and (i % 250 == 0 or i == len(image_recs) - 1):
            progress("read images", i + 1, len(image_recs))
    vecs: dict[str, np.ndarray] = {}
    if pixels:
        _, emb = backend.encode_batch(np.stack(pixels))
        vecs.update({r.id: e for r, e in zip(kept, emb, strict=True)})
    text_recs = [r for r in records if not r.has_image and r.text]
    if progress:
        progress("embed texts", 0, len(text_recs))
    if text_recs:
        temb = enc.encode([r.text for r in text_recs])
        vecs.update({r.id: e for r, e in zip(text_recs, temb, strict=True)})
        if progress:
            progress("embed texts", len(text_recs), len(text_recs))
    final = [r for r in records if r.id in vecs]
    data_root = Path(data_dir).resolve()

    def image_ref(r: Any) -> str | None:
        if r.image_path is not None:
            p = Path(r.image_path).resolve()
            return str(p.relative_to(data_root)) if p.is_relative_to(data_root) else str(p)
        if r.pixels is not None:
            return f"{r.source}:{r.id.split('/', 1)[-1]}"
        return None

    exemplars = [Exemplar(r.id, r.source, r.split, r.view, r.device, r.positives(), r.text[:600], image_ref(r), r.group)
                 for r in final]
    index = index_from_vectors(
        np.stack([vecs[r.id] for r in final]),
        np.array([to_bits(r.labels) for r in final], dtype=np.uint32),
        np.array([known_bits(r.labels) for r in final], dtype=np.uint32),
        [e.stratum for e in exemplars], exemplars=exemplars, hnsw_m=hnsw_m, ef_construction=ef_construction,
        ef_search=ef_search,
        info={"encoder": str(Path(model_path).resolve()), "encoder_fingerprint": backend.fingerprint,
              "text_encoder": enc.name, "sources": tuple(sorted({r.source for r in final})),
              "splits": tuple(splits)})
    if out_dir is not None:
        index.save(Path(out_dir))
    return index
