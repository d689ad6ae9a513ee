"""A graph posterior over chest findings: a causal Bayesian network read with the front end's scores.

* :mod:`~reasoning.posterior.graph`: the given causal edges as a DAG over the model's nodes;
* :mod:`~reasoning.posterior.labels`: multi-source label tables (uncertain and unreported kept apart);
* :mod:`~reasoning.posterior.fit`: pgmpy tables per family, fitted on the sources that report it,
  with per-source effects and the sources each edge's parameters came from;
* :mod:`~reasoning.posterior.reading`: the front end's score given (finding, view): soft evidence
  that does not carry the view's association with the findings (the backdoor reading);
* :mod:`~reasoning.posterior.inference`: exact marginals under soft evidence and ``do()``;
* :mod:`~reasoning.posterior.model`: :class:`GraphPosterior`, per case and per batch.
"""

from reasoning.posterior.fit import FitSettings, FittedNetwork, fit_network
from reasoning.posterior.graph import DroppedEdge, Edge, FindingGraph, PosteriorError, finding_graph
from reasoning.posterior.inference import CompiledNetwork, reference_marginals
from reasoning.posterior.labels import LabelData, LabelSettings, label_data
from reasoning.posterior.model import FindingPosterior, GraphPosterior, PosteriorResult, build_posterior
from reasoning.posterior.provenance import EdgeRecord, NodeRecord, SourceEffect
from reasoning.posterior.reading import (
    ScoreFit,
    ScoreReading,
    calibrated_reading,
    fit_reading,
    logit,
    view_stratum,
)

__all__ = [
    "CompiledNetwork", "DroppedEdge", "Edge", "EdgeRecord", "FindingGraph", "FindingPosterior", "FitSettings",
    "FittedNetwork", "GraphPosterior", "LabelData", "LabelSettings", "NodeRecord", "PosteriorError",
    "PosteriorResult", "ScoreFit", "ScoreReading", "SourceEffect", "build_posterior", "calibrated_reading",
    "finding_graph", "fit_network", "fit_reading", "label_data", "logit", "reference_marginals", "view_stratum",
]
