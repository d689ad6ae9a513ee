#!/usr/bin/env python
"""Measure the miners against gold corpora; write docs/results/mining_*.json and figures.

* reports: Open-i labels of the IU-Xray full reports (Open-i XML: findings, impression, ...) against
  ``openi_labels.csv`` (NegBio gold, keyed by study id), with the R2Gen split. Macro F1 over the findings
  with gold positives in each set (12 on test, which has no Mass), micro F1, per-finding P/R/F1 and
  bootstrap 95% intervals on the test split (scored once), on train+val and on the Open-i reports outside
  R2Gen (where the rules were tuned); beside it, in the same run, the same miner on the findings-only
  R2Gen ``annotation.json`` text, the full reports without the CheXpert phrase lists, the finding statuses
  with uncertain counted absent / present, and a learned indexer over the mention statuses against the
  rules in 5-fold cross-validation on the tuning reports over 5 seeds.
The literature miner (BC5CDR, BioRED, ADE, Yu et al., NegEx, the regression list) is measured by
``benchmarks/mining_models.py``.

    python -m benchmarks.eval_mining                   # default data folder
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks.metrics import column_prf, macro_f1  # noqa: E402
from kg.concepts import FINDINGS  # noqa: E402

RESULTS = ROOT / "docs" / "results"


def _data_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    from mcrag.settings import load_settings

    return load_settings().data_dir


def _gold_row(gold: dict[str, dict[str, int]], study: str) -> list[int]:
    """The 14 gold labels of a study; the mining figures need every one (a blank cell is not a 0)."""
    row = gold.get(study, {})
    missing = [f for f in FINDINGS if f not in row]
    if missing:
        raise ValueError(f"openi_labels.csv has no label for {', '.join(missing)} of study {study}")
    return [row[f] for f in FINDINGS]


SCORED = [f for f in FINDINGS if f != "Hernia"]
"""The 13 Open-i findings with gold positives (Hernia has none in the Open-i gold)."""
BOOTSTRAP = 2000


def _matrix(rows: list, gold: dict[str, dict[str, int]], positive) -> tuple[np.ndarray, np.ndarray]:
    from kg.mining.core.readers import study_id

    pred = np.array([[1 if positive(r, f) else 0 for f in SCORED] for r in rows], dtype=int)
    truth = np.array([[_gold_row(gold, study_id(r.report_id))[FINDINGS.index(f)] for f in SCORED] for r in rows],
                     dtype=int)
    return pred, truth


def _f1s(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column F1 and the per-column count of gold positives."""
    tp = (pred & truth).sum(0)
    fp = (pred & (1 - truth)).sum(0)
    fn = ((1 - pred) & truth).sum(0)
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0), truth.sum(0)


