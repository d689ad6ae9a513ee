"""The curation workbench over HTTP (in-process client): search, edges, bulk acts, edits, comments, mappings,
versions and releases; refusals are 4xx that change nothing; every outcome checked with SPARQL."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import rdflib
from fastapi.testclient import TestClient

from kg.claims import write_claims
from kg.concepts import concept_for_finding
from kg.curation import edge_iri
from kg.namespaces import MCRAG, NAMED_GRAPHS
from kg.ontology import load_ontology
from kg.store import Store, open_store
from mcrag.service.app import create_app
from mcrag.settings import load_settings
from tests.fixtures.validation.scenario import claim

TOKEN = "workbench-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def dump(store: Store) -> list[str]:
    buf = io.BytesIO()
    store.export(buf, "nquads")
    return sorted(buf.getvalue().decode().splitlines())


@pytest.fixture()
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store, dict[str, str]]]:
    store = open_store(":memory:")
    load_ontology(store)
    claims = {"eff1": claim("Effusion", "Atelectasis", doc="CXR10"), "eff2": claim("Effusion", "Atelectasis", doc="CXR11"),
              "nod": claim("Cardiomegaly", "Nodule", doc="CXR12"), "mass": claim("Mass", "Hernia", doc="CXR14")}
    write_claims(store, claims.values(), NAMED_GRAPHS["reports"])
    settings = load_settings(token=TOKEN, home=tmp_path_factory.mktemp("home"))
    with TestClient(create_app(settings, store=store)) as client:
        yield client, store, {k: c.claim_id for k, c in claims.items()}


def claim_status(store: Store, cid: str) -> str:
    rows = store.select(f"SELECT ?s WHERE {{ <https://w3id.org/mcrag/id/claim/{cid}> mcrag:status ?s }}")
    return str(rows[0]["s"]).rsplit("#", 1)[-1]


def test_search_facets_paging_and_the_edge_view(env: Any) -> None:
    client, store, ids = env
    r = client.get("/api/curation/search", params={"concept": "pleural fluid", "limit": 1})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["next_cursor"]
    nxt = client.get("/api/curation/search", params={"concept": "pleural fluid", "limit": 1,
                                                     "cursor": page["next_cursor"]}).json()
    assert {page["items"][0]["claim_id"], nxt["items"][0]["claim_id"]} == {ids["eff1"], ids["eff2"]}
    assert nxt["next_cursor"] is None
    page = client.get("/api/curation/search", params=[("status", "proposed"), ("relation", "causes")]).json()
    assert page["total"] == 4 and page["facets"]["graph"] == {"reports": 4}
    edges = client.get("/api/curation/edges", params={"concept": "effusion"}).json()
    assert edges["total"] == 1 and edges["items"][0]["claims"] == 2
    detail = client.get(f"/api/curation/edges/{edges['items'][0]['edge_id']}").json()
    assert {m["claim_id"] for m in detail["members"]} == {ids["eff1"], ids["eff2"]}
    assert detail["members"][0]["extractor"] == "test-miner" and detail["validations"] == []
    for params, status in (({"status": "approved"}, 422), ({"min_confidence": 2}, 422), ({"cursor": "x"}, 422),
                           ({"sort": "random"}, 422), ({"changed_since": "yesterday"}, 422),
                           ({"source": "nowhere"}, 422)):
        assert client.get("/api/curation/search", params=params).status_code == status, params
    assert client.get("/api/curation/edges/00000000000000000000").status_code == 404


def test_bulk_reject_undo_and_stale_refusal_over_http(env: Any) -> None:
    client, store, ids = env
    body = {"action": "reject", "curator": "alice", "reason": "treats read as causes",
            "claims": [{"claim_id": ids["eff1"], "expected_version": 1}, {"claim_id": ids["eff2"], "expected_version": 1}]}
    assert client.post("/api/curation/bulk", json=body).status_code == 401
    r = client.post("/api/curation/bulk", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["count"] == 2 and {claim_status(store, ids[k]) for k in ("eff1", "eff2")} == {"rejected"}
    eff, atel = concept_for_finding("Effusion").iri, concept_for_finding("Atelectasis").iri
    assert not store.ask(f"ASK {{ <{eff}> mcrag:causes <{atel}> }}")
    assert client.get("/api/curation/search", params={"status": "rejected"}).json()["total"] == 2
    before = dump(store)
    stale = {**body, "action": "accept"}
    r = client.post("/api/curation/bulk", json=stale, headers=AUTH)
    assert r.status_code == 409 and "version" in r.json()["detail"] and dump(store) == before
    bulk_id = rec["activity"].rsplit("/", 1)[-1]
    r = client.post(f"/api/curation/bulk/{bulk_id}/undo", json={"curator": "bob", "reason": "too hasty"}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert {claim_status(store, ids[k]) for k in ("eff1", "eff2")} == {"proposed"}
    assert store.ask(f"ASK {{ <{eff}> mcrag:causes <{atel}> }}")
    assert client.post(f"/api/curation/bulk/{bulk_id}/undo", json={"curator": "bob", "reason": "x"},
                       headers=AUTH).status_code == 409
    dup = {**body, "claims": [body["claims"][0], body["claims"][0]]}
    assert client.post("/api/curation/bulk", json=dup, headers=AUTH).status_code == 422


def test_structural_edit_shacl_refusal_versions_and_compare(env: Any) -> None:
    client, store, ids = env
    r = client.post(f"/api/curation/claims/{ids['nod']}/edit", headers=AUTH,
                    json={"curator": "a", "reason": "the mass", "expected_version": 1, "subject": "pulmonary mass"})
    assert r.status_code == 200, r.text
    assert [c["field"] for c in r.json()["changes"]] == ["subject"]
    assert r.json()["changes"][0]["new_text"] == "concept:lung_mass"
    before = dump(store)
    r = client.post(f"/api/curation/claims/{ids['nod']}/edit", headers=AUTH,
                    json={"curator": "a", "reason": "typo", "expected_version": 2, "object": "pulmonary mass"})
    assert r.status_code == 422 and "different from its effect" in r.json()["detail"] and dump(store) == before
    r = client.post(f"/api/curation/claims/{ids['nod']}/edit", headers=AUTH,
                    json={"curator": "a", "reason": "backwards", "expected_version": 2, "swap": True})
    assert r.status_code == 200
    versions = client.get(f"/api/claims/{ids['nod']}/versions").json()
    assert [v["version"] for v in versions] == [1, 2, 3] and versions[0]["text"]["subject"] == "concept:cardiomegaly"
    cmp = client.get(f"/api/claims/{ids['nod']}/compare", params={"a": 1, "b": 3}).json()
    assert {c["field"]: (c["old_text"], c["new_text"]) for c in cmp["changes"]} == {
        "subject": ("concept:cardiomegaly", "concept:lung_nodule"), "object": ("concept:lung_nodule", "concept:lung_mass")}
    assert client.get(f"/api/claims/{ids['nod']}/compare", params={"a": 1, "b": 9}).status_code == 422


def test_comments_mappings_and_releases_over_http(env: Any) -> None:
    client, store, ids = env
    r = client.post(f"/api/curation/claims/{ids['eff1']}/comments", json={"curator": "alice", "text": "same patient?"},
                    headers=AUTH)
    assert r.status_code == 200, r.text
    cid = r.json()["comment_id"]
    edge = edge_iri(concept_for_finding("Effusion").iri, str(MCRAG.causes), concept_for_finding("Atelectasis").iri)
    r = client.post(f"/api/curation/edges/{edge.rsplit('/', 1)[-1]}/comments",
                    json={"curator": "bob", "text": "two reports", "reply_to": cid}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert store.ask(f"ASK {{ ?a a oa:Annotation ; oa:hasTarget <{edge}> ; dcterms:references ?prev ; "
                     "oa:hasBody/rdf:value \"two reports\" }")
    assert [c["text"] for c in client.get(f"/api/curation/claims/{ids['eff1']}/comments").json()] == ["same patient?"]
    r = client.post(f"/api/curation/comments/{cid}/undo", json={"curator": "alice", "reason": "asked"}, headers=AUTH)
    assert r.status_code == 200 and client.get(f"/api/curation/claims/{ids['eff1']}/comments").json() == []
    r = client.post("/api/curation/mappings", headers=AUTH, json={"concept": "pulmonary nodule", "kind": "close",
                                                                  "target": "DOID:5000", "curator": "a", "reason": "x"})
    assert r.status_code == 200, r.text
    got = client.get("/api/curation/mappings", params={"concept": "pulmonary nodule"}).json()
    assert got["close"] == ["http://purl.obolibrary.org/obo/DOID_5000"]
    r = client.post("/api/curation/mappings", headers=AUTH, json={"concept": "pulmonary nodule", "kind": "broad",
                                                                  "target": "HP:0033608", "curator": "a", "reason": "x"})
    assert r.status_code == 422 and "S46" in r.json()["detail"]
    assert client.post("/api/curation/mappings/undo", headers=AUTH,
                       json={"concept": "pulmonary nodule", "curator": "a", "reason": "no"}).status_code == 200
    # releases
    client.post(f"/api/curation/claims/{ids['eff1']}/accept", headers=AUTH,
                json={"curator": "a", "reason": "ok", "expected_version": 1})
    r = client.post("/api/curation/releases", json={"name": "v1", "curator": "a", "note": "first"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["edges"] == 1, r.text
    client.post(f"/api/curation/claims/{ids['mass']}/accept", headers=AUTH,
                json={"curator": "a", "reason": "ok", "expected_version": 1})
    assert client.post("/api/curation/releases", json={"name": "v2", "curator": "a"}, headers=AUTH).status_code == 200
    assert client.post("/api/curation/releases", json={"name": "v2", "curator": "a"}, headers=AUTH).status_code == 409
    assert client.post("/api/curation/releases", json={"name": "../v3", "curator": "a"}, headers=AUTH).status_code == 422
    d = client.get("/api/curation/releases/v1/diff/v2").json()
    assert d["counts"] == {"added": 1, "removed": 0, "changed": 0, "unchanged": 1}
    assert [e["label"] for e in d["added"]] == ["pulmonary mass causes hiatus hernia"]
    r = client.get("/api/curation/releases/v2/export", params={"format": "turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    g = rdflib.Graph().parse(data=r.text, format="turtle")
    assert (rdflib.URIRef(concept_for_finding("Mass").iri), rdflib.URIRef(str(MCRAG.causes)),
            rdflib.URIRef(concept_for_finding("Hernia").iri)) in g
    assert [x["name"] for x in client.get("/api/curation/releases").json()] == ["v1", "v2"]
    assert client.get("/api/curation/releases/v9/diff/v2").status_code == 404
    assert client.post("/api/curation/releases/v2/withdraw", json={"curator": "a", "reason": "early"},
                       headers=AUTH).status_code == 200


def test_a_write_through_the_sparql_endpoint_refreshes_the_index(env: Any) -> None:
    client, store, ids = env
    assert client.get("/api/curation/search", params={"status": "refuted"}).json()["total"] == 0
    c = f"https://w3id.org/mcrag/id/claim/{ids['mass']}"
    r = client.post("/sparql", headers=AUTH, data={"update": f"DELETE {{ GRAPH ?g {{ <{c}> mcrag:status ?s }} }} "
                    f"INSERT {{ GRAPH ?g {{ <{c}> mcrag:status mcrag:refuted }} }} WHERE {{ GRAPH ?g {{ <{c}> mcrag:status ?s }} }}"})
    assert r.status_code in (200, 204), r.text
    assert [i["claim_id"] for i in client.get("/api/curation/search", params={"status": "refuted"}).json()["items"]] \
        == [ids["mass"]]
