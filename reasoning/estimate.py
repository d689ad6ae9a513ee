"""Effect estimation with DoWhy, with an estimator chosen by the estimand and the variable types.

* backdoor, binary treatment: regression adjustment with treatment-by-covariate interactions (the
  g-formula of a linear model per arm); for a binary outcome the effect is a risk difference;
* backdoor, numeric treatment: linear regression, the effect per unit of treatment;
* front-door: DoWhy's two-stage regression; instrumental variables: DoWhy's Wald / 2SLS estimator.

The regression estimators are DoWhy ``LinearRegressionEstimator`` subclasses fitted with NumPy least
squares and heteroskedasticity-robust (HC1) errors, which suit a linear probability model. They keep
DoWhy's estimator interface, so DoWhy's refuters re-fit them unchanged; they only drop the per-fit
statsmodels summary and pandas work that made a refuter simulation cost ~50 ms instead of ~1 ms.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from reasoning.identify import Identification
from reasoning.model import NotTestable

log = logging.getLogger(__name__)

BOOTSTRAP_CI_SIMULATIONS = 100
"""Resamples for the confidence interval of estimators without a closed form (front-door, IV)."""

MIN_INSTRUMENT_GROUP = 30
"""Fewest rows at each value of a binary instrument."""

MIN_FIRST_STAGE_F = 10.0
"""Staiger and Stock's rule of thumb: below this first-stage F statistic an instrument is too weak to use."""


def first_stage_f(data: pd.DataFrame, treatment: str, instruments: tuple[str, ...] | list[str]) -> float:
    """F statistic of the instruments in the regression of the treatment on them."""
    t = data[treatment].to_numpy(dtype=float)
    z = np.column_stack([np.ones(len(t))] + [data[i].to_numpy(dtype=float) for i in instruments])
    coef = np.linalg.pinv(z.T @ z) @ (z.T @ t)
    rss = float(((t - z @ coef) ** 2).sum())
    tss = float(((t - t.mean()) ** 2).sum())
    k, n = len(instruments), len(t)
    if tss <= 0 or n - k - 1 <= 0:
        return 0.0
    r2 = 1 - rss / tss
    return float((r2 / k) / max((1 - r2) / (n - k - 1), 1e-300))


@dataclass(frozen=True)
class EffectEstimate:
    """An average treatment effect with its interval, on the scale the variable types give it."""

    value: float
    ci_low: float
    ci_high: float
    std_error: float
    p_value: float
    """Two-sided p-value of 'no effect'."""
    samples: int
    estimator: str
    scale: str
    """``risk difference`` (binary outcome), or ``per unit of <treatment>``."""
    standardized: float
    """Effect of one standard deviation of treatment (or of 0 -> 1 when binary) in outcome SD units
    (risk units when the outcome is binary): comparable across variables, used for the no-effect margin."""
    treatment_value: float = 1.0
    control_value: float = 0.0

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0


@dataclass(frozen=True, eq=False)
class FittedEffect:
    """An estimate together with the DoWhy objects the refuters need."""

    result: EffectEstimate
    identification: Identification
    data: pd.DataFrame
    dowhy_estimand: Any
    dowhy_estimate: Any


