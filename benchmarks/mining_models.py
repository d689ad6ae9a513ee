#!/usr/bin/env python
"""Measure the literature miner's learned classifiers; write docs/results/mining_models.json.

Sections (each trained on training data only; what is tuned where is stated in the JSON):

* strength: claim strength on Yu et al.'s corpus; a stratified 20% held out (seed 0) is scored once,
  C is chosen by 5-fold cross-validation on the other 80%; majority-class baseline beside it.
* negation: the NegEx test set split 50/50 (stratified, seed 0, fixed before any model was fitted);
  the learned model is fitted on the first half (C by 5-fold CV there) and the held-out half is scored
  once, beside medspaCy ConText's default rules on the same half; the spread over five other split seeds.
* recogniser: chemical and disease mention F1 (exact spans) on the BC5CDR development set, the learned
  recogniser beside the current dictionary matcher (lexicon of BC5CDR training + ontologies) in the
  same run.
* relations: BC5CDR development chemical-induced disease (document level, MeSH ids) with gold
  entities and end to end (recogniser + normaliser); BioRED test relation type accuracy with gold
  entity pairs beside the majority type (BioRED test scored once); ADE held-out (PMID split, seed 13)
  with negative pairs from held-out ADE-NEG sentences, beside marking every pair positive; the
  regression list of tests/fixtures/mining/regression_sentences.csv.
* speed: each component's cost per abstract on BC5CDR development abstracts, one process.

    python -m benchmarks.mining_models                 # everything (models cached under the models dir)
    python -m benchmarks.mining_models --only strength --only negation
    python -m benchmarks.mining_models --retrain       # refit the cached models
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
SECTIONS = ("strength", "negation", "recogniser", "relations", "speed")


def say(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


def prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


# ------------------------------------------------------------------ claim strength

def eval_strength(data: Path, model_dir: Path, retrain: bool) -> dict[str, Any]:
    from sklearn.metrics import classification_report, f1_score

    from kg.mining.classifiers.claim_strength import ClaimStrengthModel, train_claim_strength
    from kg.mining.classifiers.corpora import STRENGTH_LABELS, read_claim_strength, stratified_split

    rows = read_claim_strength(data / "literature" / "causal_language" / "pubmed_causal_language_use.csv")
    tr, te = stratified_split([r.label for r in rows], 0.2, seed=0)
    folder = model_dir / "claim_strength"
    started = time.perf_counter()
    if retrain or not (folder / "claim_strength.pkl").is_file():
        model = train_claim_strength([rows[i] for i in tr])
        model.save(folder)
    model = ClaimStrengthModel.load(folder)
    fit_s = time.perf_counter() - started
    held = [rows[i] for i in te]
    gold = [r.label for r in held]
    pred = [p.label for p in model.predict([r.text for r in held])]
    majority = Counter(rows[i].label for i in tr).most_common(1)[0][0]
    rep = classification_report(gold, pred, labels=list(STRENGTH_LABELS), output_dict=True, zero_division=0)
    return {"sentences": len(rows), "train": len(tr), "held_out": len(te), "split": "stratified 20%, seed 0",
            "held_out_scored": "once per run", "model": model.report, "fit_seconds": round(fit_s, 1),
            "macro_f1": round(float(f1_score(gold, pred, average="macro")), 4),
            "per_class_f1": {k: round(rep[k]["f1-score"], 4) for k in STRENGTH_LABELS},
            "accuracy": round(float(np.mean([g == p for g, p in zip(gold, pred, strict=True)])), 4),
            "majority_baseline_macro_f1": round(float(f1_score(gold, [majority] * len(gold), average="macro")), 4),
            "goal_macro_f1": 0.85, "reference_biobert_macro_f1": 0.88}


# ------------------------------------------------------------------ negation

def eval_negation(data: Path, model_dir: Path, retrain: bool) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    from kg.mining.classifiers.corpora import read_negex, stratified_split
    from kg.mining.classifiers.negation import NegationModel, rule_baseline, targets_of, train_negation

    rows = read_negex(data / "literature" / "negex" / "rsAnnotations-1-120-random.txt")
    y = np.array([r.negated for r in rows])

    def choose_c(train_rows: list) -> tuple[float, dict[str, float]]:
        yt = np.array([r.negated for r in train_rows])
        scores = {}
        for c in (1.0, 3.0, 10.0):
            pred = np.zeros(len(train_rows), dtype=bool)
            for a, b in StratifiedKFold(5, shuffle=True, random_state=0).split(train_rows, yt):
                m = train_negation([train_rows[i] for i in a], c=c)
                pred[b] = [p.negated for p in m.predict(targets_of([train_rows[i] for i in b]))]
            scores[str(c)] = round(float(f1_score(yt, pred)), 4)
        return float(max(scores, key=lambda k: scores[k])), scores

    def run(seed: int, save: Path | None) -> dict[str, Any]:
        tr, te = stratified_split(list(y), 0.5, seed=seed)
        train_rows = [rows[i] for i in tr]
        if save is not None and not retrain and (save / "negation.pkl").is_file():
            model = NegationModel.load(save)
            cv = model.report.get("cv_f1", {})
        else:
            c, cv = choose_c(train_rows)
            model = train_negation(train_rows, c=c)
            model.report["cv_f1"] = cv
            if save is not None:
                model.save(save)
        held = [rows[i] for i in te]
        gold = y[te]
        pred = np.array([p.negated for p in model.predict(targets_of(held))])
        rule = np.array(rule_baseline(targets_of(held)))
        return {"seed": seed, "train": len(tr), "held_out": len(te), "held_out_negated": int(gold.sum()),
                "C": model.report.get("C"), "cv_f1_by_C": cv,
                "learned": {"accuracy": round(float(accuracy_score(gold, pred)), 4),
                            "negated_f1": round(float(f1_score(gold, pred)), 4)},
                "context_rules": {"accuracy": round(float(accuracy_score(gold, rule)), 4),
                                  "negated_f1": round(float(f1_score(gold, rule)), 4)},
                "always_affirmed_accuracy": round(float(1 - gold.mean()), 4)}

    main = run(0, model_dir / "negation")
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

def _recogniser(model_dir: Path, corpora: Any, retrain: bool) -> Any:
    from kg.mining.classifiers.entity_recognizer import EntityRecognizer, train_entity_recognizer

    folder = model_dir / "recognizer"
    if retrain or not (folder / "ner").is_dir():
        say("training the recogniser (BC5CDR training + BioRED training mentions)")
        train_entity_recognizer(corpora.recogniser_training(), folder,
                                progress=lambda e, loss: say(f"  epoch {e}: loss {loss:.0f}"))
    return EntityRecognizer(folder)


def _lexicon_path(data: Path, model_dir: Path) -> Path:
    from kg.mining.literature.gold_corpora import read_bc5cdr
    from kg.mining.literature.lexicon import build_lexicon

    path = model_dir / "anchor_lexicon.json"
    if not path.is_file():
        lex = build_lexicon(data / "ontologies",
                            read_bc5cdr(data / "literature" / "bc5cdr" / "CDR_TrainingSet.PubTator.txt", "train"))
        lex.save(path)
    return path


def _mention_scores(gold_docs: list, predicted: list[list[tuple[int, int, str]]]) -> dict[str, Any]:
    out = {}
    for kind in ("Chemical", "Disease"):
        g = {(d.pmid, m.start, m.end) for d in gold_docs for m in d.mentions if m.kind == kind}
        p = {(d.pmid, s, e) for d, ms in zip(gold_docs, predicted, strict=True) for s, e, k in ms if k == kind}
        out[kind] = prf(len(g & p), len(p - g), len(g - p))
    return out


def eval_recogniser(data: Path, model_dir: Path, retrain: bool, corpora: Any) -> dict[str, Any]:
    from kg.mining.literature.pipeline import build_literature_nlp

    dev = corpora.bc5cdr_dev
    rec = _recogniser(model_dir, corpora, retrain)
    started = time.perf_counter()
    learned = [[(m.start, m.end, m.kind) for m in ms] for ms in rec.recognise([a.text for a in dev])]
    learned_s = time.perf_counter() - started
    lex_nlp = build_literature_nlp(_lexicon_path(data, model_dir), parse=False)
    started = time.perf_counter()
    lexicon = [[(e.start_char, e.end_char, e.label_) for e in d.ents] for d in lex_nlp.pipe([a.text for a in dev])]
    lex_s = time.perf_counter() - started
    train_names = {m.text.lower() for a in corpora.recogniser_training() for m in a.mentions}
    unseen = {(a.pmid, m.start, m.end) for a in dev for m in a.mentions
              if m.kind == "Chemical" and m.text.lower() not in train_names}

    def unseen_recall(pred: list[list[tuple[int, int, str]]]) -> float:
        got = {(a.pmid, s, e) for a, ms in zip(dev, pred, strict=True) for s, e, k in ms if k == "Chemical"}
        return round(len(got & unseen) / max(1, len(unseen)), 4)

    return {"documents": len(dev), "match": "exact character span and type",
            "learned": {**_mention_scores(dev, learned), "unseen_chemical_recall": unseen_recall(learned),
                        "seconds": round(learned_s, 1), "meta": rec.meta},
            "lexicon": {**_mention_scores(dev, lexicon), "unseen_chemical_recall": unseen_recall(lexicon),
                        "seconds": round(lex_s, 1)},
            "unseen_chemical_mentions": len(unseen)}


# ------------------------------------------------------------------ relations

def _relation_models(data: Path, model_dir: Path, retrain: bool, corpora: Any, rec: Any) -> tuple[Any, Any, Any]:
    from kg.mining.classifiers.document_relations import DocumentRelationScorer, train_document_scorer
    from kg.mining.classifiers.relation_kinds import RelationKindModel, train_relation_kinds
    from kg.mining.classifiers.training import parse_abstracts, relation_examples
    from kg.mining.literature.gold_corpora import read_ade, split_ade

    ade_train, ade_held = split_ade(read_ade(data / "literature" / "ade_corpus_v2"), seed=13)
    kinds_dir, doc_dir = model_dir / "relation_kinds", model_dir / "document_relations"
    if retrain or not (kinds_dir / "relation_kinds.pkl").is_file() or not (doc_dir / "document_relations.pkl").is_file():
        say("building sentence-level relation examples")
        docs = parse_abstracts(corpora.bc5cdr_train)
        examples = relation_examples(corpora, ade_train, recogniser=rec, bc5cdr_docs=docs, progress=say)
        say(f"training the relation-kind model on {len(examples)} pairs (C by grouped CV)")
        kinds = train_relation_kinds(examples)
        kinds.save(kinds_dir)
        say("training the document scorer (out-of-fold sentence models)")
        scorer = train_document_scorer(corpora.bc5cdr_train, docs, examples, c=kinds.report["C"], progress=say)
        scorer.save(doc_dir)
    return RelationKindModel.load(kinds_dir), DocumentRelationScorer.load(doc_dir), ade_held


def _cid(scorer: Any, dev: list, docs: list, mentions: list[list]) -> tuple[list, np.ndarray]:
    cands = []
    for a, d, ms in zip(dev, docs, mentions, strict=True):
        cands += scorer.candidates(a.pmid, a.title_end, d, ms)
    return cands, scorer.score(cands)


def _cid_result(cands: list, scores: np.ndarray, gold: set, threshold: float) -> dict[str, Any]:
    keys = [c.key for c in cands]
    pred = {k for k, s in zip(keys, scores, strict=True) if s >= threshold}
    res = prf(len(pred & gold), len(pred - gold), len(gold - pred))
    best = max((prf(len(p & gold), len(p - gold), len(gold - p))["f1"], t) for t in np.arange(0.05, 0.95, 0.01)
               for p in [{k for k, s in zip(keys, scores, strict=True) if s >= t}])
    res.update({"threshold": round(threshold, 2), "candidate_recall": round(len(set(keys) & gold) / len(gold), 4),
                "oracle_threshold_f1_dev_tuned": best[0], "oracle_threshold": round(float(best[1]), 2)})
    return res


def eval_relations(data: Path, model_dir: Path, retrain: bool, corpora: Any) -> dict[str, Any]:
    from kg.mining.classifiers.normalise import ConceptNormalizer
    from kg.mining.classifiers.training import parse_abstracts
    from kg.mining.literature.lexicon import EntityLexicon

    rec = _recogniser(model_dir, corpora, retrain=False)
    kinds, scorer, ade_held = _relation_models(data, model_dir, retrain, corpora, rec)
    out: dict[str, Any] = {"sentence_model": kinds.report, "document_scorer": {
        k: v for k, v in scorer.report.items() if k != "sentence_model"}}
    dev = corpora.bc5cdr_dev
    say("BC5CDR development: gold entities")
    docs = parse_abstracts(dev)
    gold = {(a.pmid, r.id1, r.id2) for a in dev for r in a.relations if r.kind == "CID"}
    cands, scores = _cid(scorer, dev, docs, [list(a.mentions) for a in dev])
    out["bc5cdr_gold_entities"] = {**_cid_result(cands, scores, gold, scorer.threshold), "gold_pairs": len(gold),
                                   "goal_f1": 0.70, "before_f1": 0.607}
    say("BC5CDR development: end to end")
    lex = EntityLexicon.load(_lexicon_path(data, model_dir))
    extra = {t: (e.concept_id, e.kind) for t, e in {**lex.terms, **lex.exact}.items()}
    norm = ConceptNormalizer.from_corpora(corpora.recogniser_training(), extra)
    mentions = []
    for d in docs:
        spans = list(rec(d).ents)
        mentions.append(norm.normalise(d, spans))
    cands, scores = _cid(scorer, dev, docs, mentions)
    mesh = [i for i, c in enumerate(cands) if c.cause_id.startswith("MESH:") and c.effect_id.startswith("MESH:")]
    out["bc5cdr_end_to_end"] = {**_cid_result([cands[i] for i in mesh], scores[mesh], gold, scorer.threshold),
                                "gold_pairs": len(gold), "goal_f1": 0.57, "best_team_f1": 0.5703, "before_f1": 0.424}
    out["biored_test"] = _biored_types(kinds, corpora)
    out["ade_held_out"] = _ade(kinds, ade_held, rec)
    out["regression"] = regression(model_dir)
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
            totals = Counter[str]()
            for _, p in seen:
                for k in ("causes", "treats", "prevents", "associated"):
                    totals[to_type[k]] += p.kind_probability(k)
            pred.append(totals.most_common(1)[0][0])
    acc = float(np.mean([g == p for g, p in zip(gold, pred, strict=True)]))
    maj = float(np.mean([g == majority for g in gold]))
    return {"abstracts": len(test), "chemical_disease_relations": len(gold), "types": dict(Counter(gold)),
            "in_one_sentence": covered, "accuracy": round(acc, 4), "majority_type": majority,
            "majority_accuracy": round(maj, 4), "ratio_to_majority": round(acc / maj, 3) if maj else None,
            "scored": "once per run", "pairs_never_in_one_sentence_get": "the majority type"}


def _chem_dis(a: Any, r: Any) -> bool:
    kinds = a.kinds_of(r.id1) | a.kinds_of(r.id2)
    return "Chemical" in kinds and "Disease" in kinds and a.kinds_of(r.id1) != a.kinds_of(r.id2)


def _ade(kinds: Any, held: list, rec: Any) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    from kg.mining.classifiers.relation_kinds import ade_examples
    from kg.mining.classifiers.training import recognise_with

    say("ADE held-out: gold pairs and negative pairs from held-out ADE-NEG sentences")
    examples = ade_examples(held, recognise_with(rec))
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


def regression(model_dir: Path) -> dict[str, Any]:
    from kg.mining.classifiers.pair_claims import PairClaimReader
    from kg.mining.classifiers.text_features import parse

    reader = PairClaimReader.load(model_dir)
    rows = list(csv.DictReader((ROOT / "tests" / "fixtures" / "mining" / "regression_sentences.csv").open(
        encoding="utf-8")))
    docs = parse([r["sentence"] for r in rows])
    table = []
    violations = misses = kind_right = 0
    for r, d in zip(rows, docs, strict=True):
        s = r["sentence"].lower()
        i, j = s.find(r["subject"].lower()), s.find(r["object"].lower())
        subj = d.char_span(i, i + len(r["subject"]), alignment_mode="expand")
        obj = d.char_span(j, j + len(r["object"]), alignment_mode="expand")
        c = reader.read([(subj, obj)])[0]
        forward = c.subject.start == subj.start
        violation = r["category"] != "causal" and c.is_certain_positive_cause
        miss = r["category"] == "causal" and not (c.is_certain_positive_cause and forward)
        violations += violation
        misses += miss
        kind_right += c.kind == r["kind"]
        table.append({"id": r["id"], "expected": f"{r['kind']}/{'neg' if r['negated'] == '1' else 'pos'}/{r['strength']}",
                      "got": f"{c.kind}{'' if forward else ' (reversed)'}/{'neg' if c.negated else 'pos'}/{c.strength}",
                      "confidence": round(c.confidence, 3),
                      "violation": violation, "missed_cause": miss})
    return {"sentences": len(rows), "non_causal": sum(r["category"] != "causal" for r in rows),
            "non_causal_read_as_certain_positive_causes": violations, "causal_missed": misses,
            "kind_agrees": kind_right, "table": table}


# ------------------------------------------------------------------ speed

def eval_speed(data: Path, model_dir: Path, corpora: Any, n: int = 200) -> dict[str, Any]:
    from kg.mining.classifiers.document_relations import DocumentRelationScorer
    from kg.mining.classifiers.normalise import ConceptNormalizer
    from kg.mining.classifiers.pair_claims import PairClaimReader
    from kg.mining.classifiers.text_features import parse

    texts = [a.text for a in corpora.bc5cdr_dev[:n]]
    rec = _recogniser(model_dir, corpora, retrain=False)
    reader = PairClaimReader.load(model_dir)
    scorer = DocumentRelationScorer.load(model_dir / "document_relations")
    norm = ConceptNormalizer.from_corpora(corpora.recogniser_training())
    timings: dict[str, float] = {}
    warm = parse(texts[:3])  # load every model and rule table before the clock starts
    warm_ents = [list(rec(d).ents) for d in warm]
    for d, e in zip(warm, warm_ents, strict=True):
        scorer.score(scorer.candidates("warm", 0, d, norm.normalise(d, e)))
        reader.read([(a, b) for k, a in enumerate(e) for b in e[k + 1:] if a.sent.start == b.sent.start])
    with threadpool_limits(limits=1):
        t = time.perf_counter()
        docs = parse(texts)
        timings["parse (tagger, parser, lemmatizer)"] = time.perf_counter() - t
        t = time.perf_counter()
        ents = [list(rec(d).ents) for d in docs]
        timings["recogniser"] = time.perf_counter() - t
        t = time.perf_counter()
        mentions = [norm.normalise(d, e) for d, e in zip(docs, ents, strict=True)]
        timings["abbreviations + normaliser"] = time.perf_counter() - t
        t = time.perf_counter()
        n_cands = 0
        for i, (d, ms) in enumerate(zip(docs, mentions, strict=True)):
            cands = scorer.candidates(str(i), 0, d, ms)
            scorer.score(cands)
            n_cands += len(cands)
        timings["document scorer (kinds of the closest pair per concept pair and sentence)"] = time.perf_counter() - t
        pairs = []
        for d, es in zip(docs, ents, strict=True):
            for s in d.sents:
                inside = [e for e in es if e.start >= s.start and e.end <= s.end]
                pairs += [(a, b) for k, a in enumerate(inside) for b in inside[k + 1:]]
        t = time.perf_counter()
        kinds = reader.relations.predict(pairs)
        timings["relation kinds of all same-sentence mention pairs"] = time.perf_counter() - t
        t = time.perf_counter()
        reader.read(pairs, kinds)
        timings["negation + strength of the related pairs"] = time.perf_counter() - t
    per_abs = {k: round(1000 * v / n, 2) for k, v in timings.items()}
    learned = sum(v for k, v in timings.items() if not k.startswith("parse"))
    return {"abstracts": n, "processes": 1, "ms_per_abstract": per_abs, "sentence_pairs": len(pairs),
            "document_candidates": n_cands, "related_pairs": sum(k.kind != "none" for k in kinds), "warm": "models loaded and run on 3 abstracts before timing",
            "learned_components_abstracts_per_second_one_process": round(n / learned, 1),
            "with_parse_abstracts_per_second_one_process": round(n / sum(timings.values()), 1)}


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
    if "relations" in result:
        r = result["relations"]
        rows.append(("CID F1, gold entities\n(BC5CDR dev)", r["bc5cdr_gold_entities"]["f1"], 0.70, 0.607))
        rows.append(("CID F1, end to end\n(BC5CDR dev)", r["bc5cdr_end_to_end"]["f1"], 0.57, 0.424))
        rows.append(("relation type accuracy\n(BioRED test)", r["biored_test"]["accuracy"], None,
                     r["biored_test"]["majority_accuracy"]))
    if "recogniser" in result:
        g = result["recogniser"]
        for kind in ("Chemical", "Disease"):
            rows.append((f"{kind.lower()} mention F1\n(BC5CDR dev)", g["learned"][kind]["f1"], None,
                         g["lexicon"][kind]["f1"]))
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(11, 4.8))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r[1] for r in rows], 0.4, label="learned (this run)")
    ax.bar(x + 0.2, [r[3] if r[3] is not None else 0 for r in rows], 0.4,
           label="anchor: rules / lexicon / before / majority", color="0.7")
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
    ap.add_argument("--model-dir", help="models folder (default: <MCRAG_HOME>/models/literature_classifiers)")
    ap.add_argument("--only", choices=SECTIONS, action="append")
    ap.add_argument("--retrain", action="store_true")
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
    model_dir = Path(args.model_dir) if args.model_dir else settings.models_dir / "literature_classifiers"
    which = args.only or list(SECTIONS)
    result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8")) if out_path.is_file() else {}
    result["command"] = "python benchmarks/mining_models.py " + " ".join(argv if argv is not None else sys.argv[1:])
    result["date"] = datetime.now(UTC).date().isoformat()
    result.setdefault("runs", []).append({"command": result["command"], "date": result["date"], "sections": which})
    from kg.mining.classifiers.training import LiteratureCorpora

    corpora = LiteratureCorpora.read(data / "literature")
    for section in which:
        say(f"section {section}")
        t = time.perf_counter()
        with threadpool_limits(limits=1, user_api="openmp"):
            if section == "strength":
                res = eval_strength(data, model_dir, args.retrain)
            elif section == "negation":
                res = eval_negation(data, model_dir, args.retrain)
            elif section == "recogniser":
                res = eval_recogniser(data, model_dir, args.retrain, corpora)
            elif section == "relations":
                res = eval_relations(data, model_dir, args.retrain, corpora)
            else:
                res = eval_speed(data, model_dir, corpora)
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
