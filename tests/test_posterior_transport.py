"""The transport benchmark's own arithmetic on tiny inputs: weighted AUC, cluster bootstrap, the
semantic vote, the simulated front end's view shortcut and the settings rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from benchmarks.transport import (
    SemanticIndex,
    SemanticSetting,
    Shortcut,
    Source,
    choose,
    patient_weights,
    semantic,
    simulate,
    weighted_auc,
)


def test_weighted_auc_matches_scikit_learn_with_ties_and_weights() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.3).astype(float)
    s = np.round(y + rng.standard_normal(300), 1)  # many ties
    w = rng.integers(0, 4, size=(3, 300)).astype(float)
    got = weighted_auc(y, s, w)
    want = [roc_auc_score(y, s, sample_weight=row) for row in w]
    assert got == pytest.approx(want, abs=1e-12)
    assert weighted_auc(y, s, np.ones((1, 300)))[0] == pytest.approx(roc_auc_score(y, s))


def test_patient_bootstrap_moves_whole_patients() -> None:
    patients = np.array([0, 0, 0, 1, 2, 2])
    w = patient_weights(patients, 200, np.random.default_rng(1))
    assert w.shape == (200, 6)
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 1] == w[:, 2]).all() and (w[:, 4] == w[:, 5]).all()
    assert (w[:, [0, 3, 4]].sum(axis=1) == 3).all()  # three patients drawn per replicate


def test_semantic_vote_reads_only_the_findings_a_neighbour_reports() -> None:
    labels = np.array([[1.0, np.nan], [1.0, 0.0], [0.0, 1.0], [np.nan, np.nan]])
    index = SemanticIndex(front_end=labels.copy(), labels=labels)
    query = np.array([[0.9, 0.1]])
    out = semantic(query, index, [SemanticSetting("labels", 2, 0.5)])[SemanticSetting("labels", 2, 0.5)]
    # nearest two: rows 0 and 1 (distance over the findings each reports); finding 2 only from row 1
    assert out[0] == pytest.approx([0.5 * 0.9 + 0.5 * 1.0, 0.5 * 0.1 + 0.5 * 0.0])


def test_the_simulated_shortcut_moves_only_ap_films() -> None:
    n = 4000
    rng = np.random.default_rng(2)
    views = np.where(np.arange(n) % 2 == 0, "AP", "PA").astype(object)
    labels = pd.DataFrame({"x": (rng.random(n) < 0.3).astype("float32")})
    src = Source("s", labels, views, views == "AP", np.arange(n), np.arange(n))
    shortcut = Shortcut({"x": -1.0}, -0.5, {})
    rows = np.arange(n)
    base = simulate(src, rows, ["x"], 0.8, 0.0, shortcut, {"x": 0.3}, np.random.default_rng(3))["x"].to_numpy()
    moved = simulate(src, rows, ["x"], 0.8, 2.0, shortcut, {"x": 0.3}, np.random.default_rng(3))["x"].to_numpy()
    ap = views == "AP"
    assert moved[ap] - base[ap] == pytest.approx(np.full(ap.sum(), -2.0))
    assert moved[~ap] == pytest.approx(base[~ap])
    # the front end's AUC within a view is what was asked for
    y = labels["x"].to_numpy()
    assert roc_auc_score(y[~ap], base[~ap]) == pytest.approx(0.8, abs=0.03)


def test_the_rule_takes_the_best_worst_case_and_the_earlier_of_a_tie() -> None:
    a, b, c = SemanticSetting("labels", 25, 0.25), SemanticSetting("labels", 25, 0.5), SemanticSetting("labels", 100, 0.25)
    crit = {f"semantic[{a.name()}]": [0.80, 0.70], f"semantic[{b.name()}]": [0.75, 0.74],
            f"semantic[{c.name()}]": [0.74, 0.76]}
    chosen, worst = choose([a, b, c], crit, "semantic")
    assert chosen == b and worst[a.name()] == 0.70
    crit[f"semantic[{c.name()}]"] = [0.74, 0.75]
    assert choose([a, b, c], crit, "semantic")[0] == b


def test_the_model_shortcut_is_a_shift_in_sd_units_of_the_simulated_front_end(tmp_path):
    import json

    from benchmarks.noise import separation_for_auc
    from benchmarks.transport import model_shortcut

    path = tmp_path / "view_shortcut.json"
    path.write_text(json.dumps({"shortcut_sd": {"per_concept": {"pneumonia": -0.25}, "fallback": -0.1},
                                "per_split": {}}), encoding="utf-8")
    sc = model_shortcut(path)
    assert sc.units == "sd"
    assert sc.of("pneumonia", 0.8) == pytest.approx(-0.25 * separation_for_auc(0.8))
    assert sc.of("pneumonia", 0.9) == pytest.approx(-0.25 * separation_for_auc(0.9))
    assert sc.of("lung_nodule", 0.8) == pytest.approx(-0.1 * separation_for_auc(0.8))
