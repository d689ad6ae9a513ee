"""What the causal graph expects when a cause is switched off: the check behind counterfactual exemplars.

When the grounder holds a graph posterior (``vlm.posterior``), the check asks that same model,
the one the answer reads: ``P(effect | do(cause = 0), the case's evidence)`` on the mutilated
network, beside the factual ``P(effect | evidence)``. Otherwise, when a findings table is at hand (the IU-Xray Open-i labels), ``reasoning.whatif``'s structural
model answers the single-case question "had this cause been absent, would the effect be present?" by
abduction, action and prediction on the trusted edges. Otherwise, or when it cannot
answer (a variable without data, an edge it does not trust), a noisy-OR over the evidence subgraph
gives ``P(effect | do(cause = 0))`` from the effect's other active parents. Each answer names the
engine that produced it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kg.store.base import Store
from reasoning.evidence import CausalSubgraph, EvidenceEdge

log = logging.getLogger(__name__)

LATENT_PRIOR = 0.1
"""Probability assumed for a parent concept no front end observes (heart failure, smoking ...)."""
LEAK = 0.02


@dataclass(frozen=True)
class Expectation:
    probability: float
    factual: float
    engine: str


class GraphQuery(Protocol):
    """One case's graph posterior, asked what an effect would be under ``do(cause = 0)``."""

    def expected(self, cause_iri: str, effect_iri: str) -> tuple[float, float] | None:
        """(interventional, factual) probability of the effect; None when the model lacks either node."""
        ...


def _strength(edge: EvidenceEdge) -> float:
    if edge.effect is not None and 0.0 < abs(edge.effect) <= 1.0:
        return float(abs(edge.effect))
    return 0.8 * float(edge.confidence)


def noisy_or(subgraph: CausalSubgraph, observed: Mapping[str, float], target: str,
             do: Mapping[str, float]) -> float:
    """``P(target = 1)`` from its direct supporting parents, with intervened concepts fixed (IRIs)."""
    if target in do:
        return float(do[target])
    miss = 1.0 - LEAK
    for e in subgraph.edges:
        if e.object != target or not e.supports:
            continue
        p_parent = do.get(e.subject, observed.get(e.subject, LATENT_PRIOR))
        miss *= 1.0 - _strength(e) * float(p_parent)
    return 1.0 - miss


class WhatIfEngine:
    """``reasoning.whatif``'s structural model, built once from the store and a findings table."""

    def __init__(self, model: Any, draws: int = 500) -> None:
        self.model = model
        self.draws = draws

    @classmethod
    def build(cls, store: Store, table: Path | str, draws: int = 500) -> WhatIfEngine | None:
        """The engine, or None when the what-if model cannot use this store and table."""
        from reasoning.whatif import whatif_model  # SciPy and pandas load here, not when retrieval starts

        try:
            return cls(whatif_model(store, table), draws)
        except Exception as err:  # noqa: BLE001 - optional component: report and fall back
            log.info("what-if model unavailable (%s); counterfactual checks use the noisy-OR", err)
            return None

    def expected(self, case: Mapping[str, float], cause: str, effect: str) -> float | None:
        """P(effect present) for this case had ``cause`` been absent (finding names or concept IRIs)."""
        from reasoning.whatif import counterfactual

        try:
            facts = {k: float(v >= 0.5) for k, v in case.items()}
            res = counterfactual(self.model, facts, {cause: 0.0}, outcomes=[effect], draws=self.draws)
            return float(res.outcomes[0].counterfactual)
        except Exception as err:  # noqa: BLE001 - a question it cannot answer: fall back
            log.debug("what-if could not answer do(%s=0) -> %s: %s", cause, effect, err)
            return None


def expected_under_do(subgraph: CausalSubgraph, observed: Mapping[str, float], edge: EvidenceEdge,
                      *, whatif: WhatIfEngine | None = None, case: Mapping[str, float] | None = None,
                      graph: GraphQuery | None = None) -> Expectation:
    """``P(edge.object | do(edge.subject = absent))`` for the query, and the factual probability.

    ``graph`` (the case's graph posterior) answers first; ``observed`` maps concept IRIs to the
    query's probabilities (for the noisy-OR); ``case`` maps finding names to them (for the what-if model).
    """
    if graph is not None:
        got = graph.expected(edge.subject, edge.object)
        if got is not None:
            return Expectation(float(got[0]), float(got[1]), "graph-posterior")
    factual = float(observed.get(edge.object, noisy_or(subgraph, observed, edge.object, {})))
    if whatif is not None and case is not None:
        p = whatif.expected(case, edge.subject_finding or edge.subject, edge.object_finding or edge.object)
        if p is not None and 0.0 <= p <= 1.0:
            return Expectation(p, factual, "reasoning.whatif")
    return Expectation(noisy_or(subgraph, observed, edge.object, {edge.subject: 0.0}), factual, "noisy-or")
