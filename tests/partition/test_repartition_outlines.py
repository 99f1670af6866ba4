"""repartition() after a village's outline was edited: the named micro-grids follow it
(or are cut afresh where they must be), locked cells stay whole or the edit is refused
by name, and the notes say what changed (pieces, land gained or lost, overlaps)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geogrid.crs import reproject
from geogrid.errors import InputError
from geogrid.partition import repartition

from .test_repartition import _broken, county  # noqa: F401 (county: the module's fixture)


def _grow(c, r, code, by_m=100.0):
    """Village ``code`` grown by ``by_m`` metres, taken from its neighbours."""
    metric = r.report["parameters"]["metric_crs"]
    vm = c.villages.set_geometry(reproject(c.villages.geometry, metric))
    j = vm.index[vm["village_code"] == code][0]
    grown = vm.geometry[j].buffer(by_m)
    geoms = [grown if k == j else g.difference(grown) for k, g in zip(vm.index, vm.geometry)]
    vm = vm.set_geometry(gpd.GeoSeries(geoms, index=vm.index, crs=metric))
    changed = [v for v, a, b in zip(vm["village_code"], reproject(c.villages.geometry, metric), geoms)
               if a.symmetric_difference(b).area > 1.0]
    return vm.set_geometry(reproject(vm.geometry, c.villages.crs)), changed


def test_boundary_edit_moves_only_the_named_microgrids(county):
    c, r = county
    code = r.microgrids["village_code"].value_counts().index[0]
    edited, changed = _grow(c, r, code)
    assert code in changed and len(changed) > 1
    # the edited village alone: its micro-grids take the new outline, and the diagnostics
    # name the neighbours' micro-grids that now overlap it
    own = r.microgrids.loc[r.microgrids["village_code"] == code, "microgrid_id"].tolist()
    r2 = repartition(r, c.households, edited, microgrids=own)
    cross = [d for d in r2.diagnostics if d["kind"] == "outline_crosses_microgrids"]
    assert cross and all(d["village_code"] in changed for d in cross)
    named_too = sorted({m for d in cross for m in d["microgrids"]})
    assert named_too and not set(named_too) & set(own)
    assert set(r.microgrids.set_index("microgrid_id").loc[named_too, "village_code"]) <= set(changed)
    metric = r.report["parameters"]["metric_crs"]
    new_own = reproject(r2.microgrids[r2.microgrids["microgrid_id"].isin(own)].geometry, metric).union_all()
    target = reproject(edited.loc[edited["village_code"] == code].geometry, metric).iloc[0]
    diff = gpd.GeoSeries([new_own.symmetric_difference(target)], crs=metric)
    assert diff.area.iloc[0] < 1.0  # the named micro-grids tile the new outline
    # naming them as well gives a plan that keeps every rule on the edited outlines,
    # and every other micro-grid keeps its id and geometry exactly
    ms = own + named_too
    r3 = repartition(r, c.households, edited, microgrids=ms)
    assert _broken(r3, edited) == {}
    assert not [d for d in r3.diagnostics if d["kind"] == "outline_crosses_microgrids"]
    a = r.microgrids.set_index("microgrid_id").geometry
    b = r3.microgrids.set_index("microgrid_id").geometry
    rest = a.index.difference(ms)
    assert a[rest].geom_equals_exact(b[rest], 0).all()
    ac = r.cells.set_index("cell_id")
    bc = r3.cells.set_index("cell_id")
    other = ac.index[~ac["microgrid_id"].isin(ms)]
    assert ac.geometry[other].geom_equals_exact(bc.geometry[other], 0).all()


def test_specks_of_a_difference_are_dropped_but_islands_kept():
    """A re-solved area is the village minus the kept micro-grids; where the new outline
    runs along a kept edge the difference leaves specks, which must not make the
    micro-grid multi-part.  Real islands of a village stay."""
    from shapely.geometry import MultiPolygon, box

    from geogrid.partition.outline_edit import _drop_specks

    village = box(0, 0, 1000, 1000)
    region = MultiPolygon([box(0, 0, 500, 1000), box(999.9, 0, 1000, 0.5)])  # 0.05 m² speck
    out = _drop_specks(region, village)
    assert out.geom_type == "Polygon" and out.equals(box(0, 0, 500, 1000))
    islands = MultiPolygon([box(0, 0, 500, 1000), box(2000, 0, 2000.1, 0.5)])
    assert _drop_specks(islands, islands).equals(islands)
    real = MultiPolygon([box(0, 0, 500, 1000), box(900, 0, 1000, 100)])  # a real piece stays
    assert _drop_specks(real, village).equals(real)


def test_a_locked_cell_stays_whole_in_its_microgrid_when_an_outline_edit_recuts_the_village(county):
    """Before: the re-cut of several named micro-grids for a new outline ignored the
    locked cells, which then crossed their micro-grid and overlapped the next one."""
    c, r = county
    code = r.microgrids["village_code"].value_counts().index[0]
    edited, _ = _grow(c, r, code)
    own = r.microgrids.loc[r.microgrids["village_code"] == code, "microgrid_id"].tolist()
    r1 = repartition(r, c.households, edited, microgrids=own)
    named = own + sorted({m for d in r1.diagnostics if d["kind"] == "outline_crosses_microgrids"
                          for m in d["microgrids"]})
    held = refused = 0
    for lock in r.cells.loc[r.cells["microgrid_id"].isin(own), "cell_id"]:
        try:
            r2 = repartition(r, c.households, edited, microgrids=named, locked_cells=[lock])
        except InputError as exc:
            # a lock at the old edge, beyond which the outline added land that no
            # free cell can reach: refused, saying which
            assert lock in str(exc) and "cut off" in str(exc)
            refused += 1
            continue
        assert _broken(r2, edited) == {}, lock
        assert r.cells.set_index("cell_id").geometry[lock].equals_exact(
            r2.cells.set_index("cell_id").geometry[lock], 0)
        before = set(r.households.index[r.households["cell_id"] == lock])
        assert before == set(r2.households.index[r2.households["cell_id"] == lock])
        held += 1
    assert held >= 3


def test_an_outline_edit_that_cuts_a_microgrid_in_two_is_reported_and_a_locked_cell_across_it_refused(county):
    c, r = county
    metric = r.report["parameters"]["metric_crs"]
    code = r.microgrids["village_code"].value_counts().index[0]
    own = r.microgrids.loc[r.microgrids["village_code"] == code, "microgrid_id"].tolist()
    m = own[0]
    mg = reproject(r.microgrids.set_index("microgrid_id").geometry[[m]], metric).iloc[0]
    x0, y0, x1, y1 = mg.bounds
    cx = (x0 + x1) / 2
    river = shapely.box(cx - 20, y0 - 10, cx + 20, y1 + 10)  # a 40 m strip across it
    vm = c.villages.set_geometry(reproject(c.villages.geometry, metric))
    k = vm.index[vm["village_code"] == code][0]
    vm.loc[k, "geometry"] = vm.loc[k, "geometry"].difference(river)
    assert shapely.get_num_geometries(vm.loc[k, "geometry"]) == 1  # the village stays one piece
    edited = vm.set_geometry(reproject(vm.geometry, c.villages.crs))
    hh = c.households[~c.households.geometry.to_crs(metric).within(river)]
    r2 = repartition(r, hh, edited, microgrids=[m])
    notes = [d for d in r2.diagnostics if d["kind"] == "microgrid_in_pieces"]
    assert [d["microgrids"] for d in notes] == [[m]] and "2 pieces" in notes[0]["message"]
    assert "cells" not in notes[0]  # each piece has households and cells of its own
    # with the households of the western piece gone, a cell of the eastern one takes
    # that piece too, and the note names it (before: only the micro-grid)
    hm = hh.geometry.to_crs(metric)
    west = hh.index[hm.within(mg) & (hm.x < cx)]
    assert len(west)
    r4 = repartition(r, hh.drop(west), edited, microgrids=[m])
    note = next(d for d in r4.diagnostics if d["kind"] == "microgrid_in_pieces")
    cm4 = reproject(r4.cells.set_index("cell_id").geometry, metric)
    torn = sorted(cid for cid in r4.cells.loc[r4.cells["microgrid_id"] == m, "cell_id"]
                  if shapely.get_num_geometries(cm4[cid]) > 1)
    assert torn and note["cells"] == torn
    assert all(cid in note["message"] for cid in torn) and "in pieces with it" in note["message"]
    # a cell the river crosses cannot stay locked
    cm = reproject(r.cells.set_index("cell_id").geometry, metric)
    across = [cid for cid in r.cells.loc[r.cells["microgrid_id"] == m, "cell_id"] if cm[cid].intersects(river)]
    assert across
    with pytest.raises(InputError, match="locked cells") as refused:
        repartition(r, hh, edited, microgrids=[m], locked_cells=across[:1])
    # the map words it in its user's language (before: no key, so English)
    assert refused.value.key == "plan.rerun_locked_cells_outside_outline"
    assert refused.value.params == {"village": code, "microgrids": [m]}
    # the note goes once the outline is given again with the micro-grid whole
    r3 = repartition(r2, c.households, c.villages, microgrids=[m])
    assert not [d for d in r3.diagnostics if d["kind"] == "microgrid_in_pieces"]


def test_a_microgrid_that_takes_back_its_villages_free_land_says_so(county):
    """A micro-grid whose outline a planner shrank takes the freed land back when it
    is re-run with the village's outline (the named micro-grids take all of the
    village no other covers); before, silently, so the edit looked undone for no
    reason."""
    from geogrid.partition.result import PartitionResult

    c, r = county
    metric = r.report["parameters"]["metric_crs"]
    m = r.microgrids["microgrid_id"].iloc[4]
    mg = r.microgrids.copy()
    k = mg.index[mg["microgrid_id"] == m][0]
    shrunk = reproject(gpd.GeoSeries([reproject(mg.geometry[[k]], metric).iloc[0].buffer(-40)], crs=metric),
                       mg.crs).iloc[0]
    mg.loc[k, "geometry"] = shrunk
    edited = PartitionResult(households=r.households, microgrids=mg, cells=r.cells, report=r.report)
    r2 = repartition(edited, c.households, c.villages, microgrids=[m])
    notes = [d for d in r2.diagnostics if d["kind"] == "microgrid_area_changed"]
    assert [d["microgrids"] for d in notes] == [[m]]
    freed = (reproject(r.microgrids.geometry[[k]], metric).area.iloc[0]
             - reproject(gpd.GeoSeries([shrunk], crs=mg.crs), metric).area.iloc[0])
    assert f"gained {freed / 1e6:.3f} km²" in notes[0]["message"]
    # re-run without the outlines, the edited outline stands and nothing is said
    r3 = repartition(edited, c.households, microgrids=[m])
    assert not [d for d in r3.diagnostics if d["kind"] == "microgrid_area_changed"]


def test_an_outline_edited_over_a_neighbours_land_is_reported_as_an_overlap(county):
    """Before: a village grown over its neighbours, re-run with the neighbours'
    micro-grids named too, left the two villages' micro-grids overlapping with no note
    (the crossing note names only micro-grids not re-run)."""
    c, r = county
    metric = r.report["parameters"]["metric_crs"]
    code = r.microgrids["village_code"].value_counts().index[0]
    vm = c.villages.set_geometry(reproject(c.villages.geometry, metric))
    k = vm.index[vm["village_code"] == code][0]
    vm.loc[k, "geometry"] = vm.loc[k, "geometry"].buffer(150)  # over the neighbours, not taken from them
    edited = vm.set_geometry(reproject(vm.geometry, c.villages.crs))
    own = r.microgrids.loc[r.microgrids["village_code"] == code, "microgrid_id"].tolist()
    r1 = repartition(r, c.households, edited, microgrids=own)
    neighbours = sorted({m for d in r1.diagnostics if d["kind"] == "outline_crosses_microgrids" for m in d["microgrids"]})
    r2 = repartition(r, c.households, edited, microgrids=own + neighbours)
    for res in (r1, r2):
        notes = [d for d in res.diagnostics if d["kind"] == "villages_overlap"]
        assert notes and all(code in d["villages"] for d in notes)
    # given the outlines again as they were, the notes go
    r3 = repartition(r2, r2.households, c.villages, microgrids=own)
    assert not [d for d in r3.diagnostics if d["kind"] == "villages_overlap" and code in d["villages"]]


_THIN_EDIT = """
import sys
import geopandas as gpd
from geogrid.crs import reproject
from geogrid.partition import check, partition, repartition
from tests.partition.synthetic import synthetic_county

