"""What issue hotspots and statistics tell an analyst, counted by subjects.

Analysts read no issue.  Their hotspots and statistics withhold places whose issues are
of fewer than MIN_BIN subjects (households or people, else reporting accounts), not of
fewer than MIN_BIN issues: five issues of one household passed and told its categories.
Hexagons and micro-grids are sums of the same finest parts (a hexagon's part in each
micro-grid), so crossing the two tells nothing a part withholds.  geogrid/api/issuestats.py,
geogrid/db/issuesubjects.py; both back-ends.
"""

from __future__ import annotations

import datetime as dt

import h3
import pandas as pd
import pytest

from geogrid.api import issuestats
from geogrid.api.disclosure import MIN_BIN
from tests.api.conftest import V1, V2, X0, Y0, D
from tests.api.test_privacy_review_3 import _hotspots, _report, _stats
from tests.issues.conftest import clock, iclient, issue_app, itokens, iworld, point  # noqa: F401

API = "/api/v1"


def _person_phones(world, village: str, household: int) -> list[str]:
    """The phones of the two persons of ``village``'s household ``household`` (tests/api's
    world gives each household two persons, in order)."""
    first = (0 if village == V1 else 12) + 2 * household
    return world.phones[first:first + 2]


def test_an_analysts_hotspot_of_many_issues_of_few_households_is_withheld(iclient, itokens, iworld):
    """Six issues at one spot, asked for by both persons of two households (one of them
    twice, and in another spelling of the number): six issues, two subjects.  k counted
    issues, so the hexagon was counted and told an analyst these two households'
    categories.  Now it is withheld (all six suppressed, whatever the filter) until its
    issues are of MIN_BIN subjects; admins and cadres are told the issues exactly."""
    assert MIN_BIN == 5
    hot, analyst = itokens["hotline"], itokens["analyst"]
    x, y = point(V2, 1)
    a1, a2 = _person_phones(iworld, V2, 0)
    b1, b2 = _person_phones(iworld, V2, 1)
    phones = [a1, a2, f"+86 {a1[:3]}-{a1[3:7]}-{a1[7:]}", b1, b2, b2]
    for k, phone in enumerate(phones):
        _report(iclient, hot, (x + k * 2e-5, y), category="care" if k == 0 else "sanitation",
                contact_phone=phone)
    crowd = h3.latlng_to_cell(y, x, 8)

    def analysts_crowd(**params):
        body = _hotspots(iclient, analyst, resolution=8, **params)
        none = {"issues": 0, "open": 0, "overdue": 0, "suppressed": 0, "withheld": 0}
        return {f["id"]: f["properties"] for f in body["features"]}.get(crowd, none)

    for category in ("care", "sanitation", None):
        p = analysts_crowd(**({"category": category} if category else {}))
        assert (p["issues"], p["open"], p["suppressed"]) == (0, 0, 6), (category, p)
    got = _stats(iclient, analyst, by="microgrid_key,category")
    assert got["counts"] == [] and got["suppressed"] == [{"microgrid_key": f"{V2}-M01", "count": 6}], got
    # admins and cadres read the issues: told them exactly, as before
    for who in ("admin", "hotline"):
        body = _hotspots(iclient, itokens[who], resolution=8, category="care")
        assert [(f["id"], f["properties"]["issues"], f["properties"]["suppressed"])
                for f in body["features"]] == [(crowd, 1, 0)]
        got = _stats(iclient, itokens[who], by="microgrid_key,category")
        assert got["counts"] == [{"microgrid_key": f"{V2}-M01", "category": "care", "count": 1},
                                 {"microgrid_key": f"{V2}-M01", "category": "sanitation", "count": 5}]
        assert got["suppressed"] == []
    # three more residents (phones no person gives): five subjects, counted, rounded to
    # ROUND_TO; the one care request is one household's and is not given by itself
    for k in range(3):
        _report(iclient, hot, (x, y + k * 2e-5), contact_phone=f"1390000001{k}")
    p = analysts_crowd(category="care")
    assert (p["issues"], p["suppressed"], p["withheld"]) == (0, 0, 0), p
    assert analysts_crowd()["issues"] == 10  # nine issues of five subjects


