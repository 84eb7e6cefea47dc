"""Browser tests: the real server as a subprocess, driven by Debian's Chromium via Playwright.

The server gets its own data folder (SQLite) and a free port on 127.0.0.1. Chromium is the
system one (``/usr/bin/chromium``, no ``playwright install``); axe-core comes from npm
(``node_modules/axe-core/axe.min.js``). Without either the tests skip themselves, unless
``CI=true``: then they fail, so CI never passes by skipping them.

These tests run on SQLite only; the PostgreSQL pass runs ``-m "not browser"``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Served by the test browser itself (a Playwright route) under the site's own origin, so the
# page's Content-Security-Policy (script-src 'self') stays on while axe runs.
AXE_PATH = "/__browser-test__/axe.min.js"
START_TIMEOUT = 30.0

SERVER_LOG = pytest.StashKey[Path]()


def require(ok: bool, reason: str) -> None:
    """Skip when a tool is missing; with CI=true, fail instead."""
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests may not skip)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:  # noqa: S310
            return answer.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _tail(path: Path, lines: int = 80) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Server:
    url: str
    log: Path
    process: subprocess.Popen = field(repr=False)


@pytest.fixture(scope="session")
def tools() -> None:
    """Chromium and axe-core are both needed; say which one is missing and how to get it."""
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    require(
        AXE_JS.exists(),
        f"{AXE_JS.relative_to(ROOT)} is missing "
        "(npm install --no-audit --no-fund --no-save --prefix . axe-core@4)",
    )


@pytest.fixture(scope="module")
def server(tools: None, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """The real app: ``fediverse_intranet.cli migrate`` then ``serve`` on a free port.

    One fresh instance per test module, so each journey starts from an empty database.
    """
    home = tmp_path_factory.mktemp("browser-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("FI_")  # never a developer's own database or secret key
    }
    env.update(
        FI_DATA_DIR=str(home / "data"),
        FI_BASE_URL=url,
        FI_BIND_HOST="127.0.0.1",
        FI_PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    env.update(getattr(request.module, "SERVER_ENV", {}))  # a module's own settings
    log = home / "server.log"
    request.config.stash[SERVER_LOG] = log
    command = [sys.executable, "-m", "fediverse_intranet.cli"]
    with log.open("wb") as out:
        migrated = subprocess.run(
            [*command, "migrate"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=START_TIMEOUT,
        )
    if migrated.returncode != 0:
        pytest.fail(f"migrate failed ({migrated.returncode}):\n{_tail(log)}", pytrace=False)

    out = log.open("ab")
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(
                    f"the server stopped ({process.returncode}) before answering:\n{_tail(log)}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no answer on {url}/healthz:\n{_tail(log)}", pytrace=False)
            time.sleep(0.1)
        yield Server(url, log, process)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        out.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failing browser test shows the end of the server's log under its report."""
    report = yield
    log = item.config.stash.get(SERVER_LOG, None)
    if report.failed and log is not None and "server" in getattr(item, "fixturenames", ()):
        report.sections.append(("server log (last lines)", _tail(log)))
    return report


