#!/usr/bin/env python
"""Measure the literature miner's trained models and the miner itself; write docs/results/mining_models.json.

Every figure comes from the product's models: the folder ``mcrag mine train-relations`` writes
(``<MCRAG_HOME>/models/literature``; trained here first when absent or with ``--retrain``, by the same
function, :func:`kg.mining.literature.training.train_literature_models`, which never reads a held-out part).

Sections (what is tuned where is stated in the JSON):

* strength: claim strength on Yu et al.'s corpus; a stratified 20% held out (seed 0) is scored once per
  run, the product's model learnt from the other 80%; majority-class baseline beside it.
* negation: the NegEx test set split 50/50 (stratified, seed 0, fixed before any model was fitted);
  the product's model learnt from the first half, the held-out half is scored beside medspaCy ConText's
  default rules on the same half; the spread over five other split seeds (models refitted per seed).
* recogniser: chemical and disease mention F1 (exact spans) on the BC5CDR development set: the learned
  recogniser, the dictionary matcher alone and the two together as the miner runs them.
* relations: BC5CDR development chemical-induced disease (document level, MeSH ids) with gold entities
  and end to end, both through the miner (its positive ``causes`` readings from a chemical to a disease);
  BioRED test relation type accuracy with gold entity pairs beside the majority type (scored once per
  run); ADE held-out (PMID split, seed 13) with negative pairs from held-out ADE-NEG sentences, beside
  marking every pair positive; the regression list of tests/fixtures/mining/regression_sentences.csv
  through the miner with the listed mentions.
* speed: each stage's cost per abstract on BC5CDR development abstracts, one process.

    python -m benchmarks.mining_models                 # everything (the product's models, trained if absent)
    python -m benchmarks.mining_models --only strength --only negation
    python -m benchmarks.mining_models --retrain       # retrain the models folder first (recogniser too)
    python benchmarks/mining_models.py ...             # the same, as a plain script
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

RESULTS = ROOT / "docs" / "results"
SECTIONS = ("strength", "negation", "recogniser", "relations", "cid", "speed")


def say(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


def prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


# ------------------------------------------------------------------ the product's models

def product_models(data: Path, model_dir: Path, retrain: bool) -> Any:
    """The models folder, trained by the product's own function when absent or when asked."""
    from kg.mining.literature.models import LiteratureModels, missing_files
    from kg.mining.literature.training import train_literature_models

    if retrain or missing_files(model_dir):
        say(f"training the literature models into {model_dir}")
        train_literature_models(model_dir, data / "literature", ontology_dir=data / "ontologies",
                                retrain_recogniser=retrain, progress=say)
    return LiteratureModels.load(model_dir)


# ------------------------------------------------------------------ claim strength

def eval_strength(data: Path, models: Any) -> dict[str, Any]:
    from sklearn.metrics import classification_report, f1_score

    from kg.mining.classifiers.corpora import STRENGTH_LABELS, read_claim_strength, stratified_split
    from kg.mining.literature.training import STRENGTH_HELD_OUT

    rows = read_claim_strength(data / "literature" / "causal_language" / "pubmed_causal_language_use.csv")
    tr, te = stratified_split([r.label for r in rows], STRENGTH_HELD_OUT[0], seed=STRENGTH_HELD_OUT[1])
    model = models.claims.strength
    held = [rows[i] for i in te]
    gold = [r.label for r in held]
    pred = [p.label for p in model.predict([r.text for r in held])]
    majority = Counter(rows[i].label for i in tr).most_common(1)[0][0]
    rep = classification_report(gold, pred, labels=list(STRENGTH_LABELS), output_dict=True, zero_division=0)
    return {"sentences": len(rows), "train": len(tr), "held_out": len(te), "split": "stratified 20%, seed 0",
            "held_out_scored": "once per run", "model": model.report,
            "macro_f1": round(float(f1_score(gold, pred, average="macro")), 4),
            "per_class_f1": {k: round(rep[k]["f1-score"], 4) for k in STRENGTH_LABELS},
            "accuracy": round(float(np.mean([g == p for g, p in zip(gold, pred, strict=True)])), 4),
            "majority_baseline_macro_f1": round(float(f1_score(gold, [majority] * len(gold), average="macro")), 4),
            "goal_macro_f1": 0.85, "reference_biobert_macro_f1": 0.88}


