"""The power diagram of a capacity-constrained assignment: its weights, its sites and
its cells as half-planes.

An optimal capacitated assignment of points to centres (:mod:`geogrid.partition.lloyd`)
is a power diagram (Aurenhammer, Hoffmann and Aronov 1998): there are weights ``w``
with every household ``x`` of cell ``i`` satisfying ``|x-c_i|² - w_i < |x-c_j|² - w_j`` for
every other cell ``j``.  Those are difference constraints ``w_j - w_i <= D_ij``, solved
by shortest paths; the cells are then convex polygons, given as half-planes shared by
each pair with opposite signs, so that they tile the plane exactly.

The diagram's sites need not be the households' centres: any sites and weights that
keep every household in its own region draw the same cells.  :func:`move_sites` moves
them towards the centroids of the cells' land (one step of a centroidal Voronoi
iteration, with the households as linear constraints), which turns the long parallel
strips a row of centres draws across empty land into fans of more compact cells.
"""

from __future__ import annotations

import numpy as np
import shapely
from ortools.linear_solver.python import model_builder_helper as mbh
from scipy.sparse import coo_array

from geogrid.partition.pieces import GRID_M, HalfPlane, polygonal
from geogrid.partition.units import address_keys

__all__ = ["power_weights", "power_distances", "halfplanes_between", "move_sites", "power_halfplanes",
           "voronoi_cells"]

#: least distance (m) between a household and its cell's border
MARGIN_M = 1e-4
#: moved sites keep each household at least this far (m) from a border, or as far as
#: the centres' diagram kept it where that was less (see move_sites)
SITE_MARGIN_M = 5.0


def power_weights(points: np.ndarray, cell: np.ndarray, centres: np.ndarray,
                  least: np.ndarray | None = None, relax: bool = False) -> np.ndarray | None:
    """Weights under which every household lies in its own cell's power region, at
    least :data:`MARGIN_M` from its border; None when there are none (the assignment
    is not optimal for these centres).  Coordinates should be local (near 0).

    ``least[i, j]``, if given, is a larger least difference of power distances
    ``|x-c_j|² - w_j - (|x-c_i|² - w_i)`` for the households ``x`` of cell ``i``.

    With ``relax``, weights are always returned: where there are none, those that put
    the points on the wrong side of their borders by as little in all as can be (a
    linear programme, :func:`_fewest_astray`), so that the few points that cross
    stray and the rest stay home; should that programme fail, the least slack that
    every border needs at once.  Used for land, where a few points drawn into a
    neighbour matter only by their area, and to find the cells that no diagram
    separates (``village._atoms``: on the sample county 268 households astray
    instead of 3,107 with the slack on every border)."""
    C = len(centres)
    if C == 1:
        return np.zeros(1)
    sq = (centres**2).sum(axis=1)
    if np.bincount(cell, minlength=C).min() == 0:
        return None
    # val[x, j] = |x-c_j|² - |x-c_i|² for household x of cell i, = sq_j - sq_i - 2 x.(c_j - c_i)
    proj = points @ centres.T  # (n, C): x . c_j
    rows = np.arange(len(points))
    val = sq[None, :] - sq[cell][:, None] - 2 * (proj - proj[rows, cell][:, None])
    dist = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    margin = 2 * MARGIN_M * dist if least is None else np.maximum(2 * MARGIN_M * dist, least)
    D = _differences(cell, val, margin)
    # all-pairs shortest paths (Floyd-Warshall): the paths from any one cell, and to
    # it, are solutions at the extremes (each presses borders against one side's
    # households); the feasible set is convex, so their mean is a solution with the
    # borders in between.  A negative cycle means there is no solution at all.
    P = _shortest_paths(D)
    if (np.diag(P) < -1e-7).any():
        if not relax:
            return None
        slack = _fewest_astray(cell, val, margin) if RELAX_L1 else None
        if slack is not None:
            # the households that must stray, stray by that much; the borders then
            # lie in between as for exact weights (not against the households, where
            # the programme's own weights would put them)
            P = _shortest_paths(_differences(cell, val, margin, slack))
            if not (np.diag(P) < -1e-7).any():
                P = _strays_across(cell, val, margin, slack, P)
        if (np.diag(P) < -1e-7).any():
            # the least slack that every border can be given so that the constraints
            # hold: the largest mean deficit round a cycle, found by bisection
            lo, hi = 0.0, float(-np.min(D[np.isfinite(D)])) + 1.0
            while hi - lo > 1e-3 * hi + 1e-6:
                mid = 0.5 * (lo + hi)
                if (np.diag(_shortest_paths(D + mid * (1 - np.eye(C)))) < -1e-7).any():
                    lo = mid
                else:
                    hi = mid
            P = _shortest_paths(D + hi * (1 - np.eye(C)))
    return _centred(P)


