"""A database unavailable or busy (503) is worded in the map's language from the API's
message key (database.unavailable), not as a bare 'server error (503)'. The body is the
one the API's error handler gives for a lost database."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from conftest import login, new_page, set_language

_MESSAGE = """async (path) => {
  const api = await import('/js/api.js');
  const { errorMessage } = await import('/js/dialog.js');
  try { await api.get(path); return 'no error'; } catch (e) { return errorMessage(e); }
}"""


def _unavailable_body() -> bytes:
    from sqlalchemy import exc as sa_exc
    from starlette.requests import Request

    from geogrid.api.errors import _handle

    request = Request({"type": "http", "method": "GET", "path": "/api/v1/issues/stats", "headers": [],
                       "query_string": b""})
    lost = sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    # in a thread of its own: Playwright's sync API runs an event loop in this one
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _handle(request, lost)).result().body


def test_a_lost_database_is_worded_in_the_maps_language(browser, server):
    body = _unavailable_body()
    for lang, words in (("zh", "数据库暂时无法使用或繁忙，请稍后再试。"),
                        ("en", "The database is unavailable or busy; try again shortly.")):
        ctx, page = new_page(browser, server)
        try:
            set_language(page, lang)
            login(page, "cadre")
            page.expect_http(503, "/api/v1/issues/stats")
            page.route("**/api/v1/issues/stats*", lambda route: route.fulfill(
                status=503, content_type="application/json", body=body, headers={"Retry-After": "5"}))
            assert page.evaluate(_MESSAGE, "issues/stats") == words
            assert not page.log.problems, page.log.problems
        finally:
            ctx.close()
