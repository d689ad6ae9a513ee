"""A curation session (accept, reject, edit, undo) read back from its PROV trail; stale and unknown acts."""

from __future__ import annotations

from typing import Any

import pytest

from kg import curation
from kg.claims import write_claims
from kg.namespaces import MCRAG, NAMED_GRAPHS
from kg.ontology import load_ontology
from kg.store import open_store
from tests.fixtures.validation.scenario import claim

CURATED = NAMED_GRAPHS["curated"]


@pytest.fixture()
def session_store() -> Any:
    store = open_store(":memory:")
    load_ontology(store)
    claims = {
        "effusion": claim("Effusion", "Atelectasis", doc="CXR10", sentence="Left effusion with compressive atelectasis."),
        "effusion2": claim("Effusion", "Atelectasis", doc="CXR11"),
        "nodule": claim("Cardiomegaly", "Nodule", doc="CXR12"),
        "edema": claim("Edema", "Consolidation", doc="CXR13"),
    }
    write_claims(store, claims.values(), NAMED_GRAPHS["reports"])
    yield store, {k: c.iri for k, c in claims.items()}
    store.close()


def _status(store: Any, iri: str) -> tuple[str, int]:
    d = curation.claim_detail(store, iri)
    return d.status, d.version


def _edge(store: Any, s: str, p: str, o: str) -> bool:
    from kg.concepts import concept_for_finding

    return store.ask(f"ASK {{ GRAPH <{NAMED_GRAPHS['reports']}> {{ <{concept_for_finding(s).iri}> "
                     f"<{MCRAG[p]}> <{concept_for_finding(o).iri}> }} }}")


def test_session_accept_reject_edit_undo_reads_back_from_prov(session_store: Any) -> None:
    store, ids = session_store
    acc = curation.accept(store, ids["nodule"], "alice", "matches the textbook", expected_version=1)
    assert (acc.previous_status, acc.new_status, acc.from_version, acc.to_version) == ("proposed", "accepted", 1, 2)
    rej = curation.reject(store, ids["edema"], "bob", "consolidation here is pneumonia, not edema", 1)
    assert not _edge(store, "Edema", "causes", "Consolidation")  # the rejected claim's edge is withdrawn
    ed = curation.edit(store, ids["effusion"], "alice", "a predisposition, not a certainty", 1,
                       relation="predisposesTo", certainty="possible", confidence=0.6)
    assert {c.field for c in ed.changes} == {"relation", "certainty", "confidence"}
    assert _edge(store, "Effusion", "predisposesTo", "Atelectasis")
    assert _edge(store, "Effusion", "causes", "Atelectasis")  # still stated by the second effusion claim
    d = curation.claim_detail(store, ids["effusion"])
    assert (d.record.relation, d.record.certainty, d.record.confidence, d.version) == ("predisposesTo", "possible", 0.6, 2)
    assert d.record.label == "pleural effusion predisposesTo atelectasis"

    und = curation.undo(store, ids["effusion"], "carol", "edit was premature")
    assert und.undoes == ed.activity and und.from_version == 2 and und.to_version == 3
    d = curation.claim_detail(store, ids["effusion"])
    assert (d.record.relation, d.record.certainty, d.record.confidence) == ("causes", "probable", 0.8)
    assert not _edge(store, "Effusion", "predisposesTo", "Atelectasis")
    curation.undo(store, ids["edema"], "bob", "second opinion disagrees")
    assert _status(store, ids["edema"]) == ("proposed", 3)
    assert _edge(store, "Edema", "causes", "Consolidation")  # restored by the undo

    # the PROV trail, read straight from the curated graph
    rows = store.select(f"""SELECT ?a ?action ?who ?reason ?t ?prev ?new ?fv ?tv ?undoes WHERE {{ GRAPH <{CURATED}> {{
        ?a a mcrag:CurationActivity , prov:Activity ; prov:used <{ids['effusion']}> ; mcrag:action ?action ;
           prov:wasAssociatedWith ?ag ; mcrag:reason ?reason ; prov:endedAtTime ?t ;
           mcrag:previousStatus ?prev ; mcrag:newStatus ?new ; mcrag:fromVersion ?fv ; mcrag:toVersion ?tv .
        ?ag a prov:Person ; rdfs:label ?who . OPTIONAL {{ ?a mcrag:undoes ?undoes }} }} }} ORDER BY ?t""")
    assert [(r["action"], r["who"], r["fv"], r["tv"]) for r in rows] == [("edit", "alice", "1", "2"), ("undo", "carol", "2", "3")]
    assert rows[1]["undoes"] == rows[0]["a"] and rows[0]["reason"] == "a predisposition, not a certainty"
    changes = store.select(f"""SELECT ?f ?old ?new WHERE {{ GRAPH <{CURATED}> {{ <{ed.activity}> mcrag:change ?c .
        ?c mcrag:field ?f ; mcrag:oldValue ?old ; mcrag:newValue ?new }} }} ORDER BY ?f""")
    assert [r["f"] for r in changes] == ["certainty", "confidence", "relation"]
    assert (changes[0]["old"], changes[0]["new"]) == (f"<{MCRAG.probable}>", f"<{MCRAG.possible}>")
    assert (changes[2]["old"], changes[2]["new"]) == (f"<{MCRAG.causes}>", f"<{MCRAG.predisposesTo}>")
    decimal = "^^<http://www.w3.org/2001/XMLSchema#decimal>"
    assert changes[1]["old"].endswith(decimal) and float(changes[1]["old"].split('"')[1]) == 0.8
    assert float(changes[1]["new"].split('"')[1]) == 0.6

    trail = curation.history(store, ids["effusion"])
    assert [(r.action, r.undone_by is not None) for r in trail] == [("edit", True), ("undo", False)]
    assert [r.action for r in curation.history(store, ids["nodule"])] == ["accept"]
    assert rej.activity in {r.activity for r in curation.history(store, ids["edema"])}


