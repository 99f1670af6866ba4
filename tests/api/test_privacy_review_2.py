"""A hostile review of the personal-data rules through the HTTP API (second round).

Each test here proved a leak before its fix: another county's residents read by a
county-wide account, out-of-scope issues named to a reporter, numbers typed with
separators that the free-text masking let through.
"""

from __future__ import annotations

import datetime as dt

import pytest

from geogrid.idnumber import make_id_number
from tests.api.conftest import COUNTY, PASSWORD, SECRET, _password_hash  # noqa: F401

API = "/api/v1"
OTHER, OTHER_TOWN, OTHER_VILLAGE = "110101", "110101001000", "110101001001"


def _token(engine, username, role=None, scopes=None) -> dict:
    """A bearer header for ``username``, creating the user when ``role`` is given."""
    from sqlalchemy import select

    from geogrid.api.security import issue_token
    from geogrid.db.engine import make_sessionmaker
    from geogrid.db.models import User

    with make_sessionmaker(engine)() as s:
        if role is not None:
            s.add(User(username=username, password_hash=_password_hash(), role=role, scopes=scopes))
            s.commit()
        uid, urole, pw = s.execute(select(User.id, User.role, User.password_hash)
                                   .where(User.username == username)).one()
    token, _ = issue_token(SECRET, user_id=uid, username=username, role=urole, password_hash=pw, minutes=30)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def other_county(engine, world):
    """A second county in the same database: county -> town -> village, one household of
    one resident (no plan).  Returns (household id, person id, its ID number)."""
    from shapely.geometry import box

    from geogrid.db.engine import make_sessionmaker
    from geogrid.db.models import Area, Household, Person

    poly = box(116.30, 39.90, 116.31, 39.91)
    ewkt = f"SRID=4326;MULTIPOLYGON((({', '.join(f'{x} {y}' for x, y in poly.exterior.coords)})))"
    idn = make_id_number(OTHER, dt.date(1971, 6, 5), 33, "M")
    with make_sessionmaker(engine)() as s:
        s.add_all([
            Area(code=OTHER, name="东城区", level="county", geom=ewkt, vintage=2023),
            Area(code=OTHER_TOWN, name="东华门街道", level="town", parent_code=OTHER, geom=ewkt, vintage=2023),
            Area(code=OTHER_VILLAGE, name="多福巷社区", level="village", parent_code=OTHER_TOWN,
                 geom=ewkt, vintage=2023),
        ])
        s.flush()
        h = Household(household_no="B0001", head_name="赵六", address="多福巷1号",
                      village_code=OTHER_VILLAGE, care_level="red", source_crs="wgs84",
                      geom="SRID=4326;POINT(116.305 39.905)")
        s.add(h)
        s.flush()
        p = Person(household_id=h.id, name="赵六", gender="M", birth_date=dt.date(1971, 6, 5),
                   id_number=idn, phone="13900001111", relation="户主", party_member=False)
        s.add(p)
        s.commit()
        return h.id, p.id, idn


# --- another county ---------------------------------------------------------------------------
def test_a_county_wide_account_reads_nothing_of_another_county(client, tokens, engine, other_county):
    """``area:<county>`` made the scope unrestricted: with two counties in one database, a
    county-wide cadre or planner of one read, revealed, listed and searched the other's
    households and residents (200 where the rule is 404)."""
    hh, person, idn = other_county
    cadre = _token(engine, "county_cadre", "cadre", [f"area:{COUNTY}"])
    planner = tokens["planner"]  # area:431227
    for who in (cadre, planner):
        r = client.get(f"{API}/households/{hh}", headers=who)
        assert r.status_code == 404, r.text
        r = client.get(f"{API}/households", params={"bbox": "116.2,39.8,116.4,40.0"}, headers=who)
        assert r.status_code == 200 and r.json()["features"] == [], r.text
        r = client.get(f"{API}/areas/{OTHER_VILLAGE}", headers=who)
        assert r.status_code == 404, r.text
    assert client.get(f"{API}/persons/{person}", headers=cadre).status_code == 404
    r = client.post(f"{API}/persons/{person}/reveal", json={"purpose": "核实户籍信息"}, headers=cadre)
    assert r.status_code == 404, r.text
    r = client.get(f"{API}/search", params={"q": idn[-4:], "kind": "id_tail"}, headers=cadre)
    assert r.status_code == 200 and r.json()["hits"] == [], r.text
    r = client.get(f"{API}/search", params={"q": "多福巷"}, headers=cadre)
    assert r.status_code == 200 and r.json()["hits"] == [], r.text
    # their own county is still theirs, and an admin still sees everything
    assert client.get(f"{API}/households", headers=cadre).json()["numberMatched"] == 12
    assert client.get(f"{API}/households/{hh}", headers=tokens["admin"]).status_code == 200
    # the other county's own cadre sees their county and not ours
    theirs = _token(engine, "other_cadre", "cadre", [f"area:{OTHER}"])
    assert client.get(f"{API}/persons/{person}", headers=theirs).status_code == 200
    assert client.get(f"{API}/households", headers=theirs).json()["numberMatched"] == 1


