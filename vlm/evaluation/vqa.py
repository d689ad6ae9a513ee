"""IU-Xray yes/no VQA, findings-conditioned, along a curve of front-end AUC, in each retrieval mode.

Per question: the grounder takes the front end's finding probabilities, retrieves train reports in
the chosen mode and fuses their labels into a posterior. Questions about a labelled finding are
answered from that posterior; other questions (bones, devices ...) from what the retrieved reports
say about the question's content words, or, without retrieval, from how often train reports say
so. Every asserted abnormality records the evidence items it cites.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vlm.encoders import TextEncoder
from vlm.evaluation.grounding import BatchGrounder, FrontEndOnly, evidence_for
from vlm.evaluation.iu_xray import (
    LABELLED,
    load_studies,
    prevalence,
    probs_dict,
    query_vectors,
    report_index,
)
from vlm.evaluation.metrics import binary_scores
from vlm.evaluation.noise import noisy_probabilities
from vlm.evaluation.questions import ParsedQuestion, clean, parse_question, report_answers
from vlm.retrieval import MODES, RetrievalSettings

ANCHORS = {"MMed-RAG": {"accuracy": 89.54, "f1": 80.72, "auc": 87.13}, "MCRAG paper": {"accuracy": 90.12},
           "always 'no'": {"accuracy": 70.5}}
GOALS = {"accuracy": 91.0}
AUC_CURVE: tuple[float, ...] = (0.7, 0.8, 0.9, 0.95, 1.0)


@dataclass(frozen=True)
class VQAItem:
    question: str
    answer: int
    study: str


def load_vqa(path: Path) -> list[VQAItem]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append(VQAItem(clean(r["question"]), int(r["answer"].strip().lower().startswith("yes")),
                               r["image"].split("/")[0]))
    return out


class PriorAnswers:
    """How often train reports answer "yes" to a question about content words (the blind fallback)."""

    def __init__(self, reports: Sequence[str]) -> None:
        self.reports = list(reports)
        self._cache: dict[tuple[tuple[str, ...], bool], float] = {}

    def __call__(self, q: ParsedQuestion) -> float:
        key = (q.keywords, q.normal_form)
        if key not in self._cache:
            self._cache[key] = float(np.mean([report_answers(q, r) for r in self.reports]))
        return self._cache[key]


def answer_score(q: ParsedQuestion, posterior: dict[str, float], hits: Sequence[Any], prior: PriorAnswers,
                 mode: str) -> tuple[float, tuple[str, ...]]:
    """P(yes) and the findings a "yes" (or a "no" to a normal-form question) would assert."""
    if q.findings:
        if "normal" in q.findings:
            p_abn = 1.0 - posterior.get("normal", 0.0)
            asked = tuple(n for n in LABELLED if n != "normal" and posterior.get(n, 0.0) >= 0.5)
        else:
            p_abn = max(posterior.get(n, 0.0) for n in q.findings)
            asked = tuple(n for n in q.findings if posterior.get(n, 0.0) >= 0.5) or q.findings[:1]
        return (1.0 - p_abn if q.normal_form else p_abn), asked
    if mode == "none" or not hits:
        return prior(q), ()
    w = np.array([max(h.score, 1e-6) for h in hits])
    votes = np.array([report_answers(q, h.exemplar.text) for h in hits])
    return float((w * votes).sum() / w.sum()), ()


def evaluate_vqa(root: Path, vqa_file: Path, *, aucs: Sequence[float] = AUC_CURVE, modes: Sequence[str] = MODES,
                 seed: int = 0, k: int = 5, encoder: TextEncoder | None = None, limit: int | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    studies = load_studies(root)
    train = studies["train"]
    test = {study_key_of(s.id): s for s in studies["test"]}
    items = [i for i in load_vqa(vqa_file) if i.study in test][:limit]
    enc = encoder or TextEncoder()
    index = report_index(train, enc)
    grounder = BatchGrounder(FrontEndOnly("openi-gold-labels+noise"), index,
                             settings=RetrievalSettings(k=k, counterfactuals=0))
    prior = PriorAnswers([s.report for s in train])
    prev = prevalence(train)
    parsed = [parse_question(i.question) for i in items]
    order = sorted(test)
    gold = np.array([test[s].gold for s in order])
    row_of = {s: n for n, s in enumerate(order)}
    y = np.array([i.answer for i in items])
    out: dict[str, Any] = {"curve": {}, "n_questions": len(items),
                           "mapped_questions": int(sum(bool(p.findings) for p in parsed))}
    total, done = len(aucs) * len(modes) * len(items), 0
    for auc in aucs:
        rng = np.random.default_rng(seed)
        probs = noisy_probabilities(gold, auc, prev, rng)
        qv = query_vectors(enc, probs[[row_of[i.study] for i in items]], [i.question for i in items])
        per_mode: dict[str, Any] = {}
        for mode in modes:
            scores = np.zeros(len(items))
            asserted_total = asserted_wrong = cited = cited_graph = 0
            for n, (item, q) in enumerate(zip(items, parsed, strict=True)):
                fe = probs_dict(probs[row_of[item.study]])
                r = grounder.infer_with(fe, qv[n], "vqa", mode, question=item.question)
                post = r.probabilities()
                s, asked = answer_score(q, post, r.exemplars, prior, mode)
                scores[n] = s
                says_abnormal = (s >= 0.5) != q.normal_form
                if says_abnormal:
                    asserted_total += 1
                    asserted_wrong += int((item.answer == 1) == q.normal_form)
                    items_cited = [evidence_for(r, a, front_end=fe) for a in asked] if asked else [
                        [f"exemplar:{h.exemplar.id}" for h in r.exemplars]]
                    cited += int(all(items_cited) and bool(items_cited))
                    cited_graph += int(any(any(x.startswith("edge:") for x in it) for it in items_cited))
                done += 1
                if progress and (done % 200 == 0 or done == total):
                    progress(f"VQA auc={auc} {mode}", done, total)
            sc = binary_scores(y, scores, 0.5)
            per_mode[mode] = {"accuracy": round(100 * sc.accuracy, 2), "f1": round(100 * sc.f1, 2),
                              "auc": round(100 * sc.auc, 2),
                              "hallucination_rate": round(asserted_wrong / asserted_total, 4) if asserted_total else 0.0,
                              "traceability_any": round(cited / asserted_total, 4) if asserted_total else 1.0,
                              "traceability_graph": round(cited_graph / asserted_total, 4) if asserted_total else 1.0,
                              "abnormal_assertions": asserted_total}
        out["curve"][str(auc)] = per_mode
    out["always_no_accuracy"] = round(100 * float((y == 0).mean()), 2)
    return out


def study_key_of(study_id: str) -> str:
    return study_id
