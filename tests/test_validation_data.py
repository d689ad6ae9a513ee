"""Tables: reading CSV / Parquet, mapping columns to concepts, telling variable types."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reasoning.data import ConceptRef, DataError, load_table, map_columns, numeric_values, variable_kind

C = "https://w3id.org/mcrag/concept/"


def test_columns_map_by_local_name_label_openi_name_and_synonym() -> None:
    concepts = [ConceptRef(C + "pleural_effusion", "pleural effusion"), ConceptRef(C + "lung_mass", "pulmonary mass"),
                ConceptRef(C + "heart_failure", "heart failure"), ConceptRef(C + "lung_scarring", "lung scarring",
                                                                             ("scar", "scarring")),
                ConceptRef(C + "copd", "chronic obstructive pulmonary disease")]
    cols = ["report_id", "split", "Effusion", "Pulmonary Mass", "heart_failure", "scarring", "n_images"]
    m = map_columns(cols, concepts)
    assert m.by_iri == {C + "pleural_effusion": "Effusion", C + "lung_mass": "Pulmonary Mass",
                        C + "heart_failure": "heart_failure", C + "lung_scarring": "scarring"}
    assert m.column(C + "copd") is None and m.unmatched_columns == ("n_images",)


def test_an_exact_local_name_wins_over_an_open_i_name() -> None:
    m = map_columns(["Effusion", "pleural_effusion"], [ConceptRef(C + "pleural_effusion", "pleural effusion")])
    assert m.column(C + "pleural_effusion") == "pleural_effusion"


def test_the_open_i_edema_column_stays_pulmonary_edema_beside_edema_of_any_tissue() -> None:
    """A literature claim about drug-induced edema must not take the Open-i Edema column from pulmonary edema."""
    for order in (1, -1):
        concepts = [ConceptRef(C + "edema", "edema"), ConceptRef(C + "pulmonary_edema", "pulmonary edema")][::order]
        m = map_columns(["Edema", "Effusion"], concepts)
        assert m.column(C + "pulmonary_edema") == "Edema" and m.column(C + "edema") is None
    assert map_columns(["edema"], [ConceptRef(C + "edema", "edema"),
                                   ConceptRef(C + "pulmonary_edema", "pulmonary edema")]).column(C + "edema") == "edema"


def test_kinds_and_recoding() -> None:
    assert variable_kind(pd.Series([0, 1, 1])) == "binary"
    assert variable_kind(pd.Series([1, 1, 1])) == "constant"
    assert variable_kind(pd.Series([0, 1, 2, 3])) == "discrete"
    assert variable_kind(pd.Series([0.1, 0.5, 2.3, 4.0])) == "continuous"
    assert variable_kind(pd.Series(["a", "b"])) == "non-numeric"
    assert variable_kind(pd.Series([None, None], dtype=float)) == "empty"
    assert numeric_values(pd.Series([1, 2, 2])).tolist() == [0.0, 1.0, 1.0]
    assert numeric_values(pd.Series([True, False])).tolist() == [1.0, 0.0]


FRAME = pd.DataFrame({"report_id": ["a", "b", "c"], "split": ["train", "test", "train"], "Effusion": [1, 0, 1]})


def test_parquet_with_split(tmp_path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as err:  # e.g. a pyarrow built for NumPy 2 next to NumPy 1.26
        pytest.skip(f"pyarrow is not importable here: {err}")
    FRAME.to_parquet(tmp_path / "t.parquet")
    assert load_table(tmp_path / "t.parquet", split="train").rows == 2


def test_csv_split_and_errors(tmp_path: Path) -> None:
    frame = FRAME
    frame.to_csv(tmp_path / "t.csv", index=False)
    csv = load_table(tmp_path / "t.csv")
    assert csv.rows == 3 and csv.label.startswith("t.csv (sha256:") and csv.label.endswith("3 rows)")
    assert load_table(tmp_path / "t.csv", split="train").rows == 2
    assert load_table(frame).digest == load_table(frame.copy()).digest
    with pytest.raises(DataError, match="not found"):
        load_table(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="no row has split='val'"):
        load_table(csv, split="val")
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(DataError, match="unknown table format"):
        load_table(tmp_path / "t.xlsx")
