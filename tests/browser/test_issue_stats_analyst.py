"""An analyst reads the issue statistics on the map, as the API gives them to an analyst.

The 统计与导出 panel was offered to cadres and admins only: an analyst (who reads no issue)
had the hotspots and nothing else, though GET /issues/stats answers them.  They are
offered it now with what the API gives them (geogrid/api/issuestats.py): figures rounded
to a multiple of five, said 约 N; a row of fewer than five households or people not
given, said as withheld (never as 0); issues of small places counted apart, of every
period; no trend by day; and a period widened to whole weeks, said as applied.  No export,
and nothing the panel asks for reads an issue, a household or a person.

Users (tests/browser/register.py): ``analyst`` (the whole county); ``cadre`` reports.
"""

from __future__ import annotations

import datetime as dt

from conftest import login, shot
from geogrid.api.disclosure import MIN_BIN
from test_analyst import _issue_points
from test_issue_stats import _china_today, _counted_from, _monday, _reported_on, _trend

PHONES = [f"139000{k:05d}" for k in range(6)]
CARE_PHONE = "13900099999"


def _report(api, lon, lat, category, phone):
    r = api.post("/issues", json={"category": category, "lon": lon, "lat": lat,
                                  "description": "分析员统计测试", "contact_phone": phone})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _cell(page, table, attr, value):
    return page.inner_text(f"#{table} tr[{attr}='{value}'] td.n")


def test_an_analyst_reads_rounded_figures_withheld_rows_and_whole_weeks(page, server):
    """Six residents' sanitation issues this week and three care requests of one household
    last week, at one place; one issue alone at another place."""
    _, five, _, one = _issue_points(server)
    today = _china_today()
    this_monday = _monday(today)
    with server.api("cadre") as api:
        for k, phone in enumerate(PHONES):
            _report(api, *five[k % len(five)], "sanitation", phone)
        care = [_report(api, *five[0], "care", CARE_PHONE) for _ in range(3)]
        _report(api, *one, "sanitation", "13900088888")
    for iid in care:
        _reported_on(server, iid, this_monday - dt.timedelta(days=5))
    asked = []
    page.on("request", lambda r: asked.append(r.url))

    login(page, "analyst")
    button = page.locator("#iss-stats")
    assert button.is_visible() and button.inner_text() == "统计与导出"
    button.click()
    page.wait_for_selector("#stats-summary")
    assert page.locator("#stats-export").count() == 0  # an analyst exports no issue
    assert page.locator("#stats-step option[value='day']").count() == 0  # weeks at the finest
    assert page.is_visible("#stats-rounded")
    # ten issues of eight households or people: about 10
    assert page.inner_text("#stats-summary [data-k='total']") == "约 10"
    # none closed, none overdue: figures of fewer than five households or people, not shown
    for key in ("closed", "overdue", "on_time_share", "median_hours_to_close"):
        assert page.inner_text(f"#stats-summary [data-k='{key}']") == "不显示", key
    assert page.is_visible("#stats-summary-some-withheld")
    # six residents' sanitation: about 5; one household's three care requests: withheld, not 0
    assert _cell(page, "stats-by-category", "data-category", "sanitation") == "约 5"
    assert page.locator("#stats-by-category tr[data-category='care']").count() == 0
    withheld = page.locator("#stats-by-category tr.withheld")
    assert withheld.count() == 1 and f"不足 {MIN_BIN} 户（人）" in withheld.inner_text()
    assert withheld.locator("td.n").inner_text() == "约 5"
    village = server.register.village_codes[0]
    assert _cell(page, "stats-by-village", "data-village-code", village) == "约 10"
    # the lone issue: a small place's, counted apart
    assert "另有 1 件" in page.inner_text("#stats-suppressed")

    # days of one's choosing: widened to whole weeks, as the API applied them
    since = this_monday - dt.timedelta(days=19)  # a Wednesday
    page.select_option("#stats-preset", "custom")
    page.fill("#stats-from", since.isoformat())
    page.fill("#stats-to", today.isoformat())
    page.click("#stats-apply")
    applied = this_monday - dt.timedelta(days=21)
    _counted_from(page, applied.isoformat())
    after = today + dt.timedelta(days=1)
    until = after + dt.timedelta(days=-after.weekday() % 7)
    assert page.inner_text("#stats-range").startswith(
        f"统计 {applied} 至 {until - dt.timedelta(days=1)} 上报的问题")
    assert page.is_visible("#stats-widened") and "整周" in page.inner_text("#stats-widened")
    # the trend by week: the weeks of no issue and the week of one household's requests
    # alike are not given, said "—", never 0
    weeks = {(this_monday - dt.timedelta(days=d)).isoformat(): "—" for d in (21, 14, 7)}
    weeks[this_monday.isoformat()] = "约 5"
    assert _trend(page) == weeks
    assert page.locator("#stats-trend tr.withheld").count() == 3
    note = page.inner_text("#stats-trend-note")
    assert f"不足 {MIN_BIN} 户（人）" in note and "约 5" in note
    shot(page, "issue-stats-analyst")

    # last week: one household's requests alone: no summary, said so
    page.select_option("#stats-preset", "last_week")
    _counted_from(page, (this_monday - dt.timedelta(days=7)).isoformat())
    assert page.get_attribute("#stats-summary", "data-withheld") == "1"
    assert page.inner_text("#stats-summary [data-k='total']") == "不显示"
    assert page.is_visible("#stats-summary-withheld")
    assert page.locator("#stats-widened").count() == 0  # whole weeks already
    assert page.locator("#stats-by-category tr.withheld td.n").inner_text() == "约 5"

    page.click("#lang-switch")
    page.wait_for_selector("#stats-summary-withheld >> text=households or people")
    assert page.inner_text("#stats-summary [data-k='total']") == "not shown"
    assert page.locator("#stats-by-category tr.withheld td.n").inner_text() == "about 5"

    # nothing asked reads an issue, a household or a person
    panel = page.inner_text("#side-panel")
    assert not any(p in panel for p in [*PHONES, CARE_PHONE])
    api = [u.split("/api/v1/", 1)[1] for u in asked if "/api/v1/" in u]
    assert [u for u in api if u.startswith("issues/stats")], api
    aggregates = ("households/aggregate", "issues/stats", "issues/hotspots", "issues/catalogue")
    reads = [u for u in api if u.startswith(("households", "persons", "search", "issues"))
             and not u.startswith(aggregates)]
    assert reads == [], reads