def test_an_analysts_hotspot_of_one_accounts_issues_is_withheld(iclient, itokens, iworld):
    """Issues with no contact are of the account that reported them: five of one cadre
    are one subject, withheld; of four accounts, four; a resident's phone makes five."""
    analyst = itokens["analyst"]
    x, y = point(V2, 1)
    crowd = h3.latlng_to_cell(y, x, 8)

    def analysts_crowd():
        by_id = {f["id"]: f["properties"] for f in _hotspots(iclient, analyst, resolution=8)["features"]}
        return by_id[crowd]["issues"], by_id[crowd]["suppressed"]

    for k in range(MIN_BIN):
        _report(iclient, itokens["hotline"], (x + k * 2e-5, y))
    assert analysts_crowd() == (0, MIN_BIN)
    for who in ("admin", "town", "cadre2c"):  # three more accounts whose scope holds the spot
        _report(iclient, itokens[who], (x, y + 2e-5))
    assert analysts_crowd() == (0, MIN_BIN + 3)
    _report(iclient, itokens["hotline"], (x, y + 4e-5), contact_phone="13900000050")
    assert analysts_crowd() == (10, 0)  # nine issues of five subjects, rounded


def test_crossing_hotspots_with_micro_grid_statistics_tells_an_analyst_nothing_withheld(iclient, itokens, iworld):
    """A hexagon across the border of two micro-grids (here villages V1 and V2): five
    residents' issues on V2's side, one care request on V1's, five more residents' issues
    elsewhere in V1.  Withheld each on its own, the hexagon (six subjects) and V1's
    micro-grid (six) were both counted: hotspots with category=care put a care request in
    the hexagon, statistics in V1's micro-grid, so it came from the hexagon's part in V1,
    where one household lives.  Now both are sums of the same parts, and the part of one
    subject is withheld in each."""
    hot, analyst = itokens["hotline"], itokens["analyst"]
    y = Y0 + D / 2
    west, east = (X0 + D - 1e-3, y), (X0 + D + 1e-3, y)
    elsewhere = point(V1, 0)
    border = h3.latlng_to_cell(y, west[0], 8)
    assert h3.latlng_to_cell(y, east[0], 8) == border
    assert h3.latlng_to_cell(elsewhere[1], elsewhere[0], 8) != border
    for k in range(MIN_BIN):
        _report(iclient, hot, (east[0] + k * 2e-5, y), contact_phone=f"1390000002{k}")
        _report(iclient, hot, (elsewhere[0] + k * 2e-5, elsewhere[1]), contact_phone=f"1390000003{k}")
    _report(iclient, hot, west, category="care", description="独居老人需要照顾", contact_phone="13900000040")
    for res in range(5, 12):
        body = _hotspots(iclient, analyst, resolution=res, category="care")
        assert sum(f["properties"]["issues"] for f in body["features"]) == 0, (res, body["features"])
        assert sum(f["properties"]["suppressed"] for f in body["features"]) == 1
    by_id = {f["id"]: f["properties"] for f in _hotspots(iclient, analyst, resolution=8)["features"]}
    assert (by_id[border]["issues"], by_id[border]["suppressed"]) == (MIN_BIN, 1)
    for by in ("microgrid_key,category", "village_code,category", "category"):
        got = _stats(iclient, analyst, by=by)
        assert not [r for r in got["counts"] if r["category"] == "care"], (by, got)
        assert sum(r["count"] for r in got["suppressed"]) == 1, (by, got)
    # who reads the issues is told where the care request is
    got = _stats(iclient, itokens["admin"], by="microgrid_key,category")
    assert {"microgrid_key": f"{V1}-M01", "category": "care", "count": 1} in got["counts"]


