"""Micro-grids as groups of whole cells: connected, and balanced in area.

The cells of a village are drawn first, for the village as a whole, so that no
micro-grid line cuts through a settlement where the cells would not.  Each
micro-grid is then a connected set of neighbouring cells whose areas add up to
about the village's area over the number of micro-grids:

1. recursive bisection: the cells are ordered along each of the cut directions and
   split where the two sides' areas come closest to their share, among the splits
   that leave both sides connected;
2. local moves: a cell on the border of a group that is too big joins a neighbour
   that is too small, as long as both stay connected, until every group is within
   the tolerance or no move helps.
"""

from __future__ import annotations

import numpy as np
import shapely

from geogrid.partition.cuts import DIRECTIONS
from geogrid.partition.pieces import TOUCH_M, clean, grid_squares, union

__all__ = ["adjacency", "group_cells", "rebalance", "AREA_TOL"]

#: the issue's tolerance: each micro-grid within ±25 % of its village's mean area
AREA_TOL = 0.25
#: the local moves aim inside this, so that a group does not sit on the edge
AIM_TOL = 0.2
#: at most this many local-move passes over the border cells
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
    shared = shapely.length(shapely.intersection(
        shapely.boundary(arr[left]), shapely.buffer(arr[right], TOUCH_M, quad_segs=2)))
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


def _sse(xy: np.ndarray, w: np.ndarray) -> float:
    c = (xy * w[:, None]).sum(axis=0) / w.sum()
    return float((w * ((xy - c) ** 2).sum(axis=1)).sum())


def _bisect(ids: np.ndarray, K: int, area: np.ndarray, xy: np.ndarray, nb: list[set[int]],
            anchor: np.ndarray):
    """Split cells ``ids`` into a side for ``K // 2`` micro-grids and one for the rest,
    each with at least as many anchors as micro-grids."""
    K1 = K // 2
    t = K1 / K
    total = area[ids].sum()
    node = max(_sse(xy[ids], area[ids]), 1e-9)
    cands = []
    for d in range(DIRECTIONS.shape[1]):
        order = ids[np.argsort(xy[ids] @ DIRECTIONS[:, d], kind="stable")]
        f = np.cumsum(area[order])[:-1] / total
        j = np.arange(1, len(order))
        dev = np.maximum(np.abs(f - t) / t, np.abs(f - t) / (1 - t))
        na = np.cumsum(anchor[order])[:-1]
        ok = (na >= K1) & (anchor[order].sum() - na >= K - K1)
        for k in np.flatnonzero(ok):
            cands.append((float(dev[k]), d, int(j[k]), order))
    # the most even splits first; among those within the aim, the most compact
    cands.sort(key=lambda c: (c[0], c[1], c[2]))
    best = None
    for dev, d, j, order in cands[:200]:
        left, right = order[:j], order[j:]
        if best is not None and dev > max(AIM_TOL / 2, best[0]):
            break
        if not (_connected(left, nb) and _connected(right, nb)):
            continue
        score = (_sse(xy[left], area[left]) + _sse(xy[right], area[right])) / node + 2.0 * dev
        if best is None or score < best[1] - 1e-12:
            best = (dev, score, left, right)
    if best is None:
        return None
    return best[2], best[3]


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


def group_cells(polys: list, K: int, anchor: np.ndarray | None = None) -> list[np.ndarray] | None:
    """``K`` connected groups of the pieces ``polys`` (which tile one village), each of
    about a K-th of the area and each with at least one ``anchor`` piece (a cell with
    households; default: every piece); None when the adjacency does not allow it."""
    n = len(polys)
    if K <= 1:
        return [np.arange(n)]
    anchor = np.ones(n, bool) if anchor is None else np.asarray(anchor, bool)
    if anchor.sum() < K:
        return None
    arr = np.array(polys, dtype=object)
    area = shapely.area(arr)
    cen = shapely.get_coordinates(shapely.centroid(arr))
    nb = adjacency(polys)
    if not _connected(np.arange(n), nb):
        return None
    groups: list[np.ndarray] = []
    stack = [(np.arange(n), K)]
    while stack:
        ids, k = stack.pop()
        if k == 1:
            groups.append(np.sort(ids))
            continue
        split = _bisect(ids, k, area, cen, nb, anchor)
        if split is None:
            return None
        left, right = split
        stack.append((right, k - k // 2))
        stack.append((left, k // 2))
    return _improve(groups, area, nb, area.sum() / K, anchor)


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
