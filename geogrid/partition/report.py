"""The quality figures of a partition, from its arrays in metres."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

__all__ = ["quality", "plan_figures", "polsby_popper", "within_cell_msd", "unit_keys", "result_figures",
           "TARGETS"]

#: the issue's targets for the figures of :func:`quality`: ``(">=", value)``.  The
#: compactness target (within-cell MSD against k-means-constrained's) needs that
#: solver and is the benchmark's alone.
TARGETS = {
    "mean_fill": (">=", 0.9),
    "microgrids_within_min_plus_one": (">=", 0.99),
    "polsby_popper_median": (">=", 0.6),
    "small_hamlets_unsplit": (">=", 0.95),
    "microgrid_area_within_25pct": (">=", 1.0),
}


def polsby_popper(geoms) -> np.ndarray:
    """4πA / P² of each polygon: 1 for a disc, 0.785 for a square."""
    a = shapely.area(geoms)
    p = shapely.length(geoms)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p > 0, 4 * np.pi * a / p**2, np.nan)


def within_cell_msd(points: np.ndarray, label: np.ndarray) -> float:
    """Mean over households of the squared distance (m²) to their cell's mean point."""
    ok = label >= 0
    if not ok.any():
        return float("nan")
    p, lab = points[ok], label[ok]
    k = lab.max() + 1
    cnt = np.bincount(lab, minlength=k)
    cx = np.bincount(lab, p[:, 0], k) / np.maximum(cnt, 1)
    cy = np.bincount(lab, p[:, 1], k) / np.maximum(cnt, 1)
    d2 = (p[:, 0] - cx[lab]) ** 2 + (p[:, 1] - cy[lab]) ** 2
    return float(d2.mean())


def plan_figures(*, cell_households: np.ndarray, cell_microgrid: np.ndarray, mg_village: np.ndarray,
                 mg_households: np.ndarray, mg_area: np.ndarray, village_area: dict[str, float], cap: int,
                 microgrid_km2: float | None = None, min_microgrids: int | None = None,
                 max_microgrids: int | None = None) -> dict:
    """The figures that counts and areas give, without the households' points or the
    cells' shapes: micro-grids and cells per village, their fill, how many cells past
    the minimum.  Cheap enough for a repartition to give afresh for the whole plan."""
    f: dict[str, float | int] = {}
    used = cell_households > 0
    # villages as integer keys: a repartition pays for this on every edit
    vkey, vcodes = pd.factorize(np.asarray(mg_village, dtype=object))
    V = len(vcodes)
    mg_k = np.bincount(vkey, minlength=V)
    v_area = np.array([village_area[v] for v in vcodes], dtype=float)
    f["villages"] = int(V)
    f["microgrids"] = int(len(mg_area))
    f["cells"] = int(len(cell_households))
    f["empty_cells"] = int((~used).sum())
    f["oversize_cells"] = int((cell_households > cap).sum())
    # --- micro-grids -------------------------------------------------------------------
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.abs(mg_area / (v_area[vkey] / mg_k[vkey]) - 1) if len(mg_area) else np.zeros(0)
    if microgrid_km2 is not None and V:
        # clamp(round(area / microgrid_km2), min, max) per village; fewer only where the
        # village has too few households to fill them (diagnostic ``few_households``)
        target = np.clip(np.round(v_area / 1e6 / microgrid_km2), min_microgrids, max_microgrids)
        f["villages_at_target_microgrids"] = float(np.mean(mg_k == target))
        f["villages_below_target_microgrids"] = int((mg_k < target).sum())
    f["microgrid_area_within_25pct"] = float(np.mean(dev <= 0.25)) if len(dev) else float("nan")
    f["microgrid_households_multiple"] = float(np.mean(mg_households % cap == 0)) if len(mg_households) else float("nan")
    # cells above the village's own minimum ceil(N/cap): what uneven micro-grids cost
    per_v = np.bincount(vkey, weights=mg_households, minlength=V)
    cells_per_v = np.bincount(vkey[cell_microgrid[used]], minlength=V)
    f["cells_above_village_minimum"] = int(np.clip(cells_per_v - np.ceil(per_v / cap), 0, None).sum())
    # --- cells -------------------------------------------------------------------------
    f["mean_fill"] = float(cell_households[used].sum() / (cap * used.sum())) if used.any() else float("nan")
    n_cells_mg = np.bincount(cell_microgrid[used], minlength=len(mg_area))
    minimum = np.ceil(mg_households / cap)
    has = mg_households > 0
    f["microgrids_within_min_plus_one"] = float(np.mean(n_cells_mg[has] <= minimum[has] + 1)) if has.any() else float("nan")
    f["microgrids_at_minimum"] = float(np.mean(n_cells_mg[has] <= minimum[has])) if has.any() else float("nan")
    return f


