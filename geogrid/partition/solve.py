"""``partition()``: a whole county into micro-grids and cells."""

from __future__ import annotations

import inspect

import math
import numbers

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geogrid.columns import AREA_KM2, CELL_ID, HOUSEHOLDS, MICROGRID_ID, VILLAGE_CODE
from geogrid.errors import InputError
from geogrid.partition.engines import Progress, run_tasks
from geogrid.partition.units import canonical_order
from geogrid.partition.inputs import Prepared, prepare
from geogrid.partition.edges import reproject_valid
from geogrid.partition.report import quality, unit_keys
from geogrid.partition.result import PartitionResult
from geogrid.partition.village import LAYOUTS, VillageResult, VillageTask

__all__ = ["partition", "microgrid_id", "cell_id"]


def microgrid_id(village_code: str, k: int) -> str:
    """The id of the k-th (1-based) micro-grid of a village, e.g. ``431229001001-M03``."""
    return f"{village_code}-M{k:02d}"


def cell_id(mg_id: str, j: int) -> str:
    """The id of the j-th (1-based) cell of a micro-grid, e.g. ``431229001001-M03-C02``."""
    return f"{mg_id}-C{j:02d}"


def _whole(name: str, value, least: int | None = 1) -> None:
    """Refuse ``value`` unless it is an int (not a bool, not a float) of at least ``least``."""
    if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
            or (least is not None and value < least)):
        at_least = "" if least is None else f" of {least} or more"
        raise InputError(f"{name} must be a whole number{at_least} (an int), not {value!r}")


def _check_params(max_households, microgrid_km2, min_microgrids, max_microgrids, layout="auto",
                  seed=0) -> None:
    if layout not in LAYOUTS:
        raise InputError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    _whole("max_households", max_households)
    if (not isinstance(microgrid_km2, numbers.Real) or isinstance(microgrid_km2, bool)
            or not math.isfinite(microgrid_km2) or microgrid_km2 <= 0):
        raise InputError(f"microgrid_km2 must be a positive number of km², not {microgrid_km2!r}")
    _whole("min_microgrids", min_microgrids)
    _whole("max_microgrids", max_microgrids)
    if max_microgrids < min_microgrids:
        raise InputError("need 1 <= min_microgrids <= max_microgrids "
                         f"(got {min_microgrids} and {max_microgrids})")
    _whole("seed", seed, least=None)


def _check_index(households) -> None:
    """Diagnostics name households by index label: refuse labels that name two rows."""
    index = getattr(households, "index", None)
    if isinstance(index, pd.Index) and not index.is_unique:
        dup = index[index.duplicated()].unique()
        shown = ", ".join(map(str, dup[:5])) + ("…" if len(dup) > 5 else "")
        raise InputError(f"the households' index has duplicate labels ({shown}); give each "
                         "household its own label, e.g. with reset_index(drop=True) or "
                         "pd.concat(..., ignore_index=True)")


