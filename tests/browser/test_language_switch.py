"""A language switch redraws the side panel that is open: the house, the person (also
once revealed, without a second reveal) and an issue, not only the map's cards."""

from __future__ import annotations

from conftest import login, shot
from test_cadre import _click_house, _zoom_to_a_house


def test_the_open_side_panel_follows_a_language_switch(page):
    login(page, "cadre")
    house = _zoom_to_a_house(page)
    _click_house(page, house)
    page.wait_for_selector("#residents li")
    page.click("#lang-switch")
    page.wait_for_function("(document.querySelector('#side-body .section-title') || {}).textContent"
                           "?.startsWith('Residents')", timeout=10_000)
    assert page.inner_text("#side-body dt >> nth=0").isascii()
    page.locator("#residents li").first.click()
    page.wait_for_selector("#reveal-btn")
    assert page.inner_text("#side-title") == "Person"
    # back to Chinese with the person open
    page.click("#lang-switch")
    page.wait_for_function("document.getElementById('side-title').textContent === '人员信息'", timeout=10_000)
    assert page.inner_text("#reveal-btn") == "查看完整信息"
    assert "姓名" in page.inner_text("#person-fields")
    # revealed, then switched: still revealed, in English, and revealed once only
    reveals = []
    page.on("request", lambda r: reveals.append(r.url) if r.url.endswith("/reveal") else None)
    page.click("#reveal-btn")
    page.fill("#reveal-purpose", "核实低保申请材料（浏览器测试）")
    page.click("#dialog-ok")
    page.wait_for_selector("#revealed-note")
    page.click("#lang-switch")
    page.wait_for_function("document.getElementById('side-title').textContent === 'Person'", timeout=10_000)
    assert page.locator("#revealed-note").is_visible()
    assert "Name" in page.inner_text("#person-fields")
    assert "*" not in page.inner_text("#person-fields")
    assert len(reveals) == 1
    # back goes to the house, in English
    page.click("#side-back")
    page.wait_for_selector("#residents li")
    assert page.inner_text("#side-body dt >> nth=0").isascii()
    shot(page, "lang-switch-panel")


def test_a_language_switch_while_reporting_keeps_the_form_and_the_cancel_button(page):
    login(page, "cadre")
    page.evaluate("() => { geogrid.map.setZoom(16, {animate: false}); }")
    page.click("#iss-report")
    assert page.inner_text("#iss-report") == "取消上报"
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
    page.wait_for_selector("#report-form")
    page.select_option("#report-category", index=1)
    category = page.input_value("#report-category")
    page.fill("#report-description", "村口路灯不亮")
    page.select_option("#report-priority", "high")
    page.click("#lang-switch")
    page.wait_for_function("document.getElementById('side-title').textContent === 'Report an issue'", timeout=10_000)
    # the button still cancels, and says so
    assert page.inner_text("#iss-report") == "Cancel report"
    assert page.input_value("#report-category") == category
    assert page.input_value("#report-description") == "村口路灯不亮"
    assert page.input_value("#report-priority") == "high"
    assert page.inner_text("#report-submit") == "Report"
    shot(page, "lang-switch-report-form")
    page.click("#iss-report")
    assert page.inner_text("#iss-report") == "Report an issue"
