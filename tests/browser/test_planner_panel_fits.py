"""The planner's panel on the usual laptop screen (1366 x 768): Save, Undo and Publish
stay in sight with a micro-grid open, and what does not fit (the quality figures, the
engine's notes) is a scroll away, not cut off."""

from __future__ import annotations

import pytest

from conftest import login, new_page, set_language, shot
from test_planner import _move_two, _open_microgrid, _open_planner_with_draft


@pytest.fixture
def laptop(browser, server):
    ctx, page = new_page(browser, server, viewport=(1366, 768))
    yield page
    problems = list(page.log.problems)
    ctx.close()
    assert not problems, "the page had errors:\n" + "\n".join(problems)


def _in_sight(page, selector):
    """Whether the middle of `selector` is that element on screen (not clipped or covered)."""
    return page.evaluate("""(sel) => {
        const el = document.querySelector(sel), r = el.getBoundingClientRect();
        if (!r.width || !r.height) return false;
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !!hit && (hit === el || el.contains(hit));
    }""", selector)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_save_and_publish_stay_in_sight_and_the_rest_scrolls(laptop, lang):
    page = laptop
    set_language(page, lang)
    login(page, "planner")
    _open_planner_with_draft(page)
    _open_microgrid(page)
    _move_two(page)
    page.wait_for_selector("#dirty.has")
    shot(page, f"planner-panel-1366-{lang}")
    for sel in ("#save", "#publish", "#undo", "#dirty", "#assign-do"):
        assert _in_sight(page, sel), f"{sel} is cut off the planner's panel"
    # the engine's notes, below the quality figures, are reached by scrolling the panel
    box = page.locator("#planner-panel").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(10):
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(100)
    assert _in_sight(page, "#notes-title"), "the engine's notes cannot be scrolled to"
    assert _in_sight(page, "#save")
    shot(page, f"planner-panel-1366-scrolled-{lang}")
