"""Publishing a draft with a micro-grid open turns the planner's panel read-only at once:
no edit tools, Save or Publish left on a plan that is no longer a draft."""

from __future__ import annotations

from conftest import login, shot
from test_planner import _open_microgrid, _open_planner_with_draft


def test_a_published_draft_is_shown_read_only_without_a_reload(page):
    login(page, "planner")
    plan_id = _open_planner_with_draft(page)
    _open_microgrid(page)
    assert page.is_visible("#pp-edit") and page.is_visible("#publish")
    page.click("#publish")
    page.wait_for_selector("#dialog[open]")
    with page.expect_response(lambda r: r.url.endswith("/publish"), timeout=90_000) as pub:
        page.click("#dialog-ok")
    assert pub.value.status == 200, pub.value.text()
    page.wait_for_selector("#toast:not([hidden])")
    page.wait_for_function("geogrid.planner.plan.status === 'published'", timeout=15_000)
    assert page.evaluate("geogrid.planner.plan.id") == plan_id
    page.wait_for_selector("#pp-edit", state="hidden", timeout=15_000)
    page.wait_for_selector("#pp-actions", state="hidden", timeout=15_000)
    page.wait_for_selector("#plan-readonly", state="visible", timeout=15_000)
    page.wait_for_function("document.querySelector('#plan-select option:checked').textContent.includes('已发布')",
                           timeout=15_000)
    shot(page, "planner-published-read-only")