# ------------------------------------------------------------------ negation

def eval_negation(data: Path, models: Any) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    from kg.mining.classifiers.corpora import read_negex, stratified_split
    from kg.mining.classifiers.negation import rule_baseline, targets_of, train_negation
    from kg.mining.literature.training import NEGATION_HELD_OUT, Settings

    rows = read_negex(data / "literature" / "negex" / "rsAnnotations-1-120-random.txt")
    y = np.array([r.negated for r in rows])

    def run(seed: int, model: Any) -> dict[str, Any]:
        tr, te = stratified_split(list(y), NEGATION_HELD_OUT[0], seed=seed)
        if model is None:
            model = train_negation([rows[i] for i in tr], c=Settings().negation_c)
        held = [rows[i] for i in te]
        gold = y[te]
        pred = np.array([p.negated for p in model.predict(targets_of(held))])
        rule = np.array(rule_baseline(targets_of(held)))
        return {"seed": seed, "train": len(tr), "held_out": len(te), "held_out_negated": int(gold.sum()),
                "C": model.report.get("C"), "cv_f1_by_C": model.report.get("cv_f1"),
                "learned": {"accuracy": round(float(accuracy_score(gold, pred)), 4),
                            "negated_f1": round(float(f1_score(gold, pred)), 4)},
                "context_rules": {"accuracy": round(float(accuracy_score(gold, rule)), 4),
                                  "negated_f1": round(float(f1_score(gold, rule)), 4)},
                "always_affirmed_accuracy": round(float(1 - gold.mean()), 4)}

    main = run(NEGATION_HELD_OUT[1], models.claims.negation)
    spread = [run(s, None) for s in range(1, 6)]

    def stats(key: str, metric: str) -> dict[str, float]:
        v = np.array([r[key][metric] for r in spread])
        return {"mean": round(float(v.mean()), 4), "min": round(float(v.min()), 4), "max": round(float(v.max()), 4)}

    return {"sentences": len(rows), "negated": int(y.sum()), "split": "stratified 50/50, seed 0, fixed in advance",
            "held_out_scored": "once per run (seed 0)", **main,
            "spread_over_split_seeds_1_5": {k: {m: stats(k, m) for m in ("accuracy", "negated_f1")}
                                             for k in ("learned", "context_rules")},
            "goal": {"accuracy": 0.95, "negated_f1": 0.90}}


# ------------------------------------------------------------------ recogniser

def _mention_scores(gold_docs: list, predicted: list[list[tuple[int, int, str]]]) -> dict[str, Any]:
    out = {}
    for kind in ("Chemical", "Disease"):
        g = {(d.pmid, m.start, m.end) for d in gold_docs for m in d.mentions if m.kind == kind}
        p = {(d.pmid, s, e) for d, ms in zip(gold_docs, predicted, strict=True) for s, e, k in ms if k == kind}
        out[kind] = prf(len(g & p), len(p - g), len(g - p))
    return out


