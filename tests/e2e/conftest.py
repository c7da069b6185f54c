"""Real-browser fixtures: the app under ``streamlit run`` and Debian's Chromium driven by Playwright.

Fixtures (every e2e test is marked ``slow`` and ``e2e``: ``-m "not e2e"`` leaves them out):

``start_app(**env) -> AppServer``
    Starts ``streamlit run app.py`` on a free loopback port with an environment of its own (a fresh SQLite
    file, ``LLM_MODE=fake``, ``PUBLIC_BASE_URL`` = its own address, none of the developer's model or
    database variables, no secrets file). Keyword arguments add or override variables; ``None`` removes
    one. Stopped (its process group) after the test.
``app_server -> AppServer``
    ``start_app()`` with the defaults. An :class:`AppServer` has ``base_url``, ``port``, ``database_url``,
    ``data_dir``, ``env`` (the whole environment it runs with), ``log()`` and ``cli(*args, check=True)``
    (``python cli.py ARGS`` with that environment, so on the same database).
``make_page(phone=False) -> Page``
    A fresh browser context and page (1280x900, or 390x844 with touch when ``phone``).
``page -> Page``
    ``make_page()``.
``shot(name, page=None, *, allow_exception=False) -> Path``
    Waits until Streamlit is idle (see :func:`wait_idle`), then saves a full-page screenshot as
    ``artifacts/e2e/<test name>/<nn>-<name>.png`` (of the last page made when ``page`` is not given).

Test modules import ``Page`` and ``expect`` from here (not from playwright) so that a missing package
fails each test with the fix instead of stopping the whole run at collection.

Helpers: :func:`wait_idle` (Streamlit finished its script run; raises :class:`PageShowsException` when the
page shows an exception), :func:`sign_in` (a facilitator account, signed in through the sign-in page) and
:func:`horizontal_overflow`.

Chromium and Playwright are installed by ``scripts/setup.sh --dev``; when they are missing these tests fail
(never skip) and say so. ``playwright install`` is never needed: the Debian browser is used.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

try:  # re-exported for the tests: ``from tests.e2e.conftest import Page, expect``
    from playwright.sync_api import Browser, Locator, Page, Playwright, expect
except ImportError as exc:  # collection still works; every browser fixture fails with the fix
    PLAYWRIGHT_MISSING: ImportError | None = exc
    Browser = Locator = Page = Playwright = Any  # type: ignore[misc,assignment]
    expect = None  # type: ignore[assignment]
else:
    PLAYWRIGHT_MISSING = None
    expect.set_options(timeout=15_000)  # a slow CI machine still passes; a real miss fails in 15 s

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
INSTALL_HINT = "run scripts/setup.sh --dev (it installs Debian's chromium and the playwright package)"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
START_TIMEOUT_S = 60
IDLE_TIMEOUT_MS = 30_000

# Variables the app reads (settings.py) that must never leak in from the developer's shell.
_SCRUBBED_PREFIXES = ("LLM_", "OPENAI_", "LOCAL_MODEL", "PROMPT_STYLE", "STREAMLIT_")
_SCRUBBED = {
    "DATABASE_URL",
    "DATA_DIR",
    "DB_POOL_SIZE",
    "EMBEDDING_MODEL",
    "FACILITATOR_PASSWORD",
    "PUBLIC_BASE_URL",
    "PARTICIPANT_TOKEN_BUDGET",
    "SESSION_SECRET",
    "SESSION_HOURS",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is ``slow`` and ``e2e``, whether or not its module says so."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.e2e)


class PageShowsException(AssertionError):
    """The page shows a Streamlit exception box (raised by :func:`wait_idle`)."""


# ---------------------------------------------------------------------------------------------- the app


@dataclass
class AppServer:
    """One running ``streamlit run app.py`` process and the environment it runs with."""

    base_url: str
    port: int
    database_url: str
    data_dir: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")

    def cli(
        self, *args: str, check: bool = True, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python cli.py ARGS`` with the app's environment (same database and settings)."""
        result = subprocess.run(
            [sys.executable, "cli.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"cli.py {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}",
                pytrace=False,
            )
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _app_env(tmp: Path, port: int, overrides: dict[str, str | None]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED and not k.startswith(_SCRUBBED_PREFIXES)}
    env.update(
        {
            "DATA_DIR": str(tmp / "data"),
            "DATABASE_URL": f"sqlite:///{tmp / 'data' / 'e2e.sqlite3'}",
            "LLM_MODE": "fake",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def _launch(tmp: Path, overrides: dict[str, str | None]) -> AppServer:
    port = _free_port()
    env = _app_env(tmp, port, overrides)
    secrets = tmp / "secrets.toml"  # an empty secrets file: no real .streamlit/secrets.toml leaks in
    secrets.write_text("")
    log_path = tmp / f"streamlit-{port}.log"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--secrets.files",
        str(secrets),
        "--client.showErrorDetails",
        "full",  # production hides error details; tests want them on the page and in the failure
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = AppServer(
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        database_url=env.get("DATABASE_URL", ""),
        data_dir=Path(env.get("DATA_DIR", tmp / "data")),
        env=env,
        log_path=log_path,
        process=process,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _healthy(server.base_url):
            return server
        time.sleep(0.25)
    server.stop()
    raise RuntimeError(
        f"The app did not answer {server.base_url}/_stcore/health within {START_TIMEOUT_S} s "
        f"(exit code {process.returncode}). Its log:\n{server.log()}"
    )


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[..., AppServer]]:
    """Factory: ``start_app(FACILITATOR_PASSWORD="x")`` starts an app with those variables on top."""
    servers: list[AppServer] = []

    def start(**env: str | None) -> AppServer:
        tmp = tmp_path / f"app{len(servers)}"
        tmp.mkdir()
        for attempt in range(3):  # a free port can be taken between choosing it and binding it
            try:
                server = _launch(tmp, env)
                break
            except RuntimeError as exc:
                if attempt == 2 or "already in use" not in str(exc):
                    pytest.fail(str(exc), pytrace=False)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def app_server(start_app: Callable[..., AppServer]) -> AppServer:
    return start_app()


# ------------------------------------------------------------------------------------------ the browser


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if PLAYWRIGHT_MISSING is not None:
        pytest.fail(f"BROWSER TESTS CANNOT RUN: {PLAYWRIGHT_MISSING}; {INSTALL_HINT}.", pytrace=False)
    from playwright.sync_api import sync_playwright

    runner = sync_playwright().start()
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"BROWSER TESTS CANNOT RUN: {CHROMIUM} is missing; {INSTALL_HINT}.", pytrace=False)
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class _Pages:
    made: list[Page] = field(default_factory=list)


@pytest.fixture
def _pages(browser: Browser) -> Iterator[_Pages]:
    pages = _Pages()
    yield pages
    for page in pages.made:
        page.context.close()


@pytest.fixture
def make_page(browser: Browser, _pages: _Pages) -> Callable[..., Page]:
    """Factory: ``make_page(phone=True)`` opens a new context (own cookies and storage) and page."""

    def make(*, phone: bool = False) -> Page:
        options: dict[str, Any] = {"viewport": PHONE if phone else DESKTOP}
        if phone:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        context = browser.new_context(**options)
        context.set_default_timeout(IDLE_TIMEOUT_MS)
        page = context.new_page()
        _pages.made.append(page)
        return page

    return make


@pytest.fixture
def page(make_page: Callable[..., Page]) -> Page:
    return make_page()


@pytest.fixture
def shot(request: pytest.FixtureRequest, _pages: _Pages) -> Callable[..., Path]:
    """``shot("signed-in")`` saves artifacts/e2e/<test>/<nn>-signed-in.png once Streamlit is idle."""
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    shutil.rmtree(folder, ignore_errors=True)  # only this run's screenshots
    folder.mkdir(parents=True)
    count = 0

    def take(name: str, page: Page | None = None, *, allow_exception: bool = False) -> Path:
        nonlocal count
        target = page or (_pages.made[-1] if _pages.made else None)
        if target is None:
            raise ValueError("shot() needs a page: make one first (the page or make_page fixture)")
        wait_idle(target, allow_exception=allow_exception)
        count += 1
        path = folder / f"{count:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        _full_page_screenshot(target, path)
        return path

    return take


# ------------------------------------------------------------------------------------------- helpers


def wait_idle(page: Page, *, timeout_ms: int = IDLE_TIMEOUT_MS, allow_exception: bool = False) -> None:
    """Wait until Streamlit is connected and its script run is over (no status widget), then raise
    :class:`PageShowsException` when the page shows an exception (unless ``allow_exception``)."""
    page.wait_for_timeout(150)  # let a rerun that a click just asked for begin
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_ms
    )
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=timeout_ms)
    page.wait_for_timeout(100)  # the last deltas of the run reach the DOM
    if not allow_exception:
        errors = page.locator('[data-testid="stException"]')
        if errors.count():
            raise PageShowsException(f"The page shows an exception:\n{errors.first.inner_text()}")


