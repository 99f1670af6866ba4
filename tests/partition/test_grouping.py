"""Micro-grids as groups of whole cells (grouping.py) and the cells-first layout."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from geogrid.partition import partition
from geogrid.partition.grouping import footprints, group_cells, one_piece
from geogrid.partition.power import power_weights

from .conftest import X0, Y0, households_gdf, village_gdf
from .test_partition_rules import broken


def test_one_piece_rejects_parts_necks_and_spikes():
    square = box(0, 0, 100, 100)
    assert one_piece([square])
    assert not one_piece([shapely.MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)])])
    # two squares joined by a 4 mm neck: one polygon, but it falls apart
    neck = shapely.union_all([box(0, 0, 10, 10), box(10, 5, 20, 5.004), box(20, 0, 30, 10)])
    assert neck.geom_type == "Polygon"
    assert not one_piece([neck])
    # a hair-thin wedge 100 m long on the square's edge (it went invalid in degrees)
    spike = Polygon([(0, 0), (100, 0), (100, 50), (200, 50.0001), (100, 50.0002), (100, 100), (0, 100)])
    assert spike.is_valid
    assert not one_piece([spike])
    # an ordinary sharp corner is not a spike
    assert one_piece([Polygon([(0, 0), (100, 0), (0, 5)])])


def _two_settlements():
    """Households of two settlements in a 2 km square, five tight groups of 20 (three
    in one, two in the other), and their cells' power diagram."""
    rng = np.random.default_rng(0)
    groups = [(420, 1000), (500, 1000), (580, 1000), (1460, 1000), (1540, 1000)]
    pts = np.vstack([rng.normal(g, 8, size=(20, 2)) for g in groups])
    cell = np.repeat(np.arange(5), 20)
    centres = np.array([pts[cell == c].mean(axis=0) for c in range(5)])
    origin = pts.mean(axis=0)
    w = power_weights(pts - origin, cell, centres - origin)
    assert w is not None
    return box(0, 0, 2000, 2000), pts, cell, (centres - origin, w, origin)


def test_footprints_are_disjoint_hold_their_households_and_stay_in_the_village():
    V, pts, cell, diagram = _two_settlements()
    feet = footprints(pts, cell, *diagram, 50.0, V)
    assert len(feet) == 5
    for c in range(5):
        assert shapely.contains(feet[c], shapely.points(pts[cell == c])).all()
        assert feet[c].within(V.buffer(1e-6))
    overlap = sum(feet[i].intersection(feet[j]).area for i in range(5) for j in range(i + 1, 5))
    assert overlap < 1e-3  # shared edges, to float precision


def test_group_cells_tiles_the_village_with_whole_cells_and_a_cell_in_every_microgrid():
    V, pts, cell, diagram = _two_settlements()
    feet = footprints(pts, cell, *diagram, 50.0, V)
    xs = np.arange(20, 2000, 40.0)
    lattice = np.array([(x, y) for x in xs for y in xs])
    # start: three vertical strips; every cell starts in the middle one, so the two
    # outer micro-grids have none and must be given one
    strips = [[(1, 0, 666.7)], [(-1, 0, -666.7), (1, 0, 1333.3)], [(-1, 0, -1333.3)]]
    got = group_cells(V, lattice, feet, 3, strips, np.ones(5, int))
    assert got is not None
    polys, cell_mg = got
    assert len(polys) == 3 and one_piece(polys)
    assert abs(sum(p.area for p in polys) - V.area) < 1.0
    assert shapely.union_all(polys).symmetric_difference(V).area < 1.0
    assert sorted(np.unique(cell_mg)) == [0, 1, 2]
    for c in range(5):  # each cell's households inside its micro-grid
        assert shapely.contains(polys[cell_mg[c]].buffer(1e-6), shapely.points(pts[cell == c])).all()
    mean = V.area / 3
    assert all(abs(p.area / mean - 1) <= 0.25 for p in polys)


def test_cells_first_keeps_a_settlement_on_a_straight_border_together():
    """A street village of 20 households, 400 m long, across the line that cuts a
    3 km x 1 km village into equal thirds, and three compact hamlets of 20: the
    straight layout must cut the street (its cuts move at most 15 % of the area to
    find a gap) and spends a fifth cell on it; cells first keeps it one cell, and the
    village has its minimum of four."""
    rng = np.random.default_rng(0)
    street = np.column_stack([np.linspace(X0 + 800, X0 + 1200, 20), np.full(20, Y0 + 500.0)])
    hamlets = [rng.normal(c, 25, size=(20, 2))
               for c in [(X0 + 300, Y0 + 500), (X0 + 2000, Y0 + 300), (X0 + 2700, Y0 + 600)]]
    pts = np.vstack([street, *hamlets])
    v = village_gdf({"V": box(X0, Y0, X0 + 3000, Y0 + 1000)})
    h = households_gdf(pts, "V")
    got = {}
    for layout in ("straight", "cells_first"):
        r = partition(h, v, layout=layout)
        assert broken(r, v) == {}
        assert len(r.microgrids) == 3
        assert r.report["parameters"]["layout"] == layout
        assert r.report["layouts"] == {"V": layout}
        got[layout] = (len(r.cells), r.households["cell_id"].iloc[:20].nunique())
        # no micrometre edges, in either layout (an editor's self-intersection test
        # reads the two edges around one as a crossing)
        for g in [*r.microgrids.geometry, *r.cells.geometry]:
            for ring in [g.exterior, *g.interiors] if g.geom_type == "Polygon" else []:
                xy = np.asarray(ring.coords)
                assert np.hypot(*np.diff(xy, axis=0).T).min() >= 1e-4
    assert got["straight"] == (5, 2)
    assert got["cells_first"] == (4, 1)
    # auto: cells first for a village of 80 households
    assert partition(h, v, layout="auto").households["cell_id"].iloc[:20].nunique() == 1


def test_cells_first_tries_narrower_footprints_before_falling_back(monkeypatch):
    """Where the widest footprints group into micro-grids that are not one piece each
    (group_cells gives None), the narrower ones are tried before the straight cuts."""
    import geogrid.partition.village as village

    rng = np.random.default_rng(1)
    pts = np.vstack([rng.normal(c, 25, size=(20, 2)) for c in
                     [(X0 + 300, Y0 + 500), (X0 + 1200, Y0 + 400), (X0 + 2000, Y0 + 300), (X0 + 2700, Y0 + 600)]])
    v = village_gdf({"V": box(X0, Y0, X0 + 3000, Y0 + 1000)})
    h = households_gdf(pts, "V")
    calls = []
    real = village.group_cells

    def first_fails(V, lattice, feet, *args):
        calls.append(float(shapely.area(feet).sum()))
        return None if len(calls) == 1 else real(V, lattice, feet, *args)

    monkeypatch.setattr(village, "group_cells", first_fails)
    r = partition(h, v, layout="cells_first")
    assert len(calls) == 2 and calls[1] < calls[0]  # the second try, with narrower footprints
    assert r.report["layouts"] == {"V": "cells_first"}
    assert broken(r, v) == {}