def eval_recogniser(models: Any, corpora: Any) -> dict[str, Any]:
    from kg.mining.classifiers.entity_recognizer import EntityRecognizer
    from kg.mining.literature.models import LEXICON_FILE, RECOGNISER_DIR
    from kg.mining.literature.pipeline import build_literature_nlp

    dev = corpora.bc5cdr_dev
    texts = [a.text for a in dev]
    rec = EntityRecognizer(models.folder / RECOGNISER_DIR)
    started = time.perf_counter()
    learned = [[(m.start, m.end, m.kind) for m in ms] for ms in rec.recognise(texts)]
    learned_s = time.perf_counter() - started
    runs: dict[str, list[list[tuple[int, int, str]]]] = {"learned": learned}
    seconds = {"learned": learned_s}
    for name, recogniser in (("dictionary", None), ("learned_and_dictionary", models.folder / RECOGNISER_DIR)):
        nlp = build_literature_nlp(recogniser, models.folder / LEXICON_FILE)
        started = time.perf_counter()
        runs[name] = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in nlp.pipe(texts)]
        seconds[name] = time.perf_counter() - started
    train_names = {m.text.lower() for a in corpora.recogniser_training() for m in a.mentions}
    unseen = {(a.pmid, m.start, m.end) for a in dev for m in a.mentions
              if m.kind == "Chemical" and m.text.lower() not in train_names}

    def unseen_recall(pred: list[list[tuple[int, int, str]]]) -> float:
        got = {(a.pmid, s, e) for a, ms in zip(dev, pred, strict=True) for s, e, k in ms if k == "Chemical"}
        return round(len(got & unseen) / max(1, len(unseen)), 4)

    out: dict[str, Any] = {"documents": len(dev), "match": "exact character span and type",
                           "unseen_chemical_mentions": len(unseen), "recogniser_meta": rec.meta,
                           "note": "the dictionary and the combined pipeline also tag exposures and interventions, "
                                   "which are not scored here; their seconds include the parse"}
    for name, pred in runs.items():
        out[name] = {**_mention_scores(dev, pred), "unseen_chemical_recall": unseen_recall(pred),
                     "seconds": round(seconds[name], 1)}
    return out


# ------------------------------------------------------------------ relations

def _positive_causes(readings: list, docs: list) -> set[tuple[str, str, str]]:
    """(pmid, chemical id, disease id) of every positive ``causes`` reading from a chemical to a disease."""
    out = set()
    for d, rs in zip(docs, readings, strict=True):
        for r in rs:
            if r.kind == "causes" and not r.negated and r.subject.kind == "Chemical" and r.object.kind == "Disease":
                out.add((d.doc_id, r.subject.ids[0], r.object.ids[0]))
    return out


def _cid_sets(pred: set, gold: set, candidates: set | None = None) -> dict[str, Any]:
    res = prf(len(pred & gold), len(pred - gold), len(gold - pred))
    if candidates is not None:
        res["candidate_recall"] = round(len(candidates & gold) / len(gold), 4)
    return res


def _documents(abstracts: list) -> list:
    from kg.mining.core.documents import Document

    return [Document(a.pmid, a.text, "bc5cdr", "abstract", title_end=a.title_end,
                     mentions=tuple(m for m in a.mentions if m.kind in ("Chemical", "Disease"))) for a in abstracts]


def _cid_candidates(miner: Any, parsed: list) -> set[tuple[str, str, str]]:
    from kg.mining.classifiers.document_relations import document_candidates

    out = set()
    for p in parsed:
        for c in document_candidates(p.doc_id, p.title_end, p.doc, p.mentions, {}, None):
            out.add((p.doc_id, c.cause_id, c.effect_id))
    return out


def eval_relations(data: Path, models: Any, corpora: Any) -> dict[str, Any]:
    from kg.mining.literature.gold_corpora import read_ade, split_ade

    out: dict[str, Any] = {"sentence_model": models.claims.relations.report,
                           "document_scorer": {k: v for k, v in models.scorer.report.items() if k != "sentence_model"},
                           "normaliser": models.normaliser.report}
    out.update(eval_cid(models, corpora))
    _, ade_held = split_ade(read_ade(data / "literature" / "ade_corpus_v2"), seed=13)
    out["biored_test"] = _biored_types(models.claims.relations, corpora)
    out["ade_held_out"] = _ade(models.claims.relations, ade_held, models.folder)
    out["regression"] = regression(models.folder)
    return out


