"""The curation index: every claim's reviewable fields in memory, kept in step with the store.

Search, facets, the review queue and the edge view must answer in well under a second on a graph of
100k claims. SPARQL over an embedded Oxigraph store answers such filtered, sorted and counted
questions in seconds at that size (every claim's terms are decoded from disk), so, as GraphDB pairs
its store with a Lucene or Elasticsearch connector, the workbench reads the claims once into
columns (one single-pattern scan per field, templates below) and answers from those.

It stays exact in two ways. Every act of :mod:`kg.curation` patches the rows it changed from what it
wrote (no re-read); and the store counts the writes made through it (``Store.generation``), so a
write the index did not make (a validation run, a load, a SPARQL update) makes the next reader
rebuild it. A remote store may be written by other clients the count cannot see: give such an
index a ``max_age_s``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from kg.claims import RELATION_KINDS, ClaimRecord
from kg.concepts import FINDING_CONCEPTS
from kg.namespaces import ID, MCRAG, local_name, mcrag_local
from kg.revisions import parse_time
from kg.statuses import DEFAULT_STATUS, LIVE_STATUSES, STATUSES
from kg.store.base import Store
from kg.validations import UNVALIDATED_UNCERTAINTY

FIELD_SCAN = "SELECT ?s ?v WHERE {{ ?s {path} ?v }}"
"""One column: every (subject, value) of one property. ``{path}`` is one of :data:`COLUMNS`, never user input."""

CLAIM_GRAPH_SCAN = "SELECT ?s ?v WHERE { GRAPH ?v { ?s a mcrag:CausalClaim } }"
"""Every claim and the named graph that holds it."""

REVISION_TIME_SCAN = """SELECT ?s ?v WHERE { ?a a mcrag:CurationActivity ; prov:used ?s ; prov:endedAtTime ?v }"""
"""When each act that changed a claim ended (curators' acts and validation runs' status moves)."""

COLUMNS: dict[str, str] = {
    "subject": "rdf:subject", "object": "rdf:object", "relation": "rdf:predicate", "status": "mcrag:status",
    "version": "mcrag:version", "confidence": "mcrag:confidence", "polarity": "mcrag:polarity",
    "certainty": "mcrag:certainty", "scope": "mcrag:scope", "label": "rdfs:label", "sentence": "mcrag:sentence",
    "span": "prov:wasDerivedFrom", "document": "oa:hasSource", "identifier": "dcterms:identifier",
    "collection": "dcterms:source", "citation": "dcterms:bibliographicCitation", "generated_by": "prov:wasGeneratedBy",
    "agent": "prov:wasAssociatedWith", "ended": "prov:endedAtTime", "validation": "mcrag:hasValidation",
    "verdict": "mcrag:verdict", "effect": "mcrag:effect", "ci_low": "mcrag:ciLow", "ci_high": "mcrag:ciHigh",
    "uncertainty": "mcrag:uncertainty", "dataset": "mcrag:dataset", "reason": "mcrag:reason",
    "pref_label": "skos:prefLabel", "alt_label": "skos:altLabel", "exact_match": "skos:exactMatch",
    "close_match": "skos:closeMatch", "broad_match": "skos:broadMatch", "notation": "skos:notation",
}
"""Index column -> the property it is read from (the claim's shape is written in ``kg.claims``)."""

MAPPING_KINDS: tuple[str, ...] = ("exact", "close", "broad")
"""SKOS mapping relations a curator edits: ``skos:exactMatch``, ``skos:closeMatch``, ``skos:broadMatch``."""

_FINDINGS = frozenset(c.iri for c in FINDING_CONCEPTS.values())
_NAN = float("nan")


def edge_iri(subject: str, relation: str, obj: str) -> str:
    """The stable IRI of the edge ``subject -relation-> object`` (``id:edge/<hash>``)."""
    digest = hashlib.sha1(f"{subject}|{relation}|{obj}".encode()).hexdigest()[:20]
    return str(ID[f"edge/{digest}"])


def _ranks(values: Sequence[str]) -> np.ndarray:
    """Position of each value in sorted order (ties in input order)."""
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[np.argsort(np.array(values, dtype=object), kind="stable")] = np.arange(len(values))
    return ranks


def _scan(store: Store, sparql: str) -> Iterator[tuple[str, str]]:
    """(subject, value) pairs of a two-column query, decoded by the store into CSV (fast path)."""
    data, _ = store.query_serialized(sparql, "csv")
    reader = csv.reader(io.StringIO(data.decode("utf-8")))
    next(reader, None)
    for row in reader:
        if len(row) >= 2 and row[0] and row[1]:
            yield row[0], row[1]


def _epoch(text: str | None) -> float:
    t = parse_time(text)
    return t.timestamp() if t else _NAN


def _float(text: str | None) -> float:
    try:
        return float(text) if text else _NAN
    except ValueError:
        return _NAN


@dataclass(frozen=True)
class Verdict:
    """One validation result of a claim as the index keeps it."""

    result: str
    time: float
    """When its run ended (epoch seconds; NaN when unknown)."""
    verdict: str
    dataset: str
    effect: float
    ci_low: float
    ci_high: float
    uncertainty: float
    reason: str

    @property
    def source(self) -> str:
        """The data set's title without its digests (``openi (sha256:...)`` -> ``openi``)."""
        return self.dataset.split(" (sha256:", 1)[0] or "unknown"

    def to_json(self) -> dict[str, object]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else x
        return {"result": self.result, "verdict": self.verdict or None, "source": self.source, "dataset": self.dataset,
                "time": datetime.fromtimestamp(self.time, UTC).isoformat() if not math.isnan(self.time) else None,
                "effect": num(self.effect), "ci_low": num(self.ci_low), "ci_high": num(self.ci_high),
                "uncertainty": num(self.uncertainty), "reason": self.reason or None}


def newest_verdicts(views: Iterable[Verdict]) -> list[Verdict]:
    """Newest first, in the order of ``kg.validations.newest_first`` (run end, then result IRI)."""
    return sorted(views, key=lambda v: (-math.inf if math.isnan(v.time) else v.time, v.result), reverse=True)


@dataclass
class Codes:
    """A growing table of distinct strings with their integer codes (a categorical column's levels)."""

    values: list[str] = field(default_factory=list)
    pos: dict[str, int] = field(default_factory=dict)

    def code(self, value: str) -> int:
        found = self.pos.get(value)
        if found is None:
            found = self.pos[value] = len(self.values)
            self.values.append(value)
        return found

    def __len__(self) -> int:
        return len(self.values)


class CurationIndex:
    """Columns of every claim (one row each), its concepts, validations and edges; see the module doc."""

    def __init__(self, store: Store, *, max_age_s: float | None = None) -> None:
        self.store = store
        self.max_age_s = max_age_s
        self.lock = threading.RLock()
        self.generation = -1
        self.built_at = 0.0
        self.build_seconds = 0.0
        self._reset()

    # ------------------------------------------------------------------------------ freshness
    def fresh(self) -> bool:
        if self.generation != self.store.generation:
            return False
        return self.max_age_s is None or time.monotonic() - self.built_at <= self.max_age_s

    def ensure(self) -> CurationIndex:
        """Rebuild when a write the index did not make reached the store (or the index is too old)."""
        with self.lock:
            if not self.fresh():
                self.rebuild()
        return self

    def mark_written(self, before: int) -> bool:
        """After an act patched the index: adopt the store's write count if only that act wrote since ``before``."""
        with self.lock:
            if self.generation == before and self.store.generation == before + 1:
                self.generation = self.store.generation
                return True
            self.generation = -1
            return False

    # ------------------------------------------------------------------------------ building
    def _reset(self) -> None:
        self.claims: list[str] = []
        self.pos: dict[str, int] = {}
        self.graphs = Codes()
        self.concepts = Codes()
        self.relations = Codes(list(RELATION_KINDS), {r: i for i, r in enumerate(RELATION_KINDS)})
        self.scopes = Codes([""], {"": 0})
        self.collections = Codes([""], {"": 0})
        self.extractors = Codes([""], {"": 0})
        self.documents = Codes([""], {"": 0})
        self.verdict_names = Codes([""], {"": 0})
        self.doc_identifier: dict[str, str] = {}
        self.doc_citation: dict[str, str] = {}
        self.concept_label: list[str] = []
        self.concept_synonyms: list[tuple[str, ...]] = []
        self.concept_mappings: list[dict[str, tuple[str, ...]]] = []
        self.label: list[str] = []
        self.sentence: list[str] = []
        self.verdicts: list[tuple[Verdict, ...]] = []
        self._derived_dirty = True
        self._text_dirty = True
        self._impact_dirty = True
        self._rank_dirty = True

    def rebuild(self) -> None:
        """Read every claim column from the store (one scan per property) and derive edges and priorities."""
        t0 = time.perf_counter()
        store = self.store
        generation = store.generation
        self._reset()
        graph_of: dict[str, str] = {}
        for c, g in _scan(store, CLAIM_GRAPH_SCAN):
            graph_of.setdefault(c, g)
        claims = sorted(graph_of)
        self.claims = claims
        self.pos = {c: i for i, c in enumerate(claims)}
        n = len(claims)
        self.graph = np.array([self.graphs.code(graph_of[c]) for c in claims], dtype=np.int32)

        def column(name: str) -> Iterator[tuple[int, str]]:
            for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS[name])):
                i = self.pos.get(s)
                if i is not None:
                    yield i, v

        self.subject = np.full(n, -1, dtype=np.int32)
        self.object = np.full(n, -1, dtype=np.int32)
        for name, arr in (("subject", self.subject), ("object", self.object)):
            for i, v in column(name):
                if arr[i] < 0:
                    arr[i] = self.concepts.code(v)
        self.relation = np.zeros(n, dtype=np.int32)
        for i, v in column("relation"):
            self.relation[i] = self.relations.code(mcrag_local(v) or "causes")
        status_code: dict[str, int] = {s: k for k, s in enumerate(STATUSES)}
        self.status = np.full(n, status_code[DEFAULT_STATUS], dtype=np.int8)
        for i, v in column("status"):
            self.status[i] = status_code.get(mcrag_local(v) or "", status_code[DEFAULT_STATUS])
        self.version = np.ones(n, dtype=np.int64)
        for i, v in column("version"):
            self.version[i] = int(float(v))
        self.confidence = np.full(n, _NAN)
        for i, v in column("confidence"):
            self.confidence[i] = _float(v)
        self.polarity = np.ones(n, dtype=np.int8)
        for i, v in column("polarity"):
            self.polarity[i] = 0 if v == "negative" else 1
        self.certainty = np.zeros(n, dtype=np.int8)
        certainty_code = {"certain": 1, "probable": 2, "possible": 3}
        for i, v in column("certainty"):
            self.certainty[i] = certainty_code.get(mcrag_local(v) or "", 0)
        self.scope = np.zeros(n, dtype=np.int32)
        for i, v in column("scope"):
            self.scope[i] = self.scopes.code(mcrag_local(v) or v)
        self.label = [""] * n
        for i, v in column("label"):
            if not self.label[i]:
                self.label[i] = v
        self.sentence = [""] * n
        for i, v in column("sentence"):
            if not self.sentence[i]:
                self.sentence[i] = v
        span_of: dict[str, int] = {}
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["span"])):
            row = self.pos.get(s)
            if row is not None:
                span_of.setdefault(v, row)
        self.document = np.zeros(n, dtype=np.int32)
        doc_rows: dict[str, list[int]] = {}
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["document"])):
            row = span_of.get(s)
            if row is not None and self.document[row] == 0:
                self.document[row] = self.documents.code(v)
                doc_rows.setdefault(v, []).append(row)
        self.collection = np.zeros(n, dtype=np.int32)
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["collection"])):
            for i in doc_rows.get(s, ()):
                self.collection[i] = self.collections.code(v)
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["identifier"])):
            if s in doc_rows:
                self.doc_identifier.setdefault(s, v)
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["citation"])):
            if s in doc_rows:
                self.doc_citation.setdefault(s, v)
        # provenance: extractor and extraction time, through the generating activity
        activity_rows: dict[str, list[int]] = {}
        result_run: dict[str, str] = {}
        results_of: dict[str, list[int]] = {}
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["validation"])):
            row = self.pos.get(s)
            if row is not None:
                results_of.setdefault(v, []).append(row)
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["generated_by"])):
            row = self.pos.get(s)
            if row is not None:
                activity_rows.setdefault(v, []).append(row)
            elif s in results_of:
                result_run[s] = v
        agent_rows: dict[str, list[int]] = {}
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["agent"])):
            for i in activity_rows.get(s, ()):
                agent_rows.setdefault(v, []).append(i)
        self.extractor = np.zeros(n, dtype=np.int32)
        self.generated = np.full(n, _NAN)
        run_time: dict[str, float] = {}
        runs = set(result_run.values())
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["ended"])):
            rows = activity_rows.get(s)
            if rows:
                t = _epoch(v)
                for i in rows:
                    self.generated[i] = t
            if s in runs:
                run_time[s] = _epoch(v)
        self.changed = self.generated.copy()
        for s, v in _scan(store, REVISION_TIME_SCAN):
            row = self.pos.get(s)
            if row is not None:
                t = _epoch(v)
                if math.isnan(self.changed[row]) or t > self.changed[row]:
                    self.changed[row] = t
        # labels: of claims (above), of agents and of concepts
        concept_pref: dict[int, str] = {}
        concept_rdfs: dict[int, str] = {}
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["label"])):
            if s in agent_rows:
                code = self.extractors.code(v)
                for i in agent_rows[s]:
                    self.extractor[i] = code
            k = self.concepts.pos.get(s)
            if k is not None:
                concept_rdfs.setdefault(k, v)
        for s, v in _scan(store, FIELD_SCAN.format(path=COLUMNS["pref_label"])):
            k = self.concepts.pos.get(s)
            if k is not None:
                concept_pref.setdefault(k, v)
        self._read_concepts(concept_pref, concept_rdfs)
        self._read_verdicts(results_of, result_run, run_time)
        for arr in (self.subject, self.object):
            arr[arr < 0] = self.concepts.code("")
        self._grow_concepts()
        self._priority: np.ndarray | None = None
        self.priorities()
        self.label_ranks()
        self.text()
        self.generation = generation
        self.built_at = time.monotonic()
        self.build_seconds = time.perf_counter() - t0

    def _read_concepts(self, pref: dict[int, str], rdfs: dict[int, str]) -> None:
        nc = len(self.concepts)
        self.concept_label = [pref.get(k) or rdfs.get(k) or local_name(self.concepts.values[k]) for k in range(nc)]
        synonyms: dict[int, list[str]] = {}
        for s, v in _scan(self.store, FIELD_SCAN.format(path=COLUMNS["alt_label"])):
            k = self.concepts.pos.get(s)
            if k is not None and v not in synonyms.setdefault(k, []):
                synonyms[k].append(v)
        self.concept_synonyms = [tuple(synonyms.get(k, ())) for k in range(nc)]
        self.concept_mappings = [{} for _ in range(nc)]
        for kind in MAPPING_KINDS:
            for s, v in _scan(self.store, FIELD_SCAN.format(path=COLUMNS[f"{kind}_match"])):
                k = self.concepts.pos.get(s)
                if k is not None:
                    have = self.concept_mappings[k].get(kind, ())
                    if v not in have:
                        self.concept_mappings[k][kind] = (*have, v)
        self.concept_notations: list[tuple[str, ...]] = [() for _ in range(nc)]
        for s, v in _scan(self.store, FIELD_SCAN.format(path=COLUMNS["notation"])):
            k = self.concepts.pos.get(s)
            if k is not None:
                self.concept_notations[k] = (*self.concept_notations[k], v)

    def _read_verdicts(self, results_of: dict[str, list[int]], result_run: dict[str, str],
                       run_time: dict[str, float]) -> None:
        fields: dict[str, dict[str, str]] = {r: {} for r in results_of}
        for name in ("verdict", "effect", "ci_low", "ci_high", "uncertainty", "dataset", "reason"):
            for s, v in _scan(self.store, FIELD_SCAN.format(path=COLUMNS[name])):
                f = fields.get(s)
                if f is not None:
                    f.setdefault(name, v)
        per_claim: dict[int, list[Verdict]] = {}
        for r, rows in results_of.items():
            f = fields[r]
            verdict = Verdict(r, run_time.get(result_run.get(r, ""), _NAN), mcrag_local(f.get("verdict")) or "",
                              f.get("dataset", ""), _float(f.get("effect")), _float(f.get("ci_low")),
                              _float(f.get("ci_high")), _float(f.get("uncertainty")), f.get("reason", ""))
            for i in rows:
                per_claim.setdefault(i, []).append(verdict)
        n = len(self.claims)
        self.verdicts = [()] * n
        for i, views in per_claim.items():
            self.verdicts[i] = tuple(newest_verdicts(views))
            latest_run = max((v.time for v in views if not math.isnan(v.time)), default=_NAN)
            if not math.isnan(latest_run) and (math.isnan(self.changed[i]) or latest_run > self.changed[i]):
                self.changed[i] = latest_run
        self._verdict_columns()

    def _verdict_columns(self) -> None:
        n = len(self.claims)
        self.verdict = np.zeros(n, dtype=np.int32)
        self.uncertainty = np.full(n, UNVALIDATED_UNCERTAINTY)
        for i, views in enumerate(self.verdicts):
            if views:
                latest = views[0]
                self.verdict[i] = self.verdict_names.code(latest.verdict)
                if not math.isnan(latest.uncertainty):
                    self.uncertainty[i] = latest.uncertainty

    def _grow_concepts(self) -> None:
        """Give concepts coded after the build (a new cause set by an edit) their label lists' slots."""
        while len(self.concept_label) < len(self.concepts):
            iri = self.concepts.values[len(self.concept_label)]
            self.concept_label.append(local_name(iri) if iri else "")
            self.concept_synonyms.append(())
            self.concept_mappings.append({})
            self.concept_notations.append(())

    # ------------------------------------------------------------------------------ derived columns
    def _derive(self) -> None:
        """Edges (cause, relation, effect) of every claim, their IRIs and members."""
        if not self._derived_dirty:
            return
        keys = self.subject.astype(np.int64) * (1 << 40) + self.relation.astype(np.int64) * (1 << 20) \
            + self.object.astype(np.int64)
        uniq, inverse = np.unique(keys, return_inverse=True)
        self.edge_of = inverse.astype(np.int32)
        self.edge_key = [(int(k >> 40), int((k >> 20) & ((1 << 20) - 1)), int(k & ((1 << 20) - 1))) for k in uniq]
        self.edge_ids = [edge_iri(self.concepts.values[s], str(MCRAG[self.relations.values[r]]),
                                  self.concepts.values[o]) for s, r, o in self.edge_key]
        self.edge_pos = {e: k for k, e in enumerate(self.edge_ids)}
        order = np.argsort(self.edge_of, kind="stable")
        bounds = np.searchsorted(self.edge_of[order], np.arange(len(uniq) + 1))
        self.edge_members = [order[bounds[k]:bounds[k + 1]] for k in range(len(uniq))]
        self.edge_order, self.edge_bounds = order, bounds
        self.edge_sizes = np.diff(bounds)
        pair = self.subject.astype(np.int64) * (1 << 32) + self.object.astype(np.int64)
        _, pinv, pcount = np.unique(pair, return_inverse=True, return_counts=True)
        self.pair_support = pcount[pinv]
        self.edge_ids_sorted = sorted(self.edge_ids)
        self.edge_tie_rank = _ranks(self.edge_ids)
        self.edge_label_rank = _ranks([f"{self.concept_label[s]} {self.relations.values[r]} {self.concept_label[o]}".lower()
                                       for s, r, o in self.edge_key])
        self._derived_dirty = False
        self._impact_dirty = True

    def _impacts(self) -> None:
        """Per claim: how much of the live graph lies downstream of its effect, as in the review queue."""
        self._derive()
        if not self._impact_dirty:
            return
        import networkx as nx

        live_status = np.array([STATUSES.index(s) for s in LIVE_STATUSES], dtype=np.int8)
        live = (self.polarity == 1) & np.isin(self.status, live_status) & (self.subject != self.object)
        g = nx.DiGraph()
        g.add_edges_from(zip(self.subject[live].tolist(), self.object[live].tolist(), strict=True))
        downstream = np.zeros(len(self.concepts), dtype=np.int64)
        if g.number_of_nodes():
            cond = nx.condensation(g)
            members = cond.graph["mapping"]
            bits: dict[int, int] = {}
            comp_nodes: dict[int, list[int]] = {}
            for node, comp in members.items():
                comp_nodes.setdefault(comp, []).append(node)
            for comp in reversed(list(nx.topological_sort(cond))):
                b = 0
                for node in comp_nodes[comp]:
                    b |= 1 << node
                for succ in cond.successors(comp):
                    b |= bits[succ]
                bits[comp] = b
            for node, comp in members.items():
                downstream[node] = bits[comp].bit_count() - 1
        self.downstream = downstream
        touches = np.isin(self.subject, self._finding_codes()) | np.isin(self.object, self._finding_codes())
        self.impact = np.round(1.0 + np.log1p(downstream[self.object]) + np.log1p(self.pair_support - 1)
                               + 0.5 * touches, 4)
        self.touches = touches
        self._impact_dirty = False

    def _finding_codes(self) -> np.ndarray:
        return np.array([self.concepts.pos[c] for c in _FINDINGS if c in self.concepts.pos] or [-2], dtype=np.int32)

    def priorities(self) -> np.ndarray:
        """(0.2 + uncertainty) x impact for every claim (``kg.curation.queue.review_queue``)."""
        cached: np.ndarray | None = getattr(self, "_priority", None)
        if self._impact_dirty or self._derived_dirty or cached is None:
            self._impacts()
            cached = self._priority = np.round((0.2 + self.uncertainty) * self.impact, 4)
        return cached

    def label_ranks(self) -> np.ndarray:
        """Each claim's position in label order (case-insensitive), for sorting by label."""
        if self._rank_dirty:
            self._label_rank = _ranks([lab.lower() for lab in self.label]).astype(np.float64)
            self._rank_dirty = False
        return self._label_rank

    def text(self) -> tuple[str, np.ndarray]:
        """Every claim's searchable text, lower-cased and joined by newlines, with each row's start offset."""
        if self._text_dirty:
            parts = [f"{lab}\t{sen}\t{self.doc_identifier.get(self.documents.values[d], '')}".lower().replace("\n", " ")
                     for lab, sen, d in zip(self.label, self.sentence, self.document.tolist(), strict=True)]
            starts = np.zeros(len(parts) + 1, dtype=np.int64)
            if parts:
                starts[1:] = np.cumsum([len(p) + 1 for p in parts])
            self._blob, self._starts = "\n".join(parts), starts
            self._text_dirty = False
        return self._blob, self._starts

    # ------------------------------------------------------------------------------ reading rows
    def row(self, claim: str) -> int:
        return self.pos[claim]

    def status_of(self, i: int) -> str:
        return STATUSES[int(self.status[i])]

    def relation_of(self, i: int) -> str:
        return self.relations.values[int(self.relation[i])]

    def scope_of(self, i: int) -> str | None:
        return self.scopes.values[int(self.scope[i])] or None

    def document_of(self, i: int) -> str:
        return self.documents.values[int(self.document[i])]

    def source_of(self, i: int) -> str:
        """The claim's source as a reader cites it: the document's citation, else its identifier, else its IRI."""
        doc = self.document_of(i)
        return self.doc_citation.get(doc) or self.doc_identifier.get(doc) or doc

    def record(self, i: int) -> ClaimRecord:
        """The row as the claim record every reader returns (``kg.claims.ClaimRecord``)."""
        conf = float(self.confidence[i])
        s, o = int(self.subject[i]), int(self.object[i])
        return ClaimRecord(
            claim=self.claims[i], graph=self.graphs.values[int(self.graph[i])], subject=self.concepts.values[s],
            object=self.concepts.values[o], relation=self.relation_of(i),
            polarity="positive" if self.polarity[i] else "negative", status=self.status_of(i),
            version=int(self.version[i]), subject_label=self.concept_label[s], object_label=self.concept_label[o],
            certainty=(None, "certain", "probable", "possible")[int(self.certainty[i])],
            confidence=None if math.isnan(conf) else conf, label=self.label[i])

    def changed_time(self, i: int) -> datetime | None:
        t = float(self.changed[i])
        return None if math.isnan(t) else datetime.fromtimestamp(t, UTC)

    def concept_code(self, iri: str, label: str | None = None) -> int:
        k = self.concepts.code(iri)
        self._grow_concepts()
        if label:
            self.concept_label[k] = label
        return k

    # ------------------------------------------------------------------------------ patching after acts
    def patch(self, claim: str, *, status: str | None = None, version: int | None = None,
              relation: str | None = None, subject: str | None = None, obj: str | None = None,
              polarity: str | None = None, certainty: str | None = None, confidence: float | None = None,
              scope: str | None = None, label: str | None = None, changed: datetime | None = None,
              concept_labels: dict[str, str] | None = None) -> None:
        """Set the fields an act wrote on one claim's row (the caller holds :attr:`lock`)."""
        i = self.pos.get(claim)
        if i is None:
            self.generation = -1  # a claim the index never saw: rebuild on the next read
            return
        labels = concept_labels or {}
        if status is not None:
            was_live = self.status_of(i) in LIVE_STATUSES
            self.status[i] = STATUSES.index(status)
            if was_live != (status in LIVE_STATUSES):  # the live graph (what impact counts) changed
                self._impact_dirty = True
        if version is not None:
            self.version[i] = version
        if relation is not None:
            self.relation[i] = self.relations.code(relation)
            self._derived_dirty = True
        if subject is not None:
            self.subject[i] = self.concept_code(subject, labels.get(subject))
            self._derived_dirty = True
        if obj is not None:
            self.object[i] = self.concept_code(obj, labels.get(obj))
            self._derived_dirty = True
        if polarity is not None:
            self.polarity[i] = 1 if polarity == "positive" else 0
            self._impact_dirty = True
        if certainty is not None:
            self.certainty[i] = {"certain": 1, "probable": 2, "possible": 3}.get(certainty, 0)
        if confidence is not None:
            self.confidence[i] = confidence
        if scope is not None:
            self.scope[i] = self.scopes.code(scope)
        if label is not None:
            self.label[i] = label
            self._text_dirty = self._rank_dirty = True
        if changed is not None:
            self.changed[i] = changed.timestamp()

    def patch_mappings(self, concept: str, kind: str, targets: Sequence[str]) -> None:
        k = self.concepts.pos.get(concept)
        if k is not None:
            self.concept_mappings[k] = {**self.concept_mappings[k], kind: tuple(targets)}


_ATTACH_LOCK = threading.Lock()


def index_for(store: Store, *, max_age_s: float | None = None) -> CurationIndex:
    """The store's curation index, fresh; one per store object, living as long as the store object does."""
    with _ATTACH_LOCK:
        idx: CurationIndex | None = getattr(store, "_curation_index", None)
        if idx is None:
            idx = CurationIndex(store, max_age_s=max_age_s)
            store._curation_index = idx  # type: ignore[attr-defined]
        elif max_age_s is not None:
            idx.max_age_s = max_age_s
    return idx.ensure()


def adopt_write(store: Store, before: int, patch: Callable[[CurationIndex], None] | None = None) -> None:
    """After one write that changed no claim column (a comment, a release) or that ``patch`` applied to the
    index: keep the index fresh instead of rebuilding it."""
    idx = cached_index(store)
    if idx is None:
        return
    with idx.lock:
        if patch is not None and idx.generation == before:
            patch(idx)
        idx.mark_written(before)


def cached_index(store: Store) -> CurationIndex | None:
    """The store's index if one was built (fresh or not), without building one."""
    return getattr(store, "_curation_index", None)
