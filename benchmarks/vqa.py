"""IU-Xray yes/no VQA, findings-conditioned, along a curve of front-end AUC, in each retrieval mode.

Question understanding is learnt from the train split only (:mod:`benchmarks.questions`):
questions generated from train reports fit the question -> (finding, normal-form) model, val-split
questions choose its settings; the test file is read for its questions and answers only.

Per question: the grounder takes the front end's finding probabilities, retrieves train reports in
the chosen mode and fuses their labels into a posterior (``causal``: reads the graph posterior, see
:func:`benchmarks.iu_xray.graph_posteriors`). Questions about a labelled finding are answered from
that posterior; other questions (bones, devices ...) from what the retrieved reports
say about the question's content words, or, without retrieval, from how often train reports say
so. Every asserted abnormality records the evidence items it cites.

With ``+pref`` the answer mixes the front end's own reading and the mode's evidence by a policy
trained with DPO (:mod:`benchmarks.preference`) on questions generated from held-out train
reports (retrieval over the remaining train reports), its beta and epochs chosen on the val split.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import preference
from benchmarks.front_end_grounding import evidence_for, front_end_grounder, ground
from benchmarks.iu_xray import (
    FINDINGS_CONDITIONED,
    GRAPH_PRIOR_ABLATION,
    LABELLED,
    Study,
    graph_posteriors,
    load_studies,
    prevalence,
    probs_dict,
    query_vectors,
    report_index,
)
from benchmarks.metrics import binary_scores
from benchmarks.noise import noisy_probabilities
from benchmarks.questions import (
    GeneratedQuestion,
    ParsedQuestion,
    QuestionModel,
    SentenceReader,
    clean,
    fit_question_model,
    generate_questions,
    report_answers,
)
from vlm.encoders import TextEncoder
from vlm.infer import Grounder
from vlm.retrieval import MODES, RetrievalSettings

ANCHORS = {"MMed-RAG": {"accuracy": 89.54, "f1": 80.72, "auc": 87.13}, "MCRAG paper": {"accuracy": 90.12},
           "always 'no'": {"accuracy": 70.5}}
GOALS = {"accuracy": 91.0}
AUC_CURVE: tuple[float, ...] = (0.7, 0.8, 0.9, 0.95, 1.0)
PREF = "+pref"


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

    def __init__(self, reports: Sequence[str], reader: SentenceReader) -> None:
        self.reports = list(reports)
        self.reader = reader
        self._cache: dict[tuple[tuple[str, ...], bool], float] = {}

    def __call__(self, q: ParsedQuestion) -> float:
        key = (q.keywords, q.normal_form)
        if key not in self._cache:
            self._cache[key] = float(np.mean([report_answers(q, r, self.reader) for r in self.reports])) \
                if self.reports else 0.0
        return self._cache[key]


def own_reading(q: ParsedQuestion, front_end: dict[str, float], prior: PriorAnswers) -> float:
    """P(yes) from the front end alone (base rate for questions no label covers)."""
    if not q.findings:
        return prior(q)
    return answer_score(q, front_end, (), prior, "none")[0]


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
    votes = np.array([report_answers(q, h.exemplar.text, prior.reader) for h in hits])
    return float((w * votes).sum() / w.sum()), ()


@dataclass
class Answered:
    """Per question of one (AUC, mode): both sources, the mode's answer, the policy features, citations."""

    p_own: np.ndarray
    p_ev: np.ndarray
    x: np.ndarray
    cites: list[tuple[bool, bool]]
    """(every asserted finding cites evidence, some citation is a graph edge), if the answer asserts one."""


def answer_all(grounder: Grounder, parsed: Sequence[ParsedQuestion], questions: Sequence[str],
               fe_rows: np.ndarray, qv: np.ndarray, mode: str, prior: PriorAnswers,
               tick: Callable[[], None] | None = None) -> Answered:
    n = len(parsed)
    p_own, p_ev = np.zeros(n), np.zeros(n)
    x = np.zeros((n, len(preference.FEATURES)))
    cites: list[tuple[bool, bool]] = []
    for i, q in enumerate(parsed):
        fe = probs_dict(fe_rows[i])
        r = ground(grounder, fe, qv[i], "vqa", mode, question=questions[i])
        s, asked = answer_score(q, r.probabilities(), r.exemplars, prior, mode)
        own = own_reading(q, fe, prior)
        p_ev[i], p_own[i] = s, own
        votes = [report_answers(q, h.exemplar.text, prior.reader) for h in r.exemplars] if not q.findings else [
            float(max((n in h.exemplar.findings) for n in q.findings)) for h in r.exemplars]
        x[i] = preference.features(own, s, [h.score for h in r.exemplars], votes, bool(q.findings),
                                   "normal" in q.findings, q.normal_form, mode)
        items_cited = [evidence_for(r, a, front_end=fe) for a in asked] if asked else [
            [f"exemplar:{h.exemplar.id}" for h in r.exemplars]]
        cites.append((all(items_cited) and bool(items_cited),
                      any(any(c.startswith("edge:") for c in it) for it in items_cited)))
        if tick:
            tick()
    return Answered(p_own, p_ev, x, cites)


