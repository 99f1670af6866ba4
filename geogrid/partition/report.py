"""The quality figures of a partition, from its arrays in metres."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

__all__ = ["quality", "plan_figures", "polsby_popper", "within_cell_msd"]


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
