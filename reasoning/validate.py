"""Validation of the graph's causal claims against a table of observations, and the verdicts written back.

Per edge (cause -> effect, over all claims that state it): causal discovery's view of the pair, the
model from the graph's ancestral subgraph, identification, a DoWhy estimate with its interval, and
DoWhy refuters. Per claim, a verdict:

* **validated** – the interval excludes zero in the direction the relation asserts and every refuter passes;
* **refuted** – the effect has the opposite sign, a refuter fails, or the interval lies inside the
  no-effect margin (a standardised effect below ``margin`` either way);
* **notTestable** – with the reason: no column, a constant column, too few samples, a cyclic
  subgraph, no identifiable estimand, or an interval too wide to decide.

A negated claim (X does *not* cause Y) is validated by an interval inside the margin and refuted by
a clear effect. Discovery does not decide the verdict (a claim of causation need not be a direct
edge, and PC's orientations are often undetermined) but a disagreement raises the claim's place in
the review queue. Results go to the ``validation`` graph as a ``mcrag:ValidationActivity`` with one
``mcrag:ValidationResult`` per claim, written by ``kg.validations``; status moves proposed ->
validated / refuted / notTestable as an audited act that ``undo`` reverts, while a curator's accepted
or rejected stays as it is. Everything of one run is one SPARQL update.

Data that do not measure a claim (no usable column for its cause or its effect) say nothing about
it: the claim keeps its status, version and earlier verdicts, and nothing is written for it. Data
that measure no claim at all are refused (:class:`~reasoning.data.DataError`) and change nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from kg.claim_reader import concept_synonyms, read_claims
from kg.claims import ClaimRecord
from kg.errors import UnknownClaimError
from kg.namespaces import ID
from kg.statuses import CURATOR_DECISIONS, LIVE_STATUSES
from kg.store.base import Store
from kg.validations import RefutationRecord, ValidationRecord, ValidationRunRecord, VerdictMove, write_run
from reasoning.data import (
    ColumnMap,
    ConceptRef,
    DataError,
    DataTable,
    load_table,
    map_columns,
    numeric_values,
    variable_kind,
)
from reasoning.discovery import (
    BackgroundKnowledgeSpec,
    CITestCache,
    DiscoveryResult,
    EdgeComparison,
    compare_with_graph,
    discover,
)
from reasoning.estimate import EffectEstimate, estimate_effect
from reasoning.graph import EXPECTED_SIGN, causal_digraph, variable_names
from reasoning.identify import Identification, identify
from reasoning.model import NotTestable, build_model
from reasoning.refute import DEFAULT_REFUTERS, DEFAULT_SIMULATIONS, REFUTERS, RefutationOutcome, refute
from reasoning.uncertainty import verdict_uncertainty

log = logging.getLogger(__name__)

MIN_EXPECTED_CELL = 5


@dataclass(frozen=True)
class ValidationSettings:
    """How a validation run tests the edges; every field has a CLI option of the same name."""

    discovery: str = "pc"
    """``pc``, ``fci``, ``ges`` or ``none``."""
    test: str = "auto"
    alpha: float = 0.05
    background: bool = True
    """Use the graph's accepted edges as required / forbidden background knowledge in discovery."""
    refuters: tuple[str, ...] = DEFAULT_REFUTERS
    simulations: int = DEFAULT_SIMULATIONS
    min_samples: int = 50
    min_group: int = 10
    """Fewest rows per arm of a binary treatment, and per value of a binary outcome."""
    margin: float = 0.05
    """Standardised effect (risk difference for binary variables) below which an effect counts as none."""
    confidence_level: float = 0.95
    jobs: int = 1
    """Worker processes for estimation and refutation (edges are independent)."""
    seed: int = 0
    model_statuses: tuple[str, ...] = LIVE_STATUSES
    """Claims with these statuses form the causal structure the models are built from."""
    identification: tuple[str, ...] = ("backdoor", "frontdoor", "iv")


