"""Interventional and counterfactual questions on the validated graph and a table of observations.

* :func:`intervene` answers *do(X = x)*: the average outcome had everyone's X been set, identified on
  the graph's trusted edges (accepted or validated) and estimated as validation does;
* :func:`counterfactual` answers, for one case, *what if finding X had been absent*: Pearl's
  abduction - action - prediction on a structural model fitted to the data. Binary variables get a
  logistic mechanism with a uniform latent threshold (V = 1 when U < p(parents)), so abduction keeps
  U on the side of p that reproduces the observed value and the counterfactual shares that U - the
  monotone coupling under which the probability that the finding would have been absent is the
  probability of necessity. Numeric variables get a linear mechanism with additive noise, abducted
  exactly as the residual.

Build the model once with :func:`whatif_model` and ask many questions of it; that is how the grounding
layer calls it per image.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from kg.claim_reader import concept_synonyms, read_claims
from kg.claims import ClaimRecord, slug
from kg.concepts import finding_for_concept_iri
from kg.statuses import TRUSTED_STATUSES
from kg.store.base import Store
from reasoning.data import (
    ConceptRef,
    DataTable,
    load_table,
    local_name,
    map_columns,
    numeric_values,
    variable_kind,
)
from reasoning.estimate import estimate_effect
from reasoning.graph import causal_digraph, variable_names
from reasoning.identify import identify
from reasoning.model import NotTestable, build_model


class WhatIfError(ValueError):
    """A question the model cannot answer as asked (unknown variable, no data column, ...)."""


@dataclass(frozen=True, eq=False)
class WhatIfModel:
    """The trusted causal graph over variable names, with the data columns that observe them."""

    graph: nx.DiGraph
    data: pd.DataFrame
    concepts: Mapping[str, str]
    """Variable name -> concept IRI."""
    labels: Mapping[str, str]
    kinds: Mapping[str, str]
    dataset: str
    statuses: tuple[str, ...]
    _mechanisms: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def observed(self) -> frozenset[str]:
        return frozenset(v for v, k in self.kinds.items() if k in ("binary", "discrete", "continuous"))

    def resolve(self, name: str) -> str:
        """A variable from its name, concept IRI, local name, label or Open-i finding name (``Effusion``)."""
        if name in self.concepts:
            return name
        key = slug(name)
        for v, iri in self.concepts.items():
            if name == iri or key in (slug(local_name(iri)), slug(self.labels.get(v, "")), v) or \
                    slug(finding_for_concept_iri(iri) or "\0") == key:
                return v
        raise WhatIfError(f"unknown variable {name!r}; known: {', '.join(sorted(self.labels.values()))}")


def whatif_model(source: Store | Sequence[ClaimRecord], data: str | Path | pd.DataFrame | DataTable, *,
                 statuses: Sequence[str] = TRUSTED_STATUSES, graphs: Sequence[str] | None = None,
                 split: str | None = None) -> WhatIfModel:
    """Build the what-if model from a store's claims (or given claims) and a table."""
    claims = read_claims(source, graphs=graphs) if isinstance(source, Store) else list(source)
    iris = {c.subject for c in claims} | {c.object for c in claims}
    syn = concept_synonyms(source, iris) if isinstance(source, Store) else {}
    table = load_table(data, split=split)
    labels: dict[str, str] = {}
    for c in claims:
        labels.setdefault(c.subject, c.subject_label)
        labels.setdefault(c.object, c.object_label)
    names = variable_names(labels)
    colmap = map_columns(table.frame.columns, [ConceptRef(i, lab, syn.get(i, ())) for i, lab in labels.items()])
    frame = pd.DataFrame({names[i]: numeric_values(table.frame[col]) for i, col in colmap.by_iri.items()
                          if pd.api.types.is_numeric_dtype(table.frame[col]) or table.frame[col].dtype == bool})
    kinds = {names[i]: (variable_kind(frame[names[i]]) if names[i] in frame else "empty") for i in labels}
    graph = nx.relabel_nodes(causal_digraph(claims, statuses=statuses), names)
    return WhatIfModel(graph, frame, {v: i for i, v in names.items()}, {names[i]: lab or names[i] for i, lab in labels.items()},
                       kinds, table.label, tuple(statuses))


