"""The graph posterior as the grounder reads it: front-end labels in, the network's posterior out.

``causal`` mode answers from :class:`FrontEndPosterior`: the front end's per-finding probabilities
become soft evidence through a score model given the view (the backdoor reading of
:mod:`reasoning.posterior.reading`), the trusted chest graph fitted on the label tables
(:mod:`reasoning.posterior.chest`) combines them, and every label the network holds is read back as
its posterior. Counterfactual checks ask the same model ``P(effect | do(cause = 0), evidence)``.

The reading of each finding is fitted at build time (``mcrag index build``) on the front end's scores
of held-out validation films (films the model did not train on, with their labels and views): a
finding with enough labelled scores gets the equal-variance score model with an offset per view; any
other finding is read against the front end's own mean probability over those films (no view
term; an unlabelled, label-free reading). The JSON beside the index (``posterior.json``) holds the reading and the key
of the cached network (``<MCRAG_HOME>/cache/posterior/<key>.pkl``).
"""

from __future__ import annotations

import json
import math
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from reasoning.posterior import GraphPosterior, PosteriorResult, ScoreFit, ScoreReading, fit_reading, logit
from reasoning.posterior.chest import ChestNetwork, differing_edges
from reasoning.posterior.reading import POOLED, view_stratum
from vlm.grounding import LABEL_CONCEPT_IDS

POSTERIOR_FILE = "posterior.json"
VIEWS: tuple[str, ...] = ("AP", "PA", "AP supine")
"""Views a caller may name (case-insensitive); anything else is refused, and no view reads the pooled mix."""
PriorMode = Literal["label-tables", "front-end"]


def check_view(view: str | None) -> str | None:
    """The canonical view name, None for no view; a clear error for anything else."""
    if view is None or not str(view).strip() or str(view).strip().lower() in ("unknown", "none"):
        return None
    for v in VIEWS:
        if str(view).strip().lower() == v.lower():
            return v
    raise ValueError(f"unknown view {view!r}; use one of {', '.join(VIEWS)} (or leave it out)")


def calibrated_fit(prevalence: float) -> ScoreFit:
    """The score model of a front end calibrated to ``prevalence``: its log LR is ``logit(p) - logit(prevalence)``.

    (Unit variance, class means ``c -/+ 1/2`` around ``c = logit(prevalence)``: slope 1, centre ``c``.)
    """
    q = min(max(float(prevalence), 1e-4), 1 - 1e-4)
    c = math.log(q / (1 - q))
    return ScoreFit(c - 0.5, c + 0.5, 1.0, 0, 0, {})


def fit_front_end_reading(logits: pd.DataFrame, labels: pd.DataFrame, views: Sequence[object],
                          nodes: Sequence[str], *, min_per_class: int = 10, min_per_view: int = 20,
                          prevalence: Mapping[str, float] | None = None) -> tuple[ScoreReading, dict[str, str]]:
    """The backdoor reading of ``nodes`` from held-out labelled scores, with a label-free reading where too few.

    ``logits`` / ``labels``: cases x node ids (labels 1 / 0, NaN where not annotated). A node without
    ``min_per_class`` labelled present and absent scores is read against the front end's own mean
    probability over the held-out films (``logit(p) - logit(mean)``: a film scored like the average film
    carries no evidence), or against ``prevalence`` when given. Returns the reading and, per node, how
    it is read (for the notes and the JSON).
    """
    cols = [n for n in nodes if n in logits.columns]
    fitted = fit_reading(logits[cols], labels[cols], list(views), "backdoor", min_per_class=min_per_class,
                         min_per_view=min_per_view) if cols else ScoreReading("backdoor", {}, {})
    fits: dict[str, ScoreFit] = dict(fitted.fits)
    how: dict[str, str] = {}
    for n in nodes:
        if n in fits:
            f = fits[n]
            how[n] = (f"score model from held-out scores ({f.present} present, {f.absent} absent"
                      + (f"; view offsets {', '.join(sorted(f.offsets))}" if f.offsets else "; no view with enough scores")
                      + ")")
            continue
        if prevalence is not None and n in prevalence:
            p, src = float(prevalence[n]), "given prevalence"
        elif n in logits.columns and logits[n].notna().any():
            scores = 1.0 / (1.0 + np.exp(-logits[n].dropna().to_numpy(dtype=np.float64)))
            p, src = float(scores.mean()), f"the front end's mean over {len(scores)} held-out films"
        else:
            continue
        fits[n] = calibrated_fit(p)
        how[n] = f"read against {p:.3f}, {src} (too few labelled scores for a score model)"
    return ScoreReading("backdoor", fits, {}), how


def reading_to_json(reading: ScoreReading) -> dict[str, Any]:
    return {"mode": reading.mode, "fits": {k: {"mean_absent": f.mean_absent, "mean_present": f.mean_present, "sd": f.sd,
                                               "absent": f.absent, "present": f.present, "offsets": dict(f.offsets)}
                                           for k, f in reading.fits.items()},
            "prevalence": dict(reading.prevalence)}