def _micro(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = int((pred & truth).sum())
    return 2 * tp / max(1, 2 * tp + int((pred & (1 - truth)).sum()) + int(((1 - pred) & truth).sum()))


def _scores(pred: np.ndarray, truth: np.ndarray, *, bootstrap: int = BOOTSTRAP, seed: int = 0) -> dict:
    """Macro F1 over the findings with gold positives in this set, micro F1 over the 13, per-finding P/R/F1,
    and percentile bootstrap 95% intervals (reports resampled; each resample's macro, like the figure's,
    runs over the findings with gold positives in it: a finding with one test positive is absent from
    about a third of the resamples, and scoring it 0 there would measure the resampling, not the miner)."""
    f1, pos = _f1s(pred, truth)
    cols = np.where(pos > 0)[0]
    out: dict = {"reports": int(len(pred)), "findings_in_macro": [SCORED[j] for j in cols],
                 "macro_f1": round(macro_f1(truth, pred, columns=cols.tolist()), 4),
                 "micro_f1": round(_micro(pred, truth), 4)}
    if bootstrap:
        rng = np.random.default_rng(seed)
        macros, micros = [], []
        for _ in range(bootstrap):
            idx = rng.integers(0, len(pred), len(pred))
            bf, bpos = _f1s(pred[idx], truth[idx])
            macros.append(float(bf[bpos > 0].mean()))
            micros.append(_micro(pred[idx], truth[idx]))
        out["macro_f1_ci95"] = [round(float(np.percentile(macros, q)), 4) for q in (2.5, 97.5)]
        out["micro_f1_ci95"] = [round(float(np.percentile(micros, q)), 4) for q in (2.5, 97.5)]
    out["per_finding"] = {f: column_prf(pred[:, j].tolist(), truth[:, j].tolist()).as_dict()
                          for j, f in enumerate(SCORED)}
    return out


POLICIES = {
    "openi_labels": lambda r, f: f in r.labels,
    "present_only": lambda r, f: r.status(f) == "present",
    "uncertain_as_present": lambda r, f: r.status(f) in ("present", "uncertain"),
}
"""How a report's findings become a 0/1 label: the miner's Open-i labels (the figure), or its statuses
with uncertain counted absent or present."""


def _with_every_study(rows: list, gold: dict, splits: dict[str, str]) -> list:
    """The rows of the studies with gold labels; a gold study the reader skipped counts as a report with
    no finding (all labels 0) rather than dropping out of the score."""
    from kg.mining.core.documents import ReportFindings

    kept = [r for r in rows if r.report_id in gold]
    seen = {r.report_id for r in kept}
    return kept + [ReportFindings(s, splits.get(s, ""), ()) for s in sorted(gold) if s not in seen]


def _split_sets(rows: list) -> dict[str, list]:
    return {"test": [r for r in rows if r.split == "test"],
            "train_val": [r for r in rows if r.split in ("train", "val")],
            "outside_r2gen": [r for r in rows if not r.split],
            "tuning": [r for r in rows if r.split != "test"]}


def _learned_spread(rows: list, gold: dict, seeds: tuple[int, ...]) -> dict:
    """The learned indexer against the rules in the same 5-fold cross-validation on the tuning reports."""
    from benchmarks.report_label_model import cross_validated

    rule_pred, truth = _matrix(rows, gold, POLICIES["openi_labels"])
    rule = _scores(rule_pred, truth, bootstrap=0)["macro_f1"]
    learned = []
    for seed in seeds:
        pred = cross_validated(rows, truth, SCORED, seed=seed)
        learned.append(_scores(pred, truth, bootstrap=0)["macro_f1"])
    return {"reports": len(rows), "seeds": list(seeds), "rules_macro_f1": rule, "learned_macro_f1": learned,
            "learned_mean": round(float(np.mean(learned)), 4), "learned_sd": round(float(np.std(learned, ddof=1)), 4),
            "learned_minus_rules": round(float(np.mean(learned)) - rule, 4)}


def eval_reports(data: Path, processes: int, seeds: tuple[int, ...] = (0, 1, 2, 3, 4)) -> dict:
    """Open-i labels of the IU-Xray full reports against the Open-i gold, beside the findings-only R2Gen
    text in the same run. Rules were tuned on the train, val and outside-R2Gen reports; test is scored here."""
    from kg.mining.api import report_findings_table
    from kg.mining.core.readers import read_r2gen_splits
    from mcrag.datasets.locate import availability_in
    from vlm.data import read_openi_labels

    found = availability_in(data, "iu_xray_reports")
    if not found.present or found.where is None:
        raise FileNotFoundError(f"IU-Xray full reports not found in {data} nor in an installed torchxrayvision")
    archive = found.where / "NLMCXR_reports.tgz"
    annotation = data / "iu_xray" / "annotation.json"
    splits = read_r2gen_splits(annotation)
    gold = read_openi_labels(data / "iu_xray" / "openi_labels.csv")
    labeler = data / "labeler"
    out: dict = {"archive": f"{archive} ({found.via})", "r2gen_split": str(annotation)}

    started = time.perf_counter()
    rows, summary = report_findings_table(archive, labeler_dir=labeler, processes=processes, splits=splits,
                                          keep_mentions=True)
    rows = _with_every_study(rows, gold, splits)
    out["full_reports"] = {"documents": summary.documents, "skipped": summary.skipped, "with_gold": len(rows),
                           "seconds": round(time.perf_counter() - started, 1)}
    sets = _split_sets(rows)
    for policy, positive in POLICIES.items():
        out[policy] = {name: _scores(*_matrix(sel, gold, positive), bootstrap=BOOTSTRAP if policy == "openi_labels"
                                     else 0) for name, sel in sets.items()}

    # anchor in the same run: the same miner on the findings-only R2Gen text (what scored 0.752 before)
    started = time.perf_counter()
    anchor_rows, _ = report_findings_table(annotation, labeler_dir=labeler, processes=processes)
    out["findings_only_anchor"] = {
        "seconds": round(time.perf_counter() - started, 1),
        **{name: _scores(*_matrix(sel, gold, POLICIES["openi_labels"])) for name, sel in
           (("test", [r for r in anchor_rows if r.split == "test"]),
            ("train_val", [r for r in anchor_rows if r.split in ("train", "val")]))}}

    # sensitivity: the same full reports without the CheXpert phrase lists (built-in terms only)
    plain, _ = report_findings_table(archive, processes=processes, splits=splits)
    plain = _with_every_study(plain, gold, splits)
    out["without_chexpert_phrases"] = {name: _scores(*_matrix(sel, gold, POLICIES["openi_labels"]), bootstrap=0)
                                       for name, sel in _split_sets(plain).items() if name in ("test", "tuning")}
    out["learned_indexer_cv"] = _learned_spread(sets["tuning"], gold, seeds)
    return out


def _plot_reports(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = SCORED
    fig, ax = plt.subplots(figsize=(13, 4.2))
    width = 0.27
    bars = ((f"test, full reports (macro {res['openi_labels']['test']['macro_f1']:.3f})", res["openi_labels"]["test"]),
            (f"test, findings-only R2Gen text (macro {res['findings_only_anchor']['test']['macro_f1']:.3f})",
             res["findings_only_anchor"]["test"]),
            (f"tuning reports, full (macro {res['openi_labels']['tuning']['macro_f1']:.3f})",
             res["openi_labels"]["tuning"]))
    for i, (label, block) in enumerate(bars):
        vals = [block["per_finding"][n]["f1"] for n in names]
        ax.bar([x + (i - 1) * width for x in range(len(names))], vals, width, label=label)
    ax.axhline(0.92, color="k", ls="--", lw=0.8, label="goal macro F1 0.92")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([f"{n}\n({res['openi_labels']['test']['per_finding'][n]['tp'] + res['openi_labels']['test']['per_finding'][n]['fn']} test +)"
                        for n in names], rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("F1 vs Open-i gold")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("IU-Xray Open-i labels from the report miner")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", help="data folder (default: settings, i.e. $MCRAG_DATA_DIR or ../shared/data)")
    ap.add_argument("--only", choices=("reports",), action="append", help="kept for older commands: reports")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--out-dir", default=str(RESULTS))
    args = ap.parse_args(argv)
    data = _data_dir(args.data_dir)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    which = args.only or ["reports"]
    stamp = {"date": datetime.now(UTC).date().isoformat(), "command": "python -m benchmarks.eval_mining " + " ".join(argv or sys.argv[1:])}
    if "reports" in which:
        res = {**stamp, **eval_reports(data, args.processes)}
        (out_dir / "mining_reports.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
        _plot_reports(res, out_dir / "mining_reports.png")
        for pol in POLICIES:
            print(pol, {k: v["macro_f1"] for k, v in res[pol].items()})
        print("findings-only anchor", {k: res["findings_only_anchor"][k]["macro_f1"] for k in ("test", "train_val")})
        print("learned indexer (CV on tuning reports)", res["learned_indexer_cv"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
