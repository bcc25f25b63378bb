"""The HTML report as a person sees it: headless Chromium opens report.html in a 1280 x 900
window, and from its layout (the DOM after rendering) and its screenshots these tests check that
the calibration verdict is on the first screen, every table is drawn inside the page with no
column hidden, every chart decoded and drew something, and Chinese rep names arrive intact and
are drawn with real glyphs. Two checks read the chart PNGs themselves: nothing is cut off at a
chart's edge, and no chart label is drawn as empty boxes when a Chinese font is installed.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
messages ending in a NUL byte on file descriptors 3 and 4), so no websocket library is needed.
`make test` installs Chromium and a Chinese font first (`make browser`); without Chromium the
tests skip and say how to get it.
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import leadrouter as lr
from leadrouter.sim import History, synthetic
from leadrouter.sim.analysis import Analysis, analyse
from leadrouter.sim.report import ReportPaths

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium not installed: run `make browser` or apt-get install chromium",
)

WIDTH, HEIGHT = 1280, 900
"""A laptop screen: what "visible without scrolling" means here."""

REP_NAMES = ("王芳", "李娜", "张伟", "rep-4")
CJK = re.compile(r"[\u3400-\u9fff]")
REPLY_SECONDS = 60.0

ON_FDS_3_AND_4 = (
    "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
    "os.execvp(sys.argv[3], sys.argv[3:])"
)
"""Runs a program with the pipe ends given as its fds 3 (what it reads) and 4 (what it writes):
where `--remote-debugging-pipe` expects them."""


class DevTools:
    """A Chromium process and its DevTools pipe: `call` sends one command and returns its
    result; events that arrive meanwhile are kept for `wait_for`."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_browser, self._writer = _pipe_above_4()
        self._reader, from_browser = _pipe_above_4()
        self._log = profile.with_suffix(".log")
        command = [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "about:blank",
        ]
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    ON_FDS_3_AND_4,
                    f"{to_browser}",
                    f"{from_browser}",
                    *command,
                ],
                pass_fds=(to_browser, from_browser),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._last_id = 0
        self._events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read(method)
            if reply.get("id") != self._last_id:
                self._events.append(reply)
                continue
            if "error" in reply:
                pytest.fail(f"Chromium refused {method}: {reply['error']}")
            result: dict[str, Any] = reply["result"]
            return result

    def wait_for(self, event: str, session: str) -> dict[str, Any]:
        while True:
            for index, message in enumerate(self._events):
                if message.get("method") == event and message.get("sessionId") == session:
                    return self._events.pop(index)
            self._events.append(self._read(event))

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.process.wait(timeout=15)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            os.close(self._writer)
            os.close(self._reader)

    def _read(self, waiting_for: str) -> dict[str, Any]:
        deadline = time.monotonic() + REPLY_SECONDS
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready = select.select([self._reader], [], [], max(left, 0.0))[0]
            chunk = os.read(self._reader, 1 << 16) if ready else b""
            if not chunk:
                why = "exited" if ready else f"did not answer within {REPLY_SECONDS:.0f} s"
                pytest.fail(
                    f"Chromium {why} while waiting for {waiting_for}; its log "
                    f"({self._log}) ends with:\n{self._log.read_text(errors='replace')[-2000:]}"
                )
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message


def _pipe_above_4() -> tuple[int, int]:
    """A pipe whose ends are not 3 or 4, so moving them there clobbers neither."""
    ends = []
    for end in os.pipe():
        ends.append(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 5))
        os.close(end)
    return ends[0], ends[1]