def scores_of(y: np.ndarray, p: np.ndarray, parsed: Sequence[ParsedQuestion],
              cites: Sequence[tuple[bool, bool]]) -> dict[str, Any]:
    sc = binary_scores(y, p, 0.5)
    total = wrong = cited = graph = 0
    for yi, pi, q, (c_any, c_graph) in zip(y, p, parsed, cites, strict=True):
        if (pi >= 0.5) != q.normal_form:
            total += 1
            wrong += int((yi == 1) == q.normal_form)
            cited += int(c_any)
            graph += int(c_graph)
    return {"accuracy": round(100 * sc.accuracy, 2), "f1": round(100 * sc.f1, 2), "auc": round(100 * sc.auc, 2),
            "hallucination_rate": round(wrong / total, 4) if total else 0.0,
            "traceability_any": round(cited / total, 4) if total else 1.0,
            "traceability_graph": round(graph / total, 4) if total else 1.0, "abnormal_assertions": total}


def _gold(s: Study) -> dict[str, int]:
    return dict(zip(LABELLED, s.gold, strict=True))


def _questions(studies: Sequence[Study], reader: SentenceReader, seed: int, per_study: int | None = None
               ) -> list[GeneratedQuestion]:
    rng = np.random.default_rng(seed)
    out: list[GeneratedQuestion] = []
    for s in studies:
        qs = generate_questions(s.report, _gold(s), reader, rng, s.id)
        if per_study is not None and len(qs) > per_study:
            qs = [qs[int(i)] for i in sorted(rng.choice(len(qs), per_study, replace=False))]
        out.extend(qs)
    return out


