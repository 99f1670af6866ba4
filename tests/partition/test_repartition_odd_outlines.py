"""repartition() after an outline edit of a small village drawn here (not the
synthetic county): islands torn or shrunk, land moved beside another micro-grid or
left where no one lives, outlines with no area or no geometry, hair-thin strips, a
bow-tie, a strip given to a neighbour.  (Split from test_repartition_outlines.py.)"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geogrid.errors import InputError
from geogrid.partition import repartition

from .test_repartition import _broken


def _spread(poly, n, seed=0):
    """``n`` household points spread over ``poly``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = poly.bounds
    out = []
    while len(out) < n:
        c = rng.uniform((x0, y0), (x1, y1), (4 * n + 8, 2))
        out.extend(c[shapely.contains_xy(poly, c[:, 0], c[:, 1])].tolist())
    return np.array(out[:n])


def _planned(V, pts):
    from geogrid.partition import partition

    from .conftest import households_gdf, village_gdf

    v, h = village_gdf({"V": V}), households_gdf(pts, "V")
    return v, h, partition(h, v)


def _west(r):
    from .conftest import UTM

    mgm = r.microgrids.set_index("microgrid_id").geometry.to_crs(UTM)
    return mgm, min(mgm.index, key=lambda m: mgm[m].bounds[0])


def test_in_an_island_village_a_microgrid_an_edit_cuts_in_two_is_noted_with_its_torn_cell():
    """Before: the note counted pieces against the village's (two, with the island), so a
    micro-grid cut in two on the main part got no note, though check() failed it."""
    import numpy as np
    from shapely.geometry import MultiPolygon, box

    from .conftest import X0, Y0, village_gdf

    main = box(X0, Y0, X0 + 3000, Y0 + 1500)
    isl = box(X0 + 3500, Y0 + 200, X0 + 3900, Y0 + 600)
    V = MultiPolygon([main, isl])
    pts = np.vstack([_spread(main, 200), _spread(isl, 15, 1)])
    pts = pts[~((pts[:, 0] < X0 + 1200) & (pts[:, 1] < Y0 + 300))]  # no one in the SW corner
    v, h, r = _planned(V, pts)
    mgm, west = _west(r)
    ditch = box(X0 - 1, Y0 + 300, mgm[west].bounds[2] + 50, Y0 + 303)  # dug in from the west edge
    edited = village_gdf({"V": V.difference(ditch)})
    r2 = repartition(r, h, edited, microgrids=[west])
    broken = _broken(r2, edited)
    assert list(broken["microgrids_one_piece"]) == [west]
    note = [d for d in r2.diagnostics if d["kind"] == "microgrid_in_pieces"]
    assert [d["microgrids"] for d in note] == [[west]]
    assert note[0]["cells"] == list(broken["cells_one_piece"])


def test_a_microgrid_whose_land_moved_beside_another_is_refused_not_moved_there():
    """Before: micro-grid M01's land went to the neighbouring village and a field was
    added 2 km east, beside M03; M01 re-run alone became that field, empty, far off."""
    from shapely.geometry import box

    from .conftest import X0, Y0, village_gdf

    main = box(X0, Y0, X0 + 3000, Y0 + 1500)
    v, h, r = _planned(main, _spread(main, 200))
    mgm, west = _west(r)
    field = box(X0 + 3000, Y0 + 400, X0 + 3300, Y0 + 900)
    edited = village_gdf({"V": main.difference(mgm[west]).union(field)})
    with pytest.raises(InputError, match=f"leaves micro-grid\\(s\\) {west} no land") as exc:
        repartition(r, h, edited, microgrids=[west])
    assert exc.value.errors == [{"type": "outline_leaves_no_land",
                                 "params": {"village": "V", "microgrids": [west]}}]


