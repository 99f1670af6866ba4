"""A cadre takes a household out of the register from its house panel, and undoes it."""

from __future__ import annotations

from conftest import login, shot


def test_a_cadre_removes_a_household_from_the_house_panel_and_undoes_it(page, server):
    login(page, "cadre")
    page.wait_for_function("geogrid.layers !== undefined && geogrid.panel !== undefined")
    with server.api("cadre") as api:
        house = api.get("/households", params={"limit": 1}).json()["features"][0]
    hid = house["id"]
    page.evaluate("(id) => geogrid.panel.openHouse(id)", hid)
    page.wait_for_selector("#remove-btn")
    assert page.inner_text("#remove-btn") == "移出登记"
    page.click("#remove-btn")
    page.wait_for_selector("#removal-reason")
    page.select_option("#removal-reason", "moved_out")
    page.fill("#removal-note", "迁往县城（浏览器测试）")
    shot(page, "house-removal-dialog")
    page.click("#dialog-ok")
    page.wait_for_selector("#removed-note")
    assert "迁出" in page.inner_text("#removed-note")
    page.expect_http(404, f"/api/v1/households/{hid}")
    with server.api("admin") as api:
        assert api.get(f"/households/{hid}").status_code == 404
        removal = api.get(f"/households/{hid}/removal").json()
    assert removal["reason"] == "moved_out" and removal["removed_by"] == "cadre"
    page.click("#undo-remove-btn")
    page.wait_for_selector("#remove-btn")
    with server.api("admin") as api:
        assert api.get(f"/households/{hid}").status_code == 200


def test_an_analyst_is_offered_no_removal(page, server):
    login(page, "analyst")
    assert not page.evaluate("geogrid.panel.canRemove()")
