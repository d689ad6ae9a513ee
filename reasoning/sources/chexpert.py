"""CheXpert (Stanford): 223,414 images of 187,641 studies, 14 observations from the CheXpert labeler.

A label column holds 1 (present), 0 (negated), -1 (uncertain) or a blank (not mentioned: kept as
not reported, <NA>). Labels are per study and repeat on each image; the study's view is its frontal
projection (AP before PA) or ``lateral``. Confounders: view, age, sex.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from kg.concepts import ConceptTable
from reasoning.sources.base import (
    ABSENT,
    PRESENT,
    UNCERTAIN,
    SourceError,
    SourceMatrix,
    assemble,
    read_table,
    require_file,
    study_view,
    view_rank,
)
from reasoning.sources.mapping import SourceMap, map_key

SOURCE = "chexpert"
FILE = "chexpert_train.csv.gz"
META = ("Path", "Sex", "Age", "Frontal/Lateral", "AP/PA")
SEXES = {"Female": "F", "Male": "M"}


def read(folder: Path, table: ConceptTable, smap: SourceMap, *, progress: bool = True) -> SourceMatrix:
    path = require_file(folder, FILE, SOURCE)
    bar = tqdm(total=3, desc=f"{SOURCE}: read", disable=not progress, leave=False)
    df = read_table(path, SOURCE, required=META, all_columns=True, dtype={"Path": "string", "Sex": "string",
                                                                           "Frontal/Lateral": "string", "AP/PA": "string"})
    bar.update()
    bar.set_description(f"{SOURCE}: labels")
    label_cols = [c for c in df.columns if c not in META]
    lookup = smap.lookup()
    unknown = [c for c in label_cols if map_key(c) not in lookup]
    if unknown:
        raise SourceError(f"{SOURCE}: {FILE} has label column(s) {', '.join(map(repr, unknown))} that "
                          f"{Path(smap.path).name} neither maps nor lists as unmapped")
    expected = [m.label for m in smap.labels.values()]
    missing = [lab for lab in expected if lab not in df.columns]
    if missing:
        raise SourceError(f"{SOURCE}: {FILE} has no column {', '.join(map(repr, missing))}")
    parts = df["Path"].str.split("/")
    if parts.isna().any() or (parts.str.len() < 3).any():
        raise SourceError(f"{SOURCE}: {FILE} column 'Path' should read .../patientNNNNN/studyN/viewN_frontal.jpg")
    patient, study_part = parts.str[-3], parts.str[-2]
    study = (patient + "/" + study_part).astype("string")
    first = ~study.duplicated()
    studies = pd.Index(study[first].to_numpy(), name="study")
    codes: dict[str, pd.Series] = {}
    for col in label_cols:
        concept = lookup[map_key(col)]
        if concept is None:
            continue
        values = pd.to_numeric(df[col], errors="coerce")
        bad = ~(values.isna() | values.isin([PRESENT, ABSENT, UNCERTAIN]))
        text_bad = df[col].notna() & values.isna()
        if bad.any() or text_bad.any():
            example = df.loc[bad | text_bad, col].iloc[0]
            raise SourceError(f"{SOURCE}: {FILE} column {col!r} holds {example!r}; expected 1, 0, -1 or blank")
        # per study: present > uncertain > absent > not reported
        rank = values.map({ABSENT: 1, UNCERTAIN: 2, PRESENT: 3}).fillna(0).astype(np.int8)
        best = rank.groupby(study.to_numpy(), sort=False).max().reindex(studies)
        decoded = best.map({0: pd.NA, 1: ABSENT, 2: UNCERTAIN, 3: PRESENT})
        codes[concept] = decoded.astype("Int8") if concept not in codes else _merge(codes[concept], decoded)
    labels = pd.DataFrame(codes, index=studies)
    bar.update()
    frontal = df["Frontal/Lateral"].eq("Frontal")
    view = pd.Series("lateral", index=df.index, dtype="string").where(~frontal, df["AP/PA"].map({"AP": "AP", "PA": "PA"}))
    view = view.fillna("other")
    grouped = pd.DataFrame({"study": study, "rank": view_rank(view), "age": pd.to_numeric(df["Age"], errors="coerce"),
                            "one": np.int16(1)}).groupby("study", sort=False)
    meta = pd.DataFrame(index=studies)
    meta["study_id"] = studies
    meta["patient_id"] = patient[first].to_numpy()
    meta["view"] = study_view(grouped["rank"].min().reindex(studies))
    meta["age"] = grouped["age"].first().reindex(studies)
    meta["sex"] = df.loc[first, "Sex"].map(SEXES).to_numpy()
    meta["label_method"] = "model"
    meta["n_images"] = grouped["one"].sum().reindex(studies)
    frame = assemble(SOURCE, meta, labels)
    bar.update()
    bar.close()
    return SourceMatrix(SOURCE, frame, tuple(labels.columns), (str(path),),
                        {c: int(df[c].eq(1).sum()) for c in label_cols if lookup[map_key(c)] is None},
                        ("-1 kept as uncertain; a blank (not mentioned) kept as not reported",))


def _merge(a: pd.Series, b: pd.Series) -> pd.Series:
    """Two columns mapping to one concept: the stronger statement per study."""
    order = {ABSENT: 1, UNCERTAIN: 2, PRESENT: 3}
    ra, rb = a.map(order).fillna(0), b.map(order).fillna(0)
    best = np.maximum(ra.to_numpy(dtype=float), rb.to_numpy(dtype=float))
    return pd.Series(best, index=a.index).map({0: pd.NA, 1: ABSENT, 2: UNCERTAIN, 3: PRESENT}).astype("Int8")