@dataclass(frozen=True)
class InterventionResult:
    """E[outcome | do(treatment = value)] against do(treatment = control), and the difference."""

    treatment: str
    outcome: str
    value: float
    control: float
    identified: bool
    expected: float | None
    """E[outcome | do(treatment = value)]; a probability for a binary outcome."""
    expected_control: float | None
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    observed_mean: float
    estimand: str
    estimator: str
    samples: int
    reason: str = ""
    estimable: bool = True
    """False when a cell of the treatment x outcome table is below :data:`MIN_SUPPORT`: no effect is reported."""


MIN_SUPPORT = 10
"""Fewest studies in each cell of a binary treatment x binary outcome table for an effect to be reported
(the cross-source estimates use the same floor, ``CrossSourceSettings.min_cell``)."""


def support_problem(data: pd.DataFrame, t: str, y: str, labels: Mapping[str, str], minimum: int = MIN_SUPPORT) -> str | None:
    """Why no effect of binary ``t`` on binary ``y`` can be reported from these rows, or None when each cell has support."""
    rows = data[[t, y]].dropna()
    if rows[t].nunique() > 2 or rows[y].nunique() > 2:
        return None
    tv, yv = rows[t] == rows[t].max(), rows[y] == rows[y].max()
    cells = {"both": int((tv & yv).sum()), "cause only": int((tv & ~yv).sum()),
             "effect only": int((~tv & yv).sum()), "neither": int((~tv & ~yv).sum())}
    if min(cells.values()) >= minimum:
        return None
    lt, ly = labels.get(t, t), labels.get(y, y)
    return (f"not estimable: {cells['both']} studies with both {lt} and {ly}, {cells['cause only']} with {lt} only, "
            f"{cells['effect only']} with {ly} only, {cells['neither']} with neither; below the minimum support of "
            f"{minimum} studies per cell no effect is reported")


def intervene(model: WhatIfModel, treatment: str, outcome: str, value: float = 1.0,
              control: float = 0.0) -> InterventionResult:
    """What happens to ``outcome`` on average if ``treatment`` is set to ``value`` (versus ``control``)."""
    t, y = model.resolve(treatment), model.resolve(outcome)
    for v in (t, y):
        if v not in model.observed:
            raise WhatIfError(f"{model.labels[v]} has no usable data column ({model.kinds.get(v, 'missing')})")
    ys = model.data[y].dropna()
    base = dict(treatment=model.labels[t], outcome=model.labels[y], value=float(value), control=float(control),
                observed_mean=float(ys.mean()), samples=int(len(ys)))
    if t not in model.graph or y not in model.graph or not nx.has_path(model.graph, t, y):
        return InterventionResult(**base, identified=True, expected=float(ys.mean()),  # type: ignore[arg-type]
                                  expected_control=float(ys.mean()), effect=0.0, ci_low=0.0, ci_high=0.0,
                                  estimand="none: no causal path in the graph", estimator="none",
                                  reason=f"no causal path from {model.labels[t]} to {model.labels[y]} among "
                                         f"{'/'.join(model.statuses)} edges, so do() leaves it unchanged")
    problem = support_problem(model.data, t, y, model.labels)
    if problem is not None and model.kinds.get(t) == "binary" and model.kinds.get(y) == "binary":
        return InterventionResult(**base, identified=True, expected=None, expected_control=None, effect=None,  # type: ignore[arg-type]
                                  ci_low=None, ci_high=None, estimand="", estimator="", reason=problem,
                                  estimable=False)
    try:
        ident = identify(build_model(model.graph, t, y, model.observed))
    except NotTestable as err:
        return InterventionResult(**base, identified=False, expected=None, expected_control=None, effect=None,  # type: ignore[arg-type]
                                  ci_low=None, ci_high=None, estimand="", estimator="", reason=str(err))
    if not ident.identified:
        return InterventionResult(**base, identified=False, expected=None, expected_control=None, effect=None,  # type: ignore[arg-type]
                                  ci_low=None, ci_high=None, estimand=ident.estimand, estimator="", reason=ident.reason)
    fitted = estimate_effect(model.data, ident)
    estimator = fitted.dowhy_estimate.estimator
    est = estimator.estimate_effect(fitted.data, treatment_value=value, control_value=control)
    ci = np.asarray(est.get_confidence_intervals(), dtype=float).ravel()
    if hasattr(estimator, "_z_means"):
        expected, expected_control = estimator._do(value), estimator._do(control)
    else:  # front-door / IV estimators are linear in the treatment: shift the observed mean
        per_unit = fitted.result.value
        t_mean = float(fitted.data[t].mean())
        expected = float(fitted.data[y].mean()) + per_unit * (value - t_mean)
        expected_control = float(fitted.data[y].mean()) + per_unit * (control - t_mean)
    base["samples"] = fitted.result.samples
    return InterventionResult(**base, identified=True, expected=float(expected),  # type: ignore[arg-type]
                              expected_control=float(expected_control), effect=float(est.value),
                              ci_low=float(min(ci)), ci_high=float(max(ci)), estimand=ident.estimand,
                              estimator=fitted.result.estimator)


