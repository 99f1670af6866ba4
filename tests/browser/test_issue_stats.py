"""A town's cadre (镇级督办) gets the issue statistics and the CSV export from the map.

The API gives both to every cadre and admin, of their scope (GET /issues/stats exact,
GET /issues/export.csv audited), but the map offered neither: a town-level supervisor had
to ask the county for a spreadsheet.  The issue card now has 统计与导出: the summary of
their scope, counts by village, category and status, and the export as Excel reads it.
On a phone, where the cadres are.
"""

from __future__ import annotations

import csv
import io

from conftest import login, shot
from register import PASSWORD
from test_issues import _house_in_handler_cell


def _add_town_cadre(server) -> str:
    """A cadre of the town holding the first village (the 镇级 supervisor); its code."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from geogrid.api.security import hash_password
    from geogrid.db.users import add_user

    engine = create_engine(server.register.db_url)
    with engine.connect() as conn:
        town = conn.execute(text(
            "SELECT t.code FROM areas v JOIN areas t ON v.parent_id = t.id WHERE v.code = :v"),
            {"v": server.register.village_codes[0]}).scalar_one()
    with Session(engine) as s:
        add_user(s, "town", hash_password(PASSWORD), "cadre", [f"area:{town}"])
        s.commit()
    engine.dispose()
    return town


def test_a_town_cadre_on_a_phone_reads_the_statistics_and_exports_the_issues(phone, server):
    page = phone
    _add_town_cadre(server)
    lon, lat, _ = _house_in_handler_cell(server)
    with server.api("cadre") as api:
        made = []
        for cat, dx in (("sanitation", 0.0), ("sanitation", 0.0003), ("roads_lights", -0.0003)):
            r = api.post("/issues", json={"category": cat, "lon": lon + dx, "lat": lat,
                                          "description": f"镇级统计测试 {cat}"})
            assert r.status_code == 201, r.text
            made.append(r.json()["id"])

    login(page, "town")
    page.click("#left-toggle")
    button = page.locator("#iss-stats")
    assert button.is_visible() and button.inner_text() == "统计与导出"
    button.click()
    page.wait_for_selector("#stats-summary")
    assert page.inner_text("#stats-summary [data-k='total']") == "3"
    assert page.inner_text("#stats-summary [data-k='open']") == "3"
    village = server.register.village_codes[0]
    row = page.locator(f"#stats-by-village tr[data-village-code='{village}']")
    assert row.locator("td.n").inner_text() == "3"
    assert row.locator("td").first.inner_text() != village  # named, not coded
    assert page.locator("#stats-by-category tr[data-category='sanitation'] td.n").inner_text() == "2"
    assert page.locator("#stats-by-status tr[data-status='reported'] td.n").inner_text() == "3"
    shot(page, "issue-stats-phone")
    # the panel fits the phone's width: nothing to scroll sideways
    assert page.evaluate("document.getElementById('side-panel').scrollWidth <= document.getElementById('side-panel').clientWidth + 1")

    with page.expect_download() as info:
        page.click("#stats-export")
    download = info.value
    assert download.suggested_filename.startswith("issues-") and download.suggested_filename.endswith(".csv")
    raw = open(download.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert sorted(r["id"] for r in rows) == sorted(made)
    page.wait_for_selector(".toast >> text=已导出")
