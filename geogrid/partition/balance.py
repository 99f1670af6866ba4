"""Micro-grids balanced in area by handing empty land across their borders.

The straight cuts of :func:`geogrid.partition.cuts.split_area` balance area only as
far as the gaps between households allow, and a non-convex village hands the
pieces it cuts off to a neighbour.  Where a micro-grid then ends up outside the
tolerance, the micro-grids of the village are cut into squares: a square holding a
household stays where it is; an empty one on a border may join the neighbour, as
long as both stay in one piece, until every micro-grid is within :data:`AIM_TOL`
of the mean or no move helps.
"""

from __future__ import annotations

import numpy as np
import shapely

from geogrid.partition.pieces import TOUCH_M, clean, grid_squares, shared_border, union

__all__ = ["adjacency", "rebalance", "AREA_TOL"]

#: the issue's tolerance: each micro-grid within ±25 % of its village's mean area
AREA_TOL = 0.25
#: the local moves aim inside this, so that a group does not sit on the edge
AIM_TOL = 0.2
#: at most this many moves
MAX_PASSES = 200


def adjacency(polys: list) -> list[set[int]]:
    """For each polygon, the polygons it shares a border of positive length with."""
    arr = np.array(polys, dtype=object)
    n = len(arr)
    nb: list[set[int]] = [set() for _ in range(n)]
    if n < 2:
        return nb
    left, right = shapely.STRtree(arr).query(arr, predicate="dwithin", distance=TOUCH_M)
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return nb
    shared = shared_border(arr[left], arr[right])
    for i, j, s in zip(left.tolist(), right.tolist(), shared.tolist()):
        if s > 1e-3:
            nb[i].add(j)
            nb[j].add(i)
    return nb


def _connected(members: np.ndarray, nb: list[set[int]]) -> bool:
    """Whether ``members`` form one piece in the adjacency ``nb``."""
    if len(members) <= 1:
        return len(members) == 1
    want = set(members.tolist())
    start = next(iter(want))
    seen = {start}
    todo = [start]
    while todo:
        c = todo.pop()
        for d in nb[c]:
            if d in want and d not in seen:
                seen.add(d)
                todo.append(d)
    return len(seen) == len(want)


def _improve(groups: list[np.ndarray], area: np.ndarray, nb: list[set[int]], target: float,
             anchor: np.ndarray, movable: np.ndarray | None = None):
    """Move border pieces (the ``movable`` ones) from groups over their area to
    neighbouring groups under it, keeping every group connected and with an anchor."""
    label = np.empty(len(area), int)
    for g, ids in enumerate(groups):
        label[ids] = g
    K = len(groups)
    garea = np.array([area[ids].sum() for ids in groups])

    def penalty(a: float) -> float:
        return max(0.0, abs(a / target - 1) - AIM_TOL) ** 2

    for _ in range(MAX_PASSES):
        if np.all(np.abs(garea / target - 1) <= AIM_TOL):
            break
        # the best move that keeps the group it leaves connected
        moved = False
        cand = []
        for c in range(len(area)) if movable is None else np.flatnonzero(movable).tolist():
            g = label[c]
            for h in sorted({int(label[d]) for d in nb[c]} - {g}):
                gain = (penalty(garea[g]) + penalty(garea[h])
                        - penalty(garea[g] - area[c]) - penalty(garea[h] + area[c]))
                if gain > 1e-12:
                    cand.append((-gain, c, h))
        for neg, c, h in sorted(cand):
            g = label[c]
            rest = np.flatnonzero(label == g)
            rest = rest[rest != c]
            if not anchor[rest].any() or not _connected(rest, nb):
                continue
            label[c] = h
            garea[g] -= area[c]
            garea[h] += area[c]
            moved = True
            break
        if not moved:
            break
    return [np.flatnonzero(label == g) for g in range(K)]


def rebalance(polys: list, points: np.ndarray, owner: np.ndarray, step: float, origin) -> list | None:
    """Micro-grids ``polys`` (tiling one village; household ``points`` in micro-grid
    ``owner``) with empty land handed across their borders until each is within
    :data:`AIM_TOL` of the mean area, or as close as the land allows.

    Each micro-grid is cut into squares of side ``step`` on a grid anchored at
    ``origin``; a square holding a household stays, an empty one may change hands.
    Returns the new polygons, in the same order, or None when one would fall apart.
    """
    pieces, label = [], []
    for m, P in enumerate(polys):
        for q in grid_squares(P, step, origin):
            pieces.append(q)
            label.append(m)
    label = np.array(label)
    arr = np.array(pieces, dtype=object)
    pi, qi = shapely.STRtree(arr).query(shapely.points(points), predicate="dwithin", distance=1e-3)
    locked = np.zeros(len(arr), bool)
    locked[qi[label[qi] == owner[pi]]] = True
    nb = adjacency(pieces)
    area = shapely.area(arr)
    K = len(polys)
    groups = [np.flatnonzero(label == m) for m in range(K)]
    groups = _improve(groups, area, nb, area.sum() / K, locked, movable=~locked)
    out = []
    for g in groups:
        poly = clean(union([pieces[i] for i in g]))
        if poly.geom_type != "Polygon":
            return None
        out.append(poly)
    return out