c = synthetic_county(seed=7, n_households=3000)
r = partition(c.households, c.villages, engine="serial")
metric = r.report["parameters"]["metric_crs"]
code = r.microgrids["village_code"].value_counts().index[0]
vm = c.villages.set_geometry(reproject(c.villages.geometry, metric))
k = vm.index[vm["village_code"] == code][0]
vm.loc[k, "geometry"] = vm.loc[k, "geometry"].buffer(0.005)  # the border redrawn 5 mm out
edited = vm.set_geometry(reproject(vm.geometry, c.villages.crs))
own = r.microgrids.loc[r.microgrids["village_code"] == code, "microgrid_id"].tolist()
r2 = repartition(r, c.households, edited, microgrids=own)
bad = {k: v for k, v in check(r2, edited).items() if v and k != "microgrids_tile_villages"}
print("ok" if not bad else bad)
"""


def test_a_border_redrawn_a_few_millimetres_out_is_not_a_lattice_of_centimetres():
    """Before: the land an outline edit adds was shared by a lattice whose spacing
    came from its area: for a border redrawn 5 mm out (47 m² over a 2 km box), a
    lattice of centimetres, 1.7 GB, and the process killed (found by review).  Run
    under a 4 GB address-space limit, as the review did."""
    import resource
    import subprocess
    import sys
    from pathlib import Path

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (4_000_000_000, 4_000_000_000))

    out = subprocess.run([sys.executable, "-c", _THIN_EDIT], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[2], preexec_fn=limit)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:] + out.stdout[-500:]


def test_households_an_outline_edit_leaves_outside_their_village_are_told_so(county):
    """Before: households in a strip cut off a village, every micro-grid of it re-run,
    were named not_repartitioned ('re-solve the micro-grid they now lie in'), looked up
    in the micro-grids as they were, and check() failed on them."""
    c, r = county
    metric = r.report["parameters"]["metric_crs"]
    code = r.microgrids["village_code"].value_counts().index[-1]
    own = r.microgrids.loc[r.microgrids["village_code"] == code, "microgrid_id"].tolist()
    vm = c.villages.set_geometry(reproject(c.villages.geometry, metric))
    k = vm.index[vm["village_code"] == code][0]
    x0, y0, x1, y1 = vm.geometry[k].bounds
    strip = shapely.box(x1 - 250, y0 - 10, x1 + 10, y1 + 10)
    vm.loc[k, "geometry"] = vm.geometry[k].difference(strip)
    edited = vm.set_geometry(reproject(vm.geometry, c.villages.crs))
    hm = c.households.set_geometry(reproject(c.households.geometry, metric))
    cut = c.households.index[hm.within(strip).to_numpy() & (c.households["village_code"] == code).to_numpy()]
    assert len(cut)
    r2 = repartition(r, c.households, edited, microgrids=own)
    told = {h for d in r2.diagnostics if d["kind"] == "outside_village" for h in d["households"]}
    assert set(cut) <= told
    assert not [d for d in r2.diagnostics if d["kind"] == "not_repartitioned"]
    assert _broken(r2, edited) == {}


def _edge_microgrid(r, vm, code):
    """The micro-grid of village ``code`` with the longest stretch of its outline, and the
    micro-grids' polygons in metres."""
    metric = r.report["parameters"]["metric_crs"]
    own = r.microgrids.loc[r.microgrids["village_code"] == code, "microgrid_id"].tolist()
    mgm = reproject(r.microgrids.set_index("microgrid_id").geometry, metric)
    V = vm.geometry[vm.index[vm["village_code"] == code][0]]
    return own, mgm, max(own, key=lambda o: mgm[o].intersection(V.exterior).length)


