"""VQA-RAD benchmark: closed / open / overall accuracy in each retrieval mode, beside a blind baseline.

Pipeline (everything fitted on the train split; choices made on a validation split carved from it):

* image encoder: a small ResNet trained from scratch on the train images (organ classification +
  instance discrimination, :mod:`benchmarks.vqa_rad_model`), cached under ``models_dir``;
* ``none``: the answer model's own answer (MLP over the MiniLM question embedding and the image
  features, softmax over the train answers of the question's answer type);
* ``semantic``: the answer model fused with a vote of the train QA pairs nearest by joint
  similarity (question cosine + ``beta`` x image cosine), the same answer type only;
* ``causal``: the same candidates, filtered by causal consistency with the graph. Questions are
  mapped to the graph's findings with the project's finding lexicon (:func:`vlm.labels.mentions`);
  an exemplar is consistent when the finding its question/answer names is the asked one or linked to
  it in the causal subgraph (1 / 0.7 / 0.4 by hops, :func:`vlm.retrieval.consistency_weights`);
  exemplars about an unlinked finding are dropped, exemplars that name no graph finding are kept at
  a lower weight, and the supporting edges that link the two findings are cited. Questions that name
  no graph finding (most of VQA-RAD: head, abdomen, modality, plane...) fall back to ``semantic``.

The validation split holds out train *questions* whose image keeps other questions in train,
because every test image also appears in train (with other questions): the split mimics that.
"""

from __future__ import annotations

import functools
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.registry import BenchmarkError, RunContext
from vlm.retrieval import MODES

ANCHORS: dict[str, dict[str, float]] = {
    "LLaVA-Med (7B, fine-tuned)": {"closed_accuracy": 84.19},
    "blind question-only NN (measured elsewhere)": {"closed_accuracy": 69.1, "open_accuracy": 40.2},
}
GOALS = {"closed_accuracy": 80.0}
REQUIRED = ("qid", "image_name", "question", "answer", "answer_type")
ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation})
MODEL_FILE = "vqa-rad-image-encoder.pt"


# ---------------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class QA:
    qid: str
    image: str
    question: str
    answer: str
    """Normalised answer (see :func:`normalise_answer`)."""
    closed: bool
    organ: str = ""
    question_type: str = ""
    phrase_type: str = ""
    """``freeform`` / ``para`` (natural questions, as in test) or ``frame`` (templated, train only)."""


def normalise_answer(text: Any) -> str:
    """Lower-case, punctuation to spaces, articles removed, whitespace collapsed."""
    s = str(text).lower().translate(_PUNCT)
    return " ".join(ARTICLES.sub(" ", s).split())


def _read_split(path: Path) -> list[QA]:
    if not path.is_file():
        raise BenchmarkError(f"VQA-RAD file {path} not found (expected trainset.json and testset.json under "
                             f"{path.parent})")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BenchmarkError(f"VQA-RAD file {path} is not valid JSON: {err}") from None
    if not isinstance(rows, list) or not rows:
        raise BenchmarkError(f"VQA-RAD file {path} must hold a non-empty JSON list of questions")
    out = []
    for n, r in enumerate(rows):
        missing = [k for k in REQUIRED if not isinstance(r, dict) or k not in r]
        if missing:
            raise BenchmarkError(f"{path.name}: question #{n} lacks field(s) {', '.join(missing)}")
        kind = str(r["answer_type"]).strip().upper()
        if kind not in ("CLOSED", "OPEN"):
            raise BenchmarkError(f"{path.name}: question #{n} has answer_type {r['answer_type']!r}, not CLOSED/OPEN")
        out.append(QA(str(r["qid"]), str(r["image_name"]), str(r["question"]).strip(), normalise_answer(r["answer"]),
                      kind == "CLOSED", str(r.get("image_organ", "")).strip().upper(), str(r.get("question_type", "")),
                      str(r.get("phrase_type", ""))))
    return out


