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
``mcrag:ValidationResult`` per claim; status moves proposed -> validated / refuted / notTestable,
while a curator's accepted or rejected stays as it is. Everything of one run is one SPARQL update.
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
import pyoxigraph as ox

from kg.curation import verdict_uncertainty
from kg.namespaces import ID, MCRAG, NAMED_GRAPHS
from kg.store.base import Store
from reasoning.data import (
    ColumnMap,
    ConceptRef,
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
from reasoning.graph import (
    EXPECTED_SIGN,
    STRUCTURAL_STATUSES,
    ClaimEdge,
    causal_digraph,
    concept_synonyms,
    read_claims,
    variable_names,
)
from reasoning.identify import Identification, identify
from reasoning.model import NotTestable, build_model
from reasoning.refute import DEFAULT_REFUTERS, DEFAULT_SIMULATIONS, REFUTERS, RefutationOutcome, refute

log = logging.getLogger(__name__)

CURATED_STATUSES = ("accepted", "rejected")
"""A curator's decision; validation attaches its result but leaves the status alone."""

AGENT_LABEL = "mcrag validate"

MIN_EXPECTED_CELL = 5

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_PROV = "http://www.w3.org/ns/prov#"
_DCT = "http://purl.org/dc/terms/"
_XSD = "http://www.w3.org/2001/XMLSchema#"


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
    model_statuses: tuple[str, ...] = STRUCTURAL_STATUSES
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
    result: str
    """IRI of the ``mcrag:ValidationResult`` written for this claim."""


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


def validate_claims(claims: Sequence[ClaimEdge], data: DataTable | pd.DataFrame | str | Path, *,
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
        new_status = c.status if c.status in CURATED_STATUSES else verdict
        key = f"{c.subject}|{c.object}|{EXPECTED_SIGN.get(c.relation, 1)}|{c.polarity}"
        res_iri = str(ID[f"validation/{run_id}/{hashlib.sha1(key.encode()).hexdigest()[:16]}"])
        verdicts.append(ClaimVerdict(c.claim, c.subject, c.object, c.relation, c.polarity, verdict, reason, unc,
                                     c.status, new_status, res_iri))
    return ValidationRun(activity, table.label, table.rows, settings, started, datetime.now(UTC),
                         tuple(analyses[p] for p in pairs), tuple(verdicts), result, dict(colmap.by_iri))


def _std(est: EffectEstimate, value: float) -> float:
    return value * (est.standardized / est.value) if est.value else value


# ---------------------------------------------------------------------------------------- writing
def _nn(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _dec(value: float) -> ox.Literal:
    return ox.Literal(f"{value:.6f}", datatype=_nn(_XSD + "decimal"))


def _str(value: str) -> ox.Literal:
    return ox.Literal(value)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("mcrag")
    except Exception:
        return "0"


def validation_triples(run: ValidationRun) -> list[ox.Triple]:
    """The run's activity, agent, data set, results and refutation results as RDF triples."""
    a = _nn(run.activity)
    agent = _nn(str(ID[f"agent/mcrag_validate/{_version().replace('.', '_')}"]))
    digest = run.dataset.split("sha256:", 1)[-1].split(",", 1)[0]
    ds = _nn(str(ID[f"dataset/{digest}"]))
    rdf_type, label = _nn(_RDF + "type"), _nn(_RDFS + "label")
    t: list[ox.Triple] = [
        ox.Triple(a, rdf_type, _nn(str(MCRAG.ValidationActivity))),
        ox.Triple(a, rdf_type, _nn(_PROV + "Activity")),
        ox.Triple(a, label, _str(f"validation run against {run.dataset}")),
        ox.Triple(a, _nn(_PROV + "startedAtTime"), ox.Literal(run.started.isoformat(), datatype=_nn(_XSD + "dateTime"))),
        ox.Triple(a, _nn(_PROV + "endedAtTime"), ox.Literal(run.ended.isoformat(), datatype=_nn(_XSD + "dateTime"))),
        ox.Triple(a, _nn(_PROV + "wasAssociatedWith"), agent),
        ox.Triple(a, _nn(_PROV + "used"), ds),
        ox.Triple(a, _nn(_RDFS + "comment"), _str(_settings_text(run))),
        ox.Triple(agent, rdf_type, _nn(_PROV + "SoftwareAgent")),
        ox.Triple(agent, label, _str(AGENT_LABEL)),
        ox.Triple(agent, _nn(_DCT + "hasVersion"), _str(_version())),
        ox.Triple(ds, rdf_type, _nn(_PROV + "Entity")),
        ox.Triple(ds, _nn(_DCT + "title"), _str(run.dataset.split(" (sha256:", 1)[0])),
        ox.Triple(ds, _nn(_DCT + "identifier"), _str(f"sha256:{digest}")),
    ]
    edges = {(e.cause, e.effect): e for e in run.edges}
    done: set[str] = set()
    for v in run.claims:
        r = _nn(v.result)
        t.append(ox.Triple(_nn(v.claim), _nn(str(MCRAG.hasValidation)), r))
        t.append(ox.Triple(a, _nn(_PROV + "used"), _nn(v.claim)))
        if v.result in done:
            continue
        done.add(v.result)
        e = edges[(v.cause, v.effect)]
        t += [
            ox.Triple(r, rdf_type, _nn(str(MCRAG.ValidationResult))),
            ox.Triple(r, _nn(_PROV + "wasGeneratedBy"), a),
            ox.Triple(r, _nn(_PROV + "wasDerivedFrom"), ds),
            ox.Triple(r, _nn(str(MCRAG.verdict)), _nn(str(MCRAG[v.verdict]))),
            ox.Triple(r, _nn(str(MCRAG.reason)), _str(v.reason)),
            ox.Triple(r, _nn(str(MCRAG.dataset)), _str(run.dataset)),
            ox.Triple(r, label, _str(f"{e.cause_label} -> {e.effect_label}: {v.verdict}")),
        ]
        if e.discovery is not None:
            t.append(ox.Triple(r, _nn(str(MCRAG.discovery)), _str(e.discovery.verdict)))
        elif run.settings.discovery == "none":
            t.append(ox.Triple(r, _nn(str(MCRAG.discovery)), _str("notTestable")))
        if e.identification is not None:
            t.append(ox.Triple(r, _nn(str(MCRAG.estimand)), _str(e.identification.estimand)))
        est = e.estimate
        if est is not None:
            t.append(ox.Triple(r, _nn(str(MCRAG.estimator)), _str(est.estimator)))
            t.append(ox.Triple(r, _nn(str(MCRAG.sampleSize)), ox.Literal(str(est.samples), datatype=_nn(_XSD + "integer"))))
            for prop, value in (("effect", est.value), ("ciLow", est.ci_low), ("ciHigh", est.ci_high)):
                if math.isfinite(value):
                    t.append(ox.Triple(r, _nn(str(MCRAG[prop])), _dec(value)))
        for o in e.refutations:
            rr = _nn(f"{v.result}/refuter/{o.refuter}")
            t += [ox.Triple(r, _nn(str(MCRAG.hasRefutation)), rr),
                  ox.Triple(rr, rdf_type, _nn(str(MCRAG.RefutationResult))),
                  ox.Triple(rr, _nn(str(MCRAG.refuter)), _str(o.refuter))]
            if o.passed is not None:
                t.append(ox.Triple(rr, _nn(str(MCRAG.passed)),
                                   ox.Literal("true" if o.passed else "false", datatype=_nn(_XSD + "boolean"))))
            if o.p_value is not None:
                t.append(ox.Triple(rr, _nn(str(MCRAG.pValue)), _dec(o.p_value)))
            if o.new_effect is not None:
                t.append(ox.Triple(rr, _nn(str(MCRAG.newEffect)), _dec(o.new_effect)))
            if o.note:
                t.append(ox.Triple(rr, _nn(_RDFS + "comment"), _str(o.note)))
    return t


def _settings_text(run: ValidationRun) -> str:
    s = run.settings
    disc = "none" if s.discovery == "none" else (
        f"{s.discovery} ({run.discovery.test if run.discovery else s.test}, alpha={s.alpha:g}, "
        f"background knowledge: {run.discovery.background if run.discovery else 'none'})")
    return (f"discovery={disc}; refuters={', '.join(s.refuters) or 'none'} x {s.simulations} simulations; "
            f"margin={s.margin:g}; min_samples={s.min_samples}; min_group={s.min_group}; "
            f"confidence={s.confidence_level:g}; seed={s.seed}")


def validation_update(run: ValidationRun, graph: str = NAMED_GRAPHS["validation"]) -> str:
    """One SPARQL update that moves statuses, bumps versions and inserts the run's results."""
    body = (ox.serialize(validation_triples(run), format=ox.RdfFormat.N_TRIPLES) or b"").decode("utf-8")
    values = " ".join(f"(<{v.claim}> <{MCRAG[v.new_status]}>)" for v in run.claims)
    status_op = ""
    if values:
        status_op = f"""
DELETE {{ GRAPH ?g {{ ?c <{MCRAG.status}> ?old . ?c <{MCRAG.version}> ?v }} }}
INSERT {{ GRAPH ?g {{ ?c <{MCRAG.status}> ?new . ?c <{MCRAG.version}> ?v2 }} }}
WHERE {{
  VALUES (?c ?new) {{ {values} }}
  GRAPH ?g {{ ?c a <{MCRAG.CausalClaim}> }}
  OPTIONAL {{ GRAPH ?g {{ ?c <{MCRAG.status}> ?old }} }}
  OPTIONAL {{ GRAPH ?g {{ ?c <{MCRAG.version}> ?v }} }}
  BIND (COALESCE(?v, 0) + 1 AS ?v2)
}} ;"""
    return f"{status_op}\nINSERT DATA {{ GRAPH <{graph}> {{\n{body}}} }}"


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
            from kg.curation import UnknownClaimError

            raise UnknownClaimError(f"no causal claim {sorted(missing)[0]} in the store")
    concepts = {c.subject for c in all_claims} | {c.object for c in all_claims}
    run = _validate_with_structure(chosen, all_claims, table, settings, concept_synonyms(store, concepts))
    if write and run.claims:
        store.update(validation_update(run))
        run = replace(run, written=True)
    return run


def _validate_with_structure(chosen: Sequence[ClaimEdge], structure_claims: Sequence[ClaimEdge], table: DataTable,
                             settings: ValidationSettings, synonyms: Mapping[str, Sequence[str]]) -> ValidationRun:
    """Validate ``chosen`` while building the causal structure from all claims."""
    if len(chosen) == len(structure_claims):
        return validate_claims(chosen, table, settings=settings, synonyms=synonyms)
    chosen_ids = {c.claim for c in chosen}
    run = validate_claims(structure_claims, table, settings=settings, synonyms=synonyms)
    keep_pairs = {(c.subject, c.object) for c in chosen}
    return replace(run, claims=tuple(v for v in run.claims if v.claim in chosen_ids),
                   edges=tuple(e for e in run.edges if (e.cause, e.effect) in keep_pairs))


VALIDATED_EDGES_QUERY = """SELECT DISTINCT ?cause ?effect ?verdict ?status ?effectSize ?ciLow ?ciHigh ?n ?estimand ?dataset ?ended
WHERE {
  ?claim a mcrag:CausalClaim ; rdf:subject ?s ; rdf:object ?o ; mcrag:status ?status ; mcrag:hasValidation ?r .
  ?r mcrag:verdict ?verdict ; mcrag:dataset ?dataset ; prov:wasGeneratedBy ?run .
  ?run prov:endedAtTime ?ended .
  OPTIONAL { ?r mcrag:effect ?effectSize ; mcrag:ciLow ?ciLow ; mcrag:ciHigh ?ciHigh ; mcrag:sampleSize ?n }
  OPTIONAL { ?r mcrag:estimand ?estimand }
  ?s skos:prefLabel ?cause . ?o skos:prefLabel ?effect .
  FILTER NOT EXISTS { ?claim mcrag:hasValidation ?r2 . ?r2 prov:wasGeneratedBy ?run2 . ?run2 prov:endedAtTime ?t2 .
                      FILTER (?t2 > ?ended) }
  FILTER (?verdict IN (mcrag:validated, mcrag:refuted))
}
ORDER BY ?verdict DESC(?effectSize)"""
"""Latest verdict per edge, validated vs refuted, with effects (``mcrag kg query --file`` or ``Store.select``)."""


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
