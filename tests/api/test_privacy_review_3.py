"""A hostile review of the personal-data rules through the HTTP API (third round).

Each test here proved a leak before its fix: issue reads that left no audit row,
households of no village read by every county's accounts, a cell leader's validation
naming the households of the cells beside theirs, a dispatch refusal naming an account,
the H3 aggregate telling an analyst one house's care level, and issue hotspots and
statistics telling an analyst where a lone care request came from.
"""

from __future__ import annotations

import h3
import pytest
from sqlalchemy import text

from tests.api.conftest import COUNTY, V1, V2, X0, Y0, D
from tests.api.test_privacy_review_2 import OTHER, _token, other_county  # noqa: F401
from tests.issues.conftest import clock, iclient, issue_app, itokens, iworld, png_bytes, point, user_ids  # noqa: F401

API = "/api/v1"


def _audit(client, admin, **params) -> list[dict]:
    r = client.get(f"{API}/audit", params={"limit": 1000, **params}, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def _report(client, headers, where, **extra):
    lon, lat = where
    body = {"category": "sanitation", "lon": lon, "lat": lat, "description": "垃圾堆放在路边", **extra}
    r = client.post(f"{API}/issues", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


# --- 1. issue reads are audited ---------------------------------------------------------------
def test_issue_reads_are_audited_one_row_per_request(iclient, itokens):
    """An issue carries its reporter's name and contact, photos and a place; GET of one
    issue, its timeline, its photos, the list and the inbox wrote no audit row (only the
    CSV export did).  Lists write one row per request, not one per issue."""
    first = _report(iclient, itokens["cell1"], point(V1, 0), contact_name="王小明",
                    contact_phone="13812345678")
    _report(iclient, itokens["cell1"], point(V1, 0, fy=0.3))
    r = iclient.post(f"{API}/issues/{first}/photos", headers=itokens["cell1"], data={"kind": "report"},
                     files={"file": ("p.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    photo = r.json()
    admin = itokens["admin"]
    before = {e["id"] for e in _audit(iclient, admin, actor="cadre1")}

    cadre = itokens["cadre1"]
    assert iclient.get(f"{API}/issues/{first}", headers=cadre).status_code == 200
    assert iclient.get(f"{API}/issues/{first}/events", headers=cadre).status_code == 200
    assert iclient.get(photo["thumbnail_url"], headers=cadre).status_code == 200
    listed = iclient.get(f"{API}/issues", headers=cadre).json()
    assert listed["numberReturned"] == 2
    assert len(iclient.get(f"{API}/issues/inbox", headers=cadre).json()["features"]) == 2
    assert iclient.get(f"{API}/issues/export.csv", headers=cadre).status_code == 200

    rows = [e for e in _audit(iclient, admin, actor="cadre1") if e["id"] not in before]
    got = sorted((e["action"], e["object_type"], e["object_id"] or "", e["result"]) for e in rows)
    assert got == sorted([
        ("read", "issue", first, "ok"),  # the issue
        ("read", "issue", first, "ok"),  # its timeline
        ("read", "issue", first, "ok"),  # its photo
        ("list", "issue", "", "ok"),  # GET /issues: one row for two issues
        ("list", "issue", "", "ok"),  # the inbox
        ("export", "issue", "", "ok"),
    ]), got
    lists = [e for e in rows if e["action"] == "list"]
    assert sorted(e["detail"]["returned"] for e in lists) == [2, 2]
    assert {e["detail"].get("photo") for e in rows if e["action"] == "read"} >= {photo["id"]}

    # a refused read is on record too: out of scope (404) and a role that may not (403)
    assert iclient.get(f"{API}/issues/{first}", headers=itokens["cadre2c"]).status_code == 404
    assert iclient.get(f"{API}/issues/{first}", headers=itokens["analyst"]).status_code == 403
    refused = {(e["actor"], e["object_id"], e["result"])
               for who in ("cadre2c", "analyst") for e in _audit(iclient, admin, actor=who)}
    assert ("cadre2c", first, "not_found") in refused and ("analyst", first, "denied") in refused


def test_open311_reads_are_audited(iclient, itokens):
    """Open311's GET requests (a key's user's issues, or the public categories) wrote no
    audit row: one row per request, as the key's user or as an anonymous reader."""
    iid = _report(iclient, itokens["cadre1"], point(V1, 0))
    r = iclient.post(f"{API}/api-keys", json={"username": "hotline", "name": "12345"},
                     headers=itokens["admin"])
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    listed = iclient.get("/open311/v2/requests.json", params={"api_key": key})
    assert listed.status_code == 200 and [x["service_request_id"] for x in listed.json()] == [iid]
    one = iclient.get(f"/open311/v2/requests/{iid}.xml", params={"api_key": key})
    assert one.status_code == 200
    public = iclient.get("/open311/v2/requests.json")
    assert public.status_code == 200 and len(public.json()) == 1  # sanitation is public
    rows = _audit(iclient, itokens["admin"], object_type="issue")
    got = sorted((e["actor"], e["action"], e["object_id"] or "", e["detail"].get("via"))
                 for e in rows if e["action"] != "report")
    assert got == sorted([("hotline", "list", "", "open311"), ("hotline", "read", iid, "open311"),
                          ("(anonymous)", "list", "", "open311")]), got


# --- 2. households of no village --------------------------------------------------------------
@pytest.fixture
def unplaced(engine, world, other_county):
    """Three households of no village code: in our county's outline, in the other
    county's, and in neither.  Returns their ids by where they lie."""
    from geogrid.db.engine import make_sessionmaker
    from geogrid.db.models import Household

    out = {}
    with make_sessionmaker(engine)() as s:
        for name, (x, y) in {"ours": (X0 + D / 3, Y0 + D / 10), "theirs": (116.302, 39.902),
                             "nowhere": (100.0, 30.0)}.items():
            h = Household(household_no=f"NV-{name}", head_name="孙七", address=f"{name} 1号",
                          village_code=None, care_level="red", source_crs="wgs84",
                          geom=f"SRID=4326;POINT({x} {y})")
            s.add(h)
            s.flush()
            out[name] = h.id
        s.commit()
    return out


def test_households_of_no_village_are_their_countys_only(client, tokens, engine, unplaced):
    """With two counties in one database a household of no village code (imported where
    no village outline holds it) was read, listed and counted by every county-wide
    account of every county.  It is now an admin's, and a county-wide account's of the
    county whose outline holds its point; village, micro-grid and cell accounts never
    see it (it is in none of their villages or cells)."""
    ours = _token(engine, "county_cadre", "cadre", [f"area:{COUNTY}"])
    theirs = _token(engine, "other_cadre", "cadre", [f"area:{OTHER}"])
    who = {"admin": tokens["admin"], "ours": ours, "planner": tokens["planner"], "theirs": theirs,
           "cadre1": tokens["cadre1"]}
    expect = {"ours": {"admin": 200, "ours": 200, "planner": 200, "theirs": 404, "cadre1": 404},
              "theirs": {"admin": 200, "ours": 404, "planner": 404, "theirs": 200},
              "nowhere": {"admin": 200, "ours": 404, "theirs": 404}}
    wrong = []
    for where, table in expect.items():
        for name, status in table.items():
            got = client.get(f"{API}/households/{unplaced[where]}", headers=who[name]).status_code
            if got != status:
                wrong.append(f"{name} reading the household {where}: {got} != {status}")
    assert wrong == [], wrong
    listed = {f["id"] for f in client.get(f"{API}/households", params={"limit": 100}, headers=ours).json()["features"]}
    assert unplaced["ours"] in listed and not {unplaced["theirs"], unplaced["nowhere"]} & listed
    listed = {f["id"] for f in client.get(f"{API}/households", headers=theirs).json()["features"]}
    assert listed == {unplaced["theirs"], *other_ids(engine, OTHER)}
    # searching by address, and the aggregate, follow the same rule
    hits = client.get(f"{API}/search", params={"q": "theirs 1号"}, headers=ours).json()["hits"]
    assert hits == []
    for who, want in ((tokens["analyst"], 13), (theirs, 2), (tokens["admin"], 16)):
        agg = client.get(f"{API}/households/aggregate", params={"resolution": 4}, headers=who).json()
        assert sum(f["properties"]["households"] for f in agg["features"]) == want


def other_ids(engine, county) -> set:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT id FROM households WHERE village_code LIKE :c"),
                                {"c": f"{county}%"}).scalars())


# --- 3. validation of a cell leader -----------------------------------------------------------
def test_outside_cell_names_only_the_households_in_the_callers_scope(client, tokens, world, engine):
    """A cell's leader validating the published plan got the ``outside_cell`` warnings of
    every cell of their micro-grid, each naming a household of a cell beside theirs.
    They now get the households of their own cell by id, and for another cell only how
    many of its households lie outside it."""
    west = [h for h in world.households[V2] if world.cell_of[h].endswith("C01")]
    east = [h for h in world.households[V2] if world.cell_of[h].endswith("C02")]
    # one household of each V2 cell moved across into the other cell's half
    moves = {west[0]: (X0 + D + 3 * D / 4, Y0 + D / 5), east[0]: (X0 + D + D / 4, Y0 + D / 5)}
    with engine.begin() as conn:
        for hid, (x, y) in moves.items():
            conn.execute(text("UPDATE households SET geom = ST_GeomFromText(:w, 4326) WHERE id = :id"),
                         {"w": f"POINT({x} {y})", "id": hid})

    def outside(who):
        r = client.get(f"{API}/plans/{world.plan_id}/validation", headers=tokens[who])
        assert r.status_code == 200, r.text
        return [p for p in r.json()["problems"] if p["rule"] == "outside_cell"]

    admin = outside("admin")
    assert {o["id"] for p in admin for o in p["objects"] if o["type"] == "household"} == set(moves)
    leader = outside("cadre2c")  # cell:V2-M01-C02
    named = {o["id"] for p in leader for o in p["objects"] if o["type"] == "household"}
    assert named == {east[0]}, leader
    assert west[0] not in str(leader)
    counted = [p for p in leader if not any(o["type"] == "household" for o in p["objects"])]
    assert [(p["households"], [o.get("key") for o in p["objects"]]) for p in counted] == \
        [(1, [f"{V2}-M01-C01"])], counted


# --- 4. dispatch refusals ---------------------------------------------------------------------
def test_a_dispatch_refusal_names_no_account(iclient, itokens, user_ids, engine):
    """Dispatching to a user id that may not handle the issue answered with the account's
    username ('user <name> has no scope'), and differently for an id of no account (404),
    of an account that does not cover the place, or of one above the caller's level (403):
    a cadre could learn who is behind an id.  Every such id now gets the same answer,
    naming no one, pointing at the handler list."""
    _token(engine, "secret_agent", "cadre", [])  # an account of no scope
    with engine.connect() as conn:
        agent = conn.execute(text("SELECT id FROM users WHERE username = 'secret_agent'")).scalar()
    iid = _report(iclient, itokens["cell1"], point(V1, 0))
    r = iclient.post(f"{API}/issues/{iid}/transitions", json={"action": "accept"}, headers=itokens["cell1"])
    assert r.status_code == 200, r.text
    answers = set()
    for target in (agent, "0" * 32, user_ids["cadre2c"], user_ids["town"], user_ids["analyst"]):
        r = iclient.post(f"{API}/issues/{iid}/transitions", headers=itokens["cell1"],
                         json={"action": "dispatch", "handler_id": target})
        answers.add((r.status_code, r.json()["detail"]))
        assert "secret_agent" not in r.text and "town" not in r.json()["detail"]
    assert len(answers) == 1, answers
    status, detail = answers.pop()
    assert status == 422 and "/handlers" in detail
    # one the list offers is still taken
    r = iclient.post(f"{API}/issues/{iid}/transitions", headers=itokens["cell1"],
                     json={"action": "dispatch", "handler_id": user_ids["cell1"]})
    assert r.status_code == 200, r.text


# --- 5. the H3 aggregate ----------------------------------------------------------------------
@pytest.fixture
def hamlet(engine, world):
    """Six households at one address in V1 (a block of flats: yellow), beside the
    world's scattered houses, so some hexagons hold enough households to show levels."""
    from geogrid.db.engine import make_sessionmaker
    from geogrid.db.models import Household

    x, y = X0 + D / 4, Y0 + D / 4
    with make_sessionmaker(engine)() as s:
        for k in range(6):
            s.add(Household(household_no=f"HB{k}", head_name="周八", address="一村楼房", village_code=V1,
                            care_level="yellow", source_crs="wgs84",
                            geom=f"SRID=4326;POINT({x + k * 1e-5} {y})"))
        s.commit()
    return x, y


LEVELS = ("green", "yellow", "red", "unknown")


def test_an_analyst_learns_no_care_level_of_a_few_houses(client, tokens, world, hamlet):
    """Analysts may read aggregates, never a household; at resolution 10 the aggregate
    put most houses alone in a hexagon with their care level (a red one: 连心户, someone
    who needs looking after).  Hexagons of an analyst's answer now hold at least
    MIN_BIN_HOUSEHOLDS households before they show levels, and no resolution tells
    more than another (a coarse hexagon minus its fine ones would give the rest back)."""
    from geogrid.api.routes.households import MIN_BIN_HOUSEHOLDS

    # an admin's answer, cached as bytes for the county-wide view, is not what an analyst gets
    admin = client.get(f"{API}/households/aggregate", params={"resolution": 8}, headers=tokens["admin"]).json()
    assert sum(f["properties"]["red"] for f in admin["features"]) == 4
    totals = set()
    for res in range(4, 11):
        r = client.get(f"{API}/households/aggregate", params={"resolution": res}, headers=tokens["analyst"])
        assert r.status_code == 200, r.text
        feats = r.json()["features"]
        assert sum(f["properties"]["households"] for f in feats) == 18
        for f in feats:
            p = f["properties"]
            shown = sum(p[k] for k in LEVELS)
            assert shown + p["suppressed"] == p["households"]
            assert shown == 0 or p["households"] >= MIN_BIN_HOUSEHOLDS, (res, p)
        totals.add(tuple(sum(f["properties"][k] for f in feats) for k in (*LEVELS, "suppressed")))
    assert len(totals) == 1, totals
    _green, yellow, _red, _unknown, suppressed = totals.pop()
    assert yellow >= 6 and suppressed >= 1  # the block of flats shows, lone houses do not
    # a cadre reads the households of their village, levels included: their map is unchanged
    r = client.get(f"{API}/households/aggregate", params={"resolution": 10}, headers=tokens["cadre1"])
    feats = r.json()["features"]
    assert sum(f["properties"]["red"] for f in feats) == 2
    assert all(f["properties"]["suppressed"] == 0 for f in feats)
    lone = world.households[V1][2]  # red, alone in its hexagon
    house = client.get(f"{API}/households/{lone}", headers=tokens["cadre1"]).json()
    lon, lat = house["geometry"]["coordinates"]
    mine = [f for f in feats if f["id"] == h3.latlng_to_cell(lat, lon, 10)]
    assert mine and mine[0]["properties"]["households"] == 1 and mine[0]["properties"]["red"] == 1


# --- 6. issue hotspots --------------------------------------------------------------------------
@pytest.fixture
def care_issues(iclient, itokens):
    """Six issues at one spot of V2's east cell (five sanitation, one care), each of
    another resident (a contact phone no registered person gives: six subjects, enough
    to be told apart), and one care request alone in V1's west cell (someone who needs
    looking after: 独居老人).  Returns the two spots (lon, lat)."""
    hot = itokens["hotline"]
    x, y = point(V2, 1)
    for k in range(6):
        _report(iclient, hot, (x + k * 2e-5, y), category="care" if k == 0 else "sanitation",
                contact_phone=f"1390000000{k}")
    lone = point(V1, 0)
    _report(iclient, hot, lone, category="care", description="独居老人需要照顾", contact_phone="13900000009")
    return (x, y), lone


def _hotspots(client, headers, **params):
    r = client.get(f"{API}/issues/hotspots", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_analyst_learns_no_issue_of_a_hexagon_of_few(iclient, itokens, care_issues):
    """Analysts read issue statistics and hotspots, never an issue; hotspots at resolution
    11 filtered by category=care put a lone care request within about 25 m.  An analyst's
    hexagons now hold at least MIN_BIN issues (of every category and status) at
    resolution 8 before they count them by the filter, smaller ones count all their
    issues as suppressed whichever the filter, no resolution tells more than another,
    and a bbox takes whole hexagons (a box cutting one would count part of it)."""
    (x, y), (lx, ly) = care_issues
    crowd, lone = h3.latlng_to_cell(y, x, 8), h3.latlng_to_cell(ly, lx, 8)
    assert crowd != lone and h3.latlng_to_cell(y, x + 1e-4, 8) == crowd
    analyst = itokens["analyst"]
    totals = set()
    for res in range(5, 12):
        body = _hotspots(iclient, analyst, resolution=res, category="care")
        assert body["resolution"] == min(res, 8)
        for f in body["features"]:
            p = f["properties"]
            assert h3.get_resolution(f["id"]) == min(res, 8)
            if p["issues"]:  # counted by the filter: a hexagon of the crowd's, never the lone one's
                assert h3.cell_to_parent(crowd, min(res, 8)) == f["id"], (res, p)
        totals.add(tuple(sum(f["properties"][k] for f in body["features"])
                         for k in ("issues", "open", "overdue", "suppressed")))
    # the crowd's one care request is one household's: not given (test_issue_small_rows)
    assert totals == {(0, 0, 0, 1)}, totals
    # the lone hexagon is told the same whatever the filter: its issues, suppressed
    for category in ("care", "sanitation", None):
        params = {"resolution": 8} | ({"category": category} if category else {})
        by_id = {f["id"]: f["properties"] for f in _hotspots(iclient, analyst, **params)["features"]}
        assert (by_id[lone]["issues"], by_id[lone]["suppressed"]) == (0, 1), (category, by_id)
        crowds = by_id.get(crowd, {}).get("issues", 0)
        assert crowds == {"care": 0, "sanitation": 5, None: 5}[category]  # six rounded to 5
    # a box holding the crowd's hexagon's centre and none of its issues counts it whole
    clat, clon = h3.cell_to_latlng(crowd)
    assert min(abs(clon - x - k * 2e-5) for k in range(6)) > 2e-5 or abs(clat - y) > 2e-5
    box = f"{clon - 1e-5},{clat - 1e-5},{clon + 1e-5},{clat + 1e-5}"
    got = _hotspots(iclient, analyst, resolution=8, bbox=box)["features"]
    assert [(f["id"], f["properties"]["issues"]) for f in got] == [(crowd, 5)]  # six, rounded
    # an admin and a county cadre read the issues themselves: their answers stay exact
    for who in ("admin", "hotline"):
        body = _hotspots(iclient, itokens[who], resolution=11, category="care")
        assert body["resolution"] == 11
        assert sorted((f["id"], f["properties"]["issues"], f["properties"]["suppressed"])
                      for f in body["features"]) == sorted(
            [(h3.latlng_to_cell(y, x, 11), 1, 0), (h3.latlng_to_cell(ly, lx, 11), 1, 0)])


# --- 7. issue statistics -----------------------------------------------------------------------
def _stats(client, headers, **params):
    r = client.get(f"{API}/issues/stats", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_an_analyst_learns_no_issue_category_of_a_small_place(iclient, itokens, care_issues):
    """Issue statistics grouped by cell (at most 20 households) and category told an
    analyst that one of a cell's households asked for care.  An analyst is answered by
    micro-grid at the finest (about 1 km², as the hotspots' 0.74 km² hexagons); a place
    of fewer than MIN_BIN issues in the period gives them as suppressed, not by category,
    status, level or period, and coarser places (a village, the county) are sums of whole
    micro-grids, so that no grouping gives back what another withholds."""
    analyst = itokens["analyst"]
    r = iclient.get(f"{API}/issues/stats", params={"by": "cell_key,category"}, headers=analyst)
    assert r.status_code == 403 and "microgrid_key" in r.json()["detail"], r.text
    m1, m2 = f"{V1}-M01", f"{V2}-M01"
    # V2's care request is one household's row: not given by itself (test_issue_small_rows)
    got = _stats(iclient, analyst, by="microgrid_key,category")
    assert got["counts"] == [{"microgrid_key": m2, "category": "sanitation", "count": 5}]
    assert got["suppressed"] == [{"microgrid_key": m1, "count": 1}]
    got = _stats(iclient, analyst, by="category,village_code")
    assert got["counts"] == [{"category": "sanitation", "village_code": V2, "count": 5}]
    assert got["suppressed"] == [{"village_code": V1, "count": 1}]
    for params in ({"by": "category"}, {"by": "category,status", "period": "week"}):
        got = _stats(iclient, analyst, **params)
        care = sum(row["count"] for row in got["counts"] if row["category"] == "care")
        assert care == 0 and got["suppressed"] == [{"count": 1}], got
    # the whole scope, no place: of enough subjects to be told, rounded (7 issues)
    assert _stats(iclient, analyst, by="status")["summary"]["total"] == 5
    # who reads the issues themselves is answered exactly, by cell too
    for who in ("admin", "hotline"):
        got = _stats(iclient, itokens[who], by="cell_key,category")
        assert {"cell_key": f"{V1}-M01-C01", "category": "care", "count": 1} in got["counts"]
        assert got["suppressed"] == []
