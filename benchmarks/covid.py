"""COVID-19 radiograph diagnosis benchmark, with a view-confounder shift split.

Task: COVID-19 against the other pneumonias of the COVID chest X-ray collection, frontal films only
(see :mod:`benchmarks.covid_split` for the classes and what is dropped). A small ResNet trained
from scratch on the train patients (64 px) is the front end; its penultimate features index the
train films as exemplars, with the view (AP / PA) in the confounder stratum, so ``causal`` retrieval
can discount what is similar only because it shares a projection. The index also holds the front
end's own score of each train film, so ``causal`` reads a query's score relative to its view: the
offset of that view's mean exemplar logit from the view-weighted mean is taken off (the view comes
from the metadata, as it would from a DICOM header). A front end scores its own training films from
memory, so their scores hide the view's effect; the offsets are therefore estimated on a held-out
calibration set kept in the index: out-of-fold scores of the train films from front ends of the same
recipe trained on patient-grouped folds of train (:func:`oof_scores`). Every reading (method x score
source, :data:`VARIANTS`) is scored; ``causal`` uses the one with the best worst-view-stratum val AUC. Every mode's
threshold is fitted on val; the test split is scored once.

The shift part trains a second front end on a split where the view is a perfect shortcut (COVID-19
only on AP films, the other pneumonias only on PA) and scores it on an in-distribution test and on a
shifted test where the pairing is reversed. A third front end is trained on a partial version of the
same confounder (the view agrees with the class on about 80% of each class's films, so every (class,
view) cell is in train and the view's own effect can be estimated), scored on its in-distribution test
and on a shifted test where the agreement is reversed (``result["shift_partial"]``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.covid_split import (
    PARTIAL_SHIFT_WEIGHT,
    PARTIAL_STRENGTH,
    Case,
    CovidDataError,
    describe,
    partial_shift_split,
    patient_split,
    read_cases,
    shift_split,
    view_strength,
)
from benchmarks.metrics import roc_auc

Progress = Callable[[str, int, int], None]
TABLE = ("auc", "macro_f1", "accuracy", "hallucination_rate", "traceability_any", "traceability_graph")
"""Columns of ``result["modes"]`` (the printed table); interval, threshold and retrieval mix are in ``details``."""
SIZE = 64
"""Films are stored at this side; the front end reads them at :data:`INPUT_PX`."""
INPUT_PX = 32
ADJUSTMENT = "stratum-finding"
"""How :func:`evaluate` reads the front end against the view by default (see
:meth:`vlm.index.ExemplarIndex.front_end_offsets`). :func:`run` scores every reading in :data:`VARIANTS`
and uses the one with the best worst-view-stratum val AUC (:data:`CHOICE_RULE`): the marginal ``stratum`` offset, on the
shift split where the view stands in for the class, takes the class signal off with the view."""
SCORES_FROM = "auto"
"""Whose front-end scores the view offsets come from by default: the index's held-out calibration set when
it holds one, else the train films' own scores."""
VARIANTS: dict[str, tuple[str, str]] = {
    "off": ("off", "exemplars"),
    "stratum (train scores)": ("stratum", "exemplars"),
    "stratum (out-of-fold)": ("stratum", "calibration"),
    "stratum-finding (train scores)": ("stratum-finding", "exemplars"),
    "stratum-finding (out-of-fold)": ("stratum-finding", "calibration"),
}
"""The readings of the front end against the view that ``causal`` is scored under: (method, score source)."""
DEFAULT_VARIANT = "stratum-finding (out-of-fold)"
"""The reading used when ``causal`` is not run (nothing to choose from)."""
CHOICE_RULE = ("the variant with the highest worst-view-stratum val AUC: the minimum, over the main, perfect-shift "
               f"and partial-shift val splits and their view strata (AP, PA) holding at least {3} films of each "
               "class, of the val AUC (ties to the earlier, simpler one); test splits play no part")
MIN_STRATUM_CLASS = 3
"""A view stratum of a val split counts for the rule when it holds at least this many films of each class."""
NOTES = [
    "Classes: COVID-19 (incl. 'COVID-19, ARDS') vs other pneumonia (bacterial, fungal, other viral, lipoid, ARDS). "
    "Dropped: undiagnosed ('todo', 'Unknown'), 'No Finding' (8 films: too few for a class, and folded into "
    "'not COVID' they would be the only films without pneumonia), lateral views (26 films).",
    "Patient-level splits (seed 0), stratified by class; a patient's films stay in one split. Front end: "
    "small ResNets (32 px, width 16, 60 epochs, one seed) trained from scratch on train, best epoch and threshold on val. "
    "Exemplar index = train films by front-end features, stratum = cxr_covid|AP or PA|device, with the front "
    "end's P(COVID-19) of each train film and, as calibration set, the out-of-fold P(COVID-19) of each; causal mode "
    "takes the view's offset off the query's logit (stratum-finding: the view's mean logit, standardised to the pooled "
    "COVID-19 / other mix, minus the view-weighted mean; no shift where a view lacks either class), estimated on the "
    "train scores or on the out-of-fold ones (see the variants). "
    "Each mode's threshold fitted on val (balanced accuracy); test scored once.",
    "The grounder receives P(COVID-19) from the front end (shifted so the val threshold sits at 0.5) and "
    "Pneumonia = 1 (every case is a pneumonia); a mode's score is its posterior of COVID-19. Hallucination = "
    "COVID-19 asserted for a non-COVID film, over all COVID-19 assertions.",
    "Small test sets (tens of non-COVID films): the 95% intervals (patient bootstrap) are wide; differences "
    "between modes inside them are not evidence either way.",
]


