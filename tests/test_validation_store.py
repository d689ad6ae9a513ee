"""validate_store: verdicts, reasons, PROV results and status moves written in one transaction."""

from __future__ import annotations

from typing import Any

import pytest

from kg.claim_reader import read_claims
from kg.claims import CausalClaim
from kg.namespaces import NAMED_GRAPHS
from kg.ontology import load_ontology
from kg.store import open_store
from kg.validations import VALIDATED_EDGES_QUERY
from reasoning.validate import ValidationRun, validate_store
from tests.fixtures.validation.scenario import EXPECTED, NEGATED, load_scenario, scenario_frame

FAST = {"refuters": ("placebo_treatment", "random_common_cause", "data_subset"), "simulations": 10}


@pytest.fixture(scope="module")
def validated() -> Any:
    store = open_store(":memory:")
    load_ontology(store)
    claims = load_scenario(store)
    before = {c.claim: c for c in read_claims(store)}
    run = validate_store(store, scenario_frame(10_000), **FAST)
    yield store, claims, before, run
    store.close()


def _verdicts(run: ValidationRun) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for v in run.claims:
        out.setdefault((v.cause.rsplit("/", 1)[-1], v.effect.rsplit("/", 1)[-1]), set()).add(v.verdict)
    return out


def _iri(name: str) -> str:
    from kg.concepts import concept_for_finding

    return concept_for_finding(name).iri.rsplit("/", 1)[-1]


def test_each_edge_gets_the_verdict_the_data_support(validated: Any) -> None:
    _, _, _, run = validated
    verdicts = _verdicts(run)
    for (s, o), expected in EXPECTED.items():
        assert verdicts[(_iri(s), _iri(o))] == {expected}, (s, o, run.edge(*[c for c in (
            next(v.cause for v in run.claims if v.cause.endswith(_iri(s))),
            next(v.effect for v in run.claims if v.effect.endswith(_iri(o))))]))
    assert run.written
    counts = run.counts()
    assert counts["validated"] == 3  # two claims of effusion -> atelectasis, and the negated claim
    assert sum(counts.values()) == len(run.claims) == len(EXPECTED) + 2


def test_reasons_say_why_an_edge_is_not_testable(validated: Any) -> None:
    _, _, _, run = validated
    reasons = {(v.cause.rsplit("/", 1)[-1], v.effect.rsplit("/", 1)[-1]): v.reason for v in run.claims}
    assert "'Hernia'" in reasons[(_iri("Mass"), _iri("Hernia"))] and "constant" in reasons[(_iri("Mass"), _iri("Hernia"))]
    assert reasons[(_iri("Pneumonia"), "heart_failure")].startswith("no data column for heart failure")
    assert "too few samples" in reasons[(_iri("Emphysema"), _iri("Fibrosis"))]
    assert "cyclic subgraph" in reasons[(_iri("Infiltration"), _iri("Pleural_Thickening"))]
    assert "opposite sign" in reasons[(_iri("Edema"), _iri("Consolidation"))]
    assert "within +/-0.05" in reasons[(_iri("Cardiomegaly"), _iri("Nodule"))]
    assert "no effect, as claimed" in reasons[(_iri(NEGATED[0]), _iri(NEGATED[1]))]
    assert "discovery (pc)" in reasons[(_iri("Effusion"), _iri("Atelectasis"))]


def test_status_moves_and_version_bumps_on_every_tested_claim(validated: Any) -> None:
    store, _, before, run = validated
    after = {c.claim: c for c in read_claims(store)}
    unmeasured = {v.claim for v in run.claims if v.result is None}
    assert {(v.cause.rsplit("/", 1)[-1], v.effect.rsplit("/", 1)[-1]) for v in run.claims if v.claim in unmeasured} \
        == {(_iri("Pneumonia"), "heart_failure"), (_iri("Mass"), _iri("Hernia"))}  # no column / a constant column
    for v in run.claims:
        if v.claim in unmeasured:  # the data say nothing about it: status, version and verdicts stay
            assert (after[v.claim].status, after[v.claim].version) == (before[v.claim].status, before[v.claim].version)
            assert v.new_status == v.previous_status and v.verdict == "notTestable"
            continue
        if v.previous_status == "accepted":  # a curator's decision stands; the result is attached
            assert after[v.claim].status == v.new_status == "accepted"
        else:
            assert after[v.claim].status == v.verdict == v.new_status
        assert after[v.claim].version == before[v.claim].version + 1
        assert after[v.claim].graph == NAMED_GRAPHS["reports"]  # status stays in the claim's own graph
    statuses = store.select("SELECT ?c (COUNT(?s) AS ?n) WHERE { ?c a mcrag:CausalClaim ; mcrag:status ?s } GROUP BY ?c")
    assert all(r["n"] == "1" for r in statuses)  # functional property: exactly one status


