"""Where an issue belongs: a point routed to its cell, micro-grid, village and town in the
county's published plan (flagged when it lies within a few metres of a boundary), and
the cells a manager may re-route it to by hand.  Repository functions: they take a
Session and never commit."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from geogrid.db.bulk import bbox_clause
from geogrid.db.models import Area, Cell, Microgrid, Plan
from geogrid.errors import InputError
from geogrid.issues.duplicates import search_box
from geogrid.issues.routing import Candidate, route_point

__all__ = ["Routing", "OutsideCountyError", "route", "REROUTE_STATUSES", "CellChoice",
           "candidate_cells", "published_cell", "check_point", "town_of"]


class OutsideCountyError(InputError):
    """The point is not inside the county being served (HTTP 422)."""


@dataclass(frozen=True)
class Routing:
    """Where a point falls in the published plan."""

    plan_id: str | None
    town_code: str | None
    village_code: str | None
    microgrid_key: str | None
    cell_key: str | None
    near_boundary: bool
    boundary_distance_m: float | None
    alternatives: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {"plan_id": self.plan_id, "town_code": self.town_code,
                "village_code": self.village_code, "microgrid_key": self.microgrid_key,
                "cell_key": self.cell_key, "near_boundary": self.near_boundary,
                "boundary_distance_m": self.boundary_distance_m,
                "alternatives": list(self.alternatives)}


# --- routing ------------------------------------------------------------------------------
def check_point(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(f"({lon}, {lat}) is not a longitude/latitude pair")


def _published_plan(session: Session, county_code: str | None) -> str | None:
    stmt = select(Plan.id).where(Plan.status == "published")
    if county_code:
        stmt = stmt.where(or_(Plan.county_code == county_code, Plan.county_code == ""))
    return session.execute(stmt.order_by(Plan.published_at.desc()).limit(1)).scalar()


def _near(session, table: str, lon: float, lat: float, margin_m: float):
    clause, params = bbox_clause(session, table, search_box(lon, lat, margin_m), alias=table)
    return text(clause).bindparams(**params)


def route(session: Session, lon: float, lat: float, *, county_code: str,
          tolerance_m: float = 5.0) -> Routing:
    """Route (lon, lat) to the cell, micro-grid and village of the published plan.

    Raises :class:`OutsideCountyError` if the point is outside the county's boundary
    (or, when the county has no boundary stored, outside every village).
    """
    check_point(lon, lat)
    point = shapely.Point(lon, lat)
    county = session.execute(
        select(func.ST_AsBinary(Area.geom)).where(Area.code == county_code,
                                                  Area.level == "county",
                                                  Area.geom.is_not(None))).scalar()
    margin = max(tolerance_m * 3, 50.0)
    villages = session.execute(
        select(Area.code, Area.parent_code, Area.parent_id, func.ST_AsBinary(Area.geom).label("wkb"))
        .where(Area.level == "village", Area.geom.is_not(None),
               _near(session, "areas", lon, lat, margin))).all()
    if county is not None:
        if not shapely.from_wkb(bytes(county)).covers(point):
            raise OutsideCountyError(
                f"({lon:.6f}, {lat:.6f}) is outside county {county_code}; check the point "
                "(longitude first) or report it to the county it is in")
    elif not any(shapely.from_wkb(bytes(v.wkb)).covers(point) for v in villages):
        raise OutsideCountyError(
            f"({lon:.6f}, {lat:.6f}) is in no village of county {county_code}; check the point "
            "(longitude first), or import the village boundaries")
    village_match = route_point(lon, lat, [
        Candidate(v.code, shapely.from_wkb(bytes(v.wkb)), {"parent_code": v.parent_code,
                                                          "parent_id": v.parent_id})
        for v in villages], tolerance_m=tolerance_m)
    plan_id = _published_plan(session, county_code)
    cell_match = None
    if plan_id is not None:
        cells = session.execute(
            select(Cell.cell_key, Cell.village_code, Microgrid.microgrid_key,
                   func.ST_AsBinary(Cell.geom).label("wkb"))
            .join(Microgrid, Microgrid.id == Cell.microgrid_id)
            .where(Cell.plan_id == plan_id, Cell.geom.is_not(None),
                   _near(session, "cells", lon, lat, margin))).all()
        cell_match = route_point(lon, lat, [
            Candidate(c.cell_key, shapely.from_wkb(bytes(c.wkb)),
                      {"village_code": c.village_code, "microgrid_key": c.microgrid_key})
            for c in cells], tolerance_m=tolerance_m)
    village_code = village_match.key
    cell_key = microgrid_key = None
    near = village_match.near_boundary
    distance = village_match.boundary_distance_m
    alternatives = village_match.alternatives
    if cell_match is not None and cell_match.key is not None:
        cell_key = cell_match.key
        microgrid_key = cell_match.info.get("microgrid_key")
        village_code = cell_match.info.get("village_code") or village_code
        near = near or cell_match.near_boundary
        distance = cell_match.boundary_distance_m
        alternatives = tuple(sorted(set(cell_match.alternatives) | set(village_match.alternatives)))
    elif plan_id is not None:
        near = True  # in the county but in no cell: a person must route it
    town_code = None
    if village_code is not None:
        info = village_match.info if village_match.key == village_code else {}
        town_code = info.get("parent_code") or town_of(session, village_code)
    return Routing(plan_id, town_code, village_code, microgrid_key, cell_key, bool(near),
                   distance, alternatives)


def town_of(session: Session, village_code: str | None) -> str | None:
    """The town code of a village (its parent area), or None."""
    if not village_code:
        return None
    row = session.execute(select(Area.parent_code, Area.parent_id)
                          .where(Area.code == village_code)).first()
    if row is None:
        return None
    return row.parent_code or session.execute(
        select(Area.code).where(Area.id == row.parent_id)).scalar()


# --- manual re-routing ------------------------------------------------------------------------
#: States in which an issue may be re-routed by hand: before it is dispatched (routing
#: decides who triages it; once dispatched, the handler is who is responsible).
REROUTE_STATUSES = ("reported", "accepted")


@dataclass(frozen=True)
class CellChoice:
    """A cell of the published plan an issue may be routed to."""

    plan_id: str
    cell_key: str
    microgrid_key: str | None
    village_code: str | None
    #: from the issue's point to the cell (0 inside), metres; None when not measured
    distance_m: float | None = None

    def as_dict(self) -> dict:
        return {"cell_key": self.cell_key, "microgrid_key": self.microgrid_key,
                "village_code": self.village_code, "distance_m": self.distance_m}


def _cell_select(plan_id: str):
    return (select(Cell.cell_key, Cell.village_code, Microgrid.microgrid_key,
                   func.ST_AsBinary(Cell.geom).label("wkb"))
            .join(Microgrid, Microgrid.id == Cell.microgrid_id)
            .where(Cell.plan_id == plan_id, Cell.geom.is_not(None)))


def candidate_cells(session: Session, lon: float, lat: float, *, county_code: str,
                    radius_m: float) -> list[CellChoice]:
    """Cells of the published plan within ``radius_m`` of (lon, lat), nearest first
    (the cell the point falls in has distance 0)."""
    from geogrid.issues.routing import _project  # noqa: PLC0415 - metric projection helper

    check_point(lon, lat)
    plan_id = _published_plan(session, county_code)
    if plan_id is None:
        return []
    rows = session.execute(_cell_select(plan_id).where(
        _near(session, "cells", lon, lat, radius_m))).all()
    if not rows:
        return []
    point, polys = _project(lon, lat, [shapely.from_wkb(bytes(r.wkb)) for r in rows])
    out = []
    for r, poly in zip(rows, polys):
        d = poly.distance(point)
        if d <= radius_m:
            out.append(CellChoice(plan_id, r.cell_key, r.microgrid_key, r.village_code,
                                  round(d, 3)))
    return sorted(out, key=lambda c: (c.distance_m, c.cell_key))


def published_cell(session: Session, cell_key: str, *, county_code: str) -> CellChoice | None:
    """The cell ``cell_key`` of the published plan, or None."""
    plan_id = _published_plan(session, county_code)
    if plan_id is None:
        return None
    row = session.execute(select(Cell.cell_key, Cell.village_code, Microgrid.microgrid_key)
                          .join(Microgrid, Microgrid.id == Cell.microgrid_id)
                          .where(Cell.plan_id == plan_id, Cell.cell_key == cell_key)).first()
    if row is None:
        return None
    return CellChoice(plan_id, row.cell_key, row.microgrid_key, row.village_code)
