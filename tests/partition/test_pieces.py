"""Pieces of one parent: shared borders and orphan parts merged into neighbours."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geogrid.partition.balance import adjacency
from geogrid.partition.pieces import GRID_M, merge_orphans, shared_border, union

# The straight cuts of a 2,363 m² village (UTM 49N) in three micro-grids, as a
# hypothesis example found them: the cut of micro-grid 2 left a thin clockwise
# triangle (part 2, 29 m²) beside micro-grid 0, away from its own main part (part 3).
# The pieces carry the common grid (set_precision), as the cuts leave them: GEOS then
# rounds a buffer of the triangle to that grid too.
PARTS = shapely.set_precision(shapely.from_wkt([
    "POLYGON ((379953.528104 3025067.762613, 379965.887329 3025097.600422, "
    "379976.166775 3025102.526235, 379924.906576 3024984.498479, 379920.848734 3024988.867635, "
    "379944.896033 3025046.922952, 379946.493177 3025047.402909, 379953.528104 3025067.762613))",
    "POLYGON ((379883.942111 3025028.6057, 379891.565613 3025030.896637, "
    "379931.419816 3025014.388485, 379920.848734 3024988.867635, 379883.942111 3025028.6057))",
    "POLYGON ((379963.431371 3025096.42355, 379965.887329 3025097.600422, "
    "379953.528104 3025067.762613, 379963.431371 3025096.42355))",
    "POLYGON ((379944.896033 3025046.922952, 379931.419816 3025014.388485, "
    "379891.565613 3025030.896637, 379944.896033 3025046.922952))",
]), GRID_M)


def test_border_along_a_thin_clockwise_triangle_is_measured_both_ways():
    edge = shapely.length(shapely.intersection(PARTS[0], PARTS[2]))
    assert edge == pytest.approx(32.296, abs=0.01)
    assert shared_border(PARTS[0], PARTS[2]) == pytest.approx(edge, abs=1e-3)
    assert shared_border(PARTS[2], PARTS[0]) == pytest.approx(edge, abs=1e-3)
    both = shared_border(PARTS[[0, 2]], PARTS[[2, 0]])
    assert both.shape == (2,) and np.allclose(both, edge, atol=1e-3)


def test_orphan_triangle_joins_the_micro_grid_it_borders():
    labels = merge_orphans(list(PARTS), [0, 1, 2, 2], [False, False, True, False])
    assert labels == [0, 1, 0, 2]
    for lab in set(labels):
        merged = union([p for p, f in zip(PARTS, labels) if f == lab])
        assert merged.geom_type == "Polygon", lab


def test_adjacency_sees_the_triangle():
    nb = adjacency(list(PARTS))
    assert 2 in nb[0] and 0 in nb[2]
    assert 3 not in nb[2]  # the triangle and its own main part only meet nowhere


def test_pieces_a_rounding_error_apart_still_share_their_border():
    a = shapely.box(0, 0, 10, 10)
    b = shapely.box(10 + 1e-7, 0, 20, 10)  # not touching, by a tenth of a micrometre
    assert shared_border(a, b) == pytest.approx(10, abs=1e-3)
    assert shared_border(a, shapely.box(10.5, 0, 20, 10)) == 0.0


def test_drop_micro_edges_removes_micrometre_edges_and_keeps_the_shape():
    from shapely.geometry import Polygon

    from geogrid.partition.edges import drop_micro_edges

    # a square with a 1 µm edge on one side: turf's kinks reads the edges around it as
    # crossing; without it the square is the same to the micrometre
    p = Polygon([(0, 0), (50, 0), (50.000001, 0.0), (100, 0), (100, 100), (0, 100)])
    (q,) = drop_micro_edges([p])
    xy = np.asarray(q.exterior.coords)
    assert np.hypot(*np.diff(xy, axis=0).T).min() > 1
    assert q.is_valid and abs(q.area - p.area) < 1e-3
    # a polygon that would not survive it is kept as it was
    tiny = Polygon([(0, 0), (1e-5, 0), (0, 1e-5)])
    assert drop_micro_edges([tiny])[0].equals(tiny)


def test_small_cells_join_a_neighbour_with_room():
    """Four cells in a row with 20, 3, 15 and 2 households, and a goal of two: the 2
    joins the 15 (its only neighbour), then the 3 joins those 17 (the 20 has no room);
    every household stays, and the joined cell is one polygon."""
    from geogrid.partition.drawing import join_small

    boxes = [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 130, 100),
             shapely.box(130, 0, 280, 100), shapely.box(280, 0, 300, 100)]
    start = np.cumsum([0, 20, 3, 15, 2])
    cells = [(b, np.arange(start[k], start[k + 1])) for k, b in enumerate(boxes)]
    out = join_small(cells, 20, 2)
    assert len(out) == 2
    (first, a), (joined, b) = sorted(out, key=lambda c: c[0].bounds[0])
    assert first.equals(boxes[0]) and a.tolist() == list(range(20))
    assert joined.geom_type == "Polygon" and joined.equals(shapely.box(100, 0, 300, 100))
    assert sorted(b.tolist()) == list(range(20, 40))
    # at the goal already, or where no neighbour has room (3 + 18 > 20): unchanged
    assert join_small(cells, 20, 4) == cells
    full = [(boxes[0], np.arange(20)), (boxes[1], np.arange(20, 23)), (boxes[2], np.arange(23, 41))]
    assert len(join_small(full, 20, 2)) == 3


def _straggler_map():
    """A 200 m x 100 m micro-grid: cell A's land is the left half plus an island of
    10 m inside cell B's right half, 8 m from A, with one of A's 20 households on it;
    B's 20 households keep off the island and the way to it."""
    from geogrid.partition.units import make_units

    M = shapely.box(0, 0, 200, 100)
    island = shapely.box(108, 45, 118, 55)
    a_land = shapely.union(shapely.box(0, 0, 100, 100), island)
    b_land = shapely.difference(shapely.box(100, 0, 200, 100), island)
    rng = np.random.default_rng(3)
    a = np.vstack([np.column_stack([rng.uniform(10, 90, 19), rng.uniform(10, 90, 19)]), [[113.0, 50.0]]])
    b = np.column_stack([rng.uniform(130, 190, 20), rng.uniform(10, 90, 20)])
    points = np.vstack([a, b])
    units = make_units(points)
    leaves = [(np.unique(units.of[:20]), []), (np.unique(units.of[20:]), [])]
    return M, units, points, leaves, np.array([a_land, b_land], dtype=object)