def unit_keys(points: np.ndarray, building=None) -> np.ndarray:
    """A key per household shared by households that must stay together (for the
    report only): the building key, else the point (metres) to the centimetre."""
    pts = np.round(np.nan_to_num(points) * 100).astype(np.int64)
    _, by_pt = np.unique(pts, axis=0, return_inverse=True)
    key = by_pt.ravel().astype(np.int64)
    if building is not None:
        b = pd.Series(building)
        has = b.notna().to_numpy()
        codes = pd.factorize(b[has])[0]
        key = key.copy()
        key[has] = -1 - codes
    return key


def quality(
    *,
    points: np.ndarray,  # (n, 2) metres
    cell_of: np.ndarray,  # cell index per household, -1 if none
    hamlet: np.ndarray | None,
    village_of: np.ndarray,  # village code per household (object) or None
    cell_geoms: np.ndarray,
    cell_households: np.ndarray,
    cell_microgrid: np.ndarray,  # micro-grid index per cell
    mg_geoms: np.ndarray,
    mg_village: np.ndarray,  # village code per micro-grid
    mg_households: np.ndarray,
    village_area: dict[str, float],
    cap: int,
    unit_of: np.ndarray | None = None,  # indivisible unit (building/point) per household
    microgrid_km2: float | None = None,
    min_microgrids: int | None = None,
    max_microgrids: int | None = None,
) -> dict:
    """Every quality figure of the issue, as plain numbers."""
    f: dict[str, float | int] = {}
    f["households"] = int(len(cell_of))
    f["households_assigned"] = int((cell_of >= 0).sum())
    f.update(plan_figures(cell_households=cell_households, cell_microgrid=cell_microgrid,
                          mg_village=mg_village, mg_households=mg_households,
                          mg_area=shapely.area(mg_geoms), village_area=village_area, cap=cap,
                          microgrid_km2=microgrid_km2, min_microgrids=min_microgrids,
                          max_microgrids=max_microgrids))
    has = mg_households > 0
    if unit_of is not None and has.any():
        # a bound that knows buildings: units of more than cap/2 households cannot share
        n_cells_mg = np.bincount(cell_microgrid[cell_households > 0], minlength=len(mg_geoms))
        minimum = np.ceil(mg_households / cap)
        ok = cell_of >= 0
        mg_of = cell_microgrid[cell_of[ok]]
        df = pd.DataFrame({"m": mg_of, "u": unit_of[ok]})
        w = df.groupby(["m", "u"]).size()
        halves = (w > cap / 2).groupby(level=0).sum().reindex(range(len(mg_geoms))).fillna(0).to_numpy()
        bound = np.maximum(minimum, halves)
        f["microgrids_within_packing_bound_plus_one"] = float(np.mean(n_cells_mg[has] <= bound[has] + 1))
    # --- compactness -------------------------------------------------------------------
    pp = polsby_popper(cell_geoms)
    f["polsby_popper_median"] = float(np.nanmedian(pp)) if len(pp) else float("nan")
    f["polsby_popper_p10"] = float(np.nanpercentile(pp, 10)) if len(pp) else float("nan")
    f["within_cell_msd_m2"] = within_cell_msd(points, cell_of)
    # --- hamlets -------------------------------------------------------------------------
    if hamlet is not None:
        ok = (cell_of >= 0) & pd.notna(hamlet)
        if ok.any():
            df = pd.DataFrame({"v": village_of[ok].astype(str), "h": hamlet[ok].astype(str),
                               "c": cell_of[ok]})
            g = df.groupby(["v", "h"])["c"].agg(["size", "nunique"])
            small = g[g["size"] <= cap]
            f["small_hamlets"] = int(len(small))
            f["small_hamlets_unsplit"] = float(np.mean(small["nunique"] == 1)) if len(small) else float("nan")
    return f


