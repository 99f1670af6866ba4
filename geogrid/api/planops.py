"""The plan edits themselves, each inside a transaction the routes open
(:mod:`geogrid.api.routes.planedit`: permission, If-Match, draft only, notes, audit,
commit, ETag): household moves, locks, a micro-grid's boundary, a cell split or two
merged, a re-run, and one operation of a batch.

A household the planner places by hand (moved into a cell, or named to go into the new
cell of a split) keeps the register's point it has now with its assignment
(:func:`_placed_here`), so that a re-run tells that hand move from a later move of
house; a merge places no one, and its households keep the points they had.

Each ``apply_*`` does one edit: no commit, no ETag; it records what it did in ``info``
(the audit detail), adds to :class:`Moved` the cells whose households or lock it
changed (their villages' notes are brought up to date once the edit is done), and
returns the route's answer.  Objects out of the caller's scope are 404, as if absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from sqlalchemy import delete, func, select, update

from geogrid.api import cellgeometry
from geogrid.api.errors import StateError
from geogrid.api.geojson import check_polygon_in_context, parse_polygon
from geogrid.api.scope import Scope
from geogrid.db.models import Area, Assignment, Cell, Household, Microgrid, Plan, new_id
from geogrid.db.plans import recount
from geogrid.errors import InputError, NotFoundError

__all__ = ["Moved", "cell_in_plan", "microgrid_in_plan", "apply_moves", "apply_lock", "apply_boundary",
           "apply_split", "check_merge", "apply_merge", "apply_repartition", "apply_op"]


@dataclass
class Moved:
    """The cells whose households or lock an edit changed (added to by each ``apply_*``
    that moves households, locks or unlocks), and what that did to the plan's notes,
    once the edit is done."""

    cells: set[str] = field(default_factory=set)
    notes: dict = field(default_factory=lambda: {"villages": [], "removed": 0, "added": 0})


def cell_in_plan(session, scope: Scope, plan_id: str, cell_id: str, *, for_update: bool = True) -> Cell:
    cell = session.execute(select(Cell).where(Cell.id == cell_id, Cell.plan_id == plan_id,
                                              scope.cells_clause())).scalar_one_or_none()
    if cell is None:
        raise NotFoundError(f"cell {cell_id} not found in plan {plan_id}",
                            key="plan.cell_not_found", params={"cell": cell_id, "plan": plan_id})
    return cell


def microgrid_in_plan(session, scope: Scope, plan_id: str, mg_id: str) -> Microgrid:
    mg = session.execute(select(Microgrid).where(Microgrid.id == mg_id, Microgrid.plan_id == plan_id,
                                                 scope.microgrids_clause())).scalar_one_or_none()
    if mg is None:
        raise NotFoundError(f"micro-grid {mg_id} not found in plan {plan_id}",
                            key="plan.microgrid_not_found", params={"microgrid": mg_id, "plan": plan_id})
    return mg


def _shape(session, geom_col, where):
    from geoalchemy2.shape import to_shape

    g = session.execute(select(geom_col).where(where)).scalar()
    return to_shape(g) if g is not None else None


def _ewkt(geom) -> str | None:
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    return f"SRID=4326;{geom.wkt}"


def _placed_here() -> dict:
    """``lon``/``lat`` values of an UPDATE of assignments: each household's register
    point now, the point it is placed by (correlated subqueries, one statement)."""
    def of(f):
        return select(f(Household.geom)).where(Household.id == Assignment.household_id).scalar_subquery()

    return {"lon": of(func.ST_X), "lat": of(func.ST_Y)}


def apply_moves(session, scope: Scope, plan: Plan, moves: list, info: dict, moved: Moved) -> dict:
    plan_id = plan.id
    targets = {m.cell_id for m in moves}
    cells = {c.id: c for c in session.execute(
        select(Cell).where(Cell.id.in_(sorted(targets)), Cell.plan_id == plan_id,
                           scope.cells_clause())).scalars()}
    for t in targets:
        if t not in cells:
            raise NotFoundError(f"cell {t} not found in plan {plan_id}",
                                key="plan.cell_not_found", params={"cell": t, "plan": plan_id})
    hids = sorted({m.household_id for m in moves})
    if len(hids) != len(moves):
        raise InputError("each household may be moved only once per request", key="plan.move_twice")
    current = dict(session.execute(
        select(Assignment.household_id, Assignment.cell_id)
        .join(Household, Household.id == Assignment.household_id)
        .where(Assignment.plan_id == plan_id, Assignment.household_id.in_(hids),
               scope.households_clause())).all())
    sources = {}
    for h in hids:
        if h not in current:
            raise NotFoundError(f"household {h} is not assigned in plan {plan_id}",
                                key="plan.household_not_assigned", params={"household": h, "plan": plan_id})
    source_cells = {c.id: c for c in session.execute(
        select(Cell).where(Cell.id.in_(sorted(set(current.values())))))
        .scalars()}
    for c in list(source_cells.values()) + list(cells.values()):
        if c.locked:
            raise StateError(f"cell {c.id} ({c.cell_key}) is locked; unlock it before moving "
                             "households in or out", key="plan.cell_locked_move", params={"cell": c.cell_key})
    # cells nest in villages: a household moves between cells of its own village only
    # (its point lies there; another village's cell would not contain it).  A cell's
    # village is its own code, else its micro-grid's (a cell saved without one was
    # "village None": a move within its micro-grid was refused, and one between two
    # such cells of different villages went through)
    village = _cell_villages(session, [*source_cells.values(), *cells.values()])
    across = [(m, source_cells[current[m.household_id]], cells[m.cell_id]) for m in moves
              if village[current[m.household_id]] != village[m.cell_id]]
    if across:
        m, a, b = across[0]
        raise InputError(
            f"household {m.household_id} is in village {village[a.id]}; cell {b.cell_key} is in village "
            f"{village[b.id]}: a household moves only between cells of its own village"
            + (f" ({len(across) - 1} more such move(s) in this request)" if len(across) > 1 else "")
            + ". If its village is wrong, correct it in the register, then re-run the micro-grids.",
            key="plan.move_across_villages", params={
                "household": m.household_id, "from_village": village[a.id], "cell": b.cell_key,
                "to_village": village[b.id], "more": len(across) - 1},
            errors=[{"type": "move_across_villages", "params": {
                "household": x.household_id, "from_village": village[fa.id], "cell": fb.cell_key,
                "to_village": village[fb.id]}} for x, fa, fb in across[:20]])
    for m in moves:
        if current[m.household_id] != m.cell_id:
            sources[m.household_id] = current[m.household_id]
            session.execute(update(Assignment)
                            .where(Assignment.plan_id == plan_id,
                                   Assignment.household_id == m.household_id)
                            .values(cell_id=m.cell_id, **_placed_here()),
                            execution_options={"synchronize_session": False})
    recount(session, set(sources.values()) | targets)
    moved.cells |= set(sources.values()) | {m.cell_id for m in moves if m.household_id in sources}
    info["moved"] = len(sources)
    return {"moved": len(sources)}


def _cell_villages(session, cells) -> dict:
    """Cell id -> its village: the cell's ``village_code``, else its micro-grid's."""
    out = {c.id: c.village_code for c in cells}
    missing = sorted({c.microgrid_id for c in cells if c.village_code is None})
    if missing:
        of_mg = dict(session.execute(select(Microgrid.id, Microgrid.village_code)
                                     .where(Microgrid.id.in_(missing))).all())
        out.update({c.id: of_mg.get(c.microgrid_id) for c in cells if c.village_code is None})
    return out


def apply_lock(session, scope: Scope, plan: Plan, cell_id: str, locked: bool, info: dict,
                moved: Moved) -> dict:
    cell_in_plan(session, scope, plan.id, cell_id)
    session.execute(update(Cell).where(Cell.id == cell_id).values(locked=locked),
                    execution_options={"synchronize_session": False})
    moved.cells.add(cell_id)  # a locked cell over the cap is a note while it is locked
    return {"cell_id": cell_id, "locked": locked}


def apply_boundary(session, scope: Scope, plan: Plan, microgrid_id: str, geom, info: dict) -> dict:
    from geoalchemy2.shape import to_shape

    plan_id = plan.id
    mg = microgrid_in_plan(session, scope, plan_id, microgrid_id)
    village = _shape(session, Area.geom, Area.code == mg.village_code) if mg.village_code else None
    siblings = {r.microgrid_key: to_shape(r.geom) for r in session.execute(
        select(Microgrid.microgrid_key, Microgrid.geom).where(
            Microgrid.plan_id == plan_id, Microgrid.village_code == mg.village_code,
            Microgrid.id != mg.id, Microgrid.geom.is_not(None)))}
    check_polygon_in_context(geom, parent=village, siblings=siblings, what="the new boundary",
                             parent_name=f"village {mg.village_code}")
    area_km2 = _area_km2(geom)
    session.execute(update(Microgrid).where(Microgrid.id == mg.id)
                    .values(geom=_ewkt(geom), area_km2=area_km2),
                    execution_options={"synchronize_session": False})
    # cells follow the boundary: clipped to it (new ground goes to no cell until re-run)
    for c in session.execute(select(Cell.id, Cell.geom).where(Cell.microgrid_id == mg.id)).all():
        if c.geom is None:
            continue
        session.execute(update(Cell).where(Cell.id == c.id)
                        .values(geom=_ewkt(cellgeometry.clip_cell(to_shape(c.geom), geom))),
                        execution_options={"synchronize_session": False})
    return {"microgrid_id": microgrid_id, "area_km2": area_km2}


def _area_km2(geom) -> float:
    from geogrid.api.geojson import _to_metres

    return round(_to_metres([geom])[0].area / 1e6, 6)


def apply_split(session, scope: Scope, plan: Plan, cell_id: str, household_ids: list[str],
                 info: dict, moved: Moved) -> dict:
    from geoalchemy2.shape import to_shape

    plan_id = plan.id
    cell = cell_in_plan(session, scope, plan_id, cell_id)
    if cell.locked:
        raise StateError(f"cell {cell.cell_key} is locked; unlock it before splitting",
                         key="plan.cell_locked_split", params={"cell": cell.cell_key})
    members = session.execute(
        select(Assignment.household_id, func.ST_X(Household.geom), func.ST_Y(Household.geom))
        .join(Household, Household.id == Assignment.household_id)
        .where(Assignment.plan_id == plan_id, Assignment.cell_id == cell_id)).all()
    moving = set(household_ids)
    known = {m[0] for m in members}
    if not moving <= known:
        raise InputError(f"{len(moving - known)} of the households are not in cell {cell.cell_key}",
                         key="plan.split_not_in_cell", params={"n": len(moving - known), "cell": cell.cell_key})
    if moving == known:
        raise InputError("a split must leave at least one household in the original cell",
                         key="plan.split_leaves_none", params={"cell": cell.cell_key})
    keep_pts = [(x, y) for h, x, y in members if h not in moving]
    move_pts = [(x, y) for h, x, y in members if h in moving]
    geom_a = geom_b = None
    if cell.geom is not None:
        pa, pb = cellgeometry.split_cell(to_shape(cell.geom), keep_pts, move_pts)
        geom_a, geom_b = _ewkt(pa), _ewkt(pb)
    existing = set(session.execute(select(Cell.cell_key).where(Cell.plan_id == plan_id)).scalars())
    n = 1
    while f"{cell.cell_key}-s{n}" in existing:
        n += 1
    new = Cell(id=new_id(), plan_id=plan_id, microgrid_id=cell.microgrid_id,
               cell_key=f"{cell.cell_key}-s{n}", village_code=cell.village_code, households=0,
               locked=False, geom=geom_b)
    session.add(new)
    session.flush()
    if geom_a is not None:
        session.execute(update(Cell).where(Cell.id == cell.id).values(geom=geom_a),
                        execution_options={"synchronize_session": False})
    session.execute(update(Assignment).where(Assignment.plan_id == plan_id,
                                             Assignment.household_id.in_(sorted(moving)))
                    .values(cell_id=new.id, **_placed_here()), execution_options={"synchronize_session": False})
    recount(session, [cell.id, new.id])
    moved.cells |= {cell.id, new.id}
    info.update(new_cell=new.id, moved=len(moving))
    return {"cell_id": cell_id, "new_cell_id": new.id, "new_cell_key": new.cell_key}


def check_merge(cells: list[str]) -> tuple[str, str]:
    """The two cells of a merge, refused before the transaction when they are one."""
    a_id, b_id = cells
    if a_id == b_id:
        raise InputError("merge needs two different cells", key="plan.merge_same_cell")
    return a_id, b_id


def apply_merge(session, scope: Scope, plan: Plan, cells: list[str], info: dict, moved: Moved) -> dict:
    from geoalchemy2.shape import to_shape

    a_id, b_id = check_merge(cells)
    a = cell_in_plan(session, scope, plan.id, a_id)
    b = cell_in_plan(session, scope, plan.id, b_id)
    if a.microgrid_id != b.microgrid_id:
        raise InputError("only cells of the same micro-grid can be merged", key="plan.merge_other_microgrid",
                         params={"cells": [a.cell_key, b.cell_key]})
    if a.locked or b.locked:
        raise StateError("a locked cell cannot be merged; unlock it first", key="plan.cell_locked_merge",
                         params={"cells": [c.cell_key for c in (a, b) if c.locked]})
    if b.geom is not None:
        union = (cellgeometry.merge_cells(to_shape(a.geom), to_shape(b.geom))
                 if a.geom is not None else to_shape(b.geom))
        session.execute(update(Cell).where(Cell.id == a.id).values(geom=_ewkt(union)),
                        execution_options={"synchronize_session": False})
    # the households of b are placed by no one: they keep the points they had
    session.execute(update(Assignment).where(Assignment.plan_id == plan.id,
                                             Assignment.cell_id == b.id)
                    .values(cell_id=a.id), execution_options={"synchronize_session": False})
    session.execute(delete(Cell).where(Cell.id == b.id), execution_options={"synchronize_session": False})
    recount(session, [a.id])
    moved.cells.add(a.id)
    return {"cell_id": a_id, "removed_cell_id": b_id}


def apply_repartition(session, scope: Scope, plan: Plan, microgrids: list[str], info: dict) -> dict:
    from geogrid.api.planrerun import rerun

    mgs = [microgrid_in_plan(session, scope, plan.id, m) for m in dict.fromkeys(microgrids)]
    done = rerun(session, plan, mgs)
    info.update(done)
    return dict(done)


def apply_op(session, scope: Scope, plan: Plan, op, moved: Moved) -> tuple[str, dict, dict]:
    """One operation of a batch: (audit action, audit detail, result)."""
    if op.op == "move":
        info = {"moves": len(op.moves)}
        return "move_households", info, apply_moves(session, scope, plan, op.moves, info, moved)
    if op.op in ("lock", "unlock"):
        info = {"cell": op.cell_id}
        return f"{op.op}_cell", info, apply_lock(session, scope, plan, op.cell_id, op.op == "lock", info,
                                                          moved)
    if op.op == "boundary":
        info = {"microgrid": op.microgrid_id}
        geom = parse_polygon(op.geometry, what="micro-grid boundary")
        return "replace_boundary", info, apply_boundary(session, scope, plan, op.microgrid_id, geom, info)
    if op.op == "split":
        info = {"cell": op.cell_id}
        return "split_cell", info, apply_split(session, scope, plan, op.cell_id, op.household_ids, info, moved)
    if op.op == "merge":
        info = {"cells": list(op.cells)}
        return "merge_cells", info, apply_merge(session, scope, plan, op.cells, info, moved)
    info = {"microgrids": op.microgrids}
    return "repartition", info, apply_repartition(session, scope, plan, op.microgrids, info)