def sign_in(page: Page, app: AppServer, name: str, password: str, *, create: bool = True) -> None:
    """Sign in to the console as ``name`` through the sign-in page (creating the account first with
    ``cli.py facilitator add`` when ``create``), and wait for the console's first page."""
    if create:
        app.cli("facilitator", "add", name, "--password-stdin", stdin=f"{password}\n")
    page.goto(f"{app.base_url}/facilitator_login")
    settled(page, page.get_by_role("button", name="Sign in", exact=True))
    page.get_by_label("Account name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    settled(page, page.get_by_test_id("stSidebar").get_by_role("button", name="Sign out"))


def settled(page: Page, locator: Locator) -> None:
    """Wait until ``locator`` is visible and the script run that drew it is over.

    Seeing a new run's first element does not mean its later widgets are on screen: until that run ends,
    the previous run's form can still be there (stale), and a click on it is lost, as it would be for a
    person clicking that fast. Use this before interacting with what a rerun draws.
    """
    expect(locator).to_be_visible()
    wait_idle(page)


def horizontal_overflow(page: Page) -> dict[str, int]:
    """Widths that show whether anything scrolls sideways: the document and Streamlit's main area."""
    return page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]') || document.documentElement;
            return {
                viewport: window.innerWidth,
                document: document.documentElement.scrollWidth,
                main: main.scrollWidth,
                mainClient: main.clientWidth,
            };
        }"""
    )


def _full_page_screenshot(page: Page, path: Path) -> None:
    """Streamlit scrolls inside its main area, not the document: grow the viewport to the content's
    height for the shot, then put it back."""
    viewport = page.viewport_size or DESKTOP
    height = page.evaluate(
        """() => Math.max(document.documentElement.scrollHeight,
            ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebarContent"], '
                + '[data-testid="stAppScrollToBottomContainer"]')]
                .map(e => e.scrollHeight))"""
    )
    if height > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": min(int(height), 10_000)})
        page.wait_for_timeout(200)
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if height > viewport["height"]:
            page.set_viewport_size(viewport)
