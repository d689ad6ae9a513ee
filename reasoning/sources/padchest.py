"""PadChest (Hospital San Juan, Alicante): 160,861 images of 109,931 studies, labels from the Spanish report.

``Labels`` holds the study's labels as a Python list literal (``['cardiomegaly', ' pleural effusion']``);
the same list repeats on every image of the study. PadChest records no uncertainty, so a label reads
present (1) or absent (0); a study marked ``exclude`` or without a label list is not reported (<NA>).
Confounders: projection (``AP_horizontal`` is the supine AP film), age at the study (study year minus
birth year), sex, the X-ray system's maker, and ``MethodLabel`` (a physician, 39,053 images, or a
model trained on their labels, 121,808) as ``label_method``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from kg.concepts import ConceptTable
from reasoning.sources.base import (
    SourceError,
    SourceMatrix,
    assemble,
    labels_from_long,
    read_table,
    require_file,
    study_view,
    unknown_labels_error,
    view_rank,
)
from reasoning.sources.mapping import SourceMap, map_key

SOURCE = "padchest"
FILE = "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz"
COLUMNS = ("ImageID", "StudyID", "PatientID", "PatientBirth", "PatientSex_DICOM", "Projection", "StudyDate_DICOM",
           "Manufacturer_DICOM", "MethodLabel", "Labels")
PROJECTIONS = {"PA": "PA", "AP": "AP", "AP_horizontal": "AP supine", "L": "lateral", "COSTAL": "other",
               "EXCLUDE": "other", "UNK": "other"}
METHODS = {"Physician": "human", "RNN_model": "model"}
NOT_REPORTED_LABELS = ("exclude",)


def read(folder: Path, table: ConceptTable, smap: SourceMap, *, progress: bool = True) -> SourceMatrix:
    path = require_file(folder, FILE, SOURCE)
    bar = tqdm(total=4, desc=f"{SOURCE}: read", disable=not progress, leave=False)
    df = read_table(path, SOURCE, required=COLUMNS, dtype={c: "string" for c in COLUMNS if c != "PatientBirth"})
    bar.update()
    bar.set_description(f"{SOURCE}: labels")
    study = df["StudyID"]
    if study.isna().any():
        raise SourceError(f"{SOURCE}: {FILE} column 'StudyID' is empty on {int(study.isna().sum())} row(s)")
    first = ~study.duplicated()
    per_study = df.loc[first, ["StudyID", "Labels"]]
    tokens = per_study["Labels"].str.findall(r"'([^']*)'")
    bad = per_study["Labels"].notna() & ~per_study["Labels"].str.startswith("[", na=False)
    if bad.any():
        example = per_study.loc[bad, "Labels"].iloc[0]
        raise SourceError(f"{SOURCE}: {FILE} column 'Labels' should hold a list like ['normal'], found {example[:60]!r}")
    long = tokens.explode()
    long = long[long.notna()].str.strip()
    long = long[long != ""]
    keys = long.map(map_key)
    lookup = smap.lookup()
    unknown = set(keys.unique()) - set(lookup)
    if unknown:
        originals = long[keys.isin(unknown)].unique()
        raise unknown_labels_error(SOURCE, FILE, "Labels", originals, Path(smap.path).name)
    concept = keys.map(lookup)
    study_of_token = per_study["StudyID"].reindex(long.index)
    unmapped_seen = long[concept.isna()].value_counts().to_dict()
    mapped = concept.notna()
    studies = pd.Index(per_study["StudyID"].to_numpy(), name="study")
    labels = labels_from_long(studies, study_of_token[mapped], concept[mapped], smap.concepts())
    excluded = set(study_of_token[keys.isin(NOT_REPORTED_LABELS)].to_numpy())
    not_reported = pd.Series(per_study["Labels"].isna().to_numpy() | studies.isin(excluded), index=studies)
    bar.update()
    bar.set_description(f"{SOURCE}: confounders")
    rank = view_rank(df["Projection"].map(PROJECTIONS))
    year = pd.to_numeric(df["StudyDate_DICOM"].str[:4], errors="coerce")
    age = year - pd.to_numeric(df["PatientBirth"], errors="coerce")
    sex = df["PatientSex_DICOM"].where(df["PatientSex_DICOM"].isin(["F", "M"]))
    grouped = pd.DataFrame({"study": study, "rank": rank, "age": age, "one": np.int16(1)}).groupby("study", sort=False)
    meta = pd.DataFrame(index=studies)
    meta["study_id"] = studies
    firsts = df.loc[first].set_index("StudyID")
    meta["patient_id"] = firsts["PatientID"].reindex(studies)
    meta["view"] = study_view(grouped["rank"].min().reindex(studies))
    meta["age"] = grouped["age"].first().reindex(studies)
    meta["sex"] = sex[first].set_axis(firsts.index).reindex(studies)
    meta["device_maker"] = firsts["Manufacturer_DICOM"].reindex(studies)
    methods = firsts["MethodLabel"].map(METHODS)
    if methods.isna().any() and firsts["MethodLabel"].notna().any():
        odd = sorted(set(firsts.loc[methods.isna() & firsts["MethodLabel"].notna(), "MethodLabel"]))
        if odd:
            raise SourceError(f"{SOURCE}: {FILE} column 'MethodLabel' holds {odd[:3]}; expected Physician or RNN_model")
    meta["label_method"] = methods.reindex(studies)
    meta["n_images"] = grouped["one"].sum().reindex(studies)
    bar.update()
    frame = assemble(SOURCE, meta, labels, not_reported=not_reported)
    bar.update()
    bar.close()
    return SourceMatrix(SOURCE, frame, tuple(labels.columns), (str(path),), unmapped_seen,
                        ("labels read per study (identical on every image of a study); no uncertainty in PadChest",
                         "studies labelled 'exclude' or without labels are not reported (<NA>)"))