def _cnn_config(budget_s: float | None) -> Any:
    from benchmarks.cnn import CNNConfig

    return CNNConfig(width=16, size=INPUT_PX, epochs=60, batch_size=16, lr=2e-3, seeds=(0,),
                     time_budget_s=budget_s)


# ---------------------------------------------------------------------------------------- images
def load_images(cases: Sequence[Case], size: int = SIZE) -> np.ndarray:
    """Films as (n, size, size) uint8: padded square, resized, contrast stretched (1st-99th percentile)."""
    from vlm.images import ImageError, load_image, square_resize

    out = np.zeros((len(cases), size, size), dtype=np.uint8)
    for i, c in enumerate(cases):
        try:
            px = square_resize(load_image(c.image, reduce_to=size).pixels, size)
        except ImageError as err:
            raise CovidDataError(f"cannot read {c.image}: {err}") from None
        lo, hi = np.percentile(px, (1, 99))
        px = np.clip((px - lo) / max(hi - lo, 1e-6), 0, 1)
        out[i] = np.round(px * 255).astype(np.uint8)
    return out


class ImageCache:
    def __init__(self) -> None:
        self._px: dict[str, np.ndarray] = {}

    def get(self, cases: Sequence[Case]) -> np.ndarray:
        todo = [c for c in cases if str(c.image) not in self._px]
        if todo:
            for c, px in zip(todo, load_images(todo), strict=True):
                self._px[str(c.image)] = px
        if not cases:
            return np.zeros((0, SIZE, SIZE), dtype=np.uint8)
        return np.stack([self._px[str(c.image)] for c in cases])


# ---------------------------------------------------------------------------------------- front end
def _labels(cases: Sequence[Case]) -> np.ndarray:
    return np.array([c.covid for c in cases], dtype=int)


def train_front_end(name: str, train: Sequence[Case], val: Sequence[Case], images: ImageCache, models_dir: Path,
                    budget_s: float | None, progress: Progress | None = None) -> tuple[Any, Path, bool]:
    """A cached ensemble for this exact split and configuration (trained when absent)."""
    from benchmarks.cnn import load_ensemble, save_ensemble, train_ensemble

    cfg = _cnn_config(budget_s)
    key = json.dumps({"train": sorted(c.key for c in train), "val": sorted(c.key for c in val),
                      "cfg": cfg.__dict__}, sort_keys=True)
    ckpt = models_dir / f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:10]}.pt"
    if ckpt.is_file():
        return load_ensemble(str(ckpt)), ckpt, True
    yt, yv = _labels(train), _labels(val)
    if len(set(yt.tolist())) < 2 or len(set(yv.tolist())) < 2:
        raise CovidDataError(f"{name}: train and val need both classes (train {np.bincount(yt, minlength=2)}, "
                             f"val {np.bincount(yv, minlength=2)})")
    ens = train_ensemble(images.get(train), yt, images.get(val), yv, cfg, device="cpu",
                         progress=(lambda s: progress(f"{name}: {s}", 0, 0)) if progress else None)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    save_ensemble(ens, str(ckpt))
    return ens, ckpt, False


OOF_FOLDS = 5
"""Folds of the out-of-fold front ends whose held-out scores calibrate the view offsets."""


