"""The report in a real browser: headless Chromium renders it, every image loads, the console
stays clean and nothing is fetched from outside the file.

Talks to Chromium over the DevTools protocol (`--remote-debugging-port`) with the `websockets`
client already installed. Keeps a screenshot under test-artifacts/ (or $IOM_TEST_ARTIFACTS).
Skipped, with the reason, only where Chromium is genuinely absent and cannot be installed: not
at $IOM_CHROMIUM (default /usr/bin/chromium), the tests not running as root (`make system-deps`
installs it as root) and CI not set. Anywhere else (installed, or root, or CI=true) a browser
that is missing or fails to start fails the tests.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from base64 import b64decode
from pathlib import Path

import pytest

from iom_pipeline.paths import PROJECT_ROOT
from iom_pipeline.publication import render_figures, render_report
from iom_pipeline.publication.data import read_marts_csv

CHROMIUM = Path(os.environ.get("IOM_CHROMIUM", "/usr/bin/chromium"))
FIXTURES = Path(__file__).parent / "fixtures" / "publication"
ARTIFACTS = Path(os.environ.get("IOM_TEST_ARTIFACTS") or PROJECT_ROOT / "test-artifacts")
VIEWPORT = {"width": 1280, "height": 900}

MAY_SKIP = not CHROMIUM.exists() and os.geteuid() != 0 and os.environ.get("CI", "").lower() not in ("true", "1", "yes")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(MAY_SKIP, reason=f"headless Chromium not installed at {CHROMIUM}, and this user "
                                        "(not root, not CI) cannot install it"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevTools:
    """A minimal DevTools protocol client for one page: commands, and the events seen so far."""

    def __init__(self, websocket):
        self._ws = websocket
        self._ids = itertools.count(1)
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        message_id = next(self._ids)
        self._ws.send(json.dumps({"id": message_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        for event in self.events:
            if event["method"] == method:
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if "method" in message:
                self.events.append(message)
                if message["method"] == method:
                    return message
        raise TimeoutError(method)

    def drain(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                message = json.loads(self._ws.recv(timeout=max(0.05, deadline - time.monotonic())))
            except TimeoutError:
                return
            if "method" in message:
                self.events.append(message)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    marts = read_marts_csv(FIXTURES)
    out = tmp_path_factory.mktemp("publication")
    figures = render_figures(2013, marts["question_summary"], out, marts["year_comparison"])
    return render_report(2013, marts, figures, out / "report.html", synthetic=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"headless Chromium is not installed at {CHROMIUM} (`make system-deps` installs it as root; "
                    f"root: {os.geteuid() == 0}, CI: {os.environ.get('CI', '')!r})", pytrace=False)
    profile = tmp_path_factory.mktemp("chromium-profile")
    port = _free_port()
    process = subprocess.Popen(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--remote-debugging-port={port}",
            f"--window-size={VIEWPORT['width']},{VIEWPORT['height']}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        page_ws = None
        while time.monotonic() < deadline and page_ws is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
                    targets = json.load(response)
                page_ws = next((t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"), None)
            except OSError:
                time.sleep(0.2)
        if page_ws is None:
            pytest.fail("Chromium did not open its DevTools endpoint within 30 seconds")
        from websockets.sync.client import connect

        with connect(page_ws, max_size=None, open_timeout=20) as websocket:
            yield DevTools(websocket)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


CHECK_PAGE = """
JSON.stringify({
  title: document.title,
  lang: document.documentElement.lang,
  h1: (document.querySelector('h1') || {}).textContent || '',
  images: Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete, width: i.naturalWidth,
                                                   shown: i.getBoundingClientRect().width})),
  scripts: document.scripts.length,
  details: document.querySelectorAll('details').length,
  headings: Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6')).map(h => Number(h.tagName[1])),
  banner: !!document.querySelector('.banner'),
  release: Array.from(document.querySelectorAll('.release dt')).map(dt => {
    const box = dt.getBoundingClientRect(), dd = dt.nextElementSibling.getBoundingClientRect();
    return {term: dt.innerText, value: dt.nextElementSibling.innerText, sameLine: Math.abs(box.top - dd.top) < 4,
            visible: box.width > 0 && dd.width > 0};
  }),
  height: Math.ceil(document.documentElement.scrollHeight),
  overflowX: document.documentElement.scrollWidth > window.innerWidth
})
"""


OPEN_DETAILS = """
JSON.stringify(Array.from(document.querySelectorAll('details')).map(d => {
  d.open = true;
  const t = d.querySelector('table'), f = d.closest('figure').getBoundingClientRect();
  return {rows: t.rows.length, height: t.getBoundingClientRect().height,
          figure: {x: f.x + window.scrollX, y: f.y + window.scrollY, width: f.width, height: f.height}};
}))
"""


@pytest.fixture(scope="module")
def rendered(browser: DevTools, report: Path) -> dict:
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable")
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {**VIEWPORT, "deviceScaleFactor": 1, "mobile": False},
    )
    browser.send("Page.navigate", {"url": report.resolve().as_uri()})
    browser.wait_for("Page.loadEventFired", timeout=60)
    browser.drain(1.0)
    result = browser.send("Runtime.evaluate", {"expression": CHECK_PAGE, "returnByValue": True})
    page = json.loads(result["result"]["value"])

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    top = browser.send("Page.captureScreenshot", {"format": "png"})
    (ARTIFACTS / "report-top.png").write_bytes(b64decode(top["data"]))
    full = browser.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": page["height"], "scale": 1},
        },
        timeout=60,
    )
    (ARTIFACTS / "report-full.png").write_bytes(b64decode(full["data"]))
    # Open every <details> and photograph the first figure with its data table.
    opened = browser.send("Runtime.evaluate", {"expression": OPEN_DETAILS, "returnByValue": True})
    page["details_tables"] = json.loads(opened["result"]["value"])
    box = page["details_tables"][0]["figure"]
    shot = browser.send(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": {**box, "scale": 1}},
        timeout=60,
    )
    (ARTIFACTS / "report-figure-1-with-data.png").write_bytes(b64decode(shot["data"]))
    browser.drain(0.5)
    page["events"] = list(browser.events)
    return page


def test_report_renders(rendered):
    assert rendered["lang"] == "en-GB"
    assert "Integrated Offender Management" in rendered["h1"]
    assert rendered["title"].startswith("Synthetic data:")
    assert rendered["banner"]
    assert rendered["details"] >= 6
    assert rendered["scripts"] == 0
    assert not rendered["overflowX"], "the page scrolls sideways at 1280 pixels"


def test_release_details_shown(rendered):
    """Status, dates and contact under the title, each term beside its value."""
    release = {r["term"]: r for r in rendered["release"]}
    assert list(release) == ["Statistics status", "Published", "Next update", "Contact"]
    assert all(r["visible"] and r["sameLine"] for r in release.values())
    assert release["Statistics status"]["value"].startswith("Synthetic data")
    assert all(r["value"].strip() and "[" not in r["value"] for r in release.values())


def test_every_image_loads(rendered):
    images = rendered["images"]
    assert len(images) >= 6
    broken = [i["alt"][:60] for i in images if not i["complete"] or i["width"] <= 0]
    assert not broken, f"images that did not load: {broken}"
    assert all(i["alt"] for i in images), "an image has no alt text"
    assert all(0 < i["shown"] <= VIEWPORT["width"] for i in images)


def test_headings_in_order(rendered):
    levels = rendered["headings"]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), f"a heading level is skipped: {levels}"


def test_console_is_clean(rendered):
    problems = []
    for event in rendered["events"]:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            problems.append(params["exceptionDetails"].get("text"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            problems.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            problems.append(params["entry"].get("text"))
    assert not problems, problems


def test_nothing_fetched_from_outside(rendered):
    urls = [
        e["params"]["request"]["url"]
        for e in rendered["events"]
        if e["method"] == "Network.requestWillBeSent"
    ]
    outside = [u for u in urls if not u.startswith(("file:", "data:", "about:"))]
    assert not outside, outside
    failed = [e["params"] for e in rendered["events"] if e["method"] == "Network.loadingFailed"]
    assert not failed, failed


def test_data_tables_open(rendered):
    tables = rendered["details_tables"]
    assert len(tables) == rendered["details"]
    assert all(t["rows"] > 2 and t["height"] > 50 for t in tables)


def test_screenshot_kept(rendered):
    for name in ("report-top.png", "report-full.png", "report-figure-1-with-data.png"):
        path = ARTIFACTS / name
        assert path.exists() and path.stat().st_size > 10_000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