def _dowhy_quiet() -> None:
    for name in ("dowhy", "dowhy.causal_estimator", "dowhy.causal_refuters", "dowhy.causal_refuter"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _ols_estimator_class() -> type:
    """Defined on first use so that importing this module does not import DoWhy."""
    global _OLS_CLASS
    if _OLS_CLASS is not None:
        return _OLS_CLASS
    from dowhy.causal_estimator import CausalEstimate
    from dowhy.causal_estimators.linear_regression_estimator import LinearRegressionEstimator

    class AdjustedOLSEstimator(LinearRegressionEstimator):
        """DoWhy's linear-regression estimator fitted with NumPy least squares and HC1 standard errors."""

        def __init__(self, identified_estimand: Any, *, interactions: bool = False, **kwargs: Any) -> None:
            super().__init__(identified_estimand, **kwargs)
            self.interactions = interactions
            self._coef: np.ndarray | None = None
            self._z_means = np.zeros(0)
            self._se_t = math.nan
            self._design: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
            self._effect_modifier_names: list[str] = []

        def fit(self, data: pd.DataFrame, effect_modifier_names: list[str] | None = None) -> AdjustedOLSEstimator:
            self._effect_modifier_names = []
            est = self._target_estimand
            t, y = est.treatment_variable[0], est.outcome_variable[0]
            adj = list(est.get_adjustment_set() or [])
            self._observed_common_causes_names = adj
            # column by column: a single-column lookup is cached by pandas, a list lookup copies the frame
            treat = data[t].to_numpy(dtype=float)
            target = data[y].to_numpy(dtype=float)
            z = np.column_stack([data[c].to_numpy(dtype=float) for c in adj]) if adj else np.zeros((len(treat), 0))
            parts = [np.ones((len(treat), 1)), treat[:, None]]
            if adj:
                parts.append(z)
                if self.interactions:
                    parts.append(treat[:, None] * (z - z.mean(axis=0)))
            x = np.hstack(parts)
            xtx = x.T @ x  # normal equations: k is small and n large
            try:
                coef = np.linalg.solve(xtx, x.T @ target)
            except np.linalg.LinAlgError:  # collinear columns: the minimum-norm solution
                coef = np.linalg.pinv(xtx) @ (x.T @ target)
            self._coef = coef
            self._z_means = z.mean(axis=0)
            self._design = (x, target, xtx)  # the standard error is computed only if asked for
            self._se_t = math.nan
            self.symbolic_estimator = self.construct_symbolic_estimator(est)
            return self

        def _treatment_se(self) -> float:
            """HC1 standard error of the treatment coefficient (refuter re-fits never need it)."""
            if math.isnan(self._se_t) and self._design is not None:
                x, target, xtx = self._design
                resid = target - x @ self._coef
                n, k = x.shape
                bread = np.linalg.pinv(xtx)
                meat = (x * (resid ** 2)[:, None]).T @ x
                cov = bread @ meat @ bread * (n / max(n - k, 1))
                self._se_t = float(math.sqrt(max(cov[1, 1], 0.0)))
            return self._se_t

        def estimate_effect(self, data: pd.DataFrame, treatment_value: Any = 1, control_value: Any = 0,
                            target_units: Any = None, **_: Any) -> Any:
            assert self._coef is not None, "fit() first"
            self._target_units = target_units
            self._treatment_value, self._control_value = treatment_value, control_value
            value = float(self._coef[1]) * (float(treatment_value) - float(control_value))
            estimate = CausalEstimate(
                data=data, treatment_name=self._target_estimand.treatment_variable,
                outcome_name=self._target_estimand.outcome_variable, estimate=value,
                control_value=control_value, treatment_value=treatment_value,
                target_estimand=self._target_estimand, realized_estimand_expr=self.symbolic_estimator,
                intercept=float(self._coef[0]))
            estimate.add_estimator(self)
            return estimate

        def _do(self, treatment_val: Any, data_df: pd.DataFrame | None = None) -> float:
            """E[outcome | do(treatment = value)]: the model's mean prediction over the fitted sample."""
            assert self._coef is not None, "fit() first"
            k = len(self._z_means)
            return float(self._coef[0] + self._coef[1] * float(treatment_val) + self._coef[2:2 + k] @ self._z_means)

        def _estimate_confidence_intervals(self, confidence_level: float, method: Any = None) -> np.ndarray:
            z = stats.norm.ppf(0.5 + confidence_level / 2)
            scale = abs(float(self._treatment_value) - float(self._control_value))
            centre = float(self._coef[1]) * (float(self._treatment_value) - float(self._control_value))  # type: ignore[index]
            se = self._treatment_se()
            return np.array([[centre - z * se * scale, centre + z * se * scale]])

        def _estimate_std_error(self, method: Any = None, **_: Any) -> float:
            return self._treatment_se() * abs(float(self._treatment_value) - float(self._control_value))

        def get_new_estimator_object(self, identified_estimand: Any, test_significance: Any = False,
                                     evaluate_effect_strength: Any = False, confidence_intervals: Any = None) -> Any:
            # A shallow copy: DoWhy deep-copies here, which copied the estimand's sympy tree every simulation.
            new = copy.copy(self)
            new._target_estimand = identified_estimand
            new._coef, new._se_t, new._design = None, math.nan, None
            return new

    _OLS_CLASS = AdjustedOLSEstimator
    return AdjustedOLSEstimator


_OLS_CLASS: type | None = None


def _is_binary(values: pd.Series) -> bool:
    return set(np.unique(values.dropna())) <= {0.0, 1.0}


def _standardized(value: float, data: pd.DataFrame, t: str, y: str) -> float:
    sd_y = 1.0 if _is_binary(data[y]) else float(data[y].std()) or 1.0
    sd_t = 1.0 if _is_binary(data[t]) else float(data[t].std()) or 1.0
    return value * sd_t / sd_y


def estimate_effect(data: pd.DataFrame, identification: Identification, *, confidence_level: float = 0.95,
                    interactions: bool | None = None,
                    bootstrap_simulations: int = BOOTSTRAP_CI_SIMULATIONS) -> FittedEffect:
    """Estimate the identified effect of treatment 1 vs 0 (or one unit) on the outcome.

    ``data`` holds numeric columns named as the model's variables; rows with a gap in a used column
    are dropped. ``interactions`` defaults to on for a binary treatment. Raises
    :class:`~reasoning.model.NotTestable` for a weak instrument.
    """
    _dowhy_quiet()
    t, y = identification.treatment, identification.outcome
    used = [t, y, *identification.adjustment_set, *identification.frontdoor_set, *identification.instruments]
    frame = data[list(dict.fromkeys(used))].dropna().astype(float).reset_index(drop=True)
    estimand = identification.to_dowhy()
    binary_t = _is_binary(frame[t])
    if identification.kind == "backdoor":
        use_inter = binary_t if interactions is None else interactions
        estimator = _ols_estimator_class()(estimand, interactions=use_inter, confidence_intervals=True,
                                           confidence_level=confidence_level)
        name = ("backdoor.linear_regression (treatment x covariate interactions, HC1)" if use_inter and
                identification.adjustment_set else "backdoor.linear_regression (HC1)")
    elif identification.kind == "frontdoor":
        from dowhy.causal_estimators.two_stage_regression_estimator import TwoStageRegressionEstimator

        estimator = TwoStageRegressionEstimator(estimand, confidence_intervals=True, confidence_level=confidence_level,
                                                num_simulations=bootstrap_simulations)
        name = "frontdoor.two_stage_regression (bootstrap CI)"
    elif identification.kind == "iv":
        from dowhy.causal_estimators.instrumental_variable_estimator import InstrumentalVariableEstimator

        # The strongest single instrument: a rare or nearly collinear second instrument only makes
        # two-stage least squares singular, and one binary instrument gives the Wald estimator.
        usable = [z for z in identification.instruments
                  if not _is_binary(frame[z]) or min((frame[z] == 1).sum(), (frame[z] == 0).sum()) >= MIN_INSTRUMENT_GROUP]
        if not usable:
            raise NotTestable(f"instrument {', '.join(identification.instruments)} too rare: fewer than "
                              f"{MIN_INSTRUMENT_GROUP} rows at one of its values (resampled intervals would be undefined)")
        strengths = {z: first_stage_f(frame, t, [z]) for z in usable}
        best = max(strengths, key=lambda z: (strengths[z], z))
        f_stat = strengths[best]
        if f_stat < MIN_FIRST_STAGE_F:
            raise NotTestable(f"weak instrument {', '.join(identification.instruments)}: first-stage F = "
                              f"{f_stat:.1f} < {MIN_FIRST_STAGE_F:g}")
        if identification.instruments != (best,):
            identification = replace(identification, instruments=(best,))
            estimand = identification.to_dowhy()

        estimator = InstrumentalVariableEstimator(estimand, confidence_intervals=True,
                                                  confidence_level=confidence_level,
                                                  num_simulations=bootstrap_simulations)
        name = (f"iv.instrumental_variable ({'Wald' if _is_binary(frame[best]) else '2SLS'} on {best}, "
                f"first-stage F {f_stat:.0f}, bootstrap CI)")
    else:
        raise ValueError(f"not identified: {identification.reason}")
    estimator.fit(frame)
    fitted = estimator.estimate_effect(frame, treatment_value=1, control_value=0)
    value = float(fitted.value)
    ci = np.asarray(fitted.get_confidence_intervals(confidence_level=confidence_level), dtype=float).ravel()
    lo, hi = (float(min(ci[0], ci[1])), float(max(ci[0], ci[1]))) if ci.size >= 2 else (math.nan, math.nan)
    z = stats.norm.ppf(0.5 + confidence_level / 2)
    se = (hi - lo) / (2 * z) if math.isfinite(lo) and math.isfinite(hi) else math.nan
    p = float(2 * stats.norm.sf(abs(value) / se)) if se and math.isfinite(se) and se > 0 else math.nan
    scale = "risk difference" if _is_binary(frame[y]) and binary_t else (
        "difference in mean" if binary_t else f"per unit of {t}")
    result = EffectEstimate(value, lo, hi, se, p, len(frame), name, scale, _standardized(value, frame, t, y))
    return FittedEffect(result, identification, frame, estimand, fitted)
