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


def _close(engine, issue_id: str, hours: float) -> None:
    """Close the issue ``hours`` after it was reported (resolved an hour before)."""
    import datetime as dt

    from sqlalchemy import select, update

    from geogrid.db.issue_models import Issue

    with engine.begin() as conn:
        reported = conn.execute(select(Issue.reported_at).where(Issue.id == issue_id)).scalar_one()
        conn.execute(update(Issue).where(Issue.id == issue_id).values(
            status="closed", resolved_at=reported + dt.timedelta(hours=hours - 1),
            closed_at=reported + dt.timedelta(hours=hours)))


def test_an_analysts_summary_gives_no_figure_of_few_households(iclient, itokens, iworld, engine):
    """Ten residents' issues, one of them closed after 30 hours.  The summary was gated on
    its issues as a whole (ten people): the figures inside it were not, so an analyst read
    the median time to close, 30 hours, and the on-time share, 100 %, of that one
    resident's issue (closed: 约 0).  Each figure is now given only when its own issues
    are of MIN_BIN households or people, and ``summary_withheld`` names those that are
    not (a count of none too, as a row of none is not given).  Cadres: exact, none."""
    hot, analyst = itokens["hotline"], itokens["analyst"]
    x, y = point(V2, 1)
    _residents(iclient, hot, (x, y), n=10)
    ids = [f["id"] for f in iclient.get("/api/v1/issues", headers=hot).json()["features"]]
    _close(engine, ids[0], 30)

    got = _stats(iclient, analyst, by="status")
    s = got["summary"]
    assert (s["total"], s["open"]) == (10, 10), s  # ten of ten people, nine of nine
    assert (s["closed"], s["on_time_share"], s["median_hours_to_close"]) == (None, None, None), s  # was (0, 1.0, 30.0)
    assert s["overdue"] is None, s
    assert sorted(got["summary_withheld"]) == ["closed", "median_hours_to_close", "on_time_share", "overdue"]
    exact = _stats(iclient, hot, by="status")
    assert exact["summary"]["median_hours_to_close"] == 30.0 and exact["summary_withheld"] == []

    for iid in ids[1:MIN_BIN]:  # five people's issues closed
        _close(engine, iid, 40)
    got = _stats(iclient, analyst, by="status")
    s = got["summary"]
    assert (s["closed"], s["open"], s["on_time_share"], s["median_hours_to_close"]) == (5, 5, 1.0, 40.0), s
    assert got["summary_withheld"] == ["overdue"]

    # of fewer than MIN_BIN people in all: every figure withheld, each named
    got = _stats(iclient, analyst, by="status", since="2030-01-01")
    assert set(got["summary"].values()) == {None} and len(got["summary_withheld"]) == len(got["summary"])
