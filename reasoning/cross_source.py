"""Cross-source validation of causal edges: one adjusted effect per source, then a verdict across sources.

The steps follow DoWhy's identify / estimate / refute, each with its own value object:

* **identify** (:class:`AdjustmentPlan`): the backdoor set the concept table's tiers imply for
  ``cause -> effect`` in one source: the reading's confounders (age, sex, view, device maker,
  labelling method) and every concept of an earlier tier than the cause that the source records,
  less the cause's and effect's own broader or narrower concepts (proxies of them, not confounders).
  Same-tier concepts are left out: without a graph they may as well be mediators;
* **estimate** (:class:`SourceEffect`): the adjusted risk difference (linear probability model,
  heteroskedasticity-robust HC1 interval), its n and its 2x2 support; below ``min_cell`` studies in
  any cell, :class:`NoEstimate` says so instead of reporting an effect from (near) zero co-occurrences;
* **refute** (:class:`CrossSourceVerdict`): the sources are environments, in the spirit of invariant
  causal prediction. ``validated`` needs the same sign with an interval excluding 0 in at least two
  sources that did not produce the claim and no source against; ``refuted`` needs two against and
  none for; one of each is ``mixed``; anything else is ``notTestable`` with the reason.

An edge and its reverse are never both validated: the direction is decided by the tiers, then by
causal discovery (pooled and per source, :mod:`reasoning.source_discovery`), then by invariance
(the causal direction's effect should vary less across sources than the anti-causal one's), and the
verdict says which decided. An association whose direction goes the other way is not validated.

Estimation is a single pass per edge: the covariate block and its Gram matrix are computed once per
source (:class:`SourceDesign`), so an edge costs a few matrix-vector products, and the HC1 variance
of the treatment coefficient needs only one more (``b' X' diag(e^2) X b`` with ``b`` the bread's
treatment row). :func:`dowhy_check` re-estimates an edge with DoWhy's estimator for comparison.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

from kg.concepts import ConceptTable
from reasoning.identify import Identification
from reasoning.source_frames import CONFOUNDER_GROUPS, SourceFrame, UncertainPolicy

if TYPE_CHECKING:
    from reasoning.source_discovery import DiscoverySummary

Verdict = Literal["validated", "refuted", "mixed", "notTestable"]
DirectionBasis = Literal["tiers", "discovery", "invariance", "undetermined"]
NoEstimateKind = Literal["no_column", "produced_claim", "insufficient_support", "degenerate"]


@dataclass(frozen=True)
class CrossSourceSettings:
    """How edges are estimated and judged; every figure a verdict depends on is here."""

    min_cell: int = 10
    """Fewest studies in each cell of the cause x effect 2x2 table for an effect to be reported."""
    min_sources: int = 2
    """Independent sources that must agree for ``validated`` (and disagree for ``refuted``)."""
    confidence: float = 0.95
    uncertain: UncertainPolicy = "exclude"
    """Uncertain labels of the cause and effect: left out (default), or read present / absent."""
    confounders: tuple[str, ...] = CONFOUNDER_GROUPS
    adjust_earlier_tiers: bool = True
    """Also adjust for every concept of an earlier tier than the cause."""
    invariance_alpha: float = 0.01
    """Cochran's Q test level: above it the per-source effects count as invariant."""
    min_confounder_rows: int = 30
    """An encoded confounder column (a view, a maker) is used only with this many rows on each side."""


# ------------------------------------------------------------------------------------- value objects
@dataclass(frozen=True)
class CandidateEdge:
    """An edge to test: cause -> effect, the sources that produced the claim (excluded), the sign claimed."""

    cause: str
    effect: str
    produced_by: frozenset[str] = frozenset()
    expected_sign: int = 1
    label: str = ""
    """Where the edge comes from (a claim IRI, ``starter``, ``proposed``)."""

    @property
    def pair(self) -> tuple[str, str]:
        return (self.cause, self.effect)


@dataclass(frozen=True)
class Support:
    """The cause x effect 2x2 table of the rows an estimate used."""

    n: int
    both: int
    cause_only: int
    effect_only: int
    neither: int

    @property
    def smallest_cell(self) -> int:
        return min(self.both, self.cause_only, self.effect_only, self.neither)


