"""NIH ChestX-ray14 (NIH Clinical Center): 112,120 images, 14 findings mined from the reports.

``Finding Labels`` joins a row's labels with ``|`` (``Cardiomegaly|Emphysema``) or reads ``No Finding``.
The NIH labeler resolved negation and uncertainty itself, so a label reads present (1) or absent (0).
Every image is its own study (a follow-up is a new study); confounders: view (PA / AP), age, sex.
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
    unknown_labels_error,
)
from reasoning.sources.mapping import SourceMap, map_key

SOURCE = "nih"
FILE = "Data_Entry_2017_v2020.csv.gz"
COLUMNS = ("Image Index", "Finding Labels", "Patient ID", "Patient Age", "Patient Gender", "View Position")
VIEWS = {"PA": "PA", "AP": "AP"}


def read(folder: Path, table: ConceptTable, smap: SourceMap, *, progress: bool = True) -> SourceMatrix:
    path = require_file(folder, FILE, SOURCE)
    bar = tqdm(total=3, desc=f"{SOURCE}: read", disable=not progress, leave=False)
    df = read_table(path, SOURCE, required=COLUMNS, dtype={"Image Index": "string", "Finding Labels": "string",
                                                           "Patient ID": "string", "Patient Gender": "string",
                                                           "View Position": "string"})
    bar.update()
    bar.set_description(f"{SOURCE}: labels")
    if df["Image Index"].isna().any() or df["Image Index"].duplicated().any():
        raise SourceError(f"{SOURCE}: {FILE} column 'Image Index' must name every image once")
    studies = pd.Index(df["Image Index"].str.removesuffix(".png").to_numpy(), name="study")
    if df["Finding Labels"].isna().any():
        raise SourceError(f"{SOURCE}: {FILE} column 'Finding Labels' is empty on "
                          f"{int(df['Finding Labels'].isna().sum())} row(s); expected labels or 'No Finding'")
    long = df["Finding Labels"].str.split("|").explode().str.strip()
    keys = long.map(map_key)
    lookup = smap.lookup()
    unknown = set(keys.unique()) - set(lookup)
    if unknown:
        raise unknown_labels_error(SOURCE, FILE, "Finding Labels", long[keys.isin(unknown)].unique(),
                                   Path(smap.path).name)
    concept = keys.map(lookup)
    study_of = pd.Series(studies.to_numpy()[long.index.to_numpy()], index=long.index)
    mapped = concept.notna()
    labels = labels_from_long(studies, study_of[mapped], concept[mapped], smap.concepts())
    unmapped_seen = long[~mapped].value_counts().to_dict()
    bar.update()
    views = df["View Position"].map(VIEWS)
    if views.isna().any():
        odd = sorted(set(df.loc[views.isna(), "View Position"].dropna()))[:3]
        raise SourceError(f"{SOURCE}: {FILE} column 'View Position' holds {odd or 'blanks'}; expected PA or AP")
    meta = pd.DataFrame({
        "study_id": studies, "patient_id": df["Patient ID"].to_numpy(), "view": views.to_numpy(),
        "age": pd.to_numeric(df["Patient Age"], errors="coerce").to_numpy(),
        "sex": df["Patient Gender"].where(df["Patient Gender"].isin(["F", "M"])).to_numpy(),
        "label_method": "model", "n_images": np.int16(1)}, index=studies)
    frame = assemble(SOURCE, meta, labels)
    bar.update()
    bar.close()
    return SourceMatrix(SOURCE, frame, tuple(labels.columns), (str(path),), unmapped_seen,
                        ("one study per image; labels mined from reports by NLP (present or absent only)",))