def load_vqa_rad(root: Path) -> tuple[list[QA], list[QA], Path]:
    """Train and test questions and the image folder; clear errors for what is missing."""
    if not root.is_dir():
        raise BenchmarkError(f"VQA-RAD folder {root} not found (set MCRAG_DATA_DIR or pass --data-dir)")
    images = root / "images"
    if not images.is_dir():
        raise BenchmarkError(f"VQA-RAD image folder {images} not found")
    train, test = _read_split(root / "trainset.json"), _read_split(root / "testset.json")
    missing = sorted({q.image for q in (*train, *test) if not (images / q.image).is_file()})
    if missing:
        raise BenchmarkError(f"{len(missing)} VQA-RAD image(s) missing from {images}, e.g. {missing[0]}")
    return train, test, images


# ---------------------------------------------------------------------------------------- metrics
def accuracy(predicted: Sequence[str], gold: Sequence[str]) -> float:
    """Exact match after :func:`normalise_answer`, in percent (0 for no questions)."""
    if len(predicted) != len(gold):
        raise ValueError("predicted and gold answers differ in length")
    if not gold:
        return 0.0
    return 100.0 * sum(normalise_answer(p) == normalise_answer(g) for p, g in zip(predicted, gold, strict=True)) / len(gold)


def split_accuracy(items: Sequence[QA], predicted: Sequence[str]) -> dict[str, float]:
    closed = [i for i, q in enumerate(items) if q.closed]
    opened = [i for i, q in enumerate(items) if not q.closed]
    return {"closed_accuracy": round(accuracy([predicted[i] for i in closed], [items[i].answer for i in closed]), 2),
            "open_accuracy": round(accuracy([predicted[i] for i in opened], [items[i].answer for i in opened]), 2),
            "overall_accuracy": round(accuracy(list(predicted), [q.answer for q in items]), 2)}


def blind_nn(train_q: np.ndarray, train_answers: Sequence[str], test_q: np.ndarray) -> list[str]:
    """Answer of the train question nearest to each test question (cosine of unit embeddings)."""
    if len(train_answers) == 0:
        raise ValueError("the blind baseline needs train questions")
    nearest = np.argmax(np.asarray(test_q, np.float32) @ np.asarray(train_q, np.float32).T, axis=1)
    return [train_answers[int(j)] for j in nearest]


# ---------------------------------------------------------------------------------------- graph concepts
@functools.lru_cache(maxsize=16384)
def question_findings(text: str) -> tuple[str, ...]:
    """Graph findings a question (or answer) names, via the project's finding lexicon."""
    from kg.concepts import FINDINGS
    from vlm.labels import mentions

    return tuple(sorted(n for n in mentions(text) if n in FINDINGS))


class CausalFilter:
    """Consistency of exemplars with the causal subgraph around the findings a question asks about."""

    def __init__(self, store: Any = None, hops: int = 2, unlabelled: float = 0.5, min_consistency: float = 0.5) -> None:
        from vlm.grounding import SubgraphCache, starter_store

        self.cache = SubgraphCache(store if store is not None else starter_store(), hops=hops)
        self.unlabelled = unlabelled
        self.min_consistency = min_consistency

    def weights(self, asked: Sequence[str], exemplar_findings: Sequence[tuple[str, ...]]
                ) -> tuple[np.ndarray, list[list[str]]]:
        """Per exemplar: consistency weight and the supporting edges (``edge:<ref>:<claim>``) it cites."""
        from vlm.labels import LABEL_INDEX
        from vlm.retrieval import consistency_weights

        sub = self.cache.get(asked)
        w_labels = consistency_weights(sub, list(asked))
        c = np.zeros(len(exemplar_findings))
        cites: list[list[str]] = []
        for i, fs in enumerate(exemplar_findings):
            if not fs:
                c[i] = self.unlabelled
                cites.append([])
                continue
            c[i] = max(float(w_labels[LABEL_INDEX[f]]) for f in fs)
            edges = [f"edge:{e.ref}:{e.claim_id}" for e in sub.edges if e.supports and e.claim_id and (
                {e.subject_finding, e.object_finding} & set(asked) or {e.subject_finding, e.object_finding} & set(fs))]
            cites.append(edges)
        return c, cites


