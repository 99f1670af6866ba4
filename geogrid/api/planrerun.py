"""Re-run the partition for chosen micro-grids of a stored draft plan.

Wraps :func:`geogrid.partition.repartition` (imported lazily: the API starts without
the partition engine).  Micro-grids not named keep their ids, geometry and
assignments exactly; inside the named ones, the engine's new cells replace the old
(locked cells are passed as ``locked_cells`` and come back unchanged).
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from geogrid import columns as C
from geogrid.db.models import Assignment, Cell, Microgrid, Plan, new_id
from geogrid.errors import PartitionError

__all__ = ["rerun"]


def _ewkb(geom, postgis=None):
    """EWKT of a (multi)polygon; GeoAlchemy2 binds it on both back-ends."""
    import shapely

    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    return f"SRID=4326;{geom.wkt}"


def rerun(session, plan: Plan, microgrids: list[Microgrid]) -> dict:
    try:
        from geogrid.partition import repartition
    except ImportError as exc:  # the engine is another issue's work
        raise PartitionError(f"the partition engine is not available ({exc}); install geogrid "
                             "with geogrid.partition to re-run micro-grids") from None
    from geogrid.db.areas import villages_frame
    from geogrid.db.households import households_frame
    from geogrid.db.plans import load_plan

    from geogrid.crs import local_metric_crs
    from geogrid.partition.result import PartitionResult

    frames = load_plan(session, plan.id)
    keys = [m.microgrid_key for m in microgrids]
    village_codes = sorted({m.village_code for m in microgrids if m.village_code})
    # the villages of the named micro-grids are the whole problem: other villages are
    # independent in the engine, so neither side needs them
    prev_mg = frames.microgrids[frames.microgrids[C.VILLAGE_CODE].isin(village_codes)]
    prev_cells = frames.cells[frames.cells[C.MICROGRID_ID].isin(set(prev_mg[C.MICROGRID_ID]))]
    prev_hh = frames.households[frames.households[C.MICROGRID_ID].isin(set(prev_mg[C.MICROGRID_ID]))]
    prev_hh = prev_hh.set_index(C.HOUSEHOLD_ID)
    households = households_frame(session, village_codes=village_codes).set_index(C.HOUSEHOLD_ID)
    villages = villages_frame(session)
    villages = villages[villages[C.VILLAGE_CODE].isin(village_codes)]
    locked = prev_cells.loc[prev_cells["locked"].astype(bool) & prev_cells[C.MICROGRID_ID].isin(keys),
                            C.CELL_ID].tolist() if len(prev_cells) else []
    c = prev_mg.geometry.union_all().centroid
    params = {"max_households": 20, "microgrid_km2": 1.0, "min_microgrids": 3, "max_microgrids": 5}
    params.update({k: v for k, v in (plan.params or {}).items() if k in params})
    params["metric_crs"] = local_metric_crs(c.x, c.y).to_string()
    previous = PartitionResult(households=prev_hh, microgrids=prev_mg, cells=prev_cells,
                               report={"parameters": params})
    result = repartition(previous, households, villages if len(villages) else None,
                         microgrids=keys, locked_cells=locked)
    mg_ids = {m.microgrid_key: m.id for m in microgrids}
    postgis = None
    new_mg = result.microgrids[result.microgrids[C.MICROGRID_ID].isin(keys)].to_crs(4326)
    for r in new_mg.itertuples():
        session.execute(update(Microgrid).where(Microgrid.id == mg_ids[r.microgrid_id]).values(
            geom=_ewkb(r.geometry, postgis), households=int(getattr(r, "households", 0)),
            area_km2=float(getattr(r, "area_km2", 0) or 0)), execution_options={"synchronize_session": False})
    old_cells = select(Cell.id).where(Cell.plan_id == plan.id, Cell.microgrid_id.in_(list(mg_ids.values())))
    session.execute(delete(Assignment).where(Assignment.plan_id == plan.id,
                                             Assignment.cell_id.in_(old_cells)),
                    execution_options={"synchronize_session": False})
    session.execute(delete(Cell).where(Cell.plan_id == plan.id,
                                       Cell.microgrid_id.in_(list(mg_ids.values()))),
                    execution_options={"synchronize_session": False})
    cells = result.cells[result.cells[C.MICROGRID_ID].isin(keys)].to_crs(4326)
    cell_ids = {}
    locked_set = set(locked)
    for r in cells.itertuples():
        cid = new_id()
        cell_ids[r.cell_id] = cid
        session.add(Cell(id=cid, plan_id=plan.id, microgrid_id=mg_ids[r.microgrid_id], cell_key=r.cell_id,
                         village_code=getattr(r, "village_code", None),
                         households=int(getattr(r, "households", 0)), locked=r.cell_id in locked_set,
                         geom=_ewkb(r.geometry, postgis)))
    session.flush()
    hh = result.households[result.households[C.MICROGRID_ID].isin(keys)]
    rows = [(plan.id, str(hid), cell_ids[cell]) for hid, cell in zip(hh.index, hh[C.CELL_ID])
            if cell in cell_ids]
    # households that moved in from elsewhere lose their old assignment first
    moved_in = [h for _, h, _ in rows]
    if moved_in:
        session.execute(delete(Assignment).where(Assignment.plan_id == plan.id,
                                                 Assignment.household_id.in_(moved_in)),
                        execution_options={"synchronize_session": False})
    if rows:
        session.execute(insert(Assignment), [{"plan_id": p, "household_id": h, "cell_id": c}
                                             for p, h, c in rows])
    return {"microgrids": keys, "cells": len(cell_ids), "households": len(rows)}