def oof_scores(name: str, train: Sequence[Case], val: Sequence[Case], images: ImageCache, models_dir: Path,
               budget_s: float | None, folds: int = OOF_FOLDS, progress: Progress | None = None
               ) -> tuple[np.ndarray, dict[str, Any]]:
    """Out-of-fold P(COVID-19) of every train film, on the grounder's scale (threshold at 0.5).

    The train patients are cut into ``folds`` groups (patient-grouped, stratified by class and view);
    a front end of the same recipe (best epoch and threshold on the same val) is trained on the other
    folds and scores the held-out one, so no film is scored by a model that trained on it. Each fold
    model is cached under ``models_dir`` like the main front ends. Val and test films are not used.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    from benchmarks.diagnose import shift_to_half

    y = np.array([2 * c.covid + (c.view_group == "AP") for c in train])
    groups = np.array([c.patient for c in train])
    k = max(2, min(int(folds), len(set(groups.tolist()))))
    out = np.full(len(train), np.nan)
    info: dict[str, Any] = {"folds": k, "grouping": "patient", "stratified_by": "class x view", "models": []}
    with warnings.catch_warnings():  # a (class, view) cell smaller than k is fine: stratification is best effort
        warnings.simplefilter("ignore", UserWarning)
        cuts = list(StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=0).split(np.zeros(len(train)), y, groups))
    for i, (fit_rows, held_rows) in enumerate(cuts):
        fit = [train[j] for j in fit_rows]
        held = [train[j] for j in held_rows]
        ens, ckpt, cached = train_front_end(f"{name}-oof{k}-{i}", fit, val, images, models_dir, budget_s, progress)
        p, _ = ens.predict(images.get(held))
        out[held_rows] = shift_to_half(p, ens.threshold)
        info["models"].append({"fold": i, "train_films": len(fit), "held_out_films": len(held),
                               "val_auc": round(float(ens.val_auc), 4), "train_seconds": round(float(ens.seconds), 1),
                               "from_cache": cached, "checkpoint": str(ckpt)})
    info["oof_auc"] = round(roc_auc(_labels(train), out), 4)
    return out, info


def logit_table(cases: Sequence[Case], scores: np.ndarray) -> dict[str, Any]:
    """Mean front-end logit per (view, class): how much of the score the view carries within a class."""
    from vlm.index import logit

    lg = logit(np.asarray(scores))
    out: dict[str, Any] = {}
    for view in ("AP", "PA"):
        for covid, cls in ((1, "COVID-19"), (0, "other")):
            rows = [i for i, c in enumerate(cases) if c.view_group == view and c.covid == covid]
            out[f"{view}|{cls}"] = {"films": len(rows),
                                    "mean_logit": round(float(lg[rows].mean()), 4) if rows else None}
    return out


def _label_vector(covid: int) -> tuple[int, ...]:
    from vlm.labels import LABEL_INDEX, LABELS, UNKNOWN

    v = [UNKNOWN] * len(LABELS)
    v[LABEL_INDEX["COVID-19"]] = covid
    v[LABEL_INDEX["Pneumonia"]] = 1
    v[LABEL_INDEX["normal"]] = 0
    return tuple(v)


def stratum(c: Case) -> str:
    from vlm.data import device_for_view

    return f"cxr_covid|{c.view_group}|{device_for_view(c.view_group)}"


def _front_matrix(scores: np.ndarray) -> np.ndarray:
    from vlm.labels import LABEL_INDEX, LABELS

    front = np.full((len(scores), len(LABELS)), np.nan, dtype=np.float32)
    front[:, LABEL_INDEX["COVID-19"]] = np.asarray(scores, dtype=np.float32)
    return front


def build_covid_index(features: np.ndarray, cases: Sequence[Case], split: str = "train",
                      scores: np.ndarray | None = None, calibration: np.ndarray | None = None) -> Any:
    """Exemplar index over front-end features; the stratum carries the view (AP / PA).

    ``scores``: the front end's P(COVID-19) per film (on the scale the grounder is given), kept in
    the index for the confounder-adjusted reading of ``causal`` mode. ``calibration``: held-out
    (out-of-fold) P(COVID-19) of the same films on the same scale, kept as the index's calibration set.
    """
    from vlm.data import device_for_view
    from vlm.index import Exemplar, index_from_vectors
    from vlm.labels import known_bits, to_bits

    vecs = [_label_vector(c.covid) for c in cases]
    ex = [Exemplar(f"cxr_covid/{c.key}", "cxr_covid", split, c.view_group, device_for_view(c.view_group),
                   findings=("COVID-19", "Pneumonia") if c.covid else ("Pneumonia",),
                   text=f"chest x-ray, {c.view} view: {c.finding}", image=f"cxr_covid/images/{c.key}",
                   group=f"covid-{c.patient}") for c in cases]
    front = None if scores is None else _front_matrix(scores)
    lb = np.array([to_bits(v) for v in vecs], dtype=np.uint32)
    kb = np.array([known_bits(v) for v in vecs], dtype=np.uint32)
    index = index_from_vectors(features, lb, kb, [stratum(c) for c in cases], exemplars=ex, front_end=front,
                               info={"sources": ("cxr_covid",), "splits": (split,)})
    if calibration is not None:
        index.set_calibration(_front_matrix(calibration), [stratum(c) for c in cases], lb, kb,
                              f"out-of-fold front-end scores of the {split} films")
    return index


# ---------------------------------------------------------------------------------------- scoring
def _grounded(grounder: Any, probs: np.ndarray, feats: np.ndarray, mode: str, strata: Sequence[str],
              tick: Callable[[], None] | None = None) -> tuple[np.ndarray, list[Any]]:
    from benchmarks.front_end_grounding import ground

    out, results = np.zeros(len(probs)), []
    for i, (p, f, z) in enumerate(zip(probs, feats, strata, strict=True)):
        r = ground(grounder, {"COVID-19": float(p), "Pneumonia": 1.0, "normal": 0.0}, f, "diagnose", mode,
                   stratum=z)
        out[i] = r.probabilities()["COVID-19"]
        results.append(r)
        if tick:
            tick()
    return out, results


def retrieval_mix(results: Sequence[Any], views: Sequence[str]) -> dict[str, float | None]:
    """What the retrieved exemplars are: share on the query's own view, share labelled COVID-19."""
    same, covid_share, n = 0, 0, 0
    for r, v in zip(results, views, strict=True):
        for h in r.exemplars:
            n += 1
            same += h.exemplar.view == v
            covid_share += "COVID-19" in h.exemplar.findings
    if not n:
        return {"same_view": None, "covid": None, "per_case": 0.0}
    return {"same_view": round(same / n, 4), "covid": round(covid_share / n, 4), "per_case": round(n / len(views), 2)}


