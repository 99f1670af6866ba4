"""The engine's notes about a village's households as they are, and as they ended in
cells: a building over the cap kept whole (``oversize_building``), a building key in
places apart or spread out (``spread_building``), a building or one address in more
than one cell (``building_split``) and a small hamlet in more than one cell
(``hamlet_split``), in words a planner acts on.  The rules that
:func:`~geogrid.partition.village.solve_village`, a repartition and the notes of a hand
edit (:mod:`~geogrid.partition.assignment_notes`) all give, so that a note which still
holds is given again word for word.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geogrid.partition.result import diagnostic
from geogrid.partition.units import SPREAD_M, Units, building_groups

__all__ = ["report_units", "split_buildings", "split_hamlets", "building_places"]


def report_units(code: str, points: np.ndarray, building, units: Units, cap: int) -> list[dict]:
    """The diagnostics of a village's households as given, whatever the cells: a
    building bigger than ``cap`` (``oversize_building``), and a building key in places
    apart or a building spread out (``spread_building``); ``households`` are positions
    in ``points``."""
    diags: list[dict] = []
    if units.n == 0:
        return diags
    members = None
    for u in np.flatnonzero(units.weight > cap):
        members = members or units.members()
        hh = members[u]
        diags.append(diagnostic(
            "oversize_building", code, hh,
            f"{_building_name(building, hh)} in village {code} has {int(units.weight[u])} households, "
            f"more than {cap}; it is kept whole as a cell of its own. Split it by floor or "
            "stairwell by hand if one grid worker cannot serve it.",
        ))
    if building is not None:
        diags += building_places(code, points, building)
    if units.spread is not None and units.spread.any():
        members = members or units.members()
        for u in np.flatnonzero(units.spread):
            hh = members[u]
            p = points[hh]
            size = float(np.max(np.ptp(p, axis=0)))
            if size > SPREAD_M:
                diags.append(diagnostic(
                    "spread_building", code, hh,
                    f"{_building_name(building, hh)} in village {code} has households "
                    f"{size:.0f} m apart; they are kept in one cell, which then stretches, unless a "
                    "micro-grid border runs between them (building_split then names them). Check "
                    "their coordinates or building keys.",
                ))
    return diags


def split_buildings(code: str, units: Units, hh_cell: np.ndarray, points: np.ndarray, building) -> list[dict]:
    """A ``building_split`` diagnostic for each unit (a building in one place, or one
    point) whose households ended in more than one cell: households apart (never at
    one point) that a micro-grid border runs between, or that no straight cut could
    separate from their neighbours; ``households`` are positions in ``points``."""
    if units.n == 0:
        return []
    pairs = np.unique(np.column_stack([units.of, hh_cell]), axis=0)
    out = []
    for u in np.flatnonzero(np.bincount(pairs[:, 0], minlength=units.n) > 1):
        hh = np.flatnonzero(units.of == u)
        b = None if building is None else building[hh[0]]
        name = f"building {b}" if b is not None else "one address"
        size = float(np.max(np.ptp(points[hh], axis=0)))
        out.append(diagnostic(
            "building_split", code, hh,
            f"{name} in village {code} has households {size:.0f} m apart, and they are in "
            f"{int((pairs[:, 0] == u).sum())} cells: a border between micro-grids runs between them, "
            "or no straight cut separates them from their neighbours. Check their coordinates or "
            "building keys.",
        ))
    return out


def split_hamlets(code: str, hh_cell: np.ndarray, cell_mg: list, points: np.ndarray, hamlet,
                  cap: int) -> list[dict]:
    """A ``hamlet_split`` diagnostic for each hamlet of at most ``cap`` households (one
    cell's worth) that ended in more than one cell, with why where it can be told: a
    micro-grid border runs through it, or its houses lie among another hamlet's;
    ``households`` are positions in ``points``."""
    if hamlet is None or not len(hh_cell):
        return []
    keyed = np.flatnonzero(np.array([h is not None for h in hamlet], dtype=bool) & (hh_cell >= 0))
    if not len(keyed):
        return []
    names = np.asarray(hamlet, dtype=object)[keyed]
    key, uniq = pd.factorize(names)
    out = []
    cell_mg = np.asarray(cell_mg)
    for k, name in enumerate(uniq):
        hh = keyed[key == k]
        cells, shares = np.unique(hh_cell[hh], return_counts=True)
        if len(hh) > cap or len(cells) < 2:
            continue
        if len(np.unique(cell_mg[cells])) > 1:
            why = "a micro-grid border runs through it"
        else:
            hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(points[hh])), 1.0)
            among = pd.unique(names[(key != k) & shapely.contains_xy(hull, *points[keyed].T)])
            why = (f"its houses lie among those of {', '.join(map(str, among[:3]))}, so one cell "
                   "holding them all could not be drawn" if len(among) else
                   "the cells around it had no room to take it whole")
        out.append(diagnostic(
            "hamlet_split", code, hh,
            f"hamlet {name} in village {code} ({len(hh)} households) is in {len(cells)} cells "
            f"({' + '.join(map(str, sorted(shares, reverse=True)))}): {why}. Move the border by hand "
            "if it should be one cell.",
        ))
    return out


def building_places(code: str, points: np.ndarray, building) -> list[dict]:
    """A ``spread_building`` diagnostic for each building key whose households lie in
    places more than :data:`~geogrid.partition.units.SPREAD_M` apart, which the engine
    takes as a building per place (:func:`~geogrid.partition.units.building_groups`);
    ``households`` are positions in ``points``."""
    keyed = np.flatnonzero([b is not None for b in building])
    if not len(keyed):
        return []
    key = pd.factorize(pd.Series(np.asarray(building, dtype=object)[keyed], dtype=object))[0]
    places = pd.Series(building_groups(points[keyed], key)).groupby(key).nunique()
    out = []
    for k in places.index[places.to_numpy() > 1]:
        hh = keyed[key == k]
        out.append(diagnostic(
            "spread_building", code, hh,
            f"building {building[hh[0]]} in village {code} has households in {places[k]} "
            f"places more than {SPREAD_M:.0f} m apart; each place is kept whole as a building of "
            "its own, and they may be in different cells. Check their coordinates or building keys.",
        ))
    return out


def _building_name(building, hh: np.ndarray) -> str:
    """What a unit of households ``hh`` is, in words: its building key, or the keys it
    joins (households of several buildings at one point, or a chain of shared points
    and keys), or one address."""
    if building is not None:
        keys = sorted({str(b) for b in building[hh] if b is not None and str(b).strip() and str(b) != "nan"})
        if len(keys) == 1:
            return f"building {keys[0]}"
        if keys:
            more = f" and {len(keys) - 2} more" if len(keys) > 2 else ""
            return (f"one address shared by buildings {', '.join(keys[:2])}{more} "
                    "(households at one point are one unit)")
    return "one address"
