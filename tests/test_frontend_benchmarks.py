"""The front-end benchmarks' own logic: ROC points, thresholds, false calls, the selection log's overrides."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchmarks.frontend_dev import append, parse_overrides
from benchmarks.frontend_images import benchmarks_row, best_threshold, normal_calls, spec_at_sens
from vlm.data import Record
from vlm.labels import LABEL_INDEX, LABELS


def test_specificity_at_sensitivity_is_a_point_of_the_roc():
    y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.75, 0.5, 0.4, 0.2])
    # 0.8 sensitivity needs 4 of 5 positives: threshold 0.6; negatives below it: 0.5, 0.4, 0.2
    assert spec_at_sens(y, s) == pytest.approx(3 / 4)
    assert math.isnan(spec_at_sens(np.ones(3, int), np.ones(3))), "no negative films: undefined"


def test_the_threshold_maximises_balanced_accuracy_on_held_out_films():
    y = np.array([0, 0, 0, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    t = best_threshold(y, s)
    assert 0.6 < t <= 0.7


def test_normal_calls_count_only_normal_films_above_one_half():
    def rec(normal: int) -> Record:
        labels = [0] * len(LABELS)
        labels[LABEL_INDEX["normal"]] = normal
        return Record(f"x{normal}", "nih_621", "test", labels=tuple(labels))

    recs = [rec(1), rec(1), rec(0), rec(1)]
    probs = np.zeros((4, len(LABELS)))
    probs[:, LABEL_INDEX["Pneumonia"]] = [0.7, 0.2, 0.9, 0.5]
    probs[:, LABEL_INDEX["COVID-19"]] = [0.1, 0.6, 0.9, 0.0]
    calls = normal_calls(recs, probs)
    assert calls == {"normal_films": 3, "normal_called_covid": pytest.approx(1 / 3, abs=1e-4),
                     "normal_called_pneumonia": pytest.approx(2 / 3, abs=1e-4)}


def test_the_selection_log_takes_train_config_overrides_and_counts_every_scoring(tmp_path):
    got = parse_overrides(["texture_augment=0.5", "flip=true", "intensity=equalise",
                           'source_groups=[["adult",["nih_1000"]],["rest",[]]]'])
    assert got == {"texture_augment": 0.5, "flip": True, "intensity": "equalise",
                   "source_groups": (("adult", ("nih_1000",)), ("rest", ()))}
    with pytest.raises(ValueError, match="TrainConfig field"):
        parse_overrides(["learning_rate_of_doom=1"])
    with pytest.raises(ValueError, match="key=value"):
        parse_overrides(["flip"])
    log = tmp_path / "dev.json"
    append(log, {"name": "a", "seeds": {"0": {}, "1": {}}}, {"nih_621_dev": 187})
    append(log, {"name": "b", "seeds": {"0": {}}}, {"nih_621_dev": 187})
    data = json.loads(log.read_text())
    assert [e["name"] for e in data["entries"]] == ["a", "b"] and data["dev_scorings"] == 3


def test_the_benchmark_row_names_the_seeds_run_and_quotes_the_same_run_anchor():
    keys = ("nih_621_auc", "pediatric_224_auc", "pediatric_224_accuracy", "pneumoniamnist_28_auc",
            "pneumoniamnist_28_accuracy", "covid_test_auc")

    def variant(value: float, seeds: tuple[str, ...]) -> dict:
        return {"seeds": dict.fromkeys(seeds, {}),
                "training": {s: {"seconds": 100.0, "samples_per_second": 50.0, "steps": 460, "batch_size": 64} for s in seeds},
                "mean": {k: {"mean": value, "min": value - 0.01, "max": value + 0.01} for k in keys}}

    result = {"command": "python benchmarks/frontend_images.py", "machine": "m", "date": "d", "seconds": 1234.0,
              "speed": {"images_per_second": 500.0},
              "variants": {"default": variant(0.66, ("0", "1")), "round-one": variant(0.6, ("0", "1"))}}
    row = benchmarks_row(result)
    assert "seeds 0, 1:" in row and "460 steps of 64" in row
    assert "AUC 0.660 (round-one anchor 0.600, ratio 1.100)" in row
    del result["variants"]["round-one"]
    assert "anchor" not in benchmarks_row(result)