def test_the_aggregate_of_a_county_wide_account_counts_only_its_county(client, tokens, engine, other_county):
    """The H3 aggregate served a county-wide caller the households of every county (and
    the cached bytes built for an admin)."""
    admin = client.get(f"{API}/households/aggregate", params={"resolution": 5}, headers=tokens["admin"])
    assert sum(f["properties"]["households"] for f in admin.json()["features"]) == 13
    for who in (tokens["analyst"], tokens["planner"]):
        r = client.get(f"{API}/households/aggregate", params={"resolution": 5}, headers=who)
        assert r.status_code == 200
        assert sum(f["properties"]["households"] for f in r.json()["features"]) == 12, r.text


# --- numbers typed with separators ----------------------------------------------------------------
#: how people write a mobile number or an ID number by hand: groups apart
SPACED = {
    "13812345678": ("138-1234-5678", "138 1234 5678", "+86 138 1234 5678", "138.1234.5678"),
    "43122719900101123X": ("431227 19900101 123X", "431227-19900101-123X"),
}


def test_mask_text_masks_numbers_written_in_groups():
    """mask_text took only unbroken runs of digits: '电话 138-1234-5678' came back whole
    in every free text the API masks (issue descriptions, notes and replies, plan names,
    audit purposes, error messages)."""
    from geogrid.api.masking import mask_text

    for number, written in SPACED.items():
        hidden = number[3:7] if len(number) == 11 else number[6:14]  # what the mask hides
        for text in written:
            out = mask_text(f"联系人：{text}，请回访")
            assert "*" in out and hidden not in "".join(c for c in out if c.isdigit()), (text, out)
    assert mask_text("电话 138-1234-5678") == "电话 138-****-5678"
    # masked as the ID number it is (geogrid.personalnumbers), not star for digit and space
    assert mask_text("身份证 431227 19900101 123X") == "身份证 " + "*" * 14 + "123X"
    # dates, counts and object ids stay as they were
    for plain in ("2024-01-01 12:00", "第 3 组 12 户", "1 234 567", "0a13812345678b4e9f00c2d1e3a5b7c9"):
        assert mask_text(plain) == plain


def test_a_plan_named_with_a_spaced_phone_number_is_masked(client, tokens, world):
    r = client.post(f"{API}/plans", json={"name": "草案 联系 138 1234 5678"}, headers=tokens["planner"])
    assert r.status_code == 201, r.text
    listed = client.get(f"{API}/plans", headers=tokens["planner1"]).text
    assert "1234 5678" not in listed and "138 **** 5678" in listed


# --- issues ---------------------------------------------------------------------------------------
from tests.issues.conftest import clock, iclient, issue_app, itokens, iworld, point  # noqa: E402,F401


