"""Mining causal claims from radiology reports and biomedical abstracts into the knowledge graph.

Readers (:mod:`.readers`) turn files into documents; spaCy pipelines built from registered factories
(:mod:`.nlp`) find finding mentions with their ConText status (reports) or chemical / disease mentions
with stated cause -> effect patterns (literature); :mod:`.relation_model` scores candidate pairs with a
calibrated classifier; :mod:`.runner` runs partitions inline, on local processes or on Dask; :mod:`.api`
is the entry point (``mine_reports``, ``mine_literature``, ``build_finding_matrix``; training in
:mod:`.training`). Imports ``kg.*`` only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MiningSummary", "build_finding_matrix", "mine_literature", "mine_reports", "train_relations"]


def __getattr__(name: str) -> Any:
    """Load the API lazily: ``import kg.mining`` must not pull in spaCy and medspaCy."""
    if name in ("MiningSummary", "build_finding_matrix", "mine_literature", "mine_reports"):
        from kg.mining import api

        return getattr(api, name)
    if name == "train_relations":
        from kg.mining.training import train_relations

        return train_relations
    raise AttributeError(f"module 'kg.mining' has no attribute {name!r}")
