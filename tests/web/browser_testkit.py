"""Headless Chromium from Debian's packages, driven by Selenium, plus axe-core.

Nothing is downloaded at test time except axe-core from npm when it is not in
its cache yet: the driver path is given, so Selenium Manager never runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
AXE_VERSION = "4.14.1"
AXE_DIR = REPO / "var" / "test-cache" / "axe-core"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "test-output" / "screenshots"
INSTALL_HINT = (
    "apt-get update && apt-get install -y chromium chromium-driver; "
    f"npm install --no-save --no-audit --no-fund --prefix var/test-cache/axe-core axe-core@{AXE_VERSION}"
)
FAILING_IMPACTS = ("serious", "critical")


def missing_tools() -> list[str]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).exists()]
    if not AXE_JS.exists() and shutil.which("npm") is None:
        missing.append("npm (for axe-core)")
    return missing


def make_driver():  # noqa: ANN201 - selenium.webdriver.Chrome, imported lazily
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--lang=en-GB",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def screenshot(driver, name: str) -> Path:  # noqa: ANN001 - a selenium WebDriver
    """Save the whole page (as tall as its content) under test-output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    width = driver.get_window_size()["width"]
    height = driver.execute_script("return document.documentElement.scrollHeight")
    original = driver.get_window_size()
    driver.set_window_size(width, max(600, min(int(height) + 120, 6000)))
    driver.save_screenshot(str(path))
    driver.set_window_size(original["width"], original["height"])
    return path


def axe_source() -> str:
    if not AXE_JS.exists():
        subprocess.run(
            [
                "npm",
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(AXE_DIR),
                f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE_JS.read_text()


def axe_violations(driver, source: str) -> list[dict]:  # noqa: ANN001 - a selenium WebDriver
    """Serious and critical WCAG 2.x A/AA violations axe-core finds on the current page."""
    driver.execute_script(source)
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})
          .then(r => done(JSON.stringify(r.violations)))
          .catch(e => done(JSON.stringify([{id: 'axe-error', impact: 'critical', description: String(e), nodes: []}])));
        """
    )
    return [v for v in json.loads(result) if v.get("impact") in FAILING_IMPACTS]


def console_errors(driver) -> list[str]:  # noqa: ANN001 - a selenium WebDriver
    """Errors the page logged since the last call (a blocked script or style shows here)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v.get('help', v.get('description'))} at "
        + "; ".join(" ".join(node.get("target", [])) for node in v.get("nodes", [])[:5])
        for v in violations
    )
