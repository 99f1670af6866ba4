"""Household pages from pre-serialised features (geogrid.api.householdfeatures).

The bbox/cell/village pages join cached bytes instead of building a dict per feature.
These tests pin that the answer is byte for byte what the old path built (every role,
filter and page), that the cache is never served past an edit (imports, ORM edits, a
household moved between cells, a new or deleted household, another worker process),
and that scope is decided by SQL alone: a cache filled by an admin shows a scoped cadre
nothing outside the cadre's scope.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point
from sqlalchemy import select, update

from tests.api.conftest import COUNTY, SECRET, V1, V2, X0, Y0, D

ALL = f"{X0 - D},{Y0 - D},{X0 + 3 * D},{Y0 + 2 * D}"
WEST_HALF = f"{X0},{Y0},{X0 + D / 2},{Y0 + D}"  # the west cell of V1, edges included


def _old_page(session, username: str, params: dict, plan_id: str | None, limit_default: int,
              body: dict) -> bytes:
    """The answer of the route before the feature cache (f9ac10e), built the old way:
    ``household_rows`` + ``count_households`` + a dict per feature + ``dumps``."""
    from geogrid.api import queries
    from geogrid.api.geojson import dumps, feature_collection
    from geogrid.api.householdfeatures import point
    from geogrid.api.paging import parse_bbox
    from geogrid.api.representation import household_properties
    from geogrid.api.scope import Principal, resolve_scope
    from geogrid.db.models import User

    u = session.execute(select(User).where(User.username == username)).scalar_one()
    scope = resolve_scope(session, Principal(u.id, u.username, u.role, tuple(u.scopes)),
                          county_code=COUNTY)
    box = parse_bbox(params.get("bbox"))
    kw = {"bbox": box, "cell_id": params.get("cell"), "village_code": params.get("village")}
    rows = queries.household_rows(session, scope, plan_id=plan_id,
                                  limit=int(params.get("limit", limit_default)),
                                  offset=int(params.get("offset", 0)), **kw)
    matched = queries.count_households(session, scope, **kw)
    features = [{"type": "Feature", "id": r.id, "geometry": point(r),
                 "properties": household_properties(r)} for r in rows]
    return dumps(feature_collection(features, numberReturned=len(rows), timeStamp=body["timeStamp"],
                                    links=body["links"], numberMatched=matched))


def _query(params: dict) -> str:
    return "/api/v1/households?" + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("cut", [20_000, 3, 0], ids=["python-cut", "mixed", "database-cut"])
@pytest.mark.parametrize("username", ["admin", "planner1", "cadre1", "cadre2c"])
def test_pages_are_byte_for_byte_the_old_answer(client, tokens, world, engine, app, username, cut,
                                                monkeypatch):
    """Also when the bbox is cut into pages by the database instead of in Python (boxes
    holding more than ``BBOX_CUT_IN_PYTHON`` households)."""
    from geogrid.api import queries
    from geogrid.db.engine import make_sessionmaker

    monkeypatch.setattr(queries, "BBOX_CUT_IN_PYTHON", cut)
    v1_west = world.cells[f"{V1}-M01-C01"]
    v2_east = world.cells[f"{V2}-M01-C02"]
    cases = [{}, {"bbox": ALL}, {"bbox": ALL, "limit": 5}, {"bbox": ALL, "limit": 5, "offset": 5},
             {"bbox": WEST_HALF}, {"bbox": ALL, "offset": 50}, {"bbox": "100,20,100.1,20.1"},
             {"village": V1}, {"village": V2, "bbox": ALL}, {"cell": v1_west}, {"cell": v2_east},
             {"limit": 4, "offset": 2}]
    features = app.state.household_features
    with make_sessionmaker(engine)() as session:
        for params in cases:
            for _ in range(2):  # cold, then from the cache
                r = client.get(_query(params), headers=tokens[username])
                if r.status_code == 404:  # a cell out of this user's scope
                    assert "cell" in params
                    break
                assert r.status_code == 200, (params, r.text)
                assert r.headers["content-type"] == "application/geo+json"
                plan_id = world.plan_id
                expected = _old_page(session, username, params, plan_id,
                                     app.state.api_settings.page_limit_default, r.json())
                assert r.content == expected, params
    assert features.stats[0] > 0 and features.stats[1] > 0  # both paths were taken


def test_a_draft_plan_page_is_the_old_answer(client, tokens, world, engine, app, draft):
    from geogrid.db.engine import make_sessionmaker

    params = {"bbox": ALL, "plan": draft["id"]}
    client.get(_query(params), headers=tokens["admin"])
    r = client.get(_query(params), headers=tokens["admin"])
    assert r.status_code == 200
    with make_sessionmaker(engine)() as session:
        assert r.content == _old_page(session, "admin", params, draft["id"], 100, r.json())
    assert {f["properties"]["cell_id"] for f in r.json()["features"]} <= set(draft["cells"].values())


def _page(client, tokens, who="admin", bbox=ALL) -> dict:
    r = client.get(f"/api/v1/households?bbox={bbox}&limit=1000", headers=tokens[who])
    assert r.status_code == 200, r.text
    return {f["id"]: f for f in r.json()["features"]}


def _reimport(engine, household_id: str, **changes) -> None:
    """Change one household through the import path (upsert by household number)."""
    from geogrid.db import households as hh_repo
    from geogrid.db.engine import session_scope

    with session_scope(engine, write=True) as s:
        frame = hh_repo.households_frame(s)
        row = frame[frame["household_id"] == household_id].copy()
        for k, v in changes.items():
            if k == "geometry":
                row = gpd.GeoDataFrame(row.drop(columns="geometry"), geometry=[v], crs=4326,
                                       index=row.index)
            else:
                row[k] = v
        counts = hh_repo.upsert_households(s, row)
        assert counts.updated == 1


def test_an_import_shows_in_the_next_page_of_every_worker(client, tokens, world, engine, app, db_url,
                                                          api_settings):
    from fastapi.testclient import TestClient

    from geogrid.api import create_app
    from geogrid.settings import Settings

    # a second app on the same database: what a second `geogrid serve` worker is
    other = create_app(Settings(database_url=db_url, secret_key=SECRET, demo=False,
                                sqlite_busy_timeout_ms=10_000), engine=engine,
                       api_settings=api_settings)
    hid = world.households[V1][0]
    with TestClient(other) as client2:
        for c in (client, client2):
            before = _page(c, tokens)[hid]
            assert _page(c, tokens)[hid] == before  # served from the cache now
        assert app.state.household_features.stats[0] > 0
        assert other.state.household_features.stats[0] > 0
        x, y = before["geometry"]["coordinates"]
        _reimport(engine, hid, head_name="诸葛亮", address="新地址 1 号",
                  geometry=Point(x + 0.001, y + 0.0005))
        for c in (client, client2):
            after = _page(c, tokens)[hid]
            assert after["properties"]["head_name"] == "诸葛*"  # masked, and new
            assert after["properties"]["address"] == "新地址 1 号"
            assert after["geometry"]["coordinates"] == [round(x + 0.001, 7), round(y + 0.0005, 7)]
            assert after["properties"]["cell_id"] == before["properties"]["cell_id"]


def test_an_orm_edit_shows_in_the_next_page(client, tokens, world, engine):
    from geogrid.db.engine import session_scope
    from geogrid.db.households import update_household

    hid = world.households[V2][0]
    assert _page(client, tokens)[hid]["properties"]["care_level"] == "green"
    with session_scope(engine, write=True) as s:
        update_household(s, hid, {"care_level": "red", "hamlet": "上寨"})
    props = _page(client, tokens)[hid]["properties"]
    assert (props["care_level"], props["hamlet"]) == ("red", "上寨")


def test_moving_out_of_the_bbox_leaves_the_page(client, tokens, world, engine):
    hid = world.households[V1][0]  # in the west cell of V1
    assert hid in _page(client, tokens, bbox=WEST_HALF)
    _reimport(engine, hid, geometry=Point(X0 + 0.9 * D, Y0 + 0.5 * D))  # into V1's east half
    assert hid not in _page(client, tokens, bbox=WEST_HALF)
    assert hid in _page(client, tokens)


def test_a_household_moved_to_another_cell_shows_its_new_cell(client, tokens, world, engine):
    """The cell is not cached with the household: a plan edit shows at once, without the
    household (or the plan's version) changing."""
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Assignment

    hid = world.households[V1][0]
    old_key, new_key = f"{V1}-M01-C01", f"{V1}-M01-C02"
    assert world.cell_of[hid] == old_key
    assert _page(client, tokens)[hid]["properties"]["cell_key"] == old_key
    with session_scope(engine, write=True) as s:
        s.execute(update(Assignment).where(Assignment.plan_id == world.plan_id,
                                           Assignment.household_id == hid)
                  .values(cell_id=world.cells[new_key]))
    props = _page(client, tokens)[hid]["properties"]
    assert (props["cell_id"], props["cell_key"]) == (world.cells[new_key], new_key)
    r = client.get(f"/api/v1/households?cell={world.cells[new_key]}", headers=tokens["admin"])
    assert hid in {f["id"] for f in r.json()["features"]}
    assert r.json()["numberMatched"] == 4


def test_new_and_deleted_households(client, tokens, world, engine):
    from geogrid.db import households as hh_repo
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Household

    before = _page(client, tokens)
    gone = world.households[V2][2]
    with session_scope(engine, write=True) as s:
        s.delete(s.get(Household, gone))
        hh_repo.upsert_households(s, gpd.GeoDataFrame(
            {"household_no": ["HNEW1"], "head_name": ["欧阳修"], "village_code": [V2]},
            geometry=[Point(X0 + 1.5 * D, Y0 + 0.2 * D)], crs=4326))
    after = _page(client, tokens)
    assert gone in before and gone not in after
    (new,) = set(after) - set(before)
    assert after[new]["properties"]["head_name"] == "欧阳*"
    r = client.get(f"/api/v1/households?bbox={ALL}", headers=tokens["admin"]).json()
    assert r["numberMatched"] == r["numberReturned"] == 12


def test_a_cache_filled_by_an_admin_shows_a_cadre_only_their_scope(client, tokens, world, app):
    everyone = _page(client, tokens, "admin")
    assert len(everyone) == 12 and len(app.state.household_features) == 12
    v1 = _page(client, tokens, "cadre1")
    assert set(v1) == set(world.households[V1])
    assert {f["properties"]["village_code"] for f in v1.values()} == {V1}
    one_cell = _page(client, tokens, "cadre2c")
    assert set(one_cell) == {h for h, key in world.cell_of.items() if key == f"{V2}-M01-C02"}
    r = client.get(f"/api/v1/households?bbox={ALL}", headers=tokens["cadre2c"]).json()
    assert r["numberMatched"] == 3
    # roles that may not list households still may not, cache or no cache
    assert client.get(f"/api/v1/households?bbox={ALL}", headers=tokens["analyst"]).status_code == 403


def test_every_page_is_audited_and_carries_no_full_numbers(client, tokens, world, engine):
    from geogrid.db.models import AuditEntry
    from geogrid.db.engine import make_sessionmaker

    for _ in range(2):
        body = client.get(f"/api/v1/households?bbox={ALL}", headers=tokens["cadre1"]).text
        for secret in world.id_numbers + world.phones:
            assert secret not in body
    with make_sessionmaker(engine)() as s:
        rows = s.execute(select(AuditEntry.detail).where(
            AuditEntry.actor == "cadre1", AuditEntry.action == "list",
            AuditEntry.object_type == "household")).scalars().all()
    assert len(rows) == 2 and all(d["returned"] == 6 for d in rows)


def test_a_full_cache_is_emptied_and_the_answer_stays_right(client, tokens, world, app):
    app.state.household_features.max_features = 5
    first = client.get(f"/api/v1/households?bbox={ALL}", headers=tokens["admin"]).json()
    again = client.get(f"/api/v1/households?bbox={ALL}", headers=tokens["admin"]).json()
    assert first["features"] == again["features"] and len(first["features"]) == 12
    assert len(app.state.household_features) <= 12


def test_a_household_deleted_between_the_two_reads_is_left_out(engine, world):
    """On PostGIS the page and the feature read are two snapshots; a household gone from
    the second is dropped, not served half-built."""
    from geogrid.api.householdfeatures import HouseholdFeatures
    from geogrid.db.engine import make_sessionmaker

    hid = world.households[V1][0]
    with make_sessionmaker(engine)() as s:
        out = HouseholdFeatures().page(s, [(hid, 1, None, None), ("f" * 32, 1, None, None)])
    assert len(out) == 1 and out[0].startswith(b'{"type":"Feature","id":"' + hid.encode())


def test_feature_head_and_tail_are_the_whole_feature(world, engine):
    from geogrid.api import queries
    from geogrid.api.geojson import dumps
    from geogrid.api.householdfeatures import cell_tail, feature_head, point
    from geogrid.api.representation import household_properties
    from geogrid.db.engine import make_sessionmaker

    with make_sessionmaker(engine)() as s:
        rows = queries.household_feature_rows(s, world.households[V1])
    assert len(rows) == 6
    for r in rows:
        for cell in ((None, None), ("0" * 32, "k-\"quoted\"-键")):
            whole = {"type": "Feature", "id": r.id, "geometry": point(r),
                     "properties": {**household_properties(r), "cell_id": cell[0], "cell_key": cell[1]}}
            assert feature_head(r) + cell_tail(*cell) == dumps(whole)
