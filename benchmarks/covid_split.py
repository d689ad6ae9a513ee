"""Cases and patient-level splits of the COVID radiograph benchmark, including a confounder-shift split.

The label is binary: COVID-19 (``COVID-19`` and ``COVID-19, ARDS``) against the other pneumonias of
the collection (bacterial, fungal, other viral, lipoid, and ARDS). Undiagnosed rows (``todo``,
``Unknown``) are dropped; ``No Finding`` (8 images, 7 of them PA) is dropped too: too few to be a
class, and folded into "not COVID" they would be the only films without pneumonia, so the task would
mix two questions. Only frontal views (PA, AP, AP Supine) are kept; lateral films are a different
projection the front end would have to learn from 26 images.

Two splits, both patient-disjoint and deterministic:

* :func:`patient_split` - train / val / test, stratified by class at the patient level;
* :func:`shift_split` - the view confounder made explicit. AP (bedside) films go with COVID-19 in
  this collection. Train, val and an in-distribution test keep only COVID-19 on AP and non-COVID on
  PA (a perfect shortcut); the shifted test holds the opposite pairs (COVID-19 on PA, non-COVID on
  AP), so a model that reads the view instead of the lungs falls over there.
* :func:`partial_shift_split` - the same confounder, partial: in train, val and the in-distribution
  test the view agrees with the class on a set share of the films (:data:`PARTIAL_STRENGTH`) but not
  all, so every (class, view) cell is seen in training; the shifted test reverses the agreement.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.registry import BenchmarkError
from vlm.data import stratified_patients

DROPPED_FINDINGS = ("todo", "unknown", "", "no finding")
FRONTAL = {"PA": "PA", "AP": "AP", "AP SUPINE": "AP", "AP ERECT": "AP"}
"""Frontal projections, grouped into the two acquisition settings (AP: mostly bedside / supine)."""


class CovidDataError(BenchmarkError):
    """The COVID radiograph folder or its metadata is missing or unusable."""


@dataclass(frozen=True)
class Case:
    image: Path
    patient: str
    finding: str
    view: str
    """Projection as written in the metadata (``AP Supine``)."""
    view_group: str
    """``AP`` or ``PA``: the confounder stratum."""
    covid: int

    @property
    def key(self) -> str:
        return self.image.name


def is_covid(finding: str) -> bool:
    return "covid-19" in {p.strip().lower() for p in finding.split(",")}


def read_cases(root: Path) -> tuple[list[Case], dict[str, int]]:
    """Frontal, diagnosed cases with an image on disk, and counts of what was left out and why."""
    meta = root / "metadata.csv"
    if not root.is_dir():
        raise CovidDataError(f"COVID radiograph folder {root} not found")
    if not meta.is_file():
        raise CovidDataError(f"COVID radiograph metadata {meta} not found (expected columns image, patientid, "
                             "finding, view)")
    cases: list[Case] = []
    dropped = {"undiagnosed": 0, "no_finding": 0, "not_frontal": 0, "missing_image": 0}
    with meta.open(encoding="utf-8", errors="replace", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"image", "patientid", "finding", "view"} - set(reader.fieldnames or ())
        if missing:
            raise CovidDataError(f"{meta} lacks the column(s) {', '.join(sorted(missing))}")
        for row in reader:
            finding = (row.get("finding") or "").strip()
            view = (row.get("view") or "").strip()
            if finding.lower() in DROPPED_FINDINGS:
                dropped["no_finding" if finding.lower() == "no finding" else "undiagnosed"] += 1
                continue
            group = FRONTAL.get(view.upper())
            if group is None:
                dropped["not_frontal"] += 1
                continue
            path = root / "images" / row["image"]
            if not path.is_file():
                dropped["missing_image"] += 1
                continue
            patient = (row.get("patientid") or "").strip() or row["image"]
            cases.append(Case(path, patient, finding, view, group, int(is_covid(finding))))
    if not cases:
        raise CovidDataError(f"no usable case in {meta} (frontal, diagnosed, image present)")
    return cases, dropped


def _patients(cases: Iterable[Case]) -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = {}
    for c in cases:
        out.setdefault(c.patient, []).append(c)
    return out


def patient_split(cases: Sequence[Case], fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
                  seed: int = 0) -> dict[str, list[Case]]:
    """Train / val / test, no patient in two splits, stratified by the patient's class (any COVID image)."""
    groups = _patients(cases)
    names = sorted(groups)
    labels = [max(c.covid for c in groups[p]) for p in names]
    where = stratified_patients(names, labels, fractions, seed)
    out: dict[str, list[Case]] = {"train": [], "val": [], "test": []}
    split_names = list(out)
    for p, s in zip(names, where, strict=True):
        # a patient with COVID-19 on one film and another pathogen on another is kept whole
        out[split_names[s]].extend(groups[p])
    return out


