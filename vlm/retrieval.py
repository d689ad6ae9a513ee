"""The three retrieval modes: ``none``, ``semantic`` (similarity only) and ``causal``.

``causal`` searches like ``semantic``, then reasons over the candidates with the causal subgraph
around the query's predicted findings:

* consistency: an exemplar's findings must be the predicted ones or causally linked to them (a
  finding one hop away in the graph counts 0.7, two hops 0.4, unlinked 0); exemplars under
  ``min_consistency`` are dropped;
* confounding: the score uses the similarity minus a share of the query's mean similarity to the
  exemplar's stratum (source | view | device), so what is similar only because it shares a stratum
  falls back, and is multiplied by the index's inverse-probability weight ``P(z) / P(z | finding)``
  (a backdoor adjustment over the index);
* counterfactual exemplars: for a predicted finding that causes another in the graph, the nearest
  case without that cause, with what the graph expects of the effect under ``do(cause = absent)``
  (asked of the graph posterior when the grounder has one, the same model the answer reads) and
  what the case shows;
* the front end's reading: when the index holds the front end's own scores of its exemplars, the
  query's logit is read relative to its stratum (:meth:`Retriever.adjust_front_end`): the offset
  of the stratum's mean exemplar logit from the stratum-weighted mean, the part of the score the
  confounder alone explains, is taken off. The offsets come from the index's calibration set
  (held-out front-end scores) when it holds one, else from the exemplars' own scores.

Everything after the HNSW search is vectorised over at most a few hundred candidates, so causal
retrieval costs little more than the search itself.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reasoning.evidence import CausalSubgraph
from vlm.counterfactual import GraphQuery, WhatIfEngine, expected_under_do
from vlm.errors import InputError
from vlm.grounding import LABEL_CONCEPTS, label_for_iri
from vlm.index import Exemplar, ExemplarIndex, logit
from vlm.labels import LABEL_INDEX, LABELS, NORMAL, label_text

MODES: tuple[str, ...] = ("none", "semantic", "causal")
_BIT_SHIFTS = np.arange(len(LABELS), dtype=np.uint32)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InputError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
    return mode


@dataclass(frozen=True)
class RetrievalSettings:
    k: int = 5
    candidates: int = 64
    """Neighbours searched before causal filtering (also the pool for counterfactual exemplars)."""
    ef_search: int = 64
    min_consistency: float = 0.5
    hop_weights: tuple[float, ...] = (1.0, 0.7, 0.4)
    unlabelled_consistency: float = 0.4
    backdoor_power: float = 1.0
    stratum_discount: float = 0.5
    counterfactuals: int = 3
    front_end_adjustment: str = "stratum-finding"
    """``off``, ``stratum`` or ``stratum-finding`` (see :meth:`vlm.index.ExemplarIndex.front_end_offsets`);
    only acts when the index holds front-end scores of its exemplars in two or more strata."""
    front_end_scores: str = "auto"
    """Whose front-end scores the offsets are estimated from: ``auto`` (the index's calibration set when
    it holds one, else the exemplars' own), ``exemplars`` or ``calibration`` (see :data:`vlm.index.SCORE_SOURCES`)."""


@dataclass(frozen=True)
class FrontEndAdjustment:
    """How a query's front-end reading was moved to discount its confounder stratum."""

    stratum: str
    stratum_from: str
    """``given`` (acquisition metadata) or ``nearest-centroid`` (inferred from the image embedding)."""
    method: str
    shifts: dict[str, float]
    """Per adjusted label: the logit shift applied (minus the stratum's offset)."""
    stratum_means: dict[str, float]
    reference: dict[str, float]
    exemplars: int
    """Scored exemplars of the query's stratum."""
    skipped: tuple[str, ...] = ()
    scores_from: str = "exemplars"
    """Whose front-end scores gave the offsets: ``exemplars`` or ``calibration`` (held-out cases)."""

    def to_json(self) -> dict[str, Any]:
        return {"stratum": self.stratum, "stratum_from": self.stratum_from, "method": self.method,
                "scores_from": self.scores_from,
                "logit_shift": {k: round(v, 4) for k, v in self.shifts.items()},
                "stratum_mean_logit": {k: round(v, 4) for k, v in self.stratum_means.items()},
                "reference_logit": {k: round(v, 4) for k, v in self.reference.items()},
                "stratum_exemplars": self.exemplars, "skipped": list(self.skipped)}

    def note(self) -> str:
        parts = [f"{label_text(n)} logit {v:+.2f} (stratum mean {self.stratum_means[n]:+.2f}, "
                 f"stratum-weighted mean {self.reference[n]:+.2f})" for n, v in self.shifts.items()]
        return (f"front end read against its confounder stratum {self.stratum} ({self.stratum_from}, "
                f"{self.method}{', held-out calibration scores' if self.scores_from == 'calibration' else ''}): "
                + "; ".join(parts))


@dataclass(frozen=True)
class Hit:
    row: int
    exemplar: Exemplar
    similarity: float
    score: float
    consistency: float | None = None
    weight: float | None = None
    stratum_similarity: float | None = None

    def to_json(self) -> dict[str, Any]:
        e = self.exemplar
        out: dict[str, Any] = {
            "id": e.id, "source": e.source, "view": e.view, "device": e.device, "findings": list(e.findings),
            "similarity": round(self.similarity, 4), "score": round(self.score, 4),
            "text": e.text[:300], "image": e.image,
        }
        if self.consistency is not None:
            out.update(consistency=round(self.consistency, 3), confounder_weight=round(float(self.weight or 0), 3),
                       stratum_similarity=round(float(self.stratum_similarity or 0), 4))
        return out


@dataclass(frozen=True)
class CounterfactualCheck:
    """The nearest case that differs in a cause, and whether it behaves as the graph expects."""

    kind: str
    """``toggle-cause`` (a predicted cause absent, its effect checked) or ``contrast`` (a finding absent)."""
    intervention: str
    cause: str
    exemplar: Exemplar
    similarity: float
    effect: str | None = None
    edge_ref: str | None = None
    claim_id: str | None = None
    expected: float | None = None
    factual: float | None = None
    observed: bool | None = None
    agrees: bool | None = None
    engine: str = "noisy-or"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "intervention": self.intervention, "cause": self.cause, "effect": self.effect,
            "edge": self.edge_ref, "claim_id": self.claim_id, "exemplar": self.exemplar.id,
            "exemplar_findings": list(self.exemplar.findings), "similarity": round(self.similarity, 4),
            "expected_effect_probability": None if self.expected is None else round(self.expected, 3),
            "factual_effect_probability": None if self.factual is None else round(self.factual, 3),
            "observed_effect": self.observed, "agrees": self.agrees, "engine": self.engine,
        }