def result_figures(result, *, cap: int | None = None, microgrid_km2: float | None = None,
                   min_microgrids: int | None = None, max_microgrids: int | None = None) -> dict:
    """Every figure of :func:`quality`, from a partition's GeoDataFrames alone (as
    :func:`~geogrid.partition.check` reads the rules): for a partition changed after
    the engine gave it, such as a plan edited by hand, or a ``repartition`` result
    (whose report carries the figures that need every cell's shape over from the
    previous one).

    ``result`` has ``households`` (points with ``microgrid_id`` and ``cell_id``, and
    ``village_code``, ``building`` and ``hamlet`` where it has them), ``microgrids``
    and ``cells``.  A village's area is its micro-grids' (they tile it).  The
    parameters default to the result's own, else the engine's defaults.
    """
    from geogrid.columns import BUILDING, CELL_ID, HAMLET, MICROGRID_ID, VILLAGE_CODE
    from geogrid.crs import local_metric_crs
    from geogrid.partition.points import point_xy

    given = dict(getattr(result, "report", {}).get("parameters", {}))
    from geogrid.partition.solve import PLAN_PARAMETERS

    p = {k: given.get(k, v) for k, v in PLAN_PARAMETERS.items()}
    cap = int(cap if cap is not None else p["max_households"])
    hh, mgs, cells = result.households, result.microgrids, result.cells
    if not len(mgs):
        return {"households": int(len(hh)), "households_assigned": 0, "microgrids": 0, "cells": 0}
    metric = given.get("metric_crs")
    if metric is None:
        x0, y0, x1, y1 = mgs.to_crs(4326).total_bounds
        metric = local_metric_crs((x0 + x1) / 2, (y0 + y1) / 2)
    mg_m = mgs.to_crs(metric)
    cell_m = cells.to_crs(metric)
    # ids as text (a plan read back from a database may give numbers); a cell of no
    # micro-grid here, or a household of no cell here, counts as in none
    mg_key = pd.Index(_id_text(mg_m[MICROGRID_ID]))
    cell_mg = mg_key.get_indexer(_id_text(cell_m[MICROGRID_ID]))
    cell_m, cell_mg = cell_m[cell_mg >= 0], cell_mg[cell_mg >= 0]
    cell_key = pd.Index(_id_text(cell_m[CELL_ID]))
    has_cell = hh[CELL_ID].notna().to_numpy()
    cell_of = np.where(has_cell, cell_key.get_indexer(_id_text(hh[CELL_ID])), -1)
    xy = point_xy(hh.to_crs(metric).geometry.to_numpy()) if len(hh) else np.zeros((0, 2))
    cell_hh = np.bincount(cell_of[cell_of >= 0], minlength=len(cell_m))
    mg_hh = np.bincount(cell_mg, weights=cell_hh, minlength=len(mg_m)).astype(int)
    mg_vil = mg_m[VILLAGE_CODE].astype(str).to_numpy()
    area = shapely.area(mg_m.geometry.to_numpy())
    village_area = pd.Series(area).groupby(mg_vil).sum().to_dict()
    village_of = (hh[VILLAGE_CODE].astype(object).to_numpy() if VILLAGE_CODE in hh.columns
                  else np.where(cell_of >= 0, mg_vil[cell_mg[np.maximum(cell_of, 0)]], None))
    return quality(
        points=xy, cell_of=cell_of, village_of=village_of,
        hamlet=hh[HAMLET].to_numpy(dtype=object) if HAMLET in hh.columns else None,
        cell_geoms=cell_m.geometry.to_numpy(), cell_households=cell_hh, cell_microgrid=cell_mg,
        mg_geoms=mg_m.geometry.to_numpy(), mg_village=mg_vil.astype(object), mg_households=mg_hh,
        village_area=village_area, cap=cap,
        unit_of=unit_keys(xy, hh[BUILDING].to_numpy(dtype=object) if BUILDING in hh.columns else None),
        microgrid_km2=microgrid_km2 if microgrid_km2 is not None else p["microgrid_km2"],
        min_microgrids=min_microgrids if min_microgrids is not None else p["min_microgrids"],
        max_microgrids=max_microgrids if max_microgrids is not None else p["max_microgrids"],
    )


def _id_text(ids) -> pd.Series:
    """Ids as text, a whole float as the integer it is: a column of cell numbers with a
    household in no cell (NaN) holds 7.0 for cell 7."""
    ids = pd.Series(ids).reset_index(drop=True)
    out = ids.astype(str)
    if ids.dtype.kind == "f":
        whole = (ids.notna() & (ids % 1 == 0)).to_numpy()
        out[whole] = ids[whole].astype(np.int64).astype(str)
    return out
