"""The graph posterior: a fitted network plus the front end's reading, asked per case or per batch.

The front end's per-finding probabilities become soft evidence through the reading (a likelihood
ratio per finding, given the view under the backdoor reading); the network's prior over findings
(fitted on the label tables, never conditioned on the view) combines them along the causal graph;
the answer is the posterior probability of every node, latent diseases included. ``interventional``
asks the same model what the findings would be under ``do(finding = 0 / 1)`` given the same
evidence, which is what a counterfactual check compares a case against.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reasoning.posterior.fit import FitSettings, FittedNetwork, fit_network
from reasoning.posterior.graph import Edge, PosteriorError
from reasoning.posterior.inference import CompiledNetwork
from reasoning.posterior.labels import LabelData
from reasoning.posterior.reading import ScoreReading, logit

_MAX_LOG_LR = 30.0


@dataclass(frozen=True)
class FindingPosterior:
    """One node of one case: the prior, the front end's reading and the posterior."""

    node: str
    prior: float
    posterior: float
    front_end: float | None = None
    """The front end's probability (None for a node it does not score, e.g. a latent disease)."""
    log_lr: float | None = None
    stratum: str | None = None
    """The view stratum whose score model read the front end (``*`` pooled)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"node": self.node, "prior": round(self.prior, 4), "posterior": round(self.posterior, 4)}
        if self.front_end is not None:
            out.update(front_end=round(self.front_end, 4), log_likelihood_ratio=round(float(self.log_lr or 0.0), 4),
                       stratum=self.stratum)
        return out


@dataclass(frozen=True)
class PosteriorResult:
    """Posterior of every node for one case, under the evidence and any intervention."""

    findings: tuple[FindingPosterior, ...]
    view: str | None
    reading: str
    do: Mapping[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def probability(self, node: str) -> float:
        for f in self.findings:
            if f.node == node:
                return f.posterior
        raise PosteriorError(f"graph posterior: unknown node {node!r}")

    def as_dict(self) -> dict[str, float]:
        return {f.node: f.posterior for f in self.findings}

    def to_json(self) -> dict[str, Any]:
        return {"view": self.view, "reading": self.reading, "do": dict(self.do),
                "findings": [f.to_json() for f in self.findings], "seconds": round(self.seconds, 5)}


@dataclass(frozen=True, eq=False)
class GraphPosterior:
    """A fitted causal network over findings and the front end's reading of them."""

    network: FittedNetwork
    reading: ScoreReading
    compiled: CompiledNetwork
    priors: Mapping[str, float]
    _intervened: dict[tuple[tuple[str, int], ...], CompiledNetwork] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, network: FittedNetwork, reading: ScoreReading) -> GraphPosterior:
        compiled = CompiledNetwork.from_network(network)
        prior = compiled.marginals(np.ones((1, len(compiled.nodes), 2)))[0]
        return cls(network, reading, compiled, dict(zip(compiled.nodes, map(float, prior), strict=True)))

    def with_reading(self, reading: ScoreReading) -> GraphPosterior:
        """The same network (and its compiled contractions) read through another score model."""
        return GraphPosterior(self.network, reading, self.compiled, self.priors, self._intervened)

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.compiled.nodes

    @property
    def read_findings(self) -> tuple[str, ...]:
        """Nodes the front end's reading gives evidence on."""
        return tuple(n for n in self.nodes if n in self.reading.findings)

    # ---------------------------------------------------------------------------------- evidence
    def log_lr(self, logits: pd.DataFrame, views: Sequence[object]) -> np.ndarray:
        """Per case and node, the log likelihood ratio the front end's logits give (0 where none)."""
        out = np.zeros((len(logits), len(self.nodes)))
        for j, node in enumerate(self.nodes):
            if node in logits.columns and node in self.reading.findings:
                x = logits[node].to_numpy(dtype=np.float64)
                ok = np.isfinite(x)
                if ok.any():
                    out[ok, j] = self.reading.log_lr(node, x[ok], np.asarray(views, dtype=object)[ok])
        return np.clip(out, -_MAX_LOG_LR, _MAX_LOG_LR)

    @staticmethod
    def likelihood(log_lr: np.ndarray) -> np.ndarray:
        """(cases, nodes, 2) likelihood vectors [P(s | absent), P(s | present)] up to a factor."""
        lam = np.empty((*log_lr.shape, 2))
        lam[..., 0] = np.exp(-np.maximum(log_lr, 0.0))
        lam[..., 1] = np.exp(np.minimum(log_lr, 0.0))
        return lam

    def _network(self, do: Mapping[str, int] | None) -> CompiledNetwork:
        if not do:
            return self.compiled
        key = tuple(sorted((k, int(v)) for k, v in do.items()))
        net = self._intervened.get(key)
        if net is None:
            net = self._intervened[key] = self.compiled.intervened(dict(key))
        return net

    # ---------------------------------------------------------------------------------- queries
    def posterior_batch(self, logits: pd.DataFrame, views: Sequence[object], *,
                        do: Mapping[str, int] | None = None, targets: Iterable[str] | None = None) -> pd.DataFrame:
        """Posterior P(node = 1) for each case (rows of ``logits``: front-end logits per finding, NaN for
        none) and node, optionally under ``do``."""
        llr = self.log_lr(logits, views)
        if do:
            for node in do:
                if node in self.nodes:
                    llr[:, self.nodes.index(node)] = 0.0
        names = list(targets) if targets is not None else list(self.nodes)
        post = self._network(do).marginals(self.likelihood(llr), names)
        return pd.DataFrame(post, index=logits.index, columns=names)

    def posterior(self, probs: Mapping[str, float], view: object = None, *,
                  do: Mapping[str, int] | None = None) -> PosteriorResult:
        """One case: the front end's probabilities per finding (any subset of the read findings)."""
        t0 = time.perf_counter()
        unknown = [k for k in probs if k not in self.nodes]
        if unknown:
            raise PosteriorError(f"graph posterior: finding(s) {', '.join(map(repr, unknown))} are not model nodes")
        for k, p in probs.items():
            if not 0.0 <= float(p) <= 1.0:
                raise PosteriorError(f"graph posterior: probability of {k!r} must lie in [0, 1], got {p!r}")
        row = pd.DataFrame([{k: float(logit(float(p))) for k, p in probs.items()}])
        post = self.posterior_batch(row, [view], do=do).iloc[0]
        llr = self.log_lr(row, [view])[0]
        findings = []
        for j, node in enumerate(self.nodes):
            read = node in probs and node in self.reading.findings and not (do and node in do)
            findings.append(FindingPosterior(
                node, self.priors[node], float(post[node]), float(probs[node]) if read else None,
                float(llr[j]) if read else None, self.reading.stratum_used(node, view) if read else None))
        return PosteriorResult(tuple(findings), None if view is None else str(view), self.reading.mode,
                               dict(do or {}), time.perf_counter() - t0)

    def interventional(self, do: Mapping[str, int], probs: Mapping[str, float], view: object = None) -> PosteriorResult:
        """The case's posterior had ``do`` set those findings (the mutilated graph, same evidence elsewhere)."""
        if not do:
            raise PosteriorError("graph posterior: an interventional query needs at least one do(node = value)")
        return self.posterior(probs, view, do=do)

    def edge_sources(self) -> dict[Edge, tuple[str, ...]]:
        """For every edge the network uses, the sources its parameters came from."""
        return {r.edge: r.sources for r in self.network.edges if r.used}


def build_posterior(nodes: Sequence[str], edges: Iterable[tuple[str, str] | Edge], data: LabelData,
                    reading: ScoreReading, settings: FitSettings | None = None) -> GraphPosterior:
    """Fit the network on ``data`` over ``nodes`` with structure ``edges``, and pair it with ``reading``."""
    return GraphPosterior.build(fit_network(nodes, edges, data, settings), reading)
