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
