"""A generated store for the curation workbench benchmark: mined-like claims with the real schema.

Claims are written by ``kg.claims`` (the same quads the miners write), validation results by
``kg.validations`` and curator acts by ``kg.revisions``, so every query of the workbench meets the
shape it meets in production; only the sentences and the concepts are made up.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyoxigraph as ox

from kg.claims import RELATION_KINDS, CausalClaim, Concept, ConceptKind, SourceSpan, claim_quads
from kg.namespaces import ID, MCRAG, NAMED_GRAPHS
from kg.ontology import load_ontology
from kg.store import open_store
from kg.validations import ValidationRecord, ValidationRunRecord, VerdictMove, run_triples

KINDS: tuple[ConceptKind, ...] = ("Disease", "ImagingFinding", "PathophysiologicalProcess", "Chemical", "Intervention")
SCOPES = ("cardiopulmonary", "chest", "general")
STATUS_MIX = (("proposed", 0.45), ("accepted", 0.2), ("validated", 0.12), ("notTestable", 0.1),
              ("refuted", 0.06), ("rejected", 0.07))
WORDS = ("pulmonary", "cardiac", "pleural", "alveolar", "interstitial", "hepatic", "renal", "venous", "arterial",
         "chronic", "acute", "fibrotic", "edema", "effusion", "nodule", "infarction", "stenosis", "sclerosis",
         "hypertension", "failure", "injury", "syndrome", "toxicity", "opacity", "consolidation", "embolism")


def concepts(n: int, rng: random.Random) -> list[Concept]:
    out = []
    for i in range(n):
        label = f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}"
        syn = (f"{label.split()[1]} type {i}",) if i % 2 == 0 else ()
        mappings = (f"MESH:D{100000 + i:06d}",) if i % 3 == 0 else ()
        out.append(Concept(f"https://w3id.org/mcrag/concept/gen_{i}", label, KINDS[i % len(KINDS)], mappings, syn))
    return out


def generate_claims(n_claims: int, n_edges: int, seed: int = 0) -> list[tuple[CausalClaim, str]]:
    """``n_claims`` claims over ``n_edges`` distinct edges (every edge has at least one), each with its graph."""
    rng = random.Random(seed)
    pool = concepts(max(200, n_edges // 5), rng)
    edges: set[tuple[int, str, int]] = set()
    while len(edges) < n_edges:
        a, b = rng.randrange(len(pool)), rng.randrange(len(pool))
        if a != b:
            edges.add((a, rng.choices(RELATION_KINDS, (6, 2, 2, 1, 1))[0], b))
    edge_list = sorted(edges)
    per_edge = [1] * n_edges
    for _ in range(n_claims - n_edges):  # the rest skewed: a few edges are stated by many documents
        per_edge[min(int(rng.paretovariate(1.2)) - 1, n_edges - 1) if rng.random() < 0.3
                 else rng.randrange(n_edges)] += 1
    statuses, weights = zip(*STATUS_MIX, strict=True)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[tuple[CausalClaim, str]] = []
    offset = 0  # every span starts at its own offset, so no two generated claims share an id
    for k, ((a, rel, b), count) in enumerate(zip(edge_list, per_edge, strict=True)):
        edge_status = rng.choices(statuses, weights)[0]
        for j in range(count):
            s, o = pool[a], pool[b]
            source = "pubmed" if (k + j) % 10 < 7 else "iu_xray"
            doc = f"D{rng.randrange(n_claims // 3 + 1)}"
            sentence = f"In {doc}, {s.label} {rel} {o.label} in {rng.randrange(10, 90)} of {rng.randrange(90, 400)} patients."
            status = edge_status if rng.random() < 0.8 else rng.choices(statuses, weights)[0]
            claim = CausalClaim(
                s, o, relation=rel, polarity="negative" if rng.random() < 0.04 else "positive",  # type: ignore[arg-type]
                certainty=rng.choice(("certain", "probable", "possible")), confidence=round(rng.uniform(0.3, 1.0), 3),
                status=status, span=SourceSpan(doc, sentence, offset, offset + len(sentence), source=source,
                                               section="abstract" if source == "pubmed" else "findings"),
                extractor="literature-miner" if source == "pubmed" else "report-miner", extractor_version="1",
                generated_at=start + timedelta(minutes=k * 7 + j))
            offset += len(sentence) + 1
            out.append((claim, NAMED_GRAPHS["literature"] if source == "pubmed" else NAMED_GRAPHS["reports"]))
    return out


def _scope_quads(claims: list[tuple[CausalClaim, str]], rng: random.Random) -> list[ox.Quad]:
    return [ox.Quad(ox.NamedNode(c.iri), ox.NamedNode(str(MCRAG.scope)), ox.Literal(rng.choice(SCOPES)),
                    ox.NamedNode(g)) for c, g in claims]


def _validation_quads(claims: list[tuple[CausalClaim, str]], rng: random.Random, share: float) -> list[ox.Quad]:
    """One run per data set over a share of the edges: a result per edge attached to its claims."""
    by_edge: dict[tuple[str, str, str], list[CausalClaim]] = {}
    for c, _ in claims:
        by_edge.setdefault((c.subject.iri, c.relation, c.object.iri), []).append(c)
    quads: list[ox.Quad] = []
    graph = ox.NamedNode(NAMED_GRAPHS["validation"])
    for d, dataset in enumerate(("openi (sha256:aaaa)", "padchest (sha256:bbbb)")):
        run_iri = str(ID[f"activity/validate/bench{d}"])
        results, moves = [], []
        for i, (_edge, members) in enumerate(sorted(by_edge.items())):
            if rng.random() > share:
                continue
            verdict = rng.choice(("validated", "refuted", "notTestable"))
            effect = rng.uniform(-0.2, 0.5)
            result = f"{run_iri}/result/{i}"
            results.append(ValidationRecord(result, run_iri, None, verdict, "supported", "backdoor", "lm", effect,
                                            effect - 0.05, effect + 0.05, 1000, dataset, "generated",
                                            uncertainty=round(rng.random(), 3)))
            moves += [VerdictMove(c.iri, result, c.status, c.status, 1, "") for c in members]
        run = ValidationRunRecord(run_iri, dataset, datetime(2026, 6, 1, tzinfo=UTC),
                                  datetime(2026, 6, 1, 1 + d, tzinfo=UTC), "{}", "0", tuple(results), tuple(moves))
        quads += [ox.Quad(t.subject, t.predicate, t.object, graph) for t in run_triples(run)]
    return quads


def build_store(folder: Path, n_claims: int, n_edges: int, *, seed: int = 0, validated_share: float = 0.3) -> Path:
    """Write the generated claims, scopes and validation results into a new store folder (bulk load)."""
    rng = random.Random(seed + 1)
    claims = generate_claims(n_claims, n_edges, seed)
    folder.mkdir(parents=True, exist_ok=True)
    nq = folder.with_suffix(".nq")
    with nq.open("wb") as fh:
        batch: list[ox.Quad] = []
        for c, g in claims:
            batch.extend(claim_quads(c, g))
            if len(batch) > 200_000:
                ox.serialize(batch, fh, format=ox.RdfFormat.N_QUADS)
                batch = []
        batch += _scope_quads(claims, rng) + _validation_quads(claims, rng, validated_share)
        ox.serialize(batch, fh, format=ox.RdfFormat.N_QUADS)
    with open_store(folder) as st:
        load_ontology(st)
        st.raw.bulk_load(path=str(nq), format=ox.RdfFormat.N_QUADS)  # type: ignore[attr-defined]
        st.flush()  # type: ignore[attr-defined]
    nq.unlink()
    return folder