# ---------------------------------------------------------------------------------------- answering
@dataclass(frozen=True)
class FusionSettings:
    beta: float = 1.0
    """Weight of the image cosine in the joint similarity (question cosine + beta x image cosine)."""
    k: int = 10
    tau: float = 0.05
    """Softmax temperature over the neighbours' joint similarities."""
    weight: float = 0.5
    """Share of the exemplar vote in the fused answer distribution."""
    candidates: int = 64


@dataclass
class Answers:
    answers: list[str]
    p_yes: list[float | None]
    cited: list[list[str]]
    """Evidence items behind each answer (exemplar ids supporting it, graph edges)."""
    covered: list[bool]
    fallback: int = 0


class Answerer:
    """Answers questions from the answer model's probabilities and train exemplars in a retrieval mode."""

    def __init__(self, vocab: Sequence[str], closed_vocab: Iterable[str], open_vocab: Iterable[str],
                 bank: Sequence[QA], bank_q: np.ndarray, bank_img: np.ndarray, settings: FusionSettings,
                 causal: CausalFilter | None = None) -> None:
        self.vocab = list(vocab)
        self.index = {a: i for i, a in enumerate(self.vocab)}
        cl, op = set(closed_vocab), set(open_vocab)
        self.mask = {True: np.array([a in cl for a in self.vocab]), False: np.array([a in op for a in self.vocab])}
        self.bank = list(bank)
        self.bank_q, self.bank_img = bank_q, bank_img
        self.bank_closed = np.array([q.closed for q in bank])
        self.settings = settings
        self.causal = causal
        self.bank_findings = [question_findings(f"{q.question} {q.answer}") for q in bank]

    def answer(self, items: Sequence[QA], q: np.ndarray, img: np.ndarray, probs: np.ndarray, mode: str) -> Answers:
        s = self.settings
        sims = q @ self.bank_q.T + s.beta * (img @ self.bank_img.T)
        out = Answers([], [], [], [])
        yes = self.index.get("yes")
        for n, item in enumerate(items):
            p = np.where(self.mask[item.closed], probs[n], 0.0)
            p = p / p.sum() if p.sum() > 0 else self.mask[item.closed] / max(self.mask[item.closed].sum(), 1)
            asked = question_findings(item.question)
            covered = bool(asked)
            cites: list[str] = []
            if mode != "none":
                row = np.where(self.bank_closed == item.closed, sims[n], -np.inf)
                pool = np.argsort(-row, kind="stable")[:s.candidates]
                pool = pool[np.isfinite(row[pool])]
                weight = np.ones(len(pool))
                edges: list[list[str]] = [[] for _ in pool]
                if mode == "causal" and covered and self.causal is not None:
                    c, edges = self.causal.weights(asked, [self.bank_findings[j] for j in pool])
                    ok = c >= self.causal.min_consistency
                    if ok.any():
                        pool, weight, edges = pool[ok], c[ok], [e for e, k in zip(edges, ok, strict=True) if k]
                    else:
                        out.fallback += 1
                order = np.argsort(-(row[pool] + np.log(np.maximum(weight, 1e-9)) * s.tau), kind="stable")[:s.k]
                top, w_c, top_edges = pool[order], weight[order], [edges[i] for i in order]
                if len(top):
                    w = np.exp((row[top] - row[top].max()) / s.tau) * w_c
                    vote = np.zeros(len(self.vocab))
                    for j, wj in zip(top, w, strict=True):
                        a = self.bank[j].answer
                        if a in self.index:
                            vote[self.index[a]] += wj
                    if vote.sum() > 0:
                        p = (1 - s.weight) * p + s.weight * vote / vote.sum()
                best = self.vocab[int(np.argmax(p))]
                cites = [f"exemplar:{self.bank[j].qid}" for j in top if self.bank[j].answer == best]
                cites += sorted({e for j, es in zip(top, top_edges, strict=True) if self.bank[j].answer == best
                                 for e in es})
            best = self.vocab[int(np.argmax(p))]
            out.answers.append(best)
            out.p_yes.append(float(p[yes]) if item.closed and yes is not None else None)
            out.cited.append(cites)
            out.covered.append(covered)
        return out


