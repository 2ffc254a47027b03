"""The HTML book: every page built from the smoke execution, and read in a real browser.

The build reuses the session's smoke execution (``conftest.SmokeBook``): every chapter of
the toc executed with papermill, then ``jupyter-book build`` on the executed copies. The
browser test opens every page in Debian's headless Chromium through selenium, served from
localhost, and checks that every ``<img>`` decoded (``naturalWidth > 0``), math was
typeset by the MathJax copy in ``_static`` (no CDN), nothing was fetched from another host,
and the console logged no errors.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import BOOK, SmokeBook

from helpers.book import BUILT_WITH, load_chapters

CHROMIUM = Path(os.environ.get("SR_BOOK_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("SR_BOOK_CHROMEDRIVER", "/usr/bin/chromedriver"))
INSTALL = "apt-get install -y chromium chromium-driver"
#: Flags Chromium needs as root on a machine with a closed network.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1600",
)


def _pages() -> list[str]:
    return [c.name for c in load_chapters(BOOK)] + [BUILT_WITH]


@pytest.fixture(scope="module")
def html_dir(smoke_book: SmokeBook) -> Path:
    """The built HTML folder (executes the book at smoke first when needed)."""
    return smoke_book.html().parent


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_every_chapter_page_is_built(html_dir: Path, smoke_book: SmokeBook) -> None:
    assert (html_dir / "index.html").is_file()
    for chapter in load_chapters(BOOK):
        page = html_dir / f"{chapter.name}.html"
        assert page.is_file(), f"missing page {page.name}"
        assert chapter.title in page.read_text(), f"{page.name} lacks its title {chapter.title!r}"
    built_with = (html_dir / f"{BUILT_WITH}.html").read_text()
    assert "How this book was built" in built_with
    for name in smoke_book.chapters:
        record = smoke_book.execute(name)
        assert record["title"] in built_with
    assert "smoke" in built_with


@pytest.mark.slow
def test_no_cdn_in_html(html_dir: Path) -> None:
    """Scripts, styles and fonts all come from the build: MathJax is in _static."""
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file()
    remote = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"')
    for page in html_dir.glob("*.html"):
        found = remote.findall(page.read_text())
        assert not found, f"{page.name} loads remote resources: {found}"


def test_pages_show_no_progress_bars_or_tqdm_warnings(html_dir: Path) -> None:
    """Kernel progress goes to the terminal and the log, never to the published page."""
    bar = re.compile(r"\d+%\|[^|<]*\|\s*\d+/\d+|TqdmWarning|IProgress not found")
    for page in html_dir.glob("*.html"):
        found = bar.findall(page.read_text())
        assert not found, f"{page.name} shows progress output: {found[:3]}"


# ------------------------------------------------------------------------ browser


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def served(html_dir: Path) -> Iterator[str]:
    """The HTML served on an ephemeral localhost port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Headless Debian Chromium driven by selenium (skipped when it is not installed)."""
    if not CHROMIUM.is_file() or not CHROMEDRIVER.is_file():
        pytest.skip(
            f"Chromium/ChromeDriver not found at {CHROMIUM} and {CHROMEDRIVER}; "
            f"install them with: {INSTALL}"
        )
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium manager: download nothing
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


_WAIT_MATHJAX = """
const done = arguments[arguments.length - 1];
const mj = window.MathJax;
if (mj && mj.startup && mj.startup.promise) {
  mj.startup.promise.then(() => done('ok'), (e) => done('error: ' + e));
} else { done('absent'); }
"""

_IMAGES = """
return Array.from(document.images).map(
  (img) => ({src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth}));
"""


def _settle(driver, name: str, timeout: float = 20.0) -> str:
    """Wait until the page is the one that stays (``index.html`` is a meta-refresh redirect
    to the first chapter) and fully loaded, then for MathJax where the page has math (its
    script loads asynchronously); returns ``_WAIT_MATHJAX``'s answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        redirecting = name == "index" and driver.current_url.endswith("/index.html")
        if not redirecting and driver.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.1)
    while True:
        state = driver.execute_async_script(_WAIT_MATHJAX)
        has_math = driver.execute_script("return document.querySelectorAll('.math').length")
        if state != "absent" or not has_math or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(900)
def test_pages_render_in_chromium(
    chromium: object, served: str, html_dir: Path, smoke_book: SmokeBook
) -> None:
    driver = chromium
    shots = smoke_book.book.build_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    figures = 0
    for name in ["index", *_pages()]:
        url = f"{served}/{name}.html"
        driver.get(url)
        mathjax = _settle(driver, name)
        assert mathjax in ("ok", "absent"), f"{name}: MathJax failed: {mathjax}"
        deadline = time.monotonic() + 30
        images = driver.execute_script(_IMAGES)
        while any(not i["complete"] for i in images) and time.monotonic() < deadline:
            time.sleep(0.2)
            images = driver.execute_script(_IMAGES)
        broken = [i["src"] for i in images if not i["complete"] or i["width"] == 0]
        assert not broken, f"{name}: images that did not decode: {broken}"
        if name != "index":
            figures += len(images)

        math = driver.execute_script("return document.querySelectorAll('.math').length")
        typeset = driver.execute_script("return document.querySelectorAll('mjx-container').length")
        errors = driver.execute_script("return document.querySelectorAll('mjx-merror').length")
        if math:
            assert mathjax == "ok" and typeset > 0, f"{name}: math present but not typeset"
        assert errors == 0, f"{name}: MathJax reported {errors} errors"

        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map((e) => e.name)"
        )
        remote = [r for r in resources if not r.startswith((served, "data:", "blob:"))]
        assert not remote, f"{name}: fetched from other hosts: {remote}"

        logs = driver.get_log("browser")
        severe = [entry["message"] for entry in logs if entry["level"] == "SEVERE"]
        assert not severe, f"{name}: console errors: {severe}"
        driver.save_screenshot(str(shots / f"{name}.png"))
    assert figures > 0, "no figure on any chapter page"
