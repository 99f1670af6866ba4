"""Partition one village, in metres: micro-grids by area, then cells by capacity.

Villages are independent, so this is the unit of parallel work.  Input and output
are plain arrays and WKB so that they cross process boundaries cheaply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components

from geogrid.errors import PartitionError
from geogrid.partition.cuts import split_area, split_cells
from geogrid.partition.balance import AREA_TOL, rebalance
from geogrid.partition.drawing import diagram, draw
from geogrid.partition.grouping import footprints, group_cells, one_piece
from geogrid.partition.lloyd import assign_within, fewer_cells, lloyd, mean_points, power_distances, power_weights
from geogrid.partition.pieces import GRID_M, clean, clip_leaves, drop_micro_edges, explode, merge_orphans, union
from geogrid.partition.units import Units, make_units, merge_units, needed_cells

__all__ = ["VillageTask", "VillageResult", "solve_village", "solve_cells", "TOL_M"]

#: a household within this distance (m) of a polygon counts as inside it
TOL_M = 1e-3
#: households of one building further apart than this (m) are reported
SPREAD_M = 100.0
#: lattice points per micro-grid used to measure area while cutting
LATTICE_PER_PART = 600
#: lattice points per cell, to keep cell polygons compact
LATTICE_PER_CELL = 60
#: cells a micro-grid may add to keep its small hamlets whole, never past one above
#: its minimum ceil(households / cap).  Measured on the sample county: small hamlets
#: kept whole 91.1 % -> 94.3 % for 4 more cells (of 4,335); 2 would reach 96.7 % but
#: put 0.4 % more micro-grids past minimum + 1.
HAMLET_EXTRA_CELLS = 1
#: hand empty land across micro-grid borders where their areas are uneven, in
#: squares of 1/SQUARES_PER_SIDE of a micro-grid's side (then half that)
REBALANCE = True
SQUARES_PER_SIDE = 4
#: improve the cut cells by capacity-constrained Lloyd rounds (see lloyd.py)
LLOYD = True
#: how a village with several micro-grids is laid out (see partition's ``layout``)
LAYOUTS = ("auto", "cells_first", "straight")
#: ``layout="auto"`` lays out villages of up to this many households cells first
AUTO_CELLS_FIRST_MAX = 1000
#: a cell's footprint is the hull of its households grown by this many steps of the
#: micro-grid lattice; the narrower ones where cells tied together would otherwise hold
#: more than FIT_SHARE of a micro-grid's land
FOOTPRINT_STEPS = (2.0, 1.0, 0.5)
FIT_SHARE = 0.9
#: lattice points per micro-grid when grouping cells into micro-grids
GROUP_LATTICE_PER_PART = 250
#: cells tied to one micro-grid hold at most this share of a micro-grid's land


@dataclass
class VillageTask:
    code: str
    polygon: bytes  # WKB, metres
    points: np.ndarray  # (n, 2) metres
    building: np.ndarray | None
    hamlet: np.ndarray | None
    max_households: int
    microgrid_km2: float
    min_microgrids: int
    max_microgrids: int
    seed: int = 0
    layout: str = "straight"


@dataclass
class VillageResult:
    code: str
    microgrids: list[bytes] = field(default_factory=list)  # WKB, metres
    cells: list[bytes] = field(default_factory=list)
    cell_microgrid: list[int] = field(default_factory=list)
    household_cell: np.ndarray | None = None  # index into cells, per household
    diagnostics: list[dict] = field(default_factory=list)
    #: "cells_first", "straight", or "straight_fallback" (cells first was tried and
    #: could not be made)
    layout: str = "straight"


def target_microgrids(area_m2: float, n_households: int, task: VillageTask) -> int:
    """``clamp(round(area / microgrid_km2), min, max)``, but no more micro-grids than
    ``ceil(households / max_households)`` so that none is left empty."""
    k = int(round(area_m2 / 1e6 / task.microgrid_km2))
    k = max(task.min_microgrids, min(task.max_microgrids, k))
    if n_households == 0:
        return 1
    return max(1, min(k, -(-n_households // task.max_households)))


def _lattice(poly, n_target: int) -> np.ndarray:
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


def _hamlet_small(units: Units, hamlet: np.ndarray | None, cap: int) -> np.ndarray:
    """Per unit: its hamlet code if that hamlet has at most ``cap`` households, else -1."""
    if hamlet is None or units.n == 0:
        return np.full(units.n, -1)
    size = np.bincount(units.hamlet[units.hamlet >= 0], weights=units.weight[units.hamlet >= 0])
    out = units.hamlet.copy()
    m = out >= 0
    out[m] = np.where(size[out[m]] <= cap, out[m], -1)
    return out


def _locate(points: np.ndarray, polys: list, prefer: np.ndarray) -> np.ndarray:
    """Index of the polygon each point lies in (within :data:`TOL_M`), preferring
    ``prefer[i]`` where it qualifies, else the nearest; -1 if none."""
    out = np.full(len(points), -1)
    if not len(points) or not polys:
        return out
    arr = np.array(polys, dtype=object)
    tree = shapely.STRtree(arr)
    pts = shapely.points(points)
    pi, gi = tree.query(pts, predicate="dwithin", distance=TOL_M)
    if not len(pi):
        return out
    dist = shapely.distance(pts[pi], arr[gi])
    pref = (gi == prefer[pi]).astype(float)
    # sort by point, then preferred first, then nearest, then lowest index
    order = np.lexsort((gi, dist, -pref, pi))
    pi, gi = pi[order], gi[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    out[pi[first]] = gi[first]
    return out


def solve_village(task: VillageTask) -> VillageResult:
    """Micro-grids and cells of one village."""
    V = shapely.set_precision(shapely.make_valid(shapely.from_wkb(task.polygon)), GRID_M)
    cap = task.max_households
    res = VillageResult(code=task.code)
    n = len(task.points)
    units = make_units(task.points, task.building, task.hamlet)
    hsmall = _hamlet_small(units, task.hamlet, cap)
    diags = res.diagnostics
    if n == 0:
        diags.append({
            "kind": "empty_village", "village_code": task.code, "households": [],
            "message": f"village {task.code} has no households; it is one micro-grid with one "
            "empty cell. Check that its households were imported with this village code.",
        })
    K = target_microgrids(V.area, n, task)
    k_area = max(task.min_microgrids, min(task.max_microgrids, int(round(V.area / 1e6 / task.microgrid_km2))))
    if n and K < k_area:
        diags.append({
            "kind": "few_households", "village_code": task.code, "households": [],
            "message": f"village {task.code} has only {n} households, so it gets {K} micro-grid(s) "
            f"instead of {k_area} by area; more would leave some without households.",
        })
    _report_units(task, units, cap, diags)

    mg, cells, cell_mg, hh_cell, res.layout = _layout(task, V, units, hsmall, K, cap)
    res.microgrids = [shapely.to_wkb(p) for p in drop_micro_edges(mg)]
    res.cells = [shapely.to_wkb(p) for p in drop_micro_edges(cells)]
    res.cell_microgrid = cell_mg
    res.household_cell = hh_cell
    return res


def _area_misses(mg_polys: list, village_area: float) -> int:
    """Micro-grids outside ±AREA_TOL of the village's mean area."""
    mean = village_area / max(len(mg_polys), 1)
    return int(sum(abs(p.area / mean - 1) > AREA_TOL for p in mg_polys))


