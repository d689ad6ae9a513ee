"""Readers for the shared data sets and the IU-Xray layout, all into one record shape.

Training, the exemplar index and the evaluation read data through these functions, so a user who
has the IU-Xray images (``annotation.json`` + ``images/<id>/<n>.png``) gets them used everywhere by
pointing one path at them. Every record carries a label vector over :data:`vlm.labels.LABELS`
with ``-1`` for "not annotated", and the confounder strata the retrieval adjusts for (source, view,
acquisition device).

Splits are by patient everywhere. ``nih_621`` is the adult held-out set, cut by patient into a ``dev``
part (settings are chosen on it; never trained on) and a ``test`` part (scored once), and patients it
shares with ``nih_1000`` are left out of ``nih_1000``. ``pediatric_cxr`` keeps its
official test split (the PneumoniaMNIST test set). The COVID collection uses the patient-level split
of its diagnosis benchmark (stratified by class, seed 0), so the model never trains on that test split.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vlm.labels import LABEL_INDEX, LABELS, UNKNOWN, findings_from_text

SOURCES: tuple[str, ...] = ("nih_1000", "pediatric_cxr", "cxr_covid", "vqa_rad", "iu_xray")
"""What the default model trains on and the default index holds."""
EXTRA_SOURCES: tuple[str, ...] = ("pneumoniamnist", "nih_621")
"""Readable on request: PneumoniaMNIST repeats ``pediatric_cxr`` at 28 px (its test split is the same
films), and ``nih_621`` is held out (``dev`` and ``test``, never trained on)."""
KNOWN_SOURCES: tuple[str, ...] = SOURCES + EXTRA_SOURCES


@dataclass(frozen=True)
class Record:
    """One image or one report (or both), with labels and strata."""

    id: str
    source: str
    split: str
    text: str = ""
    labels: tuple[int, ...] = field(default=tuple([UNKNOWN] * len(LABELS)))
    image_path: Path | None = None
    pixels: np.ndarray | None = field(default=None, compare=False, repr=False)
    """In-memory image (PneumoniaMNIST); otherwise the image is read from ``image_path``."""
    view: str = "unknown"
    device: str = "unknown"
    group: str = ""
    """Patient or study id: records of one group never straddle splits."""
    follow_up: int | None = None
    """The film's place in its patient's series (NIH), where recorded: sicker patients have more films,
    so it travels with the findings in a data set and is a recorded confounder like the view."""

    @property
    def has_image(self) -> bool:
        return self.pixels is not None or self.image_path is not None

    @property
    def image(self) -> np.ndarray | Path | None:
        return self.pixels if self.pixels is not None else self.image_path

    def positives(self) -> tuple[str, ...]:
        return tuple(n for n, v in zip(LABELS, self.labels, strict=True) if v == 1)


@dataclass(frozen=True)
class QAPair:
    """A visual question about one record's image."""

    record_id: str
    question: str
    answer: str
    closed: bool
    split: str
    source: str


@dataclass
class Corpus:
    records: list[Record] = field(default_factory=list)
    qa: list[QAPair] = field(default_factory=list)

    def extend(self, other: Corpus) -> None:
        self.records.extend(other.records)
        self.qa.extend(other.qa)

    def by_id(self) -> dict[str, Record]:
        return {r.id: r for r in self.records}

    def split(self, *names: str) -> list[Record]:
        return [r for r in self.records if r.split in names]


def _labels(values: dict[str, int]) -> tuple[int, ...]:
    out = [UNKNOWN] * len(LABELS)
    for k, v in values.items():
        out[LABEL_INDEX[k]] = int(v)
    return tuple(out)


