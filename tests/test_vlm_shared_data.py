"""The readers and the grounded pipeline on the real shared data sets (skipped when the folder is absent)."""

from __future__ import annotations

import pytest

from tests.fixtures.vlm.builders import tiny_assets
from vlm.data import read_cxr_covid, read_iu_xray, read_pneumoniamnist, read_vqa_rad
from vlm.labels import LABEL_INDEX


def test_readers_match_the_documented_counts(shared_data):
    pm = read_pneumoniamnist(shared_data / "pneumoniamnist" / "pneumoniamnist.npz")
    assert [len(pm.split(s)) for s in ("train", "val", "test")] == [3882, 524, 624]
    iu = read_iu_xray(shared_data / "iu_xray")
    assert [len(iu.split(s)) for s in ("train", "val", "test")] == [2069, 296, 590]
    assert sum(r.labels[LABEL_INDEX["Cardiomegaly"]] == 1 for r in iu.records) > 200
    vqa = read_vqa_rad(shared_data / "vqa_rad")
    # the common MEVF split asks its test questions about training images: 314 distinct images in all
    assert len(vqa.qa) == 3064 + 451 and len(vqa.records) == 314
    covid = read_cxr_covid(shared_data / "cxr_covid")
    assert len(covid.records) == 603
    groups = {s: {r.group for r in covid.split(s)} for s in ("train", "val", "test")}
    assert not groups["train"] & groups["test"] and not groups["train"] & groups["val"], "split by patient"


def test_pipeline_runs_on_a_shared_radiograph_in_every_mode(shared_data, tmp_path):
    from vlm.grounding import starter_store
    from vlm.index import build_index
    from vlm.infer import Grounder

    a = tiny_assets()
    index = build_index(shared_data, tmp_path / "index", a["model"], sources=("cxr_covid",))
    assert len(index) > 450 and {index.exemplar(i).split for i in range(len(index))} <= {"train", "val"}
    g = Grounder.load(a["model"], tmp_path / "index", starter_store())
    image = next((shared_data / "cxr_covid" / "images").glob("*.png"))
    for mode in ("none", "semantic", "causal"):
        r = g.infer(image, "diagnose", retrieval=mode)
        assert r.answer and (bool(r.exemplars) == (mode != "none"))
    with pytest.raises(ValueError):
        g.infer(image, "diagnose", retrieval="mixed")