def test_a_hamlets_straggler_among_another_cells_land_is_joined_by_a_passage():
    """One of a small hamlet's 20 households lies among a full cell's land: the
    drawing joins it to its cell by a narrow passage instead of making it a cell of
    one household (which split the hamlet and put the micro-grid past its minimum plus
    one); the cells still tile the micro-grid, in one piece each, and hold their
    households clear of the passage."""
    from geogrid.partition.drawing import draw

    M, units, points, leaves, regions = _straggler_map()
    hsmall = np.full(units.n, -1)
    hsmall[units.of[:20]] = 0  # A's households are one small hamlet
    out = draw(M, units, points, 20, leaves, regions, hsmall)
    assert len(out) == 2
    (pa, a), (pb, b) = sorted(out, key=lambda c: c[0].bounds[0])
    assert sorted(a.tolist()) == list(range(20)) and sorted(b.tolist()) == list(range(20, 40))
    for poly, members in ((pa, a), (pb, b)):
        assert poly.is_valid and poly.geom_type == "Polygon"
        assert shapely.covers(poly, shapely.points(points[members])).all()
    others = shapely.points(points[b])
    assert shapely.distance(pa, others).min() >= 1.0  # the passage keeps clear of B's houses
    assert abs(pa.area + pb.area - M.area) < 1e-3 and shapely.union(pa, pb).equals(M)
    # a narrow way, not a wide band: A gained at most 8 m x 4 m of B's land, and the
    # rounded ends of the 4 m wide way
    assert 0 < pa.area - shapely.box(0, 0, 100, 100).area - 100.0 <= 8 * 4 + 4 * np.pi


def test_a_straggler_of_no_hamlet_still_becomes_a_cell_of_its_own():
    """Without a small hamlet to keep whole, the cut-off household is a cell of its
    own when no neighbour has room, as before (the rounds' next pass and
    ``join_small`` deal with it): a passage is only drawn to keep a hamlet whole."""
    from geogrid.partition.drawing import draw

    M, units, points, leaves, regions = _straggler_map()
    out = draw(M, units, points, 20, leaves, regions, np.full(units.n, -1))
    assert sorted(len(m) for _, m in out) == [1, 19, 20]
