"""A scripted curation session in headless Chromium on a store like the one ``make run`` builds (the ontology and
starter graph, plus a few hundred mined-like claims): search, open an edge, bulk-reject, edit a direction,
comment, undo the bulk act, cut a release and diff it with the previous one. Every step is checked with SPARQL."""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kg.claims import CausalClaim, Concept, SourceSpan, write_claims
from kg.curation import edge_iri
from kg.namespaces import MCRAG, NAMED_GRAPHS, release_graph
from kg.ontology import bootstrap
from kg.store import open_store
from tests.servers import headless_chromium, mcrag_server

TOKEN = "workbench-ui-token"
LIT = NAMED_GRAPHS["literature"]
AMIODARONE = Concept("https://w3id.org/mcrag/concept/mesh_d000638", "amiodarone", "Chemical", ("MESH:D000638",),
                     ("cordarone",))
FIBROSIS = Concept("https://w3id.org/mcrag/concept/pulmonary_fibrosis", "pulmonary fibrosis", "Disease")
STENOSIS = Concept("https://w3id.org/mcrag/concept/bronchial_stenosis", "bronchial stenosis", "Disease")
COLLAPSE = Concept("https://w3id.org/mcrag/concept/lobar_collapse", "lobar collapse", "ImagingFinding")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("chromedriver") is None or shutil.which("chromium") is None,
                                 reason="Debian chromium and chromium-driver are not installed (.ci/run installs them)")]


def mined(subject: Concept, obj: Concept, doc: str, sentence: str, status: str = "proposed",
          relation: str = "causes") -> CausalClaim:
    return CausalClaim(subject, obj, relation=relation, status=status, confidence=0.7,  # type: ignore[arg-type]
                       span=SourceSpan(doc, sentence, 0, len(sentence), source="pubmed"),
                       extractor="literature-miner", extractor_version="1", generated_at=datetime(2026, 5, 1, tzinfo=UTC))


def generated_claims(n: int = 300, seed: int = 3) -> list[CausalClaim]:
    """Mined-like claims: a pool of made-up concepts with synonyms, plus the edges the session works on."""
    rng = random.Random(seed)
    pool = [Concept(f"https://w3id.org/mcrag/concept/gen_{i}", f"finding {i}", "Disease", (), (f"syndrome {i}",))
            for i in range(40)]
    out = [mined(AMIODARONE, FIBROSIS, f"PMID-{k}", f"Amiodarone was followed by pulmonary fibrosis in case {k}.")
           for k in range(4)]  # "drug treats X" read as causes: four abstracts, one edge
    out.append(mined(COLLAPSE, STENOSIS, "PMID-90", "Lobar collapse led to bronchial stenosis.", status="accepted"))
    while len(out) < n:
        a, b = rng.sample(pool, 2)
        out.append(mined(a, b, f"PMID-{1000 + len(out)}", f"{a.label} precedes {b.label} ({len(out)}).",
                         status=rng.choice(["proposed", "proposed", "accepted", "validated"])))
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("wb") / "store"
    claims = generated_claims()
    with open_store(folder) as st:
        bootstrap(st)
        write_claims(st, claims, LIT)
    ids = {"drug": [c.claim_id for c in claims[:4]], "swap": claims[4].claim_id}  # type: ignore[dict-item]
    with mcrag_server(folder, env={"MCRAG_TOKEN": TOKEN}) as root:
        yield root, folder, ids  # type: ignore[misc]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium(1500, 1100) as driver:
        yield driver


def sparql(root: str, query: str) -> list[dict[str, str]]:
    """Ask the running service's SPARQL endpoint (the store is locked by the server)."""
    import httpx

    r = httpx.post(f"{root}/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"},
                   timeout=60)
    r.raise_for_status()
    body = r.json()
    if "boolean" in body:
        return [{"ask": "true" if body["boolean"] else "false"}]
    return [{k: v["value"] for k, v in b.items()} for b in body["results"]["bindings"]]


def ask(root: str, query: str) -> bool:
    return sparql(root, query)[0]["ask"] == "true"


def claim(cid: str) -> str:
    return f"https://w3id.org/mcrag/id/claim/{cid}"