def auc_by_view(y: np.ndarray, s: np.ndarray, views: Sequence[str], min_class: int = MIN_STRATUM_CLASS
                ) -> dict[str, float | None]:
    """AUC within each view stratum (AP, PA); None where the stratum holds fewer than ``min_class`` of a class."""
    v = np.asarray(views, dtype=object)
    out: dict[str, float | None] = {}
    for view in ("AP", "PA"):
        sel = v == view
        pos, neg = int((y[sel] == 1).sum()), int((y[sel] == 0).sum())
        out[view] = round(float(roc_auc(y[sel], s[sel])), 4) if min(pos, neg) >= min_class else None
    return out


def score_split(y: np.ndarray, s: np.ndarray, thr: float, results: Sequence[Any],
                groups: Sequence[str] | None = None, views: Sequence[str] | None = None,
                by_view: Sequence[str] | None = None) -> dict[str, Any]:
    """AUC, macro F1, accuracy, balanced accuracy, hallucination and traceability of one scored split
    (with ``by_view``, the AUC within each view stratum too)."""
    from sklearn.metrics import balanced_accuracy_score

    from benchmarks.front_end_grounding import trace_of
    from benchmarks.metrics import binary_scores, bootstrap_auc, hallucination_rate, macro_f1, traceability

    pred = (s >= thr).astype(int)
    sc = binary_scores(y, s, thr)
    asserted = [("COVID-19",) if p else () for p in pred]
    gold = [("COVID-19",) if t else () for t in y]
    traces = [trace_of(r, a) for r, a in zip(results, asserted, strict=True)]
    scores = {"auc": sc.auc, "macro_f1": macro_f1(y, pred), "accuracy": sc.accuracy,
           "balanced_accuracy": float(balanced_accuracy_score(y, pred)) if len(set(y.tolist())) == 2 else float("nan"),
           "hallucination_rate": hallucination_rate(gold, asserted),
           "traceability_any": traceability([t.any_item for t in traces]),
           "traceability_graph": traceability([t.graph_item for t in traces]), "threshold": thr}
    out: dict[str, Any] = {k: round(float(v), 4) for k, v in scores.items()}
    if groups is not None:
        out["auc_ci95"] = list(bootstrap_auc(y, s, groups))
    if views is not None:
        out["retrieved"] = retrieval_mix(results, views)
    if by_view is not None:
        out["auc_by_view"] = auc_by_view(y, s, by_view)
    return out


def evaluate(ens: Any, train: Sequence[Case], val: Sequence[Case], tests: dict[str, Sequence[Case]],
             images: ImageCache, modes: Sequence[str], progress: Progress | None = None, stage: str = "grounded",
             adjustment: str = ADJUSTMENT, calibration: np.ndarray | None = None,
             scores_from: str = SCORES_FROM) -> dict[str, Any]:
    """Per mode: threshold fitted on val, then each test split scored once.

    ``calibration``: out-of-fold scores of the train films (the index's calibration set);
    ``scores_from``: whose scores ``causal`` reads the view offsets from (``auto``, ``exemplars``,
    ``calibration``; see :data:`vlm.index.SCORE_SOURCES`).
    """
    from benchmarks.cnn import fit_threshold
    from benchmarks.diagnose import shift_to_half
    from benchmarks.front_end_grounding import front_end_grounder
    from vlm.labels import LABEL_INDEX
    from vlm.retrieval import RetrievalSettings

    p_tr, f_tr = ens.predict(images.get(train))
    q_tr = shift_to_half(p_tr, ens.threshold)
    index = build_covid_index(f_tr, train, scores=q_tr, calibration=calibration)
    grounder = front_end_grounder("covid-cnn-ensemble", index,
                                  settings=RetrievalSettings(front_end_adjustment=adjustment, front_end_scores=scores_from))
    yv = _labels(val)
    pv, fv = ens.predict(images.get(val))
    qv = shift_to_half(pv, ens.threshold)
    zv = [stratum(c) for c in val]
    pred = {}
    for name, cs in tests.items():
        pt, ft = ens.predict(images.get(cs))
        pred[name] = (shift_to_half(pt, ens.threshold), ft, _labels(cs), [c.patient for c in cs],
                      [c.view_group for c in cs], [stratum(c) for c in cs])
    total = len(modes) * (len(val) + sum(len(cs) for cs in tests.values()))
    done = [0]

    def tick() -> None:
        done[0] += 1
        if progress and (done[0] % 50 == 0 or done[0] == total):
            progress(stage, done[0], total)

    out: dict[str, Any] = {name: {} for name in tests}
    out["val"] = {}
    for mode in modes:
        sv, rv = _grounded(grounder, qv, fv, mode, zv, tick)
        thr = fit_threshold(sv, yv)
        out["val"][mode] = score_split(yv, sv, thr, rv, by_view=[c.view_group for c in val])
        for name, (q, f, y, groups, views, zs) in pred.items():
            st, rt = _grounded(grounder, q, f, mode, zs, tick)
            out[name][mode] = score_split(y, st, thr, rt, groups, views)
    out["front_end"] = {"val_auc": round(float(ens.val_auc), 4), "val_threshold": round(float(ens.threshold), 4),
                        "members": len(ens.members), "width": ens.config.width, "input_px": ens.config.size,
                        "epochs": ens.config.epochs, "train_seconds": round(float(ens.seconds), 1),
                        "train_films_auc": round(float(roc_auc(_labels(train), p_tr)), 4)}
    used = index.score_source(scores_from)
    off = (index.front_end_offsets(LABEL_INDEX["COVID-19"], adjustment, used)
           if adjustment != "off" and used is not None else None)
    out["train_logits"] = logit_table(train, q_tr)
    if calibration is not None:
        out["oof_logits"] = logit_table(train, calibration)
    out["adjustment"] = {"method": adjustment, "scores_from": None if off is None else off.source,
                         "per_stratum": None if off is None else {
        name: {"train_films": int(off.counts[i]),
               "mean_logit": None if not np.isfinite(off.means[i]) else round(float(off.means[i]), 4),
               "logit_shift": None if not np.isfinite(off.offsets[i]) else round(-float(off.offsets[i]), 4)}
        for i, name in enumerate(index.stratum_names)},
        "reference_logit": None if off is None or not np.isfinite(off.reference) else round(off.reference, 4),
        "note": "" if off is None else off.reason}
    return out