def _metric_villages(c, r):
    metric = r.report["parameters"]["metric_crs"]
    return c.villages.set_geometry(reproject(c.villages.geometry, metric)), metric


def test_a_microgrid_named_alone_that_the_new_outline_leaves_no_land_is_refused(county):
    """Before: it became a speck of 1e-5 m² with one empty cell, and check() passed it."""
    c, r = county
    code = r.microgrids["village_code"].value_counts().index[0]
    vm, metric = _metric_villages(c, r)
    own, mgm, m = _edge_microgrid(r, vm, code)
    k = vm.index[vm["village_code"] == code][0]
    vm.loc[k, "geometry"] = vm.geometry[k].difference(mgm[m])
    edited = vm.set_geometry(reproject(vm.geometry, c.villages.crs))
    with pytest.raises(InputError, match=f"leaves micro-grid\\(s\\) {m} no land"):
        repartition(r, c.households, edited, microgrids=[m])
    # named with a neighbour, the two are cut afresh over what is left, and the note
    # tells the land lost from the land passed between them
    nb = next(o for o in own if o != m and mgm[o].intersection(mgm[m]).length > 1)
    r2 = repartition(r, c.households, edited, microgrids=[nb, m])
    assert _broken(r2, edited) == {}
    new = reproject(r2.microgrids.set_index("microgrid_id").geometry, metric)
    assert new[m].area > 1e4 and new[nb].area > 1e4
    note = next(d for d in r2.diagnostics if d["kind"] == "microgrid_area_changed")
    lost_km2 = mgm[m].area / 1e6
    # before, the land M passed to its neighbour was counted as gained (and lost) as well
    assert f"gained 0 m² and lost {lost_km2:.3f} km² in all" in note["message"]
    assert f"{new[m].area / 1e6:.3f} km² passed from one of them to another" in note["message"]