#: relaxed power weights (no exact ones): as little total distance on the wrong side
#: of a border as can be, over the households (a linear programme), so that a few
#: households stray, not every border by the same slack (the fallback)
RELAX_L1 = True
#: other cells per household whose border it is kept on the right side of, in that
#: programme (the nearest centres)
RELAX_NEAREST = 8


def _strays_across(cell, val, margin, slack, P):
    """The paths ``P`` of relaxed weights, redone with each household that strays
    (``slack`` > 0) counted in the cell it strays into, so that the borders lie
    between it and the others as between any two cells' households: with the slack
    alone, each border that a household crosses passes right through it.  On the
    sample county 89 households lay within 1 cm of their micro-grid's border that way
    (with cuts.KEEP_M, 236 households within 1 cm of their cell's border became 10;
    seeds 1 and 2 of the sample: 129 -> 14, 175 -> 15).  ``P`` itself where that
    leaves no solution."""
    stray = slack > margin.max()
    if not stray.any():
        return P
    w = _centred(P)
    rows = np.arange(len(cell))
    gap = val - (w[None, :] - w[cell][:, None])
    gap[rows, cell] = np.inf
    moved = np.where(stray, np.argmin(gap, axis=1), cell)
    if np.bincount(moved, minlength=len(margin)).min() == 0:
        return P
    # val is |x-c_j|² - |x-c_i|² for x's cell i: shift it to x's new cell
    again = _shortest_paths(_differences(moved, val - val[rows, moved][:, None], margin))
    return P if (np.diag(again) < -1e-7).any() else again


def _centred(P: np.ndarray) -> np.ndarray:
    """The weights of shortest paths ``P`` with the borders in between: the mean of the
    solutions at the extremes (the paths from each cell and to it), centred."""
    return 0.5 * (P.mean(axis=0) - P.mean(axis=1))


def _differences(cell, val, margin, slack=None):
    """The difference constraints of power weights: ``D[i, j]`` = the least over the
    households ``x`` of cell ``i`` of ``val[x, j]`` (plus ``slack[x]``, how far ``x`` may
    stray), less ``margin[i, j]``.  Every cell has a household."""
    C = len(margin)
    D = np.full((C, C), np.inf)
    v = val if slack is None else val + slack[:, None]
    for i in range(C):
        D[i] = v[cell == i].min(axis=0)
    D = D - margin
    np.fill_diagonal(D, 0.0)
    return D


def _fewest_astray(cell, val, margin):
    """How far each household must stray (in power distance) for weights to exist, as
    little in all as can be (the sum, minimised by GLOP over the household's borders
    with its :data:`RELAX_NEAREST` nearest other cells); None if the programme fails.
    ``val`` and ``margin`` as :func:`_differences` takes them."""
    n, C = val.shape
    m = min(C - 1, RELAX_NEAREST)
    rhs = val - margin[cell]
    rhs[np.arange(n), cell] = np.inf
    cand = np.argpartition(rhs, m - 1, axis=1)[:, :m] if m < C - 1 else np.argsort(rhs, axis=1)[:, :m]
    rows = np.repeat(np.arange(n), m)
    jj = cand.ravel()
    ii = np.repeat(cell, m)
    k = n * m
    # w_j - w_i - s_x <= rhs[x, j]; variables w (C) then s (n)
    r = np.arange(k)
    A = coo_array((np.r_[np.ones(k), -np.ones(k), -np.ones(k)],
                   (np.r_[r, r, r], np.r_[jj, ii, C + rows])), shape=(k, C + n)).tocsr()
    b = rhs[rows, jj]
    sol = _lp_min(np.r_[np.zeros(C), np.ones(n)], A, b, np.r_[np.full(C, -np.inf), np.zeros(n)],
                  np.full(C + n, np.inf))
    if sol is None:
        return None
    return np.maximum(sol[C:], 0.0) * (1 + 1e-9) + 1e-9


