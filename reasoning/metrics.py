"""How close a discovered structure is to a known one: structural Hamming distance and edge F1.

The truth is a DAG over the observed variables plus the pairs that share a hidden confounder
(``a <-> b``). Every unordered pair is one of: no edge, ``a -> b``, ``b -> a``, ``<->``; a discovered
structure adds ``--`` for an edge whose orientation it leaves open (undirected, or a circle mark).
SHD counts the pairs whose type differs, so an unoriented true edge costs 1 and a reversed one 1.
Edge F1 is strict (only correctly oriented edges and correct ``<->`` count); adjacency F1 ignores
orientation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reasoning.discovery import DiscoveryResult, structure_from


@dataclass(frozen=True)
class StructureScore:
    """SHD and F1 of one discovered structure against the truth."""

    shd: int
    edge_precision: float
    edge_recall: float
    edge_f1: float
    adjacency_f1: float
    true_edges: int
    found_edges: int


def truth_structure(edges: Iterable[tuple[str, str]], confounded: Iterable[frozenset[str]] = ()) -> dict[frozenset[str], str]:
    """Pair -> ``a->b`` / ``<->`` for a DAG's edges and its latent-confounded pairs."""
    out: dict[frozenset[str], str] = {frozenset(p): "<->" for p in confounded}
    for a, b in edges:
        out[frozenset((a, b))] = f"{a}->{b}"
    return out


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score_structure(found: DiscoveryResult | Mapping[frozenset[str], str],
                    truth: Mapping[frozenset[str], str]) -> StructureScore:
    """Compare a discovered structure (or a pair -> type map) with the truth."""
    est = structure_from(found) if isinstance(found, DiscoveryResult) else dict(found)
    pairs = set(est) | set(truth)
    shd = sum(1 for p in pairs if est.get(p) != truth.get(p))
    oriented_est = {(p, t) for p, t in est.items() if t != "--"}
    oriented_true = set(truth.items())
    tp = len(oriented_est & oriented_true)
    precision = tp / len(oriented_est) if oriented_est else 1.0
    recall = tp / len(oriented_true) if oriented_true else 1.0
    adj_tp = len(set(est) & set(truth))
    adj_p = adj_tp / len(est) if est else 1.0
    adj_r = adj_tp / len(truth) if truth else 1.0
    return StructureScore(shd, round(precision, 4), round(recall, 4), round(_f1(precision, recall), 4),
                          round(_f1(adj_p, adj_r), 4), len(truth), len(est))
