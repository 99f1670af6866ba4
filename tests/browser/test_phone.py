"""The cadre's map on a phone (390 x 844, as cadres use it in the villages): the top bar
fits the screen, the map is not buried under the layer and issue cards, a house can be
tapped, and the cards open and close from a labelled button."""

from __future__ import annotations

import pytest

from conftest import PHONE, login, set_language, shot
from test_cadre import _click_house, _zoom_to_a_house

def _inside_viewport(page, selector):
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0] + 0.5


def _map_centre_is_the_map(page):
    return page.evaluate("""() => {
        const r = document.getElementById('map').getBoundingClientRect();
        const el = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !!el && !!el.closest('#map');
    }""")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_cadre_on_a_phone_sees_the_whole_top_bar_and_the_map(phone, lang):
    page = phone
    set_language(page, lang)
    login(page, "cadre")
    shot(page, f"phone-map-{lang}")
    # nothing sticks out of the screen sideways (a page that scrolls sideways on a phone)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    for sel in ("#logout", "#lang-switch", "#user-role", "#search-input", "#view-tabs"):
        assert _inside_viewport(page, sel), f"{sel} is off the screen"
    # the middle of the map is the map, not a card over it
    assert _map_centre_is_the_map(page)
    # the layer and issue cards are a tap away, from a button that says what it opens
    toggle = page.locator("#left-toggle")
    assert toggle.is_visible()
    assert toggle.inner_text().strip()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.locator("#iss-report").is_visible()
    assert _inside_viewport(page, "#iss-report")
    shot(page, f"phone-cards-{lang}")
    toggle.click()
    assert not page.locator("#iss-report").is_visible()
    assert _map_centre_is_the_map(page)


def test_a_cadre_on_a_phone_taps_a_house_and_reports_from_the_map(phone):
    page = phone
    login(page, "cadre")
    house = _zoom_to_a_house(page)
    _click_house(page, house)
    page.wait_for_selector("#residents li")
    assert _inside_viewport(page, "#side-panel")
    assert _inside_viewport(page, "#side-close")
    shot(page, "phone-house")
    page.click("#side-close")
    # report: the cards step aside so the map can take the tap
    page.click("#left-toggle")
    page.click("#iss-report")
    assert _map_centre_is_the_map(page)
    page.evaluate("() => { geogrid.map.setZoom(19, {animate: false}); }")
    r = page.locator("#map").bounding_box()
    page.mouse.click(r["x"] + r["width"] / 2, r["y"] + r["height"] / 4)
    page.wait_for_selector("#report-form")
    assert _inside_viewport(page, "#report-submit")
    shot(page, "phone-report-form")


def test_a_house_found_by_search_on_a_phone_is_in_sight_above_its_sheet(phone, server):
    page = phone
    login(page, "cadre")
    page.fill("#search-input", "王")
    page.wait_for_selector("#search-results li[data-i]")
    # the results drop over the map's zoom buttons, not under them
    covered = page.evaluate("""() => {
        const r = document.querySelector('.leaflet-control-zoom-in').getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !!hit && !!hit.closest('#search-results');
    }""")
    assert covered, "the zoom buttons are drawn over the search results"
    shot(page, "phone-search")
    page.locator("#search-results li[data-i]").first.click()
    page.wait_for_selector("#residents li")
    hit = page.evaluate("geogrid.search.hits[0]")
    page.wait_for_timeout(300)
    where = page.evaluate("""(at) => {
        const p = geogrid.map.latLngToContainerPoint(L.latLng(at[0], at[1]));
        const m = document.getElementById('map').getBoundingClientRect();
        const s = document.getElementById('side-panel').getBoundingClientRect();
        return {y: m.top + p.y, x: m.left + p.x, sheetTop: s.top, mapTop: m.top};
    }""", [hit["lat"], hit["lon"]])
    shot(page, "phone-search-house")
    assert where["mapTop"] < where["y"] < where["sheetTop"], where
    assert 0 < where["x"] < PHONE[0], where


def test_a_cadre_on_a_phone_cancels_a_report_from_its_hint(phone):
    """No Esc key on a phone, and the report button is behind the cards' toggle: the
    hint over the map cancels."""
    page = phone
    login(page, "cadre")
    page.click("#left-toggle")
    page.click("#iss-report")
    assert page.evaluate("document.body.classList.contains('reporting')")
    cancel = page.locator("#report-hint-cancel")
    assert cancel.is_visible() and _inside_viewport(page, "#report-hint-cancel")
    assert cancel.inner_text() == "取消上报"
    shot(page, "phone-report-hint")
    cancel.click()
    assert not page.evaluate("document.body.classList.contains('reporting')")
    assert page.is_hidden("#report-hint")
    page.click("#left-toggle")
    assert page.inner_text("#iss-report") == "上报问题"


def test_a_cell_leader_on_a_phone_sees_that_work_awaits_without_opening_the_cards(phone, server):
    """On a phone the 待办 button and its count are behind the cards' toggle: a cell
    leader with an issue dispatched to them saw a map with nothing to say so.  The
    toggle carries the count (hidden when nothing awaits), in both languages."""
    from test_issues import _dispatched_to_cellhead

    page = phone
    login(page, "cellhead")
    assert page.locator("#left-toggle-n").count() == 1 and page.is_hidden("#left-toggle-n")
    _dispatched_to_cellhead(server, "派给户团长的问题（手机待办测试）")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_selector("#left-toggle-n:not([hidden])")
    assert page.inner_text("#left-toggle-n") == "1"
    assert page.is_visible("#left-toggle-n") and _inside_viewport(page, "#left-toggle")
    assert not page.locator("#iss-inbox").is_visible()  # the cards are closed
    page.click("#lang-switch")
    assert page.inner_text("#left-toggle-n") == "1" and page.is_visible("#left-toggle-n")
    assert page.inner_text("#left-toggle").startswith("Layers & issues")
    shot(page, "phone-inbox-count")