def mode_metrics(items: Sequence[QA], ans: Answers) -> dict[str, Any]:
    """Accuracies, hallucination rate and traceability of one mode's answers."""
    out: dict[str, Any] = split_accuracy(items, ans.answers)
    yes = [i for i, q in enumerate(items) if q.closed and ans.answers[i] == "yes"]
    wrong = [i for i in yes if items[i].answer == "no"]
    graph_yes = [i for i in yes if ans.covered[i]]
    out["hallucination_rate"] = round(len(wrong) / len(yes), 4) if yes else 0.0
    out["traceability_any"] = round(sum(bool(ans.cited[i]) for i in yes) / len(yes), 4) if yes else 1.0
    out["traceability_graph"] = round(sum(any(c.startswith("edge:") for c in ans.cited[i]) for i in graph_yes)
                                      / len(graph_yes), 4) if graph_yes else 0.0
    out["yes_assertions"] = len(yes)
    return out


# ---------------------------------------------------------------------------------------- the run
def _val_split(train: Sequence[QA], share: float, seed: int) -> tuple[list[int], list[int]]:
    """Held-out natural (not templated) train questions whose image keeps other questions in the fitting part.

    Test questions are all natural (``freeform`` / ``para``) and their images all appear in train; drawing
    validation from templated ``frame`` questions would leave their near-copies in the fitting part
    far more often than test does.
    """
    rng = np.random.default_rng(seed)
    per_image: dict[str, list[int]] = {}
    for i, q in enumerate(train):
        per_image.setdefault(q.image, []).append(i)
    val: set[int] = set()
    target = int(round(share * len(train)))
    for i in rng.permutation(len(train)):
        q = train[int(i)]
        rows = per_image[q.image]
        if len(val) < target and q.phrase_type != "frame" and sum(r not in val for r in rows) > 1:
            val.add(int(i))
    return sorted(set(range(len(train))) - val), sorted(val)


def _vocabs(items: Sequence[QA]) -> tuple[list[str], set[str], set[str]]:
    vocab = sorted({q.answer for q in items})
    return vocab, {q.answer for q in items if q.closed}, {q.answer for q in items if not q.closed}


def _fit_answer_model(items: Sequence[QA], q: np.ndarray, img: np.ndarray, config: Any) -> Any:
    from benchmarks.vqa_rad_model import AnswerModel

    vocab, _, _ = _vocabs(items)
    return AnswerModel(vocab, config).fit(q, img, [x.answer for x in items])


def _image_encoder(ctx: RunContext, train: Sequence[QA], pixels: Mapping[str, np.ndarray],
                   note: Callable[[str], None]) -> Any:
    from benchmarks.vqa_rad_model import ImageConfig, TrainedImageEncoder, train_image_encoder

    images = sorted({q.image for q in train})
    organ_of: dict[str, str] = {}
    for q in train:
        organ_of.setdefault(q.image, q.organ)
    ckpt = Path(ctx.models_dir) / MODEL_FILE
    cfg = ImageConfig()
    if ckpt.is_file():
        enc = TrainedImageEncoder.load(ckpt)
        if enc.model.instance.out_features == len(images) and enc.config == cfg:
            note(f"image encoder loaded from {ckpt}")
            return enc
    enc = train_image_encoder(np.stack([pixels[i] for i in images]), [organ_of[i] for i in images], cfg,
                              budget_s=ctx.train_budget_s, progress=note)
    enc.save(ckpt)
    return enc


