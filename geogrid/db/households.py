"""Households in the register: bulk upsert by household number, reads as GeoDataFrames.

Functions take a Session and never commit; the caller owns the transaction, so a failed
import leaves the database exactly as it was.
"""

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
from geogrid.db.engine import flush
from geogrid.db.models import Household, new_ids, utcnow
from geogrid.errors import ColumnError, ConflictError, NotFoundError, ValidationError
from geogrid.io.personalnumbers import REGISTER_TEXT, mask_text_columns, register_note

__all__ = [
    "upsert_households",
    "households_frame",
    "household_ids",
    "update_household",
    "village_changes",
    "Counts",
    "TEXT_COLUMNS",
]

#: Text attributes of a household, in the canonical names of geogrid.columns.
TEXT_COLUMNS = (C.HEAD_NAME, C.ADDRESS, C.VILLAGE_CODE, C.BUILDING, C.HAMLET, C.CARE_LEVEL,
                C.SOURCE_CRS)
#: The attributes a source that does not give them (a file without their column) leaves
#: as a registered household has them: the building only while the point stays where it
#: was (a household that moved is in another house).  The village and the source system
#: are worked out again from the point, as for a new row.
KEPT_WHEN_ABSENT = (C.HEAD_NAME, C.ADDRESS, C.BUILDING, C.HAMLET, C.CARE_LEVEL)
#: The note on a column of :data:`KEPT_WHEN_ABSENT` that the source does not give.
ABSENT_NOTE = "the file has no such column; registered households keep what is stored"
_ABSENT_BUILDING_NOTE = ("the file has no such column; registered households keep what is stored "
                         "where their point is unchanged")
_PG_TYPES = {"id": "varchar(32)", "household_no": "text", "head_name": "text", "address": "text",
             "village_id": "varchar(32)", "village_code": "varchar(12)", "building": "text",
             "hamlet": "text", "care_level": "varchar(6)", "source_crs": "varchar(16)",
             "geom": "geometry(Point, 4326)", "updated_at": "timestamptz"}
_LOOKUP_IN_LIMIT = 2_000  # below this many rows, look existing ones up by key, else read all


def _prepare(gdf: gpd.GeoDataFrame) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """Validate and normalise an input frame into plain columns (geometry as shapely), and
    the notes on the ID and phone numbers masked in its free text."""
    if C.HOUSEHOLD_NO not in gdf.columns:
        raise ColumnError(f"households need a {C.HOUSEHOLD_NO!r} column (户编号)")
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
        raise ColumnError("households need point geometry (a GeoDataFrame in EPSG:4326)")
    rows = bulk.row_numbers(gdf)
    out = pd.DataFrame({"_row": rows})
    out[C.HOUSEHOLD_NO] = bulk.text_column(gdf[C.HOUSEHOLD_NO])
    texts = {col: bulk.text_column(gdf[col]) for col in TEXT_COLUMNS if col in gdf.columns}
    # a resident's ID number or phone typed into the free text (address, building, ...) is
    # never stored: masked as the API masks it (one pass over the columns; none, nearly always)
    notes = [(rows[pos], col, register_note(kinds))
             for pos, col, kinds in mask_text_columns(texts, REGISTER_TEXT["households"])]
    for col in TEXT_COLUMNS:
        out[col] = texts.get(col)
    geoms = np.asarray(bulk.to_wgs84(gdf).array, dtype=object)
    out["geometry"] = geoms

    rejects: list[tuple[int, str, str]] = []
    no = out[C.HOUSEHOLD_NO]
    for r in out.loc[no.isna(), "_row"]:
        rejects.append((r, C.HOUSEHOLD_NO, "household number is empty"))
    dup = no.notna() & no.duplicated(keep=False)
    for r, v in zip(out.loc[dup, "_row"], no[dup]):
        rejects.append((r, C.HOUSEHOLD_NO, f"household number {v!r} appears more than once"))
    kinds = shapely.get_type_id(geoms)
    bad_geom = (kinds != 0) | shapely.is_empty(geoms)
    for r in out.loc[bad_geom, "_row"]:
        rejects.append((r, C.GEOMETRY, "needs a point (longitude/latitude)"))
    ok = ~bad_geom
    x = np.full(len(out), np.nan)
    y = np.full(len(out), np.nan)
    x[ok] = shapely.get_x(geoms[ok])
    y[ok] = shapely.get_y(geoms[ok])
    out_of_range = ok & ~((np.abs(x) <= 180) & (np.abs(y) <= 90))
    for r in out.loc[out_of_range, "_row"]:
        rejects.append((r, C.GEOMETRY, "coordinates out of range for EPSG:4326"))
    care = out[C.CARE_LEVEL]
    bad_care = care.notna() & ~care.isin(C.CARE_LEVELS)
    for r, v in zip(out.loc[bad_care, "_row"], care[bad_care]):
        rejects.append((r, C.CARE_LEVEL, f"care level {v!r} is not one of {', '.join(C.CARE_LEVELS)}"))
    if rejects:
        rejects.sort()
        raise ValidationError(
            f"{len(rejects)} household row(s) cannot be stored; nothing was written", rejects
        )
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
        out["geometry"] = geoms
    out["x"] = x
    out["y"] = y
    return out, notes