def test_a_microgrid_left_only_land_where_no_one_lives_is_refused():
    """Before: the outline kept a 5 m strip of micro-grid M01 with no household on it;
    M01 became that strip with one empty cell, and check() passed it."""
    from shapely.geometry import box

    from .conftest import X0, Y0, village_gdf

    main = box(X0, Y0, X0 + 3000, Y0 + 1500)
    pts = _spread(main, 200)
    pts = pts[pts[:, 0] > X0 + 6]  # no one on the strip
    v, h, r = _planned(main, pts)
    mgm, west = _west(r)
    x0, y0, x1, y1 = mgm[west].bounds
    edited = village_gdf({"V": main.difference(mgm[west].difference(box(x0, y0, x0 + 5, y1)))})
    with pytest.raises(InputError, match=f"leaves micro-grid\\(s\\) {west} none of their households") as exc:
        repartition(r, h, edited, microgrids=[west])
    assert exc.value.errors[0]["type"] == "outline_leaves_no_households"


@pytest.mark.parametrize("outline", ["line", "sliver"])
def test_an_outline_with_no_area_is_refused_as_such(outline):
    """Before: 'leaves micro-grid(s) ... no land; name them together with the micro-grids
    next to them', advice no one could follow with every micro-grid named."""
    from shapely.geometry import LineString, box

    from .conftest import X0, Y0, village_gdf

    main = box(X0, Y0, X0 + 3000, Y0 + 1500)
    v, h, r = _planned(main, _spread(main, 200))
    bad = {"line": LineString([(X0, Y0), (X0 + 3000, Y0)]), "sliver": box(X0, Y0, X0 + 1, Y0 + 0.1)}[outline]
    edited = village_gdf({"V": bad})
    with pytest.raises(InputError, match="the outline given for village\\(s\\) V has no area") as exc:
        repartition(r, h, edited, microgrids=r.microgrids["microgrid_id"].tolist())
    assert exc.value.errors == [{"type": "outline_has_no_area", "params": {"village": "V"}}]


@pytest.mark.parametrize("none", ["empty", "missing"])
def test_a_village_given_no_geometry_keeps_its_microgrids_outline(none):
    """A village row with no geometry (as the API passes a village whose outline was
    derived) is no outline: its micro-grids keep their own, as if it were left out."""
    from shapely.geometry import Polygon, box

    from .conftest import X0, Y0, village_gdf

    main = box(X0, Y0, X0 + 3000, Y0 + 1500)
    v, h, r = _planned(main, _spread(main, 200))
    m = r.microgrids["microgrid_id"].iloc[0]
    edited = village_gdf({"V": Polygon() if none == "empty" else None})
    r2 = repartition(r, h.drop(h.index[:2]), edited, microgrids=[m])
    assert r2.microgrids.set_index("microgrid_id").geometry[m].equals_exact(
        r.microgrids.set_index("microgrid_id").geometry[m], 0)


def test_land_added_in_hair_thin_strips_is_told_in_square_metres_as_a_redrawn_line():
    """Before: 'adds 0.000 km²' for an outline redrawn a few centimetres out."""
    from shapely.geometry import box

    from geogrid.partition.outline_edit import _stranded

    named = {"A": box(0, 0, 1000, 1000)}
    unnamed = {"B": box(1000, 0, 2000, 1000)}
    strip = box(1000, -0.3, 2000, 0)  # 30 cm beyond B's south edge, apart from A (300 m²)
    region = named["A"].union(box(2000, 0, 2000.2, 1000)).union(strip)  # and 20 cm east of it (200 m²)
    rest, notes = _stranded("V", region, ["A"], named, unnamed)
    assert rest.equals(named["A"])
    assert len(notes) == 1 and notes[0]["microgrids"] == ["B"]
    assert "adds 500 m² next to micro-grid(s) B" in notes[0]["message"]
    assert "strips under a metre wide" in notes[0]["message"] and notes[0]["params"]["thin"] is True


def test_a_sliver_of_uninhabited_land_is_told_in_square_metres():
    """Before: '(0.000 km²: an island or an exclave)' for a hairline sliver a hand edit
    of an outline left; a planner read that as nothing at all."""
    from shapely.geometry import box

    from geogrid.partition.village import uninhabited_note

    note = uninhabited_note("V", [box(0, 0, 100, 0.5)], counted=(3, 2.5e6))
    assert "(50 m²: an island or an exclave)" in note["message"], note["message"]
    assert "inhabited land (2.500 km²)" in note["message"] and "0.000" not in note["message"]
    assert note["params"] == {"parts": 1, "area_m2": 50.0}