def eval_cid(models: Any, corpora: Any) -> dict[str, Any]:
    """BC5CDR development chemical-induced disease through the miner, with gold entities and end to end
    (the development set only: no held-out set is read)."""
    from kg.mining.literature.miner import LiteratureMiner

    out: dict[str, Any] = {}
    dev = corpora.bc5cdr_dev
    docs = _documents(dev)
    gold = {(a.pmid, r.id1, r.id2) for a in dev for r in a.relations if r.kind == "CID"}
    say("BC5CDR development: gold entities, through the miner")
    miner = LiteratureMiner(models.folder, gold_entities=True)
    parsed = miner.parse(docs)
    canon = {(p.doc_id, m.ids[0]): orig for p, d in zip(parsed, docs, strict=True)
             for m, orig in zip(p.mentions, [g.ids[0] for g in d.mentions if g.ids], strict=True)}
    pred = {(d, canon.get((d, c), c), canon.get((d, e), e)) for d, c, e in _positive_causes(miner.read_parsed(parsed), docs)}
    out["bc5cdr_gold_entities"] = {**_cid_sets(pred, gold), "gold_pairs": len(gold), "goal_f1": 0.70,
                                   "first_phase_f1": 0.628, "before_f1": 0.607,
                                   "threshold": round(models.scorer.threshold, 2)}
    say("BC5CDR development: end to end (recogniser + dictionary + normaliser), through the miner")
    e2e = LiteratureMiner(models.folder)
    parsed = e2e.parse(docs)
    pred = _positive_causes(e2e.read_parsed(parsed), docs)
    out["bc5cdr_end_to_end"] = {**_cid_sets(pred, gold, _cid_candidates(e2e, parsed)), "gold_pairs": len(gold),
                                "goal_f1": 0.57, "best_team_f1": 0.5703, "first_phase_f1": 0.435, "before_f1": 0.424}
    return out


def _biored_types(kinds: Any, corpora: Any) -> dict[str, Any]:
    from kg.mining.classifiers.document_relations import predict_sentence_pairs
    from kg.mining.classifiers.relation_kinds import BIORED_KIND
    from kg.mining.classifiers.sentence_pairs import sentence_pairs
    from kg.mining.classifiers.training import parse_abstracts

    say("BioRED test: relation types with gold entity pairs (scored once)")
    to_type = {"causes": "Positive_Correlation", "treats": "Negative_Correlation", "prevents": "Negative_Correlation",
               "associated": "Association"}
    train_types = Counter(r.kind for a in corpora.biored_train for r in a.relations
                          if r.kind in BIORED_KIND and _chem_dis(a, r))
    majority = train_types.most_common(1)[0][0]
    test = corpora.biored_test
    docs = parse_abstracts(test)
    gold: list[str] = []
    pred: list[str] = []
    covered = 0
    for a, d in zip(test, docs, strict=True):
        preds = predict_sentence_pairs(sentence_pairs(d, a.mentions), kinds)
        for r in a.relations:
            if r.kind not in BIORED_KIND or not _chem_dis(a, r):
                continue
            chem, dis = (r.id1, r.id2) if "Chemical" in a.kinds_of(r.id1) else (r.id2, r.id1)
            seen = preds.get((chem, dis), [])
            gold.append(r.kind)
            if not seen:
                pred.append(majority)
                continue
            covered += 1
            totals: dict[str, float] = {}
            for _, p in seen:
                for k in ("causes", "treats", "prevents", "associated"):
                    totals[to_type[k]] = totals.get(to_type[k], 0.0) + p.kind_probability(k)
            pred.append(max(totals, key=lambda t: totals[t]))
    acc = float(np.mean([g == p for g, p in zip(gold, pred, strict=True)]))
    maj = float(np.mean([g == majority for g in gold]))
    return {"abstracts": len(test), "chemical_disease_relations": len(gold), "types": dict(Counter(gold)),
            "in_one_sentence": covered, "accuracy": round(acc, 4), "majority_type": majority,
            "majority_accuracy": round(maj, 4), "ratio_to_majority": round(acc / maj, 3) if maj else None,
            "scored": "once per run", "pairs_never_in_one_sentence_get": "the majority type"}


def _chem_dis(a: Any, r: Any) -> bool:
    kinds = a.kinds_of(r.id1) | a.kinds_of(r.id2)
    return "Chemical" in kinds and "Disease" in kinds and a.kinds_of(r.id1) != a.kinds_of(r.id2)