@dataclass(frozen=True)
class EdgeAnalysis:
    """Everything learned about one cause -> effect pair."""

    cause: str
    effect: str
    cause_label: str
    effect_label: str
    discovery: EdgeComparison | None = None
    identification: Identification | None = None
    estimate: EffectEstimate | None = None
    refutations: tuple[RefutationOutcome, ...] = ()
    not_testable: str | None = None
    seconds: float = 0.0
    """Wall-clock seconds of this edge's estimation and refutation."""
    cpu_seconds: float = 0.0
    model_note: str = ""
    """What the model had to assume or leave out (e.g. proposed edges dropped to break a cycle)."""
    measured: bool = True
    """False when the data have no usable column for the cause or the effect: the run says nothing here."""


@dataclass(frozen=True)
class ClaimVerdict:
    """The verdict for one claim, and the status it moves to."""

    claim: str
    cause: str
    effect: str
    relation: str
    polarity: str
    verdict: str
    reason: str
    uncertainty: float
    previous_status: str
    new_status: str
    result: str | None
    """IRI of the ``mcrag:ValidationResult`` written for this claim; None when the data do not measure it."""


@dataclass(frozen=True)
class ValidationRun:
    """One run: the data, the discovery, each edge's analysis and each claim's verdict."""

    activity: str
    dataset: str
    rows: int
    settings: ValidationSettings
    started: datetime
    ended: datetime
    edges: tuple[EdgeAnalysis, ...]
    claims: tuple[ClaimVerdict, ...]
    discovery: DiscoveryResult | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    """Concept IRI -> data column used for it."""
    written: bool = False

    @property
    def seconds(self) -> float:
        return (self.ended - self.started).total_seconds()

    def counts(self) -> dict[str, int]:
        out = {"validated": 0, "refuted": 0, "notTestable": 0}
        for c in self.claims:
            out[c.verdict] = out.get(c.verdict, 0) + 1
        return out

    def edge(self, cause: str, effect: str) -> EdgeAnalysis | None:
        for e in self.edges:
            if (e.cause, e.effect) == (cause, effect):
                return e
        return None


# ---------------------------------------------------------------------------------------- analysis
def _sample_problem(frame: pd.DataFrame, t: str, y: str, labels: Mapping[str, str], settings: ValidationSettings,
                    kinds: Mapping[str, str]) -> str | None:
    n = len(frame)
    if n < settings.min_samples:
        return f"too few samples: {n} complete rows, at least {settings.min_samples} needed"
    for v, role in ((t, "treatment"), (y, "outcome")):
        if kinds.get(v) == "binary":
            ones = int((frame[v] == 1).sum())
            small = min(ones, n - ones)
            if small < settings.min_group:
                which = "present" if ones <= n - ones else "absent"
                return (f"too few samples: {labels.get(v, v)} ({role}) is {which} in only {small} of {n} rows, "
                        f"at least {settings.min_group} needed")
    if kinds.get(t) == "binary" and kinds.get(y) == "binary":
        # A cell of the 2x2 table that is both rare under independence and rare in fact carries no
        # information, and an arm with no variance makes a regression interval collapse to a point.
        # A cell far above its expectation (10 co-occurrences where 0.3 were expected) is evidence.
        n1, p = float((frame[t] == 1).sum()), float((frame[y] == 1).mean())
        for tv, yv, exp in ((1, 1, n1 * p), (1, 0, n1 * (1 - p)), (0, 1, (n - n1) * p), (0, 0, (n - n1) * (1 - p))):
            obs = int(((frame[t] == tv) & (frame[y] == yv)).sum())
            if max(obs, exp) < MIN_EXPECTED_CELL:
                what = (f"{labels.get(t, t)} {'present' if tv else 'absent'} with {labels.get(y, y)} "
                        f"{'present' if yv else 'absent'}")
                return (f"too few samples: {what} in {obs} of {n} rows ({exp:.1f} expected if unrelated; "
                        f"at least {MIN_EXPECTED_CELL} needed to tell)")
    return None


TaskResult = tuple[EffectEstimate | None, tuple[RefutationOutcome, ...], str | None, float, float]


