"""DoWhy refuters run against one estimate: does the effect survive checks it should survive?

* placebo treatment (permuted): the effect of a shuffled treatment should be zero;
* random common cause: adding an independent confounder should not move the estimate;
* data subset (80 %): re-estimating on random subsets should give the same effect;
* bootstrap: re-estimating on resamples (with DoWhy's small measurement noise on confounders) likewise.

DoWhy defaults to 100 simulations per refuter, each a full re-fit. A refuter asks only whether the
estimate lies in the bulk of the simulated distribution, which DoWhy tests with a normal
approximation below 100 simulations; 25 simulations estimate that distribution's mean and spread
well enough for a 5 % test, at a quarter of the cost. Each refuter's test runs at alpha / (number of
refuters) so that a sound estimate fails some refuter by chance in about 5 % of edges, not 15-20 %.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reasoning.estimate import FittedEffect, _dowhy_quiet

log = logging.getLogger(__name__)

REFUTERS: tuple[str, ...] = ("placebo_treatment", "random_common_cause", "data_subset", "bootstrap")
DEFAULT_REFUTERS: tuple[str, ...] = ("placebo_treatment", "random_common_cause", "data_subset")
DEFAULT_SIMULATIONS = 25


@dataclass(frozen=True)
class RefutationOutcome:
    """One refuter's verdict: passed, its p-value and the effect it found."""

    refuter: str
    passed: bool | None
    """``None`` when the refuter could not run for this estimand (the note says why)."""
    p_value: float | None
    new_effect: float | None
    note: str = ""


def refute(fitted: FittedEffect, *, refuters: Sequence[str] = DEFAULT_REFUTERS,
           num_simulations: int = DEFAULT_SIMULATIONS, alpha: float = 0.05, seed: int = 0) -> tuple[RefutationOutcome, ...]:
    """Run the refuters (sequentially: callers parallelise across edges, where the work is)."""
    unknown = [r for r in refuters if r not in REFUTERS]
    if unknown:
        raise ValueError(f"unknown refuter(s) {', '.join(unknown)}; use {', '.join(REFUTERS)}")
    _dowhy_quiet()
    from dowhy.causal_refuters.bootstrap_refuter import refute_bootstrap
    from dowhy.causal_refuters.data_subset_refuter import refute_data_subset
    from dowhy.causal_refuters.placebo_treatment_refuter import PlaceboType, refute_placebo_treatment
    from dowhy.causal_refuters.random_common_cause import refute_random_common_cause

    level = alpha / max(len(refuters), 1)
    data, estimand, estimate = fitted.data, fitted.dowhy_estimand, fitted.dowhy_estimate
    kind = fitted.identification.kind
    out = []
    for i, name in enumerate(refuters):
        rng = np.random.RandomState(seed + 7919 * i)
        np.random.seed(seed + 7919 * i)  # DoWhy draws some noise from the global generator
        if name == "random_common_cause" and kind != "backdoor":
            out.append(RefutationOutcome(name, None, None, None, f"applies to adjustment estimands, not {kind}"))
            continue
        try:
            if name == "placebo_treatment":
                res = refute_placebo_treatment(data, estimand, estimate, fitted.identification.to_dowhy().treatment_variable,
                                               num_simulations=num_simulations, placebo_type=PlaceboType.PERMUTE,
                                               random_state=rng)
            elif name == "random_common_cause":
                res = refute_random_common_cause(data, estimand, estimate, num_simulations=num_simulations,
                                                 random_state=rng)
            elif name == "data_subset":
                res = refute_data_subset(data, estimand, estimate, subset_fraction=0.8,
                                         num_simulations=num_simulations, random_state=rng)
            else:
                res = refute_bootstrap(data, estimand, estimate, num_simulations=num_simulations, random_state=rng)
        except Exception as err:  # a refuter that cannot run must not stop the validation run
            log.info("refuter %s failed on %s -> %s: %s", name, fitted.identification.treatment,
                     fitted.identification.outcome, err)
            out.append(RefutationOutcome(name, None, None, None, f"could not run: {type(err).__name__}: {err}"))
            continue
        p = res.refutation_result.get("p_value") if res.refutation_result else None
        p_val = float(p) if p is not None and math.isfinite(float(p)) else None
        new = float(res.new_effect) if res.new_effect is not None and np.isfinite(res.new_effect) else None
        passed = None if p_val is None else bool(p_val > level)
        out.append(RefutationOutcome(name, passed, p_val, new))
    return tuple(out)
