"""The demo report in a real browser: headless Chromium driven over the DevTools protocol.

Asserts no console errors, no network requests (only the file itself and ``data:`` URIs), every
image decoded with a non-zero size and every section present, and saves screenshots under the
test's temporary folder. Skips when Debian's ``chromium`` is not installed (``.ci/run``
installs it).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SECTIONS = ("data", "accuracy", "attention", "attributions", "representations", "substitution",
            "hypotheses", "dynamics", "experiments", "review", "provenance")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="headless Chromium is not installed (apt-get install chromium)"),
]


class Browser:
    """A headless Chromium with one page, spoken to over its DevTools websocket."""

    def __init__(self, profile: Path, *, width: int = 1366, height: int = 900) -> None:
        import websocket  # websocket-client, a dev dependency

        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-dev-shm-usage", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                pytest.fail("Chromium did not start (no DevToolsActivePort)")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list",
                                                   timeout=30))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60,
                                              suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {method}")
            self.events.append(json.loads(self.ws.recv()))

    def open(self, file: Path) -> None:
        self.events.clear()
        self.call("Page.navigate", url=file.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        self.evaluate("new Promise(r => setTimeout(r, 300))")  # let late events arrive

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluation failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, file: Path, *, full_page: bool = False) -> Path:
        params = {"format": "png"}
        if full_page:
            height = self.evaluate("document.documentElement.scrollHeight")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": 1366, "height": min(height, 16000),
                                "scale": 1})
        file.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", **params)["data"]))
        return file

    def console_errors(self) -> list[str]:
        errors = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append(json.dumps(params.get("args"))[:300])
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                errors.append(params["entry"].get("text", "")[:300])
            elif method == "Runtime.exceptionThrown":
                errors.append(json.dumps(params.get("exceptionDetails"))[:300])
        return errors

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def dialogs(self) -> list[str]:
        return [e["params"].get("message", "") for e in self.events
                if e.get("method") == "Page.javascriptDialogOpening"]

    def close(self) -> None:
        try:
            if getattr(self, "ws", None) is not None:
                self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path / "profile")
    yield b
    b.close()


IMAGES = """Array.from(document.images).map(i => ({src: i.src.slice(0, 40), complete: i.complete,
    width: i.naturalWidth, height: i.naturalHeight}))"""


def check_page(browser: Browser, file: Path) -> None:
    """No console errors or dialogs, no requests but the file and data: URIs, every image
    decoded with a size."""
    browser.open(file)
    assert browser.console_errors() == []
    assert browser.dialogs() == []
    page_url = file.resolve().as_uri()
    outside = [u for u in browser.requests() if u != page_url and not u.startswith("data:")]
    assert outside == []
    images = browser.evaluate(IMAGES)
    assert images, f"{file.name} shows no figures"
    broken = [i for i in images if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    assert broken == []


def test_demo_report_in_chromium(small_demo, browser, tmp_path):
    index = small_demo / "report" / "index.html"
    check_page(browser, index)
    ids = browser.evaluate("Array.from(document.querySelectorAll('section[id]')).map(s => s.id)")
    assert set(SECTIONS) <= set(ids)
    toc = browser.evaluate("Array.from(document.querySelectorAll('nav#contents a'))"
                           ".map(a => a.getAttribute('href'))")
    assert [f"#{s}" for s in SECTIONS] == toc
    assert browser.evaluate("document.documentElement.scrollWidth") <= 1366  # no sideways scroll
    browser.screenshot(tmp_path / "report-top.png")
    browser.screenshot(tmp_path / "report-full.png", full_page=True)
    assert (tmp_path / "report-top.png").stat().st_size > 10_000

    pages = browser.evaluate("Array.from(document.querySelectorAll('#review a'))"
                             ".map(a => a.href)")
    assert pages
    review = Path(urllib.request.url2pathname(pages[0].removeprefix("file://")))
    check_page(browser, review)
    browser.screenshot(tmp_path / "review.png", full_page=True)


def test_hostile_names_render_as_text(hostile_report, browser, tmp_path):
    for file in [hostile_report / "index.html", *sorted((hostile_report / "review").glob("*"))]:
        check_page(browser, file)
        assert browser.evaluate("document.querySelectorAll('script').length") == 0
        assert browser.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert browser.evaluate("Array.from(document.querySelectorAll('*'))"
                                ".filter(e => e.hasAttribute('onerror')).length") == 0
    browser.open(hostile_report / "index.html")
    text = browser.evaluate("document.body.innerText")
    assert "<script>alert(1)</script>" in text  # most used ingredients
    assert '"><img src=x onerror=alert(1)>' in text  # accuracy per property
    browser.screenshot(tmp_path / "hostile.png")
    pages = [p.read_text() for p in (hostile_report / "review").glob("*.html")]
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in p for p in pages)