def run(ctx: RunContext, *, val_share: float = 0.15, seed: int = 0,
        answer_epochs: int | None = None) -> dict[str, Any]:
    """The VQA-RAD figure: per mode closed/open/overall accuracy on test, the blind baseline, val choices."""
    import time

    import torch

    from benchmarks.vqa_rad_model import AnswerConfig, load_pixels
    from vlm.encoders import TextEncoder

    torch.set_num_threads(1)
    modes = tuple(ctx.modes) or MODES
    t0 = time.perf_counter()

    def note(stage: str, done: int = 0, total: int = 0) -> None:
        if ctx.progress:
            ctx.progress(stage, done, total)

    train, test, image_dir = load_vqa_rad(Path(ctx.data_dir) / "vqa_rad")
    names = sorted({q.image for q in (*train, *test)})
    px = load_pixels([image_dir / n for n in names])
    pixels = dict(zip(names, px, strict=True))
    note(f"VQA-RAD: {len(train)} train / {len(test)} test questions, {len(names)} images")

    enc_img = _image_encoder(ctx, train, pixels, note)
    feats = dict(zip(names, enc_img.embed(px), strict=True))
    text = ctx.encoder or TextEncoder()
    note("question embeddings (MiniLM)")
    q_train = text.encode([q.question for q in train])
    q_test = text.encode([q.question for q in test])
    i_train = np.stack([feats[q.image] for q in train])
    i_test = np.stack([feats[q.image] for q in test])

    blind = blind_nn(q_train, [q.answer for q in train], q_test)
    blind_scores = split_accuracy(test, blind)

    # -- validation: answer-model input and fusion settings
    fit, val = _val_split(train, val_share, seed)
    tr_items, va_items = [train[i] for i in fit], [train[i] for i in val]
    vocab, cl, op = _vocabs(tr_items)
    ep = {} if answer_epochs is None else {"epochs": answer_epochs}
    val_report: dict[str, Any] = {"n_fit": len(fit), "n_val": len(val),
                                  "blind_nn": split_accuracy(va_items, blind_nn(q_train[fit], [q.answer for q in tr_items],
                                                                                q_train[val]))}
    causal = CausalFilter()
    best_cfg, best_none = None, -1.0
    probs_val: dict[float, np.ndarray] = {}
    for iw in (0.0, 1.0):
        cfg = AnswerConfig(image_weight=iw, **ep)
        model = _fit_answer_model(tr_items, q_train[fit], i_train[fit], cfg)
        probs_val[iw] = model.predict_proba(q_train[val], i_train[val])
        a = Answerer(vocab, cl, op, tr_items, q_train[fit], i_train[fit], FusionSettings(), causal)
        sc = split_accuracy(va_items, a.answer(va_items, q_train[val], i_train[val], probs_val[iw], "none").answers)
        val_report[f"none_image_weight_{iw:g}"] = sc
        note(f"val answer model image_weight={iw:g}: {sc}")
        if sc["overall_accuracy"] > best_none:
            best_cfg, best_none = cfg, sc["overall_accuracy"]
    assert best_cfg is not None
    grid = [FusionSettings(beta=b, k=k, tau=t, weight=w) for b in (0.0, 0.5, 1.0, 2.0) for k in (3, 10)
            for t in (0.02, 0.05) for w in (0.25, 0.5, 0.75, 0.9)]
    best_fs, best_sem = FusionSettings(), -1.0
    pv = probs_val[best_cfg.image_weight]
    grid_rows: list[dict[str, Any]] = []
    for n, fs in enumerate(grid):
        a = Answerer(vocab, cl, op, tr_items, q_train[fit], i_train[fit], fs, causal)
        sc = split_accuracy(va_items, a.answer(va_items, q_train[val], i_train[val], pv, "semantic").answers)
        grid_rows.append({**{k: v for k, v in fs.__dict__.items() if k != "candidates"}, **sc})
        if sc["overall_accuracy"] > best_sem:
            best_fs, best_sem = fs, sc["overall_accuracy"]
            val_report["semantic"] = sc
        note("val fusion grid", n + 1, len(grid))
    for unl in (0.0, 0.5):
        a = Answerer(vocab, cl, op, tr_items, q_train[fit], i_train[fit], best_fs, CausalFilter(unlabelled=unl))
        val_report[f"causal_unlabelled_{unl:g}"] = split_accuracy(
            va_items, a.answer(va_items, q_train[val], i_train[val], pv, "causal").answers)
    best_unl = 0.0 if (val_report["causal_unlabelled_0"]["overall_accuracy"]
                       > val_report["causal_unlabelled_0.5"]["overall_accuracy"]) else 0.5
    val_report["fusion_grid_top"] = sorted(grid_rows, key=lambda r: -r["overall_accuracy"])[:8]
    val_report["fusion_grid_image_blind_best"] = max((r for r in grid_rows if r["beta"] == 0.0),
                                                     key=lambda r: r["overall_accuracy"])
    val_report["chosen"] = {"answer_model_image_weight": best_cfg.image_weight, "fusion": best_fs.__dict__,
                            "causal_unlabelled_weight": best_unl}

    # -- test: refit the answer model on the whole train split with the chosen settings, score once
    note("answer model on the full train split")
    vocab, cl, op = _vocabs(train)
    model = _fit_answer_model(train, q_train, i_train, best_cfg)
    probs = model.predict_proba(q_test, i_test)
    causal = CausalFilter(unlabelled=best_unl)
    answerer = Answerer(vocab, cl, op, train, q_train, i_train, best_fs, causal)
    out_modes: dict[str, Any] = {}
    fallbacks: dict[str, int] = {}
    for mode in modes:
        ans = answerer.answer(test, q_test, i_test, probs, mode)
        out_modes[mode] = {"mode": mode, **mode_metrics(test, ans)}
        fallbacks[mode] = ans.fallback
        note(f"test {mode}", len(out_modes), len(modes))
    # ablation: the same pipeline with the image removed (question-only model, question-only retrieval)
    blind_cfg = AnswerConfig(image_weight=0.0, **ep)
    q_only = _fit_answer_model(train, q_train, i_train, blind_cfg).predict_proba(q_test, i_test)
    zeros_tr, zeros_te = np.zeros_like(i_train), np.zeros_like(i_test)
    abl = Answerer(vocab, cl, op, train, q_train, zeros_tr, best_fs, causal)
    ablation = {m: split_accuracy(test, abl.answer(test, q_test, zeros_te, q_only, m).answers)
                for m in modes}

    covered = [bool(question_findings(q.question)) for q in test]
    chest = [q.organ == "CHEST" for q in test]
    out: dict[str, Any] = {
        "modes": out_modes,
        "baselines": {"blind_question_nn": blind_scores},
        "ablation_without_image": ablation,
        "val": val_report,
        "counts": {"train": len(train), "test": len(test), "test_closed": sum(q.closed for q in test),
                   "test_open": sum(not q.closed for q in test), "images": len(names),
                   "test_images_seen_in_train": len({q.image for q in test} & {q.image for q in train}),
                   "test_images": len({q.image for q in test})},
        "graph_coverage": {"questions": round(sum(covered) / len(test), 4),
                           "chest_questions": round(sum(c and h for c, h in zip(covered, chest, strict=True))
                                                    / max(sum(chest), 1), 4),
                           "covered_questions": sum(covered),
                           "causal_fallback_no_consistent_exemplar": fallbacks.get("causal", 0)},
        "front_end": {"image_encoder": {"checkpoint": str(Path(ctx.models_dir) / MODEL_FILE),
                                        **enc_img.config.__dict__, "epochs_run": enc_img.epochs_run,
                                        "train_seconds": round(enc_img.seconds, 1),
                                        "organ_train_accuracy": round(enc_img.organ_train_accuracy, 4)},
                      "answer_model": best_cfg.__dict__, "vocabulary": len(vocab)},
        "anchors": ANCHORS, "goals": GOALS,
        "run_seconds": round(time.perf_counter() - t0, 1),
    }
    out["notes"] = notes_for(out)
    return out