def _ade(kinds: Any, held: list, model_dir: Path) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    from kg.mining.classifiers.entity_recognizer import EntityRecognizer
    from kg.mining.classifiers.relation_kinds import ade_examples
    from kg.mining.classifiers.training import recognise_with
    from kg.mining.literature.models import RECOGNISER_DIR

    say("ADE held-out: gold pairs and negative pairs from held-out ADE-NEG sentences")
    examples = ade_examples(held, recognise_with(EntityRecognizer(model_dir / RECOGNISER_DIR)))
    preds = kinds.predict_features([e.features for e in examples])
    y = np.array([e.label.startswith("causes") for e in examples])
    score = np.array([p.kind_probability("causes", e.label != "causes<") if e.label.startswith("causes")
                      else p.kind_probability("causes") for e, p in zip(examples, preds, strict=True)])
    hit = np.array([p.kind == "causes" and (not e.label.startswith("causes")
                                            or p.subject_first == (e.label == "causes>"))
                    for e, p in zip(examples, preds, strict=True)])
    tp = int((hit & y).sum())
    fp = int((hit & ~y).sum())
    fn = int((~hit & y).sum())
    allpos = prf(int(y.sum()), int((~y).sum()), 0)
    sources = Counter(e.corpus for e in examples)
    return {"pairs": len(examples), "positive_pairs": int(y.sum()), "sources": dict(sources),
            "model": prf(tp, fp, fn), "roc_auc": round(float(roc_auc_score(y, score)), 4),
            "all_positive_baseline": allpos,
            "note": "positive = predicted kind causes in the gold direction; negatives: unrelated annotated "
                    "drug x effect pairs of positive sentences and recogniser pairs of ADE-NEG sentences"}


REGRESSION_FILE = ROOT / "tests" / "fixtures" / "mining" / "regression_sentences.csv"