@dataclass(frozen=True)
class Retrieval:
    mode: str
    hits: tuple[Hit, ...] = ()
    counterfactuals: tuple[CounterfactualCheck, ...] = ()
    dropped: int = 0
    """Candidates removed by the causal consistency filter."""
    notes: tuple[str, ...] = field(default_factory=tuple)


def bits_matrix(bits: np.ndarray) -> np.ndarray:
    return ((bits[:, None] >> _BIT_SHIFTS) & 1).astype(np.float32)


def consistency_weights(subgraph: CausalSubgraph | None, positives: Sequence[str],
                        hop_weights: Sequence[float] = (1.0, 0.7, 0.4)) -> np.ndarray:
    """Per-label weight: 1 for a predicted finding, decaying with graph distance from one, else 0."""
    w = np.zeros(len(LABELS), dtype=np.float32)
    pos = [p for p in positives if p in LABEL_INDEX and p != "normal"]
    if not pos:
        w[NORMAL] = 1.0
        return w
    seeds = {LABEL_CONCEPTS[p] for p in pos if p in LABEL_CONCEPTS}
    dist: dict[str, int] = dict.fromkeys(seeds, 0)
    if subgraph is not None and seeds:
        adj: dict[str, set[str]] = {}
        for e in subgraph.edges:
            if e.supports:
                adj.setdefault(e.subject, set()).add(e.object)
                adj.setdefault(e.object, set()).add(e.subject)
        queue = deque(seeds)
        while queue:
            n = queue.popleft()
            if dist[n] + 1 >= len(hop_weights):
                continue
            for m in adj.get(n, ()):
                if m not in dist:
                    dist[m] = dist[n] + 1
                    queue.append(m)
    for iri, d in dist.items():
        name = label_for_iri(iri)
        if name is not None and name in LABEL_INDEX:
            w[LABEL_INDEX[name]] = max(w[LABEL_INDEX[name]], float(hop_weights[d]))
    for p in pos:
        w[LABEL_INDEX[p]] = 1.0
    return w