def test_scripted_curation_session(server: Any, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    root, _, ids = server
    d = browser
    wait = WebDriverWait(d, 40)
    d.get(root + "/ui/")
    d.find_element(By.ID, "curator").send_keys("dr curator")
    d.find_element(By.ID, "token").send_keys(TOKEN)

    # 0. a first release, before the session
    d.find_element(By.ID, "tab-releases").click()
    d.find_element(By.ID, "release-name").send_keys("before")
    d.find_element(By.ID, "release-btn").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "release-msg"), "release before:"))
    before_edges = int(sparql(root, f"""SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{release_graph('before')}> {{
        ?e a mcrag:ReleasedEdge }} }}""")[0]["n"])
    assert f"{before_edges} edges" in d.find_element(By.ID, "release-msg").text

    # 1. search by a synonym of the drug: one edge, four claims
    d.find_element(By.ID, "tab-search").click()
    d.find_element(By.ID, "search-concept").send_keys("cordarone")
    d.find_element(By.ID, "search-btn").click()
    edge = edge_iri(AMIODARONE.iri, str(MCRAG.causes), FIBROSIS.iri)
    edge_id = edge.rsplit("/", 1)[-1]
    item = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f'#results li[data-edge="{edge_id}"]')))
    n = int(sparql(root, f"""SELECT (COUNT(?c) AS ?n) WHERE {{ ?c a mcrag:CausalClaim ; rdf:subject <{AMIODARONE.iri}> ;
        rdf:object <{FIBROSIS.iri}> }}""")[0]["n"])
    assert n == 4 and "4 claim(s)" in item.text
    assert "status:" in d.find_element(By.ID, "facets").text

    # 2. open the edge: its four claims with sentences and sources
    item.click()
    wait.until(lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "#edge-members tbody tr")) == 4)
    assert "amiodarone causes pulmonary fibrosis" in d.find_element(By.ID, "edge-title").text
    assert "PMID-0" in d.find_element(By.ID, "edge-members").text

    # 3. bulk-reject the four claims with one reason
    d.find_element(By.ID, "select-all").click()
    Select(d.find_element(By.ID, "bulk-action")).select_by_value("reject")
    d.find_element(By.ID, "bulk-reason").send_keys("the drug treats fibrosis in these abstracts; read as causes")
    d.find_element(By.ID, "bulk-btn").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "bulk-msg"), "reject of 4 claim(s)"))
    rows = sparql(root, """SELECT ?b ?n WHERE { ?b a mcrag:BulkCurationActivity ; mcrag:action "reject" ;
        mcrag:memberCount ?n ; mcrag:reason "the drug treats fibrosis in these abstracts; read as causes" }""")
    assert len(rows) == 1 and rows[0]["n"] == "4"
    bulk_act = rows[0]["b"]
    for cid in ids["drug"]:
        assert ask(root, f"ASK {{ <{claim(cid)}> mcrag:status mcrag:rejected }}")
        assert ask(root, f"ASK {{ <{bulk_act}> prov:used <{claim(cid)}> }}")
    assert not ask(root, f"ASK {{ GRAPH <{LIT}> {{ <{AMIODARONE.iri}> mcrag:causes <{FIBROSIS.iri}> }} }}")
    wait.until(ec.text_to_be_present_in_element((By.ID, "edge-meta"), "rejected 4"))

    # 4. edit a direction: lobar collapse -> bronchial stenosis is read backwards
    Select(d.find_element(By.ID, "search-mode")).select_by_value("claims")
    d.find_element(By.ID, "search-concept").clear()
    d.find_element(By.ID, "search-text").send_keys("led to bronchial stenosis")
    d.find_element(By.ID, "search-btn").click()
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f'#results li[data-claim="{ids["swap"]}"]'))).click()
    wait.until(lambda drv: drv.find_element(By.ID, "claim-panel").get_attribute("data-claim") == ids["swap"])
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#claim-graph svg")))
    d.find_element(By.ID, "edit-swap").click()
    d.find_element(By.ID, "reason").send_keys("the stenosis causes the collapse, not the reverse")
    d.find_element(By.ID, "edit-btn").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "curate-msg"), "subject: concept:lobar_collapse → concept:bronchial_stenosis"))
    c = claim(ids["swap"])
    assert ask(root, f"ASK {{ <{c}> rdf:subject <{STENOSIS.iri}> ; rdf:object <{COLLAPSE.iri}> ; mcrag:version 2 }}")
    assert ask(root, f"ASK {{ GRAPH <{LIT}> {{ <{STENOSIS.iri}> mcrag:causes <{COLLAPSE.iri}> }} }}")
    assert not ask(root, f"ASK {{ GRAPH <{LIT}> {{ <{COLLAPSE.iri}> mcrag:causes <{STENOSIS.iri}> }} }}")
    wait.until(ec.text_to_be_present_in_element((By.ID, "claim-history"), "object: concept:bronchial_stenosis → concept:lobar_collapse"))

    # 5. comment on the claim
    d.find_element(By.ID, "comment-text").send_keys("Checked against the abstract: the collapse follows the stenosis.")
    d.find_element(By.ID, "comment-btn").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "claim-comments"), "the collapse follows the stenosis"))
    assert ask(root, f"""ASK {{ ?a a oa:Annotation ; oa:motivatedBy oa:commenting ; oa:hasTarget <{c}> ;
        oa:hasBody/rdf:value "Checked against the abstract: the collapse follows the stenosis." ;
        dcterms:creator/foaf:name "dr curator" ; dcterms:created ?t }}""")

    # 6. undo the bulk act as a whole
    d.find_element(By.ID, "bulk-undo-btn").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "bulk-msg"), "4 claim(s) put back"))
    for cid in ids["drug"]:
        assert ask(root, f"ASK {{ <{claim(cid)}> mcrag:status mcrag:proposed }}")
    assert ask(root, f"ASK {{ ?u a mcrag:BulkCurationActivity ; mcrag:undoes <{bulk_act}> ; mcrag:memberCount 4 }}")
    assert ask(root, f"ASK {{ GRAPH <{LIT}> {{ <{AMIODARONE.iri}> mcrag:causes <{FIBROSIS.iri}> }} }}")

    # 7. cut a release and diff it with the previous one
    d.find_element(By.ID, "tab-releases").click()
    d.find_element(By.ID, "release-name").send_keys("after")
    d.find_element(By.ID, "release-btn").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "release-msg"), "release after:"))
    after, before = release_graph("after"), release_graph("before")
    assert ask(root, f"""ASK {{ GRAPH <{after}> {{ <{after}> a mcrag:Release ; owl:versionIRI <{after}> ;
        prov:wasDerivedFrom <{before}> ; dcterms:issued ?t ; mcrag:edgeCount ?n }} }}""")
    wait.until(lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "#releases li[data-release]")) == 2)
    d.find_element(By.ID, "diff-btn").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#diff-result .diff-summary")))

    def edges(g: str) -> set[str]:
        return {r["e"] for r in sparql(root, f"SELECT ?e WHERE {{ GRAPH <{g}> {{ ?x mcrag:edge ?e }} }}")}

    added, removed = edges(after) - edges(before), edges(before) - edges(after)
    swapped = edge_iri(STENOSIS.iri, str(MCRAG.causes), COLLAPSE.iri)
    assert swapped in added and edge_iri(COLLAPSE.iri, str(MCRAG.causes), STENOSIS.iri) in removed
    summary = d.find_element(By.CSS_SELECTOR, "#diff-result .diff-summary").text
    assert f"before → after: {len(added)} added, {len(removed)} removed" in summary, summary
    assert "+ bronchial stenosis causes lobar collapse" in d.find_element(By.ID, "diff-result").text
    d.save_screenshot(str(tmp_path / "workbench.png"))


