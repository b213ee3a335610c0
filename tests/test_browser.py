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
        # record CSP violations from the first moment of every page (DevTools' own script,
        # outside the page's policy)
        self.call("Page.addScriptToEvaluateOnNewDocument", source=(
            "window.__csp = []; document.addEventListener('securitypolicyviolation', "
            "e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"))
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

    def csp_violations(self) -> list[str]:
        return self.evaluate("window.__csp || []")

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
    svgs = browser.evaluate("document.querySelectorAll('svg.figure-svg').length")
    assert images or svgs, f"{file.name} shows no figures"
    broken = [i for i in images if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    assert broken == []
    assert browser.csp_violations() == []


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
        assert browser.evaluate("document.querySelectorAll('script').length") == 1
        assert browser.evaluate("document.scripts[0].textContent.trim()"
                                ".startsWith('// Sortable, filterable tables')")
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


FIGURES = """Array.from(document.querySelectorAll('svg.figure-svg')).map((svg, k) => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {x: r.left, y: r.top, w: r.width, h: r.height}; };
  const marks = Array.from(svg.querySelectorAll('[id^="data-mark"]')).map(box)
      .filter(b => b.w > 0 || b.h > 0);
  const legends = Array.from(svg.querySelectorAll('[id^="legend-box"]')).map(box);
  const overlaps = [];
  for (const l of legends) for (const m of marks) {
    const w = Math.min(l.x + l.w, m.x + m.w) - Math.max(l.x, m.x);
    const h = Math.min(l.y + l.h, m.y + m.h) - Math.max(l.y, m.y);
    if (w > 1 && h > 1) overlaps.push([l, m]);
  }
  const small = Array.from(svg.querySelectorAll('text')).map(t => {
    const m = t.getScreenCTM();
    const size = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
    return {text: t.textContent.slice(0, 30), size: size};
  }).filter(t => t.text.trim() && t.size < 8);
  return {k: k, label: svg.parentElement.getAttribute('aria-label'), marks: marks.length,
          overlaps: overlaps.length, small: small.slice(0, 5)};
})"""

SMALL_HTML_TEXT = """Array.from(document.querySelectorAll('body *:not(svg *)')).filter(e =>
  Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim()) &&
  e.getClientRects().length && parseFloat(getComputedStyle(e).fontSize) < 8
).map(e => e.tagName + ': ' + e.textContent.slice(0, 40))"""


def check_figures(browser: Browser, file: Path) -> int:
    """Every inline figure has a data mark, no legend over a data mark and no text under 8 px
    (sizes as drawn on the page); every raster figure decoded. Returns the figures seen."""
    figures = browser.evaluate(FIGURES)
    empty = [f["label"] for f in figures if f["marks"] < 1]
    assert empty == [], f"{file.name}: figures without a data mark: {empty}"
    covered = [f["label"] for f in figures if f["overlaps"]]
    assert covered == [], f"{file.name}: legends over data marks in {covered}"
    small = [(f["label"], f["small"]) for f in figures if f["small"]]
    assert small == [], f"{file.name}: text under 8 px: {small}"
    assert browser.evaluate(SMALL_HTML_TEXT) == []
    return len(figures) + len(browser.evaluate(IMAGES))


def screenshot_sections(browser: Browser, folder: Path, prefix: str) -> list[Path]:
    """One screenshot per section (and the verdict box), clipped to it."""
    boxes = browser.evaluate("""Array.from(document.querySelectorAll('section[id], aside[id]'))
        .map(s => { const r = s.getBoundingClientRect();
                    return {id: s.id, x: r.left + scrollX, y: r.top + scrollY,
                            w: r.width, h: r.height}; })""")
    shots = []
    for b in boxes:
        file = folder / f"{prefix}-{b['id']}.png"
        data = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                            clip={"x": b["x"], "y": b["y"], "width": b["w"],
                                  "height": min(b["h"], 16000), "scale": 1})["data"]
        file.write_bytes(base64.b64decode(data))
        assert file.stat().st_size > 2_000
        shots.append(file)
    return shots


def test_every_section_and_review_page_is_legible(small_demo, browser, tmp_path):
    index = small_demo / "report" / "index.html"
    check_page(browser, index)
    assert browser.evaluate("document.querySelectorAll('button.sort').length") > 10  # ran
    assert browser.evaluate("document.querySelector('#verdict').getBoundingClientRect().top"
                            " < document.querySelector('#contents')"
                            ".getBoundingClientRect().top")
    hovers = browser.evaluate("document.querySelectorAll('svg.figure-svg title').length")
    assert hovers > 20
    assert check_figures(browser, index) > 10
    shots = screenshot_sections(browser, tmp_path, "report")
    assert {f"report-{s}.png" for s in (*SECTIONS, "verdict")} <= {s.name for s in shots}
    pages = sorted((small_demo / "report" / "review").glob("*.html"))
    assert pages
    for page in pages:
        check_page(browser, page)
        assert check_figures(browser, page) >= 1
        screenshot_sections(browser, tmp_path, page.stem)


def test_the_page_reads_without_scripts(small_demo, browser):
    browser.call("Emulation.setScriptExecutionDisabled", value=True)
    browser.events.clear()  # no timers run without scripts: wait for the load event only
    browser.call("Page.navigate", url=(small_demo / "report" / "index.html").resolve().as_uri())
    browser.wait_for("Page.loadEventFired")
    assert browser.evaluate("document.querySelectorAll('button.sort').length") == 0
    rows = browser.evaluate("document.querySelectorAll('table tbody tr').length")
    assert rows > 50
    assert browser.evaluate("document.querySelectorAll('svg.figure-svg').length") > 10
    assert "fit for use" in browser.evaluate("document.querySelector('#verdict').innerText") \
        or "not fit" in browser.evaluate("document.querySelector('#verdict').innerText")


def test_the_checks_see_a_legend_over_data_and_tiny_text(browser, tmp_path):
    """The figure checks themselves: a legend drawn over the points and 4 pt tick labels are
    caught (so a passing report is legible, not unchecked)."""
    from reports.figures.base import new_figure, to_svg_markup

    fig = new_figure()
    ax = fig.add_subplot()
    ax.scatter([0, 1, 2, 1], [0, 1, 2, 1.2], s=400, label="points")
    ax.legend(loc="center")
    ax.tick_params(labelsize=4)
    page = tmp_path / "bad.html"
    page.write_text(f"<!DOCTYPE html><html><body><div aria-label='bad'>{to_svg_markup(fig)}"
                    "</div></body></html>")
    browser.open(page)
    [figure] = browser.evaluate(FIGURES)
    assert figure["marks"] >= 1 and figure["overlaps"] >= 1 and figure["small"]