@dataclass(frozen=True)
class AdjustmentPlan:
    """Identification in one source: the backdoor set the tiers imply, and what was left out and why."""

    cause: str
    effect: str
    confounder_groups: tuple[str, ...]
    concepts: tuple[str, ...]
    columns: tuple[str, ...]
    """Encoded design columns adjusted for (``age``, ``view=AP``, ``pneumonia`` ...)."""
    left_out: tuple[str, ...] = ()

    def identification(self) -> Identification:
        """The same estimand as :class:`reasoning.identify.Identification` (and so as DoWhy's)."""
        return Identification(self.cause, self.effect, "backdoor", tuple(self.columns))

    @property
    def estimand(self) -> str:
        adjusted = ", ".join([*self.confounder_groups, *self.concepts]) or "nothing"
        return f"backdoor: E[{self.effect} | do({self.cause})], adjusted for {adjusted}"


@dataclass(frozen=True)
class SourceEffect:
    """An adjusted effect in one source."""

    source: str
    cause: str
    effect: str
    value: float
    ci_low: float
    ci_high: float
    std_error: float
    p_value: float
    n: int
    support: Support
    adjusted_for: tuple[str, ...]
    estimand: str
    estimator: str = "backdoor.linear_regression (risk difference, HC1)"

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0

    @property
    def sign(self) -> int:
        return 1 if self.value > 0 else -1 if self.value < 0 else 0


@dataclass(frozen=True)
class NoEstimate:
    """No effect reported for this source, and why."""

    source: str
    cause: str
    effect: str
    kind: NoEstimateKind
    reason: str
    support: Support | None = None


SourceResult = SourceEffect | NoEstimate


@dataclass(frozen=True)
class PooledEffect:
    """Inverse-variance pooled effect over sources, with Cochran's Q heterogeneity."""

    value: float
    ci_low: float
    ci_high: float
    sources: tuple[str, ...]
    q: float
    q_p_value: float
    i_squared: float


@dataclass(frozen=True)
class Direction:
    """Which way the pair points, and what decided it."""

    cause: str | None
    effect: str | None
    basis: DirectionBasis
    detail: str

    def agrees(self, cause: str, effect: str) -> bool | None:
        """True / False when decided, None when undetermined."""
        if self.cause is None:
            return None
        return (self.cause, self.effect) == (cause, effect)


@dataclass(frozen=True)
class CrossSourceVerdict:
    """The verdict on one edge with its per-source evidence."""

    edge: CandidateEdge
    verdict: Verdict
    reason: str
    per_source: tuple[SourceResult, ...]
    supporting: tuple[str, ...]
    opposing: tuple[str, ...]
    direction: Direction
    pooled: PooledEffect | None = None

    def effects(self) -> dict[str, SourceEffect]:
        return {r.source: r for r in self.per_source if isinstance(r, SourceEffect)}


@dataclass(frozen=True)
class CrossSourceRun:
    """Every verdict of one :func:`validate_edges` call."""

    verdicts: tuple[CrossSourceVerdict, ...]
    settings: CrossSourceSettings
    sources: tuple[str, ...]
    seconds: float
    estimates: int
    """Per-source estimates computed (both directions where the direction needed them)."""
    discovery: DiscoverySummary | None = None

    def counts(self) -> dict[str, int]:
        out = {"validated": 0, "refuted": 0, "mixed": 0, "notTestable": 0}
        for v in self.verdicts:
            out[v.verdict] += 1
        return out

    def verdict(self, cause: str, effect: str) -> CrossSourceVerdict | None:
        for v in self.verdicts:
            if v.edge.pair == (cause, effect):
                return v
        return None


