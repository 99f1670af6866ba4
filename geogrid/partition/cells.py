"""The cells of one area (a micro-grid, or a whole village): at most ``cap``
households each, as compact as the flow allows, drawn as polygons that tile it.

:func:`solve_cells` starts from straight cuts (:mod:`~geogrid.partition.cuts`), or
from a given assignment, improves it by capacity-constrained Lloyd rounds
(:mod:`~geogrid.partition.lloyd`) and draws the power diagram within the area
(:mod:`~geogrid.partition.drawing`).  Pure numpy and shapely, in metres.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from geogrid.errors import PartitionError
from geogrid.partition.cuts import split_cells
from geogrid.partition.drawing import diagram, draw, join_small
from geogrid.partition.lloyd import assign_within, fewer_cells, lloyd, mean_points, relocate
from geogrid.partition.units import Units, merge_units, needed_cells

__all__ = ["solve_cells", "first_leaves", "cell_rounds", "round_groups", "cell_centres", "lattice_points", "LLOYD"]

#: lattice points per cell, to keep cell polygons compact
LATTICE_PER_CELL = 60
#: cells a micro-grid may add to keep its small hamlets whole, never past one above
#: its minimum ceil(households / cap).  Measured on the sample county: small hamlets
#: kept whole 91.1 % -> 94.3 % for 4 more cells (of 4,335); 2 would reach 96.7 % but
#: put 0.4 % more micro-grids past minimum + 1.
HAMLET_EXTRA_CELLS = 1
#: improve the cut cells by capacity-constrained Lloyd rounds (see lloyd.py)
LLOYD = True

def lattice_points(poly, n_target: int) -> np.ndarray:
    """About ``n_target`` points of a regular grid inside ``poly`` (equal area each)."""
    area = poly.area
    x0, y0, x1, y1 = poly.bounds
    pts = np.zeros((0, 2))
    step = math.sqrt(max(area, 1e-6) / n_target)
    for _ in range(4):
        xs = np.arange(x0 + step / 2, x1, step)
        ys = np.arange(y0 + step / 2, y1, step)
        if len(xs) and len(ys):
            gx, gy = np.meshgrid(xs, ys)
            gx, gy = gx.ravel(), gy.ravel()
            inside = shapely.contains_xy(poly, gx, gy)
            pts = np.column_stack([gx[inside], gy[inside]])
        if len(pts) >= n_target // 4 and len(pts) >= 8:
            return pts
        step /= 2.5
    # a sliver of a village: its vertices still give a usable area measure
    coords = shapely.get_coordinates(poly)
    return coords if len(coords) >= 2 else np.zeros((2, 2))


def solve_cells(M, units: Units, points: np.ndarray, cap: int, hsmall: np.ndarray,
                start: np.ndarray | None = None, sites=None):
    """Cells of one micro-grid ``M``: ``[(polygon, household indices)]``.

    Every household lies in its own cell, cells tile ``M``, and each holds at most
    ``cap`` households unless it is a single bigger building.  The rounds start from
    the straight cuts, or from ``start`` (a cell per unit, each within ``cap``), whose
    diagram is drawn from ``sites`` (``(centres, origin)``, the centres the start was
    assigned to) or else its cells' mean points.  More than one cell above the
    minimum ``ceil(households / cap)``, and small cells join their neighbours
    (:func:`~geogrid.partition.drawing.join_small`).
    """
    out = _solve_cells(M, units, points, cap, hsmall, start, sites)
    return join_small(out, cap, -(-len(points) // cap) + 1)


def _solve_cells(M, units: Units, points: np.ndarray, cap: int, hsmall: np.ndarray, start, sites):
    n = len(points)
    if n == 0:
        return [(M, np.zeros(0, int))]
    if start is not None:
        leaves = [(np.flatnonzero(start == c), []) for c in range(start.max() + 1)]
        if len(leaves) == 1:
            return [(M, np.arange(n))]
        # the start's own diagram; the rounds only where its drawing needs more cells,
        # or where it has more than one above the minimum
        centres, origin = sites if sites is not None else (None, units.xy.mean(axis=0))
        if centres is None:
            centres = cell_centres(units, start, origin)
        out = _draw_repaired(M, units, points, cap, hsmall, diagram(units, start, centres, origin, M))
        if LLOYD and (len(out) > len(leaves) or len(out) > -(-n // cap) + 1):
            # the drawing cut cells apart (households of one cell inside another's
            # land): the rounds again, and the units alone assigned to the same sites
            # (a diagram that separates them, where small hamlets had kept it from
            # existing); whichever needs fewer cells
            better = _power_leaves(units, leaves, cap, hsmall, M)
            if better is not None:
                out2 = _draw_repaired(M, units, points, cap, hsmall, better)
                if len(out2) < len(out):
                    out = out2
            again = None
            if len(out) > len(leaves):
                again = assign_within(units.xy - origin, units.weight.astype(np.int64), centres, cap)
            if again is not None and _hamlets_whole(hsmall, again) < _hamlets_whole(hsmall, start):
                again = None  # not at the cost of a small hamlet
            if again is not None:
                used, again = np.unique(again, return_inverse=True)
                out2 = _draw_repaired(M, units, points, cap, hsmall,
                                      diagram(units, again.ravel(), centres[used], origin, M))
                if len(out2) < len(out):
                    out = out2
        return out
    C = needed_cells(units.weight, cap)
    lattice = lattice_points(M, LATTICE_PER_CELL * C) if C > 1 else None
    leaves = first_leaves(units, cap, C, hsmall, lattice)
    if not (LLOYD and len(leaves) > 1):
        return draw(M, units, points, cap, leaves, None, hsmall)
    better = _power_leaves(units, leaves, cap, hsmall, M)
    if better is None:
        return draw(M, units, points, cap, leaves, None, hsmall)
    return _draw_repaired(M, units, points, cap, hsmall, better)


def cell_centres(units: Units, cell_of_unit: np.ndarray, origin) -> np.ndarray:
    """Each cell's mean household, relative to ``origin``."""
    return mean_points(cell_of_unit[units.of], units.points - origin, np.ones(len(units.of)))