@pytest.fixture(scope="module")
def chromium(tools: None) -> Iterator:
    """Debian's Chromium through Playwright's sync API (plain ``def`` tests only).

    Module-scoped on purpose: while the sync API runs, its event loop counts as the running
    loop of this thread, and pytest-asyncio could not start the loops of the async tests
    that are collected after tests/browser. So it stops at the end of each browser module.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(chromium, server: Server) -> Iterator[Callable]:
    """Opens browser contexts (one per person: own cookies) that close after the test.

    Every page in them records Content-Security-Policy violations and script errors in
    ``context.problems``, so a test can assert the pages ran clean.
    """
    opened = []

    def open_context(**options):
        options.setdefault("viewport", DESKTOP)
        options.setdefault("locale", "en-GB")
        context = chromium.new_context(base_url=server.url, **options)
        context.set_default_timeout(10_000)
        context.problems = []
        context.route(
            f"{server.url}{AXE_PATH}",
            lambda route: route.fulfill(path=AXE_JS, content_type="text/javascript"),
        )

        def watch(page) -> None:
            def on_console(message) -> None:
                if message.type == "error":
                    context.problems.append(f"{page.url}: console: {message.text}")

            page.on("console", on_console)
            page.on("pageerror", lambda error: context.problems.append(f"{page.url}: {error}"))

        context.on("page", watch)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


def _describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f"\n  {violation['helpUrl']}"
        )
        for node in violation["nodes"][:10]:
            target = " ".join(str(part) for part in node["target"])
            lines.append(f"    at {target}")
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            if summary:
                lines.append(f"       {summary[:300]}")
    return "\n".join(lines)


class Accessibility:
    """Checks pages with axe-core (WCAG 2.0/2.1, levels A and AA) as a journey goes along.

    ``check(page, name)`` records every serious or critical violation (and, with
    ``phone=True``, checks again at 375x740, where the page must not scroll sideways);
    ``assert_clean()`` at the end fails with all of them at once, naming rule, impact, help
    and the target selectors, so one run shows everything there is to fix.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self.checked: list[str] = []
        self.problems: list[str] = []
        self.minor: dict[str, int] = {}  # moderate/minor rule ids: reported, not failed
        self.seconds = 0.0

    def _axe(self, page, where: str) -> None:
        started = time.monotonic()
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(url=f"{self.server.url}{AXE_PATH}")
        # resultTypes only trims the details of passes; every violation is still reported.
        result = page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: tags, resultTypes: ['violations']})",
            AXE_TAGS,
        )
        found = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        self.seconds += time.monotonic() - started
        self.checked.append(where)
        for violation in result["violations"]:
            if violation["impact"] not in ("serious", "critical"):
                key = f"{violation['id']} ({violation['impact']})"
                self.minor[key] = self.minor.get(key, 0) + 1
        if found:
            self.problems.append(f"{where}:\n{_describe(found)}")

    def check(self, page, name: str, phone: bool = False) -> None:
        # Secret links (invitations, resets) stay out of reports.
        path = re.sub(r"/(invite|reset)/[^/?#]+", r"/\1/…", page.url.removeprefix(self.server.url))
        self._axe(page, f"{name} ({path}) at {page.viewport_size['width']}px")
        if not phone:
            return
        before = page.viewport_size
        page.set_viewport_size(PHONE)
        try:
            self._axe(page, f"{name} ({path}) at {PHONE['width']}px")
            scroll_width, inner_width = page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]"
            )
            if scroll_width > inner_width:
                wide = page.evaluate(TOO_WIDE_JS)
                self.problems.append(
                    f"{name} ({path}) scrolls sideways at {PHONE['width']}px: scrollWidth "
                    f"{scroll_width} > innerWidth {inner_width}; too wide: {', '.join(wide)}"
                )
        finally:
            page.set_viewport_size(before)

    def assert_clean(self) -> None:
        print(
            f"axe-core checked {len(self.checked)} page views in {self.seconds:.1f}s: "
            + "; ".join(self.checked)
        )
        if self.minor:
            print(f"moderate/minor findings (not failing): {self.minor}")
        if self.problems:
            pytest.fail(
                "Accessibility problems (axe-core, serious/critical; phone width):\n"
                + "\n".join(self.problems),
                pytrace=False,
            )


TOO_WIDE_JS = """() => [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 8)
    .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + (typeof el.className === 'string' && el.className.trim()
            ? '.' + el.className.trim().split(/\\s+/).join('.') : ''))"""


@pytest.fixture
def a11y(server: Server) -> Accessibility:
    return Accessibility(server)


ADMIN_PASSWORD = "alice-correct-horse"


def insert_remote_person(db, uri: str, name: str, moment: str) -> int:
    """A person of another server in the served instance's database (``sqlite3``), as
    ``services.remote_actors`` stores one; their actor id."""
    username, domain = uri.rpartition("/")[2], uri.split("/")[2]
    db.execute(
        "INSERT INTO actor (username, domain, uri, display_name, bio, job_title, team,"
        " location, contact, photo, presence, presence_note, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, '', '', '', '', '', '', '', '', ?, ?)",
        (username, domain, uri, name, moment, moment),
    )
    return db.execute("SELECT id FROM actor WHERE uri = ?", (uri,)).fetchone()[0]


def first_administrator(page, server: Server) -> None:
    """Set up a fresh instance in the browser as Alice, its first administrator."""
    from playwright.sync_api import expect

    page.goto("/")
    page.get_by_label("Your name").fill("Alice de Vries")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Email address").fill("alice@gemeente-x.nl")
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Password again", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page).to_have_url(f"{server.url}/settings/profile?welcome=1")
