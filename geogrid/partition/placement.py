"""Where a re-run (:func:`~geogrid.partition.repartition`) puts the households it
places: the named micro-grid each lies in, a locked cell's members in theirs, one added
or moved to the address of a household kept in its cell in that cell, and the others
left out with the note that says why (and what to do).  Pure, like the rest of the
engine."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geogrid.columns import BUILDING, CELL_ID, MICROGRID_ID, VILLAGE_CODE
from geogrid.errors import InputError
from geogrid.partition.edit_report import at_kept_addresses
from geogrid.partition.inputs import BAD_POINT, NO_POINT, SHARED_ADDRESS, _codes
from geogrid.partition.locked_cells import locked_members, pin_members
from geogrid.partition.microgrid_areas import MicrogridAreas
from geogrid.partition.notes import report_units
from geogrid.partition.outline_edit import _to_metric
from geogrid.partition.register_edit import RegisterEdit
from geogrid.partition.result import diagnostic
from geogrid.partition.units import make_units
from geogrid.partition.village import _locate

__all__ = ["Placement", "place_households", "LEFT_OUT", "JOINED"]

#: ``loc`` of a household left out (its note says why)
LEFT_OUT = -2
#: ``loc`` of a household that joins a kept cell of a micro-grid not re-run
JOINED = -3

OUTSIDE_VILLAGE = ("{n} household(s) lie in a micro-grid of another village than the one they "
                   "are registered in and are not in any cell; correct their point or their "
                   "village code")
OUTSIDE_OUTLINE = ("{n} household(s) lie outside the outline given for the village they are "
                   "registered in and are not in any cell; correct their point or their village "
                   "code, or the outline")
OUTSIDE_PLAN = ("{n} household(s) lie outside every village of the plan and are not in any "
                "cell; correct their point, or extend their village's outline and re-solve "
                "its micro-grids with it")


@dataclass
class Placement:
    """Where each household to place goes."""

    #: the named micro-grids, in the order they are cut
    ids: list
    #: per row of ``edit.place``: the index into ``ids`` of its micro-grid; -1 in none of
    #: them (its note says so), :data:`LEFT_OUT`, :data:`JOINED`
    loc: np.ndarray
    #: per household: the locked cell it stays in (None: none)
    member: np.ndarray
    #: per household: at its previous point (see locked_cells.locked_members)
    at_prev: np.ndarray
    #: household row -> the kept cell of a micro-grid not re-run it joins
    joined: dict


def place_households(edit: RegisterEdit, areas: MicrogridAreas, pm, pc, named, locked, mg_village, cap,
                     metric, crs) -> tuple[Placement, list[dict]]:
    """Where each household of ``edit.place`` goes (into the named micro-grids of
    ``areas`` by location), and the notes of those left out and of the placed ones'
    buildings.  ``pm`` and ``pc`` are the previous plan's micro-grids and cells.
    Raises :class:`~geogrid.errors.InputError` where an outline edit leaves a named
    micro-grid none of its households."""
    hh, place, pts_m = edit.hh, edit.place, edit.pts_m
    diags: list[dict] = []
    ids = list(areas.new_mg)
    loc = (_locate(pts_m[place], [areas.new_mg[m] for m in ids], np.full(len(place), -1)) if len(place)
           else np.zeros(0, int))
    # a locked cell's members stay in it, wherever they lie (see locked_cells)
    member, at_prev = locked_members(hh, edit.prev_h, edit.pos_prev, place, edit.prev_cell, edit.moved_village,
                                     locked, pc, pts_m, metric)
    loc = pin_members(loc, place, member, pc, ids)
    loc = _astray(edit, loc, ids, mg_village, diags)
    loc, joined = _at_kept_addresses(edit, loc, ids, member, pm, pc, named, locked, mg_village, metric, crs, diags)
    _left_out(edit, loc, areas, pm, metric, diags)
    _refuse_bare(edit, loc, ids, areas, mg_village)
    diags += _unit_notes(edit, loc, ids, mg_village, cap)
    return Placement(ids=ids, loc=loc, member=member, at_prev=at_prev, joined=joined), diags


def _there(loc, ids, mg_village) -> np.ndarray:
    """The village of the micro-grid each household to place lies in (None: none)."""
    return np.array([mg_village[ids[k]] if k >= 0 else None for k in loc], dtype=object)


def _astray(edit, loc, ids, mg_village, diags) -> np.ndarray:
    """``loc`` with the households registered in another village than the micro-grid
    they lie in left out, as partition() leaves them (their point or their code is
    wrong), with their note."""
    hh, place = edit.hh, edit.place
    if VILLAGE_CODE in hh.columns and len(place):
        code = _codes(hh[VILLAGE_CODE].iloc[place])
        astray = (loc >= 0) & pd.notna(code) & (code != _there(loc, ids, mg_village).astype(str))
        if astray.any():
            diags.append({**diagnostic("outside_village", None, [], OUTSIDE_VILLAGE.format(n=int(astray.sum()))),
                          "households": hh.index[place[astray]].tolist()})
            loc = np.where(astray, LEFT_OUT, loc)
    return loc


def _at_kept_addresses(edit, loc, ids, member, pm, pc, named, locked, mg_village, metric, crs,
                       diags) -> tuple[np.ndarray, dict]:
    """``loc`` and the kept cells households join, for the households at the address
    of one kept in its cell (:func:`~geogrid.partition.edit_report.at_kept_addresses`):
    of another village outside the named micro-grids (a house on their border), left
    out, as partition() leaves them (``shared_address``); of its own village (a house on
    the border of a micro-grid not re-run, a locked cell's member outside it), one added
    or moved there joins that cell, over the cap too: the address cannot be split.  One
    joining a locked cell becomes its member (``member`` is updated)."""
    hh, place = edit.hh, edit.place
    joined: dict[int, str] = {}
    if not len(place):
        return loc, joined
    holds = place[member[place] != None]  # noqa: E711  (locked cells' members)
    shared, joins = at_kept_addresses(hh, place, _there(loc, ids, mg_village), edit.pts_m, edit.kept_in, edit.prev_mg,
                                      edit.prev_cell, mg_village, pm, named, metric, crs,
                                      also=(holds, member[holds]))
    shared &= loc >= 0
    if shared.any():
        diags.append({**diagnostic("shared_address", None, [], SHARED_ADDRESS.format(n=int(shared.sum()))),
                      "households": hh.index[place[shared]].tolist()})
        loc = np.where(shared, LEFT_OUT, loc)
    joins[~((loc >= 0) & (member[place] == None) & edit.arrived(crs, metric))] = None  # noqa: E711
    if pd.isna(joins).all():
        return loc, joined
    mg_of_cell = dict(zip(pc[CELL_ID].tolist(), pc[MICROGRID_ID].tolist()))
    k_of = {m: k for k, m in enumerate(ids)}
    for j in np.flatnonzero(pd.notna(joins)):
        if joins[j] in locked:
            member[place[j]] = joins[j]
            loc[j] = k_of[mg_of_cell[joins[j]]]
        else:
            joined[int(place[j])] = joins[j]
            loc[j] = JOINED
    return loc, joined


def _left_out(edit, loc, areas, pm, metric, diags) -> None:
    """The notes of the households to place that go into no named micro-grid: no
    point, coordinates that are no place, outside their village's outline, outside
    every village, in another village's micro-grid, or outside the named micro-grids
    (``not_repartitioned``: name the micro-grid they lie in as well)."""
    hh, place, pts_m = edit.hh, edit.place, edit.pts_m
    nowhere = edit.nowhere
    no_point = (np.isnan(pts_m[place, 0]) & ~nowhere) if len(place) else np.zeros(0, bool)
    lost = place[(loc == -1) & ~no_point & ~nowhere]
    if no_point.any():
        diags.append({**diagnostic("no_point", None, [], NO_POINT.format(n=int(no_point.sum()))),
                      "households": hh.index[place[no_point]].tolist()})
    if nowhere.any():
        diags.append({**diagnostic("bad_point", None, [], BAD_POINT.format(n=int(nowhere.sum()))),
                      "households": hh.index[place[nowhere]].tolist()})
    if len(lost):
        lost, lie_in = _lost_beyond_villages(edit, lost, areas, pm, metric, diags)
    if len(lost):
        # the micro-grids to name with these (those in land an outline edit added lie in
        # none: the outline_adds_land note names the micro-grid beside it)
        name = sorted({str(m) for m in lie_in if m is not None})
        diags.append({
            "kind": "not_repartitioned", "village_code": None,
            "households": hh.index[lost].tolist(),
            "message": f"{len(lost)} household(s) were added or moved outside the micro-grids "
            "being re-solved (or left them) and are not in any cell; re-solve the micro-grid "
            "they now lie in as well" + (f" ({', '.join(name)})" if name else ""),
            **({"microgrids": name} if name else {}),
        })


def _lost_beyond_villages(edit, lost, areas, pm, metric, diags) -> np.ndarray:
    """Of the households ``lost`` (rows in no named micro-grid), the notes of those
    with no micro-grid to name: outside every micro-grid of the plan (and every outline
    given), as partition() would say, or in a micro-grid of another village than the
    one they are registered in, or outside the outline given again for their village;
    returns the others, with the micro-grid each lies in (None: in none, but in an
    outline given).  The named micro-grids are taken as they are now: a household an
    outline edit left outside its village lies in none of them."""
    hh, pts_m, vpoly = edit.hh, edit.pts_m, areas.vpoly
    lying, mg_of = _lying_in(pts_m[lost], pm, metric, list(vpoly.values()), areas.new_mg)
    nowhere = lying == ""
    astray = np.zeros(len(lost), bool)
    if VILLAGE_CODE in hh.columns:
        code = _codes(hh[VILLAGE_CODE].iloc[lost])
        astray = pd.notna(code) & ~nowhere & pd.notna(lying) & (code != lying.astype(str))
        # outside the outline given again for the village it is registered in: where
        # it lies in no village at all, only if the edit took its land (it lies in a
        # named micro-grid's old land); one far from every village is told so instead
        def _old_land(c, r):
            return any(shapely.intersects_xy(areas.named_geom[m], *pts_m[r]) for m in areas.by_village.get(c, []))

        cut = np.array([c in vpoly and not shapely.intersects_xy(vpoly[c], *pts_m[r])
                        and (not far or _old_land(c, r))
                        for c, r, far in zip(code, lost, nowhere)], dtype=bool) & ~astray
        if cut.any():
            diags.append({**diagnostic("outside_village", None, [], OUTSIDE_OUTLINE.format(n=int(cut.sum()))),
                          "households": hh.index[lost[cut]].tolist()})
            nowhere &= ~cut
            lost, mg_of = lost[~cut], mg_of[~cut]
            nowhere, astray = nowhere[~cut], astray[~cut]
    for mask, text in ((nowhere, OUTSIDE_PLAN), (astray, OUTSIDE_VILLAGE)):
        if mask.any():
            diags.append({**diagnostic("outside_village", None, [], text.format(n=int(mask.sum()))),
                          "households": hh.index[lost[mask]].tolist()})
    return lost[~nowhere & ~astray], mg_of[~nowhere & ~astray]


def _refuse_bare(edit, loc, ids, areas, mg_village) -> None:
    """Refuse a named micro-grid whose outline moved and that holds no household now,
    though it held some: the edit left it only land where no one lives (a strip, a bare
    island).  One whose households all left the register is no outline's doing: it
    hands its land over, or is kept with its note (:mod:`~geogrid.partition.empty_microgrids`)."""
    held = np.bincount(loc[loc >= 0], minlength=len(ids)) if len(edit.place) else np.zeros(len(ids), int)
    bare = [m for k, m in enumerate(ids) if not held[k] and m not in areas.unchanged
            and m not in areas.took_land and edit.lived_in(areas.named_geom[m])]
    if bare:
        raise InputError(
            f"the new outline of village {mg_village[bare[0]]} leaves micro-grid(s) {', '.join(bare)} "
            f"none of their households, only land where no one lives "
            f"({sum(areas.new_mg[m].area for m in bare) / 1e6:.3f} km²), which would be an empty cell; "
            "name them together with the micro-grids of the village next to them, so that they "
            "are cut afresh to cover the new outline, or run partition again for the village",
            errors=[{"type": "outline_leaves_no_households",
                     "params": {"village": mg_village[bare[0]], "microgrids": bare}}],
            key="plan.rerun_outline_leaves_no_households",
            params={"village": mg_village[bare[0]], "microgrids": list(bare)})


def _unit_notes(edit, loc, ids, mg_village, cap) -> list[dict]:
    """The placed households' own notes, as partition() gives them: a building over
    the cap, a building key in places far apart (a mistyped coordinate: a building per
    place) or spread out."""
    hh, place, pts_m = edit.hh, edit.place, edit.pts_m
    out = []
    if len(place):
        placed = place[loc >= 0]
        village_of = np.array([mg_village[ids[k]] for k in loc[loc >= 0]], dtype=object)
        for code in sorted(set(village_of)):
            rows = placed[village_of == code]
            building = _codes(hh[BUILDING].iloc[rows].to_numpy()) if BUILDING in hh.columns else None
            for d in report_units(code, pts_m[rows], building, make_units(pts_m[rows], building), cap):
                d["households"] = hh.index[rows[d["households"]]].tolist()
                out.append(d)
    return out


def _lying_in(pts, pm, metric, outlines, now=None) -> tuple[np.ndarray, np.ndarray]:
    """The village of the plan's micro-grid each point (metres) lies in (those of
    ``now``, micro-grid id -> polygon in metres, as they are now); None for one in none
    of them but in one of the ``outlines`` given (metres), "" for one in neither.  And
    that micro-grid's id (None: none)."""
    mg = np.asarray(_to_metric(pm.geometry, metric), dtype=object)
    if now:
        ids = pm[MICROGRID_ID].to_numpy()
        mg = np.array([now.get(m, g) for m, g in zip(ids, mg)], dtype=object)
    geoms = np.r_[mg, np.asarray(outlines, dtype=object)]
    hit, which = shapely.STRtree(geoms).query(shapely.points(pts), predicate="intersects")
    out = np.full(len(pts), "", dtype=object)
    out[hit] = None
    mg = which < len(pm)
    out[hit[mg]] = pm[VILLAGE_CODE].to_numpy()[which[mg]]
    ids = np.full(len(pts), None, dtype=object)
    ids[hit[mg]] = pm[MICROGRID_ID].to_numpy()[which[mg]]
    return out, ids
