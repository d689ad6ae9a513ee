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
from tests.servers import headless_chromium, mcrag_server

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
    with headless_chromium(1400, 1000) as driver:
        yield driver


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
    wait.until(ec.text_to_be_present_in_element((By.ID, "claim-history"), "accept by dr curator"))
    d.save_screenshot(str(tmp_path / "curation.png"))  # type: ignore[attr-defined]

    box = d.find_element(By.ID, "sparql")  # type: ignore[attr-defined]
    box.clear()
    box.send_keys(f"SELECT ?status WHERE {{ id:claim\\/{claim_id} mcrag:status ?status }}")
    d.find_element(By.ID, "run-sparql").click()  # type: ignore[attr-defined]
    try:
        wait.until(ec.text_to_be_present_in_element((By.ID, "sparql-result"), "mcrag:accepted"))
    except Exception:
        raise AssertionError(d.find_element(By.ID, "sparql-msg").text + " | " + d.find_element(By.ID, "sparql-result").text) from None
    assert "https://w3id.org/mcrag#accepted" not in d.find_element(By.ID, "sparql-result").text  # type: ignore[attr-defined]


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


def _open(d: object, root: str, claim_filter: str = "") -> object:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(d, 30)
    d.get(root + "/ui/")  # type: ignore[attr-defined]
    if claim_filter:
        d.find_element(By.ID, "status-filter").send_keys(claim_filter)  # type: ignore[attr-defined]
    return wait


