#!/usr/bin/env python
"""Measure the miners against gold corpora; write docs/results/mining_*.json and figures.

* reports: finding statuses of IU-Xray ``annotation.json`` against ``openi_labels.csv`` (NegBio gold,
  R2Gen studies mapped by study prefix). Per-finding P/R/F1 and macro F1 over the 13 findings with gold
  positives, on the test split, on train+val (where the rules were tuned) and on all reports, both with
  uncertain mentions counted as present and as absent.
* bc5cdr: chemical-induced disease relations on the BC5CDR development set, document level with MeSH-id
  matching, with the gold entity mentions and end to end with the dictionary entity matcher.
* ade: drug -> adverse effect pairs on the held-out 20% of ADE v2 (split by PMID, seed 13): with the gold
  entity mentions (pairs of the sentence's annotated drugs and effects) and end to end (every held-out
  sentence, ADE-NEG included; a predicted pair is right when both mentions overlap a gold pair's).

The relation model is trained on BC5CDR training + the ADE training part (``--model-dir``; trained
when missing or with ``--retrain``), exactly as ``mcrag mine train-relations`` does.

    python -m benchmarks.eval_mining                   # all three, default data folder
    python -m benchmarks.eval_mining --only reports
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

from benchmarks.metrics import PRF, column_prf, macro_f1, set_prf  # noqa: E402
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


def eval_reports(data: Path, processes: int) -> dict:
    from benchmarks.iu_xray import study_key
    from kg.mining.api import report_findings_table
    from vlm.data import read_openi_labels

    started = time.perf_counter()
    rows, summary = report_findings_table(data / "iu_xray" / "annotation.json", labeler_dir=data / "labeler",
                                          processes=processes)
    gold = read_openi_labels(data / "iu_xray" / "openi_labels.csv")
    out: dict = {"documents": len(rows), "skipped": summary.skipped, "seconds": round(time.perf_counter() - started, 1)}
    for policy, positive in (("uncertain_as_present", {"present", "uncertain"}), ("uncertain_as_absent", {"present"})):
        block = {}
        for name, splits in (("test", {"test"}), ("train_val", {"train", "val"}), ("all", {"train", "val", "test"})):
            sel = [r for r in rows if r.split in splits]
            pred_m = np.array([[1 if r.status(f) in positive else 0 for f in FINDINGS] for r in sel], dtype=int)
            gold_m = np.array([_gold_row(gold, study_key(r.report_id)) for r in sel], dtype=int)
            scores = {f: column_prf(pred_m[:, j].tolist(), gold_m[:, j].tolist()) for j, f in enumerate(FINDINGS)}
            with_positives = [j for j in range(len(FINDINGS)) if gold_m[:, j].any()]
            micro = PRF(sum(s.tp for k, s in scores.items() if k != "Hernia"),
                        sum(s.fp for k, s in scores.items() if k != "Hernia"),
                        sum(s.fn for k, s in scores.items() if k != "Hernia"))
            block[name] = {"reports": len(sel),
                           "macro_f1_13": round(macro_f1(gold_m, pred_m, columns=with_positives), 4),
                           "micro_f1_13": round(micro.f1, 4),
                           "per_finding": {k: v.as_dict() for k, v in scores.items()}}
        out[policy] = block
    return out


def _relation_model(data: Path, model_dir: Path, retrain: bool, embeddings: bool) -> tuple[object, float]:
    from kg.mining.literature.relation_model import RelationModel
    from kg.mining.literature.training import train_relations

    started = time.perf_counter()
    if retrain or not (model_dir / "relation_model.pkl").is_file():
        train_relations(model_dir, data / "literature" / "bc5cdr" / "CDR_TrainingSet.PubTator.txt",
                        ade_dir=data / "literature" / "ade_corpus_v2", ontology_dir=data / "ontologies",
                        embeddings=embeddings, embedding_cache=ROOT / "var" / "cache" / "embeddings.npz")
    return RelationModel.load(model_dir), time.perf_counter() - started


def _sweep(keys_scores: list[tuple[tuple, float]], gold: set, threshold: float) -> dict:
    best = max((set_prf([k for k, s in keys_scores if s >= t], gold).f1, t) for t in [i / 100 for i in range(5, 95)])
    at = set_prf([k for k, s in keys_scores if s >= threshold], gold)
    return {**at.as_dict(), "threshold": round(threshold, 2),
            "oracle_threshold_f1": round(best[0], 4), "oracle_threshold": best[1]}


def eval_bc5cdr(data: Path, model, model_dir: Path) -> dict:
    from kg.mining.literature.gold_corpora import iter_cid_pairs, read_bc5cdr
    from kg.mining.literature.miner import LiteratureMiner

    dev = read_bc5cdr(data / "literature" / "bc5cdr" / "CDR_DevelopmentSet.PubTator.txt", "dev")
    gold = set(iter_cid_pairs(dev))
    out: dict = {"documents": len(dev), "gold_pairs": len(gold), "model": model.report,
                 "model_threshold": model.threshold}
    for setting, gold_entities in (("gold_entities", True), ("end_to_end", False)):
        started = time.perf_counter()
        miner = LiteratureMiner(model_dir / "lexicon.json", model_dir, gold_entities=gold_entities)
        cands = [c for cs in miner.candidates(dev) for c in cs]
        if not gold_entities:  # the task scores MeSH ids: pairs of HPO / DOID-only concepts cannot match
            cands = [c for c in cands if c.cause_id.startswith("MESH:") and c.effect_id.startswith("MESH:")]
        scores = miner.score(cands)
        ks = [(c.key, float(s)) for c, s in zip(cands, scores, strict=True)]
        res = _sweep(ks, gold, model.threshold)
        res["candidate_recall"] = round(len({c.key for c in cands} & gold) / len(gold), 4)
        res["seconds"] = round(time.perf_counter() - started, 1)
        out[setting] = res
    return out


def eval_ade(data: Path, model, model_dir: Path) -> dict:
    from kg.mining.literature.gold_corpora import read_ade, split_ade
    from kg.mining.literature.lexicon import build_lexicon
    from kg.mining.literature.miner import LiteratureMiner
    from kg.mining.literature.training import ade_documents

    sentences = read_ade(data / "literature" / "ade_corpus_v2")
    train, held = split_ade(sentences, seed=13)
    out: dict = {"sentences": len(sentences), "train_sentences": len(train), "held_out_sentences": len(held),
                 "held_out_positive_sentences": sum(1 for s in held if s.relations),
                 "held_out_pmids": len({s.pmid for s in held})}
    # gold entities: the annotated drugs and effects of each positive held-out sentence
    docs = ade_documents([s for s in held if s.relations])
    gold = {(d.doc_id, c, e) for d in docs for c, e in d.relations}
    miner = LiteratureMiner(None, model_dir, gold_entities=True)
    cands = [c for cs in miner.candidates(docs) for c in cs]
    scores = miner.score(cands)
    th = model.thresholds.get("ade", model.threshold)  # single sentences: the ADE-tuned threshold
    out["gold_entities"] = _sweep([(c.key, float(s)) for c, s in zip(cands, scores, strict=True)], gold, th)
    out["gold_entities"]["gold_pairs"] = len(gold)
    # end to end: dictionary of the training part's drugs and effects, every held-out sentence
    train_docs = ade_documents([s for s in train if s.relations])
    lex = build_lexicon(None, train_docs)
    lex_path = lex.save(ROOT / "var" / "eval" / "ade_lexicon.json")
    all_docs = ade_documents(held)
    gold_spans = {d.doc_id: [(r.drug_span, r.effect_span) for r in s.relations] for d, s in zip(all_docs, held, strict=True)}
    e2e = LiteratureMiner(lex_path, model_dir)
    cands = [c for cs in e2e.candidates(all_docs) for c in cs]
    scores = e2e.score(cands)
    tp = fp = 0
    matched: set[tuple[str, int]] = set()
    for c, s in zip(cands, scores, strict=True):
        if s < th:
            continue
        hit = None
        for i, (ds, es) in enumerate(gold_spans[c.doc_id]):
            if any(_overlap(a, ds) for a in c.cause_spans) and any(_overlap(b, es) for b in c.effect_spans):
                hit = (c.doc_id, i)
                break
        if hit is None:
            fp += 1
        elif hit not in matched:
            matched.add(hit)
            tp += 1
    n_gold = sum(len(v) for v in gold_spans.values())
    out["end_to_end"] = {**PRF(tp, fp, n_gold - len(matched)).as_dict(), "threshold": round(th, 2),
                         "lexicon_terms": len(lex), "sentences": len(all_docs)}
    return out


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _plot_reports(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f for f in FINDINGS if f != "Hernia"]
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.27
    for i, (label, split) in enumerate((("test", "test"), ("train+val (tuned)", "train_val"), ("all", "all"))):
        vals = [res["uncertain_as_absent"][split]["per_finding"][n]["f1"] for n in names]
        ax.bar([x + (i - 1) * width for x in range(len(names))], vals, width, label=label)
    ax.axhline(0.92, color="k", ls="--", lw=0.8, label="goal macro F1 0.92")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=40, ha="right")
    ax.set_ylabel("F1 vs Open-i gold")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Report findings (uncertain counted absent)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", help="data folder (default: settings, i.e. $MCRAG_DATA_DIR or ../shared/data)")
    ap.add_argument("--only", choices=("reports", "bc5cdr", "ade"), action="append")
    ap.add_argument("--model-dir", default=str(ROOT / "var" / "models" / "relation"))
    ap.add_argument("--retrain", action="store_true", help="train the relation model even if one exists")
    ap.add_argument("--embeddings", action="store_true", help="train with the MiniLM embedding stage")
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--out-dir", default=str(RESULTS))
    args = ap.parse_args(argv)
    data = _data_dir(args.data_dir)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    which = args.only or ["reports", "bc5cdr", "ade"]
    stamp = {"date": datetime.now(UTC).date().isoformat(), "command": "python -m benchmarks.eval_mining " + " ".join(argv or sys.argv[1:])}
    if "reports" in which:
        res = {**stamp, **eval_reports(data, args.processes)}
        (out_dir / "mining_reports.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
        _plot_reports(res, out_dir / "mining_reports.png")
        for pol in ("uncertain_as_present", "uncertain_as_absent"):
            print(pol, {k: v["macro_f1_13"] for k, v in res[pol].items()})
    if "bc5cdr" in which or "ade" in which:
        model_dir = Path(args.model_dir)
        model, secs = _relation_model(data, model_dir, args.retrain, args.embeddings)
        if "bc5cdr" in which:
            res = {**stamp, "training_seconds": round(secs, 1), **eval_bc5cdr(data, model, model_dir)}
            (out_dir / "mining_bc5cdr.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
            print("bc5cdr", {k: res[k]["f1"] for k in ("gold_entities", "end_to_end")})
        if "ade" in which:
            res = {**stamp, **eval_ade(data, model, model_dir)}
            (out_dir / "mining_ade.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
            print("ade", {k: res[k]["f1"] for k in ("gold_entities", "end_to_end")})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
