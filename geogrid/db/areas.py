"""Administrative areas (county, town, village): bulk upsert by code, reads as GeoDataFrames."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from geogrid import columns as C
from geogrid.db import bulk
from geogrid.db.bulk import Counts
from geogrid.db.models import Area, new_id, utcnow
from geogrid.errors import ColumnError, ValidationError

__all__ = ["upsert_areas", "areas_frame", "villages_frame", "area_names", "Counts"]

_PG_TYPES = {"id": "varchar(32)", "name": "text", "level": "varchar(8)",
             "parent_code": "varchar(12)", "vintage": "integer",
             "geom": "geometry(MultiPolygon, 4326)", "updated_at": "timestamptz"}


def upsert_areas(session: Session, gdf: gpd.GeoDataFrame, level: str) -> Counts:
    """Add or update administrative areas of one ``level``, keyed by ``code``.

    Parameters
    ----------
    gdf : GeoDataFrame
        ``code`` (6-digit county, 12-digit town or village code), ``name``, optional
        ``parent_code`` and ``vintage``, and (Multi)Polygon geometry (may be empty).  A
        village frame may name its code ``village_code`` instead.
    level : {"county", "town", "village"}

    Parents are linked by ``parent_code`` whenever both are loaded, in any order, and
    households are linked to villages by ``village_code``.
    """
    if level not in C.AREA_LEVELS:
        raise ValidationError(f"level {level!r} must be one of {', '.join(C.AREA_LEVELS)}")
    frame = gdf
    if C.CODE not in frame.columns and C.VILLAGE_CODE in frame.columns:
        frame = frame.rename(columns={C.VILLAGE_CODE: C.CODE})
    for col in (C.CODE, "name"):
        if col not in frame.columns:
            raise ColumnError(f"areas need a {col!r} column")
    rows = bulk.row_numbers(frame)
    data = pd.DataFrame({"_row": rows})
    data[C.CODE] = bulk.text_column(frame[C.CODE])
    data["name"] = bulk.text_column(frame["name"])
    data[C.PARENT_CODE] = (bulk.text_column(frame[C.PARENT_CODE])
                           if C.PARENT_CODE in frame.columns else None)
    vintage = (pd.to_numeric(frame[C.VINTAGE], errors="coerce")
               if C.VINTAGE in frame.columns else pd.Series(np.nan, index=frame.index))
    data[C.VINTAGE] = [None if pd.isna(v) else int(v) for v in vintage]
    has_geom = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns
    geoms = (np.asarray(bulk.to_wgs84(frame).array, dtype=object) if has_geom
             else np.full(len(frame), None, dtype=object))

    rejects = []
    for r, code in zip(data["_row"], data[C.CODE]):
        if code is None or pd.isna(code):
            rejects.append((r, C.CODE, "area code is empty"))
    dup = data[C.CODE].notna() & data[C.CODE].duplicated(keep=False)
    rejects += [(r, C.CODE, f"code {c!r} appears more than once")
                for r, c in zip(data.loc[dup, "_row"], data.loc[dup, C.CODE])]
    for r, name in zip(data["_row"], data["name"]):
        if name is None or pd.isna(name):
            rejects.append((r, "name", "area name is empty"))
    kinds = shapely.get_type_id(geoms)
    for r, k in zip(data["_row"], kinds):
        if k not in (-1, 3, 6):
            rejects.append((r, C.GEOMETRY, "an area needs a polygon or multipolygon"))
    with np.errstate(invalid="ignore"):
        bounds = shapely.bounds(geoms)
        out_of_range = (np.abs(bounds[:, [0, 2]]) > 180).any(axis=1) | (np.abs(bounds[:, [1, 3]]) > 90).any(axis=1)
    for r in data.loc[out_of_range, "_row"]:
        rejects.append((r, C.GEOMETRY, "coordinates out of range for EPSG:4326"))
    if rejects:
        raise ValidationError(f"{len(rejects)} area row(s) cannot be stored; nothing was written",
                              sorted(rejects))
    data["geometry"] = bulk.multipolygons(geoms)

    existing = bulk.read_frame(
        session, "SELECT id, code, name, level, parent_code, vintage, "
        "ST_AsBinary(geom) AS geom_wkb FROM areas", geom="geom_wkb")
    by_code = {c: i for i, c in enumerate(existing[C.CODE])} if len(existing) else {}
    postgis = bulk.is_postgis(session)
    now = utcnow()
    counts = Counts()
    new_rows, upd_rows, redrawn = [], [], []
    for rec in data.itertuples(index=False):
        code, name, parent = rec.code, rec.name, bulk.clean(rec.parent_code)
        vintage_ = None if bulk.clean(rec.vintage) is None else int(rec.vintage)
        geom = rec.geometry
        i = by_code.get(code)
        if i is None:
            new_rows.append((new_id(), code, name, level, parent, vintage_, geom, now, now))
            continue
        old = existing.iloc[i]
        old_geom = old.geometry
        same_geom = ((geom is None and old_geom is None)
                     or (geom is not None and old_geom is not None
                         and shapely.equals_exact(geom, old_geom, tolerance=0)))
        if (old["name"] == name and old["level"] == level and bulk.clean(old["parent_code"]) == parent
                and bulk.clean(old["vintage"]) == vintage_ and same_geom):
            counts.unchanged += 1
            continue
        upd_rows.append((old["id"], name, level, parent, vintage_, geom, now))
        if not same_geom:
            redrawn.append(old["id"])

    if new_rows:
        cols = ["id", "code", "name", "level", "parent_code", "vintage", "geom", "created_at",
                "updated_at"]
        data_new = {c: [r[i] for r in new_rows] for i, c in enumerate(cols)}
        data_new["outline_at"] = [now] * len(new_rows)
        data_new["geom"] = bulk.optional_wkb(data_new["geom"], postgis)
        counts.added = bulk.insert_rows(session, "areas", data_new, geom="geom")
    if upd_rows:
        cols = ["id", "name", "level", "parent_code", "vintage", "geom", "updated_at"]
        data_upd = {c: [r[i] for r in upd_rows] for i, c in enumerate(cols)}
        data_upd["geom"] = bulk.optional_wkb(data_upd["geom"], postgis)
        counts.updated = bulk.update_rows(session, "areas", "id", data_upd, geom="geom",
                                          types=_PG_TYPES, bump_version=False)
    # a new outline is what a plan drawn before must hear of (db.planregister); a new name is not
    for i in range(0, len(redrawn), 500):
        session.execute(update(Area).where(Area.id.in_(redrawn[i:i + 500])).values(outline_at=now),
                        execution_options={"synchronize_session": False})
    _link(session)
    session.expire_all()
    return counts


def _link(session: Session) -> None:
    """Point parent_id at the parent's row, and households at their village."""
    session.execute(text(
        "UPDATE areas SET parent_id = (SELECT p.id FROM areas AS p WHERE p.code = areas.parent_code) "
        "WHERE parent_code IS NOT NULL AND (parent_id IS NULL OR parent_id <> "
        "COALESCE((SELECT p.id FROM areas AS p WHERE p.code = areas.parent_code), ''))"))
    session.execute(text(
        "UPDATE households SET village_id = (SELECT a.id FROM areas AS a "
        "WHERE a.code = households.village_code AND a.level = 'village') "
        "WHERE village_id IS NULL AND village_code IS NOT NULL"))


