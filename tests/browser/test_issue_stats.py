"""A town's cadre (镇级督办) gets the issue statistics and the CSV export from the map.

The API gives both to every cadre and admin, of their scope (GET /issues/stats exact,
GET /issues/export.csv audited), but the map offered neither: a town-level supervisor had
to ask the county for a spreadsheet.  The issue card now has 统计与导出: the summary of
their scope, counts by village, category and status, and the export as Excel reads it.
On a phone, where the cadres are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

from conftest import login, shot
from register import PASSWORD
from test_issues import _db, _house_in_handler_cell


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
    # the panel fits the phone's width: nothing to scroll sideways, custom days and trend too
    fits = "document.getElementById('side-panel').scrollWidth <= document.getElementById('side-panel').clientWidth + 1"
    assert page.evaluate(fits)
    page.select_option("#stats-preset", "custom")
    page.click("#stats-apply")
    page.wait_for_selector("#stats-trend")
    assert page.evaluate(fits) and page.is_visible("#stats-apply")
    shot(page, "issue-stats-phone-custom")
    page.select_option("#stats-preset", "all")
    page.wait_for_selector("#stats-range >> text=全部时间")

    with page.expect_download() as info:
        page.click("#stats-export")
    download = info.value
    assert download.suggested_filename.startswith("issues-") and download.suggested_filename.endswith(".csv")
    raw = open(download.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert sorted(r["id"] for r in rows) == sorted(made)
    page.wait_for_selector(".toast >> text=已导出")


# --- the period ---------------------------------------------------------------------------------
CHINA = ZoneInfo("Asia/Shanghai")


def _china_today() -> dt.date:
    return dt.datetime.now(CHINA).date()


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _reported_on(server, issue_id: str, day: dt.date, hour: int = 10) -> None:
    """Move the issue's report time to ``hour`` o'clock China time on ``day``."""
    at = dt.datetime.combine(day, dt.time(hour), CHINA).astimezone(dt.UTC)
    with _db(server) as db:
        db.execute("UPDATE issues SET reported_at = ? WHERE id = ?",
                   (at.strftime("%Y-%m-%d %H:%M:%S.000000"), issue_id))


def _choose(page, preset: str, since: str | None) -> None:
    """Choose a period of the menu; wait until the panel counts from ``since`` (None: all)."""
    page.select_option("#stats-preset", preset)
    _counted_from(page, since)


def _counted_from(page, since: str | None) -> None:
    page.wait_for_function(
        """(since) => { const r = document.getElementById('stats-range');
            return r && (since ? r.textContent.includes(since) : !/\\d{4}-\\d\\d-\\d\\d/.test(r.textContent))
              && document.getElementById('stats-summary'); }""", arg=since)


def _trend(page) -> dict[str, str]:
    return dict(page.evaluate("""() => [...document.querySelectorAll('#stats-trend tr[data-period]')]
        .map((tr) => [tr.dataset.period, tr.querySelector('td.n').textContent])"""))


def test_a_town_cadre_chooses_the_period_reads_its_trend_and_exports_that_period(page, server):
    """The panel counted every issue ever reported: a town's cadre could not look at this
    month, last month or days of their choosing, nor at a trend.  A menu of periods (China
    time), custom days, the trend by day, week or month (zero weeks shown as 0), and the
    export of the period chosen."""
    _add_town_cadre(server)
    lon, lat, _ = _house_in_handler_cell(server)
    today = _china_today()
    month = today.replace(day=1)
    last_month = (month - dt.timedelta(days=1)).replace(day=1)
    mid_last_month = last_month.replace(day=15)
    with server.api("cadre") as api:
        made = []
        for cat, dx in (("sanitation", 0.0), ("sanitation", 0.0003), ("roads_lights", -0.0003)):
            r = api.post("/issues", json={"category": cat, "lon": lon + dx, "lat": lat,
                                          "description": f"时段统计测试 {cat}"})
            assert r.status_code == 201, r.text
            made.append(r.json()["id"])
    _reported_on(server, made[2], mid_last_month)

    login(page, "town")
    page.click("#iss-stats")
    page.wait_for_selector("#stats-summary")
    assert page.input_value("#stats-preset") == "all"
    assert page.inner_text("#stats-summary [data-k='total']") == "3"

    _choose(page, "this_month", month.isoformat())
    next_month = (month + dt.timedelta(days=31)).replace(day=1)
    assert page.inner_text("#stats-range") == f"统计 {month} 至 {next_month - dt.timedelta(days=1)} 上报的问题"
    assert page.inner_text("#stats-summary [data-k='total']") == "2"
    assert page.inner_text("#stats-by-category tr[data-category='sanitation'] td.n") == "2"
    assert page.locator("#stats-by-category tr[data-category='roads_lights']").count() == 0
    # by week, from the month's first week to this one, an empty week as 0
    weeks = {}
    w = _monday(month)
    while w <= today:
        weeks[w.isoformat()] = "0"
        w += dt.timedelta(days=7)
    weeks[_monday(today).isoformat()] = "2"
    assert _trend(page) == weeks
    first_label = page.inner_text(f"#stats-trend tr[data-period='{_monday(month)}'] td.p")
    assert first_label.startswith(month.strftime("%m-%d"))  # the week cut by the 1st says so
    shot(page, "issue-stats-this-month")

    _choose(page, "last_month", last_month.isoformat())
    assert page.inner_text("#stats-range") == f"统计 {last_month} 至 {month - dt.timedelta(days=1)} 上报的问题"
    assert page.inner_text("#stats-summary [data-k='total']") == "1"
    assert page.inner_text("#stats-by-category tr[data-category='roads_lights'] td.n") == "1"
    assert _trend(page)[_monday(mid_last_month).isoformat()] == "1"
    # the export is the period's
    with page.expect_download() as info:
        page.click("#stats-export")
    download = info.value
    assert download.suggested_filename == f"issues-{last_month}_{month - dt.timedelta(days=1)}.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.path(), "rb").read().decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == [made[2]]

    # days of one's choosing, the trend by day
    page.select_option("#stats-preset", "custom")
    page.fill("#stats-from", mid_last_month.isoformat())
    page.fill("#stats-to", today.isoformat())
    page.click("#stats-apply")
    _counted_from(page, mid_last_month.isoformat())
    assert page.inner_text("#stats-range") == f"统计 {mid_last_month} 至 {today} 上报的问题"
    assert page.inner_text("#stats-summary [data-k='total']") == "3"
    page.select_option("#stats-step", "day")
    page.wait_for_selector(f"#stats-trend tr[data-period='{mid_last_month}']")
    days = _trend(page)
    assert len(days) == (today - mid_last_month).days + 1
    assert (days[mid_last_month.isoformat()], days[today.isoformat()]) == ("1", "2")
    assert sum(int(v) for v in days.values()) == 3
    # the last day before the first: said, not asked
    page.fill("#stats-from", today.isoformat())
    page.fill("#stats-to", mid_last_month.isoformat())
    page.click("#stats-apply")
    page.wait_for_selector("#stats-bad-range")

    # in English the choice stays
    page.fill("#stats-from", mid_last_month.isoformat())
    page.fill("#stats-to", today.isoformat())
    page.click("#stats-apply")
    _counted_from(page, mid_last_month.isoformat())
    page.click("#lang-switch")
    page.wait_for_function("document.getElementById('stats-range') && "
                           "document.getElementById('stats-range').textContent.startsWith('Issues reported from')")
    assert page.input_value("#stats-preset") == "custom"
    assert page.inner_text("#stats-summary [data-k='total']") == "3"
    assert page.inner_text("#stats-preset option[value='last_month']") == "Last month"
    # back to custom after another period: the figures (and the export) are the custom days' again
    page.select_option("#stats-preset", "this_month")
    page.wait_for_selector(f"#stats-range >> text=Issues reported from {month}")
    page.select_option("#stats-preset", "custom")
    page.wait_for_selector(f"#stats-range >> text=Issues reported from {mid_last_month} to {today}")
    assert page.inner_text("#stats-summary [data-k='total']") == "3"
