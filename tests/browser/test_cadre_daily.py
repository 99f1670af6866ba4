"""A village cadre's daily round on a phone: 以图看房，以房看人 — find a household by its
户编号, open it, and never read one house's residents under another's name when the
connection is slow."""

from __future__ import annotations

from conftest import login, shot
from test_cadre import _register_rows


def test_a_cadre_on_a_phone_finds_a_household_by_its_number(phone, server):
    """The 户编号 on the household's paper file found nothing: the search looked in the
    addresses only, and the box did not say it takes a number."""
    page = phone
    village = server.register.village_codes[0]
    rows = [r for r in _register_rows(server, "households.csv") if r["村代码"] == village]
    target = rows[len(rows) // 2]
    login(page, "cadre")
    assert "户编号" in page.get_attribute("#search-input", "placeholder")
    page.fill("#search-input", target["户编号"])
    page.wait_for_selector("#search-results li[data-i]")
    hits = page.evaluate("geogrid.search.hits")
    assert hits[0]["kind"] == "household" and hits[0]["sub"] == target["户编号"], hits
    first = page.locator('#search-results li[data-i="0"]')
    assert target["户编号"] in first.inner_text() and target["户主"] not in first.inner_text()
    shot(page, "phone-search-household-no")
    first.click()
    page.wait_for_selector("#residents li")
    assert page.evaluate("geogrid.panel.house.properties.household_no") == target["户编号"]
    assert page.inner_text("#side-title") == target["地址"]


def test_a_cadre_on_a_phone_changes_a_households_care_level_without_losing_or_overwriting(phone, server):
    """A cadre had no way to change a household's 户类别 (放心户/关心户/连心户) on the map.
    Now: 修改 beside it, saved with the house's ETag; a save with no connection keeps the
    dialog and the choice; a change someone made since is shown, never written over
    silently."""
    page = phone
    with server.api("admin") as api:
        fc = api.get("/households", params={"village": server.register.village_codes[0], "limit": 50}).json()
    house = next(f for f in fc["features"] if f["properties"]["care_level"] == "green")
    hid = house["id"]
    login(page, "cadre")
    page.evaluate("(id) => geogrid.panel.openHouse(id)", hid)
    page.wait_for_selector("#care-edit")
    assert "放心户" in page.inner_text("#side-body")
    # no connection: the save fails, the dialog stays with the choice
    page.click("#care-edit")
    page.select_option("#care-level", "yellow")
    page.context.set_offline(True)
    page.click("#dialog-ok")
    page.wait_for_selector("#dialog-error:not([hidden])")
    assert "网络" in page.inner_text("#dialog-error")
    assert page.is_visible("#care-level") and page.input_value("#care-level") == "yellow"
    shot(page, "phone-care-edit-offline")
    page.context.set_offline(False)
    page.click("#dialog-ok")
    page.wait_for_selector("#dialog", state="hidden")
    page.wait_for_function("geogrid.panel.house && geogrid.panel.house.properties.care_level === 'yellow'")
    assert "关心户" in page.inner_text("#side-body") and "关心户" in page.inner_text("#toast-text")
    page.wait_for_function("(id) => geogrid.layers.houseById.get(id)?.feature.properties.care_level === 'yellow'"
                           " || !geogrid.layers.houseById.has(id)", arg=hid)
    # someone else (the village's other cadre, here an admin) makes it 连心户 meanwhile
    with server.api("admin") as api:
        etag = api.get(f"/households/{hid}").headers["etag"]
        assert api.patch(f"/households/{hid}", json={"care_level": "red"},
                         headers={"If-Match": etag}).status_code == 200
    page.expect_http(412, f"/api/v1/households/{hid}")
    page.click("#care-edit")
    page.select_option("#care-level", "green")
    page.click("#dialog-ok")
    page.wait_for_selector("#dialog-error:not([hidden])")
    assert "连心户" in page.inner_text("#dialog-error") and "没有保存" in page.inner_text("#dialog-error")
    shot(page, "phone-care-edit-stale")
    with server.api("admin") as api:
        assert api.get(f"/households/{hid}").json()["properties"]["care_level"] == "red"
    page.click("#dialog-cancel")
    page.wait_for_function("geogrid.panel.house && geogrid.panel.house.properties.care_level === 'red'")
    assert "连心户" in page.inner_text("#side-body")
    # the offline attempt's failed request was the point of it
    page.log.problems[:] = [p for p in page.log.problems
                            if not (p.startswith("request failed: PATCH") and f"/households/{hid}" in p)
                            and "net::ERR_INTERNET_DISCONNECTED" not in p]


def test_a_cadre_on_a_phone_corrects_a_residents_phone_and_party_membership(phone, server):
    """A resident's new phone, or one who joined the Party (党员), could not be put right
    on the map.  Now: 修改人员信息 on the resident; only what was changed is sent, with the
    resident's ETag; the answer is masked; no connection keeps what was typed; a change
    someone made since is shown, never written over silently."""
    page = phone
    with server.api("admin") as api:
        fc = api.get("/households", params={"village": server.register.village_codes[0], "limit": 1}).json()
        hid = fc["features"][0]["id"]
        residents = api.get(f"/households/{hid}").json()["properties"]["residents"]
    person = next((r for r in residents if not r["party_member"]), residents[0])
    pid = person["id"]
    login(page, "cadre")
    page.evaluate("(id) => geogrid.panel.openHouse(id)", hid)
    page.wait_for_selector(f'#residents li[data-person="{pid}"]')
    page.click(f'#residents li[data-person="{pid}"]')
    page.wait_for_selector("#person-edit")
    page.click("#person-edit")
    assert (person["phone"] or "—") in page.get_attribute("#person-phone", "placeholder")  # masked, as shown
    page.fill("#person-phone", "139 0745 1234")
    page.select_option("#person-party", "yes")
    shot(page, "phone-person-edit")
    page.context.set_offline(True)
    page.click("#dialog-ok")
    page.wait_for_selector("#dialog-error:not([hidden])")
    assert "网络" in page.inner_text("#dialog-error")
    assert page.input_value("#person-phone") == "139 0745 1234" and page.input_value("#person-party") == "yes"
    page.context.set_offline(False)
    page.click("#dialog-ok")
    page.wait_for_selector("#dialog", state="hidden")
    page.wait_for_function("document.getElementById('person-fields')?.innerText.includes('139****1234')")
    fields = page.inner_text("#person-fields")
    assert "13907451234" not in fields and "已保存" in page.inner_text("#toast-text")
    # the house's list of residents marks them a party member now
    page.click("#side-back")
    page.wait_for_selector(f'#residents li[data-person="{pid}"] .party')
    assert page.inner_text(f'#residents li[data-person="{pid}"] .party') == "党员"
    page.click(f'#residents li[data-person="{pid}"]')
    page.wait_for_selector("#person-edit")
    with server.api("admin") as api:
        stored = api.post(f"/persons/{pid}/reveal", json={"purpose": "浏览器测试核对", "fields": ["phone"]}).json()
        assert stored["phone"] == "13907451234" and stored["party_member"] is True
        # meanwhile someone else corrects the relation
        etag = api.get(f"/persons/{pid}").headers["etag"]
        assert api.patch(f"/persons/{pid}", json={"relation": "儿媳"}, headers={"If-Match": etag}).status_code == 200
    page.expect_http(412, f"/api/v1/persons/{pid}")
    page.click("#person-edit")
    page.fill("#person-phone", "13907450000")
    page.click("#dialog-ok")
    page.wait_for_selector("#dialog-error:not([hidden])")
    assert "没有保存" in page.inner_text("#dialog-error")
    page.click("#dialog-cancel")
    page.wait_for_function("document.getElementById('person-fields')?.innerText.includes('儿媳')")
    with server.api("admin") as api:
        stored = api.post(f"/persons/{pid}/reveal", json={"purpose": "浏览器测试核对", "fields": ["phone"]}).json()
    assert stored["phone"] == "13907451234" and stored["relation"] == "儿媳"
    page.log.problems[:] = [p for p in page.log.problems
                            if not (p.startswith("request failed: PATCH") and f"/persons/{pid}" in p)
                            and "net::ERR_INTERNET_DISCONNECTED" not in p]