def _layout(task: VillageTask, V, units: Units, hsmall: np.ndarray, K: int, cap: int):
    """The cells-first layout where asked for and possible, else micro-grids by
    straight area cuts, then the cells of each: ``(micro-grids, cells, micro-grid of
    each cell, cell of each household, layout used)``."""
    n = len(task.points)
    first = task.layout == "cells_first" or (task.layout == "auto" and n <= AUTO_CELLS_FIRST_MAX)
    first = first and K > 1 and n > 0
    got = cells_first(task, V, units, hsmall, K, cap) if first else None
    if got is not None:
        return (*got, "cells_first")
    # --- micro-grids ---------------------------------------------------------------
    if K > 1:
        lattice = _lattice(V, LATTICE_PER_PART * K)
        leaves = split_area(lattice, units, np.arange(units.n), K, cap, hsmall)
        pieces = clip_leaves(V, [hp for _, hp in leaves])
        parts, labels = [], []
        for lab, g in enumerate(pieces):
            for p in explode(g):
                parts.append(p)
                labels.append(lab)
        area = np.array([p.area for p in parts])
        lab_arr = np.array(labels)
        orphan = []
        for i in range(len(parts)):
            same = np.flatnonzero(lab_arr == lab_arr[i])
            main = same[np.argmax(area[same])]
            orphan.append(i != main)
        final = merge_orphans(parts, labels, orphan)
        mg_polys = []
        for lab in sorted(set(final)):
            mg_polys.append(clean(union([p for p, f in zip(parts, final) if f == lab])))
        unit_side = np.empty(units.n, int)
        old_to_new = {lab: j for j, lab in enumerate(sorted(set(final)))}
        for lab, (ids, _) in enumerate(leaves):
            # the side a unit was cut to, mapped to the label its main part ended with
            unit_side[ids] = old_to_new.get(lab, -1) if lab in old_to_new else -1
        prefer = unit_side[units.of]
    else:
        mg_polys = [clean(V)]
        prefer = np.zeros(n, int)
    hh_mg = locate_households(task, mg_polys, prefer)
    mg_polys = balance_areas(task, V, mg_polys, hh_mg, K)
    return (mg_polys, *cells_in_microgrids(task, units, hsmall, cap, mg_polys, hh_mg),
            "straight_fallback" if first else "straight")


