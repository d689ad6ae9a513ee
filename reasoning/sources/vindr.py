"""VinDr-CXR (Hospital 108 and Hanoi Medical University) as released for the VinBigData challenge.

Each of 15,000 images was read by three of 17 radiologists; a row is one radiologist's box of one of
14 local findings, or ``No finding``. A finding is present (1) when most of the image's readers marked
it, uncertain (-1) when some but not most did (one of three), absent (0) when none did. The release
carries no age, sex or view, so those confounders are not reported.
"""

from __future__ import annotations

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
    unknown_labels_error,
)
from reasoning.sources.mapping import SourceMap, map_key

SOURCE = "vindr"
FILE = "vinbigdata-train.csv.gz"
COLUMNS = ("image_id", "class_name", "rad_id")


def read(folder: Path, table: ConceptTable, smap: SourceMap, *, progress: bool = True) -> SourceMatrix:
    path = require_file(folder, FILE, SOURCE)
    bar = tqdm(total=2, desc=f"{SOURCE}: read", disable=not progress, leave=False)
    df = read_table(path, SOURCE, required=COLUMNS, dtype={c: "string" for c in COLUMNS})
    bar.update()
    for col in COLUMNS:
        if df[col].isna().any():
            raise SourceError(f"{SOURCE}: {FILE} column {col!r} is empty on {int(df[col].isna().sum())} row(s)")
    keys = df["class_name"].str.strip().map(map_key)
    lookup = smap.lookup()
    unknown = set(keys.unique()) - set(lookup)
    if unknown:
        raise unknown_labels_error(SOURCE, FILE, "class_name", df.loc[keys.isin(unknown), "class_name"].unique(),
                                   Path(smap.path).name)
    concept = keys.map(lookup)
    readers = df.groupby("image_id", sort=False)["rad_id"].nunique()
    studies = pd.Index(readers.index.to_numpy(), name="study")
    marks = pd.DataFrame({"image": df["image_id"], "concept": concept, "rad": df["rad_id"]})[concept.notna()]
    marks = marks.drop_duplicates()
    votes = marks.groupby(["image", "concept"], sort=False).size()
    n_readers = readers.reindex(votes.index.get_level_values("image")).to_numpy()
    value = np.where(2 * votes.to_numpy() > n_readers, PRESENT, UNCERTAIN).astype(np.int8)
    labels = labels_from_long(studies, pd.Series(votes.index.get_level_values("image")),
                              pd.Series(votes.index.get_level_values("concept")), smap.concepts(),
                              value=pd.Series(value))
    meta = pd.DataFrame({"study_id": studies, "label_method": "human", "n_images": np.int16(1)}, index=studies)
    frame = assemble(SOURCE, meta, labels)
    bar.update()
    bar.close()
    unmapped = df.loc[concept.isna(), "class_name"].value_counts().to_dict()
    majority = readers.mode().iloc[0] if len(readers) else 0
    return SourceMatrix(SOURCE, frame, tuple(labels.columns), (str(path),), unmapped,
                        (f"{int(majority)} readers per image (most images): present when most readers marked the "
                         "finding, uncertain when some but not most did",))