def test_an_uninhabited_land_note_goes_with_the_island():
    """Before: the island was deleted from the outline and its holder re-run, and the
    plan still said the island 'joins the nearest micro-grid'."""
    import numpy as np
    from shapely.geometry import MultiPolygon, box

    from .conftest import X0, Y0, UTM, village_gdf

    main = box(X0, Y0, X0 + 3000, Y0 + 1500)
    isl = box(X0 + 3500, Y0 + 200, X0 + 3700, Y0 + 400)
    v, h, r = _planned(MultiPolygon([main, isl]), _spread(main, 200))
    assert [d["kind"] for d in r.diagnostics if d["kind"] == "uninhabited_land"] == ["uninhabited_land"]
    mgm = r.microgrids.set_index("microgrid_id").geometry.to_crs(UTM)
    holder = next(m for m, g in mgm.items() if g.intersects(isl.buffer(-1)))
    r2 = repartition(r, h, village_gdf({"V": main}), microgrids=[holder])
    assert _broken(r2, village_gdf({"V": main})) == {}
    assert not [d for d in r2.diagnostics if d["kind"] == "uninhabited_land"]
    # given again with the island, the note is made afresh
    r3 = repartition(r2, h, v, microgrids=[holder])
    fresh = [d for d in r3.diagnostics if d["kind"] == "uninhabited_land"]
    assert len(fresh) == 1 and fresh[0]["params"]["parts"] == 1 and np.isclose(fresh[0]["params"]["area_m2"], 40000, rtol=1e-3)


def test_an_outline_whose_snap_to_the_grid_trips_geos_is_snapped_point_by_point():
    """A region GEOS could not snap ('unable to assign free hole to a shell': the land
    of a micro-grid grown by a micrometre cut out of the outline), as a re-run through
    the API met it; repartition() raised a bare GEOSException (HTTP 500)."""
    from pathlib import Path

    from geogrid.partition.pieces import on_grid

    region = shapely.from_wkb(bytes.fromhex((Path(__file__).parent / "data" / "free_hole_region.wkb.hex").read_text().strip()))
    out = on_grid(region)
    assert out.is_valid and abs(out.area - shapely.make_valid(region).area) < 1e-3


def test_a_bow_tie_outline_given_to_a_repartition_keeps_both_lobes():
    """An outline drawn by hand with its edges crossing, in WGS84, given again to a
    re-run of every micro-grid: before, it was densified before it was repaired, kept one
    lobe, and the other lobe's households were left out as outside_village."""
    import numpy as np
    from shapely.geometry import Polygon

    from geogrid.partition import partition

    lon, lat = 109.20, 27.30
    bow = Polygon([(lon, lat), (lon + 0.021, lat + 0.017), (lon + 0.025, lat + 0.002), (lon + 0.001, lat + 0.015)])
    rng = np.random.default_rng(0)
    xy = []
    for lobe in shapely.get_parts(shapely.make_valid(bow)):
        c = rng.uniform(lobe.bounds[:2], lobe.bounds[2:], (800, 2))
        xy.append(c[shapely.contains_xy(lobe, *c.T)][:40])
    xy = np.vstack(xy)
    hh = gpd.GeoDataFrame({"village_code": ["V"] * len(xy)}, geometry=gpd.points_from_xy(*xy.T), crs=4326)
    v = gpd.GeoDataFrame({"village_code": ["V"]}, geometry=[bow], crs=4326)
    r = partition(hh, v, engine="serial")
    assert r.households["cell_id"].notna().all()
    r2 = repartition(r, hh, v, microgrids=r.microgrids["microgrid_id"].tolist())
    assert r2.households["cell_id"].notna().all()
    assert not [d for d in r2.diagnostics if d["kind"] == "outside_village"]
    assert _broken(r2, v) == {}