@dataclass(frozen=True)
class CounterfactualOutcome:
    """One variable of the case, as it was and as it would have been."""

    variable: str
    label: str
    factual: float | None
    counterfactual: float
    """Expected value in the counterfactual world; for a binary variable the probability it is present."""
    probability_changed: float | None
    """Binary variables: the probability that the value would differ from the factual one."""

    @property
    def change(self) -> float | None:
        return None if self.factual is None else self.counterfactual - self.factual


@dataclass(frozen=True)
class CounterfactualResult:
    """The answer to 'what if, for this case, these variables had been set to these values'."""

    case: Mapping[str, float]
    intervention: Mapping[str, float]
    outcomes: tuple[CounterfactualOutcome, ...]
    draws: int
    mechanisms: str

    def outcome(self, name: str) -> CounterfactualOutcome:
        key = slug(name)
        for o in self.outcomes:
            if key in (slug(o.variable), slug(o.label)):
                return o
        raise KeyError(name)


def _fit_mechanism(model: WhatIfModel, v: str) -> dict[str, Any]:
    if v in model._mechanisms:
        return model._mechanisms[v]
    parents = [p for p in model.graph.predecessors(v) if p in model.observed] if v in model.graph else []
    frame = model.data[[v, *parents]].dropna()
    y = frame[v].to_numpy(dtype=float)
    x = frame[parents].to_numpy(dtype=float) if parents else np.zeros((len(frame), 0))
    if model.kinds[v] == "binary":
        if parents and len(np.unique(y)) == 2:
            from sklearn.linear_model import LogisticRegression

            clf = LogisticRegression(C=10.0, max_iter=1000).fit(x, y)
            mech = {"kind": "binary", "parents": parents, "coef": clf.coef_[0], "intercept": float(clf.intercept_[0])}
        else:
            p = min(max(float(y.mean()), 1e-6), 1 - 1e-6)
            mech = {"kind": "binary", "parents": [], "coef": np.zeros(0), "intercept": math.log(p / (1 - p))}
    else:
        design = np.column_stack([np.ones(len(y)), x])
        coef = np.linalg.pinv(design.T @ design) @ (design.T @ y)
        mech = {"kind": "numeric", "parents": parents, "coef": coef, "residuals": y - design @ coef}
    model._mechanisms[v] = mech
    return mech


def _predict(mech: Mapping[str, Any], parent_values: np.ndarray) -> np.ndarray:
    if mech["kind"] == "binary":
        z = mech["intercept"] + (parent_values @ mech["coef"] if len(mech["coef"]) else 0.0)
        return 1.0 / (1.0 + np.exp(-z))
    return mech["coef"][0] + (parent_values @ mech["coef"][1:] if len(mech["coef"]) > 1 else 0.0)


