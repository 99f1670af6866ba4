"""The land each micro-grid a re-run (:func:`~geogrid.partition.repartition`) names
covers after the edit: its own outline where no border of its village moved, else what
of the village's new outline the other micro-grids do not cover, followed or cut afresh
(:mod:`~geogrid.partition.outline_edit`).  Pure, like the rest of the engine."""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely

from geogrid.columns import MICROGRID_ID, VILLAGE_CODE
from geogrid.errors import InputError
from geogrid.partition.edit_report import crossing
from geogrid.partition.inputs import outline_metric
from geogrid.partition.outline_edit import (SAME_M2, SPECK_M2, _area_moved, _drop_specks, _follow_outline,
                                             _in_pieces, _locked_geoms, _locked_inside, _overlaps_near, _resplit,
                                             _stranded, _to_metric, no_land)
from geogrid.partition.pieces import clean, on_grid

__all__ = ["MicrogridAreas", "areas_now"]


@dataclass
class MicrogridAreas:
    """The named micro-grids' land after the edit, in metres."""

    #: micro-grid id -> its land now, in the order the micro-grids are placed and cut
    new_mg: dict = field(default_factory=dict)
    #: micro-grids whose outline is as before: the caller's exact geometry is kept
    unchanged: set = field(default_factory=set)
    #: village code -> its named micro-grids
    by_village: dict = field(default_factory=dict)
    #: village code -> the outline given for it (only villages with a named micro-grid)
    vpoly: dict = field(default_factory=dict)
    #: micro-grid id -> its land before the edit
    named_geom: dict = field(default_factory=dict)
    #: micro-grids that took the land of a named one with no households
    #: (:mod:`~geogrid.partition.empty_microgrids`): no outline moved them
    took_land: set = field(default_factory=set)


def areas_now(pm, pc, named, locked, villages, mg_village, edit, cap, metric, crs) -> tuple[MicrogridAreas, list]:
    """The land of each named micro-grid now, and the notes about outlines it gives.

    ``pm`` and ``pc`` are the previous plan's micro-grids and cells, ``named`` the
    micro-grids re-solved, ``locked`` the locked cells, ``villages`` the outlines given
    (None: keep the previous ones), ``mg_village`` each micro-grid's village, ``edit``
    the register read against the plan (:class:`~geogrid.partition.register_edit.RegisterEdit`:
    where the households to place live), ``cap`` the plan's ``max_households``.
    Raises :class:`~geogrid.errors.InputError` for an outline with no area or one that
    leaves a named micro-grid no land."""
    diags: list[dict] = []
    # only the villages being edited are brought into metres
    touched_v = {mg_village[m] for m in named}
    sib = pm[pm[VILLAGE_CODE].isin(touched_v)]
    mg_geom_m = dict(zip(sib[MICROGRID_ID], _to_metric(sib.geometry, metric)))
    a = MicrogridAreas(named_geom={m: mg_geom_m[m] for m in named})
    for m in named:
        a.by_village.setdefault(mg_village[m], []).append(m)
    a.vpoly = _outlines_given(villages, a.by_village, metric)
    for code, ms in a.by_village.items():
        if code in a.vpoly:
            others = pm[(pm[VILLAGE_CODE] == code) & ~pm[MICROGRID_ID].isin(ms)]
            rest = shapely.union_all([mg_geom_m[o] for o in others[MICROGRID_ID]])
            region = shapely.difference(a.vpoly[code], rest) if not rest.is_empty else a.vpoly[code]
            region = _drop_specks(on_grid(region), a.vpoly[code], edit.live)
            region, note = _stranded(code, region, ms, a.named_geom,
                                     {o: mg_geom_m[o] for o in others[MICROGRID_ID]})
            diags += note
        else:
            region = None
        _village_areas(a, code, ms, region, cap, edit)
        if region is not None:
            diags += _in_pieces(code, ms, a.new_mg, a.vpoly[code])
            diags += _area_moved(code, ms, a.new_mg, a.named_geom)
            _locked_inside(code, ms, a.new_mg, _locked_geoms(pc, ms, locked, metric))

    if a.vpoly:
        diags += crossing(pm, named, a.vpoly, mg_village, metric, crs)
        diags += _overlaps_near(villages, a.vpoly, metric)
    return a, diags


def _outlines_given(villages, by_village, metric) -> dict:
    """The outlines given for the villages ``by_village`` names, in metres (one village
    in several rows: their union); a village given no geometry keeps its micro-grids'
    own.  Raises for an outline with no area."""
    vpoly = {}
    if villages is not None:
        v = villages[villages[VILLAGE_CODE].astype(str).isin(by_village)]
        # repaired in the caller's CRS before it is densified (a bow-tie kept one lobe)
        vm = v.set_geometry(outline_metric(v.geometry, metric))
        for code, g in zip(vm[VILLAGE_CODE].astype(str), vm.geometry):
            if g is None:
                continue  # no outline (a village whose outline was derived): its micro-grids' own
            vpoly[code] = shapely.union_all([vpoly[code], g]) if code in vpoly else g
    flat = sorted(c for c, g in vpoly.items() if g.area < SPECK_M2)
    if flat:
        raise InputError(
            f"the outline given for village(s) {', '.join(flat)} has no area (a line, a point or a "
            "sliver); give village outlines as polygons, or leave the village out of the "
            "outlines (or give it no geometry) to keep its micro-grids' own",
            errors=[{"type": "outline_has_no_area", "params": {"village": c}} for c in flat],
            key="plan.rerun_outline_has_no_area", params={"villages": list(flat)})
    return vpoly


def _village_areas(a: MicrogridAreas, code, ms, region, cap, edit) -> None:
    """The land of village ``code``'s named micro-grids ``ms``, into ``a.new_mg``: the
    caller's exact outlines where ``region`` (the land they cover now; None: no outline
    given) is theirs, else the region's land, followed or cut afresh."""
    named_geom = a.named_geom
    if region is None or shapely.symmetric_difference(
            region, shapely.union_all([named_geom[m] for m in ms])).area < SAME_M2 * len(ms):
        # no border of the village moved (beyond the round trip's float noise, which
        # can leave a hair-thin spike where two borders meet at a shallow angle):
        # each named micro-grid keeps the caller's exact outline, however many of
        # one village are named, so that households keep their cells
        for m in ms:
            a.new_mg[m] = clean(named_geom[m])
            a.unchanged.add(m)
    elif no_land(region):
        # nothing to cover: the named micro-grids would be specks or slivers with empty cells
        raise InputError(
            f"the new outline of village {code} leaves micro-grid(s) {', '.join(ms)} no land "
            "(all of it lies outside the new outline, under the village's other "
            "micro-grids or beside them only); name them together with the micro-grids of "
            "the village next to them, so that they are cut afresh to cover the new outline, "
            "or run partition again for the village",
            errors=[{"type": "outline_leaves_no_land", "params": {"village": code, "microgrids": list(ms)}}],
            key="plan.rerun_outline_leaves_no_land", params={"village": code, "microgrids": list(ms)})
    elif len(ms) == 1:
        a.new_mg[ms[0]] = clean(region)
    else:
        # the outline moved: each named micro-grid follows it, and only where one
        # would be left with no land are they cut afresh
        follow = _follow_outline(region, ms, named_geom)
        # cut afresh where following would leave one no land, or, of one where people
        # live, only land where no one does (its households went with a strip of it)
        followed = not any(no_land(g) or (edit.lived_in(named_geom[m]) and not edit.lived_in(g))
                           for m, g in follow.items())
        a.new_mg.update(follow if followed else _resplit(region, ms, named_geom, cap, edit.live))