def _shortest_paths(D: np.ndarray) -> np.ndarray:
    """All-pairs shortest paths (Floyd-Warshall) of the difference constraints ``D``."""
    P = D.copy()
    for k in range(len(D)):
        np.minimum(P, P[:, [k]] + P[[k], :], out=P)
    return P


def _hull_corners(points: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The corners of each cell's convex hull (the two ends where its households lie
    on a line, the point where they are one): a linear function is least over a
    cell's households at one of them.  ``(corners, cell of each)``, all cells at once."""
    present, local = np.unique(cell, return_inverse=True)
    local = local.ravel()
    order = np.argsort(local, kind="stable")
    hulls = shapely.convex_hull(shapely.multipoints(points[order], indices=local[order]))
    xy, which = shapely.get_coordinates(shapely.extract_unique_points(hulls), return_index=True)
    return xy, present[which]


def _lp_min(c: np.ndarray, A, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """The x that minimises ``c . x`` subject to ``A x <= b`` and ``lo <= x <= hi``, by
    OR-Tools' GLOP (the sparse model is handed over whole: a fifth of the time of
    scipy's linprog on these small programmes, same optima); None unless optimal."""
    model = mbh.ModelBuilderHelper()
    model.fill_model_from_sparse_data(lo, hi, c, np.full(len(b), -np.inf), b, A)
    solver = mbh.ModelSolverHelper("glop")
    solver.solve(model)
    if solver.status() != mbh.SolveStatus.OPTIMAL:
        return None
    return np.asarray(solver.variable_values())


def move_sites(points: np.ndarray, cell: np.ndarray, centres: np.ndarray, weights: np.ndarray,
               targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sites as near ``targets`` as keep every household in its own power region, and
    their weights (centred, as :func:`power_weights` gives them).

    With ``f_i(x) = 2 s_i . x - b_i`` (the power distance to site ``s_i`` less ``|x|²``,
    negated), household ``x`` of cell ``i`` lies in ``i``'s region when ``f_i(x) >
    f_j(x)`` for every ``j``: linear in the sites and offsets together.  One linear
    programme (GLOP) finds the sites nearest the targets (sum of absolute coordinate
    differences) under those constraints, written for the corners of each cell's hull
    only.  Each pair keeps the margin the given ``centres`` and ``weights`` had, up to
    :data:`SITE_MARGIN_M`, so that no border moves up against a house.  Returns the
    given sites and weights unchanged when the programme or the weights fail.
    """
    C = len(centres)
    if C < 2:
        return centres, weights
    X, own = _hull_corners(points, cell)
    ii = np.repeat(own, C)
    jj = np.tile(np.arange(C), len(X))
    keep = ii != jj
    ii, jj = ii[keep], jj[keep]
    x = np.repeat(X, C, axis=0)[keep]
    # the margin each pair has now, in units of f, and what the moved sites must keep
    d0 = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    beta = (centres**2).sum(axis=1) - weights
    slack = 2 * ((centres[ii] - centres[jj]) * x).sum(axis=1) - beta[ii] + beta[jj]
    s0 = np.full((C, C), np.inf)
    np.minimum.at(s0, (ii, jj), slack)
    need = np.minimum(s0, 2 * SITE_MARGIN_M * d0)[ii, jj]
    # variables sx, sy, b, ux, uy (C each), with u >= |s - target|
    m = len(ii)
    k = np.arange(C)
    one = np.ones(C)
    rows = np.r_[np.repeat(np.arange(m), 6), m + np.repeat(np.arange(4 * C), 2)]
    cols = np.r_[np.column_stack([ii, jj, C + ii, C + jj, 2 * C + ii, 2 * C + jj]).ravel(),
                 np.column_stack([np.r_[k, C + k, k, C + k],
                                  np.r_[3 * C + k, 4 * C + k, 3 * C + k, 4 * C + k]]).ravel()]
    vals = np.r_[np.column_stack([-2 * x[:, 0], 2 * x[:, 0], -2 * x[:, 1], 2 * x[:, 1],
                                  np.ones(m), -np.ones(m)]).ravel(),
                 np.column_stack([np.r_[one, one, -one, -one], -np.r_[one, one, one, one]]).ravel()]
    A = coo_array((vals, (rows, cols)), shape=(m + 4 * C, 5 * C)).tocsr()
    b = np.r_[-need, targets[:, 0], targets[:, 1], -targets[:, 0], -targets[:, 1]]
    sol = _lp_min(np.r_[np.zeros(3 * C), np.ones(2 * C)], A, b,
                  np.r_[np.full(3 * C, -np.inf), np.zeros(2 * C)], np.full(5 * C, np.inf))
    if sol is None:
        return centres, weights
    moved = np.column_stack([sol[:C], sol[C : 2 * C]])
    # centred weights for the moved sites, keeping the margins the programme kept (a
    # hair less, for the solver's tolerance)
    least = np.zeros((C, C))
    np.maximum.at(least, (ii, jj), need)
    w = power_weights(points, cell, moved, least=least * (1 - 1e-6))
    if w is None:
        return centres, weights
    return moved, w


def power_distances(points: np.ndarray, centres: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``|x - c_j|² - w_j`` for every point and centre, (n, C)."""
    return ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2) - weights[None, :]


def halfplanes_between(centres: np.ndarray, weights: np.ndarray, origin: np.ndarray,
                       i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Centre ``i[k]``'s side of its power border with ``j[k]``, as rows ``(a0, a1, b)``
    of ``a . x <= b`` in the original coordinates (``centres`` and ``weights`` are
    relative to ``origin``).  The pair's two sides are exact negations of each other,
    so that the regions tile the plane."""
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    sign = np.where(i < j, 1.0, -1.0)
    sq = (centres**2).sum(axis=1)
    a = sign[:, None] * (2 * (centres[hi] - centres[lo]))
    b = sign * (sq[hi] - sq[lo] + weights[lo] - weights[hi])
    return np.column_stack([a, b + a[:, 0] * origin[0] + a[:, 1] * origin[1]])


def power_halfplanes(centres: np.ndarray, weights: np.ndarray, origin: np.ndarray) -> list[list[HalfPlane]]:
    """The power region of each centre as half-planes in the original coordinates
    (``centres`` and ``weights`` are relative to ``origin``)."""
    C = len(centres)
    i, j = np.nonzero(~np.eye(C, dtype=bool))
    rows = [tuple(r) for r in halfplanes_between(centres, weights, origin, i, j).tolist()]
    return [rows[k * (C - 1):(k + 1) * (C - 1)] for k in range(C)]


def voronoi_cells(points: np.ndarray, cell: np.ndarray, k: int, box) -> np.ndarray:
    """Per cell, the union of its households' Voronoi regions within ``box`` (which
    must hold every point): ``k`` polygons that tile the box.

    Points at one address (the same centimetre: one unit, so one cell) are one site.
    Two sites nanometres apart (a household added at another's point, its coordinates
    through a CRS and back) gave GEOS a region that holds neither site, which was then
    no cell's: a hole of hundreds of m² in the micro-grid.  A region GEOS draws
    crossing itself (four sites on a circle, as on a lattice) is drawn on the grid.
    """
    points = np.asarray(points, float)
    _, first = np.unique(address_keys(points), axis=0, return_index=True)
    xy = points[first]
    lab = cell[first]
    if len(xy) == 1:
        regions = np.array([box], dtype=object)
    else:
        regions = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=box))
        if not shapely.is_valid(regions).all():
            # four sites on a circle (a lattice) can give two Voronoi vertices 1e-10 m
            # apart and a ring that crosses itself there; clipped, its edges no longer
            # met its neighbours' and the coverage union below failed.  On the grid,
            # every region alike (shared vertices snap to the same point), they are one
            regions = shapely.set_precision(regions, GRID_M)
        regions = polygonal(shapely.intersection(regions, box))
    # voronoi_polygons does not keep the input order: match each region to its site
    site, reg = shapely.STRtree(regions).query(shapely.points(xy), predicate="within")
    owner = np.full(len(regions), -1)
    owner[reg] = lab[site]
    lost = np.flatnonzero(owner < 0)
    if len(lost):  # a region holding no site (its site on its edge): the nearest site's
        near = shapely.STRtree(shapely.points(xy)).query_nearest(regions[lost], all_matches=False)
        owner[lost[near[0]]] = lab[near[1]]
    out = np.empty(k, dtype=object)
    for c in range(k):
        # the regions of one diagram share their edges exactly: a coverage union, ten
        # times faster than an overlay on the grid (the caller's clip snaps to it)
        mine = regions[owner == c]
        out[c] = shapely.coverage_union_all(mine) if len(mine) else shapely.Polygon()
    return polygonal(out)