# ---------------------------------------------------------------------------------------- estimate
class SourceDesign:
    """One source's covariate block ``[1, confounders, concepts as covariates]`` and its Gram matrix."""

    def __init__(self, frame: SourceFrame, settings: CrossSourceSettings) -> None:
        self.frame = frame
        conf = frame.confounders
        keep = [c for c in conf.columns
                if min(float((conf[c] != 0).sum()), float((conf[c] == 0).sum())) >= settings.min_confounder_rows
                or c in ("age", "age_sq")]
        self.groups = {g: tuple(c for c in cols if c in keep) for g, cols in frame.groups.items()}
        self.groups = {g: cols for g, cols in self.groups.items() if cols and g in settings.confounders}
        conf_cols = [c for cols in self.groups.values() for c in cols]
        concept_cols = list(frame.concepts)
        self.names = ["(intercept)", *conf_cols, *concept_cols]
        self.index = {n: i for i, n in enumerate(self.names)}
        n = frame.rows
        block = np.empty((n, len(self.names)), dtype=np.float64)
        block[:, 0] = 1.0
        for j, c in enumerate(conf_cols, start=1):
            block[:, j] = conf[c].to_numpy(dtype=np.float64)
        for j, c in enumerate(concept_cols, start=1 + len(conf_cols)):
            block[:, j] = frame.covariate(c).to_numpy(dtype=np.float64)
        self.block = block
        self.gram = block.T @ block
        self._variables: dict[tuple[str, str], np.ndarray] = {}

    def variable(self, concept: str, uncertain: UncertainPolicy) -> np.ndarray:
        key = (concept, uncertain)
        if key not in self._variables:
            self._variables[key] = self.frame.variable(concept, uncertain).to_numpy(dtype=np.float64)
        return self._variables[key]


def adjustment_plan(design: SourceDesign, cause: str, effect: str, table: ConceptTable,
                    settings: CrossSourceSettings) -> AdjustmentPlan:
    """The tiers-implied backdoor set for ``cause -> effect`` in this source."""
    groups = tuple(g for g in settings.confounders if g in design.groups)
    columns = [c for g in groups for c in design.groups[g]]
    concepts: list[str] = []
    left_out: list[str] = []
    missing = [g for g in settings.confounders if g not in design.groups]
    if missing:
        left_out.append(f"not recorded or constant in this source: {', '.join(missing)}")
    if settings.adjust_earlier_tiers:
        rank = table.tier_rank(cause)
        proxies = {cause, effect} | table.ancestors(cause) | table.ancestors(effect)
        for c in design.frame.concepts:
            if table.tier_rank(c) >= rank or c in (cause, effect):
                continue
            if c in proxies or cause in table.ancestors(c) or effect in table.ancestors(c):
                left_out.append(f"{c} (a broader or narrower concept of {cause} or {effect})")
                continue
            concepts.append(c)
    return AdjustmentPlan(cause, effect, groups, tuple(concepts), tuple(columns + concepts), tuple(left_out))


def _support(t: np.ndarray, y: np.ndarray) -> Support:
    both = int(np.sum((t == 1) & (y == 1)))
    ones_t, ones_y = int(np.sum(t == 1)), int(np.sum(y == 1))
    n = int(len(t))
    return Support(n, both, ones_t - both, ones_y - both, n - ones_t - ones_y + both)


def estimate_in_source(design: SourceDesign, cause: str, effect: str, table: ConceptTable,
                       settings: CrossSourceSettings) -> SourceResult:
    """The adjusted risk difference of ``cause`` on ``effect`` in one source, or why there is none."""
    source = design.frame.source
    absent = [c for c in (cause, effect) if not design.frame.has(c)]
    if absent:
        return NoEstimate(source, cause, effect, "no_column",
                          f"{source} has no varying column for {', '.join(absent)}")
    t_all = design.variable(cause, settings.uncertain)
    y_all = design.variable(effect, settings.uncertain)
    valid = ~(np.isnan(t_all) | np.isnan(y_all))
    t, y = t_all[valid], y_all[valid]
    support = _support(t, y)
    if support.smallest_cell < settings.min_cell:
        return NoEstimate(source, cause, effect, "insufficient_support",
                          f"{support.both} studies with both, {support.cause_only} with {cause} only, "
                          f"{support.effect_only} with {effect} only, {support.neither} with neither: fewer than "
                          f"{settings.min_cell} in a cell, so no effect is reported", support)
    plan = adjustment_plan(design, cause, effect, table, settings)
    cols = [0, *(design.index[c] for c in plan.columns)]
    value, se, n_params = _ols_treatment(design, cols, t_all, y_all, valid)
    if not (math.isfinite(value) and math.isfinite(se)) or abs(value) > 1 or se <= 0:
        return NoEstimate(source, cause, effect, "degenerate",
                          f"the adjusted model is degenerate here (estimate {value:+.3g}, SE {se:.3g})", support)
    z = float(stats.norm.ppf(0.5 + settings.confidence / 2))
    p = float(2 * stats.norm.sf(abs(value) / se))
    return SourceEffect(source, cause, effect, value, value - z * se, value + z * se, se, p, support.n, support,
                        tuple([*plan.confounder_groups, *plan.concepts]), plan.estimand)