def _policy_data(grounder: Grounder, studies: Sequence[Study], qs: Sequence[GeneratedQuestion],
                 model: QuestionModel, enc: Any, aucs: Sequence[float], prev: np.ndarray, modes: Sequence[str],
                 prior: PriorAnswers, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Policy inputs for generated questions: each study read at an AUC of the curve drawn at random."""
    if not qs:
        z = np.zeros(0)
        return np.zeros((0, len(preference.FEATURES))), z, z, z
    rng = np.random.default_rng(seed)
    row_of = {s.id: n for n, s in enumerate(studies)}
    gold = np.array([s.gold for s in studies])
    pick = rng.integers(len(aucs), size=len(studies))
    probs = np.zeros(gold.shape)
    for j, auc in enumerate(aucs):
        probs[pick == j] = noisy_probabilities(gold, auc, prev, rng)[pick == j]
    rows = probs[[row_of[q.study] for q in qs]]
    texts = [q.text for q in qs]
    parsed = model.parse_many(texts)
    qv = query_vectors(enc, rows, texts)
    y = np.array([q.answer for q in qs])
    xs, own, ev, ys = [], [], [], []
    for mode in modes:
        a = answer_all(grounder, parsed, texts, rows, qv, mode, prior)
        xs.append(a.x)
        own.append(a.p_own)
        ev.append(a.p_ev)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(own), np.concatenate(ev), np.concatenate(ys)


def evaluate_vqa(root: Path, vqa_file: Path, *, aucs: Sequence[float] = AUC_CURVE, modes: Sequence[str] = MODES,
                 seed: int = 0, k: int = 5, encoder: TextEncoder | None = None, limit: int | None = None,
                 progress: Callable[[str, int, int], None] | None = None, policy_studies: int = 600,
                 policy_questions_per_study: int = 6, questions_per_study: int = 3,
                 classifier_questions: int = 5000, posteriors: dict[str, Any] | None = None) -> dict[str, Any]:
    """``posteriors``: graph posteriors by mode name (``causal`` and the ablation); none: ``causal`` fuses votes."""
    studies = load_studies(root)
    train, val = studies["train"], studies["val"]
    test = {s.id: s for s in studies["test"]}
    items = [i for i in load_vqa(vqa_file) if i.study in test][:limit]
    enc = encoder or TextEncoder()
    say = (lambda msg: progress(msg, 0, 0)) if progress else (lambda msg: None)

    # question understanding, from train reports (val for its settings)
    say("VQA: reading train reports, generating training questions")
    reader = SentenceReader.fit([s.report for s in train], [s.gold[-1] for s in train])
    reader_val = reader.tune([s.report for s in val], [s.gold[-1] for s in val])
    rng = np.random.default_rng(seed)
    train_q = _questions(train, reader, seed)
    clf_q = [train_q[int(i)] for i in rng.choice(len(train_q), min(classifier_questions, len(train_q)), replace=False)]
    val_q = _questions(val, reader, seed + 1, questions_per_study)
    model, model_info = fit_question_model(clf_q, val_q)
    parsed = model.parse_many([i.question for i in items])

    vecs = np.asarray(enc.encode([s.report for s in train]))
    index = report_index(train, enc, vecs)
    settings = RetrievalSettings(k=k, counterfactuals=0)
    posteriors = posteriors or {}
    grounder = front_end_grounder("openi-gold-labels+noise", index, settings=settings,
                                  posterior=posteriors.get("causal"))
    prior = PriorAnswers([s.report for s in train], reader)
    prev = prevalence(train)

    # preference policy: held-out train studies against the other train reports; tuned on val
    say("VQA: preference pairs from held-out train reports")
    n_hold = min(policy_studies, len(train) // 4)
    hold = set(int(i) for i in rng.choice(len(train), n_hold, replace=False)) if n_hold else set()
    held = [s for n, s in enumerate(train) if n in hold]
    rest = [n for n in range(len(train)) if n not in hold]
    rest_studies = [train[n] for n in rest]
    rest_grounder = front_end_grounder("openi-gold-labels+noise",
                                       report_index(rest_studies, enc, vecs[rest]), settings=settings,
                                       posterior=posteriors.get("causal"))
    rest_prior = PriorAnswers([s.report for s in rest_studies], reader)
    pol_q = _questions(held, reader, seed + 2, policy_questions_per_study)
    pol_train = _policy_data(rest_grounder, held, pol_q, model, enc, aucs, prevalence(rest_studies) if rest_studies
                             else prev, modes, rest_prior, seed + 3)
    say("VQA: preference validation questions")
    pol_val = _policy_data(grounder, val, val_q, model, enc, aucs, prev, modes, prior, seed + 4)
    policy, pref_info = preference.tune(pol_train, pol_val, seed=seed)

    order = sorted(test)
    gold = np.array([test[s].gold for s in order])
    row_of = {s: n for n, s in enumerate(order)}
    y = np.array([i.answer for i in items])
    out: dict[str, Any] = {"curve": {}, "n_questions": len(items),
                           "mapped_questions": int(sum(bool(p.findings) for p in parsed)),
                           "question_model": {"training_questions": len(train_q), "classifier_questions": len(clf_q),
                                              "val_questions": len(val_q), "sentence_cut_val_accuracy":
                                                  {str(c): round(v, 4) for c, v in reader_val.items()},
                                              "sentence_cut": reader.cut, **model_info},
                           "preference": {"train_questions": len(pol_q), "train_studies": len(held), **pref_info},
                           "graph_posterior": {k: v.summary() for k, v in posteriors.items()}}
    ablation = GRAPH_PRIOR_ABLATION in posteriors and "causal" in modes
    grounder_tables = front_end_grounder("openi-gold-labels+noise", index, settings=settings,
                                         posterior=posteriors[GRAPH_PRIOR_ABLATION]) if ablation else None
    total, done = len(aucs) * (len(modes) + int(ablation)) * len(items), 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress and (done % 200 == 0 or done == total):
            progress(f"VQA auc={auc} {mode}", done, total)

    questions = [i.question for i in items]
    for auc in aucs:
        probs = noisy_probabilities(gold, auc, prev, np.random.default_rng(seed))
        rows = probs[[row_of[i.study] for i in items]]
        qv = query_vectors(enc, rows, questions)
        per_mode: dict[str, Any] = {}
        for mode in modes:
            a = answer_all(grounder, parsed, questions, rows, qv, mode, prior, tick)
            per_mode[mode] = scores_of(y, a.p_ev, parsed, a.cites)
            per_mode[mode + PREF] = scores_of(y, policy.answer(a.x, a.p_own, a.p_ev), parsed, a.cites)
        if grounder_tables is not None:
            mode = GRAPH_PRIOR_ABLATION
            a = answer_all(grounder_tables, parsed, questions, rows, qv, "causal", prior, tick)
            per_mode[GRAPH_PRIOR_ABLATION] = scores_of(y, a.p_ev, parsed, a.cites)
        out["curve"][str(auc)] = per_mode
    out["always_no_accuracy"] = round(100 * float((y == 0).mean()), 2) if len(y) else 0.0
    return out


NOTES = (
    FINDINGS_CONDITIONED,
    "Question understanding is learnt from the train split only: questions generated from train reports "
    "(generic templates over the reports' phrases and the graph's finding concepts, answered by the report "
    "and its Open-i labels) fit the question -> (finding, normal-form) model, the finding lexicon names "
    "findings first, val-report questions choose the settings; the test file gives questions and answers "
    "only. Questions no label covers are answered from what retrieved train reports say (none: from "
    "train-report base rates).",
    "'<mode>+pref': the answer mixes the front end's own reading and the mode's evidence by a policy "
    "trained with DPO against a frozen uniform reference, on preference pairs from questions about "
    "held-out train reports (retrieval over the other train reports); beta and epochs chosen on val.",
    "Accuracy, F1 and AUC in percent (F1 of the 'yes' class, AUC of P(yes)), as in MMed-RAG.",
    "causal reads the graph posterior: the starter graph's trusted chest edges fitted on the label tables of "
    "NIH, CheXpert, VinDr and PadChest (IU-Xray's own table holds the test reports), the simulated front end "
    "(calibrated to the IU-Xray train prevalence) read with the site's prior kept; exemplars are shown, not "
    f"voted in. '{GRAPH_PRIOR_ABLATION}': the same with the label tables' prior (ablation, no policy).",
)


def run(ctx: Any) -> dict[str, Any]:
    """Registry entry point (``benchmarks.vqa:run``): the benchmark with its notes; plots by :func:`write_plots`."""
    from mcrag.settings import load_settings

    root = ctx.data_dir / "iu_xray"
    posteriors = graph_posteriors(ctx.data_dir, prevalence(load_studies(root)["train"]),
                                  load_settings().cache_dir) if "causal" in ctx.modes else {}
    out = evaluate_vqa(root, root / "vqa_test.jsonl", aucs=tuple(ctx.aucs or AUC_CURVE), modes=ctx.modes,
                       encoder=ctx.encoder, progress=ctx.progress, posteriors=posteriors)
    out.update(anchors=ANCHORS, goals=GOALS, notes=list(NOTES))
    return out


def write_plots(result: dict[str, Any], out_dir: Path) -> list[Path]:
    """Curve (each mode solid, its ``+pref`` twin dashed in the same colour) and gold-end ablation bars."""
    from benchmarks.plots import COLOURS, curve_plot, plt, save_figure

    curve = result["curve"]
    aucs = sorted(curve, key=float)
    base = [m for m in curve[aucs[0]] if not m.endswith(PREF)]
    stem = f"{result['task']}_{result['dataset']}"
    paths = [out_dir / f"{stem}.png", out_dir / f"{stem}_ablation.png"]
    curve_plot(curve, ("accuracy", "f1", "auc"), paths[0],
               f"{result['task']} on {result['dataset']} (findings-conditioned); dashed: with the DPO source policy",
               result.get("anchors"), twin_suffix=PREF)
    top = curve[aucs[-1]]
    metrics = ("hallucination_rate", "traceability_any", "traceability_graph")
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for i, mode in enumerate(base):
            for j, name in enumerate((mode, mode + PREF)):
                if name in top:
                    v = float(top[name][metric])
                    ax.bar(i + (j - 0.5) * 0.38, v, 0.36, color=COLOURS.get(mode), alpha=1.0 if j == 0 else 0.55,
                           hatch="//" if j else None, label=("without" if j == 0 else "with DPO policy") if i == 0 else None)
                    ax.text(i + (j - 0.5) * 0.38, v, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(base)), base)
        ax.set_title(metric)
    axes[0][0].legend(fontsize=7)
    save_figure(fig, paths[1], f"gold-label end (AUC {aucs[-1]}): hallucination and traceability")
    return paths