def aligned(c: Case) -> bool:
    """The pairing the shortcut expects: COVID-19 on AP, non-COVID on PA."""
    return (c.covid == 1) == (c.view_group == "AP")


def shift_split(cases: Sequence[Case], fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
                seed: int = 0) -> dict[str, list[Case]]:
    """Train / val / test_id with COVID-19 only on AP and non-COVID only on PA; test_shift the opposite.

    Patients with a flipped film (non-COVID on AP, or COVID-19 on PA only) are the scarce ones and
    go to the shifted test first (their flipped films only); the others are split by class over
    train / val / test_id (their aligned films only). The shifted test keeps all non-COVID AP
    patients and as many COVID-19 PA patients as give it the class mix of test_id.
    """
    groups = _patients(cases)
    shift_neg: list[str] = []  # non-COVID patients with an AP film
    shift_pos_pool: list[str] = []  # COVID-19 patients with only PA films
    rest: list[str] = []
    for p in sorted(groups):
        films = groups[p]
        covid = max(c.covid for c in films)
        if not covid and any(c.view_group == "AP" for c in films):
            shift_neg.append(p)
        elif covid and not any(aligned(c) for c in films):
            shift_pos_pool.append(p)
        else:
            rest.append(p)
    labels = [max(c.covid for c in groups[p]) for p in rest]
    where = stratified_patients(rest, labels, fractions, seed)
    out: dict[str, list[Case]] = {"train": [], "val": [], "test_id": [], "test_shift": []}
    split_names = ["train", "val", "test_id"]
    for p, s in zip(rest, where, strict=True):
        out[split_names[s]].extend(c for c in groups[p] if aligned(c) and c.covid == max(x.covid for x in groups[p]))
    neg_films = [c for p in shift_neg for c in groups[p] if not aligned(c) and c.covid == 0]
    test_id = out["test_id"]
    share = (sum(c.covid for c in test_id) / len(test_id)) if test_id else 0.5
    share = min(max(share, 0.05), 0.95)
    want = int(round(len(neg_films) * share / (1 - share))) if neg_films else len(shift_pos_pool)
    rng = np.random.default_rng(seed + 1)
    pos_films: list[Case] = []
    for j in rng.permutation(len(shift_pos_pool)):
        if len(pos_films) >= max(want, 1):
            break
        pos_films.extend(c for c in groups[shift_pos_pool[j]] if not aligned(c))
    out["test_shift"] = neg_films + pos_films
    return out


PARTIAL_STRENGTH = 0.8
"""Share of a class's films on its shortcut view (COVID-19 on AP, other pneumonia on PA) in train / val / test_id,
and on the opposite view in the partial shift test.

Fixed from the counts before any run: the scarce cell is other pneumonia on AP (17 films, 6 patients). In-distribution,
each such film needs ``s / (1 - s)`` other-pneumonia PA films: 4 at 0.8, 5.7 at 0.85, 9 at 0.9. With about half of
the scarce films left for the shifted test, 0.8 uses about 34 of the 64 other-pneumonia PA films, 0.85 about 48, 0.9
more than there are; 0.8 keeps the most weight on the minority cells the view adjustment has to learn from."""
PARTIAL_SHIFT_WEIGHT = 0.25
"""Films of the partial shift test per film of train + val + test_id (a priori: as large as test_id)."""


def view_strength(cases: Sequence[Case]) -> dict[str, float | None]:
    """Share of COVID-19 films on AP and of other-pneumonia films on PA (None for an absent class)."""
    pos = [c for c in cases if c.covid]
    neg = [c for c in cases if not c.covid]
    return {"covid_on_ap": round(sum(c.view_group == "AP" for c in pos) / len(pos), 4) if pos else None,
            "not_covid_on_pa": round(sum(c.view_group == "PA" for c in neg) / len(neg), 4) if neg else None}


PARTIAL_SPLITS = ("train", "val", "test_id", "test_shift")


