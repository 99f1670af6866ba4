"""Named micro-grids and their village's outline, for :func:`~geogrid.partition.repartition`:
the area each named micro-grid covers after an outline edit (following the outline,
or cut afresh where it must be), the locked cells that edit must leave whole, and the
notes it owes the planner (a micro-grid in pieces, land gained or lost, outlines that
overlap).  Pure geometry in metres: numpy and shapely.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from geogrid.columns import CELL_ID, MICROGRID_ID, VILLAGE_CODE
from geogrid.crs import reproject, transformer
from geogrid.errors import InputError
from geogrid.partition.cells import lattice_points
from geogrid.partition.cuts import split_area
from geogrid.partition.inputs import _codes, outline_metric, overlapping_outlines
from geogrid.partition.points import point_xy
from geogrid.partition.power import voronoi_cells
from geogrid.partition.pieces import (GRID_M, clean, clip_leaves, explode, mean_width, merge_orphans, polygonal,
                                     union)
from geogrid.partition.result import area_text, diagnostic
from geogrid.partition.units import make_units
from geogrid.partition.validate import not_one_piece
from geogrid.partition.village import _inhabited, uninhabited_note


def _to_metric(gs: gpd.GeoSeries, metric) -> np.ndarray:
    return reproject(gs, metric).to_numpy() if len(gs) else np.zeros(0, dtype=object)


#: a re-solved micro-grid whose outline (its village less the others) differs from its
#: own by less than this (m²) keeps its own: no border moved
SAME_M2 = 0.25


#: a detached part of a re-solved area smaller than this (m²) is float noise where the
#: new outline runs along a kept micro-grid's edge, not land (the tiling rule allows
#: gaps and overlaps under 1 m² in total)
SPECK_M2 = 0.25


def _drop_specks(region, village, points=None):
    """``region`` without the specks a difference of nearly equal outlines leaves (or of
    a micro-grid and its locked cells): parts under :data:`SPECK_M2`, unless such a
    part is (most of) a piece of ``village`` of its own, a tiny island, or holds one of
    ``points`` (households, in metres): land where someone lives is no speck, however
    small (households added on a micro-grid's corner, which a locked cell closes off).

    Before, specks went only where ``region`` was in more pieces than ``village``: a
    micro-grid of an island village whose one island its locked cells cover kept the
    0.002 m² its locked cells left of that island, and the cell cut afresh in its free
    land took that speck as a second piece (``cells_one_piece``)."""
    parts = explode(region)
    if len(parts) <= 1:
        return region
    pieces = explode(village)

    pts = np.zeros((0, 2)) if points is None else np.asarray(points, float).reshape(-1, 2)

    def tiny_island(p) -> bool:
        return any(q.area <= 2 * p.area and q.intersects(p) for q in pieces)

    def lived_in(p) -> bool:
        return bool(len(pts)) and bool(shapely.intersects_xy(p, pts[:, 0], pts[:, 1]).any())

    keep = [p for p in parts if p.area >= SPECK_M2 or tiny_island(p) or lived_in(p)]
    if not keep:
        return region
    return keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)


def _follow_outline(region, ms, named_geom) -> dict:
    """Several named micro-grids of one village whose outline moved: each keeps what
    of its area the new outline still holds (so its cells, locked or not, stay where
    they were), the land the outline adds goes to the nearest of them (the Voronoi
    regions of a lattice over each wide piece of it, each point labelled with its
    nearest micro-grid; a thin piece, a border redrawn a little further out, goes
    whole to the micro-grid it borders longest), and a piece cut off from its
    micro-grid joins the named neighbour it borders longest."""
    polys = [clean(shapely.intersection(named_geom[m], region, grid_size=GRID_M)) for m in ms]
    live = [i for i, p in enumerate(polys) if not p.is_empty]
    extra = shapely.difference(region, shapely.union_all(polys), grid_size=GRID_M)
    thin = []
    if live and extra.area >= SPECK_M2:
        tree = shapely.STRtree([polys[i] for i in live])
        for part in explode(extra):
            if part.area < FOLLOW_MIN_M2 or mean_width(part) < FOLLOW_MIN_WIDTH_M:
                # no lattice over a sliver: its spacing, set by its area, would be
                # centimetres over the whole box (1.7 GB for a border moved 5 mm)
                thin.append((part, live[int(tree.query_nearest(part.representative_point())[0])]))
                continue
            lat = lattice_points(part, FOLLOW_LATTICE * len(ms))
            if not len(lat):
                thin.append((part, live[int(tree.query_nearest(part.representative_point())[0])]))
                continue
            q, t = tree.query_nearest(shapely.points(lat))
            _, first = np.unique(q, return_index=True)  # ties: the first
            regions = voronoi_cells(lat, np.asarray(live)[t[first]], len(ms), shapely.box(*part.buffer(1.0).bounds))
            # the polygons of each region's share only: a region that touches the piece
            # along its outline from outside shares a line with it too, and GEOS refuses
            # to overlay a polygon with a collection of a polygon and a line
            share = polygonal(shapely.intersection(regions, part, grid_size=GRID_M))
            polys = [shapely.union(p, g, grid_size=GRID_M) for p, g in zip(polys, share)]
    return dict(zip(ms, _repair_parts([clean(p) for p in polys], thin)))


#: the least area (m²) and mean width (m) of a piece of added land that the named
#: micro-grids share by nearness; a smaller or thinner one goes whole to one of them
FOLLOW_MIN_M2 = 1000.0
FOLLOW_MIN_WIDTH_M = 5.0
#: lattice points per micro-grid over the land an outline edit adds (see _follow_outline)
FOLLOW_LATTICE = 300


def _resplit(region, ms, named_geom, cap, points=None):
    """Several named micro-grids of one village, one of which the new outline leaves
    with no land (or only land where no one lives): cut their area afresh into as many,
    balancing area and the households at ``points`` (metres) as partition's straight
    cuts do, and give each piece the id of the previous micro-grid it overlaps most."""
    lattice = lattice_points(region, 600 * len(ms))
    pts = np.zeros((0, 2)) if points is None else np.asarray(points, float).reshape(-1, 2)
    pts = pts[shapely.contains_xy(region, pts[:, 0], pts[:, 1])] if len(pts) else pts
    units = make_units(pts)
    leaves = split_area(lattice, units, np.arange(units.n), len(ms), cap, np.full(units.n, -1))
    pieces = clip_leaves(region, [hp for _, hp in leaves])
    polys = [clean(p) for p in pieces]
    # a piece cut in two by a concave outline: its small parts go to the piece they touch
    polys = _repair_parts(polys)
    ov = np.array([[shapely.area(shapely.intersection(p, named_geom[m])) for m in ms] for p in polys])
    r, c = linear_sum_assignment(-ov)
    return {ms[j]: polys[i] for i, j in zip(r, c)}


def _locked_geoms(pc, ms, locked, metric) -> dict[str, list]:
    """The locked cells' polygons in metres, by micro-grid, for micro-grids ``ms``."""
    if not locked:
        return {}
    lc = pc[pc[CELL_ID].isin(locked) & pc[MICROGRID_ID].isin(ms)]
    out: dict[str, list] = {}
    for m, g in zip(lc[MICROGRID_ID], _to_metric(lc.geometry, metric)):
        out.setdefault(m, []).append(g)
    return out


def _locked_inside(code, ms, new_mg, locked_geom) -> None:
    """Refuses an outline edit that a locked cell cannot follow: one that leaves part
    of the cell outside its micro-grid's new area (cut off by the new outline, or, in
    pieces, by a re-cut of several micro-grids)."""
    bad = [m for m in ms for g in locked_geom.get(m, []) if shapely.difference(g, new_mg[m]).area >= SAME_M2]
    if bad:
        raise InputError(
            f"the outline of village {code} changed and micro-grid(s) {', '.join(sorted(set(bad)))} "
            "hold locked cells that would lie partly outside their new area (cut by the new "
            "outline, or, where the new outline left a named micro-grid no land and the named "
            "ones were cut afresh, by that cut); unlock those cells, or name fewer micro-grids "
            "or keep the outline where they are", key="plan.rerun_locked_cells_outside_outline",
            params={"village": str(code), "microgrids": sorted(set(map(str, bad)))})


def _overlaps_near(villages, vpoly, metric) -> list[dict]:
    """``villages_overlap`` notes (as partition() gives them) for the outlines given
    again (``vpoly``, metres) and the given outlines whose boxes meet theirs: an edited
    outline drawn over a neighbour's land."""
    box = shapely.box(*shapely.total_bounds(np.array(list(vpoly.values()), dtype=object)))
    tree_box = reproject(gpd.GeoSeries([box], crs=metric), villages.crs).iloc[0]
    near = villages.iloc[villages.sindex.query(tree_box, predicate="intersects")]
    polys = dict(vpoly)
    for code, g in zip(_codes(near[VILLAGE_CODE]), outline_metric(near.geometry, metric)):
        if code is not None and code not in vpoly and g is not None and not g.is_empty:
            polys[code] = shapely.union_all([polys[code], g]) if code in polys else g
    return [d for d in overlapping_outlines(polys) if set(d["villages"]) & set(vpoly)]


def _area_moved(code, ms, new_mg, named_geom) -> list[dict]:
    """``microgrid_area_changed``: what the named micro-grids gained and lost together in
    following their village's outline (the land no other micro-grid covers goes to them:
    a micro-grid's own edited outline, shrunk, grows back), and what passed between them
    (where they were cut afresh, or a cut-off piece joined a neighbour), so that the
    planner sees it."""
    old = shapely.union_all([named_geom[m] for m in ms])
    new = shapely.union_all([new_mg[m] for m in ms])
    gained = shapely.difference(new, old).area
    lost = shapely.difference(old, new).area
    # each micro-grid's gain less the village's: land one named micro-grid took from another
    passed = max(0.0, sum(shapely.difference(new_mg[m], named_geom[m]).area for m in ms) - gained)
    if max(gained, lost, passed) < AREA_NOTE_M2:
        return []
    between = (f", and {area_text(passed)} passed from one of them to another"
               if passed >= AREA_NOTE_M2 and len(ms) > 1 else "")
    return [{**diagnostic(
        "microgrid_area_changed", code, [],
        f"micro-grid(s) {', '.join(ms)} gained {area_text(gained)} and lost {area_text(lost)} "
        f"in all to follow the outline of village {code}{between}: the named micro-grids take all "
        "of it that no other micro-grid covers. To give land to a neighbour, edit the neighbour's "
        "outline and re-run both"), "microgrids": list(ms),
        # the message's numbers, for a translation of it (passed_m2: where it tells of it)
        "params": {"gained_m2": round(gained, 1), "lost_m2": round(lost, 1),
                   **({"passed_m2": round(passed, 1)} if between else {})}}]


#: the area (m²) a named micro-grid must gain or lose before a microgrid_area_changed
#: note tells of it
AREA_NOTE_M2 = 100.0


def _stranded(code, region, ms, named_geom, unnamed_geom) -> tuple[object, list[dict]]:
    """``region`` (the land of the named micro-grids of village ``code`` after an outline
    edit) without the pieces of land the edit added beyond micro-grids that were not
    named: a piece that holds none of the named micro-grids' land and borders one of the
    others.  Given to a named micro-grid, such a piece would lie apart from it, far off,
    with a cell in pieces; it stays out of every micro-grid instead, and an
    ``outline_adds_land`` note names the micro-grids to re-solve with it.  A piece
    bordering no micro-grid (a new island), and a speck of the outlines' float noise,
    stay in ``region``."""
    parts = explode(region)
    if not parts or not unnamed_geom:
        return region, []
    named_all = shapely.union_all([named_geom[m] for m in ms])
    ids = list(unnamed_geom)
    tree = shapely.STRtree([unnamed_geom[i] for i in ids])
    keep, by_mg = [], {}
    for p in parts:
        beside = tree.query(p, predicate="dwithin", distance=BESIDE_M)
        if p.area >= SPECK_M2 and len(beside) and shapely.intersection(p, named_all).area < SPECK_M2:
            for k in beside:
                by_mg[ids[k]] = by_mg.get(ids[k], 0.0) + p.area
            continue
        keep.append(p)
    if len(keep) == len(parts):
        return region, []
    gone = [p for p in parts if not any(p is k for k in keep)]
    left = sum(p.area for p in gone)
    # strips under a metre wide: the outline redrawn a hair outside the old line, or its
    # coordinates rounded, not land anyone added
    thin = all(mean_width(p) < THIN_M for p in gone)
    names = sorted(by_mg)
    note = {**diagnostic(
        "outline_adds_land", code, [],
        f"the new outline of village {code} adds {area_text(left)} next to micro-grid(s) "
        f"{', '.join(names)}, which were not named"
        + (" (in strips under a metre wide: the outline redrawn a little outside the old line, "
           "or its coordinates rounded)" if thin else "")
        + "; that land is in no micro-grid until they are re-solved with the new outline (name "
        "them as well)"), "microgrids": names,
        "params": {"area_m2": round(left, 1), "thin": thin}}
    # all of it stranded: no land for the named micro-grids (the caller refuses that)
    rest = shapely.Polygon() if not keep else keep[0] if len(keep) == 1 else shapely.MultiPolygon(keep)
    return rest, [note]


#: a piece of added land this near (m) a micro-grid borders it
BESIDE_M = 1.0
#: added land whose pieces are all narrower than this (m, mean width) is told as a
#: redrawn or rounded line
THIN_M = 1.0


def no_land(geom) -> bool:
    """Whether ``geom`` is no land a micro-grid could hold: empty, specks, or strips
    under :data:`THIN_M` wide (what is left along a border an outline edit removed,
    after the outline's round trip through the caller's CRS)."""
    return all(p.area < SPECK_M2 or mean_width(p) < THIN_M for p in explode(geom))


def _in_pieces(code, ms, new_mg, village) -> list[dict]:
    """``microgrid_in_pieces`` diagnostics: a named micro-grid that an outline edit
    left in pieces where check() would not allow it (validate.not_one_piece: in more
    pieces than one, but for each piece of an island village its own)."""
    torn = not_one_piece([new_mg[m] for m in ms], [village] * len(ms))
    out = []
    for m, bad in zip(ms, torn):
        if bad:
            n = len(explode(new_mg[m]))
            out.append({**diagnostic(
                "microgrid_in_pieces", code, [],
                f"the new outline of village {code} leaves micro-grid {m} in {n} pieces; "
                "re-solve it together with the micro-grids next to the cut-off pieces, so that "
                "each piece can join one of them"), "microgrids": [m], "params": {"pieces": n}})
    return out


def _repair_parts(polys, loose=()):
    """Each of ``polys`` in one piece: its smaller pieces, and the ``loose`` pieces
    (``(polygon, label to keep if it borders nothing)``), join the piece they border
    longest (pieces.merge_orphans)."""
    parts, labels, orphan = [], [], []
    for lab, g in enumerate(polys):
        ps = explode(g)
        big = max(range(len(ps)), key=lambda i: ps[i].area) if ps else -1
        for i, p in enumerate(ps):
            parts.append(p)
            labels.append(lab)
            orphan.append(i != big)
    for p, lab in loose:
        parts.append(p)
        labels.append(lab)
        orphan.append(True)
    final = merge_orphans(parts, labels, orphan)
    return [clean(union([p for p, f in zip(parts, final) if f == lab])) for lab in range(len(polys))]


def _bare_land(vpoly, hh, mg_col, mg_village, crs, metric) -> list[dict]:
    """``uninhabited_land`` notes afresh for the villages whose outline was given again
    (the previous plan's go with it: edit_report.RECHECKED_WITH_OUTLINES): the parts of
    the outline where no household of the village's micro-grids lives now."""
    out = []
    islands = {code: poly for code, poly in vpoly.items() if len(explode(poly)) > 1}
    if not islands:
        return out  # (mapping 80,000 households to their villages costs 18 ms)
    village_of = pd.Series(mg_col).map(mg_village).to_numpy()
    for code, poly in islands.items():
        xy = point_xy(hh.geometry.to_numpy()[village_of == code])
        xy = xy[~np.isnan(xy[:, 0])]
        if not len(xy):
            continue
        x, y = transformer(crs, metric).transform(xy[:, 0], xy[:, 1])
        _, bare = _inhabited(poly, np.column_stack([x, y]))
        if bare:
            out.append(uninhabited_note(code, bare))
    return out


def _cells_in_pieces(diags: list[dict], new_cells, vpoly) -> list[dict]:
    """The ``microgrid_in_pieces`` notes, each with the cells of its micro-grid that are in
    pieces with it (where check() would not allow it: validate.not_one_piece): a piece of
    land with no household goes to a cell all the same, so that the cells tile their
    micro-grid."""
    out = []
    for d in diags:
        if d["kind"] == "microgrid_in_pieces":
            mine = [(c, g) for c, m, g in new_cells if m in d["microgrids"]]
            apart = not_one_piece([g for _, g in mine], [vpoly[d["village_code"]]] * len(mine))
            torn = sorted(c for (c, _), bad in zip(mine, apart) if bad)
            if torn:
                d = {**d, "cells": torn, "message": d["message"].rstrip(".") + (
                    f"; cell(s) {', '.join(torn)} are in pieces with it until then")}
        out.append(d)
    return out