def test_a_report_names_no_duplicate_outside_the_reporters_scope(iclient, itokens):
    """POST /issues answered with the possible duplicates of the whole county: a cell's
    leader reporting at the edge of their cell was told the id, status and time of an
    issue in the neighbouring cell, which GET /issues/{id} answers 404 to them (and
    GET /issues/duplicates, which is scoped, does not list)."""
    from tests.api.conftest import V2

    west = iclient.post(f"{API}/issues", json={"category": "sanitation", "lon": point(V2, 0, fx=0.98)[0],
                                                "lat": point(V2, 0)[1], "description": "垃圾"},
                        headers=itokens["admin"])
    assert west.status_code == 201, west.text
    assert west.json()["properties"]["cell_key"].endswith("C01")
    lon, lat = point(V2, 1, fx=0.02)
    r = iclient.post(f"{API}/issues", json={"category": "sanitation", "lon": lon, "lat": lat,
                                             "description": "垃圾"}, headers=itokens["cadre2c"])
    assert r.status_code == 201, r.text
    assert iclient.get(f"{API}/issues/{west.json()['id']}", headers=itokens["cadre2c"]).status_code == 404
    scoped = iclient.get(f"{API}/issues/duplicates", params={"category": "sanitation", "lon": lon, "lat": lat},
                         headers=itokens["cadre2c"]).json()
    assert west.json()["id"] not in {d["issue_id"] for d in scoped}
    assert west.json()["id"] not in {d["issue_id"] for d in r.json()["properties"]["possible_duplicates"]}
    # the admin, whose scope covers both, is told of it
    again = iclient.post(f"{API}/issues", json={"category": "sanitation", "lon": lon, "lat": lat,
                                                 "description": "垃圾"}, headers=itokens["admin"])
    assert west.json()["id"] in {d["issue_id"] for d in again.json()["properties"]["possible_duplicates"]}


# --- search -----------------------------------------------------------------------------------
def test_an_id_search_tells_no_more_than_the_masked_number(client, tokens, world):
    """A masked ID number shows its last four characters; the search took the last four
    to six, so a cadre learnt the fifth and sixth from the end (the day of birth, which
    the masked person hides behind the age) by asking for each of the 100 endings: the
    right one answered with the resident, the others with nothing."""
    idn = world.id_numbers[0]  # a V1 resident, in cadre1's scope
    right, wrong = idn[-6:], f"{(int(idn[-6:-4]) + 1) % 100:02d}" + idn[-4:]
    answers = []
    for q in (right, wrong, right[1:], wrong[1:]):
        r = client.get(f"{API}/search", params={"q": q, "kind": "id_tail"}, headers=tokens["cadre1"])
        answers.append((r.status_code, r.json().get("hits")))
    assert answers[0] == answers[1] and answers[2] == answers[3], answers
    # in the automatic mode too
    auto = [client.get(f"{API}/search", params={"q": q}, headers=tokens["cadre1"]) for q in (right, wrong)]
    assert [(r.status_code, r.json().get("hits")) for r in auto][0] == \
        [(r.status_code, r.json().get("hits")) for r in auto][1]
    # the four characters the mask shows find the resident
    r = client.get(f"{API}/search", params={"q": idn[-4:]}, headers=tokens["cadre1"])
    assert r.json()["kind"] == "id_tail" and any(h["label"].endswith(idn[-4:]) for h in r.json()["hits"])


# --- drafts -----------------------------------------------------------------------------------
def test_a_cadre_reads_no_drafts_cells_through_the_household_list(client, tokens, world, draft):
    """Drafts are for planners and admins (GET /cells/{draft cell} answers a cadre 404),
    but GET /households?cell= took any cell of the caller's villages, a draft's too, and
    listed its households with the draft's cell: a cadre read the draft's membership."""
    from tests.api.conftest import V1

    cell = draft["cells"][f"{V1}-M01-C01"]
    assert client.get(f"{API}/cells/{cell}", headers=tokens["cadre1"]).status_code == 404
    r = client.get(f"{API}/households", params={"cell": cell}, headers=tokens["cadre1"])
    assert r.status_code == 404, r.text
    # its planner still lists them
    r = client.get(f"{API}/households", params={"cell": cell}, headers=tokens["planner1"])
    assert r.status_code == 200 and r.json()["numberMatched"] == 3, r.text
