"""How unsure a validation verdict is: the statistic the review queue is ordered by.

Validation computes it from the DoWhy estimate, the refuters and causal discovery, and writes it onto
the result (``mcrag:uncertainty``); the queue in ``kg.curation`` reads it back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from kg.validations import UNVALIDATED_UNCERTAINTY


def verdict_uncertainty(verdict: str | None, *, discovery: str | None = None, effect: float | None = None,
                        ci_low: float | None = None, ci_high: float | None = None,
                        refuter_passed: Sequence[bool | None] = (), refuter_p_values: Sequence[float | None] = (),
                        margin: float = 0.05, reason: str = "") -> float:
    """How unsure a verdict is, in [0, 1]: what puts a claim near the top of the review queue.

    A verdict near its decision boundary (an interval that barely excludes zero, or barely fits the
    no-effect margin), a refuter that fails or nearly fails, and discovery disagreeing with the
    estimate all raise it; a claim never validated, or untestable on the data, sits in the middle.
    """
    if verdict is None:
        return UNVALIDATED_UNCERTAINTY
    if verdict == "notTestable":
        data_limited = any(k in reason for k in ("too few samples", "inconclusive", "too wide"))
        base = 0.5 if data_limited else 0.3
    else:
        finite = all(v is not None and math.isfinite(v) for v in (effect, ci_low, ci_high))
        if not finite:
            base = 0.5
        else:
            assert effect is not None and ci_low is not None and ci_high is not None
            se = (ci_high - ci_low) / 3.92
            z = abs(effect) / se if se > 0 else math.inf
            excludes_zero = ci_low > 0 or ci_high < 0
            if excludes_zero:
                base = min(1.0, (1.96 / z) ** 2) if z > 0 else 1.0
            else:  # a null result: how close the interval comes to an effect worth having
                base = min(1.0, max(abs(ci_low), abs(ci_high)) / margin) if margin > 0 else 1.0
        if any(p is False for p in refuter_passed):
            base = max(base, 0.8)
    n_refuters = max(len(refuter_p_values), 1)
    near = sum(1 for p, ok in zip(refuter_p_values, refuter_passed, strict=False)
               if ok and p is not None and p < 2 * 0.05 / n_refuters)
    base += 0.1 * near
    if discovery is not None:
        disagrees = (verdict == "validated" and discovery in ("contradicted", "reversed")) or (
            verdict == "refuted" and discovery == "supported")
        if disagrees:
            base += 0.3
    return round(min(1.0, max(0.0, base)), 4)
