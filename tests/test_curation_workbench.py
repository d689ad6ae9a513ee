"""The curation workbench in kg: search and facets, the edge view, bulk acts, structural edits under SHACL,
mappings, comments, version comparison and releases; every outcome read back with SPARQL."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import networkx as nx
import pytest
import rdflib

from kg import curation
from kg.claim_reader import read_claims
from kg.claims import write_claims
from kg.concepts import concept_for_finding
from kg.curation import acts
from kg.curation.index import CurationIndex, index_for
from kg.namespaces import MCRAG, NAMED_GRAPHS
from kg.ontology import load_ontology
from kg.store import open_store
from tests.fixtures.validation.scenario import claim

REPORTS = NAMED_GRAPHS["reports"]


def iri(name: str) -> str:
    return concept_for_finding(name).iri


@pytest.fixture()
def wb() -> Any:
    store = open_store(":memory:")
    load_ontology(store)
    claims = {
        "eff1": claim("Effusion", "Atelectasis", doc="CXR10", sentence="Left effusion with compressive atelectasis."),
        "eff2": claim("Effusion", "Atelectasis", doc="CXR11", sentence="Effusion causing basal atelectasis."),
        "nod": claim("Cardiomegaly", "Nodule", doc="CXR12"),
        "edema": claim("Edema", "Consolidation", doc="CXR13", relation="prevents"),
        "mass": claim("Mass", "Hernia", doc="CXR14"),
    }
    write_claims(store, claims.values(), REPORTS)
    yield store, {k: c.iri for k, c in claims.items()}
    store.close()


def edge_exists(store: Any, s: str, rel: str, o: str) -> bool:
    return store.ask(f"ASK {{ GRAPH <{REPORTS}> {{ <{iri(s)}> <{MCRAG[rel]}> <{iri(o)}> }} }}")


def status(store: Any, claim_iri: str) -> str:
    rows = store.select(f"SELECT ?s WHERE {{ <{claim_iri}> mcrag:status ?s }}")
    assert len(rows) == 1, rows
    return str(rows[0]["s"]).rsplit("#", 1)[-1]


# ------------------------------------------------------------------------------------------- index & search
def test_index_follows_acts_without_rebuilding_and_rebuilds_after_a_foreign_write(wb: Any) -> None:
    store, ids = wb
    idx = index_for(store)
    built = idx.built_at
    curation.accept(store, ids["nod"], "alice", "fine", 1)
    assert idx.fresh() and idx.built_at == built  # patched from the act, not re-read
    fresh = CurationIndex(store).ensure()
    for c in ids.values():
        i, j = idx.row(c), fresh.row(c)
        assert (idx.status_of(i), int(idx.version[i]), idx.label[i]) == (fresh.status_of(j), int(fresh.version[j]),
                                                                       fresh.label[j])
    store.update(f"DELETE {{ GRAPH ?g {{ <{ids['mass']}> mcrag:status ?s }} }} INSERT {{ GRAPH ?g {{ <{ids['mass']}> "
                 f"mcrag:status mcrag:refuted }} }} WHERE {{ GRAPH ?g {{ <{ids['mass']}> mcrag:status ?s }} }}")
    assert not idx.fresh()
    page = curation.search_claims(index_for(store), curation.filter_from(status="refuted"))
    assert [h.claim for h in page.items] == [ids["mass"]] and idx.built_at > built


def test_filters_concept_synonyms_facets_and_cursor_paging(wb: Any) -> None:
    store, ids = wb
    idx = index_for(store)
    # a synonym (skos:altLabel "pleural fluid") and a mapped id find the effusion claims
    for q in ("pleural fluid", "MESH:D010996", "pleural effusion", iri("Effusion")):
        page = curation.search_claims(idx, curation.filter_from(concept=q))
        assert {h.claim for h in page.items} == {ids["eff1"], ids["eff2"]}, q
    assert curation.search_claims(idx, curation.filter_from(concept="pleural fluid", role="effect")).total == 0
    page = curation.search_claims(idx, curation.filter_from(text="COMPRESSIVE atelectasis"))
    assert [h.claim for h in page.items] == [ids["eff1"]]
    assert curation.search_claims(idx, curation.filter_from(relation="prevents")).total == 1
    curation.reject(store, ids["nod"], "bob", "no", 1)
    f = curation.filter_from(status="rejected")
    page = curation.search_claims(idx, f)
    assert page.total == 1 and page.facets["status"] == {"proposed": 4, "rejected": 1}  # facet ignores its own filter
    assert page.facets["relation"] == {"causes": 1}
    assert curation.search_claims(idx, curation.filter_from(source="reports,CXR12")).total == 5
    assert curation.search_claims(idx, curation.filter_from(source="CXR12")).total == 1
    assert curation.search_claims(idx, curation.filter_from(min_confidence=0.81)).total == 0
    assert curation.search_claims(idx, curation.filter_from(min_confidence=0.7, max_confidence=0.8)).total == 5
    soon = datetime.now(UTC) - timedelta(minutes=5)
    assert [h.claim for h in curation.search_claims(idx, curation.filter_from(changed_since=soon.isoformat())).items] \
        == [ids["nod"]]
    assert curation.search_claims(idx, curation.filter_from(verdict="none")).total == 5
    with pytest.raises(curation.CurationError, match="unknown status"):
        curation.filter_from(status="approved")
    with pytest.raises(curation.CurationError, match="no source named"):
        curation.search_claims(idx, curation.filter_from(source="pubmed-nope"))
    # pages follow a cursor: together they are the whole ordered list, each row once
    for sort in curation.search.CLAIM_SORTS:
        whole = [h.claim for h in curation.search_claims(idx, curation.ClaimFilter(), sort=sort, limit=100).items]
        seen, cursor = [], None
        while True:
            p = curation.search_claims(idx, curation.ClaimFilter(), sort=sort, limit=2, cursor=cursor)
            seen += [h.claim for h in p.items]
            cursor = p.next_cursor
            if cursor is None:
                break
        assert seen == whole and len(set(seen)) == 5, sort
    with pytest.raises(curation.CurationError, match="cursor"):
        curation.search_claims(idx, curation.ClaimFilter(), cursor="not-a-cursor")


def test_edge_view_groups_claims_and_shows_validation_per_source(wb: Any) -> None:
    from reasoning.validate import validate_store
    from tests.fixtures.validation.scenario import scenario_frame

    store, ids = wb
    validate_store(store, scenario_frame(2000), refuters=("placebo_treatment",), simulations=5)
    idx = index_for(store)
    edges = curation.search_edges(idx, curation.filter_from(concept="effusion"))
    assert edges.total == 1
    row = edges.items[0]
    assert (row.claims, row.matching, row.subject, row.object) == (2, 2, iri("Effusion"), iri("Atelectasis"))
    detail = curation.edge_detail(store, row.edge)
    assert {c.claim for c in detail.claims} == {ids["eff1"], ids["eff2"]}
    assert {c.sentence for c in detail.claims} == {"Left effusion with compressive atelectasis.",
                                                    "Effusion causing basal atelectasis."}
    assert all(c.extractor == "test-miner" and c.confidence == 0.8 for c in detail.claims)
    assert len(detail.validations) == 1 and detail.validations[0].verdict.verdict == "validated"
    assert detail.validations[0].claims == 2 and detail.validations[0].verdict.effect is not None
    assert row.edge == curation.edge_iri(iri("Effusion"), str(MCRAG.causes), iri("Atelectasis"))


# ------------------------------------------------------------------------------------------- bulk acts
def test_bulk_reject_is_one_activity_and_undoes_as_a_whole(wb: Any) -> None:
    store, ids = wb
    idx = index_for(store)
    members = {ids["eff1"]: 1, ids["eff2"]: 1, ids["nod"]: 1}
    rec = curation.bulk(store, members, "reject", "alice", "drug treats X read as causes")
    assert len(rec.members) == 3 and all(m.part_of == rec.activity for m in rec.members)
    assert {status(store, c) for c in members} == {"rejected"}
    assert not edge_exists(store, "Effusion", "causes", "Atelectasis")  # both claims of the edge rejected
    rows = store.select(f"""SELECT ?c ?r ?n ?reason WHERE {{ GRAPH <{NAMED_GRAPHS['curated']}> {{
        <{rec.activity}> a mcrag:BulkCurationActivity , prov:Activity ; mcrag:memberCount ?n ; mcrag:reason ?reason ;
          prov:used ?c ; dcterms:hasPart ?r . ?r a mcrag:CurationActivity ; prov:used ?c ; mcrag:action "reject" ;
          dcterms:isPartOf <{rec.activity}> }} }}""")
    assert {r["c"] for r in rows} == set(members) and {r["n"] for r in rows} == {"3"}
    assert {r["reason"] for r in rows} == {"drug treats X read as causes"}
    assert idx.fresh() and curation.search_claims(idx, curation.filter_from(status="rejected")).total == 3
    undone = curation.undo_bulk(store, rec.activity, "bob", "too hasty")
    assert undone.undoes == rec.activity and len(undone.members) == 3
    assert {status(store, c) for c in members} == {"proposed"}
    assert edge_exists(store, "Effusion", "causes", "Atelectasis")
    assert store.ask(f"ASK {{ <{undone.activity}> mcrag:undoes <{rec.activity}> }}")
    with pytest.raises(curation.CurationConflictError, match="undone already"):
        curation.undo_bulk(store, rec.activity, "bob", "again")
    assert curation.search_claims(idx, curation.filter_from(status="rejected")).total == 0


def test_a_stale_member_refuses_the_whole_bulk_act(wb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store, ids = wb
    curation.accept(store, ids["nod"], "alice", "fine", 1)
    before = store.count()
    with pytest.raises(curation.StaleVersionError, match="version 2"):
        curation.bulk(store, {ids["eff1"]: 1, ids["nod"]: 1}, "reject", "bob", "no")
    assert store.count() == before and status(store, ids["eff1"]) == "proposed"
    # the guard holds even when a member moves between the read and the write
    real = acts._read_states
    stale = real(store, [ids["eff1"], ids["nod"]])
    stale[ids["nod"]].record = stale[ids["nod"]].record.__class__(**{**stale[ids["nod"]].record.__dict__, "version": 1})
    curation.undo(store, ids["nod"], "alice", "rethink")  # nod moves to version 3
    monkeypatch.setattr(acts, "_read_states", lambda s, cs, **kw: {c: stale[c] for c in cs if c in stale})
    before = store.count()
    with pytest.raises(curation.StaleVersionError, match="changed while this act was written"):
        curation.bulk(store, {ids["eff1"]: 1, ids["nod"]: 1}, "reject", "bob", "racing")
    assert store.count() == before and status(store, ids["eff1"]) == "proposed"


def test_bulk_relabel_and_rescope_then_a_member_changed_blocks_the_undo(wb: Any) -> None:
    store, ids = wb
    rec = curation.bulk(store, {ids["eff1"]: 1, ids["eff2"]: 1}, "relabel", "alice", "a predisposition",
                        relation="predisposesTo")
    assert edge_exists(store, "Effusion", "predisposesTo", "Atelectasis")
    assert not edge_exists(store, "Effusion", "causes", "Atelectasis")
    assert store.ask(f"ASK {{ <{ids['eff1']}> rdfs:label \"pleural effusion predisposesTo atelectasis\"@en }}")
    sc = curation.bulk(store, {ids["eff1"]: 2, ids["nod"]: 1}, "rescope", "alice", "chest film findings", scope="chest")
    assert store.ask(f"ASK {{ <{ids['nod']}> mcrag:scope \"chest\" }}")
    idx = index_for(store)
    assert curation.search_claims(idx, curation.filter_from(scope="chest")).total == 2
    with pytest.raises(curation.CurationConflictError, match="changed after this bulk act"):
        curation.undo_bulk(store, rec.activity, "bob", "no")
    curation.undo_bulk(store, sc.activity, "bob", "scope later")
    curation.undo_bulk(store, rec.activity, "bob", "causal after all")
    assert edge_exists(store, "Effusion", "causes", "Atelectasis")
    assert not store.ask(f"ASK {{ <{ids['nod']}> mcrag:scope ?s }}")
    with pytest.raises(curation.CurationError, match="already has that scope"):
        curation.bulk(store, {ids["mass"]: 1}, "rescope", "bob", "x", scope="none")


# ------------------------------------------------------------------------------------------- structural edits
def test_edit_subject_object_and_direction_rematerialise_edges(wb: Any) -> None:
    store, ids = wb
    rec = curation.edit(store, ids["nod"], "alice", "the cause is a mass", 1, subject=iri("Mass"))
    assert [c.field for c in rec.changes] == ["subject"]
    assert not edge_exists(store, "Cardiomegaly", "causes", "Nodule") and edge_exists(store, "Mass", "causes", "Nodule")
    assert store.ask(f"ASK {{ <{ids['nod']}> rdf:subject <{iri('Mass')}> ; rdfs:label \"pulmonary mass causes pulmonary nodule\"@en }}")
    curation.edit(store, ids["nod"], "alice", "read backwards", 2, swap=True)
    assert edge_exists(store, "Nodule", "causes", "Mass") and not edge_exists(store, "Mass", "causes", "Nodule")
    curation.edit(store, ids["nod"], "alice", "the effect", 3, object=iri("Hernia"))
    assert edge_exists(store, "Nodule", "causes", "Hernia")
    changes = curation.compare_versions(store, ids["nod"], 1, 4)
    assert {c.field: (curation.readable(c.old), curation.readable(c.new)) for c in changes} == {
        "subject": ("concept:cardiomegaly", "concept:lung_nodule"), "object": ("concept:lung_nodule", "concept:hiatal_hernia")}
    assert curation.compare_versions(store, ids["nod"], 2, 2) == []
    versions = curation.claim_versions(store, ids["nod"])
    assert [v.version for v in versions] == [1, 2, 3, 4] and versions[1].action == "edit"
    curation.undo(store, ids["nod"], "bob", "revert the effect")
    assert edge_exists(store, "Nodule", "causes", "Mass") and not edge_exists(store, "Nodule", "causes", "Hernia")


def test_a_violating_edit_is_refused_with_the_violation_named(wb: Any) -> None:
    store, ids = wb
    before = store.count()
    with pytest.raises(curation.ShapeViolationError, match="different from its effect") as err:
        curation.edit(store, ids["nod"], "alice", "typo", 1, subject=iri("Nodule"))
    assert err.value.violations and ids["nod"] in err.value.violations[0]
    assert store.count() == before and edge_exists(store, "Cardiomegaly", "causes", "Nodule")
    with pytest.raises(curation.CurationError, match="no concept"):
        curation.edit(store, ids["nod"], "alice", "typo", 1, subject="https://w3id.org/mcrag/concept/nothing_here")
    with pytest.raises(curation.CurationError, match="not both"):
        curation.edit(store, ids["nod"], "alice", "x", 1, swap=True, subject=iri("Mass"))


def test_mapping_acts_are_checked_by_shacl_and_undone(wb: Any) -> None:
    store, _ = wb
    c = iri("Nodule")
    rec = curation.map_concept(store, "pulmonary nodule", "close", "DOID:5000", "alice", "close enough")
    target = "http://purl.obolibrary.org/obo/DOID_5000"
    assert store.ask(f"ASK {{ GRAPH <{NAMED_GRAPHS['curated']}> {{ <{c}> skos:closeMatch <{target}> }} }}")
    assert store.ask(f"ASK {{ <{rec.activity}> a mcrag:CurationActivity ; prov:used <{c}> ; mcrag:action \"map\" }}")
    assert store.ask(f"ASK {{ <{c}> skos:exactMatch <http://purl.obolibrary.org/obo/HP_0033608> }}")  # from mining
    before = store.count()
    with pytest.raises(curation.ShapeViolationError, match="S46"):
        curation.map_concept(store, c, "broad", "HP:0033608", "alice", "broader too")
    assert store.count() == before
    with pytest.raises(curation.CurationError, match="not an HPO, DOID or MeSH"):
        curation.map_concept(store, c, "exact", "SNOMED:123", "alice", "x")
    curation.undo_mapping(store, c, "bob", "not close")
    assert not store.ask(f"ASK {{ <{c}> skos:closeMatch <{target}> }}")
    assert [r.action for r in curation.history(store, c)] == ["map", "undo"]
    assert curation.concept_mappings(store, c)["close"] == []


def test_comments_are_web_annotations_with_author_and_time(wb: Any) -> None:
    store, ids = wb
    c, rec = curation.add_comment(store, ids["eff1"], "Is this the same patient as CXR11?", "alice")
    rows = store.select(f"""SELECT ?text ?name ?t WHERE {{ <{c.annotation}> a oa:Annotation ; oa:motivatedBy oa:commenting ;
        oa:hasTarget <{ids['eff1']}> ; oa:hasBody ?b ; dcterms:creator ?who ; dcterms:created ?t .
        ?b a oa:TextualBody ; rdf:value ?text . ?who a foaf:Person , prov:Person ; foaf:name ?name }}""")
    assert rows == [{"text": "Is this the same patient as CXR11?", "name": "alice", "t": rows[0]["t"]}]
    assert "comment" in [h.action for h in curation.history(store, ids["eff1"])]
    edge = curation.edge_iri(iri("Effusion"), str(MCRAG.causes), iri("Atelectasis"))
    curation.add_comment(store, edge, "Two reports, one edge.", "bob",
                         edge=(iri("Effusion"), str(MCRAG.causes), iri("Atelectasis")))
    assert store.ask(f"ASK {{ <{edge}> a mcrag:CausalEdge ; rdf:subject <{iri('Effusion')}> }}")
    detail = curation.edge_detail(store, edge)
    assert [x.text for x in detail.comments] == ["Two reports, one edge."]
    assert [x.text for x in detail.claim_comments[ids["eff1"]]] == ["Is this the same patient as CXR11?"]
    curation.undo_comment(store, c.annotation, "alice", "asked in person")
    assert not store.ask(f"ASK {{ <{c.annotation}> ?p ?v }}")
    assert curation.comments_on(store, [ids["eff1"]]) == {}
    with pytest.raises(curation.CurationError, match="some text"):
        curation.add_comment(store, ids["eff1"], "   ", "alice")


# ------------------------------------------------------------------------------------------- releases
def test_release_freeze_diff_export_and_withdraw(wb: Any) -> None:
    store, ids = wb
    curation.bulk(store, {ids["eff1"]: 1, ids["nod"]: 1}, "accept", "alice", "reviewed")
    claims_before = len(read_claims(store, labels=False))
    a = curation.cut_release(store, "2026.1", "alice", "first cut")
    assert (a.edges, a.claims, a.concepts) == (2, 2, 4)
    g = a.iri
    row = store.select(f"""SELECT ?v ?issued ?n ?t WHERE {{ GRAPH <{g}> {{ <{g}> a mcrag:Release ; owl:versionIRI ?v ;
        dcterms:issued ?issued ; mcrag:edgeCount ?n ; void:triples ?t ; dcterms:isVersionOf graph:curated }} }}""")
    assert row[0]["v"] == g and row[0]["n"] == "2" and int(row[0]["t"]) == store.count(g)
    assert not store.ask(f"ASK {{ GRAPH <{g}> {{ ?c a mcrag:CausalClaim }} }}")
    assert len(read_claims(store, labels=False)) == claims_before  # live readers do not see frozen copies
    curation.accept(store, ids["eff2"], "alice", "second report", 1)
    curation.reject(store, ids["nod"], "bob", "on reflection", 2)
    curation.accept(store, ids["mass"], "bob", "ok", 1)
    b = curation.cut_release(store, "2026.2", "bob")
    assert b.previous == a.iri
    assert store.ask(f"ASK {{ GRAPH <{b.iri}> {{ <{b.iri}> prov:wasDerivedFrom <{a.iri}> ; owl:priorVersion <{a.iri}> }} }}")
    d = curation.diff_releases(store, "2026.1", "2026.2")
    assert [(e.subject, e.object) for e in d.added] == [(iri("Mass"), iri("Hernia"))]
    assert [(e.subject, e.object) for e in d.removed] == [(iri("Cardiomegaly"), iri("Nodule"))]
    assert [(c.after.subject, c.fields) for c in d.changed] == [(iri("Effusion"), ("claims", "supported_by"))]
    assert d.changed[0].before.claims == 1 and d.changed[0].after.claims == 2
    with pytest.raises(curation.CurationConflictError, match="exists already"):
        curation.cut_release(store, "2026.2", "bob")
    with pytest.raises(curation.CurationError, match="not a release name"):
        curation.cut_release(store, "../x", "bob")
    # exports: Turtle and JSON-LD parse back with the plain edges; GraphML is a networkx graph
    for fmt, parse in (("turtle", "turtle"), ("jsonld", "json-ld")):
        buf = io.BytesIO()
        n = curation.export_release(store, "2026.2", buf, fmt)
        graph = rdflib.Graph().parse(data=buf.getvalue().decode(), format=parse)
        assert len(graph) == n
        assert (rdflib.URIRef(iri("Mass")), rdflib.URIRef(str(MCRAG.causes)), rdflib.URIRef(iri("Hernia"))) in graph
        if fmt == "jsonld":
            assert isinstance(json.loads(buf.getvalue()), dict | list)
    buf = io.BytesIO()
    assert curation.export_release(store, "2026.2", buf, "graphml") == 2
    gml = nx.read_graphml(io.BytesIO(buf.getvalue()))
    assert gml.nodes[iri("Mass")]["label"] == "pulmonary mass" and gml.edges[iri("Mass"), iri("Hernia")]["claims"] == 1
    with pytest.raises(curation.CurationConflictError, match="later releases"):
        curation.withdraw_release(store, "2026.1", "bob", "mistake")
    curation.withdraw_release(store, "2026.2", "bob", "cut too early")
    assert [r.name for r in curation.list_releases(store)] == ["2026.1"] and store.count(b.iri) == 0


def test_store_stays_consistent_and_conformant_after_a_workbench_session(wb: Any) -> None:
    from kg.check import check_store

    store, ids = wb
    rec = curation.bulk(store, {ids["eff1"]: 1, ids["eff2"]: 1}, "rescope", "alice", "chest", scope="chest")
    curation.edit(store, ids["nod"], "alice", "swap", 1, swap=True)
    curation.add_comment(store, ids["nod"], "check the direction", "bob")
    curation.map_concept(store, iri("Nodule"), "broad", "MESH:D008175", "alice", "a neoplasm")
    curation.undo_bulk(store, rec.activity, "bob", "later")
    curation.accept(store, ids["mass"], "bob", "ok", 1)
    curation.cut_release(store, "r1", "bob")
    report = check_store(store, owl=True, shacl=True)
    assert report.ok, [str(v) for v in report.violations]


def test_the_patched_index_equals_a_rebuilt_one_after_every_kind_of_act(wb: Any) -> None:
    store, ids = wb
    idx = index_for(store)
    built = idx.built_at
    curation.bulk(store, {ids["eff1"]: 1, ids["eff2"]: 1}, "relabel", "a", "predisposition", relation="predisposesTo")
    curation.bulk(store, {ids["nod"]: 1, ids["mass"]: 1}, "rescope", "a", "chest", scope="chest")
    curation.edit(store, ids["nod"], "a", "cause", 2, subject=iri("Mass"))
    curation.edit(store, ids["mass"], "a", "backwards", 2, swap=True)
    curation.reject(store, ids["edema"], "a", "no", 1)
    curation.add_comment(store, ids["eff1"], "why?", "b")
    curation.map_concept(store, iri("Nodule"), "close", "DOID:5000", "a", "close")
    curation.cut_release(store, "r", "a")
    assert idx.fresh() and idx.built_at == built, "every act patched the index instead of making it stale"
    fresh = CurationIndex(store).ensure()

    def view(x: CurationIndex) -> dict[str, tuple[Any, ...]]:
        return {c: (x.status_of(i), int(x.version[i]), x.relation_of(i), x.concepts.values[int(x.subject[i])],
                    x.concepts.values[int(x.object[i])], x.scope_of(i), x.label[i], int(x.polarity[i]))
                for c, i in x.pos.items()}

    assert view(idx) == view(fresh)
    assert list(idx.priorities()) == list(fresh.priorities())
    for f in (curation.filter_from(scope="chest"), curation.filter_from(concept="DOID:5000"),
              curation.filter_from(relation="predisposesTo"), curation.filter_from(text="mass")):
        assert [h.claim for h in curation.search_claims(idx, f).items] == \
            [h.claim for h in curation.search_claims(fresh, f).items]
        assert [e.edge for e in curation.search_edges(idx, f).items] == \
            [e.edge for e in curation.search_edges(fresh, f).items]