def _ols_treatment(design: SourceDesign, cols: list[int], t_all: np.ndarray, y_all: np.ndarray,
                   valid: np.ndarray) -> tuple[float, float, int]:
    """Coefficient of the treatment in ``y ~ 1 + t + Z[cols]`` on the valid rows, and its HC1 standard error."""
    b = design.block
    t0 = np.where(valid, t_all, 0.0)
    y0 = np.where(valid, y_all, 0.0)
    zz = design.gram[np.ix_(cols, cols)]
    invalid = ~valid
    if invalid.any():
        bi = b[invalid][:, cols]
        zz = zz - bi.T @ bi
    tz = (t0 @ b)[cols]
    yz = (y0 @ b)[cols]
    k = len(cols) + 1
    xtx = np.empty((k, k))
    xtx[0, 0] = t0 @ t0
    xtx[0, 1:] = xtx[1:, 0] = tz
    xtx[1:, 1:] = zz
    xty = np.concatenate([[t0 @ y0], yz])
    # pinv: two covariates can coincide in a small source (no DICOM header: age and view both missing);
    # the treatment's coefficient stays identified as long as the treatment is not in their span
    bread = np.linalg.pinv(xtx, hermitian=True)
    beta = bread @ xty
    w = np.zeros(b.shape[1])
    w[cols] = beta[1:]
    fitted = b @ w + beta[0] * t0
    resid = np.where(valid, y0 - fitted, 0.0)
    w1 = np.zeros(b.shape[1])
    w1[cols] = bread[0, 1:]
    u = b @ w1 + bread[0, 0] * t0
    n = int(valid.sum())
    var = float(np.sum((resid * u) ** 2)) * n / max(n - k, 1)
    return float(beta[0]), math.sqrt(max(var, 0.0)), k


def dowhy_check(design: SourceDesign, cause: str, effect: str, table: ConceptTable,
                settings: CrossSourceSettings) -> tuple[float, float, float]:
    """The same estimand through DoWhy's estimator (:func:`reasoning.estimate.estimate_effect`).

    Returns (value, ci_low, ci_high); used to check the single-pass estimate against DoWhy's.
    """
    from reasoning.estimate import estimate_effect

    plan = adjustment_plan(design, cause, effect, table, settings)
    t = design.variable(cause, settings.uncertain)
    y = design.variable(effect, settings.uncertain)
    cols = {c: design.block[:, design.index[c]] for c in plan.columns}
    frame = pd.DataFrame({cause: t, effect: y, **cols}).dropna()
    fitted = estimate_effect(frame, plan.identification(), confidence_level=settings.confidence, interactions=False)
    r = fitted.result
    return r.value, r.ci_low, r.ci_high


# ------------------------------------------------------------------------------------ across sources
def pool(effects: Sequence[SourceEffect], confidence: float = 0.95) -> PooledEffect | None:
    """Fixed-effect inverse-variance pooling with Cochran's Q and I^2 (None without an effect)."""
    if not effects:
        return None
    v = np.array([e.value for e in effects])
    w = 1.0 / np.array([e.std_error ** 2 for e in effects])
    mean = float(np.sum(w * v) / np.sum(w))
    se = math.sqrt(1.0 / float(np.sum(w)))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    q = float(np.sum(w * (v - mean) ** 2))
    df = len(effects) - 1
    p = float(stats.chi2.sf(q, df)) if df > 0 else 1.0
    i2 = max(0.0, (q - df) / q) if q > 0 and df > 0 else 0.0
    return PooledEffect(mean, mean - z * se, mean + z * se, tuple(e.source for e in effects), q, p, i2)