def cells_first(task: VillageTask, V, units: Units, hsmall: np.ndarray, K: int, cap: int):
    """The layout of :mod:`~geogrid.partition.grouping`: cells over the whole village,
    micro-grids as groups of whole cells; None where it cannot be made (the caller
    then cuts the micro-grids straight)."""
    n = len(task.points)
    if K <= 1 or n == 0 or V.geom_type != "Polygon" or needed_cells(units.weight, cap) < K:
        return None
    # the straight area cuts are the micro-grids' start, and their cells' count the
    # village's: as many as the straight layout would have at least
    mlat = _lattice(V, GROUP_LATTICE_PER_PART * K)
    mleaves = split_area(mlat, units, np.arange(units.n), K, cap, hsmall)
    part = np.empty(units.n, int)
    for lab, (ids, _) in enumerate(mleaves):
        part[ids] = lab
    cell_of_unit, centres, origin = _village_cells(units, cap, hsmall, [ids for ids, _ in mleaves])
    hh_cell = cell_of_unit[units.of]
    if len(centres) < K:
        return None
    got = _atoms(task, V, hh_cell, centres, origin, math.sqrt(V.area / max(len(mlat), 1)), K)
    if got is None:
        return None
    atoms, atom_of_cell = got
    votes = np.zeros((len(atoms), K))
    np.add.at(votes, (atom_of_cell[hh_cell], part[units.of]), 1)
    grouped = group_cells(V, mlat, atoms, K, [hp for _, hp in mleaves], votes.argmax(axis=1))
    if grouped is None:
        return None
    mg_polys, atom_mg = grouped
    hh_mg = _locate(task.points, mg_polys, atom_mg[atom_of_cell][hh_cell])
    if (hh_mg < 0).any():
        return None
    mg_polys = balance_areas(task, V, mg_polys, hh_mg, K)
    if _area_misses(mg_polys, V.area):
        return None
    hh_mg = _locate(task.points, mg_polys, hh_mg)
    if (hh_mg < 0).any() or (np.bincount(hh_mg, minlength=K) == 0).any():
        return None
    cells, cell_mg, hh_out = _grouped_cells(task, units, hsmall, cap, mg_polys, hh_mg, hh_cell, centres, origin)
    if not one_piece([*mg_polys, *cells]):
        return None  # not expected; the straight cuts' layout instead
    return mg_polys, cells, cell_mg, hh_out


def _village_cells(units: Units, cap: int, hsmall: np.ndarray, parts: list):
    """The cells of a whole village: the straight cuts' cells of each of ``parts``
    (the units of each straight micro-grid: as many cells as the straight layout would
    have at least), then the Lloyd rounds over the whole village, which move them
    across the parts' borders.  ``(cell of each unit, centres, origin)``, centres
    relative to origin."""
    leaves = []
    for ids in parts:
        if len(ids):
            leaves += split_cells(units, ids, cap, needed_cells(units.weight[ids], cap), hsmall)
    got = _rounds(units, leaves, cap, hsmall, goal=len(leaves)) if LLOYD else None
    if got is not None:
        return got
    cell_of_unit = np.empty(units.n, int)
    for lab, (ids, _) in enumerate(leaves):
        cell_of_unit[ids] = lab
    origin = units.xy.mean(axis=0)
    return cell_of_unit, _centres(units, cell_of_unit, origin), origin