def first_leaves(units: Units, cap: int, C: int, hsmall: np.ndarray, lattice):
    """The straight cuts' cells (:func:`~geogrid.partition.cuts.split_cells`), with
    small hamlets kept whole where that costs no cell, or one when the plain cut would
    split a hamlet."""
    n = int(units.weight.sum())
    leaves = None
    if C > 1 and (hsmall >= 0).any():
        # first try with each small hamlet as one unit, so no cut can split it; keep
        # that if it costs no extra cell, or one extra cell when the ordinary cut would
        # split a small hamlet (a natural hamlet of up to 20 households is one cell)
        merged, new = merge_units(units, hsmall, cap)
        if merged.n < units.n:
            try:
                ml = split_cells(merged, np.arange(merged.n), cap, needed_cells(merged.weight, cap),
                                 np.full(merged.n, -1), lattice)
            except PartitionError:
                ml = None
            if ml is not None and len(ml) <= C:
                leaves = [(np.flatnonzero(np.isin(new, ids)), hp) for ids, hp in ml]
            elif ml is not None and len(ml) <= max(C, min(C + HAMLET_EXTRA_CELLS,
                                                          -(-n // cap) + 1)):
                plain = split_cells(units, np.arange(units.n), cap, C, hsmall, lattice)
                if _splits_a_hamlet(plain, hsmall, units.n):
                    leaves = [(np.flatnonzero(np.isin(new, ids)), hp) for ids, hp in ml]
                else:
                    leaves = plain
    if leaves is None:
        leaves = split_cells(units, np.arange(units.n), cap, C, hsmall, lattice)
    return leaves


def _draw_repaired(M, units: Units, points: np.ndarray, cap: int, hsmall: np.ndarray, drawn):
    """:func:`draw` of a diagram's ``(leaves, pieces)``; where ``M``'s shape cut cells
    apart and their cut-off households became cells of their own, one more round of
    Lloyd with those cells as the start, and then one without keeping whole the
    small hamlets that the drawing split all the same."""
    out = draw(M, units, points, cap, *drawn, hsmall)
    if len(out) > len(drawn[0]):
        start = _cell_of_unit(units, out)
        again = _power_leaves(units, [(np.flatnonzero(start == c), []) for c in range(len(out))],
                              cap, hsmall, M)
        if again is not None:
            out2 = draw(M, units, points, cap, *again, hsmall)
            if len(out2) <= len(out):
                out = out2
    if len(out) > len(drawn[0]):
        # a small hamlet whose houses mingle with another cell's, too far in for a
        # passage (drawing._corridor): kept together by the rounds, it was drawn in
        # pieces anyway, with cells of its stragglers; it is not kept whole then
        cell = _cell_of_unit(units, out)
        m = hsmall >= 0
        pairs = np.unique(np.column_stack([hsmall[m], cell[m]]), axis=0)
        codes, n_cells = np.unique(pairs[:, 0], return_counts=True)
        loose = np.where(np.isin(hsmall, codes[n_cells > 1]), -1, hsmall)
        if (loose != hsmall).any():
            again = _power_leaves(units, drawn[0], cap, loose, M)
            if again is not None:
                out2 = draw(M, units, points, cap, *again, loose)
                if len(out2) < len(out):
                    out = out2
    return out


def _cell_of_unit(units: Units, cells) -> np.ndarray:
    """The cell of each unit, from cells ``[(polygon, household indices)]``."""
    out = np.empty(units.n, int)
    for c, (_, members) in enumerate(cells):
        out[units.of[members]] = c
    return out


def _power_leaves(units: Units, leaves, cap: int, hsmall: np.ndarray, parent):
    """The cells of ``leaves`` improved by capacity-constrained Lloyd rounds, as the
    half-planes of their power diagram within the polygon ``parent``; None when that
    does not improve them.

    Units stay whole, and so does every small hamlet where the flow allows.  A
    building bigger than ``cap`` keeps its own cell, which takes part in the power
    diagram but not in the rounds.
    """
    got = cell_rounds(units, leaves, cap, hsmall)
    if got is None:
        return None
    cell_of_unit, centres, origin = got
    return diagram(units, cell_of_unit, centres, origin, parent)


def cell_rounds(units: Units, leaves, cap: int, hsmall: np.ndarray, goal: int | None = None,
                moves: bool = False):
    """Lloyd rounds from ``leaves``: ``(cell of each unit, centres, origin)`` (centres
    relative to origin), or None when they do not improve on the leaves.

    With ``moves``, also :func:`~geogrid.partition.lloyd.relocate`'s moves of whole
    cells: for a whole village's cells (the cells-first layout), where a spare cell
    can go to any outlying hamlet.  Within a micro-grid already cut (the straight
    layout's) they cost cells: on the sample county's towns, a cell moved to a far
    corner of a block was then cut apart by the block's shape, and 3 more
    micro-grids went past their minimum plus one."""
    leaf = np.empty(units.n, int)
    for lab, (ids, _) in enumerate(leaves):
        leaf[ids] = lab
    origin = units.xy.mean(axis=0)
    group, gxy, gw = round_groups(units, hsmall, origin)
    G = len(gw)
    gleaf = np.zeros(G, int)
    gleaf[group] = leaf
    fixed_leaf = np.zeros(len(leaves), bool)
    fixed_leaf[leaf[units.weight > cap]] = True
    mov = ~fixed_leaf[gleaf]
    got = lloyd(gxy[mov], gw[mov], gleaf[mov], cap) if mov.any() else None
    if got is None:
        return None
    if moves:
        got = relocate(gxy[mov], gw[mov], got, cap)
    n_fixed = int(fixed_leaf.sum())
    if goal is None:
        goal = -(-int(units.weight.sum()) // cap) + 1  # the minimum ceil(n / cap), plus one
    if len(got[1]) + n_fixed > goal:
        # more cells than the minimum plus one (buildings that pack badly): fewer,
        # where the households still fit, even at some cost in compactness
        got = fewer_cells(gxy[mov], gw[mov], got, cap, max(1, goal - n_fixed))
    glabel = np.empty(G, int)
    glabel[mov] = got[0]
    centres = [got[1]]
    k = len(got[1])
    for lab in np.flatnonzero(fixed_leaf):
        gs = np.flatnonzero(gleaf == lab)
        glabel[gs] = k
        centres.append(gxy[gs[:1]])
        k += 1
    centres = np.vstack(centres)
    cell_of_unit = glabel[group]
    pts = units.points - origin
    hh_cell = cell_of_unit[units.of]
    sse_new = ((pts - centres[hh_cell]) ** 2).sum()
    hh_leaf = leaf[units.of]
    # the leaves' mean points (a leaf the cuts left without households has none)
    n_leaf = np.maximum(np.bincount(hh_leaf, minlength=len(leaves)), 1)
    old_c = np.column_stack([np.bincount(hh_leaf, pts[:, 0], len(leaves)),
                             np.bincount(hh_leaf, pts[:, 1], len(leaves))]) / n_leaf[:, None]
    sse_old = ((pts - old_c[hh_leaf]) ** 2).sum()
    kept = _hamlets_whole(hsmall, cell_of_unit) - _hamlets_whole(hsmall, leaf)
    if k > len(leaves) or (k == len(leaves) and kept <= 0 and sse_new > sse_old * (1 - 1e-9)):
        return None
    return cell_of_unit, centres, origin


def round_groups(units: Units, hsmall: np.ndarray, origin) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the rounds move whole: a unit, or a small hamlet (the flow keeps it whole
    where it fits, which the cuts could not always do).  ``(group of each unit, mean
    point of each group relative to ``origin``, households of each group)``."""
    group = np.arange(units.n)
    m = hsmall >= 0
    if m.any():
        codes, first = np.unique(hsmall[m], return_index=True)
        group[m] = np.flatnonzero(m)[first][np.searchsorted(codes, hsmall[m])]
    _, group = np.unique(group, return_inverse=True)
    group = group.ravel()
    G = group.max() + 1
    gw = np.bincount(group, weights=units.weight, minlength=G)
    gxy = np.column_stack([np.bincount(group, (units.xy[:, 0] - origin[0]) * units.weight, G),
                           np.bincount(group, (units.xy[:, 1] - origin[1]) * units.weight, G)]) / gw[:, None]
    return group, gxy, gw


def _hamlets_whole(hsmall: np.ndarray, cell_of_unit: np.ndarray) -> int:
    """How many small hamlets lie in one cell each."""
    m = hsmall >= 0
    if not m.any():
        return 0
    pairs = np.unique(np.column_stack([hsmall[m], cell_of_unit[m]]), axis=0)
    return int((np.bincount(np.searchsorted(np.unique(hsmall[m]), pairs[:, 0])) == 1).sum())


def _splits_a_hamlet(leaves, hsmall: np.ndarray, n_units: int) -> bool:
    """Whether the leaves put the units of one small hamlet in different cells."""
    leaf = np.full(n_units, -1)
    for lab, (ids, _) in enumerate(leaves):
        leaf[ids] = lab
    m = hsmall >= 0
    return bool(m.any()) and _hamlets_whole(hsmall, leaf) < len(np.unique(hsmall[m]))
