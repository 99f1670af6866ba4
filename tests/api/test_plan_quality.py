"""A plan's quality figures through the API (``GET /plans/{id}/quality``).

Before, the engine's figures (fill, cells above the minimum, compactness, small hamlets
kept whole, micro-grid areas) existed only in ``result.report`` of a partition run in
Python: a planner who edited a draft by hand could not see what the edits did to them,
nor compare the draft with the published plan.  Now they are measured on the stored
plan as it is, with the engine's own function, scoped as everything else.

On the committed sample slice (tests/api/test_rerun_after_edits.py's world: two
villages partitioned by ``partition_register`` and published), on both back-ends.
"""

from __future__ import annotations

import pytest

from tests.api.test_plan_notes import _token
from tests.api.test_rerun_after_edits import VILLAGES
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)

VILLAGE_FIGURES = {"villages", "villages_at_target_microgrids", "villages_below_target_microgrids",
                   "microgrid_area_within_25pct", "cells_above_village_minimum"}


def _quality(client, headers, pid, status=200, **params):
    r = client.get(f"/api/v1/plans/{pid}/quality", params=params, headers=headers)
    assert r.status_code == status, r.text
    return r.json()


def _engine_figures(engine, villages=VILLAGES):
    from geogrid.db.engine import session_scope
    from geogrid.db.registerpartition import read_register
    from geogrid.partition import partition

    with session_scope(engine) as s:
        inputs = read_register(s, villages)
    return partition(inputs.households, inputs.villages).figures


def test_the_published_plan_measures_as_the_engine_did(client, world, engine):
    admin = _token(engine, "admin")
    got = _quality(client, admin, world)
    assert got["villages"] == sorted(VILLAGES) and got["whole_villages"] is True
    want = _engine_figures(engine)
    for k, v in want.items():
        # the stored polygons are in degrees: their shapes measure to a few parts in 10^6
        assert got["figures"][k] == pytest.approx(v, rel=1e-5, nan_ok=True), k
    assert set(got["targets"]) == {"mean_fill", "microgrids_within_min_plus_one", "polsby_popper_median",
                                   "small_hamlets_unsplit", "microgrid_area_within_25pct"}
    for k, t in got["targets"].items():
        assert t["met"] == (got["figures"][k] >= t["value"]), k
    assert got["compare"] is None


