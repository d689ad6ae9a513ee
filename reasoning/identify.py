"""Identification of P(effect | do(cause)) on the edge's causal model: backdoor, front-door, or IV.

Backdoor comes first, with the optimal adjustment set O(X, Y) = pa(cn(X, Y)) minus forb(X, Y) of
Henckel, Perković and Maathuis (2022), which has the smallest asymptotic variance among valid sets.
When latent variables fall in O, a minimal observed set is searched in the proper backdoor graph
(van der Zander, Liśkiewicz and Textor 2014). Both are polynomial, unlike an exhaustive search over
subsets, which matters at a hundred edges per run. Front-door (DoWhy's search, singleton sets as its
estimator needs) and instrumental variables (DoWhy's criterion) follow when no adjustment set exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from reasoning.model import CausalModelSpec

IdentificationKind = Literal["backdoor", "frontdoor", "iv", "none"]

MAX_FRONTDOOR_CANDIDATES = 12
"""The front-door search is exponential in the number of mediators; above this many it is skipped."""


@dataclass(frozen=True)
class Identification:
    """The estimand chosen for an edge, or why there is none."""

    treatment: str
    outcome: str
    kind: IdentificationKind
    adjustment_set: tuple[str, ...] = ()
    frontdoor_set: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    reason: str = ""

    @property
    def identified(self) -> bool:
        return self.kind != "none"

    @property
    def estimand(self) -> str:
        """Readable estimand, the value of ``mcrag:estimand``."""
        t, y = self.treatment, self.outcome
        if self.kind == "backdoor":
            if not self.adjustment_set:
                return f"backdoor: E[{y} | do({t})] = E[{y} | {t}] (no adjustment needed)"
            z = ", ".join(self.adjustment_set)
            return f"backdoor: E[{y} | do({t})] = sum_z E[{y} | {t}, z] P(z), z = {{{z}}}"
        if self.kind == "frontdoor":
            m = ", ".join(self.frontdoor_set)
            return f"frontdoor: E[{y} | do({t})] through {{{m}}} (effect {t} -> {{{m}}} times {{{m}}} -> {y} given {t})"
        if self.kind == "iv":
            return f"iv: cov({y}, Z) / cov({t}, Z), instruments Z = {{{', '.join(self.instruments)}}}"
        return f"not identifiable: {self.reason}"

    def to_dowhy(self) -> Any:
        """The same estimand as a DoWhy ``IdentifiedEstimand`` (for DoWhy's estimators and refuters)."""
        from dowhy.causal_identifier import (
            EstimandType,
            IdentifiedEstimand,
            construct_adjustment_estimand,
            construct_frontdoor_estimand,
            construct_iv_estimand,
        )

        t, y = [self.treatment], [self.outcome]
        adj = list(self.adjustment_set)
        estimands: dict[str, Any] = {"backdoor": None, "frontdoor": None, "iv": None}
        if self.kind == "backdoor":
            estimands["backdoor"] = construct_adjustment_estimand(t, y, adj)
        elif self.kind == "frontdoor":
            estimands["frontdoor"] = construct_frontdoor_estimand(t, y, list(self.frontdoor_set))
        elif self.kind == "iv":
            estimands["iv"] = construct_iv_estimand(t, y, list(self.instruments))
        else:
            raise ValueError(f"edge {self.treatment} -> {self.outcome} is not identified: {self.reason}")
        return IdentifiedEstimand(
            None, treatment_variable=t, outcome_variable=y, estimand_type=EstimandType.NONPARAMETRIC_ATE,
            estimands=estimands, backdoor_variables={"backdoor": adj}, instrumental_variables=list(self.instruments),
            frontdoor_variables=list(self.frontdoor_set), mediation_first_stage_confounders={"backdoor": []},
            mediation_second_stage_confounders={"backdoor": [self.treatment]}, default_backdoor_id="backdoor",
            identifier_method=self.kind)


def causal_nodes(g: nx.DiGraph, t: str, y: str) -> set[str]:
    """cn(T, Y): nodes other than T on a directed path from T to Y (Y included)."""
    return (nx.descendants(g, t) & (nx.ancestors(g, y) | {y})) | {y}


def optimal_adjustment_set(g: nx.DiGraph, t: str, y: str) -> set[str]:
    """O(T, Y) = pa(cn) minus (descendants of cn, and T): valid whenever any adjustment set is."""
    cn = causal_nodes(g, t, y)
    forb = {t} | cn
    for c in cn:
        forb |= nx.descendants(g, c)
    return {p for c in cn for p in g.predecessors(c)} - forb


def _proper_backdoor_graph(g: nx.DiGraph, t: str, y: str) -> nx.DiGraph:
    pbd = g.copy()
    cn = causal_nodes(g, t, y)
    pbd.remove_edges_from([(t, c) for c in list(g.successors(t)) if c in cn])
    return pbd


def is_valid_adjustment(g: nx.DiGraph, t: str, y: str, z: set[str]) -> bool:
    """Generalised adjustment criterion: no forbidden node in Z, and Z d-separates T and Y in the proper backdoor graph."""
    cn = causal_nodes(g, t, y)
    forb = {t} | cn
    for c in cn:
        forb |= nx.descendants(g, c)
    if z & forb:
        return False
    return bool(nx.is_d_separator(_proper_backdoor_graph(g, t, y), {t}, {y}, z))


def identify(model: CausalModelSpec, *, methods: Sequence[str] = ("backdoor", "frontdoor", "iv")) -> Identification:
    """The first of backdoor, front-door and IV that identifies the effect in the model, or why none does."""
    g = model.digraph()
    t, y, observed = model.treatment, model.outcome, set(model.observed)
    if "backdoor" in methods:
        o_set = optimal_adjustment_set(g, t, y)
        if o_set <= observed and is_valid_adjustment(g, t, y, o_set):
            return Identification(t, y, "backdoor", tuple(sorted(o_set)))
        allowed = (observed - {t, y}) - nx.descendants(g, t)
        found = nx.find_minimal_d_separator(_proper_backdoor_graph(g, t, y), {t}, {y}, restricted=allowed)
        if found is not None and is_valid_adjustment(g, t, y, set(found)):
            return Identification(t, y, "backdoor", tuple(sorted(found)))
    if "frontdoor" in methods and not g.has_edge(t, y):  # a direct edge cannot be intercepted by a mediator
        candidates = (nx.descendants(g, t) & nx.ancestors(g, y)) & observed
        if 0 < len(candidates) <= MAX_FRONTDOOR_CANDIDATES:
            from dowhy.causal_identifier.auto_identifier import identify_frontdoor

            fd = identify_frontdoor(g, [t], [y], sorted(observed))
            if fd and len(fd) == 1:
                return Identification(t, y, "frontdoor", frontdoor_set=tuple(fd))
    if "iv" in methods:
        from dowhy.graph import get_instruments

        ivs = sorted(set(get_instruments(g, [t], [y])) & observed)
        if ivs:
            return Identification(t, y, "iv", instruments=tuple(ivs))
    cut = g.copy()
    cut.remove_edges_from(list(g.out_edges(t)))
    confounders = sorted(set(model.latent) & nx.ancestors(g, t) & nx.ancestors(cut, y))
    why = (f"confounding through latent {', '.join(confounders)} (no data column) is not blocked by any observed "
           "set, and no front-door or instrumental variable applies") if confounders else \
        "no backdoor, front-door or IV estimand"
    return Identification(t, y, "none", reason=why)

