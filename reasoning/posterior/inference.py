"""Exact posterior marginals of a fitted network under soft evidence, for one case or a batch.

Soft (virtual, likelihood) evidence on a node X is a likelihood vector ``lambda(x)``: the network's
joint is multiplied by it, exactly as pgmpy's ``virtual_evidence`` does by adding a child of X whose
observed state has probability ``lambda(x)``. The marginals are tensor contractions of the
conditional tables (each with its node's evidence folded in) over all variables, every target in
one contraction; opt_einsum finds a contraction order once per network, batch size and target list
(greedy: the result is exact whatever the order, only the cost depends on it, and a parent cap of 3
over 15-30 nodes keeps it small) and the same compiled expression serves every case of a batch.
:func:`reference_marginals` asks pgmpy's variable elimination the same question, one case at a time,
and the tests hold the two to the same answer.

An intervention ``do(X = x)`` replaces X's table by a point mass at ``x`` with no parents (the
mutilated graph of pgmpy's ``DiscreteBayesianNetwork.do``); the front end's reading of X is then
uninformative and dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import opt_einsum as oe

from reasoning.posterior.fit import FittedNetwork
from reasoning.posterior.graph import PosteriorError


@dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """Conditional tables as dense arrays, with cached contraction expressions per batch size and targets."""

    nodes: tuple[str, ...]
    tables: tuple[tuple[tuple[str, ...], np.ndarray], ...]
    """Per node: (variables, table) with the node first, as :meth:`FittedNetwork.cpd` gives them."""
    _cache: dict[tuple[int, tuple[str, ...]], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_network(cls, network: FittedNetwork) -> CompiledNetwork:
        nodes = network.graph.nodes
        return cls(nodes, tuple(network.cpd(n) for n in nodes))

    def intervened(self, do: Mapping[str, int]) -> CompiledNetwork:
        """The mutilated network: each intervened node's table is a point mass at its set value."""
        unknown = [n for n in do if n not in self.nodes]
        if unknown:
            raise PosteriorError(f"graph posterior: cannot intervene on unknown node(s) {', '.join(unknown)}")
        tables: list[tuple[tuple[str, ...], np.ndarray]] = []
        for (variables, table), node in zip(self.tables, self.nodes, strict=True):
            if node in do:
                if do[node] not in (0, 1):
                    raise PosteriorError(f"graph posterior: do({node} = {do[node]!r}) must set 0 or 1")
                point = np.zeros(2)
                point[int(do[node])] = 1.0
                tables.append(((node,), point))
            else:
                tables.append((variables, table))
        return CompiledNetwork(self.nodes, tuple(tables))

    def _expression(self, batch: int, targets: tuple[str, ...]) -> Any:
        key = (batch, targets)
        expr = self._cache.get(key)
        if expr is None:
            sym = {n: oe.get_symbol(i) for i, n in enumerate(self.nodes)}
            b, t = oe.get_symbol(len(self.nodes)), oe.get_symbol(len(self.nodes) + 1)
            terms = [b + t + "".join(sym[v] for v in variables) for variables, _ in self.tables]
            shapes = [(batch, len(targets) + 1, *table.shape) for _, table in self.tables]
            expr = oe.contract_expression(",".join(terms) + "->" + b + t, *shapes, optimize="greedy")
            self._cache[key] = expr
        return expr

    def marginals(self, likelihood: np.ndarray, targets: Sequence[str] | None = None) -> np.ndarray:
        """P(node = 1 | evidence) for each case (rows) and target (columns).

        ``likelihood`` has shape (cases, nodes, 2) in :attr:`nodes` order; a node without evidence
        has ``[1, 1]``. Rows are scaled to a maximum of 1 per node first (the answer does not change).
        Each node's evidence is folded into its own table (one operand per node, with a case axis),
        which keeps the contraction to the network's own width. One contraction answers every target:
        a second axis holds, per target, the evidence times the indicator "target present" (and, last,
        the evidence alone, whose sum is the normaliser).
        """
        lam = np.asarray(likelihood, dtype=np.float64)
        if lam.ndim != 3 or lam.shape[1:] != (len(self.nodes), 2):
            raise PosteriorError(f"graph posterior: likelihood must have shape (cases, {len(self.nodes)}, 2), "
                                 f"got {lam.shape}")
        if not np.isfinite(lam).all() or (lam < 0).any() or (lam.max(axis=2) <= 0).any():
            raise PosteriorError("graph posterior: a likelihood is negative, not finite or zero for both states")
        lam = lam / lam.max(axis=2, keepdims=True)
        names = tuple(targets) if targets is not None else self.nodes
        idx = {n: i for i, n in enumerate(self.nodes)}
        unknown = [n for n in names if n not in idx]
        if unknown:
            raise PosteriorError(f"graph posterior: unknown node(s) {', '.join(map(repr, unknown))}")
        n, k = lam.shape[0], len(names)
        selected = np.repeat(lam[:, None, :, :], k + 1, axis=1)  # (cases, targets + 1, nodes, 2)
        for j, name in enumerate(names):
            selected[:, j, idx[name], 0] = 0.0
        operands = [table[None, None] * selected[:, :, i, :].reshape((n, k + 1, 2) + (1,) * (table.ndim - 1))
                    for i, (_, table) in enumerate(self.tables)]
        joint = self._expression(n, names)(*operands)
        return joint[:, :k] / joint[:, k:]


def reference_marginals(network: FittedNetwork, likelihood: Mapping[str, tuple[float, float]],
                        do: Mapping[str, int] | None = None) -> dict[str, float]:
    """P(node = 1 | evidence) for every node by pgmpy's variable elimination (slow; one case)."""
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination

    model = network.model
    hard: dict[str, int] = {}
    if do:
        model = model.do(list(do))
        hard = {k: int(v) for k, v in do.items()}
    virtual = []
    for node, lam in likelihood.items():
        if node in hard:
            continue
        top = max(lam)
        virtual.append(TabularCPD(node, 2, [[lam[0] / top], [lam[1] / top]], state_names={node: [0, 1]}))
    out: dict[str, float] = {}
    for node in network.graph.nodes:
        if node in hard:
            out[node] = float(hard[node])
            continue
        ve = VariableElimination(model)  # pgmpy's virtual evidence rebuilds the engine's model
        q = ve.query([node], evidence=hard or None, virtual_evidence=virtual or None, show_progress=False)
        out[node] = float(q.get_value(**{node: 1}))
    return out