def group_split(group: str, val: float = 0.1, test: float = 0.1) -> str:
    """Deterministic split by a hash of the group (patient) id, so no patient is in two splits."""
    h = int(hashlib.sha1(group.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "test" if h < test else "val" if h < test + val else "train"


def device_for_view(view: str) -> str:
    """Acquisition setting implied by the projection: AP films are mostly bedside (portable) units."""
    v = view.strip().upper()
    if v.startswith("AP"):
        return "portable"
    if v in ("PA", "L", "LATERAL"):
        return "department"
    return "unknown"


# ---------------------------------------------------------------------------------------- PneumoniaMNIST
def read_pneumoniamnist(path: Path, splits: Sequence[str] = ("train", "val", "test")) -> Corpus:
    """28x28 pediatric radiographs, pneumonia vs normal (both labels are known for every image)."""
    if not path.is_file():
        raise FileNotFoundError(f"PneumoniaMNIST file {path} not found")
    data = np.load(path)
    corpus = Corpus()
    for split in splits:
        images, labels = data[f"{split}_images"], data[f"{split}_labels"].reshape(-1)
        for i, (img, y) in enumerate(zip(images, labels, strict=True)):
            pos = int(y) == 1
            # a normal film shows none of the findings; a pneumonia film may show others we do not know
            values = {"Pneumonia": 1, "normal": 0, "COVID-19": 0} if pos else {n: 0 for n in LABELS} | {"normal": 1}
            text = "pediatric chest x-ray: pneumonia" if pos else "pediatric chest x-ray: normal lungs"
            corpus.records.append(Record(f"pneumoniamnist/{split}/{i}", "pneumoniamnist", split, text,
                                         _labels(values), pixels=img, group=f"pm-{split}-{i}"))
    return corpus


# ---------------------------------------------------------------------------------------- COVID CXR
_NOT_PNEUMONIA = {"no finding", "todo", "unknown", ""}
_NON_INFECTIVE = {"ards"}


def cxr_covid_labels(finding: str, notes: str) -> dict[str, int]:
    """Labels from the ``finding`` column (pathogen -> pneumonia) plus findings asserted in the notes."""
    f = finding.strip().lower()
    values: dict[str, int] = {}
    if f == "no finding":
        values = {n: 0 for n in LABELS}
        values["normal"] = 1
        return values
    if f in ("todo", "unknown", ""):
        return {k: v for k, v in findings_from_text(notes).items() if k != "normal"}
    parts = {p.strip() for p in f.split(",")}
    values["normal"] = 0
    values["COVID-19"] = int("covid-19" in parts)
    if parts - _NON_INFECTIVE:
        values["Pneumonia"] = 1
    for k, v in findings_from_text(notes).items():
        if k != "normal" and k not in values:
            values[k] = v  # asserted (1) or explicitly negated (0) in the notes
    return values


COVID_SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
COVID_SPLIT_SEED = 0
_COVID_UNDIAGNOSED = {"todo", "unknown", "", "no finding"}
_FRONTAL = {"PA", "AP", "AP SUPINE", "AP ERECT"}


def stratified_patients(patients: Sequence[str], labels: Sequence[int], fractions: Sequence[float],
                         seed: int) -> list[int]:
    """Split index per patient: shuffled within each class, cut at the cumulative fractions.

    Every split gets at least one patient of each class when the class has enough patients.
    """
    rng = np.random.default_rng(seed)
    out = [0] * len(patients)
    cum = np.cumsum(fractions) / sum(fractions)
    for cls in sorted(set(labels)):
        members = sorted(i for i, y in enumerate(labels) if y == cls)
        order = [members[j] for j in rng.permutation(len(members))]
        n = len(order)
        cuts = [int(round(c * n)) for c in cum]
        if n >= len(fractions):
            for s in range(len(cuts) - 1):
                lo = cuts[s - 1] if s else 0
                cuts[s] = max(cuts[s], lo + 1)
                cuts[s] = min(cuts[s], n - (len(fractions) - 1 - s))
        start = 0
        for s, end in enumerate(cuts):
            for i in order[start:end]:
                out[i] = s
            start = end
    return out


def covid_patient_splits(rows: Sequence[dict[str, str]], images: Path) -> dict[str, str]:
    """Patient -> split of the COVID collection, the same as its diagnosis benchmark's patient split.

    The benchmark splits the patients of its frontal, diagnosed films with an image on disk (60/20/20,
    stratified by whether the patient has a COVID-19 film, seed 0); every other film of those patients
    follows them. Patients the benchmark does not use are split by a hash of their id.
    """
    cases: dict[str, int] = {}
    for row in rows:
        finding = (row.get("finding") or "").strip()
        view = (row.get("view") or "").strip().upper()
        if finding.lower() in _COVID_UNDIAGNOSED or view not in _FRONTAL or not (images / row["image"]).is_file():
            continue
        patient = (row.get("patientid") or "").strip() or row["image"]
        covid = int("covid-19" in {p.strip().lower() for p in finding.split(",")})
        cases[patient] = max(cases.get(patient, 0), covid)
    names = sorted(cases)
    where = stratified_patients(names, [cases[p] for p in names], COVID_SPLIT_FRACTIONS, COVID_SPLIT_SEED)
    split_names = ("train", "val", "test")
    out = {p: split_names[w] for p, w in zip(names, where, strict=True)}
    for row in rows:
        patient = (row.get("patientid") or "").strip() or row["image"]
        if patient not in out:
            out[patient] = group_split(f"covid-{patient}", val=COVID_SPLIT_FRACTIONS[1], test=COVID_SPLIT_FRACTIONS[2])
    return out


def read_cxr_covid(root: Path) -> Corpus:
    """Real radiographs with pathogen labels, views and clinical notes; split by patient."""
    meta = root / "metadata.csv"
    if not meta.is_file():
        raise FileNotFoundError(f"COVID CXR metadata {meta} not found")
    with meta.open(encoding="utf-8", errors="replace", newline="") as fh:
        rows = list(csv.DictReader(fh))
    splits = covid_patient_splits(rows, root / "images")
    corpus = Corpus()
    for row in rows:
        path = root / "images" / row["image"]
        if not path.is_file():
            continue
        notes = (row.get("clinical_notes") or "").strip()
        finding = (row.get("finding") or "").strip()
        view = (row.get("view") or "unknown").strip() or "unknown"
        if view == "?":
            view = "unknown"
        text = f"chest x-ray, {view} view: {finding if finding.lower() != 'todo' else 'undiagnosed'}. {notes}"
        patient = (row.get("patientid") or "").strip() or row["image"]
        group = f"covid-{patient}"
        corpus.records.append(Record(
            f"cxr_covid/{row['image']}", "cxr_covid", splits[patient], text.strip(),
            _labels(cxr_covid_labels(finding, notes)), image_path=path, view=view,
            device=device_for_view(view), group=group))
    return corpus


# ---------------------------------------------------------------------------------------- NIH ChestX-ray14
NIH_VAL_FRACTION = 0.15
"""Share of ``nih_1000`` patients kept for validation (settings and checkpoints are chosen on them)."""
NIH_621_DEV_FRACTION = 0.3
NIH_621_SPLIT_SEED = 0
"""``nih_621`` is cut by patient into ``dev`` (this share) and ``test``, stratified by class (normal or not)
and view: the dev part shows the shift that ``nih_1000``'s validation cannot see, so settings meant to
survive it are chosen there; the test part is scored once."""


def nih_labels(finding_labels: str) -> dict[str, int]:
    """Every NIH finding annotated: the listed ones present, the rest absent; ``No Finding`` is normal.

    The films predate COVID-19, so that label is known to be absent too.
    """
    listed = {p.strip() for p in finding_labels.split("|") if p.strip()}
    unknown = listed - set(LABELS) - {"No Finding"}
    if unknown:
        raise ValueError(f"unknown NIH finding label(s) {', '.join(sorted(unknown))}")
    values = {n: int(n in listed) for n in LABELS if n not in ("normal", "COVID-19")}
    values["normal"] = int(listed == {"No Finding"})
    values["COVID-19"] = 0
    return values


def nih_text(values: dict[str, int]) -> str:
    found = [n.lower().replace("_", " ") for n in LABELS if values.get(n) == 1 and n not in ("normal", "COVID-19")]
    return "adult chest x-ray: " + (", ".join(found) if found else "no finding")


def _nih_rows(root: Path) -> list[dict[str, str]]:
    table = root / "labels.csv"
    if not table.is_file():
        raise FileNotFoundError(f"NIH label table {table} not found")
    with table.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"image", "finding_labels", "patient_id", "view"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{table} lacks the column(s) {', '.join(sorted(missing))}")
        return list(reader)


def nih_patients(root: Path) -> set[str]:
    """Patient ids of an NIH subset (to keep them out of another subset's training data)."""
    return {r["patient_id"].strip() for r in _nih_rows(root)}


def nih_held_out_parts(rows: Sequence[dict[str, str]]) -> dict[str, str]:
    """Patient -> ``dev`` or ``test`` for a held-out NIH subset (:data:`NIH_621_DEV_FRACTION`).

    Stratified by the patient's class (any film with a finding) and the view of its first film, seeded,
    so the parts are the same on every machine and every run.
    """
    strata: dict[str, tuple[int, str]] = {}
    for row in rows:
        patient = row["patient_id"].strip()
        abnormal = int(row["finding_labels"].strip() != "No Finding")
        view = (row.get("view") or "unknown").strip().upper()
        old = strata.get(patient)
        strata[patient] = (max(abnormal, old[0]), old[1]) if old else (abnormal, view)
    names = sorted(strata)
    codes = sorted(set(strata.values()))
    where = stratified_patients(names, [codes.index(strata[p]) for p in names],
                                 (NIH_621_DEV_FRACTION, 1 - NIH_621_DEV_FRACTION), NIH_621_SPLIT_SEED)
    return {p: ("dev", "test")[w] for p, w in zip(names, where, strict=True)}


def read_nih(root: Path, source: str = "nih_1000", *, test: bool = False,
             exclude_patients: Iterable[str] = ()) -> Corpus:
    """An NIH ChestX-ray14 subset (``labels.csv`` + ``images/``): 14 findings, normal, view, patient.

    ``test``: a held-out set (``nih_621``), its patients cut into ``dev`` and ``test``
    (:func:`nih_held_out_parts`); otherwise patients are split train / val by a hash of their id
    (:data:`NIH_VAL_FRACTION`). Patients in ``exclude_patients`` are left out (they belong to the
    held-out set).
    """
    excluded = {str(p) for p in exclude_patients}
    corpus = Corpus()
    rows = _nih_rows(root)
    held_out = nih_held_out_parts(rows) if test else {}
    for row in rows:
        patient = row["patient_id"].strip()
        if patient in excluded:
            continue
        path = root / "images" / row["image"]
        if not path.is_file():
            continue
        values = nih_labels(row["finding_labels"])
        view = (row.get("view") or "unknown").strip().upper() or "unknown"
        group = f"nih-{patient}"
        split = held_out[patient] if test else group_split(group, val=NIH_VAL_FRACTION, test=0.0)
        follow = (row.get("follow_up") or "").strip()
        corpus.records.append(Record(f"{source}/{row['image']}", source, split, nih_text(values), _labels(values),
                                     image_path=path, view=view, device=device_for_view(view), group=group,
                                     follow_up=int(follow) if follow.isdigit() else None))
    return corpus


# ---------------------------------------------------------------------------------------- pediatric CXR
PEDIATRIC_VAL_FRACTION = 0.1
_PEDIATRIC_PATIENT = re.compile(r"^(person\d+|(?:NORMAL2-)?IM-\d+)", re.I)


def pediatric_patient(filename: str) -> str:
    """Patient id from a Guangzhou file name (``person1000_bacteria_2931`` -> ``person1000``)."""
    m = _PEDIATRIC_PATIENT.match(filename)
    return m.group(1) if m else Path(filename).stem


def read_pediatric_cxr(root: Path) -> Corpus:
    """The Guangzhou paediatric films (``train|test/NORMAL|PNEUMONIA``): pneumonia vs normal.

    The official test split stays ``test``; the official train split is cut into train and val by
    patient (:data:`PEDIATRIC_VAL_FRACTION`).
    """
    if not (root / "train").is_dir() and not (root / "test").is_dir():
        raise FileNotFoundError(f"pediatric CXR folder {root} not found (expected train/ and test/)")
    corpus = Corpus()
    for official in ("train", "test"):
        for cls in ("NORMAL", "PNEUMONIA"):
            folder = root / official / cls
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                if path.suffix.lower() not in (".jpeg", ".jpg", ".png"):
                    continue
                pos = cls == "PNEUMONIA"
                values = {"Pneumonia": 1, "normal": 0, "COVID-19": 0} if pos else {n: 0 for n in LABELS} | {"normal": 1}
                kind = ("viral " if "virus" in path.name else "bacterial " if "bacteria" in path.name else "")
                text = f"pediatric chest x-ray: {kind}pneumonia" if pos else "pediatric chest x-ray: normal lungs"
                group = f"ped-{pediatric_patient(path.name)}"
                split = "test" if official == "test" else group_split(group, val=PEDIATRIC_VAL_FRACTION, test=0.0)
                corpus.records.append(Record(f"pediatric_cxr/{official}/{cls}/{path.name}", "pediatric_cxr", split,
                                             text, _labels(values), image_path=path, group=group))
    return corpus


# ---------------------------------------------------------------------------------------- VQA-RAD
def _qa_labels(question: str, answer: str, into: dict[str, int]) -> None:
    """Labels implied by one QA pair: a yes/no question about a finding, or a finding named in an answer."""
    a = answer.strip().lower().rstrip(".")
    asked = findings_from_text(question)
    if a in ("yes", "no"):
        for k in asked:
            if k != "normal":
                into[k] = max(into.get(k, 0), int(a == "yes"))
        if "normal" in question.lower() and not asked:
            into["normal"] = int(a == "yes")
        return
    for k, v in findings_from_text(answer).items():
        if v == 1 and k != "normal":
            into[k] = 1


def read_vqa_rad(root: Path) -> Corpus:
    """Radiology VQA (chest, abdomen, head): images and their question-answer pairs."""
    corpus = Corpus()
    splits = {"train": root / "trainset.json", "test": root / "testset.json"}
    seen: dict[str, str] = {}
    for split, file in splits.items():
        if not file.is_file():
            raise FileNotFoundError(f"VQA-RAD file {file} not found")
        items = json.loads(file.read_text(encoding="utf-8"))
        for it in items:
            name = it["image_name"]
            rid = f"vqa_rad/{name}"
            seen.setdefault(name, split)
            corpus.qa.append(QAPair(rid, str(it["question"]).strip(), str(it["answer"]).strip(),
                                    str(it.get("answer_type", "")).strip().upper() == "CLOSED", split, "vqa_rad"))
    organs: dict[str, str] = {}
    texts: dict[str, list[str]] = {}
    found: dict[str, dict[str, int]] = {}
    for file in splits.values():
        for it in json.loads(file.read_text(encoding="utf-8")):
            name = it["image_name"]
            organs[name] = str(it.get("image_organ", "")).strip().lower()
            if seen[name] != "train":
                continue
            q, a = str(it["question"]), str(it["answer"]).strip()
            texts.setdefault(name, []).append(f"{q} {a}.")
            if organs[name] == "chest":
                _qa_labels(q, a, found.setdefault(name, {}))
    for name, split in seen.items():
        path = root / "images" / name
        if not path.is_file():
            continue
        organ = organs.get(name, "")
        text = f"{organ} radiology image. " + " ".join(texts.get(name, [])[:6])
        corpus.records.append(Record(f"vqa_rad/{name}", "vqa_rad", split, text.strip(), _labels(found.get(name, {})),
                                     image_path=path, view=organ or "unknown", group=f"vqa-{name}"))
    return corpus


# ---------------------------------------------------------------------------------------- IU-Xray
def _study_key(study_id: str) -> str:
    m = re.match(r"(CXR\d+)", study_id)
    return m.group(1) if m else study_id


def read_openi_labels(path: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            key = row.pop("filename")
            out[key] = {k: int(v) for k, v in row.items() if k in LABEL_INDEX and v not in ("", None)}
    return out


def read_iu_xray(root: Path, *, images_dir: Path | None = None, labels_csv: Path | None = None,
                 require_images: bool = False) -> Corpus:
    """IU-Xray in the R2Gen layout: ``annotation.json`` (+ ``images/<id>/<n>.png`` when present).

    Studies with images give one record per image (``0.png`` taken as the frontal view, others as
    lateral); studies without give one text-only record. Labels come from ``openi_labels.csv``
    (beside the annotation file, or ``labels_csv``), else from the report text.
    """
    ann = root / "annotation.json" if root.is_dir() else root
    if not ann.is_file():
        raise FileNotFoundError(f"IU-Xray annotation file {ann} not found (expected annotation.json)")
    base = ann.parent
    img_root = images_dir or base / "images"
    labels_file = labels_csv or base / "openi_labels.csv"
    gold = read_openi_labels(labels_file) if labels_file.is_file() else {}
    try:
        data = json.loads(ann.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{ann}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or not any(k in data for k in ("train", "val", "test")):
        raise ValueError(f"{ann}: expected {{'train'|'val'|'test': [studies]}} (R2Gen format)")
    corpus = Corpus()
    for split in ("train", "val", "test"):
        for st in data.get(split, []):
            sid, report = str(st["id"]), str(st.get("report", "")).strip()
            values = dict(gold.get(_study_key(sid), {}))
            if values:
                values.setdefault("COVID-19", 0)
            else:
                values = findings_from_text(report)
            labels = _labels(values)
            paths = [img_root / p for p in st.get("image_path", [])]
            present = [p for p in paths if p.is_file()]
            if require_images and not present:
                continue
            if not present:
                corpus.records.append(Record(f"iu_xray/{sid}", "iu_xray", split, report, labels, group=sid))
                continue
            for p in present:
                view = "frontal" if p.stem == "0" else "lateral"
                corpus.records.append(Record(f"iu_xray/{sid}/{p.stem}", "iu_xray", split, report, labels,
                                             image_path=p, view=view, device="department", group=sid))
    return corpus


# ---------------------------------------------------------------------------------------- all
def load_sources(data_dir: Path, sources: Iterable[str] = SOURCES, *, iu_xray: Path | None = None) -> Corpus:
    """The named sources from the shared data folder (``iu_xray`` may point elsewhere)."""
    corpus = Corpus()
    for s in sources:
        if s == "nih_1000":
            test_set = data_dir / "nih_621"
            held = nih_patients(test_set) if (test_set / "labels.csv").is_file() else set()
            corpus.extend(read_nih(data_dir / "nih_1000", "nih_1000", exclude_patients=held))
        elif s == "nih_621":
            corpus.extend(read_nih(data_dir / "nih_621", "nih_621", test=True))
        elif s == "pediatric_cxr":
            corpus.extend(read_pediatric_cxr(data_dir / "pediatric_cxr"))
        elif s == "pneumoniamnist":
            corpus.extend(read_pneumoniamnist(data_dir / "pneumoniamnist" / "pneumoniamnist.npz"))
        elif s == "cxr_covid":
            corpus.extend(read_cxr_covid(data_dir / "cxr_covid"))
        elif s == "vqa_rad":
            corpus.extend(read_vqa_rad(data_dir / "vqa_rad"))
        elif s == "iu_xray":
            corpus.extend(read_iu_xray(iu_xray or data_dir / "iu_xray"))
        else:
            raise ValueError(f"unknown data source {s!r}; use {', '.join(KNOWN_SOURCES)}")
    return corpus
