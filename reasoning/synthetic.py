"""Structural causal models with known graphs and known effects: the ground truth for tests and benchmarks.

Binary models use logistic mechanisms, P(v = 1 | pa) = sigmoid(b + sum w * pa); linear-Gaussian models
v = sum w * pa + N(0, 1). Latent variables (hidden confounders) are roots with two observed children
each; they are sampled but left out of :meth:`SyntheticSCM.observed_frame`. The true average effect
of x on y is exact for linear models (the sum over directed paths of the products of weights) and,
for binary models, a Monte Carlo difference of do(x = 1) and do(x = 0) with common random numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd

Kind = Literal["binary", "linear"]


@dataclass(frozen=True, eq=False)
class SyntheticSCM:
    """A DAG with mechanisms; variables ``x00``, ``x01``, ... and latent ``u0``, ``u1``, ..."""

    graph: nx.DiGraph
    kind: Kind
    weights: Mapping[tuple[str, str], float]
    intercepts: Mapping[str, float]
    latent: tuple[str, ...] = ()
    _cache: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    @property
    def observed(self) -> tuple[str, ...]:
        return tuple(v for v in self.order if v not in self.latent)

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(nx.lexicographical_topological_sort(self.graph))

    def observed_edges(self) -> list[tuple[str, str]]:
        return sorted((u, v) for u, v in self.graph.edges if u not in self.latent and v not in self.latent)

    def confounded_pairs(self) -> set[frozenset[str]]:
        """Observed pairs that share a latent parent."""
        out = set()
        for u in self.latent:
            kids = sorted(self.graph.successors(u))
            for i, a in enumerate(kids):
                for b in kids[i + 1:]:
                    out.add(frozenset((a, b)))
        return out

    def sample(self, n: int, seed: int | np.random.Generator = 0, do: Mapping[str, float] | None = None,
               noise: Mapping[str, np.ndarray] | None = None) -> pd.DataFrame:
        """``n`` rows of every variable (latent included); ``do`` fixes variables; ``noise`` reuses draws."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        values: dict[str, np.ndarray] = {}
        for v in self.order:
            e = noise[v] if noise is not None else (rng.random(n) if self.kind == "binary" else rng.standard_normal(n))
            if do and v in do:
                values[v] = np.full(n, float(do[v]))
                continue
            z = self.intercepts.get(v, 0.0) + sum(self.weights[(p, v)] * values[p] for p in self.graph.predecessors(v))
            z = np.broadcast_to(np.asarray(z, dtype=float), (n,))
            values[v] = (e < 1.0 / (1.0 + np.exp(-z))).astype(float) if self.kind == "binary" else z + e
        return pd.DataFrame({v: values[v] for v in self.order})

    def observed_frame(self, n: int, seed: int = 0) -> pd.DataFrame:
        return self.sample(n, seed)[list(self.observed)]

    def true_effect(self, x: str, y: str, *, draws: int = 200_000, seed: int = 12345) -> float:
        """E[y | do(x = 1)] - E[y | do(x = 0)] (per unit of x for linear models)."""
        if (x, y) in self._cache:
            return self._cache[(x, y)]
        if not nx.has_path(self.graph, x, y):
            value = 0.0
        elif self.kind == "linear":
            value = 0.0
            for path in nx.all_simple_paths(self.graph, x, y):
                value += math.prod(self.weights[(a, b)] for a, b in zip(path, path[1:], strict=False))
        else:
            rng = np.random.default_rng(seed)
            noise = {v: rng.random(draws) for v in self.order}
            value = float(self.sample(draws, rng, {x: 1.0}, noise)[y].mean() - self.sample(draws, rng, {x: 0.0}, noise)[y].mean())
        self._cache[(x, y)] = value
        return value


def random_scm(n_vars: int, n_edges: int, kind: Kind = "binary", *, n_latent: int = 0, seed: int = 0) -> SyntheticSCM:
    """A random DAG over ``n_vars`` observed variables with ``n_edges`` edges and ``n_latent`` hidden confounders."""
    rng = np.random.default_rng(seed)
    names = [f"x{i:02d}" for i in range(n_vars)]
    max_edges = n_vars * (n_vars - 1) // 2
    if n_edges > max_edges:
        raise ValueError(f"{n_vars} variables hold at most {max_edges} edges")
    g = nx.DiGraph()
    g.add_nodes_from(names)
    pairs = [(i, j) for i in range(n_vars) for j in range(i + 1, n_vars)]
    # favour short-range edges (i -> i+1..i+6) so that graphs are sparse chains with local structure
    w = np.array([1.0 / (j - i) for i, j in pairs])
    for k in rng.choice(len(pairs), size=n_edges, replace=False, p=w / w.sum()):
        i, j = pairs[k]
        g.add_edge(names[i], names[j])
    latent = []
    for k in range(n_latent):
        u = f"u{k}"
        a, b = rng.choice(n_vars, size=2, replace=False)
        g.add_edge(u, names[int(a)])
        g.add_edge(u, names[int(b)])
        latent.append(u)
    weights: dict[tuple[str, str], float] = {}
    intercepts: dict[str, float] = {}
    for u, v in g.edges:
        sign = 1.0 if rng.random() < 0.75 else -1.0
        weights[(u, v)] = sign * float(rng.uniform(1.0, 2.0) if kind == "binary" else rng.uniform(0.4, 0.9))
    for v in g.nodes:
        if kind == "binary":
            base = float(rng.uniform(0.15, 0.5))
            intercepts[v] = math.log(base / (1 - base)) - 0.3 * sum(weights[(p, v)] for p in g.predecessors(v))
        else:
            intercepts[v] = 0.0
    return SyntheticSCM(g, kind, weights, intercepts, tuple(latent))
