"""Take the README's screenshot of the curation page (headless Chromium, a server on a temp store).

    python scripts/screenshot_ui.py --out docs/img/curation.png [--store var/store]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from kg.ontology import bootstrap
    from kg.store import open_store
    from tests.servers import mcrag_server

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "curation.png")
    ap.add_argument("--store", type=Path, default=None, help="an existing store to show (copied first)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "store"
        if args.store:
            shutil.copytree(args.store, folder)
        else:
            with open_store(folder) as st:
                bootstrap(st)
        with mcrag_server(folder, env={"MCRAG_TOKEN": "demo"}) as root:
            opts = webdriver.ChromeOptions()
            for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1400,1300"):
                opts.add_argument(flag)
            d = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
            try:
                wait = WebDriverWait(d, 60)
                d.get(root + "/ui/")
                wait.until(lambda drv: drv.find_element(By.ID, "queue").get_attribute("aria-busy") is None)
                if not d.find_elements(By.CSS_SELECTOR, "#queue li[data-claim]"):
                    d.execute_script("const f = document.getElementById('status-filter'); f.value = 'accepted';"
                                     "f.dispatchEvent(new Event('change'));")
                first = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#queue li[data-claim]")))
                first.click()
                wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#claim-graph svg")))
                d.find_element(By.ID, "run-sparql").click()
                wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#sparql-result table")))
                d.execute_script("window.scrollTo(0, 0)")
                time.sleep(0.5)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                d.save_screenshot(str(args.out))
            finally:
                d.quit()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