def test_stale_version_and_unknown_claim_change_nothing(session_store: Any) -> None:
    store, ids = session_store
    before = store.count()
    with pytest.raises(curation.StaleVersionError, match="version 1.*version 4"):
        curation.accept(store, ids["nodule"], "alice", "looks right", expected_version=4)
    with pytest.raises(curation.UnknownClaimError):
        curation.reject(store, "https://w3id.org/mcrag/id/claim/ffffffffffffffffffff", "alice", "no", 1)
    with pytest.raises(curation.UnknownClaimError):
        curation.history(store, "ffffffffffffffffffff")
    assert store.count() == before
    # two curators read version 1; the second to act is told, and changes nothing
    curation.accept(store, ids["nodule"], "alice", "agree", 1)
    after_first = store.count()
    with pytest.raises(curation.StaleVersionError):
        curation.reject(store, ids["nodule"], "bob", "disagree", 1)
    assert store.count() == after_first and _status(store, ids["nodule"]) == ("accepted", 2)


def test_guard_holds_even_when_the_version_moves_between_check_and_write(session_store: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    store, ids = session_store
    from kg.curation import acts

    real = acts._read_state
    state = real(store, ids["nodule"])
    curation.accept(store, ids["nodule"], "alice", "first", 1)  # the claim moves on to version 2
    monkeypatch.setattr(acts, "_read_state", lambda s, c: state if c == ids["nodule"] else real(s, c))
    before = store.count()
    with pytest.raises(curation.StaleVersionError, match="changed while this act was written"):
        curation.reject(store, ids["nodule"], "bob", "racing", 1)
    assert store.count() == before


def test_bad_acts_are_refused(session_store: Any) -> None:
    store, ids = session_store
    with pytest.raises(curation.CurationError, match="reason"):
        curation.accept(store, ids["nodule"], "alice", "  ", 1)
    with pytest.raises(curation.CurationError, match="identity"):
        curation.accept(store, ids["nodule"], "", "fine", 1)
    with pytest.raises(curation.CurationError, match="relation must be one of"):
        curation.edit(store, ids["nodule"], "alice", "typo", 1, relation="causez")
    with pytest.raises(curation.CurationError, match=r"confidence must be a number in \[0, 1\]"):
        curation.edit(store, ids["nodule"], "alice", "typo", 1, confidence=1.5)
    with pytest.raises(curation.CurationError, match="at least one"):
        curation.edit(store, ids["nodule"], "alice", "nothing", 1)
    with pytest.raises(curation.CurationConflictError, match="nothing to undo|no curation act"):
        curation.undo(store, ids["nodule"], "alice", "nothing to undo")
    curation.accept(store, ids["nodule"], "alice", "fine", 1)
    with pytest.raises(curation.CurationError, match="nothing to change"):
        curation.accept(store, ids["nodule"], "alice", "again", 2)


def test_undo_refuses_to_overwrite_a_later_change(session_store: Any) -> None:
    store, ids = session_store
    curation.accept(store, ids["nodule"], "alice", "fine", 1)
    store.update(f"""DELETE {{ GRAPH ?g {{ <{ids['nodule']}> mcrag:status ?s }} }}
                     INSERT {{ GRAPH ?g {{ <{ids['nodule']}> mcrag:status mcrag:refuted }} }}
                     WHERE {{ GRAPH ?g {{ <{ids['nodule']}> mcrag:status ?s }} }}""")  # another writer
    before = store.count()
    with pytest.raises(curation.CurationConflictError, match="status has changed since"):
        curation.undo(store, ids["nodule"], "alice", "oops")
    assert store.count() == before


def test_review_queue_orders_by_uncertainty_and_impact_and_shows_evidence(session_store: Any) -> None:
    from reasoning.validate import validate_store
    from tests.fixtures.validation.scenario import scenario_frame

    store, ids = session_store
    validate_store(store, scenario_frame(3000), refuters=("placebo_treatment",), simulations=5)
    queue = curation.review_queue(store, limit=10)
    assert {i.claim for i in queue} == set(ids.values())
    assert [i.priority for i in queue] == sorted((i.priority for i in queue), reverse=True)
    top = {i.claim: i for i in queue}
    eff = top[ids["effusion"]]
    assert eff.verdict == "validated" and eff.effect is not None and eff.ci_low is not None
    assert eff.sentences == ("Left effusion with compressive atelectasis.",) and eff.sources == ("CXR10",)
    assert "2 claim(s) on this edge" in eff.why and "radiology finding" in eff.why
    assert eff.uncertainty < top[ids["nodule"]].uncertainty  # a clear effect beats an inconclusive null
    curation.accept(store, ids["effusion"], "alice", "validated and plausible", eff.version)
    assert ids["effusion"] not in {i.claim for i in curation.review_queue(store, limit=10)}
    assert len(curation.review_queue(store, limit=2)) == 2
    detail = curation.claim_detail(store, ids["effusion"])
    assert detail.latest_validation is not None and detail.latest_validation.refutations[0].refuter == "placebo_treatment"
    assert [h.action for h in detail.history] == ["validate", "accept"]


def test_store_checks_pass_after_a_session(session_store: Any) -> None:
    from kg.check import check_store

    store, ids = session_store
    curation.accept(store, ids["nodule"], "alice", "ok", 1)
    curation.edit(store, ids["effusion"], "alice", "hedge", 1, certainty="possible", mechanism="compression")
    curation.reject(store, ids["edema"], "bob", "no", 1)
    curation.undo(store, ids["edema"], "bob", "yes after all")
    report = check_store(store, owl=True, shacl=True)
    assert report.ok, [str(v) for v in report.violations]
