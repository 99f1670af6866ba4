"""Small rows inside counted places: what a filter or a day told an analyst.

A part (a resolution-8 hexagon's part of a micro-grid) whose issues are of MIN_BIN
households or people is counted by category, status and period; inside it a row could
still be one household's: hotspots with ``category=care``, statistics by category or by
day told an analyst that one household of a shown micro-grid asked for care on a given
day.  Every row an analyst is told is now itself of MIN_BIN subjects, the others summed
as ``withheld``, every figure but ``suppressed`` rounded to ROUND_TO, and time comes in
whole weeks.  geogrid/api/disclosure.py, geogrid/api/issuestats.py; both back-ends.
"""

from __future__ import annotations

import h3

from geogrid.api.disclosure import MIN_BIN, ROUND_TO
from tests.api.conftest import V2
from tests.api.test_issue_contact_names import _crowd, _residents
from tests.api.test_privacy_review_3 import _report, _stats
from tests.issues.conftest import clock, iclient, issue_app, itokens, iworld, point  # noqa: F401


def _all_figures(body: dict) -> list[int]:
    return [r["count"] for key in ("counts", "withheld") for r in body[key]]


def test_a_category_filter_tells_an_analyst_no_small_row_of_a_counted_place(iclient, itokens, iworld):
    """Five residents' sanitation issues and three care requests of two households at
    one spot of V2: seven subjects, so the part is counted.  Hotspots with
    ``category=care`` gave the hexagon's three care requests, statistics by micro-grid
    and category a care row of 3: two households' requests, in a micro-grid an analyst
    can name.  The care row is now withheld (its three issues in ``withheld``, rounded to
    5), the rest rounded; a micro-grid's total less its categories gives back no care
    count.  Admins and cadres are told the rows exactly."""
    hot, analyst = itokens["hotline"], itokens["analyst"]
    x, y = point(V2, 1)
    _residents(iclient, hot, (x, y))
    first, second = iworld.phones[12], iworld.phones[14]  # two households of V2
    for phone in (first, first, second):
        _report(iclient, hot, (x, y + 2e-5), category="care", description="独居老人需要照顾",
                contact_phone=phone)
    crowd = h3.latlng_to_cell(y, x, 8)

    p = _crowd(iclient, analyst, crowd, category="care")
    assert (p["issues"], p["suppressed"]) == (0, 0), p  # was (3, 0): two households' requests
    assert p["withheld"] == ROUND_TO, p  # three, rounded
    p = _crowd(iclient, analyst, crowd, category="sanitation")
    assert (p["issues"], p["withheld"]) == (MIN_BIN, 0), p
    assert _crowd(iclient, analyst, crowd)["issues"] == 10  # eight issues of seven subjects

    m2 = f"{V2}-M01"
    got = _stats(iclient, analyst, by="microgrid_key,category")
    assert got["counts"] == [{"microgrid_key": m2, "category": "sanitation", "count": MIN_BIN}], got
    assert got["withheld"] == [{"microgrid_key": m2, "count": ROUND_TO}] and got["suppressed"] == []
    assert got["rounded_to"] == ROUND_TO
    total = _stats(iclient, analyst, by="microgrid_key")["counts"]
    assert total == [{"microgrid_key": m2, "count": 10}]
    assert total[0]["count"] - MIN_BIN != 3  # the care row is not the difference
    for by in ("category", "status,category", "village_code,category,level"):
        got = _stats(iclient, analyst, by=by)
        assert not [r for r in got["counts"] if r.get("category") == "care"], (by, got)
        assert all(n % ROUND_TO == 0 for n in _all_figures(got)), (by, got)

    for who in ("admin", "hotline"):
        p = _crowd(iclient, itokens[who], crowd, category="care")
        assert (p["issues"], p["suppressed"]) == (3, 0), p
        got = _stats(iclient, itokens[who], by="microgrid_key,category")
        assert {"microgrid_key": m2, "category": "care", "count": 3} in got["counts"]
        assert (got["withheld"], got["rounded_to"]) == ([], 1)


def test_a_day_tells_an_analyst_no_small_row_of_a_counted_place(iclient, itokens, iworld, clock):
    """Five residents report on a Monday, one household asks for care on the Wednesday.
    ``period=day``, or ``since``/``until`` a day apart, told an analyst one care request
    in V2's micro-grid that Wednesday.  ``period=day`` is now refused to an analyst, and
    a period is widened to whole weeks, whose care row is one household's: withheld.
    Admins and cadres still get days, exactly."""
    hot, analyst = itokens["hotline"], itokens["analyst"]
    x, y = point(V2, 1)
    _residents(iclient, hot, (x, y))  # Monday 2025-03-03
    clock.advance(days=2)
    _report(iclient, hot, (x, y + 2e-5), category="care", contact_phone=iworld.phones[12])

    r = iclient.get("/api/v1/issues/stats", params={"by": "category", "period": "day"}, headers=analyst)
    assert r.status_code == 403 and "period=week" in r.json()["detail"], r.text
    got = _stats(iclient, analyst, by="microgrid_key,category", since="2025-03-05", until="2025-03-06")
    assert (got["since"], got["until"]) == ("2025-03-03", "2025-03-10"), got
    assert got["counts"] == [{"microgrid_key": f"{V2}-M01", "category": "sanitation", "count": MIN_BIN}], got
    assert got["withheld"] == [] and got["suppressed"] == [], got
    got = _stats(iclient, analyst, by="category", period="week")
    assert got["counts"] == [{"category": "sanitation", "period": "2025-03-03", "count": MIN_BIN}], got

    for who in ("admin", "hotline"):
        got = _stats(iclient, itokens[who], by="category", period="day")
        assert {"category": "care", "period": "2025-03-05", "count": 1} in got["counts"], got
        got = _stats(iclient, itokens[who], by="category", since="2025-03-05", until="2025-03-06")
        assert got["counts"] == [{"category": "care", "count": 1}] and got["since"] == "2025-03-05", got


def test_an_analysts_summary_of_few_households_is_withheld_and_else_rounded(iclient, itokens, iworld):
    """The summary (totals, overdue, on-time share, time to close) was exact for an
    analyst's whole scope in any window: an analyst of one village asking for a week read
    that one household's issue was overdue.  Of fewer than MIN_BIN subjects it is now
    all null; else its counts are rounded.  Cadres are told it exactly."""
    hot, analyst = itokens["hotline"], itokens["analyst"]
    x, y = point(V2, 1)
    for k in range(MIN_BIN - 1):  # four residents (phones of no registered household)
        _report(iclient, hot, (x, y + k * 2e-5), contact_phone=f"1390000100{k}")
    assert set(_stats(iclient, analyst, by="status")["summary"].values()) == {None}
    assert _stats(iclient, hot, by="status")["summary"]["total"] == MIN_BIN - 1
    for k in range(3):  # a fifth resident's three issues: seven issues of five
        _report(iclient, hot, (x, y + 9e-5), contact_phone="13900001099")
    got = _stats(iclient, analyst, by="status")["summary"]
    assert (got["total"], got["open"]) == (ROUND_TO, ROUND_TO), got  # 7, rounded
    assert _stats(iclient, hot, by="status")["summary"]["total"] == 7