def _atoms(task: VillageTask, V, hh_cell: np.ndarray, centres: np.ndarray, origin, step: float, K: int):
    """What must go to a micro-grid whole: ``(footprints, atom of each cell)``, or
    None where cells tied together hold too much land for one micro-grid.

    The rounds keep small hamlets whole, which can leave cells that no power diagram
    separates: a household on a neighbour's side of the closest diagram ties the two
    cells (and their footprints) to one micro-grid.  Footprints are grown by the
    first of :data:`FOOTPRINT_STEPS` lattice steps with which every group of tied
    cells holds at most :data:`FIT_SHARE` of a micro-grid's land.
    """
    n, k = len(task.points), len(centres)
    pts = task.points - origin
    w = power_weights(pts, hh_cell, centres, relax=True)
    pw = power_distances(pts, centres, w)
    side = np.argmin(pw, axis=1)
    loose = pw[np.arange(n), hh_cell] - pw[np.arange(n), side] > 1e-6
    ties = coo_array((np.ones(int(loose.sum())), (hh_cell[loose], side[loose])), shape=(k, k))
    A, atom_of_cell = connected_components(ties, directed=False)
    for steps in FOOTPRINT_STEPS:
        feet = footprints(task.points, hh_cell, centres, w, origin, steps * step, V)
        atoms = feet if A == k else np.array([union(list(feet[atom_of_cell == a])) for a in range(A)],
                                             dtype=object)
        if shapely.area(atoms).max() <= FIT_SHARE * V.area / K:
            return atoms, atom_of_cell
    return None


