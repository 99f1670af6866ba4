"""Every error of the API is shown in the map's language: the refusals without a
message key (a household, cell, issue or plan not found, a query FastAPI refuses...)
were shown as 操作失败： and the API's English sentence.  Now every refusal has a key
(tests/api/test_error_keys.py) worded from the map's "api.<key>" strings, and an error
the map still cannot word is said by its class (error.code.<code>) in Chinese, never in
English; in English the API's own sentence stays."""

from __future__ import annotations

import json
import re

from conftest import login, set_language, shot

ENGLISH = re.compile(r"[A-Za-z]{3,}")

#: the map's own modules and its token, on the real server
_MESSAGE = """async (path) => {
  const api = await import('/js/api.js');
  const { errorMessage } = await import('/js/dialog.js');
  try { await api.get(path); return 'no error'; } catch (e) { return errorMessage(e); }
}"""


def test_a_cadre_reads_errors_in_chinese(page):
    login(page, "cadre")
    # a query too long for the API (pasted text): FastAPI's own refusal
    page.expect_http(422, "/api/v1/search")
    page.fill("#search-input", "新晃县" * 34)
    page.wait_for_function(
        "(() => { const li = document.querySelector('#search-results li.empty');"
        " return li && !li.textContent.includes('…') && li.textContent.length > 6; })()", timeout=10_000)
    msg = page.inner_text("#search-results")
    shot(page, "error-search-zh")
    assert "提交的内容不符合要求" in msg and "操作失败" not in msg, msg
    assert not ENGLISH.search(msg.replace("query.q", "")), msg
    # what is not found (deleted, or outside the cadre's part of the grid)
    for path, words in (("households/0000", "找不到该住户"), ("cells/0000", "找不到网格 0000"),
                        ("microgrids/0000", "找不到微网格 0000"), ("plans/0000", "找不到该网格方案"),
                        ("issues/0000", "找不到该问题"), ("persons/0000", "找不到该居民")):
        page.expect_http(404, f"/api/v1/{path}")
        msg = page.evaluate(_MESSAGE, path)
        assert words in msg and not ENGLISH.search(msg), (path, msg)
    # an error with no key (a server older than the map): its class, in Chinese
    page.expect_http(403, "/api/v1/unkeyed")
    page.route("**/api/v1/unkeyed", lambda route: route.fulfill(
        status=403, content_type="application/json",
        body=json.dumps({"detail": "role cadre may not do this thing", "code": "forbidden"})))
    msg = page.evaluate(_MESSAGE, "unkeyed")
    assert msg == "您没有权限进行此操作。如确需此权限，请联系管理员。", msg


def test_in_english_errors_read_in_english(page):
    set_language(page, "en")
    login(page, "cadre")
    page.expect_http(404, "/api/v1/households/0000")
    msg = page.evaluate(_MESSAGE, "households/0000")
    assert msg.startswith("This household cannot be found"), msg
    # no key: the API's own sentence, as before
    page.expect_http(403, "/api/v1/unkeyed")
    page.route("**/api/v1/unkeyed", lambda route: route.fulfill(
        status=403, content_type="application/json",
        body=json.dumps({"detail": "role cadre may not do this thing", "code": "forbidden"})))
    assert page.evaluate(_MESSAGE, "unkeyed") == "That failed: role cadre may not do this thing"