def test_a_strip_given_to_a_neighbour_with_its_households_is_cut_afresh_when_named_with_a_neighbour():
    """Village V gives a 260 m strip, and the 70 households on it, to village W; what is
    left of micro-grid M01 holds no one.  Named alone, M01 is refused (it would be an
    empty cell); named with its neighbour, as the refusal says, the two are cut afresh
    so that each holds households.  Before, every naming was refused."""
    import numpy as np
    from shapely.geometry import box

    from .conftest import X0, Y0, UTM, village_gdf

    V = box(X0, Y0, X0 + 3000, Y0 + 1500)
    pts = np.vstack([_spread(box(X0, Y0, X0 + 250, Y0 + 1500), 70), _spread(box(X0 + 900, Y0, X0 + 3000, Y0 + 1500), 230, 1)])
    v, h, r = _planned(V, pts)
    mgm = r.microgrids.set_index("microgrid_id").geometry.to_crs(UTM)
    order = sorted(mgm.index, key=lambda k: mgm[k].centroid.x)
    edited = village_gdf({"V": box(X0 + 260, Y0, X0 + 3000, Y0 + 1500)})
    h2 = h.copy()
    h2.loc[pts[:, 0] < X0 + 260, "village_code"] = "W"
    with pytest.raises(InputError, match="none of their households") as exc:
        repartition(r, h2, edited, microgrids=order[:1])
    assert exc.value.errors[0]["params"]["microgrids"] == order[:1]
    r2 = repartition(r, h2, edited, microgrids=order[:2])
    assert _broken(r2, edited) == {}
    assert (r2.microgrids.set_index("microgrid_id").loc[order[:2], "households"] > 0).all()


def test_households_the_planner_removed_leave_an_empty_microgrid_whatever_the_outline_does():
    """All the households of micro-grid M01 removed (a relocation): with the outline kept
    the re-run leaves M01 an empty cell, and so it must with its border moved 20 m.
    Before, the moved border was refused as leaving M01 'none of their households'."""
    from shapely.geometry import box

    from .conftest import X0, Y0, village_gdf

    V = box(X0, Y0, X0 + 3000, Y0 + 1500)
    v, h, r = _planned(V, _spread(V, 300))
    m = r.microgrids["microgrid_id"].iloc[0]
    gone = h.drop(r.households.index[r.households["microgrid_id"] == m])
    for edited in (v, village_gdf({"V": box(X0 - 20, Y0, X0 + 3000, Y0 + 1500)}),
                   village_gdf({"V": box(X0 + 20, Y0, X0 + 3000, Y0 + 1500)})):
        r2 = repartition(r, gone, edited, microgrids=[m])
        assert r2.microgrids.set_index("microgrid_id").loc[m, "households"] == 0
        assert r2.households["cell_id"].notna().all()


def test_households_a_shrunk_island_leaves_out_are_told_they_lie_outside_their_villages_outline():
    """An island redrawn smaller leaves 26 of its households outside it, and outside every
    micro-grid.  Before, they were told they lie 'outside every village of the plan'; it
    is their own village's outline, given again, that they lie outside."""
    import numpy as np
    from shapely.geometry import MultiPolygon, box

    from .conftest import X0, Y0, UTM, village_gdf

    main = box(X0, Y0, X0 + 3000, Y0 + 1500)
    isl = box(X0 + 3500, Y0 + 200, X0 + 4100, Y0 + 800)
    pts = np.vstack([_spread(main, 200), _spread(isl, 60, 1)])
    v, h, r = _planned(MultiPolygon([main, isl]), pts)
    mgm = r.microgrids.set_index("microgrid_id").geometry.to_crs(UTM)
    hold = [m for m, g in mgm.items() if g.intersects(isl)]
    small = box(X0 + 3500, Y0 + 200, X0 + 4100, Y0 + 500.6)
    edited = village_gdf({"V": MultiPolygon([main, small])})
    r2 = repartition(r, h, edited, microgrids=hold)
    out = [d for d in r2.diagnostics if d["kind"] == "outside_village"]
    left = set(h.index[(pts[:, 0] > X0 + 3400) & (pts[:, 1] > Y0 + 500.6)])
    assert len(out) == 1 and set(out[0]["households"]) == left
    assert "outside the outline given for the village they are registered in" in out[0]["message"]