class Page:
    """One tab showing a file at WIDTH x HEIGHT, fully loaded (images decoded)."""

    def __init__(self, browser: DevTools, path: Path) -> None:
        self.browser = browser
        target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = browser.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page.enable", "DOM.enable", "CSS.enable"):
            browser.call(domain, self.session)
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            self.session,
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )
        browser.call("Page.navigate", self.session, url=path.resolve().as_uri())
        browser.wait_for("Page.loadEventFired", self.session)
        self.evaluate("Promise.all([...document.images].map((i) => i.decode().catch(() => null)))")

    def evaluate(self, expression: str) -> Any:
        reply = self.browser.call(
            "Runtime.evaluate",
            self.session,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in reply:
            pytest.fail(f"script failed in the page: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self, rect: dict[str, float]) -> Image.Image:
        """What the page shows in `rect` (page coordinates, CSS pixels), scrolled or not."""
        clip = {key: rect[key] for key in ("x", "y", "width", "height")}
        data = self.browser.call(
            "Page.captureScreenshot",
            self.session,
            format="png",
            clip={**clip, "scale": 1},
            captureBeyondViewport=True,
        )["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")

    def text_nodes(self, text: str) -> list[tuple[str, list[dict[str, Any]]]]:
        """(text, fonts Chromium drew it with) for every text node containing `text`."""
        self.browser.call("DOM.getDocument", self.session, depth=-1)
        search = self.browser.call("DOM.performSearch", self.session, query=text)
        if not search["resultCount"]:
            return []
        ids = self.browser.call(
            "DOM.getSearchResults",
            self.session,
            searchId=search["searchId"],
            fromIndex=0,
            toIndex=search["resultCount"],
        )["nodeIds"]
        found = []
        for node_id in ids:
            node = self.browser.call("DOM.describeNode", self.session, nodeId=node_id)["node"]
            if node["nodeType"] == 3 and text in node["nodeValue"]:
                fonts = self.browser.call(
                    "CSS.getPlatformFontsForNode", self.session, nodeId=node_id
                )
                found.append((node["nodeValue"], fonts["fonts"]))
        return found


PLACE = """
const place = (r) => ({x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height});
"""
"""JavaScript: a DOMRect in page coordinates (CSS pixels from the top left of the page)."""

LAYOUT = (
    """(() => {"""
    + PLACE
    + """
  const shown = (el) => {
    const s = getComputedStyle(el);
    return s.display !== "none" && s.visibility === "visible" && Number(s.opacity) > 0;
  };
  const root = document.documentElement;
  return {
    charset: document.characterSet,
    text: document.body.innerText,
    content_width: root.clientWidth,
    page_width: root.scrollWidth,
    tables: [...document.querySelectorAll("table")].map((t) => ({
      caption: t.caption ? t.caption.innerText : t.rows[0].innerText.slice(0, 60),
      rect: place(t.getBoundingClientRect()),
      shown: shown(t),
      rows: t.rows.length,
      hidden_px: t.parentElement.scrollWidth - t.parentElement.clientWidth,
    })),
    images: [...document.images].map((i) => ({
      alt: i.alt,
      complete: i.complete,
      natural: [i.naturalWidth, i.naturalHeight],
      rect: place(i.getBoundingClientRect()),
      shown: shown(i),
    })),
  };
})()"""
)

FIRST_TEXT = (
    """((pattern) => {"""
    + PLACE
    + """
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const match = new RegExp(pattern).exec(node.data);
    if (!match) continue;
    const range = document.createRange();
    range.setStart(node, match.index);
    range.setEnd(node, match.index + match[0].length);
    const r = range.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return {
      text: match[0],
      rect: place(r),
      block: place(node.parentElement.getBoundingClientRect()),
      on_top: hit !== null && (hit === node.parentElement || node.parentElement.contains(hit)),
    };
  }
  return null;
})"""
)


def ink(image: Image.Image) -> float:
    """Share of pixels that differ from the image's most common colour (its background): 0 for
    a blank image, a few percent for a line of text, more for a chart."""
    colours = image.getcolors(maxcolors=image.width * image.height) or []
    background = max(count for count, _ in colours)
    return 1.0 - background / (image.width * image.height)


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def analysis() -> Analysis:
    """Two policies, four seeds, on a 400-lead team where three reps have Chinese names."""
    frame = synthetic(n_leads=400, n_reps=4, days=10, seed=3).to_frame()
    ids = sorted(frame["rep_id"].dropna().unique())
    frame["rep_id"] = frame["rep_id"].map(dict(zip(ids, REP_NAMES, strict=True)))
    history = History(frame, tz="Asia/Shanghai")
    policies = {"rotation": lr.EqualRotation(), "grab": lr.GrabWithCaps(daily=60)}
    return analyse(history, policies, seeds=4, sensitivity_seeds=1)


@pytest.fixture(scope="module")
def report(analysis: Analysis, tmp_path_factory: pytest.TempPathFactory) -> ReportPaths:
    return analysis.write_report(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def page(report: ReportPaths, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    assert CHROMIUM is not None
    browser = DevTools(CHROMIUM, tmp_path_factory.mktemp("chromium") / "profile")
    try:
        yield Page(browser, report.html)
    finally:
        browser.close()


@pytest.fixture(scope="module")
def layout(page: Page) -> dict[str, Any]:
    value: dict[str, Any] = page.evaluate(LAYOUT)
    return value


# ------------------------------------------------------------------------------ tests


def test_the_calibration_verdict_is_on_the_first_screen(page: Page, analysis: Analysis) -> None:
    word = analysis.calibration.verdict.upper()
    assert_on_first_screen(page, r"\b" + word + r"\b", f"the calibration verdict {word}")


def test_the_bottom_line_is_on_the_first_screen(page: Page) -> None:
    assert_on_first_screen(page, "Bottom line", "the bottom line")


def assert_on_first_screen(page: Page, pattern: str, what: str) -> None:
    """The first text matching `pattern`, and the whole element holding it, fit in the first
    WIDTH x HEIGHT screen, nothing covers it and its pixels show text."""
    found = page.evaluate(f"{FIRST_TEXT}({json.dumps(pattern)})")
    assert found is not None, f"the report never states {what} (no text matches {pattern!r})"
    rect, block = found["rect"], found["block"]
    assert rect["width"] > 0 and rect["height"] > 0, f"{what} takes no room on the page"
    assert block["y"] + block["height"] <= HEIGHT, (
        f"{what} ends {block['y'] + block['height']:.0f} px down the page: not all of it is on "
        f"the first {HEIGHT} px screen, so a reader must scroll to read it"
    )
    assert found["on_top"], f"something is drawn over {what}"
    assert ink(page.screenshot(rect)) > 0.05, f"{what} is not drawn (blank pixels)"


def test_every_table_is_drawn_inside_the_page(page: Page, layout: dict[str, Any]) -> None:
    tables = layout["tables"]
    assert len(tables) >= 3, "the report lost its data, calibration and comparison tables"
    assert layout["page_width"] <= layout["content_width"], (
        f"the page is {layout['page_width']} px wide in a {layout['content_width']} px window: "
        "the reader has to scroll sideways"
    )
    for table in tables:
        rect, name = table["rect"], table["caption"]
        assert table["shown"] and table["rows"] >= 1, f"table {name!r} is not shown"
        assert rect["x"] >= 0 and rect["x"] + rect["width"] <= layout["content_width"], (
            f"table {name!r} spills out of the page: {rect}"
        )
        assert table["hidden_px"] == 0, (
            f"table {name!r} hides {table['hidden_px']} px of columns behind a scroll bar "
            f"at {WIDTH} px"
        )
        assert ink(page.screenshot(rect)) > 0.02, f"table {name!r} is blank on screen"


def test_every_chart_loaded_and_drew_something(
    page: Page, layout: dict[str, Any], report: ReportPaths
) -> None:
    images = layout["images"]
    assert len(images) == len(report.charts), (
        f"{len(report.charts)} charts were written but the page has {len(images)} images"
    )
    for image, chart in zip(images, report.charts, strict=True):
        with Image.open(chart) as png:
            size = list(png.size)
        assert image["complete"] and image["natural"] == size, (
            f"{chart.name}: the browser decoded {image['natural']}, the chart is {size} px"
        )
        assert image["alt"], f"{chart.name} has no alt text"
        rect = image["rect"]
        assert image["shown"] and rect["width"] >= 200 and rect["height"] >= 100, (
            f"{chart.name} is drawn {rect['width']:.0f} x {rect['height']:.0f} px"
        )
        assert rect["x"] + rect["width"] <= layout["content_width"], (
            f"{chart.name} spills out of the page: {rect}"
        )
        shot = page.screenshot(rect)
        assert ink(shot) > 0.03 and len(shot.getcolors(1 << 20) or []) > 16, (
            f"{chart.name} is blank on screen"
        )


def test_no_chart_is_cut_at_its_edges(report: ReportPaths) -> None:
    for chart in report.charts:
        with Image.open(chart) as png:
            grey = np.asarray(png.convert("L"))
        edges = {"top": grey[0], "bottom": grey[-1], "left": grey[:, 0], "right": grey[:, -1]}
        for side, pixels in edges.items():
            assert pixels.min() >= 200, f"{chart.name}: something is drawn up to its {side} edge"


def test_chinese_rep_names_arrive_intact(layout: dict[str, Any]) -> None:
    assert layout["charset"] == "UTF-8"
    for name in REP_NAMES:
        assert name in layout["text"], f"rep {name!r} is not on the page as written"


def test_chinese_rep_names_are_drawn_with_a_chinese_font(page: Page) -> None:
    families = _chinese_font_families()
    if not families:
        pytest.skip(
            "no font that draws Chinese is installed, so Chromium shows boxes for 王芳: run "
            "`make browser` (installs fonts-wqy-microhei)"
        )
    for name in filter(CJK.search, REP_NAMES):
        nodes = page.text_nodes(name)
        assert nodes, f"rep {name!r} is in no text on the page"
        for text, fonts in nodes:
            drawn = sum(font["glyphCount"] for font in fonts if font["familyName"] in families)
            wanted = len(CJK.findall(text))
            assert drawn >= wanted, (
                f"{wanted} Chinese characters but {drawn} drawn with a Chinese font "
                f"({[font['familyName'] for font in fonts]}) in {text[:80]!r}"
            )


GLYPHS_IN_CHARTS = """
import json, sys, warnings
import leadrouter as lr
from leadrouter.sim import compare, load_export, write_report

history = load_export(sys.argv[1])
policies = {"rotation": lr.EqualRotation(), "grab": lr.GrabWithCaps(daily=60)}
result = compare(history, policies, seeds=2, calibrate=False)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    write_report(result, history, None, sys.argv[2], anomalies=False)
print(json.dumps(sorted({str(w.message) for w in caught if "missing from font" in str(w.message)})))
"""
"""Writes a report from an export and prints the glyphs matplotlib could not draw in its charts."""


def test_chart_labels_are_drawn_with_real_glyphs_where_a_chinese_font_is_installed(
    analysis: Analysis, tmp_path: Path
) -> None:
    if not _chinese_font_families():
        pytest.skip("no font that draws Chinese is installed: run `make browser`")
    export = analysis.history.to_csv(tmp_path / "export.csv")
    run = subprocess.run(
        [sys.executable, "-c", GLYPHS_IN_CHARTS, str(export), str(tmp_path / "report")],
        env={**os.environ, "MPLCONFIGDIR": str(tmp_path / "matplotlib")},
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode:
        pytest.fail(f"writing the report failed:\n{run.stderr[-3000:]}")
    missing = json.loads(run.stdout.splitlines()[-1])
    assert not missing, f"the charts draw empty boxes: {missing}"


def _chinese_font_families() -> set[str]:
    """Font families fontconfig says cover Chinese (what Chromium falls back to on Linux)."""
    if shutil.which("fc-list") is None:
        return set()
    listing = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    ).stdout
    return {family for line in listing.splitlines() for family in line.split(",") if family}