def view_auc(cases: Sequence[Case]) -> float:
    """How well the view alone (AP = COVID-19) separates the classes in a split."""
    return round(roc_auc(_labels(cases), np.array([c.view_group == "AP" for c in cases], dtype=float)), 4)


# ---------------------------------------------------------------------------------------- entry point
def run(ctx: Any) -> dict[str, Any]:
    """The benchmark: the patient split per mode, then the view-shift splits per mode.

    With ``causal`` among the modes, every reading of the front end against the view
    (:data:`VARIANTS`) is scored on each split first; the one with the best worst-view-stratum val AUC
    over the three splits (:data:`CHOICE_RULE`) is the reading the ``causal`` rows use.
    """
    import torch

    torch.set_num_threads(1)
    root = Path(ctx.data_dir) / "cxr_covid"
    cases, dropped = read_cases(root)
    images = ImageCache()
    cap = getattr(ctx, "train_cap_s", None)
    folds = int(getattr(ctx, "calibration_folds", None) or OOF_FOLDS)
    # a fixed-epoch recipe; a --train-budget cap is shared 2:1:1 (the main train split is twice a shift one)
    budgets = (None, None, None) if cap is None else (float(cap) / 2, float(cap) / 4, float(cap) / 4)
    progress = ctx.progress
    models = Path(ctx.models_dir)

    main = patient_split(cases)
    ens, ckpt, cached = train_front_end("covid-cnn", main["train"], main["val"], images, models, budgets[0], progress)
    sh = shift_split(cases)
    ens_s, ckpt_s, cached_s = train_front_end("covid-shift-cnn", sh["train"], sh["val"], images, models, budgets[1],
                                              progress)
    sp = partial_shift_split(cases)
    ens_p, ckpt_p, cached_p = train_front_end("covid-shift-partial-cnn", sp["train"], sp["val"], images, models,
                                              budgets[2], progress)
    # held-out scores of the train films: out-of-fold front ends of the same recipe
    fold_budget = lambda b: None if b is None else b / folds  # noqa: E731
    oof, oof_s, oof_p = (oof_scores(n, split["train"], split["val"], images, models, fold_budget(b), folds, progress)
                         for n, split, b in (("covid-cnn", main, budgets[0]), ("covid-shift-cnn", sh, budgets[1]),
                                             ("covid-shift-partial-cnn", sp, budgets[2])))
    main_tests: dict[str, Sequence[Case]] = {"test": main["test"]}
    sh_tests: dict[str, Sequence[Case]] = {"test_id": sh["test_id"], "test_shift": sh["test_shift"]}
    sp_tests: dict[str, Sequence[Case]] = {"test_id": sp["test_id"], "test_shift": sp["test_shift"]}

    scored: dict[tuple[int, str], dict[str, Any]] = {}

    def ev(e: Any, split: dict[str, list[Case]], tests: dict[str, Sequence[Case]], cal: np.ndarray,
           modes: Sequence[str], variant: str, stage: str = "") -> dict[str, Any]:
        method, source = VARIANTS[variant]
        key = (id(e), variant)
        reuse = "causal" in modes and key in scored  # the chosen reading's causal rows are already scored
        rest = [m for m in modes if m != "causal"] if reuse else list(modes)
        if reuse and not rest:
            return scored[key]
        r = evaluate(e, split["train"], split["val"], tests, images, rest, progress if stage else None,
                     stage, adjustment=method, calibration=cal, scores_from=source)
        if reuse:
            for part in ("val", *tests):
                r[part] = {m: (scored[key][part]["causal"] if m == "causal" else r[part][m]) for m in modes}
        elif list(modes) == ["causal"]:
            scored[key] = r
        return r

    chosen, variants, variants_p = DEFAULT_VARIANT, None, None
    if "causal" in ctx.modes:
        variants = adjustment_variants(lambda v, w: ev(w[0], w[1], w[2], w[3], ("causal",), v),
                                       (ens, main, main_tests, oof[0]), (ens_s, sh, sh_tests, oof_s[0]))
        variants_p = shift_variants(lambda v: ev(ens_p, sp, sp_tests, oof_p[0], ("causal",), v))
        chosen = choose_variant(variants, variants_p)
    res = ev(ens, main, main_tests, oof[0], ctx.modes, chosen, "grounded diagnosis")
    res_s = ev(ens_s, sh, sh_tests, oof_s[0], ctx.modes, chosen, "grounded diagnosis (view shift)")
    shift_modes = _shift_modes(res_s, ctx.modes)
    res_p = ev(ens_p, sp, sp_tests, oof_p[0], ctx.modes, chosen, "grounded diagnosis (partial view shift)")
    partial_modes = _shift_modes(res_p, ctx.modes)

    def calibration(info: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
        return {**info, "train_logits": r["train_logits"], "oof_logits": r.get("oof_logits")}

    out: dict[str, Any] = {
        "modes": {m: {"mode": m, **{k: row[k] for k in TABLE}} for m, row in res["test"].items()},
        "details": {m: {k: v for k, v in row.items() if k not in TABLE} for m, row in res["test"].items()},
        "val": res["val"], "front_end": {**res["front_end"], "checkpoint": str(ckpt),
                                                                "from_cache": cached},
        "counts": describe(main), "dropped": dropped, "front_end_adjustment": {**res["adjustment"], "variant": chosen},
        "calibration": calibration(oof[1], res),
        "shift": {"modes": shift_modes, "val": res_s["val"], "counts": describe(sh),
                  "front_end_adjustment": {**res_s["adjustment"], "variant": chosen},
                  "calibration": calibration(oof_s[1], res_s),
                  "front_end": {**res_s["front_end"], "checkpoint": str(ckpt_s), "from_cache": cached_s},
                  "view_only_auc": {k: view_auc(v) for k, v in sh.items()},
                  "design": "train/val/test_id: COVID-19 only on AP films, other pneumonia only on PA; test_shift: "
                            "COVID-19 on PA, other pneumonia on AP (all such non-COVID patients, COVID-19 PA "
                            "patients to the class mix of test_id). Thresholds fitted on the (confounded) val."},
        "shift_partial": {
            "modes": partial_modes, "val": res_p["val"], "counts": describe(sp),
            "strength": {"requested": PARTIAL_STRENGTH, "shift_weight": PARTIAL_SHIFT_WEIGHT,
                         "realized": {k: view_strength(v) for k, v in sp.items()}},
            "unused_films": len(cases) - sum(len(v) for v in sp.values()),
            "front_end_adjustment": {**res_p["adjustment"], "variant": chosen},
            "calibration": calibration(oof_p[1], res_p),
            "front_end": {**res_p["front_end"], "checkpoint": str(ckpt_p), "from_cache": cached_p},
            "view_only_auc": {k: view_auc(v) for k, v in sp.items()},
            "design": f"train/val/test_id: {PARTIAL_STRENGTH:.0%} of COVID-19 films on AP and {PARTIAL_STRENGTH:.0%} "
                      "of other-pneumonia films on PA (strength fixed a priori from the counts: the scarce cell is "
                      "other pneumonia on AP, 17 films in 6 patients); test_shift: the same strength reversed "
                      f"(COVID-19 mostly PA, other pneumonia mostly AP), {PARTIAL_SHIFT_WEIGHT:g} films per "
                      "in-distribution film, class mix of the collection. Patient-disjoint; a patient keeps the "
                      "films of one view; leftover films unused. Thresholds and choices on val only."},
        "view_only_auc": {k: view_auc(v) for k, v in main.items()},
        "notes": [*NOTES, calibration_note(folds), shift_note(shift_modes), shift_note(partial_modes, partial=True)],
    }
    if variants is not None and variants_p is not None:
        out["adjustment_variants"] = variants
        out["shift_partial"]["adjustment_variants"] = variants_p
        out["front_end_reading"] = {"variant": chosen, "method": VARIANTS[chosen][0], "scores_from": VARIANTS[chosen][1],
                                    "rule": CHOICE_RULE, "worst_view_val_auc": worst_view_val_aucs(variants, variants_p),
                                    "mean_val_auc": mean_val_aucs(variants, variants_p)}
        out["notes"].append(variants_note(variants, chosen))
        out["notes"].append(partial_variants_note(variants_p))
    return out


def _shift_modes(res: dict[str, Any], modes: Sequence[str]) -> dict[str, Any]:
    """Per mode: the in-distribution and shifted test rows, the drop between them, and hallucination."""
    out: dict[str, Any] = {}
    for mode in modes:
        a, b = res["test_id"][mode], res["test_shift"][mode]
        out[mode] = {
            "in_distribution": a, "shifted": b,
            "drop": {k: round(a[k] - b[k], 4) for k in ("auc", "macro_f1", "accuracy", "balanced_accuracy")},
            "hallucination_in_distribution": a["hallucination_rate"], "hallucination_shifted": b["hallucination_rate"]}
    return out


VARIANT_KEYS = ("auc", "macro_f1", "accuracy", "balanced_accuracy", "hallucination_rate", "threshold", "auc_by_view")


def adjustment_variants(evaluate_with: Callable[[str, tuple[Any, ...]], dict[str, Any]], main: tuple[Any, ...],
                        shift: tuple[Any, ...]) -> dict[str, Any]:
    """``causal`` under each reading of the front end against the view (:data:`VARIANTS`), main and perfect shift."""
    out: dict[str, Any] = {}
    pick = lambda row: {k: row[k] for k in VARIANT_KEYS if k in row}  # noqa: E731
    for variant, (method, source) in VARIANTS.items():
        m = evaluate_with(variant, main)
        s = evaluate_with(variant, shift)
        a, b = pick(s["test_id"]["causal"]), pick(s["test_shift"]["causal"])
        out[variant] = {"method": method, "scores_from": source,
                        "val": pick(m["val"]["causal"]), "test": pick(m["test"]["causal"]),
                        "adjustment": m["adjustment"]["per_stratum"],
                        "shift": {"val": pick(s["val"]["causal"]), "in_distribution": a, "shifted": b,
                                  "drop_auc": round(a["auc"] - b["auc"], 4), "adjustment": s["adjustment"]["per_stratum"],
                                  "note": s["adjustment"]["note"]}}
    return out


def shift_variants(evaluate_with: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """``causal`` on one shift split under each reading of the front end against the view."""
    out: dict[str, Any] = {}
    pick = lambda row: {k: row[k] for k in VARIANT_KEYS if k in row}  # noqa: E731
    for variant, (method, source) in VARIANTS.items():
        s = evaluate_with(variant)
        a, b = pick(s["test_id"]["causal"]), pick(s["test_shift"]["causal"])
        out[variant] = {"method": method, "scores_from": source, "val": pick(s["val"]["causal"]),
                        "in_distribution": a, "shifted": b, "drop_auc": round(a["auc"] - b["auc"], 4),
                        "adjustment": s["adjustment"]["per_stratum"], "note": s["adjustment"]["note"]}
    return out


def mean_val_aucs(variants: dict[str, Any], partial: dict[str, Any]) -> dict[str, float]:
    """Per variant: the mean of its val AUCs on the main, perfect-shift and partial-shift splits."""
    out = {}
    for v in VARIANTS:
        vals = [variants[v]["val"]["auc"], variants[v]["shift"]["val"]["auc"], partial[v]["val"]["auc"]]
        out[v] = round(float(np.mean(vals)), 4)
    return out


def worst_view_val_aucs(variants: dict[str, Any], partial: dict[str, Any]) -> dict[str, float | None]:
    """Per variant: the minimum val AUC over the three val splits' view strata that hold both classes
    (:data:`MIN_STRATUM_CLASS` films each); None when no stratum does."""
    out: dict[str, float | None] = {}
    for v in VARIANTS:
        rows = [variants[v]["val"], variants[v]["shift"]["val"], partial[v]["val"]]
        vals = [a for r in rows for a in (r.get("auc_by_view") or {}).values() if a is not None]
        out[v] = round(float(min(vals)), 4) if vals else None
    return out


def choose_variant(variants: dict[str, Any], partial: dict[str, Any]) -> str:
    """The variant with the best worst-view-stratum val AUC (:data:`CHOICE_RULE`); ties go to the earlier one."""
    worst = worst_view_val_aucs(variants, partial)
    scored = {v: (w if w is not None else -np.inf) for v, w in worst.items()}
    best = max(scored.values())
    return next(v for v in VARIANTS if scored[v] == best)


def calibration_note(folds: int) -> str:
    return (f"Held-out calibration: each train split is also cut into {folds} patient-grouped folds (stratified by "
            "class x view); a front end of the same recipe (best epoch and threshold on the same val) is trained on "
            f"the other {folds - 1} and scores the held-out fold, giving out-of-fold scores of every train film. "
            "These form the index's calibration set: a front end scores its own training films from memory, so "
            "their scores hide the view's effect. Val and test films are never used for it.")


def partial_variants_note(variants: dict[str, Any]) -> str:
    """One line per front-end reading on the partial shift: val AUC, in-distribution and shifted AUC."""
    parts = [f"{m} (val AUC {v['val']['auc']:.3f}, in-dist {v['in_distribution']['auc']:.3f} -> shifted "
             f"{v['shifted']['auc']:.3f}, hallucination {v['shifted']['hallucination_rate']:.3f})"
             for m, v in variants.items()]
    return "Partial view shift, causal mode's front-end reading against the view: " + "; ".join(parts) + "."


def variants_note(variants: dict[str, Any], chosen: str = "") -> str:
    """One line per way of reading the front end against the view: val AUC, test AUC, shift AUCs."""
    parts = [f"{m} (val AUC {v['val']['auc']:.3f}, test {v['test']['auc']:.3f}; shift val {v['shift']['val']['auc']:.3f}, "
             f"in-dist {v['shift']['in_distribution']['auc']:.3f} -> shifted {v['shift']['shifted']['auc']:.3f}, "
             f"hallucination {v['shift']['shifted']['hallucination_rate']:.3f})" for m, v in variants.items()]
    return (f"Causal mode's front-end reading against the view (run uses {chosen or DEFAULT_VARIANT}; "
            f"rule: {CHOICE_RULE}): " + "; ".join(parts) + ".")


def shift_note(shift_modes: dict[str, Any], partial: bool = False) -> str:
    """One line on the view shift: AUC and macro F1 in-distribution -> shifted, and hallucination."""
    parts = []
    for mode, r in shift_modes.items():
        a, b = r["in_distribution"], r["shifted"]
        parts.append(f"{mode} AUC {a['auc']:.3f} -> {b['auc']:.3f} (drop {r['drop']['auc']:.3f}), macro F1 "
                     f"{a['macro_f1']:.3f} -> {b['macro_f1']:.3f}, hallucination {a['hallucination_rate']:.3f} -> "
                     f"{b['hallucination_rate']:.3f}")
    if partial:
        head = (f"Partial view shift (train: {PARTIAL_STRENGTH:.0%} of COVID-19 on AP, {PARTIAL_STRENGTH:.0%} of other "
                "pneumonia on PA; shifted test: reversed): ")
    else:
        head = "View shift (train: COVID-19 only on AP, other pneumonia only on PA; shifted test: the opposite): "
    return head + "; ".join(parts) + "."


# ---------------------------------------------------------------------------------------- plots
def write_plots(result: dict[str, Any], out_dir: Path) -> list[Path]:
    """Per-mode bars (test AUC, macro F1, hallucination) and the shift drop per mode, perfect and partial."""
    from benchmarks import plots

    stem = f"{result.get('task', 'diagnose')}_{result.get('dataset', 'cxr_covid')}"
    paths = [plots.bar_plot(result["modes"], ("auc", "macro_f1", "accuracy", "hallucination_rate"),
                            out_dir / f"{stem}.png", "COVID-19 vs other pneumonia (test): retrieval modes")]
    shift = result.get("shift", {}).get("modes", {})
    if shift:
        paths.append(_shift_plot(shift, out_dir / f"{stem}_shift.png", "shifted (view flipped)",
                                 "View-confounder shift: front end trained with COVID-19 on AP, other pneumonia on PA"))
    partial = result.get("shift_partial", {})
    if partial.get("modes"):
        strength = partial.get("strength", {}).get("requested", PARTIAL_STRENGTH)
        paths.append(_shift_plot(partial["modes"], out_dir / f"{stem}_shift_partial.png", "shifted (view reversed)",
                                 f"Partial view confounder: front end trained with {strength:.0%} of COVID-19 on AP, "
                                 f"{strength:.0%} of other pneumonia on PA; shifted test reversed"))
    return paths


def _shift_plot(shift: dict[str, Any], path: Path, shifted_label: str, title: str) -> Path:
    """In-distribution against shifted bars per mode: AUC, macro F1, hallucination."""
    from benchmarks.plots import plt, save_figure

    modes = list(shift)
    metrics = ("auc", "macro_f1", "hallucination_rate")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.0 * len(metrics), 3.6), squeeze=False)
    x = np.arange(len(modes))
    for ax, metric in zip(axes[0], metrics, strict=True):
        a = [shift[m]["in_distribution"][metric] for m in modes]
        b = [shift[m]["shifted"][metric] for m in modes]
        ax.bar(x - 0.2, a, 0.4, label="in-distribution", color="#9ecae1")
        ax.bar(x + 0.2, b, 0.4, label=shifted_label, color="#de2d26")
        for i in range(len(modes)):
            ax.text(x[i] - 0.2, a[i], f"{a[i]:.2f}", ha="center", va="bottom", fontsize=7)
            ax.text(x[i] + 0.2, b[i], f"{b[i]:.2f}", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(x, modes)
        ax.set_ylim(0, 1.08)
        ax.set_title(metric)
    axes[0][0].legend(fontsize=7, loc="lower left")
    return save_figure(fig, path, title, fontsize=9)