def _estimate_and_refute(frame: pd.DataFrame, identification: Identification, settings: ValidationSettings,
                         seed: int) -> TaskResult:
    """One edge's estimation and refutation, with its wall and CPU seconds (runs in a worker when ``jobs`` > 1)."""
    import warnings

    from threadpoolctl import threadpool_limits

    warnings.filterwarnings("ignore")
    wall, cpu = time.perf_counter(), time.process_time()

    def done(est: EffectEstimate | None, outcomes: tuple[RefutationOutcome, ...], err: str | None) -> TaskResult:
        return est, outcomes, err, time.perf_counter() - wall, time.process_time() - cpu

    # Each fit is a small matrix product; multi-threaded BLAS only adds hand-offs (and spins when the
    # cores are busy), so one thread per worker, parallelism across edges.
    with threadpool_limits(limits=1):
        try:
            fitted = estimate_effect(frame, identification, confidence_level=settings.confidence_level)
        except NotTestable as err:
            return done(None, (), str(err))
        except Exception as err:
            return done(None, (), f"estimation failed: {type(err).__name__}: {err}")
        res = fitted.result
        if not (math.isfinite(res.value) and math.isfinite(res.ci_low)):
            return done(res, (), "estimation gave no finite effect or interval (collinear or degenerate data)")
        if res.scale == "risk difference" and abs(res.value) > 1:
            return done(res, (), f"the {identification.kind} estimate {res.value:+.3f} is not a possible risk "
                                 "difference: the estimand's assumptions do not hold for these data")
        outcomes = refute(fitted, refuters=settings.refuters, num_simulations=settings.simulations, seed=seed) \
            if settings.refuters else ()
    return done(fitted.result, outcomes, None)


def _task(args: tuple[pd.DataFrame, Identification, ValidationSettings, int]) -> TaskResult:
    return _estimate_and_refute(*args)


def _run_tasks(tasks: list[tuple[pd.DataFrame, Identification, int]], settings: ValidationSettings) -> list[TaskResult]:
    """Estimate and refute every edge; across processes when ``jobs`` > 1 and there is enough work.

    Workers are forked (where the platform allows) after DoWhy is imported here, so they start in
    milliseconds instead of each importing DoWhy, SymPy and matplotlib again (seconds per worker).
    """
    jobs = settings.jobs if settings.jobs > 0 else (os.cpu_count() or 1)
    if jobs <= 1 or len(tasks) < 16:  # below this, starting workers costs more than it saves
        return [_estimate_and_refute(f, i, settings, s) for f, i, s in tasks]
    import multiprocessing

    import dowhy.causal_estimators.linear_regression_estimator  # noqa: F401  (imported once, inherited by forks)
    import dowhy.causal_refuters  # noqa: F401

    from reasoning.estimate import _ols_estimator_class

    _ols_estimator_class()
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(min(jobs, len(tasks))) as pool:
        return list(pool.imap(_task, [(f, i, settings, s) for f, i, s in tasks], chunksize=1))


def _verdict(edge: EdgeAnalysis, relation: str, polarity: str, settings: ValidationSettings) -> tuple[str, str]:
    """(verdict, reason) for one claim given its edge's analysis."""
    if edge.not_testable:
        return "notTestable", edge.not_testable
    est = edge.estimate
    assert est is not None
    sign = EXPECTED_SIGN.get(relation, 1)
    ratio = est.standardized / est.value if est.value else 1.0
    lo_s, hi_s = sorted((est.ci_low * ratio, est.ci_high * ratio))
    pct = f"{settings.confidence_level:.0%}"
    interval = f"effect {est.value:+.3f} ({est.scale}), {pct} CI [{est.ci_low:+.3f}, {est.ci_high:+.3f}], n={est.samples}"
    failed = [o for o in edge.refutations if o.passed is False]
    within_margin = -settings.margin < lo_s and hi_s < settings.margin
    if polarity == "negative":
        if within_margin:
            return "validated", f"no effect, as claimed: {interval} lies within +/-{settings.margin:g}"
        if est.excludes_zero and abs(est.standardized) >= settings.margin:
            return "refuted", f"an effect exists although the claim denies it: {interval}"
        return "notTestable", f"inconclusive: {interval} is too wide to confirm or deny an effect"
    if est.excludes_zero and (est.value > 0) == (sign > 0):
        if failed:
            names = ", ".join(f"{o.refuter} (p={o.p_value:.3g})" for o in failed)
            return "refuted", f"{interval}, but the estimate fails {names}"
        survived = [o.refuter for o in edge.refutations if o.passed]
        tail = f"; survives {', '.join(survived)}" if survived else ""
        return "validated", f"{interval}{tail}"
    if est.excludes_zero:
        expected = "raise" if sign > 0 else "lower"
        return "refuted", f"{interval}: the cause does not {expected} the effect as claimed (opposite sign)"
    if within_margin:
        return "refuted", f"no effect: {interval} lies within +/-{settings.margin:g}"
    return "notTestable", (f"inconclusive (too few samples for this effect size): {interval} includes zero "
                           f"but also effects beyond +/-{settings.margin:g}")


