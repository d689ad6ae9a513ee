"""The product's graph posterior: the store's trusted chest graph, fitted on the multi-source label tables.

The structure is what the store holds as trusted chest causal knowledge: accepted or validated claims
of the chest domain (:func:`reasoning.evidence.claim_scope`) between two concepts of the chest
concept table of tier disease or finding (:func:`chest_edges`), strongest first (validated with an
effect, then validated, then accepted), so that an edge closing a cycle with stronger ones is the
one left out. The nodes are the findings a front end reads plus their causes and effects in that
graph that the label tables report with enough positives (:func:`chest_nodes`). The parameters come
from the label tables of :mod:`reasoning.sources` (:func:`label_tables`), with the fit settings of
:class:`~reasoning.posterior.fit.FitSettings`.

Reading five sources takes half a minute and a fit a few seconds, so a fitted network is cached as a
pickle keyed by everything it depends on (:func:`network_key`); a later build with the same edges,
nodes, settings and label files loads it in milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from kg.claim_reader import claims_touching
from kg.concepts import ConceptTable, default_table
from kg.statuses import TRUSTED_STATUSES, status_rank
from kg.store.base import Store
from kg.validations import latest_validations
from reasoning.evidence import CHEST_SCOPES, claim_scope
from reasoning.posterior.fit import FitSettings, FittedNetwork, fit_network
from reasoning.posterior.graph import PosteriorError
from reasoning.posterior.labels import LabelData, label_data

NODE_TIERS = ("disease", "finding")
MENTIONS_ONLY = ("chexpert",)
"""Sources whose labeler marks mentions only: a blank cell reads absent (CheXpert's convention)."""
MAX_NODES = 26
MIN_LATENT_POSITIVES = 100
CACHE_FORMAT = 1


@dataclass(frozen=True)
class ChestEdge:
    """One edge of the trusted chest graph, with the claim that speaks for it."""

    cause: str
    effect: str
    status: str
    claim_id: str
    effect_size: float | None = None
    relation: str = "causes"

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def concept_id(iri: str, table: ConceptTable | None = None) -> str | None:
    """The table id of a concept IRI (None when the IRI is not a table concept)."""
    c = (table or default_table()).resolve(iri)
    return c.id if c is not None else None


def chest_edges(store: Store, table: ConceptTable | None = None) -> list[ChestEdge]:
    """Trusted, positive chest claims between two table concepts of tier disease or finding, strongest first.

    Claims stating the same (cause, effect) count once (the strongest speaks for it); ``prevents``
    claims are not causal arrows of a finding and are left out.
    """
    t = table or default_table()
    wanted = [c for c in t if c.tier in NODE_TIERS]
    records = [r for r in claims_touching(store, [c.iri for c in wanted])
               if r.status in TRUSTED_STATUSES and r.polarity == "positive" and r.relation != "prevents"
               and claim_scope(r, t) in CHEST_SCOPES]
    latest = latest_validations(store, [r.claim for r in records])
    best: dict[tuple[str, str], tuple[tuple[int, int, float, float], ChestEdge]] = {}
    for r in records:
        a, b = concept_id(r.subject, t), concept_id(r.object, t)
        if a is None or b is None or a == b or t[a].tier not in NODE_TIERS or t[b].tier not in NODE_TIERS:
            continue
        v = latest.get(r.claim)
        size = v.effect if v is not None else None
        rank = (status_rank(r.status), 0 if size is not None else 1, -abs(size or 0.0), -(r.confidence or 1.0))
        edge = ChestEdge(a, b, r.status, r.claim_id, size, r.relation)
        if (a, b) not in best or rank < best[(a, b)][0]:
            best[(a, b)] = (rank, edge)
    return [e for _, e in sorted(best.values(), key=lambda x: (x[0], x[1].cause, x[1].effect))]


def chest_nodes(edges: Sequence[ChestEdge], data: LabelData, read: Sequence[str], *, max_nodes: int = MAX_NODES,
                min_latent_positives: int = MIN_LATENT_POSITIVES) -> tuple[str, ...]:
    """The read findings the label tables report, then their neighbours in the graph (one hop, then two),
    reported with at least ``min_latent_positives`` positives, most connected first, up to ``max_nodes``."""
    reported = [c for c in read if c in data.concepts and data.reported(c)]
    nodes = list(dict.fromkeys(reported))
    for _ in range(2):
        degree: dict[str, int] = {}
        for e in edges:
            for a, b in ((e.cause, e.effect), (e.effect, e.cause)):
                if a in nodes and b not in nodes and b in data.concepts and data.reported(b) \
                        and data.positives(b) >= min_latent_positives:
                    degree[b] = degree.get(b, 0) + 1
        ranked = sorted(degree, key=lambda c: (-degree[c], -data.positives(c), c))
        nodes.extend(ranked[:max(0, max_nodes - len(nodes))])
    return tuple(nodes)


def label_tables(cxr_labels: Path | str, concepts: Sequence[str], *, sources: Sequence[str] | None = None,
                 exclude: Collection[str] = (), progress: bool = False) -> LabelData:
    """The chosen sources' study x concept tables (``reasoning.sources``) as one :class:`LabelData`."""
    from reasoning.sources import SOURCES, read_source

    chosen = [s for s in (sources or SOURCES) if s not in set(exclude)]
    if not chosen:
        raise PosteriorError("graph posterior: no label source left to fit on")
    frames = {}
    for name in chosen:
        m = read_source(name, cxr_labels, progress=progress)
        frames[name] = m.frame[[c for c in m.concept_columns if c in set(concepts)]]
    return label_data(frames, list(concepts), blank_absent=MENTIONS_ONLY)


def label_files_digest(cxr_labels: Path | str) -> str:
    """Names, sizes and modification times of the label files: what a cached fit depends on."""
    folder = Path(cxr_labels)
    parts = [f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in sorted(folder.glob("*")) if p.is_file()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def network_key(edges: Iterable[ChestEdge], nodes: Sequence[str], settings: FitSettings, sources: Sequence[str],
                labels_digest: str) -> str:
    payload = {"format": CACHE_FORMAT, "edges": [(e.cause, e.effect) for e in edges], "nodes": list(nodes),
               "settings": repr(settings), "sources": list(sources), "labels": labels_digest}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


@dataclass(frozen=True, eq=False)
class ChestNetwork:
    """A fitted network with what it was built from (the structure's claims, the sources, the cache key)."""

    network: FittedNetwork
    edges: tuple[ChestEdge, ...]
    sources: tuple[str, ...]
    key: str

    def edge(self, cause: str, effect: str) -> ChestEdge | None:
        for e in self.edges:
            if e.cause == cause and e.effect == effect:
                return e
        return None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fit_chest_network(store: Store, cxr_labels: Path | str, read: Sequence[str], *, cache_dir: Path | str | None = None,
                      settings: FitSettings | None = None, sources: Sequence[str] | None = None,
                      exclude: Collection[str] = (), table: ConceptTable | None = None,
                      progress: bool = False) -> ChestNetwork:
    """The trusted chest graph of ``store`` fitted on the label tables, from the cache when it holds it.

    ``read``: the concept ids a front end reads (they come first among the nodes); ``exclude``: label
    sources to leave out (a benchmark leaves out the source it is scored on).
    """
    from reasoning.sources import SOURCES

    t = table or default_table()
    s = settings or FitSettings()
    edges = chest_edges(store, t)
    chosen = tuple(x for x in (sources or SOURCES) if x not in set(exclude))
    concepts = sorted({c.id for c in t if c.tier in NODE_TIERS})
    digest = label_files_digest(cxr_labels)
    data: LabelData | None = None
    nodes_key = network_key(edges, read, s, chosen, digest)  # nodes depend on the data: key by what decides them
    path = Path(cache_dir) / "posterior" / f"{nodes_key}.pkl" if cache_dir is not None else None
    if path is not None and path.is_file():
        try:
            with path.open("rb") as fh:
                cached = pickle.load(fh)
            if isinstance(cached, ChestNetwork):
                return cached
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            pass  # a cache written by another version: fit again
    data = label_tables(cxr_labels, concepts, sources=chosen, progress=progress)
    nodes = chest_nodes(edges, data, read)
    if not nodes:
        raise PosteriorError("graph posterior: no read finding is reported by the label tables")
    net = fit_network(nodes, [(e.cause, e.effect) for e in edges], data, s)
    out = ChestNetwork(net, tuple(edges), chosen, nodes_key)
    if path is not None:
        _write_atomic(path, pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    return out


def differing_edges(net: FittedNetwork) -> Mapping[tuple[str, str], str]:
    """For each used edge whose effect differs across sources: which sources' counts the model used and
    each source's log odds ratio, as one line."""
    out = {}
    for r in net.edges:
        if r.used and r.differs:
            per = ", ".join(f"{e.source} {e.log_odds_ratio:+.2f}" for e in r.effects)
            out[(r.edge.cause, r.edge.effect)] = (f"effect differs across sources (log OR {per}); the model's table "
                                                  f"uses {', '.join(r.sources)}")
    return out


__all__ = ["ChestEdge", "ChestNetwork", "chest_edges", "chest_nodes", "concept_id", "differing_edges",
           "fit_chest_network", "label_files_digest", "label_tables", "network_key"]