def test_land_an_outline_adds_beside_a_microgrid_not_named_stays_out_and_names_it(county):
    """Before: a bump added to the outline next to micro-grid X went to the named
    micro-grid Y far from it: Y and one of its cells in two pieces."""
    c, r = county
    code = r.microgrids["village_code"].value_counts().index[0]
    vm, metric = _metric_villages(c, r)
    own, mgm, x = _edge_microgrid(r, vm, code)
    k = vm.index[vm["village_code"] == code][0]
    V = vm.geometry[k]
    edge = shapely.line_merge(mgm[x].intersection(V.exterior))
    edge = max(getattr(edge, "geoms", [edge]), key=lambda g: g.length)
    bump = edge.interpolate(0.5, normalized=True).buffer(150)
    grown = V.union(bump)
    vm = vm.set_geometry(gpd.GeoSeries([grown if j == k else g.difference(grown) for j, g in zip(vm.index, vm.geometry)],
                                       index=vm.index, crs=metric))
    edited = vm.set_geometry(reproject(vm.geometry, c.villages.crs))
    far = next(o for o in own if mgm[o].distance(bump) > 50)
    r2 = repartition(r, c.households, edited, microgrids=[far])
    new = reproject(r2.cells.set_index("cell_id").geometry, metric)
    mine = r2.cells.loc[r2.cells["microgrid_id"] == far, "cell_id"]
    assert all(shapely.get_num_geometries(new[cid]) == 1 for cid in mine)
    broken = _broken(r2, edited)
    assert "cells_one_piece" not in broken and "microgrids_one_piece" not in broken
    note = [d for d in r2.diagnostics if d["kind"] == "outline_adds_land"]
    assert len(note) == 1 and x in note[0]["microgrids"] and far not in note[0]["microgrids"]
    # naming what the notes name gives a plan that keeps every rule
    more = sorted({m for d in r2.diagnostics if d["kind"] in ("outline_adds_land", "outline_crosses_microgrids")
                   for m in d["microgrids"]})
    r3 = repartition(r, c.households, edited, microgrids=[far, *more])
    assert _broken(r3, edited) == {}
    assert not [d for d in r3.diagnostics if d["kind"] in ("outline_adds_land", "microgrid_in_pieces")]


# --- hand-built villages (metres, UTM) -------------------------------------------------