def counterfactual(model: WhatIfModel, case: Mapping[str, float] | pd.Series, intervention: Mapping[str, float], *,
                   outcomes: Sequence[str] | None = None, draws: int = 4000, seed: int = 0) -> CounterfactualResult:
    """For one case, the distribution of ``outcomes`` had ``intervention`` held (abduction, action, prediction).

    ``case`` gives the observed values (names as :meth:`WhatIfModel.resolve` accepts; missing values
    are drawn from the data). ``outcomes`` defaults to every observed descendant of the intervened
    variables.
    """
    if not intervention:
        raise WhatIfError("give at least one variable to set, e.g. {'Effusion': 0}")
    rng = np.random.default_rng(seed)
    facts: dict[str, float] = {}
    for k, v in dict(case).items():
        try:
            var = model.resolve(str(k))
        except WhatIfError:
            continue  # columns of the case that are no concept (ids, extra labels) are not part of the model
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            facts[var] = float(v)
    setting = {model.resolve(k): float(v) for k, v in intervention.items()}
    for v in setting:
        if v not in model.observed:
            raise WhatIfError(f"{model.labels[v]} has no usable data column, so it cannot be set")
    g = model.graph
    affected = set(setting)
    for v in setting:
        if v in g:
            affected |= nx.descendants(g, v)
    wanted = [model.resolve(o) for o in outcomes] if outcomes else sorted((affected - set(setting)) & model.observed)
    for v in wanted:
        if v not in model.observed:
            raise WhatIfError(f"{model.labels[v]} has no usable data column, so it has no counterfactual value")
    order = [v for v in nx.topological_sort(g.subgraph(set(g.nodes) & (affected | set(wanted))))] if len(g) else []
    order = [v for v in order if v in model.observed]
    factual: dict[str, np.ndarray] = {}

    def fact(v: str) -> np.ndarray:
        if v not in factual:
            if v in facts:
                factual[v] = np.full(draws, facts[v])
            else:  # unobserved for this case: draw from the data
                factual[v] = rng.choice(model.data[v].dropna().to_numpy(dtype=float), size=draws)
        return factual[v]

    cf: dict[str, np.ndarray] = {v: np.full(draws, x) for v, x in setting.items()}
    for v in order:
        if v in setting or v not in affected:
            continue
        mech = _fit_mechanism(model, v)
        pa_f = np.column_stack([fact(p) for p in mech["parents"]]) if mech["parents"] else np.zeros((draws, 0))
        pa_c = np.column_stack([cf.get(p, fact(p)) for p in mech["parents"]]) if mech["parents"] else pa_f
        if mech["kind"] == "binary":
            p_f, p_c = _predict(mech, pa_f), _predict(mech, pa_c)
            u: np.ndarray = rng.random(draws)
            if v in facts:  # abduction: keep U on the side of p_f that reproduces the observed value
                u = u * p_f if facts[v] >= 0.5 else p_f + u * (1 - p_f)
            else:
                factual[v] = (u < p_f).astype(float)
            cf[v] = (u < p_c).astype(float)
        else:
            if v in facts:  # abduction: the residual that reproduces the observed value
                noise = facts[v] - _predict(mech, pa_f)
            else:
                res = mech["residuals"]
                noise = rng.choice(res, size=draws) if len(res) else np.zeros(draws)
                factual[v] = _predict(mech, pa_f) + noise
            cf[v] = _predict(mech, pa_c) + noise
    out = []
    for v in wanted:
        values = cf.get(v, fact(v))
        observed = facts.get(v)
        binary = model.kinds.get(v) == "binary"
        changed = float(np.mean(values != observed)) if binary and observed is not None else None
        out.append(CounterfactualOutcome(v, model.labels[v], observed, float(np.mean(values)), changed))
    return CounterfactualResult({model.labels[k]: x for k, x in facts.items()},
                                {model.labels[k]: x for k, x in setting.items()}, tuple(out), draws,
                                "logistic with latent uniform threshold (binary); linear with additive noise (numeric)")


def case_from_table(model: WhatIfModel, data: str | Path | pd.DataFrame | DataTable, case_id: str) -> dict[str, float]:
    """The observed values of one row, found by its id column (``report_id``, ``filename``, ``id``)."""
    table = load_table(data)
    for col in ("report_id", "filename", "id", "study_id", "image_id"):
        if col in table.frame.columns:
            rows = table.frame[table.frame[col].astype(str) == str(case_id)]
            if not rows.empty:
                row = rows.iloc[0]
                return {str(k): float(v) for k, v in row.items()
                        if isinstance(v, int | float | np.integer | np.floating) and not pd.isna(v)}
    raise WhatIfError(f"no row with id {case_id!r} in {table.name}")