def decide_direction(a: str, b: str, table: ConceptTable, discovery: DiscoverySummary | None,
                     forward: Sequence[SourceEffect], backward: Sequence[SourceEffect],
                     settings: CrossSourceSettings) -> Direction:
    """Which way a - b points: tiers first, then discovery, then invariance across sources."""
    ra, rb = table.tier_rank(a), table.tier_rank(b)
    if ra != rb:
        c, e = (a, b) if ra < rb else (b, a)
        return Direction(c, e, "tiers", f"{table[c].tier} ({c}) precedes {table[e].tier} ({e})")
    if discovery is not None:
        chosen, detail = discovery.orientation(a, b)
        if chosen is not None:
            return Direction(chosen[0], chosen[1], "discovery", detail)
        why_not = detail
    else:
        why_not = "no discovery run"
    fa = [e for e in forward if e.excludes_zero]
    fb = [e for e in backward if e.excludes_zero]
    pa, pb = pool(fa), pool(fb)
    if pa is not None and pb is not None and len(fa) >= 2 and len(fb) >= 2:
        inv_a, inv_b = pa.q_p_value > settings.invariance_alpha, pb.q_p_value > settings.invariance_alpha
        text = (f"{a} -> {b}: Q p={pa.q_p_value:.3g} over {len(fa)} sources; {b} -> {a}: Q p={pb.q_p_value:.3g} "
                f"over {len(fb)}")
        if inv_a and not inv_b:
            return Direction(a, b, "invariance", f"invariant only as {a} -> {b} ({text})")
        if inv_b and not inv_a:
            return Direction(b, a, "invariance", f"invariant only as {b} -> {a} ({text})")
        why_not += f"; invariance does not decide ({text})"
    else:
        why_not += "; invariance needs effects in two sources each way"
    return Direction(None, None, "undetermined", f"same tier ({table[a].tier}); {why_not}")


def judge(edge: CandidateEdge, results: Sequence[SourceResult], direction: Direction, *,
          reverse_is_candidate: bool, settings: CrossSourceSettings) -> CrossSourceVerdict:
    """The verdict rule (see the module docstring) applied to one edge's per-source results."""
    independent = [r for r in results if r.source not in edge.produced_by]
    effects = [r for r in independent if isinstance(r, SourceEffect)]
    sign = 1 if edge.expected_sign >= 0 else -1
    pos = [e for e in effects if e.excludes_zero and e.sign == sign]
    neg = [e for e in effects if e.excludes_zero and e.sign == -sign]
    pooled = pool(effects, settings.confidence)
    need = settings.min_sources

    def fmt(es: Iterable[SourceEffect]) -> str:
        return "; ".join(f"{e.source} {e.value:+.3f} [{e.ci_low:+.3f}, {e.ci_high:+.3f}] n={e.n}" for e in es)

    produced = f" (left out as producers: {', '.join(sorted(edge.produced_by))})" if edge.produced_by else ""
    out_pos, out_neg = tuple(e.source for e in pos), tuple(e.source for e in neg)
    if len(pos) >= need and not neg:
        agrees = direction.agrees(edge.cause, edge.effect)
        if agrees is False:
            verdict: Verdict = "refuted" if direction.basis == "tiers" else "notTestable"
            reason = (f"associated in {len(pos)} sources ({fmt(pos)}), but the direction is "
                      f"{direction.cause} -> {direction.effect}, decided by {direction.basis}: {direction.detail}")
            return CrossSourceVerdict(edge, verdict, reason, tuple(results), out_pos, out_neg, direction, pooled)
        if agrees is None and reverse_is_candidate:
            reason = (f"associated in {len(pos)} sources ({fmt(pos)}), but neither tiers, discovery nor invariance "
                      f"decides between {edge.cause} -> {edge.effect} and its reverse: {direction.detail}")
            return CrossSourceVerdict(edge, "notTestable", reason, tuple(results), out_pos, out_neg, direction, pooled)
        how = (f"direction by {direction.basis}: {direction.detail}" if agrees else
               f"direction as claimed, not decided by the data ({direction.detail})")
        return CrossSourceVerdict(edge, "validated", f"same sign, interval excluding 0, in {len(pos)} independent "
                                  f"sources{produced}: {fmt(pos)}; {how}", tuple(results), out_pos, out_neg,
                                  direction, pooled)
    if len(neg) >= need and not pos:
        return CrossSourceVerdict(edge, "refuted", f"the opposite sign, interval excluding 0, in {len(neg)} "
                                  f"independent sources{produced}: {fmt(neg)}", tuple(results), out_pos, out_neg,
                                  direction, pooled)
    if pos and neg:
        return CrossSourceVerdict(edge, "mixed", f"sources disagree: for {fmt(pos)}; against {fmt(neg)}",
                                  tuple(results), out_pos, out_neg, direction, pooled)
    missing = [r for r in independent if isinstance(r, NoEstimate)]
    parts = []
    if pos:
        parts.append(f"supported only in {fmt(pos)}")
    if neg:
        parts.append(f"opposed only in {fmt(neg)}")
    null = [e for e in effects if not e.excludes_zero]
    if null:
        parts.append(f"interval includes 0 in {fmt(null)}")
    if missing:
        parts.append("; ".join(f"{r.source}: {r.reason}" for r in missing))
    if edge.produced_by:
        parts.append(f"{', '.join(sorted(edge.produced_by))} produced the claim and cannot test it")
    reason = (f"fewer than {need} independent sources with an effect that excludes 0: " + "; ".join(parts)) if parts \
        else "no independent source records both concepts"
    return CrossSourceVerdict(edge, "notTestable", reason, tuple(results), out_pos, out_neg, direction, pooled)


