"""Micro-grids balanced in area by handing empty land across their borders."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geogrid.partition.balance import AIM_TOL, rebalance

from .conftest import X0, Y0


def strips(cuts, height=1000.0):
    xs = [0.0, *cuts, 3000.0]
    return [shapely.box(X0 + a, Y0, X0 + b, Y0 + height) for a, b in zip(xs[:-1], xs[1:])]


def households_in(polys, rng, per=30, spread=40.0):
    pts, owner = [], []
    for m, p in enumerate(polys):
        c = np.array(p.centroid.coords[0])
        pts.append(c + rng.normal(0, spread, (per, 2)))
        owner += [m] * per
    return np.vstack(pts), np.array(owner)


def test_uneven_microgrids_come_within_the_aim_and_keep_their_households():
    polys = strips([400.0, 2300.0])  # 0.4, 1.9 and 0.7 km² against a mean of 1
    pts, owner = households_in(polys, np.random.default_rng(0))
    out = rebalance(polys, pts, owner, step=125.0, origin=(X0, Y0))
    assert out is not None and len(out) == 3
    mean = 3000.0 * 1000.0 / 3
    assert all(abs(p.area / mean - 1) <= AIM_TOL + 1e-9 for p in out)
    for m, p in enumerate(out):
        assert p.is_valid and p.geom_type == "Polygon"
        mine = pts[owner == m]
        assert shapely.contains_xy(p, mine[:, 0], mine[:, 1]).all()
    total = shapely.union_all(out, grid_size=1e-6)
    assert total.area == pytest.approx(3e6, rel=1e-9)
    assert sum(p.area for p in out) == pytest.approx(3e6, rel=1e-9)
    assert total.symmetric_difference(shapely.box(X0, Y0, X0 + 3000, Y0 + 1000)).area < 1e-3


def test_balanced_microgrids_are_left_as_they_are():
    polys = strips([1000.0, 2000.0])
    pts, owner = households_in(polys, np.random.default_rng(1))
    out = rebalance(polys, pts, owner, step=125.0, origin=(X0, Y0))
    assert out is not None
    for a, b in zip(polys, out):
        assert a.symmetric_difference(b).area < 1e-3


def test_land_full_of_households_does_not_move():
    # households everywhere: no square is free, so nothing can change hands
    polys = strips([400.0, 2300.0])
    gx, gy = np.meshgrid(np.arange(30.0, 3000.0, 60.0), np.arange(30.0, 1000.0, 60.0))
    pts = np.column_stack([gx.ravel() + X0, gy.ravel() + Y0])
    owner = np.array([next(m for m, p in enumerate(polys) if p.contains(shapely.Point(q))) for q in pts])
    out = rebalance(polys, pts, owner, step=125.0, origin=(X0, Y0))
    assert out is not None
    for a, b in zip(polys, out):
        assert a.symmetric_difference(b).area < 1e-3