@pytest.mark.slow
def test_queue_shows_a_loading_state_until_the_items_arrive(server: tuple[str, str], browser: object) -> None:
    from selenium.webdriver.common.by import By

    root, claim_id = server
    d = browser
    d.execute_cdp_cmd("Network.enable", {})  # type: ignore[attr-defined]
    d.execute_cdp_cmd("Network.emulateNetworkConditions", {  # type: ignore[attr-defined]
        "offline": False, "latency": 2500, "downloadThroughput": -1, "uploadThroughput": -1})
    try:
        d.get(root + "/ui/")  # type: ignore[attr-defined]
        queue = d.find_element(By.ID, "queue")  # type: ignore[attr-defined]
        assert queue.get_attribute("aria-busy") == "true" and "loading" in queue.text
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(d, 60).until(lambda drv: queue.get_attribute("aria-busy") is None)
        assert "loading" not in queue.text and queue.find_elements(By.TAG_NAME, "li")
    finally:
        d.execute_cdp_cmd("Network.emulateNetworkConditions", {  # type: ignore[attr-defined]
            "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})


_LABEL_BOXES = """
const boxes = [...document.querySelectorAll('#claim-graph .node text')].map(t => t.getBoundingClientRect());
const clash = [];
for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
  const a = boxes[i], b = boxes[j];
  if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) clash.push([i, j]);
}
return [boxes.length, clash.length];
"""


@pytest.mark.slow
def test_picture_is_readable_highlights_the_claim_and_is_clickable(server: tuple[str, str], browser: object) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    root, _ = server
    d = browser
    wait = _open(d, root, "accepted")
    first = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#queue li[data-claim]")))  # type: ignore[attr-defined]
    claim = first.get_attribute("data-claim")
    first.click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#claim-graph svg .node")))  # type: ignore[attr-defined]
    labels, clashes = d.execute_script(_LABEL_BOXES)  # type: ignore[attr-defined]
    assert labels >= 3 and clashes == 0, f"{clashes} overlapping label pairs among {labels}"
    edges = d.find_elements(By.CSS_SELECTOR, "#claim-graph .edge")  # type: ignore[attr-defined]
    hot = d.find_elements(By.CSS_SELECTOR, "#claim-graph .edge.highlight")  # type: ignore[attr-defined]
    assert len(hot) == 1 and hot[0].get_attribute("data-claim") == claim
    assert edges[-1].get_attribute("data-claim") == claim, "the highlighted claim is drawn on top"
    assert hot[0].is_displayed()
    other = next((e for e in edges if e.get_attribute("data-claim") != claim), None)
    if other is not None:  # an arrow opens its claim
        target = other.get_attribute("data-claim")
        ActionChains(d).move_to_element(other.find_elements(By.TAG_NAME, "path")[-1]).click().perform()  # type: ignore[arg-type]
        wait.until(lambda drv: drv.find_element(By.ID, "claim-panel").get_attribute("data-claim") == target)  # type: ignore[attr-defined]
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#claim-graph svg .node")))  # type: ignore[attr-defined]
    node = d.find_elements(By.CSS_SELECTOR, "#claim-graph .node circle")[0]  # type: ignore[attr-defined]
    ActionChains(d).move_to_element(node).click().perform()  # type: ignore[arg-type]
    wait.until(lambda drv: "row(s)" in drv.find_element(By.ID, "sparql-msg").text)  # type: ignore[attr-defined]
    assert "id:claim/" in d.find_element(By.ID, "sparql-result").text  # type: ignore[attr-defined]


@pytest.mark.slow
def test_refused_act_is_a_plain_sentence_next_to_the_buttons(server: tuple[str, str], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    root, _ = server
    d = browser
    wait = _open(d, root, "accepted")
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#queue li[data-claim]"))).click()  # type: ignore[attr-defined]
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#claim-graph svg")))  # type: ignore[attr-defined]
    d.find_element(By.ID, "token").send_keys(TOKEN)  # type: ignore[attr-defined]
    d.find_element(By.ID, "curator").clear()  # type: ignore[attr-defined]
    d.find_element(By.ID, "curator").send_keys("dr curator")  # type: ignore[attr-defined]
    d.find_element(By.ID, "reason").clear()  # type: ignore[attr-defined]
    d.find_element(By.ID, "reject-btn").click()  # type: ignore[attr-defined]
    wait.until(ec.text_to_be_present_in_element((By.ID, "curate-msg"), "reason"))  # type: ignore[attr-defined]
    msg = d.find_element(By.ID, "curate-msg")  # type: ignore[attr-defined]
    assert msg.text.startswith("reason: ") and "{" not in msg.text and "[" not in msg.text, msg.text
    in_view = d.execute_script(  # type: ignore[attr-defined]
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight;", msg)
    assert in_view, ("the message is on screen, not below the fold", d.execute_script(  # type: ignore[attr-defined]
        "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight];", msg))


@pytest.mark.slow
def test_history_says_which_fields_changed_and_how(server: tuple[str, str], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select

    root, claim_id = server
    d = browser
    wait = _open(d, root, "accepted")
    item = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f'#queue li[data-claim="{claim_id}"]')))  # type: ignore[attr-defined]
    item.click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "claim-sources"), SENTENCE))  # type: ignore[attr-defined]
    d.find_element(By.ID, "token").clear()  # type: ignore[attr-defined]
    d.find_element(By.ID, "token").send_keys(TOKEN)  # type: ignore[attr-defined]
    d.find_element(By.ID, "curator").clear()  # type: ignore[attr-defined]
    d.find_element(By.ID, "curator").send_keys("dr curator")  # type: ignore[attr-defined]
    d.find_element(By.ID, "reason").send_keys("one case series only")  # type: ignore[attr-defined]
    Select(d.find_element(By.ID, "edit-certainty")).select_by_visible_text("possible")  # type: ignore[attr-defined]
    d.find_element(By.ID, "edit-btn").click()  # type: ignore[attr-defined]
    wait.until(ec.text_to_be_present_in_element((By.ID, "claim-history"), "certainty: certain → possible"))  # type: ignore[attr-defined]
    assert "edit (proposed -> proposed)" not in d.find_element(By.ID, "claim-history").text  # type: ignore[attr-defined]


@pytest.mark.slow
def test_api_docs_render_without_any_other_host(server: tuple[str, str], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    root, _ = server
    d = browser
    d.get(root + "/docs")  # type: ignore[attr-defined]
    WebDriverWait(d, 60).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".swagger-ui .info"), "MCRAG"))
    assert d.find_elements(By.CSS_SELECTOR, ".opblock")  # type: ignore[attr-defined]
    urls = d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")  # type: ignore[attr-defined]
    assert urls and all(u.startswith(root) for u in urls), [u for u in urls if not u.startswith(root)]
