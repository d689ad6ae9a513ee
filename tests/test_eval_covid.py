"""COVID radiograph benchmark: case reading, patient-disjoint splits, the view-shift splits, a tiny run."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from benchmarks import covid
from benchmarks.covid_split import (
    Case,
    CovidDataError,
    aligned,
    partial_shift_split,
    patient_split,
    read_cases,
    shift_split,
    view_strength,
)
from benchmarks.registry import BenchmarkError, RunContext

PATHOGENS = ("Streptococcus", "Klebsiella", "Pneumocystis", "SARS")


def _fixture(root: Path, patients: int = 30, seed: int = 0) -> Path:
    """COVID-19 mostly on AP, other pneumonia mostly on PA, some flipped; 1-2 films a patient, plus noise rows."""
    from PIL import Image

    data = root / "cxr_covid"
    (data / "images").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(patients):
        covid_case = p % 3 != 0
        for k in range(1 + p % 2):
            flipped = (p + k) % 5 == 0
            on_ap = covid_case != flipped
            view = ("AP Supine" if k else "AP") if on_ap else "PA"
            name = f"p{p:03d}-{k}.png"
            px = rng.integers(0, 255, (24, 20), dtype=np.uint8)
            px[4:12, 4:12] = 220 if covid_case else 40
            Image.fromarray(px).save(data / "images" / name)
            finding = ("COVID-19, ARDS" if p % 7 == 0 else "COVID-19") if covid_case else PATHOGENS[p % 4]
            rows.append({"image": name, "patientid": str(100 + p), "finding": finding, "view": view,
                         "sex": "M", "age": "50"})
    rows += [{"image": "todo.png", "patientid": "900", "finding": "todo", "view": "PA", "sex": "", "age": ""},
             {"image": "lat.png", "patientid": "901", "finding": "COVID-19", "view": "L", "sex": "", "age": ""},
             {"image": "nf.png", "patientid": "902", "finding": "No Finding", "view": "PA", "sex": "", "age": ""}]
    with (data / "metadata.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return data


def test_read_cases_drops_undiagnosed_lateral_and_no_finding(tmp_path: Path) -> None:
    cases, dropped = read_cases(_fixture(tmp_path))
    assert dropped == {"undiagnosed": 1, "no_finding": 1, "not_frontal": 1, "missing_image": 0}
    assert {c.view_group for c in cases} == {"AP", "PA"}
    assert all(c.covid == ("COVID" in c.finding) for c in cases)


def test_patient_split_is_disjoint_and_stratified(tmp_path: Path) -> None:
    cases, _ = read_cases(_fixture(tmp_path))
    split = patient_split(cases)
    patients = {k: {c.patient for c in v} for k, v in split.items()}
    assert not (patients["train"] & patients["val"] or patients["train"] & patients["test"]
                or patients["val"] & patients["test"])
    assert sum(len(v) for v in split.values()) == len(cases)
    for v in split.values():
        assert {c.covid for c in v} == {0, 1}
    assert patient_split(cases) == split  # deterministic


def test_shift_split_flips_the_view_label_pairing(tmp_path: Path) -> None:
    cases, _ = read_cases(_fixture(tmp_path))
    split = shift_split(cases)
    names = list(split)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not ({c.patient for c in split[a]} & {c.patient for c in split[b]}), (a, b)
    for name in ("train", "val", "test_id"):
        assert split[name] and all(aligned(c) for c in split[name])
        assert covid.view_auc(split[name]) == 1.0  # the view is a perfect shortcut there
    shifted = split["test_shift"]
    assert {c.covid for c in shifted} == {0, 1}
    assert not any(aligned(c) for c in shifted)
    assert covid.view_auc(shifted) == 0.0  # and exactly wrong in the shifted test


def _cases(seed: int = 0) -> list[Case]:
    """Cases without images, counts shaped like the collection: COVID-19 about even over AP / PA, other pneumonia
    mostly PA with a few multi-film AP patients, some COVID-19 patients on both views."""
    rng = np.random.default_rng(seed)
    out = []
    for p in range(300):
        covid_case = p % 6 != 0
        if covid_case:
            views = ["AP", "PA"][p % 2:p % 2 + 1] if p % 13 else ["AP", "PA", "PA"]
        else:
            views = ["AP"] * (2 + p % 3) if p % 36 == 0 else ["PA"] * (1 + int(rng.integers(0, 2)))
        for k, v in enumerate(views):
            out.append(Case(Path(f"p{p}-{k}.png"), str(p), "COVID-19" if covid_case else "Klebsiella",
                            "AP Supine" if v == "AP" and k % 2 else v, v, int(covid_case)))
    return out


@pytest.mark.parametrize("strength", [0.8, 0.85])
def test_partial_shift_split_has_the_requested_strength_and_reverses_it(strength: float) -> None:
    cases = _cases()
    split = partial_shift_split(cases, strength)
    names = list(split)
    assert names == ["train", "val", "test_id", "test_shift"]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not ({c.patient for c in split[a]} & {c.patient for c in split[b]}), (a, b)
    for name in names:
        assert {c.covid for c in split[name]} == {0, 1}, name
        assert {(c.covid, c.view_group) for c in split[name]} == {(0, "AP"), (0, "PA"), (1, "AP"), (1, "PA")}, name
    got = view_strength(split["train"])
    assert got["covid_on_ap"] == pytest.approx(strength, abs=0.03)
    assert got["not_covid_on_pa"] == pytest.approx(strength, abs=0.06)
    assert 0.5 < covid.view_auc(split["train"]) < 1.0  # strong, not perfect
    shifted = view_strength(split["test_shift"])
    assert shifted["covid_on_ap"] is not None and shifted["not_covid_on_pa"] is not None
    assert 1 - shifted["covid_on_ap"] == pytest.approx(strength, abs=0.06)  # COVID-19 mostly PA
    assert 1 - shifted["not_covid_on_pa"] == pytest.approx(strength, abs=0.12)  # other pneumonia mostly AP
    assert covid.view_auc(split["test_shift"]) < 0.5
    assert partial_shift_split(cases, strength) == split  # deterministic
    assert len({c.key for v in split.values() for c in v}) == sum(len(v) for v in split.values())


def test_partial_shift_split_rejects_a_degenerate_strength() -> None:
    with pytest.raises(ValueError, match="strength"):
        partial_shift_split(_cases(), 1.0)


def test_missing_metadata_raises_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "cxr_covid").mkdir()
    with pytest.raises(CovidDataError, match="metadata"):
        read_cases(tmp_path / "cxr_covid")
    with pytest.raises(BenchmarkError, match="not found"):
        read_cases(tmp_path / "nowhere")
    (tmp_path / "cxr_covid" / "metadata.csv").write_text("image,finding\nx.png,COVID-19\n")
    with pytest.raises(CovidDataError, match="patientid"):
        read_cases(tmp_path / "cxr_covid")
    ctx = RunContext(tmp_path / "empty", tmp_path / "models", ("none",), train_cap_s=1.0)
    with pytest.raises(BenchmarkError):
        covid.run(ctx)


@pytest.mark.slow
def test_run_on_tiny_fixture_returns_the_expected_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fixture(tmp_path)
    monkeypatch.setattr(covid, "OOF_FOLDS", 2)
    modes = ("none", "semantic", "causal")
    ctx = RunContext(tmp_path, tmp_path / "models", modes, train_budget_s=1.0, train_cap_s=1.0)
    out = covid.run(ctx)
    assert set(out["modes"]) == set(modes)
    keys = {"auc", "macro_f1", "accuracy", "hallucination_rate", "traceability_any", "traceability_graph"}
    for mode, row in out["modes"].items():
        assert keys <= set(row)
        assert 0.0 <= row["hallucination_rate"] <= 1.0
        assert {"threshold", "auc_ci95", "balanced_accuracy", "retrieved"} <= set(out["details"][mode])
    assert out["details"]["none"]["retrieved"]["per_case"] == 0.0
    assert out["details"]["causal"]["retrieved"]["per_case"] > 0
    assert set(out["shift"]["modes"]) == set(modes)
    for row in out["shift"]["modes"].values():
        assert {"in_distribution", "shifted", "drop"} <= set(row)
        assert set(row["drop"]) >= {"auc", "macro_f1", "accuracy"}
    assert out["shift"]["view_only_auc"]["test_shift"] == 0.0
    part = out["shift_partial"]
    assert set(part["modes"]) == set(modes) and part["strength"]["requested"] == 0.8
    for row in part["modes"].values():
        assert {"in_distribution", "shifted", "drop"} <= set(row)
    assert set(part["adjustment_variants"]) == set(covid.VARIANTS)
    for v in part["adjustment_variants"].values():
        assert {"val", "in_distribution", "shifted", "drop_auc", "adjustment", "scores_from"} <= set(v)
    assert out["notes"] and out["counts"]["test"]["images"] > 0
    # the index carries the front end's scores: causal reads them against the view, traceably
    reading = out["front_end_reading"]
    assert reading["variant"] in covid.VARIANTS and set(reading["mean_val_auc"]) == set(covid.VARIANTS)
    worst = {k: (v if v is not None else -1.0) for k, v in reading["worst_view_val_auc"].items()}
    assert set(worst) == set(covid.VARIANTS)
    assert worst[reading["variant"]] == max(worst.values()), "the reading with the best worst-view val AUC is used"
    assert out["front_end_adjustment"]["method"] == reading["method"] == covid.VARIANTS[reading["variant"]][0]
    oof = out["adjustment_variants"]["stratum-finding (out-of-fold)"]
    assert set(oof["adjustment"]) == {"cxr_covid|AP|portable", "cxr_covid|PA|department"}
    for name in ("stratum-finding (train scores)", "stratum-finding (out-of-fold)"):
        shift_adj = out["adjustment_variants"][name]["shift"]
        assert all(v["logit_shift"] is None for v in shift_adj["adjustment"].values()), \
            "with the view a perfect proxy of the class, the view's own effect is not identifiable"
        assert "not identifiable" in shift_adj["note"]
    assert set(out["adjustment_variants"]) == set(covid.VARIANTS)
    for v in out["adjustment_variants"].values():
        assert {"val", "test", "shift", "scores_from"} <= set(v) and "drop_auc" in v["shift"]
    # out-of-fold scores of every train film, from patient-grouped folds of train only
    for cal in (out["calibration"], out["shift"]["calibration"], part["calibration"]):
        assert cal["folds"] == 2 and len(cal["models"]) == 2 and cal["oof_logits"] is not None
    assert sum(m["held_out_films"] for m in out["calibration"]["models"]) == out["counts"]["train"]["images"]
    # the front ends are cached: a second run trains nothing
    again = covid.run(ctx)
    assert again["front_end"]["from_cache"] and again["modes"] == out["modes"]
    paths = covid.write_plots({"task": "diagnose", "dataset": "cxr_covid", **out}, tmp_path / "plots")
    assert [p.name for p in paths] == ["diagnose_cxr_covid.png", "diagnose_cxr_covid_shift.png",
                                       "diagnose_cxr_covid_shift_partial.png"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_real_data_counts(shared_data: Path) -> None:
    root = shared_data / "cxr_covid"
    if not (root / "metadata.csv").is_file():
        pytest.skip(f"{root} is absent")
    cases, dropped = read_cases(root)
    assert dropped["undiagnosed"] >= 84 and dropped["not_frontal"] >= 26
    split = shift_split(cases)
    assert covid.view_auc(split["train"]) == 1.0 and covid.view_auc(split["test_shift"]) == 0.0
    assert sum(1 - c.covid for c in split["test_shift"]) >= 10
    part = partial_shift_split(cases)
    got = view_strength(part["train"])
    assert got["covid_on_ap"] == pytest.approx(0.8, abs=0.03) and got["not_covid_on_pa"] == pytest.approx(0.8, abs=0.03)
    assert covid.view_auc(part["test_shift"]) < 0.3


def test_the_reading_is_chosen_by_the_worst_view_stratum_on_validation():
    import numpy as np

    from benchmarks.covid import VARIANTS, auc_by_view, choose_variant, worst_view_val_aucs

    y = np.array([1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.4, 0.3, 0.2, 0.5, 0.6, 0.7])
    views = ["AP"] * 6 + ["PA"] * 6
    per = auc_by_view(y, s, views)
    assert per == {"AP": 1.0, "PA": 0.0}
    assert auc_by_view(y[:4], s[:4], views[:4]) == {"AP": None, "PA": None}, "too few of a class: no stratum AUC"

    def row(ap: float | None, pa: float | None) -> dict:
        return {"val": {"auc_by_view": {"AP": ap, "PA": pa}}}

    names = list(VARIANTS)
    # the first variant is best on average but worst in one stratum; the second is even everywhere
    main = {v: {**row(0.95, 0.40), "shift": row(None, None)} for v in names}
    main[names[1]] = {**row(0.70, 0.68), "shift": row(None, None)}
    partial = {v: row(0.9, None) for v in names}
    partial[names[1]] = row(0.69, None)
    worst = worst_view_val_aucs(main, partial)
    assert worst[names[0]] == 0.40 and worst[names[1]] == 0.68
    assert choose_variant(main, partial) == names[1]
