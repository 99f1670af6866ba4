"""A cadre who reports an issue at a point outside their part of the grid is told so in
their own language (the API says it in English only), with the village named."""

from __future__ import annotations

import re

import pytest

from conftest import login, set_language, shot


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_report_outside_the_cadres_village_is_refused_in_the_cadres_language(page, server, lang):
    reg = server.register
    other_village = reg.village_codes[-1]
    with server.api("admin") as api:
        fc = api.get("/households", params={"village": other_village, "limit": 1}).json()
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    set_language(page, lang)
    login(page, "cadre")
    page.evaluate("([lat, lon]) => { geogrid.map.setView([lat, lon], 18, {animate: false}); }", [lat, lon])
    page.click("#iss-report")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#report-form")
    page.select_option("#report-category", index=1)
    page.fill("#report-description", "outside test")
    page.expect_http(403, "/api/v1/issues")
    page.click("#report-submit")
    page.wait_for_selector("#report-error:not([hidden])")
    msg = page.inner_text("#report-error")
    shot(page, f"report-outside-{lang}")
    if lang == "zh":
        assert "不在您负责的网格范围内" in msg, msg
        assert not re.search(r"[A-Za-z]{3,}", msg), msg  # no English left in it
    else:
        assert "outside your part of the grid" in msg and "That failed" not in msg, msg
    assert "(none)" not in msg