def partial_shift_split(cases: Sequence[Case], strength: float = PARTIAL_STRENGTH,
                        fractions: tuple[float, float, float] = (0.6, 0.2, 0.2),
                        shift_weight: float = PARTIAL_SHIFT_WEIGHT, seed: int = 0) -> dict[str, list[Case]]:
    """Train / val / test_id with the view agreeing with the class on ``strength`` of each class's films; test_shift
    with the view agreeing on ``1 - strength`` (the correlation reversed). Patient-disjoint, deterministic.

    A patient keeps the films of its class (as in :func:`shift_split`) on one view: the shortcut-breaking one
    (COVID-19 on PA, other pneumonia on AP) where it has both. The scarcest (class, view) cell of the class with
    fewer films is cut over the four splits in proportion to what each needs (split weight times view share), whole
    patients at a time; the other view of that class is then filled per split to the requested share of the films
    that cell got, and the other class to the collection's class ratio, at the same shares (scaled down where a
    cell runs short). Leftover patients are not used.
    """
    if not 0.5 < strength < 1.0:
        raise ValueError(f"strength must lie in (0.5, 1): {strength}")
    groups = _patients(cases)
    cells: dict[tuple[int, str], list[list[Case]]] = {}
    for p in sorted(groups):
        k = max(c.covid for c in groups[p])
        films = [c for c in groups[p] if c.covid == k]
        flipped = "PA" if k else "AP"
        views = {c.view_group for c in films}
        v = flipped if flipped in views else views.pop()
        cells.setdefault((k, v), []).append([c for c in films if c.view_group == v])
    rng = np.random.default_rng(seed)
    pool = {cell: [pts[j] for j in rng.permutation(len(pts))] for cell, pts in sorted(cells.items())}
    weight = dict(zip(PARTIAL_SPLITS, [*(f / sum(fractions) for f in fractions), shift_weight], strict=True))

    def share(k: int, v: str, split: str) -> float:
        on_shortcut = strength if split != "test_shift" else 1 - strength
        return on_shortcut if v == ("AP" if k else "PA") else 1 - on_shortcut

    def supply(cell: tuple[int, str]) -> int:
        return sum(len(f) for f in pool.get(cell, []))

    out: dict[str, list[Case]] = {s: [] for s in PARTIAL_SPLITS}

    def fill(cell: tuple[int, str], targets: dict[str, float]) -> dict[str, int]:
        """Whole patients per split, smallest target first, each taken when it brings the split closer."""
        got = dict.fromkeys(PARTIAL_SPLITS, 0)
        left = pool.get(cell, [])
        for split in sorted(PARTIAL_SPLITS, key=lambda s: (targets[s], PARTIAL_SPLITS.index(s))):
            for films in list(left):
                if got[split] >= targets[split]:
                    break
                if abs(got[split] + len(films) - targets[split]) < abs(got[split] - targets[split]):
                    out[split].extend(films)
                    got[split] += len(films)
                    left.remove(films)
        return got

    totals = {k: supply((k, "AP")) + supply((k, "PA")) for k in (0, 1)}
    minor = 0 if totals[0] <= totals[1] else 1
    demand = {v: sum(weight[s] * share(minor, v, s) for s in PARTIAL_SPLITS) for v in ("AP", "PA")}
    scarce = min(("AP", "PA"), key=lambda v: (supply((minor, v)) / demand[v], v))
    other = "PA" if scarce == "AP" else "AP"
    planned = {s: supply((minor, scarce)) * weight[s] * share(minor, scarce, s) / demand[scarce]
               for s in PARTIAL_SPLITS}
    got = fill((minor, scarce), planned)
    # a split the scarce cell's patients did not reach is filled as planned (it keeps both classes)
    base = {s: got[s] if got[s] else planned[s] for s in PARTIAL_SPLITS}
    got_other = fill((minor, other), {s: base[s] * share(minor, other, s) / share(minor, scarce, s)
                                      for s in PARTIAL_SPLITS})
    n_minor = {s: base[s] + got_other[s] for s in PARTIAL_SPLITS}
    major = 1 - minor
    ratio = totals[major] / max(totals[minor], 1)
    want = {v: {s: n_minor[s] * ratio * share(major, v, s) for s in PARTIAL_SPLITS} for v in ("AP", "PA")}
    scale = min([1.0] + [supply((major, v)) / max(sum(want[v].values()), 1e-9) for v in ("AP", "PA")])
    for v in ("AP", "PA"):
        fill((major, v), {s: scale * t for s, t in want[v].items()})
    return out


def describe(split: dict[str, list[Case]]) -> dict[str, dict[str, int]]:
    """Images, patients, COVID-19 and view counts per split."""
    out = {}
    for name, cs in split.items():
        out[name] = {"images": len(cs), "patients": len({c.patient for c in cs}),
                     "covid": sum(c.covid for c in cs), "not_covid": sum(1 - c.covid for c in cs),
                     "covid_ap": sum(c.covid and c.view_group == "AP" for c in cs),
                     "covid_pa": sum(c.covid and c.view_group == "PA" for c in cs),
                     "not_covid_ap": sum((not c.covid) and c.view_group == "AP" for c in cs),
                     "not_covid_pa": sum((not c.covid) and c.view_group == "PA" for c in cs)}
    return out
