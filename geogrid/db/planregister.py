"""When a plan last read the register, by village and micro-grid, and what changed in
it since.

A plan's cells and the engine's notes are of the register as the plan read it: when it
was drawn from the register (:func:`geogrid.db.registerpartition.partition_register`),
or when a re-run of some micro-grids read their households again
(:func:`geogrid.api.planrerun.rerun`).  ``plans.register_read_at`` keeps when the plan
was drawn, by village (``{village code: UTC ISO time}``), and ``plans.microgrids_read_at``
when a re-run last read each micro-grid it named (``{micro-grid key: UTC ISO time}``,
migration 0010): a re-run of micro-grid B reads B, not the other micro-grids of B's
village.  A micro-grid not in the second read the register with its village.  A draft
takes its plan's times (:func:`geogrid.db.plans.copy_plan`).  A plan that does not know
(``register_read_at`` NULL: saved before migration 0008, or from files) says nothing.

What of the register a plan depends on is its households' points, villages, buildings
and hamlets, which are in it, and its villages' outlines: ``households.placed_at``
(indexed) is when the first of these last changed for a household (added by an import,
an edit of one of them, a removal or its undo: migration 0009), ``areas.outline_at``
when a village's outline last changed (re-imported with another outline).  An edit of
a household's head, address or care level, or of its residents, changes no cell and is
not reported.  A changed household is of the micro-grid the plan has it in a cell of
and of the micro-grid of its village its point lies in now (one that moved house has
two, in two villages if it moved to another village), and is reported while one of
them has not read the register since; one in no micro-grid of the plan (a point
outside them all) while any micro-grid of its village has not.  An outline redrawn is
reported for the micro-grids that have not read the register since and that it
concerns: those that stick out of the new outline, and those beside land of the new
outline that no micro-grid covers (a re-run gives such land to the micro-grids it
names, and leaves one that sticks out as it is).  Hand edits of the plan read no
register and change none of this, but a micro-grid's border drawn by hand to the new
outline no longer sticks out of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from geogrid.db.models import Area, Assignment, Cell, Household, Microgrid, Plan, utcnow

__all__ = ["read_now", "mark_read", "register_changes", "change_message"]

#: a piece of land (m²) below which an outline's difference from the micro-grids is the
#: float noise of their round trip through metres, not land (the engine's own tolerance
#: for micro-grids crossing an outline, ``edit_report.CROSS_M2``)
OUTLINE_M2 = 1.0
#: and a piece narrower than this (m, mean width: twice its area over its length) is
#: such noise along a border however long
OUTLINE_WIDTH_M = 0.05
#: land this near (m) a micro-grid is beside it (the engine's ``outline_edit.BESIDE_M``)
BESIDE_M = 1.0


def read_now() -> str:
    """The time to keep for a read of the register that starts now (taken before the
    read: a change made while it reads is reported, never missed)."""
    return utcnow().isoformat()


def mark_read(session: Session, plan: Plan, microgrids: Iterable[Microgrid], at: str) -> None:
    """Plan ``plan`` read the register of ``microgrids`` (its :class:`Microgrid` rows) at
    ``at`` (:func:`read_now`): a re-run.  The other micro-grids of their villages keep
    their times.  Nothing where the plan does not know when it read the register (NULL):
    it would say of some micro-grids that nothing changed, and nothing of the rest.  A
    village the plan has no time for is read once every micro-grid of it has been.  A
    Core UPDATE, which leaves the plan's version (its ETag) to the edit."""
    named = {str(m.microgrid_key): m.village_code for m in microgrids}
    if not named:
        return
    table = Plan.__table__
    known, by_mg = session.execute(select(table.c.register_read_at, table.c.microgrids_read_at)
                                   .where(table.c.id == plan.id)).one()
    if known is None:
        return
    by_mg = {**(by_mg or {}), **{k: at for k in named}}
    unknown = sorted({str(v) for v in named.values() if v is not None and str(v) not in known})
    if unknown:
        keys: dict[str, set] = {}
        for key, v in session.execute(select(Microgrid.microgrid_key, Microgrid.village_code).where(
                Microgrid.plan_id == plan.id, Microgrid.village_code.in_(unknown))).all():
            keys.setdefault(str(v), set()).add(str(key))
        ts = {v: min(_time(by_mg[k]) for k in ks) for v, ks in keys.items() if ks <= by_mg.keys()}
        known = {**known, **{v: t.isoformat() for v, t in ts.items()}}
    session.execute(update(table).where(table.c.id == plan.id).values(register_read_at=known,
                                                                      microgrids_read_at=by_mg))
    set_committed_value(plan, "register_read_at", known)
    set_committed_value(plan, "microgrids_read_at", by_mg)


