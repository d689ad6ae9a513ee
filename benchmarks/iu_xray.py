"""IU-Xray, findings-conditioned: the shared inputs of the yes/no VQA and report benchmarks.

IU-Xray images are not available here, so the front end is the Open-i gold labels through the noise
model of :mod:`benchmarks.noise`. The exemplar index holds the train-split reports (MiniLM
embeddings, gold labels), so retrieval never sees a test report; the prevalences the noise model's
calibration uses come from the train split as well.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reasoning.posterior import ScoreReading
from vlm.data import read_openi_labels
from vlm.encoders import TextEncoder, normalise
from vlm.index import Exemplar, ExemplarIndex, index_from_vectors
from vlm.labels import LABEL_INDEX, LABELS, known_bits, to_bits
from vlm.prompts import findings_text

FINDINGS_CONDITIONED = ("Findings-conditioned: IU-Xray images are not available here, so the visual front end is "
                        "replaced by the Open-i gold labels through a noise model of the stated ROC AUC. These figures "
                        "are not image-conditioned and not directly comparable with the anchors.")

LABELLED: tuple[str, ...] = tuple(n for n in LABELS if n != "COVID-19")
"""Labels the Open-i file annotates: the 14 findings and ``normal``."""


@dataclass(frozen=True)
class Study:
    id: str
    split: str
    report: str
    gold: tuple[int, ...]
    """0/1 over :data:`LABELLED`."""

    def positives(self) -> tuple[str, ...]:
        return tuple(n for n, v in zip(LABELLED, self.gold, strict=True) if v == 1 and n != "normal")


def study_key(study_id: str) -> str:
    return study_id.split("_", 1)[0]


def load_studies(root: Path) -> dict[str, list[Study]]:
    """R2Gen splits of ``annotation.json`` with the gold labels of ``openi_labels.csv``."""
    ann = json.loads((root / "annotation.json").read_text(encoding="utf-8"))
    gold = read_openi_labels(root / "openi_labels.csv")
    out: dict[str, list[Study]] = {}
    for split in ("train", "val", "test"):
        rows = []
        for st in ann.get(split, []):
            g = gold.get(study_key(str(st["id"])), {})
            rows.append(Study(str(st["id"]), split, str(st.get("report", "")).strip(),
                              tuple(int(g.get(n, 0)) for n in LABELLED)))
        out[split] = rows
    return out


def prevalence(studies: list[Study]) -> np.ndarray:
    g = np.array([s.gold for s in studies], dtype=np.float64)
    return (g.sum(axis=0) + 0.5) / (len(g) + 1.0)


def label_vector(study: Study) -> tuple[int, ...]:
    v = [0] * len(LABELS)
    for n, y in zip(LABELLED, study.gold, strict=True):
        v[LABEL_INDEX[n]] = y
    return tuple(v)


def report_index(studies: list[Study], encoder: TextEncoder, vectors: np.ndarray | None = None) -> ExemplarIndex:
    """Train reports embedded by MiniLM (or ``vectors``, one row per study), with their gold labels, as exemplars."""
    vecs = encoder.encode([s.report for s in studies]) if vectors is None else vectors
    labels = [label_vector(s) for s in studies]
    ex = [Exemplar(f"iu_xray/{s.id}", "iu_xray", s.split, findings=s.positives() or ("normal",) if s.gold[-1] else s.positives(),
                   text=s.report, group=s.id) for s in studies]
    return index_from_vectors(vecs, np.array([to_bits(v) for v in labels], dtype=np.uint32),
                              np.array([known_bits(v) for v in labels], dtype=np.uint32),
                              ["iu_xray|unknown|unknown"] * len(ex), exemplars=ex,
                              info={"sources": ("iu_xray",), "splits": ("train",), "text_encoder": encoder.name})


def probs_dict(row: np.ndarray) -> dict[str, float]:
    return {n: float(p) for n, p in zip(LABELLED, row, strict=True)}


def query_vectors(encoder: TextEncoder, probs: np.ndarray, questions: list[str] | None = None) -> np.ndarray:
    """The grounder's query for injected findings: MiniLM(findings text) [+ 0.5 MiniLM(question)]."""
    base = encoder.encode([findings_text(probs_dict(r)) for r in probs])
    if questions is not None:
        base = base + 0.5 * encoder.encode(questions)
    return normalise(base)


# ---------------------------------------------------------------------------------------- graph posterior
GRAPH_PRIOR_ABLATION = "causal-tables-prior"
"""Ablation row: ``causal`` with the label tables' prior instead of the site's (see :func:`graph_posteriors`)."""


def graph_posteriors(data_dir: Path, train_prevalence: np.ndarray, cache_dir: Path | None = None) -> dict[str, Any]:
    """The graph posteriors ``causal`` reads on IU-Xray, keyed by mode name; empty without the label tables.

    The starter store's trusted chest graph fitted on the four label sources other than IU-Xray (its table
    holds the test reports). ``causal``: the simulated front end is calibrated to the IU-Xray train
    prevalence, the site it is scored on, so the posterior keeps that calibration and the network adds its
    structure (prior ``front-end``). :data:`GRAPH_PRIOR_ABLATION`: the same front end read against the
    train prevalence with the label tables' prior.
    """
    from mcrag.datasets.locate import availability_in
    from reasoning.posterior.chest import fit_chest_network
    from vlm.grounding import LABEL_CONCEPT_IDS, starter_store
    from vlm.posterior import FrontEndPosterior, calibrated_fit

    where = availability_in(Path(data_dir), "cxr_labels").where
    if where is None:
        return {}
    read = [LABEL_CONCEPT_IDS[n] for n in LABELLED if n in LABEL_CONCEPT_IDS]
    store = starter_store()
    network = fit_chest_network(store, where, read, cache_dir=cache_dir, exclude=("iu_xray",))
    prev = {LABEL_CONCEPT_IDS[n]: float(p) for n, p in zip(LABELLED, train_prevalence, strict=True)
            if n in LABEL_CONCEPT_IDS}
    nodes = [n for n in network.network.graph.nodes if n in prev]
    reading = ScoreReading("backdoor", {n: calibrated_fit(prev[n]) for n in nodes}, {})
    how = {n: f"calibrated to the IU-Xray train prevalence {prev[n]:.3f}" for n in nodes}
    desc = (f"starter graph's trusted chest edges on {len(network.network.graph.nodes)} nodes "
            f"({len(network.network.graph.edges)} edges used), fitted on {', '.join(network.sources)}")
    return {"causal": FrontEndPosterior(network, reading, how, "front-end", desc),
            GRAPH_PRIOR_ABLATION: FrontEndPosterior(network, reading, how, "label-tables", desc)}