def partition(
    households: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame | None = None,
    *,
    max_households: int = 20,
    microgrid_km2: float = 1.0,
    min_microgrids: int = 3,
    max_microgrids: int = 5,
    seed: int = 0,
    layout: str = "auto",
    engine: str = "auto",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> PartitionResult:
    """Partition households into micro-grids (by area) and cells (by household count).

    Parameters
    ----------
    households : GeoDataFrame
        Points in any CRS.  Optional columns ``village_code``, ``building`` (households
        sharing a key stay in one cell) and ``hamlet`` (natural hamlets, kept whole
        where possible).  Not modified.  The diagnostics name households by index
        label, so each must be unique.
    villages : GeoDataFrame or None
        Polygons with ``village_code``.  None derives outlines from the households.
    max_households : int
        Most households in one cell.  A single building with more forms a cell of its
        own and is named in the diagnostics.
    microgrid_km2, min_microgrids, max_microgrids
        Each village gets ``clamp(round(area / microgrid_km2), min, max)`` micro-grids,
        but no more than ``ceil(households / max_households)``.  A part of a village
        where no household lives (an island, an exclave) is not counted and joins the
        nearest micro-grid and cell (diagnostic ``uninhabited_land``), so that no
        micro-grid or cell is left empty.
    seed : int
        Accepted for reproducibility of future randomised steps; the current solver
        is deterministic, so any seed gives the same result.
    layout : {"auto", "cells_first", "straight"}
        How a village with more than one micro-grid is laid out.  ``"straight"``: the
        micro-grids first, by straight cuts that balance area, then the cells of each.
        ``"cells_first"``: the cells first, over the whole village, and micro-grids as
        groups of whole cells (more compact cells where a straight cut would cross a
        settlement, at about 1.6 times the time; a village where that cannot be made
        falls back to the straight cuts).  ``"auto"`` (the default): cells first for
        villages of up to :data:`~geogrid.partition.village.AUTO_CELLS_FIRST_MAX`
        households, straight above (towns, where cells first costs most).
    engine : {"auto", "serial", "process", "dask"}
        Where villages are solved; all give exactly the same result.  ``"auto"``: a
        process pool for 5,000 households or more, Dask when ``scheduler`` is given,
        else serial.  A village that fails is named in its error (an exception note),
        and the villages not yet started are dropped at once.
    workers : int, optional
        Processes (pool or LocalCluster workers); default every core, never more than
        there are villages.
    scheduler : str, optional
        A Dask scheduler address (``tcp://host:8786``): ``engine="dask"`` runs there
        instead of on a LocalCluster.  An address where no scheduler answers within
        ``engines.DASK_CONNECT_TIMEOUT`` (10 s), or a scheduler with no worker after
        ``engines.DASK_WORKERS_TIMEOUT`` (30 s), is an ``InputError`` that says which;
        a scheduler lost mid-run is an error naming the villages not solved.  A script
        that uses Dask needs the usual ``if __name__ == "__main__":`` guard.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` while the work proceeds:
        ``("households", done, total)`` as each village is solved (``done`` counts the
        households of the villages solved so far), then ``("assembling", 0, 1)`` and
        ``("assembling", 1, 1)`` around the making of the frames and the report.  The
        ``geogrid partition`` command draws it as a progress bar.

    Returns
    -------
    PartitionResult

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> v = gpd.GeoDataFrame({"village_code": ["V1"]}, geometry=[box(0, 0, 1000, 1000)],
    ...                      crs="EPSG:32649")
    >>> h = gpd.GeoDataFrame({"village_code": ["V1"] * 30},
    ...     geometry=gpd.points_from_xy(range(10, 310, 10), [500] * 30), crs="EPSG:32649")
    >>> r = partition(h, v, min_microgrids=1, max_microgrids=1)
    >>> r.cells["households"].tolist()
    [15, 15]
    """
    _check_params(max_households, microgrid_km2, min_microgrids, max_microgrids, layout, seed)
    _check_index(households)
    prep = prepare(households, villages)
    params = dict(max_households=int(max_households), microgrid_km2=float(microgrid_km2),
                  min_microgrids=int(min_microgrids), max_microgrids=int(max_microgrids),
                  seed=int(seed), layout=str(layout))
    tasks = make_tasks(prep, params)
    results = run_tasks(tasks, engine=engine, workers=workers, scheduler=scheduler, progress=progress)
    if progress is not None:
        progress("assembling", 0, 1)
    out = assemble(households, prep, tasks, results, params)
    if progress is not None:
        progress("assembling", 1, 1)
    return out


#: partition()'s own defaults of the parameters a plan keeps (for a plan or result that
#: does not say them: a re-run of a stored plan, the figures of one)
PLAN_PARAMETERS = {k: p.default for k, p in inspect.signature(partition).parameters.items()
                   if k in ("max_households", "microgrid_km2", "min_microgrids", "max_microgrids")}


def make_tasks(prep: Prepared, params: dict, codes=None) -> list[VillageTask]:
    codes = sorted(prep.polygons) if codes is None else codes
    # positions in the whole array: ``groupby(...).indices`` of a filtered Series would
    # count within the filtered rows and hand households to the wrong village
    codes_of, uniq = pd.factorize(pd.Series(prep.village, dtype=object), use_na_sentinel=True)
    order = np.argsort(codes_of, kind="stable")
    bounds = np.searchsorted(codes_of[order], np.arange(len(uniq) + 1))
    groups = {u: order[bounds[k]:bounds[k + 1]] for k, u in enumerate(uniq)}
    tasks = []
    for code in codes:
        idx = _canonical(prep, groups.get(code, np.zeros(0, int)))
        tasks.append(VillageTask(
            code=code, polygon=shapely.to_wkb(prep.polygons[code]), points=prep.points[idx],
            building=None if prep.building is None else prep.building[idx],
            hamlet=None if prep.hamlet is None else prep.hamlet[idx],
            max_households=params["max_households"], microgrid_km2=params["microgrid_km2"],
            min_microgrids=params["min_microgrids"], max_microgrids=params["max_microgrids"],
            seed=params["seed"], layout=params["layout"],
        ))
        tasks[-1].index = idx  # household positions; not sent to workers' results
    return tasks


def _canonical(prep: Prepared, idx: np.ndarray) -> np.ndarray:
    """A village's household positions ``idx`` in :func:`canonical_order`."""
    idx = np.asarray(idx, dtype=int)
    return idx[canonical_order(prep.points[idx], None if prep.building is None else prep.building[idx],
                               None if prep.hamlet is None else prep.hamlet[idx])]


def _unit_keys(prep: Prepared) -> np.ndarray:
    """A key per household shared by households that must stay together (for the
    report only: :func:`~geogrid.partition.report.unit_keys`)."""
    return unit_keys(prep.points, prep.building)


def assemble(households, prep: Prepared, tasks, results: list[VillageResult], params) -> PartitionResult:
    """Turn per-village results into the three GeoDataFrames and the report."""
    n = len(households)
    cap = params["max_households"]
    cell_of = np.full(n, -1)
    mg_geoms, mg_ids, mg_vil = [], [], []
    cell_geoms, cell_ids, cell_mg, cell_vil = [], [], [], []
    diags = list(prep.diagnostics)
    for task, res in zip(tasks, results):
        idx = task.index
        mg_base = len(mg_geoms)
        c_base = len(cell_geoms)
        per_mg = {}
        for k, wkb in enumerate(res.microgrids):
            mg_geoms.append(shapely.from_wkb(wkb))
            mg_ids.append(microgrid_id(task.code, k + 1))
            mg_vil.append(task.code)
        for j, (wkb, m) in enumerate(zip(res.cells, res.cell_microgrid)):
            per_mg[m] = per_mg.get(m, 0) + 1
            cell_geoms.append(shapely.from_wkb(wkb))
            cell_ids.append(cell_id(mg_ids[mg_base + m], per_mg[m]))
            cell_mg.append(mg_base + m)
            cell_vil.append(task.code)
        if len(idx):
            cell_of[idx] = np.where(res.household_cell >= 0, res.household_cell + c_base, -1)
        for d in res.diagnostics:
            d = dict(d)
            d["households"] = [int(idx[i]) for i in d["households"]]
            diags.append(d)
    cell_geoms = np.array(cell_geoms, dtype=object)
    mg_geoms = np.array(mg_geoms, dtype=object)
    cell_mg = np.array(cell_mg, dtype=int)
    cell_hh = np.bincount(cell_of[cell_of >= 0], minlength=len(cell_geoms))
    mg_hh = np.bincount(cell_mg, weights=cell_hh, minlength=len(mg_geoms)).astype(int)
    figures = quality(
        points=prep.points, cell_of=cell_of, hamlet=prep.hamlet, village_of=prep.village,
        cell_geoms=cell_geoms, cell_households=cell_hh, cell_microgrid=cell_mg,
        mg_geoms=mg_geoms, mg_village=np.array(mg_vil, dtype=object), mg_households=mg_hh,
        village_area={c: prep.polygons[c].area for c in prep.polygons}, cap=cap,
        unit_of=_unit_keys(prep), microgrid_km2=params["microgrid_km2"],
        min_microgrids=params["min_microgrids"], max_microgrids=params["max_microgrids"],
    )
    crs = prep.crs
    metric = prep.metric
    mg_area = shapely.area(mg_geoms) / 1e6
    # in one call: the sides of a shared edge must be split at the same points on the
    # way to the caller's CRS, so an edge takes the ends of its neighbours' edges there
    both = reproject_valid(np.r_[mg_geoms, cell_geoms], metric, crs)
    mg_df = gpd.GeoDataFrame(
        {MICROGRID_ID: mg_ids, VILLAGE_CODE: mg_vil, HOUSEHOLDS: mg_hh,
         AREA_KM2: mg_area},
        geometry=gpd.GeoSeries(both[:len(mg_geoms)], crs=crs), crs=crs,
    )
    cell_df = gpd.GeoDataFrame(
        {CELL_ID: cell_ids, MICROGRID_ID: [mg_ids[m] for m in cell_mg], VILLAGE_CODE: cell_vil,
         HOUSEHOLDS: cell_hh},
        geometry=gpd.GeoSeries(both[len(mg_geoms):], crs=crs), crs=crs,
    )
    out = households.copy()
    cid = np.array(cell_ids, dtype=object)
    mid = np.array([mg_ids[m] for m in cell_mg], dtype=object)
    has = cell_of >= 0
    col_c = np.full(n, None, dtype=object)
    col_m = np.full(n, None, dtype=object)
    col_c[has] = cid[cell_of[has]]
    col_m[has] = mid[cell_of[has]]
    # object columns (not pandas' inferred string dtype): repartition() reads them back
    # on every edit, and a conversion of 80k strings costs milliseconds each time
    out[MICROGRID_ID] = pd.Series(col_m, index=out.index, dtype=object)
    out[CELL_ID] = pd.Series(col_c, index=out.index, dtype=object)
    labels = households.index
    for d in diags:
        d["households"] = labels[d["households"]].tolist()
    report = {
        "figures": figures,
        "diagnostics": diags,
        "parameters": dict(params, metric_crs=metric.to_string(),
                           derived_outlines=prep.derived_outlines),
        # how each village was laid out (see ``layout``): cells_first, straight, or
        # straight_fallback where cells first was asked for and could not be made
        "layouts": {task.code: res.layout for task, res in zip(tasks, results)},
    }
    return PartitionResult(households=out, microgrids=mg_df, cells=cell_df, report=report)