def regression_readings(miner: Any, rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Each regression sentence through the miner with its two listed mentions: what it reads about them.

    ``certain_cause``: a positive, direct ``causes`` reading between the two (either direction) -- what a
    treatment, prevention, negated, hedged or association statement must never become; ``found``: that
    reading with the listed subject as the cause.
    """
    from kg.mining.core.documents import Document

    docs, ranges = [], []
    for r in rows:
        s = r["sentence"].lower()
        i, j = s.find(r["subject"].lower()), s.find(r["object"].lower())
        docs.append(Document(r["id"], r["sentence"], "regression", "abstract"))
        ranges.append([(i, i + len(r["subject"])), (j, j + len(r["object"]))])
    readings = miner.read_parsed(miner.parse_with(docs, ranges))
    out = []
    for r, rng, rs in zip(rows, ranges, readings, strict=True):
        ends = {rng[0][0]: "subject", rng[1][0]: "object"}
        between = [x for x in rs if {ends.get(x.subject.start), ends.get(x.object.start)} == {"subject", "object"}]
        certain = [x for x in between if x.kind == "causes" and not x.negated and x.strength == "direct"]
        out.append({"id": r["id"], "category": r["category"],
                    "expected": f"{r['kind']}/{'neg' if r['negated'] == '1' else 'pos'}/{r['strength']}",
                    "got": [f"{x.kind}{'' if ends.get(x.subject.start) == 'subject' else ' (reversed)'}/"
                            f"{'neg' if x.negated else 'pos'}/{x.strength}/{x.confidence:.2f}" for x in between],
                    "certain_cause": bool(certain),
                    "found": any(ends.get(x.subject.start) == "subject" for x in certain)})
    return out


def regression(model_dir: Path) -> dict[str, Any]:
    from kg.mining.literature.miner import LiteratureMiner

    rows = list(csv.DictReader(REGRESSION_FILE.open(encoding="utf-8")))
    table = regression_readings(LiteratureMiner(model_dir), rows)
    violations = [t["id"] for t in table if t["category"] != "causal" and t["certain_cause"]]
    missed = [t["id"] for t in table if t["category"] == "causal" and not t["found"]]
    return {"sentences": len(rows), "non_causal": sum(r["category"] != "causal" for r in rows),
            "non_causal_read_as_certain_positive_causes": len(violations), "violations": violations,
            "causal": sum(r["category"] == "causal" for r in rows), "causal_missed": len(missed), "missed": missed,
            "through": "the miner with the product's models, the two listed mentions as the sentence's mentions",
            "table": table}


# ------------------------------------------------------------------ speed

def eval_speed(models: Any, corpora: Any, n: int = 200) -> dict[str, Any]:
    """Cost per abstract of each stage of the miner, one process, one thread."""
    from datetime import UTC as _UTC

    from kg.mining.literature.miner import LiteratureMiner
    from kg.mining.literature.reading import ParsedDocument

    docs = _documents(corpora.bc5cdr_dev[:n])
    miner = LiteratureMiner(models.folder)
    miner.mine(docs[:3])  # load every model and rule table before the clock starts
    timings: dict[str, float] = {}
    names = miner.nlp.pipe_names
    with threadpool_limits(limits=1):
        t = time.perf_counter()
        with miner.nlp.select_pipes(enable=[p for p in names if p not in ("mcrag_entity_recognizer", "mcrag_term_matcher")]):
            parsed_docs = list(miner.nlp.pipe([d.text for d in docs], batch_size=miner.batch_size))
        timings["parse (tagger, parser, lemmatizer)"] = time.perf_counter() - t
        t = time.perf_counter()
        rec = miner.nlp.get_pipe("mcrag_entity_recognizer")
        parsed_docs = [rec(d) for d in parsed_docs]
        timings["recogniser"] = time.perf_counter() - t
        t = time.perf_counter()
        matcher = miner.nlp.get_pipe("mcrag_term_matcher")
        parsed_docs = [matcher(d) for d in parsed_docs]
        timings["dictionary"] = time.perf_counter() - t
        t = time.perf_counter()
        from kg.mining.literature.mentions import worth_a_mention

        parsed = [ParsedDocument(d.doc_id, d.title_end, doc, tuple(miner.normaliser.normalise(
            doc, [e for e in doc.ents if worth_a_mention(e)]))) for d, doc in zip(docs, parsed_docs, strict=True)]
        timings["abbreviations + normaliser"] = time.perf_counter() - t
        t = time.perf_counter()
        readings = miner.read_parsed(parsed)
        timings["reading (pairs, kinds, document scorer, negation, strength)"] = time.perf_counter() - t
        t = time.perf_counter()
        from datetime import datetime as _dt

        when = _dt.now(_UTC)
        claims = [c for d, rs in zip(docs, readings, strict=True) for r in rs
                  if (c := miner.builder.claim(r, d, when)) is not None]
        timings["claims"] = time.perf_counter() - t
    per_abs = {k: round(1000 * v / n, 2) for k, v in timings.items()}
    return {"abstracts": n, "processes": 1, "threads": 1, "ms_per_abstract": per_abs,
            "readings": sum(len(r) for r in readings), "claims": len(claims),
            "warm": "models loaded and run on 3 abstracts before timing",
            "abstracts_per_second_one_process": round(n / sum(timings.values()), 1),
            "whole_miner_throughput": "benchmarks/bench_mining.py (1 and 2 processes, beside bare spaCy)"}


def plot(result: dict[str, Any], path: Path) -> None:
    """Measured figure beside its goal (and the figure before this work where there is one)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows: list[tuple[str, float, float | None, float | None]] = []
    if "strength" in result:
        rows.append(("claim strength\nmacro F1 (Yu, held-out)", result["strength"]["macro_f1"], 0.85, None))
    if "negation" in result:
        n = result["negation"]
        rows.append(("negation accuracy\n(NegEx, held-out half)", n["learned"]["accuracy"], 0.95,
                     n["context_rules"]["accuracy"]))
        rows.append(("negated-class F1\n(NegEx, held-out half)", n["learned"]["negated_f1"], 0.90,
                     n["context_rules"]["negated_f1"]))
    cid = result.get("cid") or result.get("relations")  # the CID-only section is the later run when both exist
    if cid:
        rows.append(("CID F1, gold entities\n(BC5CDR dev)", cid["bc5cdr_gold_entities"]["f1"], 0.70, 0.628))
        rows.append(("CID F1, end to end\n(BC5CDR dev)", cid["bc5cdr_end_to_end"]["f1"], 0.57, 0.435))
    if "relations" in result:
        r = result["relations"]
        rows.append(("relation type accuracy\n(BioRED test)", r["biored_test"]["accuracy"], None,
                     r["biored_test"]["majority_accuracy"]))
    if "recogniser" in result:
        g = result["recogniser"]
        ours, anchor = g.get("learned_and_dictionary", g.get("learned")), g.get("dictionary", g.get("lexicon"))
        for kind in ("Chemical", "Disease"):
            rows.append((f"{kind.lower()} mention F1\n(BC5CDR dev)", ours[kind]["f1"], None, anchor[kind]["f1"]))
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(11, 4.8))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r[1] for r in rows], 0.4, label="product models (this run)")
    ax.bar(x + 0.2, [r[3] if r[3] is not None else 0 for r in rows], 0.4,
           label="anchor: rules / dictionary / first phase / majority", color="0.7")
    for i, r in enumerate(rows):
        if r[2] is not None:
            ax.plot([i - 0.4, i + 0.4], [r[2], r[2]], "k--", lw=1)
    ax.plot([], [], "k--", lw=1, label="goal")
    ax.set_xticks(x)
    ax.set_xticklabels([r[0] for r in rows], fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    ax.set_title("Literature classifiers (benchmarks/mining_models.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", help="data folder (default: settings, i.e. $MCRAG_DATA_DIR or ../shared/data)")
    ap.add_argument("--model-dir", help="the literature models folder (default: <MCRAG_HOME>/models/literature)")
    ap.add_argument("--only", choices=SECTIONS, action="append")
    ap.add_argument("--retrain", action="store_true", help="retrain the models folder (recogniser included) first")
    ap.add_argument("--out", default=str(RESULTS / "mining_models.json"))
    ap.add_argument("--plot-only", action="store_true", help="redraw the figure from the JSON and stop")
    args = ap.parse_args(argv)
    out_path = Path(args.out)
    if args.plot_only:
        plot(json.loads(out_path.read_text(encoding="utf-8")), out_path.with_suffix(".png"))
        return 0
    from mcrag.settings import load_settings

    settings = load_settings()
    data = Path(args.data_dir) if args.data_dir else settings.data_dir
    model_dir = Path(args.model_dir) if args.model_dir else settings.models_dir / "literature"
    which = args.only or list(SECTIONS)
    result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8")) if out_path.is_file() else {}
    result["command"] = "python benchmarks/mining_models.py " + " ".join(argv if argv is not None else sys.argv[1:])
    result["date"] = datetime.now(UTC).date().isoformat()
    result.setdefault("runs", []).append({"command": result["command"], "date": result["date"], "sections": which})
    from kg.mining.classifiers.training import LiteratureCorpora

    corpora = LiteratureCorpora.read(data / "literature")
    models = product_models(data, model_dir, args.retrain)
    result["models"] = {"folder": str(model_dir), "trained_at": models.version,
                        "settings": models.manifest.get("settings"),
                        "training_seconds": models.manifest.get("training_seconds")}
    for section in which:
        say(f"section {section}")
        t = time.perf_counter()
        with threadpool_limits(limits=1, user_api="openmp"):
            if section == "strength":
                res = eval_strength(data, models)
            elif section == "negation":
                res = eval_negation(data, models)
            elif section == "recogniser":
                res = eval_recogniser(models, corpora)
            elif section == "relations":
                res = eval_relations(data, models, corpora)
            elif section == "cid":
                res = eval_cid(models, corpora)
            else:
                res = eval_speed(models, corpora)
        res["section_seconds"] = round(time.perf_counter() - t, 1)
        res["command"] = result["command"]
        result[section] = res
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = out_path.with_name(out_path.name + ".part")
        tmp.write_text(json.dumps(result, indent=2), encoding="utf-8")
        tmp.replace(out_path)
        say(f"{section}: " + json.dumps({k: v for k, v in res.items() if not isinstance(v, (dict, list))})[:400])
    plot(result, out_path.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
