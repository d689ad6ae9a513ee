"""The k-hop causal subgraph: claim ids, statuses, effects, sources, merging, limits and serialisations."""

from __future__ import annotations

import json

import pytest

from kg.claim_reader import read_claims
from kg.claims import CausalClaim, Concept, SourceSpan, write_claims
from kg.concepts import concept_for_finding, default_table
from kg.namespaces import NAMED_GRAPHS
from kg.statuses import EVIDENCE_STATUSES
from reasoning.evidence import (
    OUTSIDE_SCOPE,
    SeedRule,
    case_seeds,
    causal_subgraph,
    claim_scope,
    concept_iris_for,
)

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
    g = causal_subgraph(store, [EFFUSION], hops=1, statuses=EVIDENCE_STATUSES)
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


RIBAVIRIN = Concept("http://id.nlm.nih.gov/mesh/D012254", "ribavirin", "Drug", ("MESH:D012254",))
COVID = default_table()["covid19"].iri
PNEUMONIA = concept_for_finding("Pneumonia").iri


def _drug_and_proposed_claims(store) -> None:
    write_claims(store, [
        CausalClaim(RIBAVIRIN, concept_for_finding("Pneumonia"), status="proposed", confidence=0.9,
                    span=SourceSpan("pmid-1", "Ribavirin caused pneumonia.", 0, 26, source="bc5cdr"), extractor="t"),
        CausalClaim(RIBAVIRIN, concept_for_finding("Effusion"), status="validated", confidence=0.9,
                    span=SourceSpan("pmid-2", "Ribavirin caused effusion.", 0, 25, source="bc5cdr"), extractor="t"),
        _claim("Emphysema", "Effusion", "proposed", "doc-9"),
    ], NAMED_GRAPHS["literature"])


def test_by_default_only_trusted_chest_edges_and_proposed_ones_only_when_asked_marked(bootstrapped_store):
    _drug_and_proposed_claims(bootstrapped_store)
    g = causal_subgraph(bootstrapped_store, [EFFUSION, PNEUMONIA], hops=2)
    assert g.edges and all(e.status in ("accepted", "validated") and e.trusted for e in g.edges)
    assert all(e.scope in ("chest", "cardiopulmonary") for e in g.edges)
    assert not [e for e in g.edges if e.subject == RIBAVIRIN.iri], "a drug side effect is not chest evidence"
    assert not [e for e in g.edges if e.subject_label == "pulmonary emphysema"], "proposed only when asked"
    asked = causal_subgraph(bootstrapped_store, [EFFUSION, PNEUMONIA], hops=2, include_proposed=True)
    proposed = [e for e in asked.edges if e.status == "proposed"]
    assert [e.subject_label for e in proposed] == ["pulmonary emphysema"], "the drug claim stays out of scope"
    assert not proposed[0].trusted and not proposed[0].supports and proposed[0].to_json()["trusted"] is False
    assert "not validated" in proposed[0].text()
    one_hop = causal_subgraph(bootstrapped_store, [EFFUSION], hops=1, include_proposed=True)
    assert "Emphysema" not in one_hop.findings(), "a proposed edge supports nothing"
    assert "Emphysema" in one_hop.findings(supporting_only=False)
    every_scope = causal_subgraph(bootstrapped_store, [EFFUSION], hops=1, scopes=None)
    assert [e.scope for e in every_scope.edges if e.subject == RIBAVIRIN.iri] == [OUTSIDE_SCOPE]


def test_claim_scope_reads_the_claim_then_the_concept_table(bootstrapped_store):
    _drug_and_proposed_claims(bootstrapped_store)
    claims = read_claims(bootstrapped_store)
    by_pair = {(c.subject, c.object): c for c in claims}
    assert claim_scope(by_pair[(RIBAVIRIN.iri, PNEUMONIA)]) == OUTSIDE_SCOPE
    assert claim_scope(by_pair[(COVID, PNEUMONIA)]) == "cardiopulmonary"
    smoking = [c for c in claims if c.subject_label == "tobacco smoking"]
    assert smoking and claim_scope(smoking[0]) == "cardiopulmonary", "general cause, cardiopulmonary effect"
    from dataclasses import replace

    assert claim_scope(replace(by_pair[(RIBAVIRIN.iri, PNEUMONIA)], scope="chest")) == "chest", "a stated scope wins"


def test_case_seeds_take_asserted_then_possible_findings_up_to_the_cap():
    rule = SeedRule(present=0.5, possible=0.3, max_seeds=3)
    assert case_seeds({"a": 0.9, "b": 0.2, "c": 0.35, "d": 0.6}, rule) == ("a", "d", "c")
    assert case_seeds({"a": 0.1, "b": 0.29}, rule) == (), "a normal film has no seed"
    many = {k: 0.9 for k in "abcde"}
    assert set(case_seeds(many, rule)) == set("abcde"), "every asserted finding keeps its evidence"
    assert case_seeds({"a": 0.4, "b": 0.45, "c": 0.31, "d": 0.32}, rule) == ("b", "a", "d")


def test_two_cases_with_different_findings_get_different_subgraphs(bootstrapped_store):
    heart = causal_subgraph(bootstrapped_store, concept_iris_for(["Cardiomegaly"]), hops=2)
    lung = causal_subgraph(bootstrapped_store, concept_iris_for(["Pneumothorax"]), hops=2)
    assert heart.signature and lung.signature and heart.signature != lung.signature
    assert causal_subgraph(bootstrapped_store, [], hops=2).signature == ()


def test_covid19_is_its_own_concept_with_its_own_cited_edges(bootstrapped_store):
    assert concept_iris_for(["COVID-19"]) == (COVID,)
    g = causal_subgraph(bootstrapped_store, [COVID], hops=1)
    pairs = {(e.subject_label, e.relation, e.object_label) for e in g.edges}
    assert ("COVID-19", "causes", "pneumonia") in pairs
    assert ("COVID-19", "manifestsAs", "consolidation") in pairs
    assert all(e.sources and e.sources[0].citation for e in g.edges)
    assert COVID != PNEUMONIA