def _grouped_cells(task: VillageTask, units: Units, hsmall: np.ndarray, cap: int, mg_polys: list,
                   hh_mg: np.ndarray, hh_cell: np.ndarray, centres: np.ndarray, origin):
    """The cells of each micro-grid from the village's cells (:func:`solve_cells` from
    that start, drawn from their sites): ``(cells, micro-grid of each cell, cell of
    each household)``.  A micro-grid with more than one cell above its minimum gets
    the straight cuts' cells where those are fewer."""
    hh_out = np.full(len(task.points), -1)
    out_cells, out_mg = [], []
    key = units.of * (len(mg_polys) + 1) + hh_mg
    for m, M in enumerate(mg_polys):
        hh = np.flatnonzero(hh_mg == m)
        sub = _subunits(task, units, key, hh)
        start = np.empty(sub.n, int)
        mine, local = np.unique(hh_cell[hh], return_inverse=True)
        start[sub.of] = local.ravel()
        hs = hsmall_of(sub, units, hh, hsmall)
        cells = solve_cells(M, sub, task.points[hh], cap, hs, start=start, sites=(centres[mine], origin))
        if len(cells) > -(-len(hh) // cap) + 1:
            alt = solve_cells(M, sub, task.points[hh], cap, hs)
            if len(alt) < len(cells):
                cells = alt
        for poly, members in cells:
            out_cells.append(poly)
            out_mg.append(m)
            hh_out[hh[members]] = len(out_cells) - 1
    return out_cells, out_mg, hh_out


def locate_households(task: VillageTask, mg_polys: list, prefer: np.ndarray) -> np.ndarray:
    """The micro-grid of each household; ``prefer`` decides for one on a border."""
    hh_mg = _locate(task.points, mg_polys, prefer)
    if len(hh_mg) and (hh_mg < 0).any():
        raise PartitionError(
            f"village {task.code}: {int((hh_mg < 0).sum())} households fell outside every "
            "micro-grid; this is a bug in geogrid, please report it with the input"
        )
    return hh_mg


def balance_areas(task: VillageTask, V, mg_polys: list, hh_mg: np.ndarray, K: int) -> list:
    """``mg_polys`` with empty land handed across borders where an area is outside the
    tolerance (:func:`~geogrid.partition.balance.rebalance`); households stay put."""
    if REBALANCE and K > 1 and _area_misses(mg_polys, V.area):
        # coarse squares first (fewer steps in the new borders), finer where needed
        for per_side in (SQUARES_PER_SIDE, 2 * SQUARES_PER_SIDE):
            moved = rebalance(mg_polys, task.points, hh_mg, math.sqrt(V.area / K) / per_side, V.bounds)
            if moved is not None and _area_misses(moved, V.area) < _area_misses(mg_polys, V.area):
                mg_polys = moved
            if not _area_misses(mg_polys, V.area):
                break
    return mg_polys


def cells_in_microgrids(task: VillageTask, units: Units, hsmall: np.ndarray, cap: int,
                        mg_polys: list, hh_mg: np.ndarray):
    """The cells of each micro-grid (:func:`solve_cells`): ``(cells, micro-grid of each
    cell, cell of each household)``."""
    n = len(task.points)
    hh_cell = np.full(n, -1)
    out_cells, cell_mg = [], []
    # a unit split between micro-grids (a building spread out) becomes one unit per side
    key = units.of * (len(mg_polys) + 1) + hh_mg if n else np.zeros(0, int)
    for m, M in enumerate(mg_polys):
        hh = np.flatnonzero(hh_mg == m)
        sub = _subunits(task, units, key, hh)
        cells = solve_cells(M, sub, task.points[hh], cap, hsmall_of(sub, units, hh, hsmall))
        for poly, members in cells:
            out_cells.append(poly)
            cell_mg.append(m)
            hh_cell[hh[members]] = len(out_cells) - 1
    return out_cells, cell_mg, hh_cell


def hsmall_of(sub: Units, units: Units, hh: np.ndarray, hsmall: np.ndarray) -> np.ndarray:
    """Small-hamlet code of each sub-unit, from its first household's original unit."""
    if sub.n == 0:
        return np.zeros(0, int)
    order = np.argsort(sub.of, kind="stable")
    starts = np.searchsorted(sub.of[order], np.arange(sub.n))
    return hsmall[units.of[hh[order[starts]]]]


def _subunits(task: VillageTask, units: Units, key: np.ndarray, hh: np.ndarray) -> Units:
    if len(hh) == 0:
        return make_units(np.zeros((0, 2)))
    _, of = np.unique(key[hh], return_inverse=True)
    of = of.ravel()
    pts = task.points[hh]
    u = of.max() + 1
    w = np.bincount(of, minlength=u)
    xy = np.column_stack([np.bincount(of, pts[:, 0], u) / w, np.bincount(of, pts[:, 1], u) / w])
    return Units(of=of, xy=xy, weight=w, hamlet=np.full(u, -1), points=pts)


def solve_cells(M, units: Units, points: np.ndarray, cap: int, hsmall: np.ndarray,
                start: np.ndarray | None = None, sites=None):
    """Cells of one micro-grid ``M``: ``[(polygon, household indices)]``.

    Every household lies in its own cell, cells tile ``M``, and each holds at most
    ``cap`` households unless it is a single bigger building.  The rounds start from
    the straight cuts, or from ``start`` (a cell per unit, each within ``cap``), whose
    diagram is drawn from ``sites`` (``(centres, origin)``, the centres the start was
    assigned to) or else its cells' mean points.
    """
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
            centres = _centres(units, start, origin)
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
    lattice = _lattice(M, LATTICE_PER_CELL * C) if C > 1 else None
    leaves = first_leaves(units, cap, C, hsmall, lattice)
    if not (LLOYD and len(leaves) > 1):
        return draw(M, units, points, cap, leaves, None)
    better = _power_leaves(units, leaves, cap, hsmall, M)
    if better is None:
        return draw(M, units, points, cap, leaves, None)
    return _draw_repaired(M, units, points, cap, hsmall, better)


def _centres(units: Units, cell_of_unit: np.ndarray, origin) -> np.ndarray:
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
    Lloyd with those cells as the start."""
    out = draw(M, units, points, cap, *drawn)
    if len(out) > len(drawn[0]):
        start = np.empty(units.n, int)
        for c, (_, members) in enumerate(out):
            start[units.of[members]] = c
        again = _power_leaves(units, [(np.flatnonzero(start == c), []) for c in range(len(out))],
                              cap, hsmall, M)
        if again is not None:
            out2 = draw(M, units, points, cap, *again)
            if len(out2) <= len(out):
                out = out2
    return out


def _power_leaves(units: Units, leaves, cap: int, hsmall: np.ndarray, parent):
    """The cells of ``leaves`` improved by capacity-constrained Lloyd rounds, as the
    half-planes of their power diagram within the polygon ``parent``; None when that
    does not improve them.

    Units stay whole, and so does every small hamlet where the flow allows.  A
    building bigger than ``cap`` keeps its own cell, which takes part in the power
    diagram but not in the rounds.
    """
    got = _rounds(units, leaves, cap, hsmall)
    if got is None:
        return None
    cell_of_unit, centres, origin = got
    return diagram(units, cell_of_unit, centres, origin, parent)


def _rounds(units: Units, leaves, cap: int, hsmall: np.ndarray, goal: int | None = None):
    """Lloyd rounds from ``leaves``: ``(cell of each unit, centres, origin)`` (centres
    relative to origin), or None when they do not improve on the leaves."""
    leaf = np.empty(units.n, int)
    for lab, (ids, _) in enumerate(leaves):
        leaf[ids] = lab
    # groups that must stay together: a unit, or a small hamlet (the flow keeps it
    # whole where it fits, which the cuts could not always do)
    group = np.arange(units.n)
    m = hsmall >= 0
    if m.any():
        codes, first = np.unique(hsmall[m], return_index=True)
        group[m] = np.flatnonzero(m)[first][np.searchsorted(codes, hsmall[m])]
    _, group = np.unique(group, return_inverse=True)
    group = group.ravel()
    G = group.max() + 1
    gw = np.bincount(group, weights=units.weight, minlength=G)
    origin = units.xy.mean(axis=0)
    gxy = np.column_stack([np.bincount(group, (units.xy[:, 0] - origin[0]) * units.weight, G),
                           np.bincount(group, (units.xy[:, 1] - origin[1]) * units.weight, G)]) / gw[:, None]
    gleaf = np.zeros(G, int)
    gleaf[group] = leaf
    fixed_leaf = np.zeros(len(leaves), bool)
    fixed_leaf[leaf[units.weight > cap]] = True
    mov = ~fixed_leaf[gleaf]
    got = lloyd(gxy[mov], gw[mov], gleaf[mov], cap) if mov.any() else None
    if got is None:
        return None
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
    old_c = np.array([pts[leaf[units.of] == lab].mean(axis=0) for lab in range(len(leaves))])
    sse_old = ((pts - old_c[leaf[units.of]]) ** 2).sum()
    kept = _hamlets_whole(hsmall, cell_of_unit) - _hamlets_whole(hsmall, leaf)
    if k > len(leaves) or (k == len(leaves) and kept <= 0 and sse_new > sse_old * (1 - 1e-9)):
        return None
    return cell_of_unit, centres, origin


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


def _report_units(task: VillageTask, units: Units, cap: int, diags: list) -> None:
    if units.n == 0:
        return
    members = None
    for u in np.flatnonzero(units.weight > cap):
        members = members or units.members()
        hh = members[u]
        name = _building_name(task, hh)
        diags.append({
            "kind": "oversize_building", "village_code": task.code, "households": hh.tolist(),
            "message": f"{name} in village {task.code} has {int(units.weight[u])} households, more "
            f"than {cap}; it is kept whole as a cell of its own. Split it by floor or "
            "stairwell by hand if one grid worker cannot serve it.",
        })
    if units.spread is not None and units.spread.any():
        members = members or units.members()
        for u in np.flatnonzero(units.spread):
            hh = members[u]
            p = task.points[hh]
            size = float(np.max(np.ptp(p, axis=0)))
            if size > SPREAD_M:
                diags.append({
                    "kind": "spread_building", "village_code": task.code, "households": hh.tolist(),
                    "message": f"{_building_name(task, hh)} in village {task.code} has households "
                    f"{size:.0f} m apart; they are kept in one cell, which then stretches. "
                    "Check their coordinates or building keys.",
                })


def _building_name(task: VillageTask, hh: np.ndarray) -> str:
    if task.building is not None:
        b = task.building[hh[0]]
        if b is not None and str(b).strip() and str(b) != "nan":
            return f"building {b}"
    return "one address"
