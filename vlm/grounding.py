"""Evidence for a set of findings, as the decoder's prompt sees it; shared by training and inference.

Subgraphs are cached per seed set: a data set or a stream of images revisits the same few hundred
combinations, and the store does not change under a running process. The front end's label names map
to concepts here (:data:`LABEL_CONCEPTS`): the 14 findings to their table concepts and ``COVID-19`` to
its own concept (not to pneumonia); ``normal`` has none.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from kg.concepts import FINDING_CONCEPTS, default_table
from kg.store.base import Store
from reasoning.evidence import CausalSubgraph, SeedRule, case_seeds, causal_subgraph, concept_iris_for
from vlm.labels import LABELS
from vlm.prompts import evidence_prompt_text

PROMPT_EDGES = 4


def _label_concepts() -> dict[str, str]:
    out = {name: c.iri for name, c in FINDING_CONCEPTS.items() if name in LABELS}
    if "COVID-19" in LABELS:
        out["COVID-19"] = default_table()["covid19"].iri
    return out


LABEL_CONCEPTS: dict[str, str] = _label_concepts()
"""Front-end label name -> concept IRI (every label but ``normal``)."""
LABEL_CONCEPT_IDS: dict[str, str] = {k: v.rsplit("/", 1)[-1] for k, v in LABEL_CONCEPTS.items()}
"""Front-end label name -> concept id of the chest concept table (the graph posterior's node names)."""
_IRI_LABELS = {v: k for k, v in LABEL_CONCEPTS.items()}


def label_for_iri(iri: str) -> str | None:
    """The front-end label a concept IRI stands for (None for a concept no front end reads)."""
    return _IRI_LABELS.get(iri)


def seed_iris(probabilities: Mapping[str, float], rule: SeedRule | None = None) -> tuple[str, ...]:
    """The concept IRIs that seed a case's evidence: its own findings by :func:`reasoning.evidence.case_seeds`."""
    by_iri = {LABEL_CONCEPTS[n]: float(p) for n, p in probabilities.items() if n in LABEL_CONCEPTS}
    return case_seeds(by_iri, rule)


class SubgraphCache:
    """LRU cache of :func:`reasoning.evidence.causal_subgraph` keyed by (seed set, hops, proposed or not).

    Seeds are finding names (``Effusion``, ``COVID-19``) or concept IRIs.
    """

    def __init__(self, store: Store, hops: int = 2, max_edges: int = 40, size: int = 1024) -> None:
        self.store = store
        self.hops = hops
        self.max_edges = max_edges
        self.size = size
        self._cache: OrderedDict[tuple[frozenset[str], int, bool], CausalSubgraph] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, findings: Iterable[str], hops: int | None = None, *, include_proposed: bool = False) -> CausalSubgraph:
        seeds = [f for f in findings if f != "normal"]
        iris = [LABEL_CONCEPTS.get(f, f) for f in seeds]
        key = (frozenset(iris), self.hops if hops is None else hops, include_proposed)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                self.hits += 1
                return self._cache[key]
        sub = causal_subgraph(self.store, concept_iris_for(sorted(key[0])), hops=key[1], max_edges=self.max_edges,
                              include_proposed=include_proposed)
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