def reading_from_json(d: Mapping[str, Any]) -> ScoreReading:
    fits = {k: ScoreFit(float(v["mean_absent"]), float(v["mean_present"]), float(v["sd"]), int(v["absent"]),
                        int(v["present"]), {str(a): float(b) for a, b in v.get("offsets", {}).items()})
            for k, v in d.get("fits", {}).items()}
    return ScoreReading(d.get("mode", "backdoor"), fits, {str(k): float(v) for k, v in d.get("prevalence", {}).items()})


@dataclass(frozen=True)
class CaseReading:
    """One case through the graph posterior."""

    labels: dict[str, float]
    """Label name -> posterior, for every label the network holds."""
    result: PosteriorResult
    view: str | None
    read: dict[str, float]
    """The front-end probabilities that entered as evidence (by label)."""

    def to_json(self) -> dict[str, Any]:
        return {"view": self.view, "labels": {k: round(v, 4) for k, v in self.labels.items()},
                "evidence": {k: round(v, 4) for k, v in self.read.items()}, **self.result.to_json()}


@dataclass(eq=False)
class FrontEndPosterior:
    """A fitted chest network and the front end's reading of it, keyed by the front end's label names."""

    network: ChestNetwork
    reading: ScoreReading
    how_read: dict[str, str] = field(default_factory=dict)
    prior: PriorMode = "label-tables"
    """``label-tables``: the network's own prior (the label tables'); ``front-end``: the prior the front end
    is calibrated to is kept and the network adds its structure (each finding read as calibrated to the
    network's own marginal; for a front end calibrated to the site it is used at)."""
    description: str = ""

    def __post_init__(self) -> None:
        reading = self.reading
        if self.prior == "front-end":
            base = GraphPosterior.build(self.network.network, reading)
            reading = ScoreReading("backdoor", {n: calibrated_fit(base.priors[n]) for n in self.read_nodes(base)}, {})
        self.graph = GraphPosterior.build(self.network.network, reading)
        self.label_node = {lab: cid for lab, cid in LABEL_CONCEPT_IDS.items() if cid in self.graph.nodes}
        self.node_label = {cid: lab for lab, cid in self.label_node.items()}
        self.differs = differing_edges(self.network.network)

    def read_nodes(self, graph: GraphPosterior | None = None) -> list[str]:
        g = graph or self.graph
        return [n for n in g.nodes if n in self.reading.fits]

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.graph.nodes

    def _evidence(self, probs: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
        by_node, by_label = {}, {}
        for lab, p in probs.items():
            node = self.label_node.get(lab)
            if node is not None and node in self.graph.reading.fits and np.isfinite(p):
                by_node[node] = float(min(max(p, 0.0), 1.0))
                by_label[lab] = by_node[node]
        return by_node, by_label

    def read(self, probs: Mapping[str, float], view: str | None = None) -> CaseReading:
        """The posterior of every label the network holds, given the front end's probabilities and the view."""
        by_node, by_label = self._evidence(probs)
        res = self.graph.posterior(by_node, view)
        return CaseReading({self.node_label[n]: res.probability(n) for n in self.label_node.values()}, res, view,
                           by_label)

    def expected_under_do(self, probs: Mapping[str, float], view: str | None, cause: str, effect: str
                          ) -> tuple[float, float] | None:
        """(P(effect | do(cause = 0), evidence), P(effect | evidence)) for concept ids, labels or IRIs; None when
        either is not a node of the network."""
        c, e = self.node_of(cause), self.node_of(effect)
        if c is None or e is None or c == e:
            return None
        by_node, _ = self._evidence(probs)
        factual = self.graph.posterior(by_node, view).probability(e)
        return self.graph.interventional({c: 0}, by_node, view).probability(e), factual

    def node_of(self, name: str) -> str | None:
        if name in self.graph.nodes:
            return name
        if name in self.label_node:
            return self.label_node[name]
        local = name.rsplit("/", 1)[-1]
        return local if local in self.graph.nodes else None

    def stratum(self, node: str, view: str | None) -> str:
        return self.graph.reading.stratum_used(node, view) if node in self.graph.reading.fits else POOLED

    def edge_note(self, cause_iri: str, effect_iri: str) -> str | None:
        """Which sources the model used for an edge whose effect differs across them (None otherwise)."""
        c, e = self.node_of(cause_iri), self.node_of(effect_iri)
        if c is None or e is None:
            return None
        return self.differs.get((c, e))

    def summary(self) -> dict[str, Any]:
        used = [r for r in self.network.network.edges if r.used]
        return {"nodes": list(self.graph.nodes), "read": sorted(self.label_node), "edges_used": len(used),
                "edges_given": len(self.network.edges), "sources": list(self.network.sources),
                "prior": self.prior, "key": self.network.key, "how_read": dict(self.how_read),
                "description": self.description}

    # -- persistence ---------------------------------------------------------------------------------
    def save(self, index_dir: Path | str, cache_dir: Path | str) -> Path:
        """Write ``posterior.json`` into the index folder (the reading, the cached network's key), atomically."""
        folder = Path(index_dir)
        folder.mkdir(parents=True, exist_ok=True)
        net_path = Path(cache_dir) / "posterior" / f"{self.network.key}.pkl"
        if not net_path.is_file():
            from reasoning.posterior.chest import _write_atomic

            _write_atomic(net_path, pickle.dumps(self.network, protocol=pickle.HIGHEST_PROTOCOL))
        payload = {"format": 1, "network": str(net_path), "key": self.network.key, "prior": self.prior,
                   "reading": reading_to_json(self.reading), "how_read": self.how_read,
                   "description": self.description, "summary": self.summary()}
        out = folder / POSTERIOR_FILE
        tmp = out.with_suffix(".part")
        tmp.write_text(json.dumps(payload, indent=1), encoding="utf-8")
        tmp.replace(out)
        return out

    @classmethod
    def load(cls, index_dir: Path | str) -> FrontEndPosterior | None:
        """The posterior saved beside an index, or None when there is none (or its network is gone)."""
        path = Path(index_dir) / POSTERIOR_FILE
        if not path.is_file():
            return None
        d = json.loads(path.read_text(encoding="utf-8"))
        net_path = Path(d["network"])
        if not net_path.is_file():
            return None
        with net_path.open("rb") as fh:
            network = pickle.load(fh)
        return cls(network, reading_from_json(d["reading"]), dict(d.get("how_read", {})), d.get("prior", "label-tables"),
                   str(d.get("description", "")))


def held_out_scores(backend: Any, data_dir: Path, sources: Sequence[str], split: str = "val"
                    ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The front end's logits, labels (by concept id) and views of one split's image records."""
    from vlm.data import load_sources
    from vlm.images import ImageError, preprocess
    from vlm.labels import LABELS, UNKNOWN

    corpus = load_sources(Path(data_dir), tuple(sources))
    recs = [r for r in corpus.records if r.split == split and r.has_image]
    pixels, kept = [], []
    for r in recs:
        try:
            pixels.append(preprocess(r.image, backend.image_size))  # type: ignore[arg-type]
            kept.append(r)
        except ImageError:
            continue
    if not kept:
        return pd.DataFrame(), pd.DataFrame(), []
    probs, _ = backend.encode_batch(np.stack(pixels))
    names = list(backend.label_names)
    cols = {lab: cid for lab, cid in LABEL_CONCEPT_IDS.items() if lab in names}
    lg = pd.DataFrame({cid: logit(probs[:, names.index(lab)]) for lab, cid in cols.items()})
    lab_rows = []
    for r in kept:
        lab_rows.append({cid: (np.nan if r.labels[LABELS.index(lab)] == UNKNOWN else float(r.labels[LABELS.index(lab)]))
                         for lab, cid in cols.items()})
    views = [view_stratum(r.view if r.view in VIEWS else None) for r in kept]
    return lg, pd.DataFrame(lab_rows), views


def build_front_end_posterior(store: Any, cxr_labels: Path | str, backend: Any, data_dir: Path | str,
                              sources: Sequence[str], cache_dir: Path | str, *, progress: bool = False
                              ) -> FrontEndPosterior:
    """Fit (or load) the trusted chest network and the model's reading from its held-out validation films."""
    from reasoning.posterior.chest import fit_chest_network

    read = [cid for lab, cid in LABEL_CONCEPT_IDS.items() if lab in backend.label_names]
    network = fit_chest_network(store, cxr_labels, read, cache_dir=cache_dir, progress=progress)
    lg, labels, views = held_out_scores(backend, Path(data_dir), sources)
    nodes = [n for n in network.network.graph.nodes if n in read]
    if lg.empty:  # no held-out film to read the front end on: keep its own calibration, add the structure
        reading = ScoreReading("backdoor", {n: calibrated_fit(0.5) for n in nodes}, {})
        how = dict.fromkeys(nodes, "no held-out films: the front end's calibration is kept (prior 'front-end')")
        return FrontEndPosterior(network, reading, how, "front-end", "network only; no held-out films")
    reading, how = fit_front_end_reading(lg, labels, views, nodes)
    desc = (f"network on {len(network.network.graph.nodes)} nodes, {len(network.network.graph.edges)} edges from the "
            f"store's trusted chest graph, fitted on {', '.join(network.sources)}; reading from {len(lg)} held-out "
            f"validation films of {', '.join(sources)}")
    return FrontEndPosterior(network, reading, how, "label-tables", desc)


__all__ = ["POSTERIOR_FILE", "VIEWS", "CaseReading", "FrontEndPosterior", "build_front_end_posterior",
           "calibrated_fit", "check_view", "fit_front_end_reading", "held_out_scores", "reading_from_json",
           "reading_to_json"]
