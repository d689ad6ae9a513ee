"""The k-hop causal subgraph: claim ids, statuses, effects, sources, merging, limits and serialisations."""

from __future__ import annotations

import json

import pytest

from kg.claims import CausalClaim, SourceSpan, write_claims
from kg.concepts import concept_for_finding
from kg.namespaces import NAMED_GRAPHS
from reasoning.evidence import causal_subgraph, concept_iris_for

EFFUSION = concept_for_finding("Effusion").iri
ATELECTASIS = concept_for_finding("Atelectasis").iri


def test_one_hop_edges_touch_the_seed_and_keep_claim_ids_and_citations(bootstrapped_store):
    g = causal_subgraph(bootstrapped_store, [EFFUSION], hops=1)
    assert g.edges, "the starter graph links pleural effusion to causes and effects"
    assert all(EFFUSION in (e.subject, e.object) for e in g.edges)
    assert [e.ref for e in g.edges] == [f"E{i}" for i in range(1, len(g.edges) + 1)]
    ids = {r["c"].rsplit("/", 1)[-1] for r in bootstrapped_store.select(
        "SELECT ?c WHERE { ?c a mcrag:CausalClaim }")}
    for e in g.edges:
        assert e.claim_id in ids
        assert e.status == "accepted"
        assert e.sources and e.sources[0].citation, "starter claims cite their textbook or review"
    pairs = {(e.subject_label, e.relation, e.object_label) for e in g.edges}
    assert ("pleural effusion", "causes", "atelectasis") in pairs
    assert ("heart failure", "causes", "pleural effusion") in pairs


def test_two_hops_reach_further_and_zero_hops_reach_nothing(bootstrapped_store):
    one = causal_subgraph(bootstrapped_store, [EFFUSION], hops=1)
    two = causal_subgraph(bootstrapped_store, [EFFUSION], hops=2)
    zero = causal_subgraph(bootstrapped_store, [EFFUSION], hops=0)
    assert len(two.edges) > len(one.edges)
    assert {e.hop for e in two.edges} == {1, 2}
    assert zero.edges == ()
    assert "Pneumothorax" in two.findings() and "Pneumothorax" not in one.findings()


def test_json_and_prompt_serialisations_map_back_to_claims(bootstrapped_store):
    g = causal_subgraph(bootstrapped_store, concept_iris_for(["Effusion", "Cardiomegaly"]), hops=1)
    data = json.loads(g.to_json_text())
    assert {e["claim_id"] for e in data["edges"]} == {e.claim_id for e in g.edges}
    assert all({"status", "effect", "claim_id", "sources"} <= set(e) for e in data["edges"])
    assert data["nodes"][EFFUSION] == "pleural effusion"
    text = g.to_prompt_text(max_edges=3)
    lines = text.splitlines()
    assert len(lines) == 3 and all(line.split()[0] in g.refs() for line in lines)
    assert g.refs()[lines[0].split()[0]] == g.edges[0].claim_id


def _claim(subject: str, obj: str, status: str, doc: str, confidence: float = 0.8) -> CausalClaim:
    return CausalClaim(concept_for_finding(subject), concept_for_finding(obj), status=status,  # type: ignore[arg-type]
                       confidence=confidence,
                       span=SourceSpan(doc, f"{subject} leads to {obj}.", 0, 20, source="bc5cdr"),
                       extractor="test-miner")


def test_validated_effect_wins_refuted_is_flagged_and_rejected_is_left_out(bootstrapped_store):
    store = bootstrapped_store
    write_claims(store, [
        _claim("Emphysema", "Effusion", "validated", "doc-1", 0.6),
        _claim("Emphysema", "Effusion", "proposed", "doc-2", 0.9),
        _claim("Mass", "Effusion", "refuted", "doc-3"),
        _claim("Hernia", "Effusion", "rejected", "doc-4"),
    ], NAMED_GRAPHS["literature"])
    validated = store.select("SELECT ?c WHERE { ?c mcrag:status mcrag:validated }")[0]["c"]
    store.update(f"""INSERT DATA {{ GRAPH <{NAMED_GRAPHS['validation']}> {{
        <{validated}> mcrag:hasValidation <https://w3id.org/mcrag/id/validation/v1> .
        <https://w3id.org/mcrag/id/validation/v1> a mcrag:ValidationResult ; mcrag:effect 0.31 ;
            mcrag:ciLow 0.2 ; mcrag:ciHigh 0.4 . }} }}""")
    g = causal_subgraph(store, [EFFUSION], hops=1)
    emph = [e for e in g.edges if e.subject_label == "pulmonary emphysema"]
    assert len(emph) == 1, "two claims of one edge are merged"
    edge = emph[0]
    assert edge.status == "validated" and edge.effect == pytest.approx(0.31) and edge.ci_low == pytest.approx(0.2)
    assert edge.n_claims == 2 and len(edge.claim_ids) == 2 and edge.claim_id == edge.claim_ids[0]
    assert edge.sources and edge.sources[0].identifier == "doc-1"
    assert g.edges[0] is edge, "a validated edge with an effect ranks first"
    mass = [e for e in g.edges if e.subject_label == "pulmonary mass"]
    assert mass and mass[0].status == "refuted" and not mass[0].supports
    assert not [e for e in g.edges if e.subject_label == "hiatus hernia"]
    assert "Mass" not in g.findings(), "refuted edges do not support consistency"
    with_rejected = causal_subgraph(store, [EFFUSION], hops=1, statuses=("rejected",))
    assert [e.subject_label for e in with_rejected.edges] == ["hiatus hernia"]


def test_limits_and_bad_arguments(bootstrapped_store):
    g = causal_subgraph(bootstrapped_store, [EFFUSION], hops=2, max_edges=3)
    assert len(g.edges) == 3 and g.truncated
    with pytest.raises(ValueError, match="hops"):
        causal_subgraph(bootstrapped_store, [EFFUSION], hops=-1)
    with pytest.raises(ValueError, match="unknown claim status"):
        causal_subgraph(bootstrapped_store, [EFFUSION], statuses=("maybe",))
    assert causal_subgraph(bootstrapped_store, [], hops=2).edges == ()
    assert concept_iris_for(["Effusion", "not-a-finding", "heart_failure"]) == (
        EFFUSION, concept_for_finding("heart_failure").iri)