def _existing(session: Session, numbers: list[str]) -> pd.DataFrame:
    cols = (f"id, household_no, {', '.join(TEXT_COLUMNS)}, village_id, "
            "ST_X(geom) AS x, ST_Y(geom) AS y")
    if len(numbers) > _LOOKUP_IN_LIMIT:
        return bulk.read_frame(session, f"SELECT {cols} FROM households", geom=None)
    frames = []
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        marks = ", ".join(f":n{i}" for i in range(len(chunk)))
        frames.append(bulk.read_frame(
            session, f"SELECT {cols} FROM households WHERE household_no IN ({marks})",
            {f"n{i}": v for i, v in enumerate(chunk)}, geom=None))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _village_ids(session: Session) -> dict[str, str]:
    rows = session.execute(text("SELECT code, id FROM areas WHERE level = 'village'"))
    return dict(rows.all())


def _fill_village_codes(session: Session, data: pd.DataFrame) -> None:
    """Give households without a village code the village whose polygon contains them."""
    missing = data[C.VILLAGE_CODE].isna()
    if not missing.any():
        return
    from geogrid.db.areas import villages_frame

    villages = villages_frame(session)
    villages = villages[villages.geometry.notna()]
    if villages.empty:
        return
    points = gpd.GeoDataFrame(geometry=gpd.GeoSeries(data.loc[missing, "geometry"].values,
                                                     index=data.index[missing]), crs=4326)
    joined = gpd.sjoin(points, villages[[C.VILLAGE_CODE, "geometry"]], how="left",
                       predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    data.loc[joined.index, C.VILLAGE_CODE] = joined[C.VILLAGE_CODE].where(
        joined[C.VILLAGE_CODE].notna(), None)


def village_changes(session: Session, gdf: gpd.GeoDataFrame) -> dict[int, tuple[str, str]]:
    """``{row: (stored village code, new village code)}`` for the rows of ``gdf`` (as
    :func:`upsert_households` takes it, ``_row`` numbering them) whose household number
    is registered in another village than the row's: its ``village_code``, else the
    loaded village holding its point, as the upsert gives it.  The upsert would move that
    household to the row's village with the row's head, address and point: what a
    household that moved village is, and what a village numbering its households 1, 2,
    3... as another village does would do to the other's households."""
    rows = bulk.row_numbers(gdf)
    codes = bulk.text_column(gdf[C.VILLAGE_CODE]) if C.VILLAGE_CODE in gdf.columns else [None] * len(gdf)
    data = pd.DataFrame({"_row": rows, C.HOUSEHOLD_NO: bulk.text_column(gdf[C.HOUSEHOLD_NO]),
                         C.VILLAGE_CODE: pd.Series(codes, dtype=object),
                         "geometry": pd.Series(np.asarray(bulk.to_wgs84(gdf).array, dtype=object), dtype=object)})
    data = data[data[C.HOUSEHOLD_NO].notna()].reset_index(drop=True)
    if data.empty:
        return {}
    stored = _existing(session, data[C.HOUSEHOLD_NO].tolist())
    if stored.empty:
        return {}
    stored = dict(zip(stored[C.HOUSEHOLD_NO], stored[C.VILLAGE_CODE]))
    data = data[[stored.get(n) is not None for n in data[C.HOUSEHOLD_NO]]].copy()
    _fill_village_codes(session, data)
    return {int(r): (stored[n], v) for r, n, v in zip(data["_row"], data[C.HOUSEHOLD_NO], data[C.VILLAGE_CODE])
            if v is not None and not pd.isna(v) and v != stored[n]}


def upsert_households(session: Session, gdf: gpd.GeoDataFrame, *, absent=None) -> Counts:
    """Add new households and update changed ones, keyed by ``household_no``.

    Parameters
    ----------
    session : Session
        Not committed here: the caller owns the transaction.
    gdf : GeoDataFrame
        Points (EPSG:4326; a frame without CRS is taken to be in it) with the canonical
        columns of :mod:`geogrid.columns`: ``household_no`` (required), ``head_name``,
        ``address``, ``village_code``, ``building``, ``hamlet``, ``care_level``,
        ``source_crs``.  Missing optional columns are stored as NULL for new households,
        and a registered household keeps its stored value of those of
        :data:`KEPT_WHEN_ABSENT` (see ``absent``); an empty value in a column given is
        stored as NULL.  A household without ``village_code`` takes the village polygon
        containing it, if villages are loaded.
    absent : columns of :data:`KEPT_WHEN_ABSENT` that the source did not give, though
        ``gdf`` may hold values for them (:func:`~geogrid.io.load_households` gives every
        column, empty or, for ``building``, worked out from shared points): a registered
        household keeps what is stored of them (its building while its point stays where
        it was), a new one takes ``gdf``'s.  Those ``gdf`` has no column of are absent too.
        A file of corrected points, say, wiped the head's name, the address, the building,
        the hamlet and a cadre's care level of every household it named.  ``notes`` say
        so, once a column (:data:`ABSENT_NOTE`, row ``None``), where a stored value was kept.

    A resident's ID number or phone number typed into ``head_name``, ``address``,
    ``building`` or ``hamlet`` is never stored: it is masked as the API masks it
    (``户主电话138****5678``; :func:`geogrid.io.personalnumbers.mask_text_columns`), the
    rest of the text kept, and ``notes`` of the counts name each row and column so.

    Returns
    -------
    Counts
        ``added``, ``updated`` (a changed row keeps its id and its ``version`` goes up)
        and ``unchanged``; ``notes``, ``(row, column, note)`` of the values masked.

    Raises
    ------
    ValidationError
        Empty or duplicate household numbers, missing or out-of-range points, unknown
        care levels; ``rejects`` lists ``(row, column, reason)``.  Nothing is written.
    """
    data, notes = _prepare(gdf)
    counts = Counts(notes=notes)
    if data.empty:
        return counts
    absent = bulk.absent_columns(KEPT_WHEN_ABSENT, gdf, absent)
    _fill_village_codes(session, data)
    villages = _village_ids(session)
    data["village_id"] = [villages.get(c) if c else None for c in data[C.VILLAGE_CODE]]

    existing = _existing(session, data[C.HOUSEHOLD_NO].tolist())
    if existing.empty:
        existing = pd.DataFrame(columns=["id", C.HOUSEHOLD_NO, *TEXT_COLUMNS, "village_id", "x", "y"])
    merged = data.merge(existing, on=C.HOUSEHOLD_NO, how="left", suffixes=("", "_db"))
    is_new = merged["id"].isna().to_numpy()
    if C.BUILDING in absent:  # a household's building is kept while its point stays
        stayed = (np.isclose(merged["x"].to_numpy(float), merged["x_db"].to_numpy(float), rtol=0, atol=1e-9)
                  & np.isclose(merged["y"].to_numpy(float), merged["y_db"].to_numpy(float), rtol=0, atol=1e-9))
        where = {C.BUILDING: (stayed, _ABSENT_BUILDING_NOTE)}
    else:
        where = None
    bulk.keep_absent(merged, absent, is_new, counts.notes, ABSENT_NOTE, only_where=where)
    changed = np.zeros(len(merged), dtype=bool)
    for col in (*TEXT_COLUMNS, "village_id"):
        a = merged[col].astype(object)
        b = merged[f"{col}_db"].astype(object)
        changed |= ~((a == b) | (a.isna() & b.isna())).to_numpy()
    changed |= ~(np.isclose(merged["x"].to_numpy(float), merged["x_db"].to_numpy(float),
                            rtol=0, atol=1e-9)
                 & np.isclose(merged["y"].to_numpy(float), merged["y_db"].to_numpy(float),
                              rtol=0, atol=1e-9))
    changed &= ~is_new

    postgis = bulk.is_postgis(session)
    now = utcnow()
    value_cols = [C.HOUSEHOLD_NO, *TEXT_COLUMNS, "village_id"]

    new = merged[is_new]
    if len(new):
        data_new = {"id": new_ids(len(new))}
        data_new.update({c: bulk.pylist(new[c]) for c in value_cols})
        data_new["geom"] = bulk.geometry_wkb(new["geometry"].to_numpy(), postgis=postgis)
        data_new["created_at"] = data_new["updated_at"] = data_new["placed_at"] = [now] * len(new)
        data_new["version"] = [1] * len(new)
        counts.added = bulk.insert_rows(session, "households", data_new, geom="geom")

    upd = merged[changed]
    if len(upd):
        data_upd = {"id": upd["id"].tolist()}
        data_upd.update({c: bulk.pylist(upd[c]) for c in value_cols[1:]})
        data_upd["geom"] = bulk.geometry_wkb(upd["geometry"].to_numpy(), postgis=postgis)
        data_upd["updated_at"] = [now] * len(upd)
        counts.updated = bulk.update_rows(session, "households", "id", data_upd, geom="geom",
                                          types=_PG_TYPES)
        # what a plan drawn before must hear of: a new point, village, building or hamlet
        # (db.planregister), not a new head's name or care level
        placed = merged[changed & _placement_changed(merged)]["id"].tolist()
        for i in range(0, len(placed), 500):
            session.execute(update(Household).where(Household.id.in_(placed[i:i + 500])).values(placed_at=now),
                            execution_options={"synchronize_session": False})
    counts.unchanged = len(merged) - counts.added - counts.updated
    session.expire_all()  # ORM objects loaded earlier must see the new versions
    return counts


def _placement_changed(merged: pd.DataFrame) -> np.ndarray:
    """Rows of ``merged`` (the file's against the stored, ``*_db``) whose point, village,
    building or hamlet changed."""
    out = np.zeros(len(merged), dtype=bool)
    for col in (C.VILLAGE_CODE, C.BUILDING, C.HAMLET):
        a = merged[col].astype(object)
        b = merged[f"{col}_db"].astype(object)
        out |= ~((a == b) | (a.isna() & b.isna())).to_numpy()
    out |= ~(np.isclose(merged["x"].to_numpy(float), merged["x_db"].to_numpy(float), rtol=0, atol=1e-9)
             & np.isclose(merged["y"].to_numpy(float), merged["y_db"].to_numpy(float), rtol=0, atol=1e-9))
    return out


def households_frame(session: Session, *, bbox=None, village_codes=None, ids=None,
                     removed: bool = False) -> gpd.GeoDataFrame:
    """Households in the register as a GeoDataFrame (EPSG:4326) in canonical columns.

    Columns: ``household_id``, ``household_no``, the text columns, ``version`` and
    ``geometry``; optionally only those meeting ``bbox`` (min lon, min lat, max lon,
    max lat), in ``village_codes`` or with the ``ids`` given.  Ordered by household
    number.  Households taken out of the register (:mod:`geogrid.db.removals`) are
    left out unless ``removed``.
    """
    where, params = ([] if removed else ["h.removed_at IS NULL"]), {}
    if ids is not None:
        ids = sorted(map(str, ids))
        where.append(f"h.id IN ({', '.join(f':i{k}' for k in range(len(ids)))})" if ids else "1 = 0")
        params.update({f"i{k}": h for k, h in enumerate(ids)})
    if bbox is not None:
        clause, box = bulk.bbox_clause(session, "households", bbox, alias="h")
        where.append(clause)
        params.update(box)
    if village_codes is not None:
        codes = list(village_codes)
        if not codes:
            where.append("1 = 0")
        marks = ", ".join(f":v{i}" for i in range(len(codes)))
        if codes:
            where.append(f"h.village_code IN ({marks})")
        params.update({f"v{i}": c for i, c in enumerate(codes)})
    sql = (f"SELECT h.id AS {C.HOUSEHOLD_ID}, h.household_no, "
           + ", ".join(f"h.{c}" for c in TEXT_COLUMNS)
           + ", h.version, ST_AsBinary(h.geom) AS geom_wkb FROM households AS h"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY h.household_no")
    return bulk.read_frame(session, sql, params)


def household_ids(session: Session, numbers=None) -> dict[str, str]:
    """``household_no -> id`` for the given numbers (all households when None)."""
    if numbers is None:
        return dict(session.execute(text("SELECT household_no, id FROM households")).all())
    numbers = list(numbers)
    out: dict[str, str] = {}
    if len(numbers) > _LOOKUP_IN_LIMIT:
        all_ids = household_ids(session)
        return {n: all_ids[n] for n in numbers if n in all_ids}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        rows = session.execute(
            select(Household.household_no, Household.id).where(Household.household_no.in_(chunk))
        )
        out.update(dict(rows.all()))
    return out


def update_household(session: Session, household_id: str, changes: dict,
                     *, expected_version: int | None = None) -> Household:
    """Change one household through the ORM, with optimistic locking.

    ``changes`` maps canonical column names to new values (``geometry`` a shapely point
    in EPSG:4326).  If ``expected_version`` is given and the stored version differs, or
    another transaction changes the row before the flush, raises ConflictError.
    """
    from geoalchemy2.shape import from_shape

    household = session.get(Household, household_id)
    if household is None:
        raise NotFoundError(f"household {household_id!r} does not exist",
                            key="household.not_found", params={"household": household_id})
    if expected_version is not None and household.version != expected_version:
        raise ConflictError(
            f"household {household_id!r} is at version {household.version}, not "
            f"{expected_version}: someone else changed it; reload it and try again",
            key="household.stale", params={"household": household_id})
    for key, value in changes.items():
        if key == C.GEOMETRY:
            household.geom = from_shape(value, srid=4326)
        elif key in (C.HOUSEHOLD_NO, *TEXT_COLUMNS):
            setattr(household, key, value)
        else:
            raise ColumnError(f"households have no editable column {key!r}")
    flush(session)
    return household