def areas_frame(session: Session, level: str | None = None) -> gpd.GeoDataFrame:
    """Areas as a GeoDataFrame (EPSG:4326): ``area_id, code, name, level, parent_code,
    vintage, geometry``, optionally of one level, ordered by code."""
    where = " WHERE level = :level" if level else ""
    return bulk.read_frame(
        session,
        "SELECT id AS area_id, code, name, level, parent_code, vintage, "
        f"ST_AsBinary(geom) AS geom_wkb FROM areas{where} ORDER BY code",
        {"level": level} if level else {},
    )


def villages_frame(session: Session) -> gpd.GeoDataFrame:
    """Villages as the partition engine wants them: ``village_code, name, town_code, geometry``."""
    frame = areas_frame(session, "village")
    frame = frame.rename(columns={C.CODE: C.VILLAGE_CODE, C.PARENT_CODE: C.TOWN_CODE})
    return frame[[C.VILLAGE_CODE, "name", C.TOWN_CODE, "area_id", C.VINTAGE, "geometry"]]


def area_names(session: Session, codes=None) -> dict[str, str]:
    """area code -> name, for the given codes (all areas when ``codes`` is None)."""
    stmt = select(Area.code, Area.name)
    if codes is not None:
        codes = sorted({c for c in codes if c})
        if not codes:
            return {}
        stmt = stmt.where(Area.code.in_(codes))
    return dict(session.execute(stmt).all())
