"""Partition one village, in metres: its micro-grids and their cells, in one of two
layouts (straight: micro-grids by area cuts, then the cells of each; cells first:
cells over the whole village, micro-grids as groups of them).  The cells of one area
are :mod:`~geogrid.partition.cells`' work.

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
from geogrid.partition.balance import AREA_TOL, rebalance
from geogrid.partition.cells import LLOYD, cell_centres, cell_rounds, lattice_points, solve_cells
from geogrid.partition.cuts import split_area, split_cells
from geogrid.partition.grouping import footprints, group_cells, one_piece
from geogrid.partition.power import power_distances, power_weights
from geogrid.partition.edges import drop_micro_edges
from geogrid.partition.pieces import GRID_M, clean, clip_leaves, explode, inside_own, merge_orphans, on_grid, union
from geogrid.partition.result import area_text, diagnostic
from geogrid.partition.notes import report_units, split_buildings, split_hamlets
from geogrid.partition.units import Units, make_units, needed_cells, or_loosened

__all__ = ["VillageTask", "VillageResult", "solve_village", "cells_first", "TOL_M"]

#: a household within this distance (m) of a polygon counts as inside it
TOL_M = 1e-3
#: lattice points per micro-grid used to measure area while cutting
LATTICE_PER_PART = 600
#: hand empty land across micro-grid borders where their areas are uneven, in
#: squares of 1/SQUARES_PER_SIDE of a micro-grid's side (then half that)
REBALANCE = True
SQUARES_PER_SIDE = 4
#: how a village with several micro-grids is laid out (see partition's ``layout``)
LAYOUTS = ("auto", "cells_first", "straight")
#: ``layout="auto"`` lays out villages of up to this many households cells first.
#: Measured on the sample county (2 workers, runs alternated): 1,500 would bring in
#: its three villages of 1,044-1,060 households, whose within-cell MSD falls 14-57 %
#: (the county's 1.5 %), but for 0.6 s more (median 7.95 -> 8.52 s): their blocks of
#: flats and buildings spread over 100 m leave cells no power diagram separates, and
#: redrawing those takes most of it.  Not worth that much of the 10 s budget.
AUTO_CELLS_FIRST_MAX = 1000
#: a cell's footprint is the hull of its households grown by this many steps of the
#: micro-grid lattice; the narrower one where cells tied together would otherwise hold
#: more than FIT_SHARE of a micro-grid's land, or where the wider ones do not group
#: into micro-grids of one piece.  Measured on the sample county against (2, 1, 0.5):
#: small hamlets kept whole 95.93 -> 96.75 %, Polsby-Popper median 0.6020 -> 0.6026,
#: the same MSD, fill and villages by layout; (3, 2, 1, 0.5) gave 97.56 % but 0.5977
FOOTPRINT_STEPS = (1.0, 0.5)
FIT_SHARE = 0.9
#: lattice points per micro-grid when grouping cells into micro-grids
GROUP_LATTICE_PER_PART = 250


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


def target_microgrids(area_m2: float, n_households: int, task: VillageTask, n_units: int | None = None) -> int:
    """``clamp(round(area / microgrid_km2), min, max)``, but no more micro-grids than
    ``ceil(households / max_households)``, nor than the village has units (buildings
    and addresses, which are never split), so that none is left empty."""
    k = int(round(area_m2 / 1e6 / task.microgrid_km2))
    k = max(task.min_microgrids, min(task.max_microgrids, k))
    if n_households == 0:
        return 1
    return max(1, min(k, -(-n_households // task.max_households), n_units or n_households))


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
    # a point inside its preferred polygon is settled (0.47 -> 0.06 s on the county)
    inside = inside_own(points, arr, prefer)
    out[inside] = prefer[inside]
    rest = np.flatnonzero(~inside)
    if not len(rest):
        return out
    tree = shapely.STRtree(arr)
    pts = shapely.points(points[rest])
    pi, gi = tree.query(pts, predicate="dwithin", distance=TOL_M)
    if not len(pi):
        return out
    dist = shapely.distance(pts[pi], arr[gi])
    pref = (gi == prefer[rest][pi]).astype(float)
    # sort by point, then preferred first, then nearest, then lowest index
    order = np.lexsort((gi, dist, -pref, pi))
    pi, gi = pi[order], gi[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    out[rest[pi[first]]] = gi[first]
    return out


def solve_village(task: VillageTask) -> VillageResult:
    """Micro-grids and cells of one village."""
    V = on_grid(shapely.from_wkb(task.polygon))
    cap = task.max_households
    res = VillageResult(code=task.code)
    n = len(task.points)
    V, bare = _inhabited(V, task.points)
    units = make_units(task.points, task.building, task.hamlet)
    hsmall = _hamlet_small(units, task.hamlet, cap)
    diags = res.diagnostics
    if n == 0:
        diags.append(diagnostic(
            "empty_village", task.code, [],
            f"village {task.code} has no households; it is one micro-grid with one "
            "empty cell. Check that its households were imported with this village code.",
        ))
    K = target_microgrids(V.area, n, task, units.n)
    k_area = max(task.min_microgrids, min(task.max_microgrids, int(round(V.area / 1e6 / task.microgrid_km2))))
    if n and K < k_area:
        diags.append(diagnostic(
            "few_households", task.code, [],
            f"village {task.code} has only {n} households ({units.n} buildings or "
            f"addresses), so it gets {K} micro-grid(s) instead of {k_area} by area; more would "
            "leave some without households.",
        ))
    diags += report_units(task.code, task.points, task.building, units, cap)

    mg, cells, cell_mg, hh_cell, res.layout = or_loosened(
        lambda u: _layout(task, V, u, hsmall if u is units else _hamlet_small(u, task.hamlet, cap), K, cap),
        units, task.points, task.hamlet)
    if bare:
        mg, cells = _attach_bare(bare, mg, cells, cell_mg)
        diags.append(uninhabited_note(task.code, bare, (len(mg), V.area)))
    diags += split_buildings(task.code, units, hh_cell, task.points, task.building)
    diags += split_hamlets(task.code, hh_cell, cell_mg, task.points, task.hamlet, cap)
    res.microgrids = [shapely.to_wkb(p) for p in drop_micro_edges(mg)]
    res.cells = [shapely.to_wkb(p) for p in drop_micro_edges(cells)]
    res.cell_microgrid = cell_mg
    res.household_cell = hh_cell
    return res


def _inhabited(V, points: np.ndarray):
    """``(the parts of village V where households live, the parts where none does)``:
    an island or exclave with no household gets no micro-grid of its own (which would
    hold only an empty cell), and does not count towards the village's micro-grids.
    A village of one part, or with no households, is returned whole."""
    parts = explode(V)
    if len(parts) < 2 or not len(points):
        return V, []
    # each household's nearest part (a household on the outline counts for it)
    near = shapely.STRtree(parts).query_nearest(shapely.points(points), all_matches=False)[1]
    lived = np.zeros(len(parts), bool)
    lived[near] = True
    if lived.all():
        return V, []
    keep = [p for p, k in zip(parts, lived) if k]
    return (keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)), [p for p, k in zip(parts, lived) if not k]


def uninhabited_note(code, bare: list, counted: tuple[int, float] | None = None) -> dict:
    """The ``uninhabited_land`` note of village ``code`` for its land parts ``bare``
    (metres), with ``counted`` = (micro-grids, inhabited m²) where partition counted them."""
    area = sum(p.area for p in bare)
    return {**diagnostic(
        "uninhabited_land", code, [],
        f"village {code}: {len(bare)} part(s) of its land where no household lives "
        f"({area_text(area)}: an island or an exclave) join the nearest micro-grid and cell, "
        "so that no micro-grid or cell is left empty"
        + (f"; its {counted[0]} micro-grid(s) are counted from its inhabited land "
           f"({area_text(counted[1])})" if counted else "")),
        "params": {"parts": len(bare), "area_m2": round(area, 1)}}


def _attach_bare(bare: list, mg: list, cells: list, cell_mg: list):
    """Each land part of ``bare`` joined to the nearest micro-grid, and within it to its
    nearest cell (both then in pieces, as their village is)."""
    mg, cells = list(mg), list(cells)
    owner = np.asarray(cell_mg)
    for p in bare:
        j = int(np.argmin(shapely.distance(np.array(mg, dtype=object), p)))
        mine = np.flatnonzero(owner == j)
        c = int(mine[np.argmin(shapely.distance(np.array([cells[k] for k in mine], dtype=object), p))])
        mg[j] = shapely.union(mg[j], p, grid_size=GRID_M)
        cells[c] = shapely.union(cells[c], p, grid_size=GRID_M)
    return mg, cells


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
        lattice = lattice_points(V, LATTICE_PER_PART * K)
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
    mlat = lattice_points(V, GROUP_LATTICE_PER_PART * K)
    # (at the gaps' edges, as always: they are only a start, and test_grouping's street
    # village was cut from lines a few metres off them)
    mleaves = split_area(mlat, units, np.arange(units.n), K, cap, hsmall, keep=0.0)
    part = np.empty(units.n, int)
    for lab, (ids, _) in enumerate(mleaves):
        part[ids] = lab
    cell_of_unit, centres, origin = _village_cells(units, cap, hsmall, [ids for ids, _ in mleaves])
    hh_cell = cell_of_unit[units.of]
    if len(centres) < K:
        return None
    grouped = None
    step = math.sqrt(V.area / max(len(mlat), 1))
    for atoms, atom_of_cell in _atoms(task, V, hh_cell, centres, origin, step, K):
        votes = np.zeros((len(atoms), K))
        np.add.at(votes, (atom_of_cell[hh_cell], part[units.of]), 1)
        grouped = group_cells(V, mlat, atoms, K, [hp for _, hp in mleaves], votes.argmax(axis=1))
        if grouped is not None:
            break
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
    across the parts' borders, and moves of whole cells to the outlying households
    (:func:`~geogrid.partition.lloyd.relocate`).  ``(cell of each unit, centres,
    origin)``, centres relative to origin."""
    leaves = []
    for ids in parts:
        if len(ids):
            leaves += split_cells(units, ids, cap, needed_cells(units.weight[ids], cap), hsmall)
    got = cell_rounds(units, leaves, cap, hsmall, goal=len(leaves), moves=True) if LLOYD else None
    if got is not None:
        return got
    cell_of_unit = np.empty(units.n, int)
    for lab, (ids, _) in enumerate(leaves):
        cell_of_unit[ids] = lab
    origin = units.xy.mean(axis=0)
    return cell_of_unit, cell_centres(units, cell_of_unit, origin), origin


def _atoms(task: VillageTask, V, hh_cell: np.ndarray, centres: np.ndarray, origin, step: float, K: int):
    """What must go to a micro-grid whole: ``(footprints, atom of each cell)``, for
    each footprint size with which cells tied together fit one micro-grid, widest
    first (none where they never fit).

    The rounds keep small hamlets whole, which can leave cells that no power diagram
    separates: a household on a neighbour's side of the closest diagram ties the two
    cells (and their footprints) to one micro-grid.  Footprints are grown by each of
    :data:`FOOTPRINT_STEPS` lattice steps with which every group of tied cells holds
    at most :data:`FIT_SHARE` of a micro-grid's land; the caller takes the first that
    groups into micro-grids of one piece each.
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
            yield atoms, atom_of_cell


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
