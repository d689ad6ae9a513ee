"""The grounder as the benchmarks drive it: front-end outputs computed in batch, retrieval per case.

A benchmark computes its front end once for a whole split (an image classifier, or gold labels
through the noise model) and then asks the unchanged :class:`vlm.infer.Grounder` for each case in
each retrieval mode, through its public extension points: the finding vector goes in as
``findings=`` and the front end's own embedding as ``query_embedding=`` (see :func:`ground`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from vlm.backends import ImageEncoding, VLMBackend
from vlm.index import ExemplarIndex
from vlm.infer import Grounder, InferenceResult
from vlm.labels import LABELS
from vlm.prompts import POSITIVE, Prompt


class FrontEndOnly:
    """A stand-in model for a front end computed outside the grounder: findings are always injected,
    text is never generated.

    It offers what :class:`vlm.backends.VLMBackend` declares (``encode``, ``generate``, ``fingerprint``
    and the descriptive attributes) without subclassing it: the benchmark's front end is not a backend.
    """

    kind = "injected-front-end"
    image_size = 28
    label_names = LABELS
    has_diagnosis_head = False
    has_embeddings = False
    validated_labels: tuple[str, ...] | None = None

    def __init__(self, name: str) -> None:
        self.path = name

    def encode(self, pixels: np.ndarray | None) -> ImageEncoding:
        return ImageEncoding(None, None, None)

    def generate(self, encoding: ImageEncoding | None, prompt: Prompt, max_new_tokens: int = 96) -> str:
        return ""

    @property
    def fingerprint(self) -> str:
        return self.path


def front_end_grounder(name: str, index: ExemplarIndex | None, **kwargs: Any) -> Grounder:
    """A :class:`Grounder` over ``index`` whose findings and query embeddings come from the caller."""
    return Grounder(cast(VLMBackend, FrontEndOnly(name)), index, **kwargs)


def ground(grounder: Grounder, probs: Mapping[str, float], embedding: np.ndarray | None, task: str,
           retrieval: str, question: str | None = None, **kwargs: Any) -> InferenceResult:
    """One case: the front end's finding probabilities and query embedding, grounded in ``retrieval`` mode."""
    return grounder.infer(None, task, question, retrieval, findings=probs, query_embedding=embedding, **kwargs)


@dataclass(frozen=True)
class Trace:
    """Evidence cited per asserted finding: any item, and graph items (edge with a claim id)."""

    any_item: dict[str, list[str]]
    graph_item: dict[str, list[str]]


def trace_of(result: InferenceResult, asserted: tuple[str, ...] | None = None) -> Trace:
    """What each asserted finding of ``result`` cites: image prediction, exemplars, edges and claims."""
    names = asserted if asserted is not None else result.positive_findings(POSITIVE)
    any_item: dict[str, list[str]] = {n: [] for n in names}
    graph: dict[str, list[str]] = {n: [] for n in names}
    for s in result.sentences:
        for n in s.findings:
            if n not in any_item:
                continue
            if n in s.image_evidence:
                any_item[n].append(f"image:{n}")
            any_item[n].extend(f"exemplar:{e}" for e in s.exemplars)
            cited = [f"edge:{e}:{c}" for e, c in zip(s.edges, s.claim_ids, strict=True) if c]
            any_item[n].extend(cited)
            graph[n].extend(cited)
    return Trace(any_item, graph)


def evidence_for(result: InferenceResult, finding: str, *, front_end: Mapping[str, float] | None = None,
                 threshold: float = POSITIVE) -> list[str]:
    """Evidence items behind asserting ``finding``: the front end's call, exemplars, supporting edges."""
    items: list[str] = []
    fe = front_end if front_end is not None else result.probabilities("probability")
    if fe.get(finding, 0.0) >= threshold:
        items.append(f"image:{finding}")
    items.extend(f"exemplar:{h.exemplar.id}" for h in result.exemplars if finding in h.exemplar.findings)
    if result.subgraph is not None:
        for e in result.subgraph.edges:
            if e.supports and e.claim_id and finding in (e.subject_finding, e.object_finding):
                items.append(f"edge:{e.ref}:{e.claim_id}")
    return items