@dataclass
class _Estimates:
    designs: Mapping[str, SourceDesign]
    table: ConceptTable
    settings: CrossSourceSettings
    cache: dict[tuple[str, str, str], SourceResult] = field(default_factory=dict)

    def get(self, cause: str, effect: str) -> list[SourceResult]:
        out = []
        for s, d in self.designs.items():
            key = (s, cause, effect)
            if key not in self.cache:
                self.cache[key] = estimate_in_source(d, cause, effect, self.table, self.settings)
            out.append(self.cache[key])
        return out


def build_designs(frames: Mapping[str, SourceFrame], settings: CrossSourceSettings) -> dict[str, SourceDesign]:
    return {s: SourceDesign(f, settings) for s, f in frames.items()}


def validate_edges(frames: Mapping[str, SourceFrame], edges: Sequence[CandidateEdge], table: ConceptTable, *,
                   settings: CrossSourceSettings | None = None, discovery: DiscoverySummary | None = None,
                   designs: Mapping[str, SourceDesign] | None = None) -> CrossSourceRun:
    """Estimate every edge in every source and judge it; pure (nothing is written)."""
    settings = settings or CrossSourceSettings()
    started = time.perf_counter()
    unknown = sorted({c for e in edges for c in (e.cause, e.effect) if c not in table})
    if unknown:
        raise KeyError(f"edge concept(s) {', '.join(unknown)} are not in the chest concept table")
    est = _Estimates(designs or build_designs(frames, settings), table, settings)
    pairs = {e.pair for e in edges}
    verdicts = []
    for edge in edges:
        forward = est.get(edge.cause, edge.effect)
        fwd = [r for r in forward if isinstance(r, SourceEffect)]
        needs_reverse = table.tier_rank(edge.cause) == table.tier_rank(edge.effect)
        bwd = [r for r in est.get(edge.effect, edge.cause) if isinstance(r, SourceEffect)] if needs_reverse else []
        direction = decide_direction(edge.cause, edge.effect, table, discovery, fwd, bwd, settings)
        verdicts.append(judge(edge, forward, direction, reverse_is_candidate=(edge.effect, edge.cause) in pairs,
                              settings=settings))
    _never_both(verdicts)
    return CrossSourceRun(tuple(verdicts), settings, tuple(est.designs), time.perf_counter() - started,
                          len(est.cache), discovery)


def _never_both(verdicts: list[CrossSourceVerdict]) -> None:
    """The guarantee, checked: an edge and its reverse are never both validated."""
    validated = {v.edge.pair for v in verdicts if v.verdict == "validated"}
    both = [p for p in validated if (p[1], p[0]) in validated]
    if both:
        raise AssertionError(f"edge and reverse both validated: {both[0]}")
