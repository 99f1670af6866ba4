"""The house panel on a poor connection: an answer that comes late never shows one
house's residents under another's name."""

from __future__ import annotations

from conftest import login


def test_a_slow_answer_for_the_house_before_never_shows_over_the_one_opened_since(phone, server):
    """On a poor connection a cadre taps one house, then another: the first house's late
    answer was drawn over the second's panel, its residents under the house now
    highlighted (nothing said they were another house's)."""
    page = phone
    with server.api("admin") as api:
        fc = api.get("/households", params={"village": server.register.village_codes[0], "limit": 2}).json()
    slow, quick = (f["id"] for f in fc["features"])

    def late(route):
        page.wait_for_timeout(2500)
        route.continue_()

    login(page, "cadre")
    page.route(f"**/api/v1/households/{slow}", late)
    page.evaluate("(id) => { geogrid.panel.openHouse(id); }", slow)
    page.wait_for_timeout(300)
    page.evaluate("(id) => geogrid.panel.openHouse(id)", quick)
    page.wait_for_selector("#residents li")
    page.wait_for_timeout(3500)  # the slow answer has come by now
    assert page.evaluate("geogrid.panel.house.id") == quick
    quick_no = page.evaluate("geogrid.panel.house.properties.household_no")
    assert quick_no in page.inner_text("#side-body")
    # the person read late likewise: the house's panel stays the house's
    person = page.locator("#residents li").first.get_attribute("data-person")
    page.route(f"**/api/v1/persons/{person}", late)
    page.locator("#residents li").first.click()
    page.wait_for_timeout(300)
    page.click("#side-back")
    page.wait_for_selector("#residents li")
    page.wait_for_timeout(3500)
    assert page.locator("#residents li").count() > 0 and quick_no in page.inner_text("#side-body")
    assert not page.is_visible("#reveal-btn")