def validate_claims(claims: Sequence[ClaimRecord], data: DataTable | pd.DataFrame | str | Path, *,
                    settings: ValidationSettings | None = None, run_id: str | None = None,
                    synonyms: Mapping[str, Sequence[str]] | None = None) -> ValidationRun:
    """Validate claims against a table without touching any store (see :func:`validate_store`).

    ``synonyms`` (concept IRI -> alternative labels) let columns named by a synonym map to a concept.
    """
    settings = settings or ValidationSettings()
    unknown = [r for r in settings.refuters if r not in REFUTERS]
    if unknown:
        raise ValueError(f"unknown refuter(s) {', '.join(unknown)}; use {', '.join(REFUTERS)}")
    if settings.discovery not in ("pc", "fci", "ges", "none"):
        raise ValueError(f"unknown discovery method {settings.discovery!r}; use pc, fci, ges or none")
    table = load_table(data)
    started = datetime.now(UTC)
    run_id = run_id or f"{started.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"
    activity = str(ID[f"activity/validate/{run_id}"])

    labels: dict[str, str] = {}
    for c in claims:
        labels.setdefault(c.subject, c.subject_label)
        labels.setdefault(c.object, c.object_label)
        if c.mediator:
            labels.setdefault(c.mediator, "")
    names = variable_names(labels)
    syn = synonyms or {}
    colmap: ColumnMap = map_columns(table.frame.columns,
                                    [ConceptRef(i, lab, tuple(syn.get(i, ()))) for i, lab in labels.items()])
    # analysis frame: one numeric column per mapped concept, named by its variable
    frame = pd.DataFrame({names[i]: numeric_values(table.frame[col]) if pd.api.types.is_numeric_dtype(
        table.frame[col]) or table.frame[col].dtype == bool else table.frame[col] for i, col in colmap.by_iri.items()})
    kinds = {v: variable_kind(frame[v]) for v in frame.columns}
    var_labels = {names[i]: (labels[i] or names[i]) for i in labels}
    usable = {v for v, k in kinds.items() if k in ("binary", "discrete", "continuous")}

    structure = nx.relabel_nodes(causal_digraph(claims, statuses=settings.model_statuses), names)

    # discovery over every usable variable of the graph, with accepted edges as knowledge
    result: DiscoveryResult | None = None
    comparisons: dict[tuple[str, str], EdgeComparison] = {}
    pairs = sorted({(c.subject, c.object) for c in claims if c.subject != c.object})
    if settings.discovery != "none":
        accepted = [(names[c.subject], names[c.object]) for c in claims
                    if c.status == "accepted" and c.polarity == "positive"] if settings.background else []
        spec = BackgroundKnowledgeSpec.from_edges(accepted, sorted(usable))
        tests = CITestCache()
        result = discover(frame[sorted(frame.columns)], method=settings.discovery, test=settings.test,
                          alpha=settings.alpha, background=spec, cache=tests)
        comparisons = compare_with_graph(result, [(names[a], names[b]) for a, b in pairs], var_labels)
        known = [p for p in comparisons if p in set(spec.required)]
        if known:
            # an accepted edge was forced into the search, so the search cannot speak for it: judge those
            # edges by the same search without background knowledge
            bare = discover(frame[sorted(frame.columns)], method=settings.discovery, test=settings.test,
                            alpha=settings.alpha, cache=tests)
            for pair, cmp in compare_with_graph(bare, known, var_labels).items():
                comparisons[pair] = replace(cmp, reason=f"{cmp.reason} (searched without background knowledge, "
                                                        "as the edge itself is accepted)")

    mediators: dict[tuple[str, str], set[str | None]] = defaultdict(set)
    for c in claims:
        mediators[(c.subject, c.object)].add(c.mediator)

    analyses: dict[tuple[str, str], EdgeAnalysis] = {}
    tasks: list[tuple[pd.DataFrame, Identification, int]] = []
    task_pairs: list[tuple[str, str]] = []
    for k, (s, o) in enumerate(pairs):
        t, y = names[s], names[o]
        base = EdgeAnalysis(s, o, labels[s] or t, labels[o] or y, discovery=comparisons.get((t, y)))
        problem = None
        for v, iri in ((t, s), (y, o)):
            if iri not in colmap.by_iri:
                problem = f"no data column for {labels[iri] or v}"
            elif v not in usable:
                problem = f"column {colmap.by_iri[iri]!r} for {labels[iri] or v} is {kinds[v]}"
            if problem:
                base = replace(base, measured=False)
                break
        ident = None
        if problem is None:
            try:
                meds = mediators[(s, o)]
                med = next(iter(meds)) if len(meds) == 1 else None
                model = build_model(structure, t, y, usable, mediator=names.get(med) if med else None)
                ident = identify(model, methods=settings.identification)
                if not ident.identified:
                    problem = f"not identifiable: {ident.reason}"
                if model.dropped:
                    left_out = ", ".join(f"{var_labels.get(u, u)} -> {var_labels.get(v, v)}" for u, v in model.dropped)
                    base = replace(base, model_note=f"the model leaves out proposed edge(s) {left_out}, "
                                                    "which closed a cycle")
            except NotTestable as err:
                problem = str(err)
        if problem is None and ident is not None:
            used = [t, y, *ident.adjustment_set, *ident.frontdoor_set, *ident.instruments]
            sub = frame[list(dict.fromkeys(used))].dropna()
            problem = _sample_problem(sub, t, y, var_labels, settings, kinds)
            if problem is None:
                tasks.append((sub.reset_index(drop=True), ident, settings.seed + k))
                task_pairs.append((s, o))
        analyses[(s, o)] = replace(base, identification=ident, not_testable=problem)

    t0 = time.perf_counter()
    for (s, o), (est, refs, problem, wall, cpu) in zip(task_pairs, _run_tasks(tasks, settings), strict=True):
        analyses[(s, o)] = replace(analyses[(s, o)], estimate=est, refutations=refs, not_testable=problem,
                                   seconds=round(wall, 4), cpu_seconds=round(cpu, 4))
    log.info("estimated %d edges in %.1f s", len(tasks), time.perf_counter() - t0)

    verdicts = []
    for c in claims:
        if c.subject == c.object:
            continue
        edge = analyses[(c.subject, c.object)]
        verdict, reason = _verdict(edge, c.relation, c.polarity, settings)
        if edge.model_note:
            reason = f"{reason}; {edge.model_note}"
        if edge.discovery is not None:
            reason = f"{reason}; discovery ({settings.discovery}): {edge.discovery.verdict}, {edge.discovery.reason}"
        est = edge.estimate
        unc = verdict_uncertainty(
            verdict, discovery=edge.discovery.verdict if edge.discovery else None,
            effect=est.standardized if est and verdict != "notTestable" else None,
            ci_low=_std(est, est.ci_low) if est else None, ci_high=_std(est, est.ci_high) if est else None,
            refuter_passed=[o.passed for o in edge.refutations], refuter_p_values=[o.p_value for o in edge.refutations],
            margin=settings.margin, reason=reason)
        if not edge.measured:  # the data say nothing about this claim: it stays as it is
            verdicts.append(ClaimVerdict(c.claim, c.subject, c.object, c.relation, c.polarity, verdict, reason, unc,
                                         c.status, c.status, None))
            continue
        new_status = c.status if c.status in CURATOR_DECISIONS else verdict
        key = f"{c.subject}|{c.object}|{EXPECTED_SIGN.get(c.relation, 1)}|{c.polarity}"
        res_iri = str(ID[f"validation/{run_id}/{hashlib.sha1(key.encode()).hexdigest()[:16]}"])
        verdicts.append(ClaimVerdict(c.claim, c.subject, c.object, c.relation, c.polarity, verdict, reason, unc,
                                     c.status, new_status, res_iri))
    return ValidationRun(activity, table.label, table.rows, settings, started, datetime.now(UTC),
                         tuple(analyses[p] for p in pairs), tuple(verdicts), result, dict(colmap.by_iri))


