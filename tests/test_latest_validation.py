"""One definition of "the latest validation of an edge" and one status order, whoever reads them.

After a re-validation the evidence for a prompt, the review queue, a claim's detail, the curated
graph and the ``VALIDATED_EDGES_QUERY`` template all show the newest run's verdict and effect.
"""

from __future__ import annotations

from typing import Any

import pytest

from kg import curation
from kg.claims import write_claims
from kg.namespaces import NAMED_GRAPHS
from kg.ontology import load_ontology
from kg.statuses import EVIDENCE_STATUSES
from kg.store import open_store
from kg.validations import VALIDATED_EDGES_QUERY
from reasoning.evidence import causal_subgraph
from reasoning.validate import validate_store
from tests.fixtures.validation.scenario import claim, scenario_frame

FAST = {"discovery": "none", "refuters": (), "simulations": 5}


@pytest.fixture()
def revalidated() -> Any:
    """Effusion -> atelectasis validated on 3,000 rows (an effect of about +0.4)."""
    store = open_store(":memory:")
    load_ontology(store)
    c = claim("Effusion", "Atelectasis", doc="CXR1")
    write_claims(store, [c], NAMED_GRAPHS["reports"])
    first = validate_store(store, scenario_frame(3000), **FAST)
    assert first.claims[0].verdict == "validated"
    yield store, c
    store.close()


def _edges(store: Any, c: Any, statuses: Any = EVIDENCE_STATUSES) -> list[Any]:
    return [e for e in causal_subgraph(store, [c.subject.iri], hops=1, statuses=statuses).edges
            if e.object == c.object.iri]


def _edge(store: Any, c: Any) -> Any:
    """The edge as a reader of every status but rejected sees it (the default reads trusted claims only)."""
    (edge,) = _edges(store, c)
    return edge


def test_a_newer_verdict_without_an_effect_hides_the_older_effect(revalidated: Any) -> None:
    store, c = revalidated
    assert _edge(store, c).effect == pytest.approx(0.4, abs=0.06)
    second = validate_store(store, scenario_frame(30), **FAST)  # too few rows: not testable this time
    assert second.claims[0].verdict == "notTestable" and "too few samples" in second.claims[0].reason
    assert not _edges(store, c, statuses=None), "a claim no longer validated leaves the default (trusted) evidence"
    edge = _edge(store, c)
    assert edge.status == "notTestable"
    assert edge.effect is None and edge.ci_low is None, "the prompt must not show the earlier run's effect"
    detail = curation.claim_detail(store, c.iri)
    assert detail.latest_validation is not None and detail.latest_validation.verdict == "notTestable"
    assert not [r for r in store.select(VALIDATED_EDGES_QUERY) if r["cause"] == "pleural effusion"]


def test_a_newer_effect_replaces_the_older_one_everywhere(revalidated: Any) -> None:
    store, c = revalidated
    frame = scenario_frame(3000, seed=11)
    frame["Atelectasis"] = frame["Atelectasis"].sample(frac=1.0, random_state=3).to_numpy()  # no effect left
    second = validate_store(store, frame, **FAST)
    (v,) = second.claims
    assert v.verdict == "refuted"
    newest = curation.claim_detail(store, c.iri).latest_validation
    assert newest is not None and newest.verdict == "refuted" and abs(newest.effect or 1) < 0.05
    edge = _edge(store, c)
    assert edge.effect == pytest.approx(newest.effect) and edge.validation == newest.result
    rows = [r for r in store.select(VALIDATED_EDGES_QUERY) if r["cause"] == "pleural effusion"]
    assert [r["verdict"].rsplit("#", 1)[-1] for r in rows] == ["refuted"]
    assert float(rows[0]["effectSize"]) == pytest.approx(newest.effect)
    item = next(i for i in curation.review_queue(store, limit=5) if i.claim == c.iri)
    assert item.verdict == "refuted" and item.effect == pytest.approx(newest.effect)


def test_the_newest_run_wins_whatever_order_the_store_returns_results_in() -> None:
    """Eight edges, each validated twice (an older effect of 0.3, a newer one of 0.1): every reader shows 0.1."""
    store = open_store(":memory:")
    load_ontology(store)
    findings = ["Cardiomegaly", "Edema", "Emphysema", "Mass", "Nodule", "Pneumonia", "Fibrosis", "Hernia"]
    claims = [claim(f, "Effusion", doc=f"CXR{k}") for k, f in enumerate(findings)]
    write_claims(store, claims, NAMED_GRAPHS["reports"])
    # the newer run's results are written first (as a re-loaded export may write them)
    runs = {"new": ("2026-06-01T00:00:00+00:00", 0.1), "old": ("2026-01-01T00:00:00+00:00", 0.3)}
    for name, (ended, effect) in runs.items():
        body = [f"<urn:run:{name}> a mcrag:ValidationActivity ; prov:endedAtTime \"{ended}\"^^xsd:dateTime ."]
        for k, c in enumerate(claims):
            r = f"<https://w3id.org/mcrag/id/validation/{name}/{k}>"
            body.append(f"<{c.iri}> mcrag:hasValidation {r} . {r} a mcrag:ValidationResult ; "
                        f"prov:wasGeneratedBy <urn:run:{name}> ; mcrag:verdict mcrag:validated ; "
                        f"mcrag:dataset \"d\" ; mcrag:effect {effect} ; mcrag:ciLow {effect - 0.05} ; "
                        f"mcrag:ciHigh {effect + 0.05} ; mcrag:sampleSize 100 .")
        store.update(f"INSERT DATA {{ GRAPH <{NAMED_GRAPHS['validation']}> {{ {' '.join(body)} }} }}")
    edges = {e.subject: e for e in causal_subgraph(store, [claims[0].object.iri], hops=1,
                                                   statuses=EVIDENCE_STATUSES).edges}
    assert {edges[c.subject.iri].effect for c in claims} == {0.1}
    assert {curation.claim_detail(store, c.iri).latest_validation.effect for c in claims} == {0.1}  # type: ignore[union-attr]
    assert {float(r["effectSize"]) for r in store.select(VALIDATED_EDGES_QUERY)} == {0.1}


def test_evidence_and_the_curated_graph_rank_statuses_the_same_way() -> None:
    store = open_store(":memory:")
    load_ontology(store)
    accepted = claim("Cardiomegaly", "Effusion", status="accepted", doc="CXR2")
    validated = claim("Cardiomegaly", "Effusion", status="validated", doc="CXR3")
    write_claims(store, [accepted, validated], NAMED_GRAPHS["reports"])
    edges, _ = curation.curated_edges(store, ("accepted", "validated"))
    (curated,) = edges
    (evidence,) = causal_subgraph(store, [accepted.subject.iri], hops=1).edges
    assert curated.claims == evidence.n_claims == 2
    assert curated.status == evidence.status