# --- periods (the issuestats side of since/until) ----------------------------------------------
def _frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Issues at one spot of one micro-grid: (subject, category, day reported)."""
    return pd.DataFrame({
        "id": [f"i{k}" for k in range(len(rows))], "subject": [r[0] for r in rows],
        "category": [r[1] for r in rows], "status": "reported", "level": "cell",
        "village_code": V1, "microgrid_key": f"{V1}-M01", "cell_key": f"{V1}-M01-C01",
        "reported_at": [pd.Timestamp(r[2], tz="UTC") for r in rows],
        "due_at": [pd.Timestamp(r[2], tz="UTC") + pd.Timedelta(days=7) for r in rows],
        "lon": X0 + D / 4, "lat": Y0 + D / 2})


@pytest.mark.parametrize("by", [["category"], ["microgrid_key", "category"]])
def test_given_every_period_the_statistics_of_two_periods_differ_by_what_each_tells(by):
    """Withheld by each period's own issues, a part of six subjects was counted in
    March to April and in March (its five residents' issues) but not in April (one care
    request): the two answers differed by that care request.  Given every issue of the
    scope (``whole``), the parts are withheld by their subjects of every period, and a
    part of fewer subjects is withheld in every period, told the same.  The care request
    is a row of one subject: given in no period (test_issue_small_rows)."""
    march = [(f"phone:{k}", "sanitation", "2025-03-10") for k in range(MIN_BIN)]
    april = [("household:h1", "care", "2025-04-02")]
    whole = _frame(march + april)
    in_march, in_april = whole.iloc[:MIN_BIN], whole.iloc[MIN_BIN:]

    def told(frame, **kw):
        rows, suppressed, withheld = issuestats.withheld_counts(frame, by, None, **kw)
        return sorted((r["category"], r["count"]) for r in rows), suppressed, withheld

    for frame in (whole, in_march, in_april):
        rows, suppressed, withheld = told(frame, whole=whole)
        assert not [c for c, _ in rows if c == "care"] and suppressed == [] and withheld == []
    assert told(whole, whole=whole)[0] == told(in_march, whole=whole)[0] == [("sanitation", 5)]
    # a part of too few subjects of all time is withheld in every period, told the same
    few = _frame([("household:h1", "care", "2025-03-10")] * 3 + [("household:h2", "care", "2025-04-02")])
    for frame in (few, few.iloc[:3], few.iloc[3:]):
        rows, suppressed, withheld = issuestats.withheld_counts(frame, by, "month", whole=few)
        assert not [r for r in rows if r.get("count") and "category" in r], rows
        assert [s["count"] for s in suppressed] == [4] and withheld == []
    now = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
    features, _ = issuestats.withheld_hotspots(few, 8, now, categories=["care"])
    assert [(f["properties"]["issues"], f["properties"]["suppressed"]) for f in features] == [(0, 4)]


def test_an_analysts_statistics_of_overlapping_periods_tell_nothing_a_part_withholds(iclient, itokens, iworld,
                                                                                   clock):
    """Through the route: five residents report sanitation at one spot in March, and one
    of a sixth household asks for care there in April.  The route used to withhold each
    period by its own issues: March-April counted the part (six subjects) and April
    alone withheld it, so the two answers differed by April's care request and told an
    analyst there was one.  It now withholds parts by every issue of the scope
    (``whole``), and the care request, a row of one household, is given in no period."""
    hot, analyst = itokens["hotline"], itokens["analyst"]
    x, y = point(V2, 1)
    phones = iworld.phones[12:12 + 2 * (MIN_BIN + 1):2]  # one person of each of six households
    for k, phone in enumerate(phones[:MIN_BIN]):
        _report(iclient, hot, (x + k * 2e-5, y), contact_phone=phone)
    clock.advance(days=31)
    _report(iclient, hot, (x, y + 2e-5), category="care", contact_phone=phones[MIN_BIN])

    def care(**period):
        got = _stats(iclient, analyst, by="microgrid_key,category", **period)
        return sum(r["count"] for r in got["counts"] if r["category"] == "care"), got

    both, got = care(since="2025-03-01", until="2025-05-01")
    assert both == 0 and got["counts"] == [{"microgrid_key": f"{V2}-M01", "category": "sanitation",
                                            "count": MIN_BIN}], got
    april, got = care(since="2025-04-01", until="2025-05-01")
    assert april == 0 and got["suppressed"] == [] and got["withheld"] == [], got
    march, got = care(since="2025-03-01", until="2025-04-01")
    assert march == 0 and got["suppressed"] == [], got
    # an analyst's period is whole weeks, Monday to Monday
    assert (got["since"], got["until"], got["rounded_to"]) == ("2025-02-24", "2025-04-07", 5), got
