"""Check the hard rules of a partition, from its GeoDataFrames alone.

:func:`check` measures every rule of the issue and returns the violations;
:func:`assert_valid` raises :class:`~geogrid.errors.PartitionError` listing them.
Tests, the notebook and the benchmark run it on every partition they make.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geogrid.columns import BUILDING, CELL_ID, HOUSEHOLDS, MICROGRID_ID, VILLAGE_CODE
from geogrid.crs import local_metric_crs, reproject
from geogrid.errors import PartitionError
from geogrid.partition.inputs import INPUT_PROBLEMS, _codes, prepare
from geogrid.partition.points import point_xy
from geogrid.partition.units import building_groups, make_units, same_place

__all__ = ["check", "assert_valid", "one_building_cells", "not_one_piece", "GAP_M2", "POINT_TOL_M"]

#: gaps plus overlaps allowed per parent, m²
GAP_M2 = 1.0
#: a household this close (m) to its cell counts as inside (points on a village border)
POINT_TOL_M = 1e-3


def _metric(result):
    crs = result.report.get("parameters", {}).get("metric_crs")
    if crs is None:
        x0, y0, x1, y1 = result.cells.to_crs("EPSG:4326").total_bounds
        crs = local_metric_crs((x0 + x1) / 2, (y0 + y1) / 2)
    return crs


def _tiling(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, key: str, pkey: str):
    """Per parent: gap + overlap area (m²) and the area of children outside it."""
    bad = []
    pg = dict(zip(parents[pkey], parents.geometry))
    for k, grp in children.groupby(key, sort=True):
        P = pg.get(k)
        if P is None:
            bad.append((k, "no parent"))
            continue
        geoms = grp.geometry.to_numpy()
        union = shapely.union_all(geoms)
        overlap = float(shapely.area(geoms).sum() - union.area)
        gap = float(shapely.difference(P, union).area)
        outside = float(shapely.difference(union, P).area)
        if overlap + gap > GAP_M2 or outside > GAP_M2:
            bad.append((k, f"gaps {gap:.3f} m², overlaps {overlap:.3f} m², outside {outside:.3f} m²"))
    missing = set(pg) - set(children[key])
    bad += [(k, "has no children") for k in sorted(missing)]
    return bad


def one_building_cells(cell_of, points_m, building=None) -> set:
    """The cells whose households are one building as the engine takes them (one
    unit, :func:`~geogrid.partition.units.make_units`: linked by shared points and by
    shared building keys within :data:`~geogrid.partition.units.SPREAD_M`).  Such a cell may hold more than the cap:
    the engine keeps a bigger building whole.

    >>> import numpy as np
    >>> one_building_cells(np.array(["a", "a", "b", "b"], dtype=object),
    ...                    np.array([[0., 0], [5, 0], [0, 0], [0, 0]]),
    ...                    np.array([None, None, None, None], dtype=object))
    {'b'}
    """
    cell_of = np.asarray(cell_of, dtype=object)
    ok = pd.notna(cell_of)
    if not ok.any():
        return set()
    codes = None if building is None else _codes(np.asarray(building, dtype=object)[ok])
    units = make_units(np.asarray(points_m, float)[ok], codes)
    per_cell = pd.Series(units.of).groupby(cell_of[ok]).nunique()
    return set(per_cell.index[per_cell.to_numpy() == 1])


def not_one_piece(geoms, outlines) -> np.ndarray:
    """Per polygon of ``geoms``: whether it breaks the rule of one piece, given the
    outline of its village (``outlines``, one per polygon, in the same CRS; None where
    unknown).

    A cell or micro-grid is one piece, unless its village is in pieces (islands): it
    may then be in several, each in a different piece of the village.  That is what
    the engine draws: a piece of a cell or micro-grid cut off from its main piece
    without households joins the neighbour it borders longest
    (:func:`~geogrid.partition.pieces.merge_orphans`), unless it borders nothing,
    i.e. it is land of another piece of the village (an island without households),
    and one with households becomes a cell of its own or joins a neighbour
    (``drawing._rehome_stranded``).  Two pieces in one piece of the village, or a
    piece in none of them, break the rule.  The API's plan validation applies the
    same rule (``disconnected_cell``).

    >>> from shapely.geometry import MultiPolygon, box
    >>> village = MultiPolygon([box(0, 0, 10, 10), box(20, 0, 30, 10)])
    >>> not_one_piece([MultiPolygon([box(0, 0, 5, 10), box(20, 0, 30, 10)]),  # one on each
    ...                MultiPolygon([box(0, 0, 2, 10), box(5, 0, 10, 10)]),   # two on one
    ...                box(0, 0, 10, 10)], [village] * 3).tolist()
    [False, True, False]
    >>> not_one_piece([MultiPolygon([box(0, 0, 2, 10), box(5, 0, 10, 10)])], [box(0, 0, 10, 10)]).tolist()
    [True]
    """
    geoms = np.asarray(list(geoms), dtype=object)
    outlines = list(outlines)
    parts = shapely.get_num_geometries(geoms)
    out = np.zeros(len(geoms), bool)
    for i in np.flatnonzero(parts > 1):
        out[i] = not _each_in_own_piece(geoms[i], outlines[i])
    return out


def _each_in_own_piece(geom, outline) -> bool:
    """Whether every part of ``geom`` lies in a piece of ``outline`` (the one it
    overlaps most) and no two in the same."""
    if outline is None or shapely.is_empty(outline):
        return False
    pieces = shapely.get_parts(shapely.get_parts(outline))  # collections of multis too
    pieces = pieces[shapely.get_type_id(pieces) == 3]  # polygons
    if len(pieces) < 2:
        return False
    seen = set()
    for part in shapely.get_parts(geom):
        try:
            # GEOS's overlay can raise the FPU's invalid flag on valid input (islands
            # in UTM metres), which numpy would turn into a RuntimeWarning
            with np.errstate(invalid="ignore"):
                area = shapely.area(shapely.intersection(part, pieces))
        except shapely.errors.GEOSException:  # an invalid polygon: reported as such too
            return False
        j = int(np.argmax(area))
        if not area[j] > 0 or j in seen:
            return False
        seen.add(j)
    return True


def check(result, villages: gpd.GeoDataFrame | None = None, max_households: int | None = None) -> dict:
    """Every hard rule: ``{rule: [violations]}`` (all lists empty when the partition is
    right).  ``villages`` adds the nesting and tiling of micro-grids in villages, read as
    :func:`~geogrid.partition.partition` reads them (codes as text, outlines repaired).
    Building keys too are the engine's: text, a blank one no building."""
    metric = _metric(result)
    cap = max_households or result.report.get("parameters", {}).get("max_households", 20)
    hh = result.households.to_crs(metric)
    # polygons keep the shape they have in their own CRS (straight edges in degrees
    # for WGS84), as the partition engine and the databases read them
    cells = result.cells.set_geometry(reproject(result.cells.geometry, metric))
    mgs = result.microgrids.set_geometry(reproject(result.microgrids.geometry, metric))
    out: dict[str, list] = {}
    named = set()
    for d in result.report.get("diagnostics", []):
        if d["kind"] in (*INPUT_PROBLEMS, "no_point"):
            named.update(d["households"])
    # every household in exactly one cell (or named in the diagnostics)
    cid = hh[CELL_ID]
    unassigned = hh.index[cid.isna()]
    out["household_in_one_cell"] = [i for i in unassigned if i not in named]
    out["cell_ids_unique"] = cells[CELL_ID][cells[CELL_ID].duplicated()].tolist()
    known = set(cells[CELL_ID])
    out["household_cell_exists"] = hh.index[cid.notna() & ~cid.isin(known)].tolist()
    # capacity, unless the cell is one building / one point
    counts = cid.value_counts()
    big = counts[counts > cap]
    pts = point_xy(hh.geometry.to_numpy())  # a row per household, NaN without a point
    whole = one_building_cells(cid.to_numpy(dtype=object), pts,
                               hh[BUILDING].to_numpy(dtype=object) if BUILDING in hh.columns else None)
    out["cell_capacity"] = [c for c in big.index if c not in whole]
    stated = cells.set_index(CELL_ID)[HOUSEHOLDS]
    out["cell_counts_match"] = [c for c in stated.index if stated[c] != counts.get(c, 0)]
    # co-located households never split
    a = hh[cid.notna()]
    # the engine's addresses (same_place), the households without a point each alone
    xy = pts[cid.notna().to_numpy()]
    key_pt = np.arange(len(a)) + len(a)
    ok = np.isfinite(xy).all(axis=1)
    key_pt[ok] = same_place(xy[ok])
    key_pt = pd.Series(key_pt, index=a.index)
    split = a.groupby(key_pt)[CELL_ID].nunique()
    # each address by its first household's coordinates, as it was reported before
    first = pd.Series(np.arange(len(a)), index=key_pt.to_numpy()).groupby(level=0).first()
    out["colocated_not_split"] = [f"{xy[i, 0]:.2f},{xy[i, 1]:.2f}" for i in first[split[split > 1].index]]
    if BUILDING in a.columns:
        # keys as the engine reads them (text, blank as none, 7.0 as '7'), and a building
        # per place where one key's households lie further apart than SPREAD_M (as the
        # engine takes them; the diagnostics name such keys).  A household without a
        # point (a plan that keeps none for a hand move) is of no building here, as it
        # is of no address above: nothing places it beside its key's others
        keys = _codes(a[BUILDING])
        has = pd.notna(keys) & ok
        b = a[has]
        keys = keys[has]
        # a key is a building of one village: villages number their buildings each
        # their own way (as the engine, which makes units village by village).  The
        # village is that of the household's cell: a household without a code (no
        # village_code column, or a blank one) takes the village whose outline holds it
        cell_village = result.cells.drop_duplicates(CELL_ID).set_index(CELL_ID)[VILLAGE_CODE]
        village = b[CELL_ID].map(cell_village).to_numpy(dtype=object)
        codes = pd.DataFrame({"v": village, "k": keys}).groupby(["v", "k"], dropna=False, sort=False).ngroup()
        codes = codes.to_numpy()
        place = building_groups(xy[has], codes)
        sb = b.groupby(place)[CELL_ID].nunique()
        # households apart that a micro-grid border ran between, as the diagnostics say
        told = set()
        for d in result.report.get("diagnostics", []):
            if d["kind"] == "building_split":
                told.update(d["households"])
        excused = np.unique(place[b.index.isin(list(told))])
        bad = np.setdiff1d(sb.index[sb > 1], excused)
        out["building_not_split"] = sorted(set(keys[np.isin(place, bad)]))
    # own point inside own cell
    cg = cells.set_index(CELL_ID).geometry
    geoms = cg.reindex(a[CELL_ID]).to_numpy()
    d = shapely.distance(a.geometry.to_numpy(), geoms)
    out["point_in_own_cell"] = a.index[~(d <= POINT_TOL_M)].tolist()
    # valid, one piece unless the village is in pieces, then each piece in a piece of
    # the village of its own (not_one_piece)
    if villages is not None:
        # the outlines as partition() takes them: codes as text, repaired by make_valid,
        # a code's rows joined (prepare() of no households reads the villages alone)
        outlines = prepare(result.households.iloc[:0], villages, metric).polygons
        shape = outlines
    else:
        # without them, the land of the village's micro-grids
        shape = {v: shapely.union_all(g.geometry.to_numpy()) for v, g in mgs.groupby(VILLAGE_CODE)}
    for name, df, key, given in (("cells", cells, CELL_ID, result.cells),
                                 ("microgrids", mgs, MICROGRID_ID, result.microgrids)):
        g = df.geometry.to_numpy()
        # valid as the caller has them too: reproject() densifies with shapely.segmentize,
        # which turns an invalid polygon (a bow-tie) into a valid one of one lobe
        ok = shapely.is_valid(g) & shapely.is_valid(given.geometry.to_numpy())
        out[f"{name}_valid"] = df.loc[~ok, key].tolist()
        apart = not_one_piece(g, [shape.get(v) for v in df[VILLAGE_CODE]])
        out[f"{name}_one_piece"] = df.loc[apart, key].tolist()
        out[f"{name}_not_empty"] = df.loc[shapely.is_empty(g) | (shapely.area(g) <= 0), key].tolist()
    out["cells_tile_microgrids"] = _tiling(cells, mgs, MICROGRID_ID, MICROGRID_ID)
    if villages is not None:
        present = set(mgs[VILLAGE_CODE])
        used = [c for c in outlines if c in present]
        vm = gpd.GeoDataFrame({VILLAGE_CODE: used}, geometry=[outlines[c] for c in used], crs=metric)
        out["microgrids_tile_villages"] = _tiling(mgs, vm, VILLAGE_CODE, VILLAGE_CODE)
    return out


def assert_valid(result, villages=None, max_households=None) -> None:
    """Raise :class:`PartitionError` naming every broken hard rule."""
    bad = {k: v for k, v in check(result, villages, max_households).items() if v}
    if bad:
        lines = [f"{k}: {len(v)} e.g. {v[:3]}" for k, v in bad.items()]
        raise PartitionError("the partition breaks hard rules:\n" + "\n".join(lines))