def test_concept_mapping_acts_in_the_browser(server: Any, browser: Any) -> None:
    """Show a concept's SKOS matches, add one, withdraw it and undo the withdrawal; each step checked with SPARQL."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    root, _, _ = server
    d = browser
    wait = WebDriverWait(d, 40)
    d.get(root + "/ui/")
    d.find_element(By.ID, "curator").clear()
    d.find_element(By.ID, "curator").send_keys("dr curator")
    d.find_element(By.ID, "token").clear()
    d.find_element(By.ID, "token").send_keys(TOKEN)
    d.find_element(By.ID, "tab-concepts").click()
    d.find_element(By.ID, "map-concept").send_keys("lung fibrosis")  # a synonym names the concept
    d.find_element(By.ID, "map-show").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "map-current"), "exactMatch"))
    shown = d.find_element(By.ID, "map-current").text
    exact = sparql(root, f"SELECT DISTINCT ?t WHERE {{ <{FIBROSIS.iri}> skos:exactMatch ?t }}")
    assert exact and len(d.find_elements(By.CSS_SELECTOR, '#map-current li[data-kind="exact"]')) == len(exact), shown

    def close_match() -> bool:
        return ask(root, f'ASK {{ <{FIBROSIS.iri}> skos:closeMatch ?t FILTER(STRENDS(STR(?t), "HP_0006530")) }}')

    Select(d.find_element(By.ID, "map-kind")).select_by_value("close")
    d.find_element(By.ID, "map-target").send_keys("HP:0006530")
    d.find_element(By.ID, "map-reason").send_keys("interstitial abnormality is broader in use, close in meaning")
    d.find_element(By.ID, "map-add").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "map-msg"), "added closeMatch HP:0006530"))
    assert close_match()
    wait.until(lambda drv: len(drv.find_elements(By.CSS_SELECTOR, '#map-current li[data-kind="close"]')) == 1)

    d.find_element(By.ID, "map-remove").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "map-msg"), "withdrew closeMatch HP:0006530"))
    assert not close_match()

    d.find_element(By.ID, "map-undo").click()  # undoes the withdrawal: the match is back
    wait.until(ec.text_to_be_present_in_element((By.ID, "map-msg"), "undone"))
    assert close_match()
    acts = sparql(root, f"""SELECT ?a WHERE {{ ?a prov:used <{FIBROSIS.iri}> ; prov:wasAssociatedWith/rdfs:label "dr curator" }}""")
    assert len(acts) >= 3, acts

    d.find_element(By.ID, "map-target").clear()
    d.find_element(By.ID, "map-target").send_keys("XYZ:1")
    d.find_element(By.ID, "map-add").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "map-msg"), "is not an HPO, DOID or MeSH id"))
    assert "error" in (d.find_element(By.ID, "map-msg").get_attribute("class") or "")