def notes_for(out: Mapping[str, Any]) -> list[str]:
    b = out["baselines"]["blind_question_nn"]
    cov = out["graph_coverage"]
    best = max(out["modes"].values(), key=lambda r: r["closed_accuracy"])
    abl = out["ablation_without_image"].get(best["mode"], {})
    return [
        f"Blind question-only NN baseline (same run): closed {b['closed_accuracy']}, open {b['open_accuracy']}, "
        f"overall {b['overall_accuracy']}.",
        f"Without the image (question-only answer model and retrieval), {best['mode']} scores closed "
        f"{abl.get('closed_accuracy')} / open {abl.get('open_accuracy')} vs {best['closed_accuracy']} / "
        f"{best['open_accuracy']} with it.",
        "Accuracy = exact match after lower-casing and removing punctuation and articles; open answers are scored "
        "the same way (LLaVA-Med reports open recall, not comparable). Answers are restricted to the train answers "
        "of the question's given answer_type.",
        f"Every test image also appears in train ({out['counts']['test_images_seen_in_train']}/"
        f"{out['counts']['test_images']}), with other questions: retrieval of the same image asked a similar question "
        "in train is the strongest evidence. Choices were made on held-out natural train questions whose image "
        "stays in the fitting part (the test condition); test was scored once.",
        f"Graph coverage: {100 * cov['questions']:.1f}% of test questions ({100 * cov['chest_questions']:.1f}% of chest "
        "questions) name a graph finding; causal filters exemplars for those and falls back to semantic otherwise.",
        "Hallucination rate: share of closed 'yes' answers whose gold answer is 'no'; traceability: share of 'yes' "
        "answers citing a train exemplar that answered 'yes' (graph: of covered 'yes' answers, citing a graph edge).",
    ]


