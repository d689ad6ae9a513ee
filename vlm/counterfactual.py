"""What the causal graph expects when a cause is switched off: the check behind counterfactual exemplars.

The validation engineers' intervention API (``reasoning.whatif``) is used when it is installed and
answers; otherwise a noisy-OR over the evidence subgraph gives ``P(effect | do(cause = 0))``: the
effect stays present only through its other active parents. Either way the result names the engine
that produced it, so a reader knows which model of the graph made the call.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reasoning.evidence import CausalSubgraph

log = logging.getLogger(__name__)

LATENT_PRIOR = 0.1
"""Probability assumed for a parent concept no front end observes (heart failure, smoking ...)."""
LEAK = 0.02


@dataclass(frozen=True)
class Expectation:
    probability: float
    factual: float
    engine: str


def _strength(edge: Any) -> float:
    if edge.effect is not None and 0.0 < abs(edge.effect) <= 1.0:
        return float(abs(edge.effect))
    return 0.8 * float(edge.confidence)


def noisy_or(subgraph: CausalSubgraph, observed: Mapping[str, float], target: str,
             do: Mapping[str, float]) -> float:
    """``P(target = 1)`` from its direct supporting parents, with intervened concepts fixed."""
    if target in do:
        return float(do[target])
    miss = 1.0 - LEAK
    for e in subgraph.edges:
        if e.object != target or not e.supports:
            continue
        p_parent = do.get(e.subject, observed.get(e.subject, LATENT_PRIOR))
        miss *= 1.0 - _strength(e) * float(p_parent)
    return 1.0 - miss


def _whatif() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module("reasoning.whatif")
    except Exception:  # noqa: BLE001 - optional component, absent or broken: fall back
        return None
    fn = getattr(module, "intervene", None)
    return fn if callable(fn) else None


def _as_probability(result: Any, target: str) -> float | None:
    if isinstance(result, int | float):
        return float(result)
    if isinstance(result, Mapping):
        for key in (target, "probability", "p", "effect", "value"):
            if key in result and isinstance(result[key], int | float):
                return float(result[key])
        return None
    for attr in ("probability", "p", "value", "expected"):
        v = getattr(result, attr, None)
        if isinstance(v, int | float):
            return float(v)
    getter = getattr(result, "get", None)
    if callable(getter):
        try:
            v = getter(target)
        except Exception:  # noqa: BLE001
            return None
        if isinstance(v, int | float):
            return float(v)
    return None


def expected_under_do(subgraph: CausalSubgraph, observed: Mapping[str, float], cause: str, target: str,
                      value: float = 0.0, *, store: Any = None) -> Expectation:
    """``P(target | do(cause = value))`` and the factual ``P(target)``; concept IRIs throughout."""
    factual = float(observed.get(target, noisy_or(subgraph, observed, target, {})))
    fn = _whatif()
    if fn is not None:
        params = set(inspect.signature(fn).parameters)
        kwargs: dict[str, Any] = {}
        for name, val in (("subgraph", subgraph), ("graph", subgraph), ("store", store), ("target", target),
                          ("outcome", target), ("evidence", dict(observed)), ("observed", dict(observed))):
            if name in params and val is not None:
                kwargs[name] = val
        for args in (({cause: value},), (cause, value)):
            try:
                p = _as_probability(fn(*args, **kwargs), target)
            except Exception as err:  # noqa: BLE001 - a foreign API that does not fit: fall back
                log.debug("reasoning.whatif.intervene did not answer (%s); using noisy-OR", err)
                continue
            if p is not None and 0.0 <= p <= 1.0:
                return Expectation(p, factual, "reasoning.whatif")
    return Expectation(noisy_or(subgraph, observed, target, {cause: value}), factual, "noisy-or")