def _time(iso: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(iso)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def register_changes(session: Session, plan: Plan, villages: Iterable[str] | None = None) -> list[dict] | None:
    """The villages of ``plan`` (of ``villages`` only, if given) whose register changed
    after the plan last read it, in what a plan depends on: ``[{"village_code",
    "households": how many were added, moved or removed since, "added", "removed",
    "moved" (of those: new; out of the register; a new point, village, building or
    hamlet, or back in the register), "households_changed": whether any was,
    "outline": whether its outline was redrawn, "microgrids": the micro-grids still to
    re-run, ``[{"id", "key", "households": whether households of it changed,
    "outline": whether the new outline concerns it, "read_at"}]`` by key (empty where
    no micro-grid can be named: households outside them all), "read_at": when the plan
    read the village (its micro-grid read first), "changed_at": the last change,
    "message": the same in words}]`` by village code, empty where nothing changed;
    None where the plan does not know when it read the register.

    One query over the households changed since the earliest of the plan's times (an
    index range), grouped by village, micro-grids and times: an import stamps its rows
    with one time.  The outline's geometry is read only for a village redrawn since one
    of its micro-grids read the register."""
    read = plan.register_read_at
    if read is None:
        return None
    read = {str(v): _time(t) for v, t in read.items()}
    if villages is not None:
        read = {v: t for v, t in read.items() if v in {str(c) for c in villages}}
    if not read:
        return []
    codes = sorted(read)
    by_key = {str(k): _time(t) for k, t in (plan.microgrids_read_at or {}).items()}
    # each micro-grid of those villages: its id, village and when it read the register
    mgs: dict[str, tuple[str, str, dt.datetime]] = {}
    for mg_id, key, v in session.execute(select(Microgrid.id, Microgrid.microgrid_key, Microgrid.village_code)
                                         .where(Microgrid.plan_id == plan.id, Microgrid.village_code.in_(codes))):
        key, v = str(key), str(v)
        mgs[key] = (mg_id, v, max(read[v], by_key.get(key, read[v])))
    # a village is read as a whole when the micro-grid that read it first did
    floor = {v: min([t for _, of, t in mgs.values() if of == v] or [read[v]]) for v in read}

    changed: dict[str, dict] = {}

    def of(v):
        return changed.setdefault(v, {"added": 0, "removed": 0, "moved": 0, "outline": False, "at": None,
                                      "microgrids": {}})

    def stale(v, key, households=False, outline=False):
        m = of(v)["microgrids"].setdefault(key, {"households": False, "outline": False})
        m["households"] |= households
        m["outline"] |= outline

    for of_now, of_plan, plan_mg, point_mg, at, created, removed, n in _changed_households(
            session, plan, codes, min(read.values())):
        for v in {of_now, of_plan} & read.keys():
            mine = {k for k, in_v in ((plan_mg, of_plan), (point_mg, of_now)) if k is not None and in_v == v
                    and str(k) in mgs}
            late = sorted(str(k) for k in mine if at > mgs[str(k)][2])
            if mine and not late or not mine and not at > floor[v]:
                continue
            since = min(mgs[k][2] for k in late) if late else floor[v]
            c = of(v)
            how = ("removed" if removed is not None and removed > since
                   else "added" if created > since else "moved")
            c[how] += n
            c["at"] = max(c["at"] or at, at)
            for k in late:
                stale(v, k, households=True)
    for code, at in session.execute(select(Area.code, Area.outline_at).where(
            Area.level == "village", Area.code.in_(codes), Area.outline_at > min(read.values()))).all():
        if not at > floor[code]:
            continue
        late = sorted(k for k, (_, v, t) in mgs.items() if v == code and at > t)
        if late:
            late, apart = _outline_concerns(session, plan, code, late)
            if not late and not apart:
                continue  # the plan's micro-grids lie on the new outline: nothing to re-run
        c = of(code)
        c["outline"] = True
        c["at"] = max(c["at"] or at, at)
        for k in late:
            stale(code, k, outline=True)
    out = []
    for v, c in sorted(changed.items()):
        n = c["added"] + c["removed"] + c["moved"]
        item = {"village_code": v, "households": n, "added": c["added"], "removed": c["removed"],
                "moved": c["moved"], "households_changed": n > 0, "outline": c["outline"],
                "microgrids": [{"id": mgs[k][0], "key": k, **f, "read_at": mgs[k][2].isoformat()}
                               for k, f in sorted(c["microgrids"].items())],
                "read_at": floor[v].isoformat(), "changed_at": c["at"].isoformat()}
        out.append({**item, "message": change_message(item)})
    return out


def _changed_households(session: Session, plan: Plan, codes: list[str], since: dt.datetime) -> list:
    """``(village now, village in the plan, micro-grid key in the plan, micro-grid key of
    its village its point lies in, placed_at, created_at, removed_at, how many)`` of the
    households of villages ``codes`` (now or in ``plan``) changed after ``since``."""
    now_in, plan_in = Household.village_code, Microgrid.village_code
    lies_in = aliased(Microgrid)
    inside = func.ST_Intersects(lies_in.geom, Household.geom)
    if session.get_bind().dialect.name == "sqlite":
        inside = inside == 1  # SpatiaLite answers 1, 0 or -1 (an error), PostGIS a boolean
    point_mg = (select(func.min(lies_in.microgrid_key))
                .where(lies_in.plan_id == plan.id, lies_in.village_code == Household.village_code, inside)
                .correlate(Household).scalar_subquery())
    each = (select(now_in.label("now_in"), plan_in.label("plan_in"), Microgrid.microgrid_key.label("plan_mg"),
                   point_mg.label("point_mg"), Household.placed_at.label("at"),
                   Household.created_at.label("created"), Household.removed_at.label("removed"))
            .select_from(Household)
            .outerjoin(Assignment, and_(Assignment.household_id == Household.id, Assignment.plan_id == plan.id))
            .outerjoin(Cell, Cell.id == Assignment.cell_id).outerjoin(Microgrid, Microgrid.id == Cell.microgrid_id)
            .where(Household.placed_at > since, or_(now_in.in_(codes), plan_in.in_(codes)))).subquery()
    cols = [each.c.now_in, each.c.plan_in, each.c.plan_mg, each.c.point_mg, each.c.at, each.c.created,
            each.c.removed]
    return session.execute(select(*cols, func.count()).group_by(*cols)).all()


def _outline_concerns(session: Session, plan: Plan, code: str, keys: list[str]) -> tuple[list[str], bool]:
    """Of micro-grids ``keys`` of village ``code`` in ``plan``, those its outline now
    concerns: they stick out of it, or lie beside land of it that no micro-grid of the
    village covers; and whether such land lies beside none of them (an island, or land
    beside micro-grids re-run since, which any re-run of the village takes).  Measured
    in metres around the village, to :data:`OUTLINE_M2` and :data:`OUTLINE_WIDTH_M`.
    Where the outline or a micro-grid has no geometry, all ``keys``."""
    import geopandas as gpd
    import shapely
    from geoalchemy2.shape import to_shape

    from geogrid.crs import local_metric_crs, reproject

    outline = session.execute(select(Area.geom).where(Area.level == "village", Area.code == code)).scalar()
    rows = session.execute(select(Microgrid.microgrid_key, Microgrid.geom).where(
        Microgrid.plan_id == plan.id, Microgrid.village_code == code)).all()
    if outline is None or any(g is None for _, g in rows):
        return list(keys), False
    outline = to_shape(outline)
    c = outline.centroid
    # edges split before they are brought into metres, so that they keep their shape
    # (a long straight edge in degrees is a curve in metres: geogrid.crs.reproject)
    m = reproject(gpd.GeoSeries([outline, *(to_shape(g) for _, g in rows)], crs=4326),
                  local_metric_crs(c.x, c.y)).make_valid().to_numpy()
    village = m[0]
    geoms = {str(k): g for (k, _), g in zip(rows, m[1:])}
    concerned = {k for k in keys if _land(shapely.difference(geoms[k], village))}
    bare = _land(shapely.difference(village, shapely.union_all(list(geoms.values()))))
    apart = False
    for piece in bare:
        beside = {k for k, g in geoms.items() if shapely.distance(g, piece) < BESIDE_M}
        concerned |= beside & set(keys)
        apart |= not (beside & set(keys))
    return sorted(concerned), apart


def _land(geom) -> list:
    """The pieces of ``geom`` that are land, not float noise (:data:`OUTLINE_M2`,
    :data:`OUTLINE_WIDTH_M`)."""
    import shapely

    if geom is None or geom.is_empty:
        return []
    parts = shapely.get_parts(shapely.get_parts(geom))
    return [p for p in parts if p.geom_type == "Polygon" and p.area >= OUTLINE_M2
            and 2 * p.area / max(p.length, 1e-9) >= OUTLINE_WIDTH_M]


def change_message(change: dict, *, counts: bool = True) -> str:
    """A village's ``register_changes`` entry in words: what changed since the plan read
    it and what to do (the micro-grids to re-run, where it names them); without
    ``counts`` (an analyst's) what changed without how many."""
    parts = ["its outline was redrawn"] if change["outline"] else []
    if change["households_changed"] and not counts:
        parts.append("households were added, moved or taken out of the register")
    elif change["households_changed"]:
        words = {"added": "added", "moved": "moved (point, village, building or hamlet)",
                 "removed": "taken out of the register"}
        parts += [f"{change[k]} household(s) {w}" for k, w in words.items() if change[k]]
    keys = [m["key"] for m in change.get("microgrids") or []]
    todo = f"micro-grid(s) {', '.join(keys)} are re-run" if keys else "its micro-grids are re-run"
    return (f"village {change['village_code']}: {' and '.join(parts)} since the plan read it; its notes and "
            f"validation may be out of date until {todo}")
