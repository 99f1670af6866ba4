"""The planner's panel on a phone (390 x 844): it covered most of the screen (a 320 px
card from the top bar to the bottom, beside a sliver of map), so the micro-grid being
edited could hardly be seen or tapped.  On a narrow screen it is now a sheet over the
lower part of the map, with a handle that folds it down to its title and the Save row
(Save, Undo, Publish always in reach) and opens it again; on a desktop it is as before
(tests/browser/test_planner_panel_fits.py)."""

from __future__ import annotations

import pytest

from conftest import PHONE, login, set_language, shot
from test_planner import _open_microgrid, _open_planner_with_draft

def _box(page, sel):
    return page.evaluate("""(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, height: r.height}; }""", sel)


def _in_sight(page, sel):
    """Whether the middle of `sel` is that element on screen (not clipped or covered)."""
    return page.evaluate("""(sel) => {
        const el = document.querySelector(sel), r = el.getBoundingClientRect();
        if (!r.width || !r.height || r.bottom > innerHeight || r.right > innerWidth) return false;
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !!hit && (hit === el || el.contains(hit));
    }""", sel)


def _map_visible(page):
    """How much of the map's height is not under the panel (px), and whether a point in
    the middle of that part is the map."""
    return page.evaluate("""() => {
        const m = document.getElementById('map').getBoundingClientRect();
        const p = document.getElementById('planner-panel').getBoundingClientRect();
        const open = Math.max(0, Math.min(m.bottom, p.top) - m.top);
        const el = document.elementFromPoint(m.left + m.width / 2, m.top + open / 2);
        return {open, isMap: !!el && !!el.closest('#map') && !el.closest('#planner-panel')};
    }""")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_on_a_phone_the_planner_panel_is_a_sheet_that_folds_away(phone, lang):
    page = phone
    set_language(page, lang)
    login(page, "planner")
    _open_planner_with_draft(page)
    _open_microgrid(page)
    shot(page, f"planner-phone-open-{lang}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    panel = _box(page, "#planner-panel")
    # a sheet across the bottom, the map above it
    assert panel["left"] <= 1 and panel["right"] >= PHONE[0] - 1, panel
    assert panel["bottom"] >= PHONE[1] - 1, panel
    seen = _map_visible(page)
    assert seen["open"] >= 0.4 * PHONE[1] and seen["isMap"], seen
    toggle = page.locator("#pp-toggle")
    assert toggle.is_visible() and toggle.inner_text().strip()
    assert toggle.get_attribute("aria-expanded") == "true"
    for sel in ("#save", "#publish", "#undo"):
        assert _in_sight(page, sel), f"{sel} is out of reach in the open sheet"
    # folded: its handle and the Save row only, the map nearly whole
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false"
    shot(page, f"planner-phone-folded-{lang}")
    assert _box(page, "#planner-panel")["height"] <= 160
    assert _map_visible(page)["open"] >= 0.7 * PHONE[1]
    assert page.locator("#plan-select").is_hidden() and page.locator("#balance").is_hidden()
    for sel in ("#save", "#publish", "#undo", "#pp-toggle"):
        assert _in_sight(page, sel), f"{sel} is out of reach in the folded sheet"
    # and open again, as it was
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.locator("#balance").is_visible()


def test_on_a_desktop_the_planner_panel_has_no_handle(page):
    login(page, "planner")
    _open_planner_with_draft(page)
    assert page.locator("#pp-toggle").count() == 1
    assert page.locator("#pp-toggle").is_hidden()
    panel = _box(page, "#planner-panel")
    assert round(panel["right"] - panel["left"]) == 320 and panel["top"] < 100, panel
