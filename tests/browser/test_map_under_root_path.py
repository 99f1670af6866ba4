"""The web map published under a path of a shared host (https://xxx.gov.cn/geogrid/).

``geogrid serve --root-path /geogrid`` behind a proxy that strips the path (nginx
``location /geogrid/ { proxy_pass http://127.0.0.1:8000/; }``: here a tiny proxy in the
test) or that passes it on (``proxy_pass http://127.0.0.1:8000;``: here the browser asks
the server itself for /geogrid/...).  Before, the map asked for /api/v1 at the host's
root: its log-in found nothing there.  Now a cadre logs in, opens a house and an issue's
photo, and no request of the page leaves /geogrid/.
"""

from __future__ import annotations

import http.client
import io
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from conftest import SECRET, Server, _free_port, new_page, shot
from register import PASSWORD, copy_register
from test_cadre import _click_house, _zoom_to_a_house

ROOT = "/geogrid"
GEOGRID = str(Path(sys.executable).with_name("geogrid"))
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authorization", "proxy-authenticate", "host", "content-length"}


def _stripping_proxy(upstream_port: int) -> ThreadingHTTPServer:
    """nginx's ``location /geogrid/ { proxy_pass http://127.0.0.1:PORT/; }`` in a few
    lines: /geogrid/x is asked of the server as /x; /geogrid is redirected to /geogrid/
    (as nginx does for such a location); anything else is not found."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if self.path.split("?")[0] == ROOT:
                return self._answer(301, [("Location", ROOT + "/")], b"")
            if not self.path.startswith(ROOT + "/"):
                return self._answer(404, [("Content-Type", "text/plain")], b"not under /geogrid/")
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            headers["Host"] = self.headers.get("Host", "")
            conn.request(self.command, self.path[len(ROOT):], body=body, headers=headers)
            res = conn.getresponse()
            data = res.read()
            conn.close()
            self._answer(res.status, [(k, v) for k, v in res.getheaders() if k.lower() not in _HOP], data)

        def _answer(self, status, headers, body):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    proxy.daemon_threads = True
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    return proxy


@pytest.fixture(params=["stripped by the proxy", "passed on by the proxy"])
def sub_path_server(request, register, tmp_path):
    own = copy_register(register, tmp_path / "geogrid.sqlite")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOGRID_")}
    env.update(GEOGRID_DATABASE_URL=own.db_url, GEOGRID_SECRET_KEY=SECRET, GEOGRID_BASEMAP="none",
               GEOGRID_SQLITE_BUSY_TIMEOUT_MS="30000", GEOGRID_DATA_DIR=str(tmp_path / "data"))
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([GEOGRID, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                             "--root-path", ROOT, "--log-level", "warning"],
                            cwd=str(tmp_path), stdout=log, stderr=subprocess.STDOUT, env=env)
    proxy = None
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-3000:]
            time.sleep(0.2)
        if request.param == "stripped by the proxy":
            proxy = _stripping_proxy(port)
            origin = f"http://127.0.0.1:{proxy.server_address[1]}"
        else:
            origin = f"http://127.0.0.1:{port}"
        yield Server(own, origin + ROOT, proc)
    finally:
        if proxy is not None:
            proxy.shutdown()
            proxy.server_close()
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (96, 72), (150, 110, 60)).save(buf, "PNG")
    return buf.getvalue()


def test_the_map_under_a_sub_path_logs_in_and_opens_a_house_and_a_photo(browser, sub_path_server):
    server = sub_path_server
    origin = server.base_url.removesuffix(ROOT)
    ctx, page = new_page(browser, server)  # anything outside /geogrid/ is refused and counted
    page.route(origin + ROOT, lambda route: route.continue_())  # the one URL outside it we visit
    asked: list[str] = []
    page.on("request", lambda req: asked.append(req.url))
    try:
        # /geogrid, without its slash, is redirected to /geogrid/ (else the map's relative
        # URLs would resolve at the host's root)
        page.goto(origin + ROOT)
        assert page.url == origin + ROOT + "/"
        page.fill("#login-username", "cadre")  # conftest.login's steps, without its own goto
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("body:not(.logged-out)")
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)
        house = _zoom_to_a_house(page)
        _click_house(page, house)
        page.wait_for_selector("#residents li")
        shot(page, "root-path-house")

        # an issue with a photo at that house, opened on the map: the photo's URL, as the
        # API gives it, is under /geogrid/ too
        with server.api("cadre") as api:
            lon, lat = api.get(f"/households/{house}").json()["geometry"]["coordinates"]
            r = api.post("/issues", json={"category": "sanitation", "lon": lon, "lat": lat,
                                          "description": "子路径测试（浏览器测试）"})
            assert r.status_code == 201, r.text
            issue_id = r.json()["id"]
            r = api.post(f"/issues/{issue_id}/photos", data={"kind": "report"},
                         files={"file": ("photo.png", _png(), "image/png")})
            assert r.status_code == 201, r.text
            assert r.json()["thumbnail_url"].startswith(f"{ROOT}/api/v1/issues/{issue_id}/photos/")
        page.evaluate("(id) => geogrid.issuePanel.openIssue(id)", issue_id)
        page.wait_for_selector("#issue-photos figure[data-kind='report'] img[src^='blob:']", timeout=20_000)
        shot(page, "root-path-issue-photo")
        problems = list(page.log.problems)
    finally:
        ctx.close()
    outside = [u for u in asked if u.startswith(origin) and not u.startswith(origin + ROOT + "/")
               and u != origin + ROOT]
    assert outside == [], outside
    assert any(u.startswith(f"{origin}{ROOT}/api/v1/auth/token") for u in asked), asked
    assert any("/photos/" in u for u in asked), asked
    assert problems == [], "the page had errors:\n" + "\n".join(problems)
