"""The API's refusals are shown in the user's language: the map showed 操作失败： and the
API's English sentence to a Chinese planner or cadre.  Now the error body's message key
(geogrid/api/errors.py) is worded from the map's "api.<key>" strings (js/apimessage.js):
a publish refused for broken rules, moves into a locked cell, a photo of a type the
server does not take.  (A stale ETag was already the planner's conflict dialog, in
Chinese: test_planner.test_second_editor_gets_the_conflict_dialog.)"""

from __future__ import annotations

import re

from conftest import login, shot
from test_planner import _counts, _open_microgrid, _open_planner_with_draft

ENGLISH = re.compile(r"[A-Za-z]{3,}")


def _error_toast(page) -> str:
    page.wait_for_selector("#toast.error:not([hidden])", timeout=90_000)
    return page.inner_text("#toast")


def _move(page, source, target, n):
    """Assign `n` households of cell `source` to cell `target` (locally, not saved)."""
    ids = page.evaluate("""([src, n]) => [...geogrid.planner.houses.values()]
        .filter((h) => h.cellId === src).slice(0, n).map((h) => h.id)""", [source, n])
    page.evaluate("(ids) => { for (const id of ids) geogrid.planner.selected.add(id); geogrid.planner.renderSelection(); }", ids)
    page.select_option("#assign-target", target)
    page.click("#assign-do")


def _planner_in_a_microgrid(page):
    """A planner's draft open on a micro-grid: ``(plan id, households by cell, the
    cell of fewest households, the cell of most of the others)``."""
    login(page, "planner")
    plan_id = _open_planner_with_draft(page)
    _open_microgrid(page)
    counts = _counts(page)
    target = min(counts, key=counts.get)
    return plan_id, counts, target, max((c for c in counts if c != target), key=counts.get)


def test_a_publish_refused_for_broken_rules_is_said_in_chinese(page):
    plan_id, counts, target, source = _planner_in_a_microgrid(page)
    _move(page, source, target, 21 - counts[target])  # over the cap of 20: a broken rule
    page.wait_for_selector(f'#balance li[data-cell="{target}"].over', timeout=10_000)
    page.click("#save")
    page.wait_for_function("geogrid.planner.history.pending === 0 && !document.getElementById('save').textContent.includes('…')")
    page.expect_http(422, f"/plans/{plan_id}/publish")
    page.click("#publish")
    page.wait_for_selector("#dialog[open]")
    page.click("#dialog-ok")
    msg = _error_toast(page)
    shot(page, "refusal-publish-zh")
    assert "不符合规则，不能发布" in msg, msg
    assert not ENGLISH.search(msg), msg  # no English sentence left in it
    assert page.evaluate("geogrid.planner.plan.status") == "draft"


def test_moving_households_into_a_locked_cell_is_refused_in_chinese(page, server):
    plan_id, counts, target, source = _planner_in_a_microgrid(page)
    # someone locked the cell; the planner has the plan as it is now
    with server.api("planner2") as api:
        etag = api.get(f"/plans/{plan_id}").headers["etag"]
        r = api.post(f"/plans/{plan_id}/cells/{target}/lock", headers={"If-Match": etag})
        assert r.status_code == 200, r.text
    page.evaluate("() => geogrid.planner.reloadMicrogrid()")
    page.wait_for_function("(id) => geogrid.planner.cells.get(id).locked", arg=target)
    key = page.evaluate("(id) => geogrid.planner.cells.get(id).key", target)
    _move(page, source, target, 1)
    page.expect_http(409, f"/plans/{plan_id}/edits")
    page.click("#save")
    msg = _error_toast(page)
    shot(page, "refusal-locked-cell-zh")
    assert "未保存" in msg and f"网格 {key} 已锁定" in msg and "请先解锁" in msg, msg
    assert not ENGLISH.search(msg), msg
    assert page.evaluate("geogrid.planner.history.pending") > 0  # the edit is kept to undo


def test_a_photo_of_a_type_the_server_does_not_take_is_refused_in_chinese(page, server):
    reg = server.register
    with server.api("admin") as api:
        fc = api.get("/households", params={"village": reg.village_codes[0], "limit": 1}).json()
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    with server.api("cadre") as api:
        r = api.post("/issues", json={"category": "sanitation", "lon": lon, "lat": lat,
                                      "description": "路边垃圾堆放"})
        assert r.status_code == 201, r.text
        issue_id = r.json()["id"]
    login(page, "cadre")
    page.evaluate("(id) => geogrid.issuePanel.openIssue(id)", issue_id)
    page.wait_for_selector("#issue-photo-add", state="attached")
    page.expect_http(422, f"/issues/{issue_id}/photos")
    # a phone's HEIC photo: the picker takes it (image/*), the server does not
    page.set_input_files("#issue-photo-add", files=[{"name": "IMG_0412.HEIC", "mimeType": "image/heic",
                                                     "buffer": b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64}])
    msg = _error_toast(page)
    shot(page, "refusal-photo-zh")
    assert "不是 JPEG、PNG 或 WebP 图片" in msg, msg
    assert "upload" not in msg and "send a photo" not in msg, msg
