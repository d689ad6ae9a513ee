"""Evidence for a set of findings, as the decoder's prompt sees it; shared by training and inference.

Subgraphs are cached per finding set: a data set or a stream of images revisits the same few
hundred combinations, and the store does not change under a running process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from kg.store.base import Store
from reasoning.evidence import CausalSubgraph, causal_subgraph, concept_iris_for
from vlm.prompts import evidence_prompt_text

PROMPT_EDGES = 4


class SubgraphCache:
    """LRU cache of :func:`reasoning.evidence.causal_subgraph` keyed by (finding set, hops)."""

    def __init__(self, store: Store, hops: int = 2, max_edges: int = 40, size: int = 1024) -> None:
        self.store = store
        self.hops = hops
        self.max_edges = max_edges
        self.size = size
        self._cache: OrderedDict[tuple[frozenset[str], int], CausalSubgraph] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, findings: Iterable[str], hops: int | None = None) -> CausalSubgraph:
        key = (frozenset(f for f in findings if f != "normal"), self.hops if hops is None else hops)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.hits += 1
                return self._cache[key]
        sub = causal_subgraph(self.store, concept_iris_for(sorted(key[0])), hops=key[1], max_edges=self.max_edges)
        with self._lock:
            self.misses += 1
            self._cache[key] = sub
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return sub


def prompt_evidence(subgraph: CausalSubgraph | None, max_edges: int = PROMPT_EDGES) -> str:
    """The evidence field of a prompt: the first supporting edges, with their ``E`` references."""
    if subgraph is None or not subgraph.edges:
        return ""
    return evidence_prompt_text(subgraph.to_prompt_text(max_edges, supporting_only=True), max_edges)


def starter_store() -> Store:
    """An in-memory store with the ontology and the curated starter graph (no files needed)."""
    from kg.ontology import bootstrap
    from kg.store import open_store

    store = open_store(":memory:")
    bootstrap(store)
    return store
