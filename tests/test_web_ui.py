"""The curation page in headless Chromium: review a claim, accept it, see the status in a SPARQL query."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg.claims import CausalClaim, Concept, SourceSpan, write_claims
from kg.namespaces import NAMED_GRAPHS
from kg.ontology import bootstrap
from kg.store import open_store
from tests.servers import mcrag_server

TOKEN = "ui-test-token"
SENTENCE = "Amiodarone induces pulmonary fibrosis in a minority of patients."

pytestmark = pytest.mark.skipif(shutil.which("chromedriver") is None or shutil.which("chromium") is None,
                                reason="Debian chromium and chromium-driver are not installed (.ci/run installs them)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("ui") / "store"
    claim = CausalClaim(Concept("https://w3id.org/mcrag/concept/mesh_d000638", "amiodarone", "Chemical", ("MESH:D000638",)),
                        Concept("https://w3id.org/mcrag/concept/pulmonary_fibrosis", "pulmonary fibrosis", "Disease"),
                        confidence=0.83, span=SourceSpan("PMID-1", SENTENCE, 0, len(SENTENCE), source="unit"),
                        extractor="ui-test", extractor_version="1")
    with open_store(folder) as st:
        bootstrap(st)
        write_claims(st, [claim], NAMED_GRAPHS["literature"])
    with mcrag_server(folder, env={"MCRAG_TOKEN": TOKEN}) as root:
        yield root, claim.claim_id


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.mark.slow
def test_review_accept_and_see_status_in_sparql(server: tuple[str, str], browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    root, claim_id = server
    d = browser  # type: ignore[assignment]
    wait = WebDriverWait(d, 30)
    d.get(root + "/ui/")  # type: ignore[attr-defined]
    item = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f'#queue li[data-claim="{claim_id}"]')))
    assert "amiodarone" in item.text
    d.find_element(By.ID, "curator").send_keys("dr curator")  # type: ignore[attr-defined]
    d.find_element(By.ID, "token").send_keys(TOKEN)  # type: ignore[attr-defined]
    item.click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "claim-sources"), SENTENCE))
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#claim-graph svg")))
    assert "proposed" in d.find_element(By.ID, "claim-meta").text  # type: ignore[attr-defined]
    d.find_element(By.ID, "reason").send_keys("consistent with drug labelling")  # type: ignore[attr-defined]
    d.find_element(By.ID, "accept-btn").click()  # type: ignore[attr-defined]
    wait.until(ec.text_to_be_present_in_element((By.ID, "curate-msg"), "proposed → accepted"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "claim-history"), "dr curator: accept"))
    d.save_screenshot(str(tmp_path / "curation.png"))  # type: ignore[attr-defined]

    box = d.find_element(By.ID, "sparql")  # type: ignore[attr-defined]
    box.clear()
    box.send_keys(f"SELECT ?status WHERE {{ id:claim\\/{claim_id} mcrag:status ?status }}")
    d.find_element(By.ID, "run-sparql").click()  # type: ignore[attr-defined]
    wait.until(ec.text_to_be_present_in_element((By.ID, "sparql-result"), "https://w3id.org/mcrag#accepted"))


@pytest.mark.slow
def test_accept_without_token_shows_the_refusal(server: tuple[str, str], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    root, _ = server
    d = browser  # type: ignore[assignment]
    wait = WebDriverWait(d, 30)
    d.get(root + "/ui/")  # type: ignore[attr-defined]
    d.execute_script("localStorage.clear()")  # type: ignore[attr-defined]
    d.get(root + "/ui/")  # type: ignore[attr-defined]
    d.find_element(By.ID, "status-filter").send_keys("accepted")  # type: ignore[attr-defined]
    first = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#queue li[data-claim]")))
    first.click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#claim-graph svg")))
    d.find_element(By.ID, "curator").send_keys("someone")  # type: ignore[attr-defined]
    d.find_element(By.ID, "reason").send_keys("no token")  # type: ignore[attr-defined]
    d.find_element(By.ID, "reject-btn").click()  # type: ignore[attr-defined]
    wait.until(ec.text_to_be_present_in_element((By.ID, "curate-msg"), "bearer token"))