def test_a_hand_edit_shows_in_the_drafts_figures_against_the_published(client, world, engine):
    """A household moved by hand into another cell of its micro-grid: the draft's
    compactness changes, the published plan's (as compare) stays what it was."""
    planner = _token(engine, "planner")
    before = _quality(client, planner, world)["figures"]
    r = client.post("/api/v1/plans", json={"name": "draft"}, headers=planner)
    assert r.status_code == 201, r.text
    draft, etag = r.json()["id"], r.json()["etag"]
    cells = client.get("/api/v1/cells", params={"plan": draft, "limit": 5000}, headers=planner).json()["features"]
    by_mg: dict[str, list] = {}
    for c in cells:
        by_mg.setdefault(c["properties"]["microgrid_id"], []).append(c)
    source, target = next((cs[0], cs[1]) for cs in by_mg.values()
                          if len(cs) > 1 and cs[1]["properties"]["households"] < 20)
    h = client.get("/api/v1/households", params={"plan": draft, "cell": source["id"]},
                   headers=planner).json()["features"][0]["id"]
    r = client.patch(f"/api/v1/plans/{draft}/assignments",
                     json={"moves": [{"household_id": h, "cell_id": target["id"]}]},
                     headers={**planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    got = _quality(client, planner, draft, compare=world)
    assert got["compare"]["plan_id"] == world and got["compare"]["status"] == "published"
    assert got["compare"]["figures"] == before
    after = got["figures"]
    assert after["households_assigned"] == before["households_assigned"]
    assert after["cells"] == before["cells"]
    # the draft's compactness is its households' as the API lists them, cell by cell
    assert after["within_cell_msd_m2"] != pytest.approx(before["within_cell_msd_m2"], rel=1e-9)
    # (the API rounds coordinates to 7 decimals: a few hundredths of a m² here; the move made 4)
    assert after["within_cell_msd_m2"] == pytest.approx(_msd_of(client, planner, draft), rel=1e-5)


def _msd_of(client, headers, pid) -> float:
    """Within-cell mean squared distance (m²) of plan ``pid``'s households, from the
    households the API lists (their points and cells), in the sample's UTM zone."""
    import numpy as np
    import pyproj

    feats = client.get("/api/v1/households", params={"plan": pid, "limit": 10000},
                       headers=headers).json()["features"]
    feats = [f for f in feats if f["properties"]["cell_id"] is not None]  # the plan's own
    lon, lat = np.array([f["geometry"]["coordinates"] for f in feats]).T
    x, y = pyproj.Transformer.from_crs(4326, 32649, always_xy=True).transform(lon, lat)
    cell = np.unique([f["properties"]["cell_id"] for f in feats], return_inverse=True)[1].ravel()
    n = np.bincount(cell)
    cx, cy = np.bincount(cell, x) / n, np.bincount(cell, y) / n
    return float(np.mean((x - cx[cell]) ** 2 + (y - cy[cell]) ** 2))


def test_scoped_to_a_village(client, world, engine):
    cadre = _token(engine, "v-cadre", "cadre", [f"area:{VILLAGES[0]}"])
    got = _quality(client, cadre, world)
    assert got["villages"] == [VILLAGES[0]] and got["whole_villages"] is True
    want = _engine_figures(engine, [VILLAGES[0]])
    assert got["figures"]["households"] == want["households"]
    assert got["figures"]["cells"] == want["cells"]
    assert got["figures"]["mean_fill"] == pytest.approx(want["mean_fill"])
    # the other village is not theirs, and asking for it is asking for nothing in scope
    _quality(client, cadre, world, status=404, village=VILLAGES[1])
    admin = _token(engine, "admin")
    assert _quality(client, admin, world, village=VILLAGES[1])["villages"] == [VILLAGES[1]]


def test_a_microgrid_leader_gets_the_microgrids_figures_without_the_villages(client, world, engine):
    admin = _token(engine, "admin")
    mgs = client.get("/api/v1/microgrids", params={"plan": world, "limit": 500}, headers=admin).json()["features"]
    mg = mgs[0]["properties"]
    leader = _token(engine, "leader", "cadre", [f"microgrid:{mg['microgrid_key']}"])
    got = _quality(client, leader, world)
    assert got["whole_villages"] is False
    assert not VILLAGE_FIGURES & set(got["figures"])
    assert got["figures"]["microgrids"] == 1
    assert got["figures"]["households_assigned"] == mg["households"]
    assert "microgrid_area_within_25pct" not in got["targets"]


def test_drafts_are_for_planners_and_an_unknown_plan_is_404(client, world, engine):
    planner = _token(engine, "planner")
    r = client.post("/api/v1/plans", json={"name": "draft"}, headers=planner)
    draft = r.json()["id"]
    cadre = _token(engine, "c-cadre", "cadre", [f"area:{VILLAGES[0]}"])
    _quality(client, cadre, draft, status=404)
    _quality(client, cadre, world, status=404, compare=draft)
    _quality(client, planner, "no-such-plan", status=404)
    elsewhere = _token(engine, "elsewhere", "planner", ["area:110101"])
    _quality(client, elsewhere, world, status=404)


def test_a_plan_read_for_some_villages_is_the_whole_plans_rows_of_them(world, engine):
    """load_plan(..., village_codes) reads from the villages' micro-grids (by index)
    rather than from all the plan's assignments: the same rows as the whole plan's."""
    from geogrid.db.engine import session_scope
    from geogrid.db.plans import load_plan

    with session_scope(engine) as s:
        whole = load_plan(s, world)
        one = load_plan(s, world, [VILLAGES[1]])
        none = load_plan(s, world, [])
    for name in ("households", "microgrids", "cells"):
        w, o = getattr(whole, name), getattr(one, name)
        mine = (w["microgrid_id"].isin(set(whole.microgrids.loc[whole.microgrids["village_code"] == VILLAGES[1],
                                                                 "microgrid_id"])))
        assert len(o) and len(o) < len(w), name
        assert o.reset_index(drop=True).equals(w[mine].reset_index(drop=True)), name
        assert len(getattr(none, name)) == 0


def test_households_the_register_added_since_are_households_in_no_cell(client, world, engine):
    """A household added to the register after the plan was made is in none of its
    cells: the plan's ``households`` count it (as the engine's do, and as the plan's
    household listing shows it, with no cell), ``households_assigned`` does not.
    Before, ``households`` counted only the plan's assignments, so it always equalled
    ``households_assigned`` and the household went unseen."""
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Household

    admin = _token(engine, "admin")
    before = _quality(client, admin, world)["figures"]
    listed = client.get("/api/v1/households", params={"plan": world, "limit": 10000},
                        headers=admin).json()["features"]
    lon, lat = next(f["geometry"]["coordinates"] for f in listed
                    if f["properties"]["village_code"] == VILLAGES[0] and f["properties"]["cell_id"])
    with session_scope(engine, write=True) as s:
        s.add(Household(household_no="NEW-AFTER-PLAN", village_code=VILLAGES[0],
                        geom=f"SRID=4326;POINT({lon + 1e-4} {lat})"))
    after = _quality(client, admin, world)["figures"]
    assert after["households"] == before["households"] + 1
    assert after["households_assigned"] == before["households_assigned"]
    assert after["households"] == _engine_figures(engine)["households"]
    # the village's alone, and a micro-grid leader's (who cannot be told where it lies)
    one = _quality(client, admin, world, village=VILLAGES[0])["figures"]
    assert one["households"] == one["households_assigned"] + 1
    other = _quality(client, admin, world, village=VILLAGES[1])["figures"]
    assert other["households"] == other["households_assigned"]
    mg = client.get("/api/v1/microgrids", params={"plan": world, "limit": 500},
                    headers=admin).json()["features"][0]["properties"]
    leader = _token(engine, "leader", "cadre", [f"microgrid:{mg['microgrid_key']}"])
    part = _quality(client, leader, world)["figures"]
    assert part["households"] == part["households_assigned"] == mg["households"]