# ---------------------------------------------------------------------------------------- plots
def write_plots(result: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """Closed / open / overall accuracy per mode beside the blind baseline and the anchor."""
    from benchmarks.plots import COLOURS, plt, save_figure

    metrics = ("closed_accuracy", "open_accuracy", "overall_accuracy")
    rows = {m: r for m, r in result["modes"].items()}
    rows["blind NN"] = result["baselines"]["blind_question_nn"]
    names = list(rows)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.0 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        vals = [float(rows[n][metric]) for n in names]
        ax.bar(names, vals, color=[COLOURS.get(n, "#bbbbbb") for n in names])
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
        for name, anchor in result.get("anchors", {}).items():
            if metric in anchor and "measured elsewhere" not in name:
                ax.axhline(anchor[metric], ls="--", lw=0.8, color="k", alpha=0.6)
                ax.text(-0.4, anchor[metric], f" {name}", fontsize=7, va="bottom")
        if metric in result.get("goals", {}):
            ax.axhline(result["goals"][metric], ls=":", lw=0.8, color="g")
            ax.text(-0.4, result["goals"][metric], " goal", fontsize=7, va="top", color="g")
        ax.set_ylim(0, 100)
        ax.set_title(metric.replace("_", " "))
        ax.tick_params(axis="x", labelsize=8)
    return [save_figure(fig, Path(out_dir) / "vqa_vqa_rad.png",
                        "VQA-RAD test: retrieval modes vs blind question-only baseline")]