class Retriever:
    """Runs a retrieval mode against one exemplar index."""

    def __init__(self, index: ExemplarIndex, settings: RetrievalSettings | None = None) -> None:
        self.index = index
        self.settings = settings or RetrievalSettings()
        self._weights: OrderedDict[tuple[int, tuple[str, ...]], tuple[CausalSubgraph | None, np.ndarray]] = OrderedDict()
        self._toggles: OrderedDict[int, tuple[CausalSubgraph, list[tuple[Any, str, str]]]] = OrderedDict()

    def toggle_edges(self, subgraph: CausalSubgraph) -> list[tuple[Any, str, str]]:
        """Supporting edges between two observable findings (cause, effect), memoised per subgraph."""
        hit = self._toggles.get(id(subgraph))
        if hit is not None and hit[0] is subgraph:
            return hit[1]
        edges: list[tuple[Any, str, str]] = []
        for e in subgraph.edges:
            cause, effect = label_for_iri(e.subject), label_for_iri(e.object)
            if e.supports and cause is not None and effect is not None and cause in LABEL_INDEX and effect in LABEL_INDEX:
                edges.append((e, cause, effect))
        self._toggles[id(subgraph)] = (subgraph, edges)
        while len(self._toggles) > 4096:
            self._toggles.popitem(last=False)
        return edges

    def label_weights(self, subgraph: CausalSubgraph | None, positives: Sequence[str]) -> np.ndarray:
        """:func:`consistency_weights`, memoised per subgraph object and finding set (a graph walk per query
        would cost more than the search)."""
        key = (id(subgraph), tuple(sorted(positives)))
        hit = self._weights.get(key)
        if hit is not None and hit[0] is subgraph:
            self._weights.move_to_end(key)
            return hit[1]
        w = consistency_weights(subgraph, positives, self.settings.hop_weights)
        self._weights[key] = (subgraph, w)  # the subgraph is held, so its id cannot be reused
        while len(self._weights) > 4096:
            self._weights.popitem(last=False)
        return w

    def _search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.index.set_ef(max(self.settings.ef_search, k))
        sims, rows = self.index.search(query, k)
        keep = rows[0] >= 0
        return sims[0][keep], rows[0][keep]

    def semantic(self, query: np.ndarray, k: int | None = None) -> Retrieval:
        k = k or self.settings.k
        sims, rows = self._search(query, k)
        hits = tuple(Hit(int(r), self.index.exemplar(int(r)), float(s), float(s)) for s, r in zip(sims, rows, strict=True))
        return Retrieval("semantic", hits)

    def consistency(self, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Mean label weight over each candidate's positive findings (vectorised over candidates)."""
        known = self.index.known_bits[rows]
        b = self.index.label_matrix[rows]
        npos = b.sum(axis=1, dtype=np.float32)
        c = (b * weights).sum(axis=1) / np.maximum(npos, 1.0)  # tiny: no BLAS call (thread start-up costs more)
        no_pos = npos == 0
        c[no_pos & (known != 0)] = weights[NORMAL]
        c[no_pos & (known == 0)] = self.settings.unlabelled_consistency
        return c

    def causal(self, query: np.ndarray, probs: Mapping[str, float], subgraph: CausalSubgraph | None,
               k: int | None = None, *, positive: float = 0.5, whatif: WhatIfEngine | None = None,
               graph: GraphQuery | None = None) -> Retrieval:
        s = self.settings
        k = k or s.k
        positives = [n for n, p in probs.items() if p >= positive and n != "normal" and n in LABEL_INDEX]
        w_labels = self.label_weights(subgraph, positives)
        pool = max(s.candidates, k)
        sims, rows = self._search(query, pool)
        if len(rows) == 0:
            return Retrieval("causal")
        c = self.consistency(rows, w_labels)
        strata = self.index.strata[rows]
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if s.stratum_discount:
            per_stratum = (self.index.centroids * q).sum(axis=1)  # a few dozen strata: elementwise beats BLAS
            stratum_sim = per_stratum[strata]
        else:
            stratum_sim = np.zeros(len(rows), np.float32)
        resid = np.maximum(sims - s.stratum_discount * stratum_sim, 0.0)
        weight = self.index.weights[rows] ** s.backdoor_power
        score = resid * c * weight
        ok = c >= s.min_consistency
        order = [i for i in np.argsort(-score, kind="stable") if ok[i]][:k]
        hits = tuple(Hit(int(rows[i]), self.index.exemplar(int(rows[i])), float(sims[i]), float(score[i]),
                         float(c[i]), float(weight[i]), float(stratum_sim[i])) for i in order)
        cfs = self.counterfactuals(q, rows, sims, probs, positives, subgraph, whatif=whatif,
                                   graph=graph) if s.counterfactuals else ()
        notes = () if hits else (f"no candidate among {len(rows)} is consistent with the causal subgraph",)
        return Retrieval("causal", hits, cfs, int((~ok).sum()), notes)

    # -- the front end's reading, relative to the confounder stratum --------------------------------
    def adjust_front_end(self, probs: Mapping[str, float], query: np.ndarray | None = None,
                         stratum: str | None = None, labels: Sequence[str] | None = None
                         ) -> tuple[dict[str, float], FrontEndAdjustment | None]:
        """The front end's probabilities with the confounder stratum's share of each logit taken off.

        For each label the index holds exemplar scores of (in two or more strata), the query's logit
        moves by minus its stratum's offset: ``logit - E[logit | v] + sum_v' P(v') E[logit | v']``.
        The stratum is ``stratum`` (from acquisition metadata) when given, else the one whose
        exemplars the query embedding is nearest to on average. Unchanged (and None) when the index
        has no scores, a single stratum, or nothing to adjust.
        """
        method = self.settings.front_end_adjustment
        used = self.index.score_source(self.settings.front_end_scores)
        if used is None or method == "off":
            return dict(probs), None
        if stratum is not None:
            code, source = self.index.stratum_code(stratum), "given"
            if code is None:
                return dict(probs), None
        elif query is not None:
            code, source = self.index.nearest_stratum(query), "nearest-centroid"
        else:
            return dict(probs), None
        out = dict(probs)
        shifts: dict[str, float] = {}
        means: dict[str, float] = {}
        ref: dict[str, float] = {}
        skipped: list[str] = []
        n = 0
        for name in (labels if labels is not None else list(probs)):
            if name not in LABEL_INDEX or name not in probs:
                continue
            off = self.index.front_end_offsets(LABEL_INDEX[name], method, used)
            if off is None:
                continue
            if not np.isfinite(off.offsets[code]):
                skipped.append(f"{name}: {off.reason or 'no scored exemplar of this stratum'}")
                continue
            shift = -float(off.offsets[code])
            adjusted = float(logit(probs[name])) + shift
            out[name] = float(1.0 / (1.0 + np.exp(-adjusted)))
            shifts[name], means[name], ref[name] = shift, float(off.means[code]), off.reference
            n = max(n, int(off.counts[code]))
        if not shifts and not skipped:
            return dict(probs), None
        return out, FrontEndAdjustment(self.index.stratum_names[code], source, method, shifts, means, ref, n,
                                       tuple(skipped), used)

    # -- counterfactual exemplars --------------------------------------------------------------------
    def _nearest_without(self, query: np.ndarray, rows: np.ndarray, sims: np.ndarray, label: str,
                         used: set[int]) -> tuple[int, float] | None:
        """Nearest exemplar annotated as lacking ``label``: the nearer of the best candidate and an exact scan.

        The candidates come from an approximate search, so a candidate lacking the label may be farther
        than a case the exact scan finds; taking the nearer of the two makes the answer independent of
        which candidates the approximate search happened to return.
        """
        b = np.uint32(1 << LABEL_INDEX[label])
        ok = ((self.index.known_bits[rows] & b) != 0) & ((self.index.label_bits[rows] & b) == 0)
        best: tuple[int, float] | None = None
        for i in np.flatnonzero(ok):
            if int(rows[i]) not in used and (best is None or float(sims[i]) > best[1]):
                best = int(rows[i]), float(sims[i])
        fs, fr = self.index.nearest_absent(query, LABEL_INDEX[label], k=len(used) + 1)
        for s, r in zip(fs, fr, strict=True):
            if int(r) not in used:
                if best is None or float(s) > best[1] or (float(s) == best[1] and int(r) < best[0]):
                    best = int(r), float(s)
                break
        return best

    def counterfactuals(self, query: np.ndarray, rows: np.ndarray, sims: np.ndarray, probs: Mapping[str, float],
                        positives: Sequence[str], subgraph: CausalSubgraph | None, *,
                        whatif: WhatIfEngine | None = None, graph: GraphQuery | None = None
                        ) -> tuple[CounterfactualCheck, ...]:
        """Nearest cases that differ from the query in a cause, checked against the graph.

        For each supporting edge ``u -> v`` with ``u`` predicted: the nearest case annotated without
        ``u``, what the graph expects of ``v`` under ``do(u = absent)``, and what the case shows.
        Without such an edge: the nearest case without the most probable finding (a contrast case).
        """
        observed = {LABEL_CONCEPTS[n]: float(p) for n, p in probs.items() if n in LABEL_CONCEPTS}
        out: list[CounterfactualCheck] = []
        nearest: dict[str, tuple[int, float] | None] = {}
        if subgraph is not None:
            for e, u, v in self.toggle_edges(subgraph):
                if len(out) >= self.settings.counterfactuals:
                    break
                if u not in positives:
                    continue
                if u not in nearest:  # one counterfactual case per cause, checked on each of its effects
                    nearest[u] = self._nearest_without(query, rows, sims, u, set())
                found = nearest[u]
                if found is None:
                    continue
                row, sim = found
                vb = np.uint32(1 << LABEL_INDEX[v])
                obs = bool(self.index.label_bits[row] & vb) if self.index.known_bits[row] & vb else None
                exp = expected_under_do(subgraph, observed, e, whatif=whatif, case=probs, graph=graph)
                agrees = None if obs is None else (exp.probability >= 0.5) == obs
                out.append(CounterfactualCheck(
                    "toggle-cause", f"do({label_text(u)} = absent)", u, self.index.exemplar(row), sim, v, e.ref,
                    e.claim_id, exp.probability, exp.factual, obs, agrees, exp.engine))
        if not out:
            top = max(positives, key=lambda n: probs.get(n, 0.0)) if positives else "normal"
            found = self._nearest_without(query, rows, sims, top, set())
            if found is not None:
                row, sim = found
                out.append(CounterfactualCheck("contrast", f"do({label_text(top)} = absent)", top,
                                               self.index.exemplar(row), sim, engine="nearest-contrast"))
        return tuple(out)