def test_results_read_back_as_prov(validated: Any) -> None:
    store, _, _, run = validated
    rows = store.select(f"""SELECT ?claim ?verdict ?effect ?lo ?hi ?n ?estimand ?estimator ?refuter ?passed ?p ?agent ?end
        WHERE {{ GRAPH <{NAMED_GRAPHS['validation']}> {{
          ?claim mcrag:hasValidation ?r . ?r a mcrag:ValidationResult ; mcrag:verdict ?verdict ;
             prov:wasGeneratedBy <{run.activity}> ; mcrag:effect ?effect ; mcrag:ciLow ?lo ; mcrag:ciHigh ?hi ;
             mcrag:sampleSize ?n ; mcrag:estimand ?estimand ; mcrag:estimator ?estimator ;
             mcrag:hasRefutation ?x . ?x a mcrag:RefutationResult ; mcrag:refuter ?refuter ; mcrag:passed ?passed ;
             mcrag:pValue ?p .
          <{run.activity}> a mcrag:ValidationActivity ; prov:wasAssociatedWith ?ag ; prov:endedAtTime ?end .
          ?ag rdfs:label ?agent }} }}""")
    effusion = [r for r in rows if r["claim"] and r["verdict"] == "https://w3id.org/mcrag#validated"
                and r["estimand"] and "atelectasis" in r["estimand"]]
    assert {r["refuter"] for r in effusion} == {"placebo_treatment", "random_common_cause", "data_subset"}
    r = effusion[0]
    assert 0.3 < float(r["effect"]) < 0.5 and float(r["lo"]) < float(r["effect"]) < float(r["hi"])
    assert r["n"] == "10000" and r["agent"] == "mcrag validate" and r["estimator"].startswith("backdoor.linear_regression")
    dataset = store.select(f"SELECT ?d ?id WHERE {{ <{run.activity}> prov:used ?d . ?d dcterms:identifier ?id }}")
    assert dataset and dataset[0]["id"].startswith("sha256:")


def test_sparql_lists_validated_and_refuted_edges_with_effects(validated: Any) -> None:
    store, _, _, _ = validated
    rows = store.select(VALIDATED_EDGES_QUERY)
    pairs = {(r["cause"], r["effect"], r["verdict"].rsplit("#", 1)[-1]) for r in rows}
    assert ("pleural effusion", "atelectasis", "validated") in pairs
    assert ("cardiomegaly", "pulmonary nodule", "refuted") in pairs
    assert all(r["effectSize"] is not None for r in rows)
    assert not any(r["verdict"].endswith("notTestable") for r in rows)


def test_curated_status_is_kept_and_the_result_still_attached() -> None:
    from tests.fixtures.validation.scenario import claim

    store = open_store(":memory:")
    from kg.claims import write_claims

    accepted: CausalClaim = claim("Effusion", "Atelectasis", status="accepted")
    write_claims(store, [accepted], NAMED_GRAPHS["curated"])
    run = validate_store(store, scenario_frame(800), discovery="none", refuters=(), simulations=5)
    (v,) = run.claims
    assert v.verdict == "validated" and v.previous_status == v.new_status == "accepted"
    assert read_claims(store)[0].status == "accepted" and read_claims(store)[0].version == 2


def test_a_run_is_one_update_and_a_failing_write_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(":memory:")
    load_scenario(store)
    before = store.count()
    calls: list[str] = []
    real = store.update

    def failing(sparql: str) -> None:
        calls.append(sparql)
        real(sparql + " ; LOAD <file:///nonexistent/mcrag.ttl> INTO GRAPH <urn:x>")  # fails after the inserts

    monkeypatch.setattr(store, "update", failing)
    with pytest.raises(OSError):
        validate_store(store, scenario_frame(600), discovery="none", refuters=(), min_samples=10)
    assert len(calls) == 1 and store.count() == before


def test_dry_run_writes_nothing_and_split_filters_rows() -> None:
    store = open_store(":memory:")
    load_scenario(store)
    before = store.count()
    run = validate_store(store, scenario_frame(), split="test", write=False, discovery="none", refuters=())
    assert store.count() == before and not run.written and run.rows == 600


def test_unknown_claim_and_bad_options_are_clear_errors() -> None:
    from kg.curation import UnknownClaimError

    store = open_store(":memory:")
    load_scenario(store)
    with pytest.raises(UnknownClaimError):
        validate_store(store, scenario_frame(100), claims=["https://w3id.org/mcrag/id/claim/0000"])
    with pytest.raises(ValueError, match="unknown refuter"):
        validate_store(store, scenario_frame(100), refuters=("nope",))
    with pytest.raises(ValueError, match="split"):
        validate_store(store, scenario_frame(100), split="nope")
