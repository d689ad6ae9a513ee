"""IU-Xray (Open-i, Indiana University): 3,955 full reports as XML, with Open-i's MeSH indexing.

Labels come from the report's ``<MeSH>`` block, not from its text: ``<major>`` terms were assigned by
human indexers (``Pulmonary Edema/interstitial/mild``: a heading and qualifiers), ``<automatic>``
terms by NLM's indexing software. Reports indexed ``normal`` carry no automatic terms; on the others
an automatic term that the indexers did not confirm marks a hedged mention ("may represent a small
effusion"). So a concept reads present (1) when a major term maps to it, uncertain (-1) when only an
automatic term names it, absent (0) otherwise, and not reported (<NA>) on a report indexed
``No Indexing``. An automatic term marks uncertain only a concept that has a MeSH heading of its own
(sternotomy, reached only through ``Sutures/sternum``, is never hedged). Confounders come from
the DICOM header of the report's images (view, age; the header has no sex and rarely a maker).
"""

from __future__ import annotations

import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from kg.concepts import ConceptTable
from reasoning.sources.base import (
    PRESENT,
    UNCERTAIN,
    SourceError,
    SourceMatrix,
    assemble,
    labels_from_long,
    read_table,
    require_file,
    study_view,
    view_rank,
)
from reasoning.sources.mapping import SourceMap, map_key

SOURCE = "iu_xray"
REPORTS = "NLMCXR_reports.tgz"
DICOM = "nlmcxr_dicom_metadata.csv.gz"
DICOM_COLUMNS = ("imageid", "View Position", "Patient's Birth Date", "Study Date")
DICOM_OPTIONAL = ("Manufacturer", "Detector Manufacturer Name", "Patient's Sex")
VIEWS = {"PA": "PA", "AP": "AP", "LL": "lateral", "RL": "lateral", "LATERAL": "lateral", "LARGE LATERAL": "lateral"}
NOT_INDEXED = "no indexing"


@dataclass(frozen=True)
class IuReport:
    """One report: its id, sections, MeSH terms and image ids."""

    report_id: str
    file: str
    sections: dict[str, str]
    major: tuple[str, ...]
    automatic: tuple[str, ...]
    images: tuple[str, ...]


