"""Mining causal claims from radiology reports and biomedical abstracts into the knowledge graph.

:mod:`.api` is the entry point (``mine_reports``, ``mine_literature``, ``build_finding_matrix``;
``train_literature_models`` trains the literature miner). Four subpackages:

* :mod:`.core`: what both miners share: documents and file readers, the base spaCy pipeline, report
  sections and ConText rules, the term matcher and causal cues, the partition runner (inline, local
  processes or Dask; one typed task per miner) and the writer of claims into the store;
* :mod:`.reports`: the report miner (finding mentions with their ConText status, in-report causal
  statements, the report x finding matrix);
* :mod:`.literature`: the literature miner (learned recogniser and dictionary mentions normalised through
  the concept table, candidate pairs of chemicals, diseases, findings, exposures and procedures, typed
  relations with direction, polarity and claim strength, scope; its models trained into one folder);
* :mod:`.classifiers`: the learned literature classifiers (chemical / disease recogniser, relation
  kinds with their direction, negation, claim strength, document-level cause scorer) and their
  training on BC5CDR, BioRED, ADE, Yu et al. and NegEx.

The concepts everything normalises to are in :mod:`kg.concepts`. Imports ``kg.*`` only.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MiningSummary", "build_finding_matrix", "mine_literature", "mine_reports", "train_literature_models"]


def __getattr__(name: str) -> Any:
    """Load the API lazily: ``import kg.mining`` must not pull in spaCy and medspaCy."""
    if name in ("MiningSummary", "build_finding_matrix", "mine_literature", "mine_reports"):
        from kg.mining import api

        return getattr(api, name)
    if name == "train_literature_models":
        from kg.mining.literature.training import train_literature_models

        return train_literature_models
    raise AttributeError(f"module 'kg.mining' has no attribute {name!r}")