def _std(est: EffectEstimate, value: float) -> float:
    return value * (est.standardized / est.value) if est.value else value


# ---------------------------------------------------------------------------------------- writing
def _version() -> str:
    try:
        from importlib.metadata import version

        return version("mcrag")
    except Exception:
        return "0"


def run_record(run: ValidationRun, versions: Mapping[str, int]) -> ValidationRunRecord:
    """What ``kg.validations`` writes for a run: its results, and each measured claim's status move.

    ``versions`` are the claim versions the run read (a claim changed since is left as it is).
    """
    edges = {(e.cause, e.effect): e for e in run.edges}
    results: dict[str, ValidationRecord] = {}
    for v in run.claims:
        if v.result is None or v.result in results:
            continue
        e = edges[(v.cause, v.effect)]
        est = e.estimate
        discovery = e.discovery.verdict if e.discovery is not None else (
            "notTestable" if run.settings.discovery == "none" else None)
        results[v.result] = ValidationRecord(
            result=v.result, activity=run.activity, time=run.ended, verdict=v.verdict, discovery=discovery,
            estimand=e.identification.estimand if e.identification is not None else None,
            estimator=est.estimator if est is not None else None,
            effect=est.value if est is not None else None, ci_low=est.ci_low if est is not None else None,
            ci_high=est.ci_high if est is not None else None, sample_size=est.samples if est is not None else None,
            dataset=run.dataset, reason=v.reason, uncertainty=v.uncertainty,
            refutations=tuple(RefutationRecord(o.refuter, o.passed, o.p_value, o.new_effect, o.note or None)
                              for o in e.refutations),
            label=f"{e.cause_label} -> {e.effect_label}: {v.verdict}")
    moves = tuple(VerdictMove(v.claim, v.result, v.previous_status, v.new_status, versions.get(v.claim, 1), v.reason)
                  for v in run.claims if v.result is not None)
    return ValidationRunRecord(run.activity, run.dataset, run.started, run.ended, _settings_text(run), _version(),
                               tuple(results.values()), moves)


