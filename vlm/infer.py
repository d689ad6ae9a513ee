"""Grounded inference: an answer for one image, with the exemplars, causal edges and checks behind it.

:class:`Grounder` wires a model backend, an exemplar index and a store together. Per call it reads
the image (or takes a finding-probability vector from any other front end), retrieves in the chosen
mode, builds the causal subgraph around the predicted findings, answers the task and traces every
sentence of the answer back to the image evidence (finding probabilities, exemplars) and to the
claim ids and literature sources of the graph edges it relies on.

Modes, as an ablation ladder: ``none`` is the model alone; ``semantic`` adds the nearest exemplars
(their findings nudge the probabilities and the best one's text enters the prompt); ``causal`` reads
the graph posterior (``vlm.posterior``) when the grounder has one: the front end's probabilities
are soft evidence given the view (when known), the trusted chest graph fitted on the label tables
combines them, and the answer, the report and the VQA read the posterior; counterfactual checks ask
the same model under ``do()``, and where an edge's effect differs across label sources the answer
says which sources the model used. ``causal`` also keeps only causally consistent,
confounder-adjusted exemplars (shown, not voted into the posterior) and puts the case's own evidence
subgraph (seeded by its posterior findings, chest scope, trusted edges) into the prompt. Without a
graph posterior, ``causal`` reads the front end relative to the query's confounder stratum when the
index holds the front end's scores of its exemplars (``InferenceResult.adjustment``) and fuses the
exemplars' votes as ``semantic`` does; a note says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kg.store.base import Store
from reasoning.evidence import CausalSubgraph, SeedRule
from vlm.backends import ImageEncoding, VLMBackend, load_backend
from vlm.counterfactual import WhatIfEngine
from vlm.encoders import TextEncoder, normalise
from vlm.errors import IndexMissingError, InputError
from vlm.grounding import (
    LABEL_CONCEPTS,
    SubgraphCache,
    label_for_iri,
    prompt_evidence,
    seed_iris,
    starter_store,
)
from vlm.images import LoadedImage, load_image, preprocess
from vlm.index import ExemplarIndex
from vlm.labels import LABEL_INDEX, LABELS, findings_from_text, label_text, mentions, resolve_label, sentences
from vlm.posterior import CaseReading, FrontEndPosterior, check_view
from vlm.prompts import POSITIVE, POSSIBLE, TASKS, Prompt, findings_text, first_sentences
from vlm.retrieval import (
    MODES,
    CounterfactualCheck,
    FrontEndAdjustment,
    Hit,
    Retrieval,
    RetrievalSettings,
    Retriever,
    check_mode,
)

_YES_NO = re.compile(r"^\s*(is|are|does|do|did|was|were|can|could|has|have|any|should)\b", re.I)


def check_task(task: str) -> str:
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")
    return task


@dataclass(frozen=True)
class FindingScore:
    name: str
    label: str
    probability: float
    """From the front end: the calibrated image head, or the injected vector."""
    prior: float | None = None
    """Score-weighted share of retrieved exemplars that carry the finding (None without retrieval)."""
    posterior: float = 0.0
    """What the answer uses: the probability moved toward the exemplar prior by the prior weight."""
    validated: bool = True
    """False for an image-head label the model was not checked on: its probability is shown, not used."""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "probability": round(self.probability, 4),
                "prior": None if self.prior is None else round(self.prior, 4), "posterior": round(self.posterior, 4),
                "validated": self.validated}


@dataclass(frozen=True)
class SentenceTrace:
    """One sentence of the answer and what supports it."""

    text: str
    findings: tuple[str, ...]
    image_evidence: dict[str, float]
    exemplars: tuple[str, ...]
    edges: tuple[str, ...]
    claim_ids: tuple[str, ...]
    sources: tuple[str, ...]
    origin: str = "answer"
    """``decoder`` (generated), ``diagnosis-head`` (stated from the calibrated findings) or ``answer``."""

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "origin": self.origin, "findings": list(self.findings),
                "image_evidence": {k: round(v, 4) for k, v in self.image_evidence.items()},
                "exemplars": list(self.exemplars), "edges": list(self.edges), "claim_ids": list(self.claim_ids),
                "sources": list(self.sources)}


@dataclass(frozen=True)
class InferenceResult:
    task: str
    retrieval: str
    answer: str
    answer_source: str
    """``diagnosis-head`` (answer read off calibrated probabilities) or ``decoder`` (generated text)."""
    findings: tuple[FindingScore, ...]
    exemplars: tuple[Hit, ...] = ()
    subgraph: CausalSubgraph | None = None
    counterfactuals: tuple[CounterfactualCheck, ...] = ()
    sentences: tuple[SentenceTrace, ...] = ()
    question: str | None = None
    prompt: str | None = None
    front_end: str = "image-head"
    model: str = ""
    index: str | None = None
    store: str = ""
    notes: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    adjustment: FrontEndAdjustment | None = None
    """How the front end's reading was moved for the query's confounder stratum (``causal`` only)."""
    graph_posterior: CaseReading | None = None
    """The case through the graph posterior (``causal`` with a posterior): what the answer reads."""
    view: str | None = None

    def positive_findings(self, threshold: float = POSITIVE) -> tuple[str, ...]:
        return tuple(f.name for f in self.findings if f.posterior >= threshold and f.name != "normal")

    def probabilities(self, which: str = "posterior") -> dict[str, float]:
        return {f.name: float(getattr(f, which)) for f in self.findings}

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task, "question": self.question, "retrieval": self.retrieval, "answer": self.answer,
            "answer_source": self.answer_source, "front_end": self.front_end,
            "findings": [f.to_json() for f in sorted(self.findings, key=lambda f: -f.posterior)],
            "exemplars": [h.to_json() for h in self.exemplars],
            "subgraph": self.subgraph.to_json() if self.subgraph is not None else None,
            "counterfactuals": [c.to_json() for c in self.counterfactuals],
            "sentences": [s.to_json() for s in self.sentences], "prompt": self.prompt, "model": self.model,
            "index": self.index, "store": self.store, "notes": list(self.notes),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "front_end_adjustment": self.adjustment.to_json() if self.adjustment is not None else None,
            "view": self.view,
            "graph_posterior": self.graph_posterior.to_json() if self.graph_posterior is not None else None,
        }


def parse_findings(values: Mapping[str, float] | str | np.ndarray | None) -> dict[str, float] | None:
    """A finding vector from a mapping, a label-ordered array, or ``"Effusion=0.9,Cardiomegaly=0.7"``."""
    if values is None:
        return None
    out: dict[str, float] = {}
    if isinstance(values, np.ndarray):
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
        if arr.shape[0] != len(LABELS):
            raise InputError(f"a finding vector needs {len(LABELS)} values in the order {', '.join(LABELS)}")
        items: list[tuple[str, Any]] = list(zip(LABELS, arr.tolist(), strict=True))
    elif isinstance(values, str):
        items = []
        for part in filter(None, (p.strip() for p in values.split(","))):
            name, sep, val = part.partition("=")
            if not sep:
                raise InputError(f"finding {part!r} needs a probability, e.g. {part}=0.8")
            items.append((name, val))
    else:
        items = list(values.items())
    for name, val in items:
        try:
            label = resolve_label(str(name))
        except KeyError as err:
            raise InputError(str(err.args[0])) from None
        try:
            p = float(val)
        except (TypeError, ValueError):
            raise InputError(f"probability of {name!r} is not a number: {val!r}") from None
        if not 0.0 <= p <= 1.0 or np.isnan(p):
            raise InputError(f"probability of {name!r} must lie in [0, 1], got {p}")
        out[label] = p
    return {n: out.get(n, 0.0) for n in LABELS}


class Grounder:
    """Model + exemplar index + store; :meth:`infer` answers one image."""

    def __init__(self, backend: VLMBackend, index: ExemplarIndex | None = None, store: Store | None = None, *,
                 text_encoder: TextEncoder | None = None, settings: RetrievalSettings | None = None,
                 hops: int = 2, prior_weight: float = 0.25, store_label: str | None = None,
                 embedder: VLMBackend | None = None, threads: int | None = None,
                 whatif_table: Path | str | None = None, reconcile: bool = True,
                 posterior: FrontEndPosterior | None = None, include_proposed: bool = False,
                 seed_rule: SeedRule | None = None) -> None:
        if threads:
            import faiss
            import torch

            torch.set_num_threads(threads)
            faiss.omp_set_num_threads(threads)
        self.backend = backend
        self.index = index
        self.store = store if store is not None else starter_store()
        self.store_label = store_label or (getattr(self.store, "location", "") if store is not None
                                           else "starter graph (in memory)")
        self.text_encoder = text_encoder or TextEncoder()
        self.retriever = Retriever(index, settings) if index is not None else None
        self.settings = settings or RetrievalSettings()
        self.subgraphs = SubgraphCache(self.store, hops=hops)
        self.prior_weight = prior_weight
        self.reconcile = reconcile
        """Check generated reports against the calibrated findings (see :func:`reconcile_report`)."""
        self.posterior = posterior
        """The graph posterior ``causal`` reads (None: ``causal`` fuses exemplar votes instead)."""
        self.include_proposed = include_proposed
        """Default for showing proposed edges (marked) in the evidence subgraph."""
        self.seed_rule = seed_rule or SeedRule()
        self.embedder = embedder if embedder is not None else (backend if backend.has_embeddings else None)
        if self.embedder is None and index is not None and index.info.encoder and Path(index.info.encoder).is_dir():
            self.embedder = load_backend(index.info.encoder)
        self.index_note: str | None = None
        if index is not None and index.info.encoder and self.embedder is not None and \
                Path(index.info.encoder).resolve() == Path(self.embedder.path).resolve() and \
                index.info.encoder_fingerprint not in (None, self.embedder.fingerprint):
            self.index_note = (f"the exemplar index was built with an earlier version of {index.info.encoder}; "
                               "rebuild it with `mcrag index build` so image similarities are comparable")
        self._whatif_table = Path(whatif_table) if whatif_table is not None else None
        self._whatif: WhatIfEngine | None = None
        self._whatif_tried = False

    @property
    def whatif(self) -> WhatIfEngine | None:
        """The what-if engine, built on first use (its imports and fit are not free)."""
        if not self._whatif_tried:
            self._whatif_tried = True
            if self._whatif_table is not None and self._whatif_table.is_file():
                self._whatif = WhatIfEngine.build(self.store, self._whatif_table)
        return self._whatif

    @classmethod
    def load(cls, model: str | Path, index: str | Path | None = None, store: Store | None = None,
             **kwargs: Any) -> Grounder:
        """From a model folder and, optionally, an index folder (both built by the ``mcrag`` commands);
        the graph posterior saved beside the index is loaded too, when there is one."""
        backend = load_backend(model)
        idx = ExemplarIndex.load(index) if index is not None else None
        if index is not None and "posterior" not in kwargs:
            kwargs["posterior"] = FrontEndPosterior.load(index)
        return cls(backend, idx, store, **kwargs)

    # -- the pipeline ------------------------------------------------------------------------------
    def infer(self, image: str | Path | bytes | np.ndarray | LoadedImage | None = None, task: str = "diagnose",
              question: str | None = None, retrieval: str = "causal", *,
              findings: Mapping[str, float] | str | np.ndarray | None = None, k: int | None = None,
              max_new_tokens: int = 96, stratum: str | None = None,
              query_embedding: np.ndarray | None = None, view: str | None = None,
              include_proposed: bool | None = None) -> InferenceResult:
        """Answer ``task`` for ``image`` (or for an injected finding vector) in retrieval mode ``retrieval``.

        ``view``: the film's projection (``AP``, ``PA``, ``AP supine``) when known; the graph posterior
        reads the front end given it (else the pooled view mix).
        ``stratum``: the image's confounder stratum as the index names it (``source|view|device``),
        when the acquisition metadata tells it; ``causal`` infers it from the image otherwise.
        ``query_embedding``: the retrieval query, when another front end has already embedded the
        case in the index's space (batch evaluations); otherwise it is built from the image.
        ``include_proposed``: show proposed edges (marked) in the evidence (default: the grounder's).
        """
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        check_task(task)
        check_mode(retrieval)
        q_text = (question or "").strip()
        if task == "vqa" and not q_text:
            raise InputError("task vqa needs a non-empty --question")
        if task != "vqa" and q_text:
            raise InputError(f"--question is only read by task vqa, not {task}")
        injected = parse_findings(findings)
        try:
            view = check_view(view)
        except ValueError as err:
            raise InputError(str(err)) from None
        if view is None and stratum is not None:
            parts = stratum.split("|")
            view = check_view(parts[1]) if len(parts) > 1 and parts[1] in ("AP", "PA", "AP supine") else None
        proposed = self.include_proposed if include_proposed is None else bool(include_proposed)
        if image is None and injected is None:
            raise InputError("give an image, or a finding-probability vector from another front end")
        if retrieval != "none" and self.index is None:
            raise IndexMissingError(f"retrieval mode {retrieval!r} needs an exemplar index; build it with "
                                    "`mcrag index build` (or use --retrieval none)")
        notes: list[str] = [self.index_note] if self.index_note and retrieval != "none" else []

        # 1. read the image
        encoding: ImageEncoding | None = None
        pixels = None
        if image is not None:
            pixels = preprocess(image if isinstance(image, LoadedImage) else load_image(
                image, reduce_to=self.backend.image_size), self.backend.image_size)
            timings["image"] = _ms(t0)
            t = time.perf_counter()
            encoding = self.backend.encode(pixels)
            timings["encode"] = _ms(t)

        # 2. front end: what the image shows
        if injected is not None:
            probs, front = injected, "injected"
        elif encoding is not None and encoding.probs is not None:
            probs, front = dict(zip(self.backend.label_names, (float(p) for p in encoding.probs), strict=True)), "image-head"
        else:
            probs, front = dict.fromkeys(LABELS, 0.0), "none"
            notes.append(f"model {self.backend.kind} has no diagnosis head; findings come from retrieval")
        raw = probs
        unchecked: set[str] = set()
        if front == "image-head" and self.backend.validated_labels is not None:
            unchecked = {n for n in probs if n not in self.backend.validated_labels}
            probs = {n: (0.0 if n in unchecked else p) for n, p in probs.items()}
            flagged = sorted(n for n in unchecked if raw[n] >= POSITIVE)
            if flagged:
                notes.append("image head not validated for " + ", ".join(label_text(n) for n in flagged)
                             + "; those probabilities are shown but not used")
        # 2b. causal: the graph posterior, or the front end read relative to the query's confounder stratum
        adjustment: FrontEndAdjustment | None = None
        query: np.ndarray | None = None
        case: CaseReading | None = None
        if retrieval == "causal" and self.posterior is not None and front in ("image-head", "injected"):
            t = time.perf_counter()
            case = self.posterior.read({n: p for n, p in probs.items() if n not in unchecked}, view)
            probs = {**probs, **case.labels}
            timings["graph_posterior"] = _ms(t)
        elif retrieval == "causal" and self.posterior is None and front in ("image-head", "injected"):
            notes.append("no graph posterior (build it with `mcrag index build`, which needs the cxr_labels tables): "
                         "causal fuses exemplar votes instead")
        if case is None and retrieval == "causal" and self.retriever is not None \
                and front in ("image-head", "injected") \
                and self.retriever.index.score_source(self.retriever.settings.front_end_scores) is not None:
            t = time.perf_counter()
            query = self._query_vector(encoding, pixels, probs, q_text, query_embedding)
            probs, adjustment = self.retriever.adjust_front_end(
                probs, query, stratum, labels=[n for n in probs if n not in unchecked])
            if adjustment is not None:
                notes.append(adjustment.note())
            timings["adjust"] = _ms(t)

        # 3. retrieval and causal evidence
        subgraph: CausalSubgraph | None = None
        result = Retrieval("none")
        if retrieval != "none":
            if query is None:
                t = time.perf_counter()
                query = self._query_vector(encoding, pixels, probs, q_text, query_embedding)
                timings["query_vector"] = _ms(t)
            assert self.retriever is not None
            if retrieval == "semantic":
                t = time.perf_counter()
                result = self.retriever.semantic(query, k)
                timings["retrieval"] = _ms(t)
            else:
                t = time.perf_counter()
                subgraph = self.subgraphs.get(seed_iris(probs, self.seed_rule), include_proposed=proposed)
                timings["subgraph"] = _ms(t)
                t = time.perf_counter()
                graph = _CaseGraph(self.posterior, {n: p for n, p in raw.items() if n not in unchecked}, view) \
                    if case is not None and self.posterior is not None else None
                result = self.retriever.causal(query, probs, subgraph, k, whatif=self.whatif, graph=graph)
                timings["retrieval"] = _ms(t)
            notes.extend(result.notes)
        if subgraph is not None and case is not None and self.posterior is not None:
            for e in subgraph.edges:
                differs = self.posterior.edge_note(e.subject, e.object)
                if differs:
                    notes.append(f"{e.ref} {e.subject_label} -> {e.object_label}: {differs}")
        scores = self._fuse(probs, result.hits if retrieval != "none" else (), raw, unchecked,
                            vote=case is None)

        # 4. answer
        t = time.perf_counter()
        posterior = {f.name: f.posterior for f in scores}
        evidence = prompt_evidence(subgraph) if retrieval == "causal" else ""
        similar = first_sentences(result.hits[0].exemplar.text, 200) if result.hits else None
        prompt = Prompt(task, findings_text(posterior), evidence or None, similar, q_text or None,
                        tuple(float(posterior.get(n, 0.0)) for n in LABELS))
        answer, source = self._answer(task, q_text, posterior, subgraph, encoding, prompt, max_new_tokens,
                                      differs=self.posterior if case is not None else None)
        origins: dict[str, str] = {}
        if task == "report" and source == "decoder" and self.reconcile:
            answer, origins, dropped = reconcile_report(answer, posterior)
            if dropped or any(o == "diagnosis-head" for o in origins.values()):
                notes.append(f"report checked against the calibrated findings: {dropped} generated sentence(s) that "
                             f"contradicted them removed, {sum(o == 'diagnosis-head' for o in origins.values())} "
                             "finding sentence(s) stated from the diagnosis head")
        timings["answer"] = _ms(t)
        traces = self._trace(answer, posterior, result.hits, subgraph, origins)
        timings["total"] = _ms(t0)
        return InferenceResult(
            task=task, retrieval=retrieval, answer=answer, answer_source=source, findings=tuple(scores),
            exemplars=result.hits, subgraph=subgraph, counterfactuals=result.counterfactuals, sentences=traces,
            question=q_text or None, prompt=prompt.text() if source == "decoder" else None, front_end=front,
            model=self.backend.path, index=(self.index.location if self.index is not None else None),
            store=str(self.store_label), notes=tuple(notes), timings_ms=timings, adjustment=adjustment,
            graph_posterior=case, view=view)

    def _query_vector(self, encoding: ImageEncoding | None, pixels: np.ndarray | None, probs: Mapping[str, float],
                      question: str, given: np.ndarray | None = None) -> np.ndarray:
        if given is not None:
            return np.asarray(given, dtype=np.float32)
        parts: list[np.ndarray] = []
        if encoding is not None and encoding.embedding is not None:
            parts.append(encoding.embedding)
        elif pixels is not None and self.embedder is not None:
            emb = self.embedder.encode(pixels).embedding
            if emb is not None:
                parts.append(emb)
        if not parts:
            parts.append(self.text_encoder.encode_one(findings_text(probs)))
        if question:
            parts.append(0.5 * self.text_encoder.encode_one(question))
        return normalise(np.sum(parts, axis=0))

    def _fuse(self, probs: Mapping[str, float], hits: tuple[Hit, ...], raw: Mapping[str, float] | None = None,
              unchecked: set[str] | frozenset[str] = frozenset(), vote: bool = True) -> list[FindingScore]:
        """Move each probability toward the exemplars' score-weighted vote, where they annotate it.

        With ``vote`` false (``causal`` with a graph posterior) the vote is shown as the prior, not fused:
        the posterior already holds the label tables' prior, and the exemplars' own mix would count twice.
        """
        out = []
        if hits and self.index is not None:
            rows = np.array([h.row for h in hits])
            w = np.maximum(np.array([h.score for h in hits], dtype=np.float64), 1e-6)
            bits = self.index.label_bits[rows]
            known = self.index.known_bits[rows]
        for name in LABELS:
            p = float(probs.get(name, 0.0))
            prior = None
            if hits and self.index is not None:
                b = np.uint32(1 << LABEL_INDEX[name])
                ann = (known & b) != 0
                if ann.any():
                    prior = float((w[ann] * ((bits[ann] & b) != 0)).sum() / w[ann].sum())
            post = p if prior is None or not vote else (1 - self.prior_weight) * p + self.prior_weight * prior
            shown = float(raw.get(name, p)) if raw is not None else p
            out.append(FindingScore(name, label_text(name), shown, prior, post, name not in unchecked))
        return out

    def _answer(self, task: str, question: str, posterior: Mapping[str, float], subgraph: CausalSubgraph | None,
                encoding: ImageEncoding | None, prompt: Prompt, max_new_tokens: int,
                differs: FrontEndPosterior | None = None) -> tuple[str, str]:
        if task == "diagnose":
            return diagnosis_text(posterior, subgraph, differs=differs), "diagnosis-head"
        if task == "vqa":
            asked = [n for n in findings_from_text(question) if n in posterior]
            if _YES_NO.match(question) and len(asked) == 1:
                name = asked[0]
                if name == "normal":
                    yes = not any(p >= POSITIVE for n, p in posterior.items() if n != "normal")
                else:
                    yes = posterior[name] >= POSITIVE
                return (f"{'Yes' if yes else 'No'}. {label_text(name).capitalize()}: p={posterior[name]:.2f}.",
                        "diagnosis-head")
        text = self.backend.generate(encoding, prompt, max_new_tokens)
        return (text or "(no answer generated)"), "decoder"

    def _trace(self, answer: str, posterior: Mapping[str, float], hits: tuple[Hit, ...],
               subgraph: CausalSubgraph | None, origins: Mapping[str, str] | None = None) -> tuple[SentenceTrace, ...]:
        out = []
        for s in sentences(answer):
            named = list(mentions(s))
            refs = set(re.findall(r"\bE\d+\b", s))
            edges = []
            if subgraph is not None:
                for e in subgraph.edges:
                    if e.supports and (e.ref in refs or label_for_iri(e.subject) in named
                                       or label_for_iri(e.object) in named):
                        edges.append(e)
            edges = edges[:6]
            ex = [h.exemplar.id for h in hits if set(h.exemplar.findings) & set(named)][:5]
            cites = []
            for e in edges:
                for src in e.sources[:1]:
                    cites.append(src.citation or src.identifier or src.document)
            out.append(SentenceTrace(s, tuple(named), {n: float(posterior[n]) for n in named if n in posterior},
                                     tuple(ex), tuple(e.ref for e in edges), tuple(e.claim_id for e in edges),
                                     tuple(dict.fromkeys(c for c in cites if c)), (origins or {}).get(s, "answer")))
        return tuple(out)


def _finding_sentence(name: str) -> str:
    if name == "COVID-19":
        return "The appearance is consistent with COVID-19 pneumonia."
    text = label_text(name)
    return f"{text[0].upper()}{text[1:]} is present."


def reconcile_report(text: str, posterior: Mapping[str, float], positive: float = POSITIVE,
                     negative: float = POSSIBLE) -> tuple[str, dict[str, str], int]:
    """Make a generated report agree with the calibrated findings, sentence by sentence.

    A small decoder writes fluent, typical reports but may deny a finding the image head is sure
    of (or assert one it rules out). Generated sentences that negate a finding with probability at
    least ``positive``, or assert one below ``negative``, are removed; each positive finding no kept
    sentence asserts is stated first. Returns the text, each sentence's origin, and how many
    generated sentences were removed.
    """
    kept: list[str] = []
    asserted: set[str] = set()
    dropped = 0
    for s in sentences(text):
        named = mentions(s)
        if any((not yes and posterior.get(n, 0.0) >= positive) or (yes and posterior.get(n, 0.0) < negative)
               for n, yes in named.items() if n != "normal"):
            dropped += 1
            continue
        kept.append(s)
        asserted |= {n for n, yes in named.items() if yes}
    missing = [n for n, p in sorted(posterior.items(), key=lambda kv: -kv[1])
               if p >= positive and n != "normal" and n not in asserted]
    added = [_finding_sentence(n) for n in missing]
    origins = {s: "diagnosis-head" for s in added} | {s: "decoder" for s in kept}
    return " ".join(added + kept), origins, dropped


def diagnosis_text(posterior: Mapping[str, float], subgraph: CausalSubgraph | None, max_edges: int = 3,
                   differs: FrontEndPosterior | None = None) -> str:
    """Findings read off the calibrated probabilities, with the trusted causal edges that connect them;
    where the graph posterior's effect for such an edge differs across label sources, which sources it used."""
    named = sorted(((p, n) for n, p in posterior.items() if n != "normal" and p >= POSSIBLE), reverse=True)
    if not any(p >= POSITIVE for p, _ in named):
        top = max(((p, n) for n, p in posterior.items() if n != "normal"), default=(0.0, "none"))
        text = f"No acute findings (highest: {label_text(top[1])} {top[0]:.2f})."
    else:
        parts = [f"{label_text(n)} ({p:.2f}{', possible' if p < POSITIVE else ''})" for p, n in named]
        text = "Findings: " + "; ".join(parts) + "."
    if subgraph is not None:
        names = {n for p, n in named if p >= POSITIVE}
        iris = {LABEL_CONCEPTS[n] for n in names if n in LABEL_CONCEPTS}
        edges = [e for e in subgraph.edges if e.supports and (e.subject in iris or e.object in iris)][:max_edges]
        for e in edges:
            note = differs.edge_note(e.subject, e.object) if differs is not None else None
            text += f" {e.ref}: {e.subject_label} {e.relation} {e.object_label} ({e.status}" + (
                f"; {note}" if note else "") + ")."
    return text


class _CaseGraph:
    """One case's graph posterior as :class:`vlm.counterfactual.GraphQuery` (concept IRIs in)."""

    def __init__(self, posterior: FrontEndPosterior, probs: Mapping[str, float], view: str | None) -> None:
        self.posterior, self.probs, self.view = posterior, dict(probs), view

    def expected(self, cause_iri: str, effect_iri: str) -> tuple[float, float] | None:
        return self.posterior.expected_under_do(self.probs, self.view, cause_iri, effect_iri)


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


__all__ = ["MODES", "TASKS", "FindingScore", "Grounder", "InferenceResult", "SentenceTrace", "check_task",
           "diagnosis_text", "parse_findings", "reconcile_report"]
