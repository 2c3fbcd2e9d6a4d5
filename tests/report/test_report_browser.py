"""The HTML report in a real browser (headless Chromium): it loads offline with no console
errors and every image decodes. Skips where Chromium or its driver is not installed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coldstart_bench.report.build import build_report

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=DRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_report_renders_offline_with_every_image(small_run: Path, tmp_path: Path, browser):
    report = build_report(small_run, tmp_path / "rep", ["html"])
    browser.get((report.out_dir / "report.html").as_uri())
    assert "coldstart report" in browser.title
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt]);"
    )
    assert len(images) >= 4
    assert all(done and width > 0 for done, width, _alt in images), images
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    # the hostile scenario name arrived as text, not as a script
    assert browser.execute_script("return document.scripts.length;") == 0
    assert "<script>alert(1)</script>" in browser.find_element("tag name", "h1").text