def _settings_text(run: ValidationRun) -> str:
    s = run.settings
    disc = "none" if s.discovery == "none" else (
        f"{s.discovery} ({run.discovery.test if run.discovery else s.test}, alpha={s.alpha:g}, "
        f"background knowledge: {run.discovery.background if run.discovery else 'none'})")
    return (f"discovery={disc}; refuters={', '.join(s.refuters) or 'none'} x {s.simulations} simulations; "
            f"margin={s.margin:g}; min_samples={s.min_samples}; min_group={s.min_group}; "
            f"confidence={s.confidence_level:g}; seed={s.seed}")


def validate_store(store: Store, data: str | Path | pd.DataFrame | DataTable, *,
                   graphs: Sequence[str] | None = None, claims: Iterable[str] | None = None,
                   settings: ValidationSettings | None = None, split: str | None = None,
                   write: bool = True, **overrides: Any) -> ValidationRun:
    """Validate the store's claims (optionally of some graphs, or some claim IRIs) and write the verdicts.

    The models are always built from every claim in the store; ``graphs`` and ``claims`` only choose
    which claims are tested.

    ``data`` is a CSV / Parquet path or a frame; ``overrides`` replace fields of ``settings``
    (``validate_store(store, "labels.csv", discovery="none", jobs=2)``). With ``write=False`` nothing
    is written and the run is only returned.
    """
    settings = replace(settings or ValidationSettings(), **overrides)
    table = load_table(data, split=split)
    all_claims = read_claims(store)  # the causal structure always comes from the whole graph
    chosen = all_claims
    if graphs:
        wanted_graphs = set(graphs)
        chosen = [c for c in chosen if c.graph in wanted_graphs]
    if claims is not None:
        wanted = set(claims)
        chosen = [c for c in chosen if c.claim in wanted]
        missing = wanted - {c.claim for c in chosen}
        if missing:
            raise UnknownClaimError(f"no causal claim {sorted(missing)[0]} in the store")
    concepts = {c.subject for c in all_claims} | {c.object for c in all_claims}
    run = _validate_with_structure(chosen, all_claims, table, settings, concept_synonyms(store, concepts))
    if run.claims and all(v.result is None for v in run.claims):
        raise DataError(f"{table.name}: no column binds to the cause and the effect of any of the {len(run.claims)} "
                        f"claim(s) tested ({table.rows} rows; columns {_columns(table)}); nothing was changed")
    if write and run.claims:
        write_run(store, run_record(run, {c.claim: c.version for c in all_claims}))
        run = replace(run, written=True)
    return run