def parse_report(data: bytes, name: str) -> IuReport:
    """One ``ecgen-radiology/N.xml`` file; a malformed file raises :class:`SourceError` naming it."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as err:
        raise SourceError(f"{SOURCE}: {name} in {REPORTS} is not well-formed XML ({err})") from None
    uid = root.find("uId")
    if uid is None or not uid.get("id"):
        raise SourceError(f"{SOURCE}: {name} in {REPORTS} has no <uId id=...>")
    sections = {(e.get("Label") or "").upper(): (e.text or "").strip() for e in root.iter("AbstractText")}
    mesh = root.find("MeSH")
    major = tuple((e.text or "").strip() for e in mesh.findall("major")) if mesh is not None else ()
    auto = tuple((e.text or "").strip() for e in mesh.findall("automatic")) if mesh is not None else ()
    images = tuple(e.get("id", "") for e in root.findall("parentImage"))
    return IuReport(uid.get("id", ""), name, sections, major, auto, images)


def read_reports(path: Path, *, progress: bool = True) -> list[IuReport]:
    """Every XML report in the archive, in archive order."""
    out = []
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".xml")]
            for m in tqdm(members, desc=f"{SOURCE}: reports", disable=not progress, leave=False):
                fh = tar.extractfile(m)
                if fh is None:
                    continue
                out.append(parse_report(fh.read(), m.name))
    except (tarfile.TarError, OSError, EOFError) as err:
        raise SourceError(f"{SOURCE}: {path.name} is not a readable .tgz archive ({err})") from None
    if not out:
        raise SourceError(f"{SOURCE}: {path.name} holds no XML report")
    return out


def _term_concepts(term: str, smap: SourceMap, report: IuReport) -> list[str]:
    parts = [p for p in (x.strip() for x in term.split("/")) if p]
    if not parts:
        return []
    heading = map_key(parts[0])
    entry = smap.labels.get(heading)
    if entry is None:
        raise SourceError(f"{SOURCE}: {report.file} in {REPORTS}: MeSH heading {parts[0]!r} (in <major>) is neither "
                          f"mapped nor listed as unmapped in {Path(smap.path).name}")
    out = [entry.concept] if entry.concept else []
    for q in parts[1:]:
        rule = smap.qualifiers.get((heading, map_key(q)))
        if rule is not None and rule.concept:
            out.append(rule.concept)
    return out


def read(folder: Path, table: ConceptTable, smap: SourceMap, *, progress: bool = True) -> SourceMatrix:
    reports = read_reports(require_file(folder, REPORTS, SOURCE), progress=progress)
    dicom_path = require_file(folder, DICOM, SOURCE)
    columns = smap.concepts()
    heading_exact = {k: m.concept for k, m in smap.labels.items() if m.concept and m.relation == "exactMatch"}
    # an automatic term can only be "hedged" for a concept the indexers had a heading for; a concept
    # reached only through a qualifier (sternotomy through Sutures/sternum) is not indexed as such
    hedgeable = {m.concept for m in smap.labels.values() if m.concept}
    rows_s, rows_c, rows_v = [], [], []
    not_reported: list[str] = []
    unmapped_seen: dict[str, int] = {}
    for r in reports:
        majors = [t for t in r.major if t]
        if [map_key(t.split("/")[0]) for t in majors] == [NOT_INDEXED]:
            not_reported.append(r.report_id)
        present = set()
        for t in majors:
            found = _term_concepts(t, smap, r)
            present.update(found)
            head = t.split("/")[0].strip()
            if not found and smap.labels[map_key(head)].concept is None:
                unmapped_seen[head] = unmapped_seen.get(head, 0) + 1
        hedged = set()
        for t in r.automatic:
            c = heading_exact.get(map_key(t))
            if c is None:
                hit = table.lookup(t)
                c = hit.id if hit is not None else None
            if c in hedgeable and c not in present:
                hedged.add(c)
        for c in present:
            rows_s.append(r.report_id)
            rows_c.append(c)
            rows_v.append(PRESENT)
        for c in hedged:
            rows_s.append(r.report_id)
            rows_c.append(c)
            rows_v.append(UNCERTAIN)
    ids = pd.Index([r.report_id for r in reports], name="study")
    if ids.duplicated().any():
        raise SourceError(f"{SOURCE}: {REPORTS} holds report id {ids[ids.duplicated()][0]!r} twice")
    labels = labels_from_long(ids, pd.Series(rows_s, dtype="string"), pd.Series(rows_c, dtype="string"), columns,
                              value=pd.Series(rows_v, dtype=np.int8))
    dicom = read_table(dicom_path, SOURCE, required=DICOM_COLUMNS, optional=DICOM_OPTIONAL,
                       dtype=dict.fromkeys((*DICOM_COLUMNS, *DICOM_OPTIONAL), "string"))
    dicom["report"] = dicom["imageid"].str.split("_").str[0]
    position = dicom["View Position"].str.strip().str.upper()
    view = position.map(VIEWS).where(position.isna(), position.map(VIEWS).fillna("other"))
    age = (pd.to_numeric(dicom["Study Date"].str[:4], errors="coerce")
           - pd.to_numeric(dicom["Patient's Birth Date"].str[:4], errors="coerce"))
    maker = dicom["Manufacturer"] if "Manufacturer" in dicom else pd.Series(pd.NA, index=dicom.index, dtype="string")
    if "Detector Manufacturer Name" in dicom:
        maker = maker.fillna(dicom["Detector Manufacturer Name"])
    sex = dicom["Patient's Sex"].where(dicom["Patient's Sex"].isin(["F", "M"])) if "Patient's Sex" in dicom else \
        pd.Series(pd.NA, index=dicom.index, dtype="string")
    grouped = pd.DataFrame({"report": dicom["report"], "rank": view_rank(view), "age": age, "maker": maker,
                            "sex": sex}).groupby("report", sort=False)
    meta = pd.DataFrame(index=ids)
    meta["study_id"] = ids
    meta["view"] = study_view(grouped["rank"].min().reindex(ids))
    meta["age"] = grouped["age"].median().reindex(ids)
    meta["sex"] = grouped["sex"].first().reindex(ids)
    meta["device_maker"] = grouped["maker"].first().reindex(ids)
    meta["label_method"] = "human"
    meta["n_images"] = pd.Series({r.report_id: len(r.images) for r in reports}).reindex(ids)
    frame = assemble(SOURCE, meta, labels, not_reported=pd.Series(ids.isin(not_reported), index=ids))
    return SourceMatrix(SOURCE, frame, tuple(columns), (str(require_file(folder, REPORTS, SOURCE)), str(dicom_path)),
                        unmapped_seen,
                        ("present: an indexer's <major> MeSH term; uncertain: only an <automatic> term names it",
                         "view and age from the DICOM header of the report's images; the header carries no sex"))
