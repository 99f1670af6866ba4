"""Fixtures for the browser tests: a register in SpatiaLite, a live server, Chromium.

- ``register``: one database per test session, built from data/sample/ (or a generated
  one-town slice when it is missing) through geogrid's own import and partition code;
- ``server``: ``geogrid.api.create_app`` under uvicorn on 127.0.0.1 and a free port, in
  a subprocess, on a per-test *copy* of that database (so edits never leak);
- ``browser``: Debian's Chromium through Playwright (never a downloaded browser);
- ``page``: a fresh page that records console errors, page errors, failed requests and
  responses >= 400; at teardown the test fails if any were not declared expected with
  ``page.expect_http(status, url_part)``.

Screenshots go to ``test-artifacts/screenshots/`` (``shot(page, name)``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import register as reg_mod  # noqa: E402

CHROMIUM = os.environ.get("GEOGRID_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = reg_mod.REPO / "test-artifacts" / "screenshots"
SECRET = "browser-tests-secret-0123456789abcdef-not-for-production"


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture(scope="session")
def register(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser-register")
    sample = reg_mod.sample_files(base / "sample")
    if sample != reg_mod.SAMPLE_DIR:
        # data/sample/ is not committed yet: one town of the sample county.
        from geogrid.sample.geography import TOWNS

        sample = reg_mod.sample_files(base / "sample", towns=[TOWNS[1][0]])
    return reg_mod.build_register(base / "register.sqlite", sample)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SERVER = """
import sys, uvicorn
from geogrid.api import create_app
from geogrid.settings import Settings
settings = Settings(database_url=sys.argv[1], secret_key=sys.argv[2], demo=False,
                    basemap="none", sqlite_busy_timeout_ms=30000, data_dir=sys.argv[4])
app = create_app(settings)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_level="warning")
"""


class Server:
    def __init__(self, register, base_url, proc):
        self.register = register
        self.base_url = base_url
        self.proc = proc

    def token(self, username: str) -> str:
        import httpx

        r = httpx.post(f"{self.base_url}/api/v1/auth/token",
                       data={"username": username, "password": reg_mod.PASSWORD})
        r.raise_for_status()
        return r.json()["access_token"]

    def user_id(self, username: str) -> str:
        """The user's id: the ``sub`` claim of their token."""
        import base64
        import json

        part = self.token(username).split(".")[1]
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["sub"]

    def api(self, username: str):
        import httpx

        return httpx.Client(base_url=f"{self.base_url}/api/v1",
                            headers={"Authorization": f"Bearer {self.token(username)}"}, timeout=30)


def start_server(register, log_path: Path) -> Server:
    port = _free_port()
    log = open(log_path, "w")
    data_dir = log_path.parent / "data"  # issue photos: never under the repository's var/
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, register.db_url, SECRET, str(port),
                             str(data_dir)],
                            cwd=str(reg_mod.REPO), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited: {log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError(f"the server did not start in 60 s: {log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    return Server(register, base, proc)


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture
def server(register, tmp_path):
    own = reg_mod.copy_register(register, tmp_path / "geogrid.sqlite")
    srv = start_server(own, tmp_path / "server.log")
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make test does this)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class PageLog:
    """Console errors, page errors, failed requests and HTTP errors seen by a page."""

    def __init__(self):
        self.problems: list[str] = []
        self.expected: list[tuple[int, str]] = []

    def expect_http(self, status: int, url_part: str) -> None:
        self.expected.append((status, url_part))

    def _is_expected(self, status: int, url: str) -> bool:
        return any(s == status and part in url for s, part in self.expected)

    def on_console(self, msg):
        if msg.type != "error":
            return
        # Chromium logs every HTTP error response as a console error too; those are
        # judged by on_response (expected or not), not twice.
        if msg.text.startswith("Failed to load resource: the server responded with a status"):
            return
        self.problems.append(f"console error: {msg.text}")

    def on_response(self, res):
        if res.status >= 400 and not self._is_expected(res.status, res.url):
            self.problems.append(f"HTTP {res.status} {res.request.method} {res.url}")

    def on_failed(self, req):
        self.problems.append(f"request failed: {req.method} {req.url} ({req.failure})")


def polled_without_eval(expression: str) -> str:
    """``expression`` (of ``page.wait_for_function``) as a function Playwright compiles once.

    Playwright polls an expression that is not a function by calling ``eval`` on it in
    the page at every poll, which the web map's Content-Security-Policy refuses
    (``script-src 'self'``, no ``'unsafe-eval'``: geogrid/api/securityheaders.py), so a
    wait that polled more than once failed; a function it compiles once, as DevTools
    may under a CSP, and calls at each poll.  A function given stays one: it is called
    with the ``arg`` passed."""
    body = expression.strip().rstrip(";")
    return (f"(__pwArg) => {{ const __pwValue = (\n{body}\n);\n"
            "return typeof __pwValue === 'function' ? __pwValue(__pwArg) : __pwValue; }")


def new_page(browser, server, *, viewport=(1440, 900)):
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN")
    log = PageLog()
    # No internet: anything that is not our server is refused and counted as a problem, so
    # a page that reaches for a CDN, a web font or a tile host fails its test even on a
    # machine that is online.  (A test that picks an online basemap serves its tiles with
    # ``page.serve_offsite(url_glob, body)``.)
    local = re.compile(r"^(?!" + re.escape(server.base_url) + r"/|data:|blob:|about:)")

    def refuse(route):
        log.problems.append(f"off-line page asked the internet: {route.request.method} {route.request.url}")
        route.abort("internetdisconnected")

    ctx.route(local, refuse)
    page = ctx.new_page()
    _wait_for_function = page.wait_for_function
    page.wait_for_function = lambda expression, *args, **kwargs: _wait_for_function(
        polled_without_eval(expression), *args, **kwargs)
    page.on("console", log.on_console)
    page.on("pageerror", lambda e: log.problems.append(f"page error: {e}"))
    page.on("response", log.on_response)
    page.on("requestfailed", log.on_failed)
    page.log = log
    page.expect_http = log.expect_http
    page.base_url = server.base_url

    def serve_offsite(url_glob: str, body: bytes, content_type: str = "image/png") -> None:
        # Routes registered later win, so this answers before `refuse` sees the request.
        page.route(url_glob, lambda route: route.fulfill(status=200, body=body, content_type=content_type))

    page.serve_offsite = serve_offsite
    return ctx, page


#: a phone's screen, as cadres use the map in the villages
PHONE = (390, 844)


def _checked_page(browser, server, viewport):
    """A page that fails its test, once done, for any problem its log counted."""
    ctx, page = new_page(browser, server, viewport=viewport)
    yield page
    problems = list(page.log.problems)
    ctx.close()
    assert not problems, "the page had errors:\n" + "\n".join(problems)


@pytest.fixture
def page(browser, server):
    yield from _checked_page(browser, server, (1440, 900))


@pytest.fixture
def phone(browser, server):
    """:func:`page` on a phone's screen (:data:`PHONE`)."""
    yield from _checked_page(browser, server, PHONE)


def set_language(page, lang: str) -> None:
    """Open the map in ``lang`` ("zh" or "en") from its first load on, as a user who
    chose it before.  Set before any navigation: a first load only to write the choice,
    followed by login's, aborts that load's requests (net::ERR_ABORTED, a problem the
    page fixtures count), which made such tests fail now and then."""
    page.add_init_script(f"localStorage.setItem('geogrid.lang', {lang!r})")


def login(page, username: str, password: str = reg_mod.PASSWORD) -> None:
    page.goto(page.base_url + "/")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_selector("body:not(.logged-out)")
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)