def _columns(table: DataTable, shown: int = 8) -> str:
    cols = [str(c) for c in table.frame.columns]
    return ", ".join(cols[:shown]) + (f" and {len(cols) - shown} more" if len(cols) > shown else "") if cols else "none"


def _validate_with_structure(chosen: Sequence[ClaimRecord], structure_claims: Sequence[ClaimRecord], table: DataTable,
                             settings: ValidationSettings, synonyms: Mapping[str, Sequence[str]]) -> ValidationRun:
    """Validate ``chosen`` while building the causal structure from all claims."""
    if len(chosen) == len(structure_claims):
        return validate_claims(chosen, table, settings=settings, synonyms=synonyms)
    chosen_ids = {c.claim for c in chosen}
    run = validate_claims(structure_claims, table, settings=settings, synonyms=synonyms)
    keep_pairs = {(c.subject, c.object) for c in chosen}
    return replace(run, claims=tuple(v for v in run.claims if v.claim in chosen_ids),
                   edges=tuple(e for e in run.edges if (e.cause, e.effect) in keep_pairs))


def run_summary(run: ValidationRun) -> dict[str, Any]:
    """A JSON-ready summary of a run: settings, discovery, per-edge analysis and per-claim verdicts."""
    from dataclasses import asdict

    def edge(e: EdgeAnalysis) -> dict[str, Any]:
        return {
            "cause": e.cause, "effect": e.effect, "cause_label": e.cause_label, "effect_label": e.effect_label,
            "discovery": asdict(e.discovery) if e.discovery else None,
            "identification": (asdict(e.identification) | {"estimand": e.identification.estimand})
            if e.identification else None,
            "estimate": asdict(e.estimate) if e.estimate else None,
            "refutations": [asdict(o) for o in e.refutations], "not_testable": e.not_testable,
        }

    disc = run.discovery
    return {
        "activity": run.activity, "dataset": run.dataset, "rows": run.rows, "written": run.written,
        "started": run.started.isoformat(), "ended": run.ended.isoformat(), "seconds": round(run.seconds, 3),
        "settings": asdict(run.settings), "counts": run.counts(), "columns": dict(run.columns),
        "discovery": None if disc is None else {
            "method": disc.method, "test": disc.test, "alpha": disc.alpha, "background": disc.background,
            "samples": disc.samples, "seconds": round(disc.seconds, 3), "variables": list(disc.variables),
            "edges": [str(e) for e in disc.edges], "skipped": dict(disc.skipped)},
        "edges": [edge(e) for e in run.edges],
        "claims": [asdict(c) for c in run.claims],
    }
