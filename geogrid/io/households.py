"""Read a household register (户籍表) into an :class:`~geogrid.io.batch.ImportBatch`."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geogrid import columns as C
from geogrid.crs import normalize_crs, to_wgs84
from geogrid.errors import CRSError
from geogrid.io.batch import ImportBatch, make_batch
from geogrid.io.coords import lonlat_geometry
from geogrid.io.degrees import parse_degrees
from geogrid.io.formats import ROW, cut_off, read_table
from geogrid.io.headers import (
    ARRIVED_CRS, LONLAT, VILLAGE, VILLAGE_NAME, column_accessors, require_columns, resolve_columns,
)
from geogrid.io.othercolumns import other_columns
from geogrid.io.outlines import check_outline
from geogrid.io.personalnumbers import REGISTER_TEXT, mask_text_columns, register_note
from geogrid.io.validate import (
    Problems,
    check_lonlat,
    clean_text,
    find_duplicates,
    memoized,
    parse_care_level,
)
from geogrid.io.villagenames import village_disagreements

__all__ = ["load_households", "HOUSEHOLD_COLUMNS"]

#: geogrid's columns of ``ImportBatch.valid`` for households, in order (plus
#: ``village_name`` when the file names villages, then ``_row``, the file's other columns
#: and ``geometry``).
HOUSEHOLD_COLUMNS = (
    C.HOUSEHOLD_NO, C.HEAD_NAME, C.ADDRESS, C.LON, C.LAT, C.VILLAGE_CODE, C.BUILDING,
    C.HAMLET, C.CARE_LEVEL, C.SOURCE_CRS,
)

#: what a partition or the register adds to households: a file's own column of these names
#: (a plan's households read back, with their old cells) is not carried into ``valid``
_RESULT_COLUMNS = (C.HOUSEHOLD_ID, C.MICROGRID_ID, C.CELL_ID, C.HOUSEHOLDS, C.AREA_KM2,
                   C.ASSIGNED_LON, C.ASSIGNED_LAT)

_CODE12 = re.compile(r"^\d{12}$")


def load_households(
    path: str | os.PathLike,
    *,
    crs: str | None = "wgs84",
    columns: dict[str, str | None] | None = None,
    county_outline=None,
    encoding: str | None = None,
    extra_columns: bool = True,
    layer: str | int | None = None,
    outline_buffer_m: float = 200.0,
    require_number: bool = True,
    villages: Mapping[str, str] | None = None,
) -> ImportBatch:
    """Read and validate households from any accepted file.

    Parameters
    ----------
    path : CSV, XLSX, GeoJSON, GeoPackage, Shapefile or GeoParquet.
    crs : what the longitudes/latitudes are in: wgs84, cgcs2000, gcj02 or bd09.  A
        ``坐标系``/``source_crs`` column overrides it per row; a vector file in a projected
        CRS is reprojected first.
    columns : ``{file header: canonical name}`` overriding the header synonyms; a header
        mapped to ``None`` is ignored (and not carried as one of the file's other columns).
    county_outline : a shapely geometry in WGS84; points more than ``outline_buffer_m``
        outside it are rejected.
    encoding : of a CSV (detected when ``None``).
    extra_columns : ``True`` (default) carries the file's other columns (备注, 人口, ...)
        into ``valid`` under their own headers, after ``_row``, with their values as
        :func:`~geogrid.io.read_table` reads them (CSV cells as text: convert what you
        count).  ``False`` gives geogrid's columns only (``columns={'备注': None}`` leaves
        out one); ``_row`` joins the others back.  Never carried, with a note saying so:
        a header named as one of geogrid's columns (``household_no``, ``geometry``, the
        ``cell_id`` of a plan read back, ...; rename it), and a person's name, ID number,
        phone or birth date (身份证号, 联系电话, 联系人, ...: geogrid keeps those only in the
        persons register, masked, and reads them with :func:`~geogrid.io.load_persons`).
        The values are read too (:mod:`~geogrid.io.personalnumbers`): a column more than
        half of whose values (not empty) hold a resident ID number or a phone number is
        left out likewise, with a note naming its rows; in another, such a number is
        masked (``户主电话138****5678已核实``, ``**************1234``), with a note on each
        row masked, and the rest of the text kept.  ``geogrid import households`` stores geogrid's columns only, and ``geogrid
        partition`` writes them only.
    layer : sheet or layer to read.
    require_number : ``False`` accepts a file without a household-number column (a
        partition needs none): ``household_no`` is then empty and every other check is
        the same; co-located households without a building number share a building key
        named by the first of their rows (``row 12``).
    villages : ``{village code: name}`` of the villages known (loaded in the database).  A
        row giving both a village name and a village code is rejected when they disagree
        (see :func:`~geogrid.io.villagenames.village_disagreements`): a wrong code puts a
        household in the wrong village.

    Returns an :class:`ImportBatch` whose ``valid`` is a GeoDataFrame of Points in
    EPSG:4326 with :data:`HOUSEHOLD_COLUMNS` (and the file's others, see
    ``extra_columns``).  Rows sharing exact coordinates and no
    building number share a building key (the smallest household number among them).
    A resident's ID number or phone number typed into 地址, 楼栋, 自然寨 or 户主 is masked
    as the API masks it (``户主电话138****5678``), the rest of the text kept, with a note
    naming the column and each row (:func:`~geogrid.io.personalnumbers.mask_text_columns`);
    the rejects keep the rows as read.
    """
    path = Path(path)
    default_crs = normalize_crs(crs)
    raw = read_table(path, layer=layer, encoding=encoding)
    mapping = resolve_columns(raw.columns, "households", columns=columns, source=path)
    is_geo = isinstance(raw, gpd.GeoDataFrame) and raw.geometry.name in raw.columns
    numbered = require_number or C.HOUSEHOLD_NO in mapping
    # one 经纬度 column ("109.17,27.35") where the file has no 经度 and no 纬度
    lonlat = LONLAT in mapping and C.LON not in mapping and C.LAT not in mapping
    require_columns(mapping, ([C.HOUSEHOLD_NO] if numbered else []) + ([] if is_geo or lonlat else [C.LON, C.LAT]),
                    "households", raw.columns, source=path)
    n = len(raw)
    rows = raw[ROW].to_numpy()
    problems = Problems()
    if (cut := cut_off(raw)) is not None:
        problems.add(cut[0], None, cut[1])

    cells, header = column_accessors(raw, mapping)

    # --- household number -------------------------------------------------------------
    numbers = [clean_text(v) or None for v in cells(C.HOUSEHOLD_NO)]
    for pos, no in enumerate(numbers):
        if not no and numbered:
            problems.add(pos, header(C.HOUSEHOLD_NO), "household number is empty")
    for pos, others in find_duplicates(numbers, rows).items():
        where = ", ".join(map(str, others))
        problems.add(pos, header(C.HOUSEHOLD_NO),
                     f"household number {numbers[pos]!r} is duplicated: it also appears in row {where}")
    for canonical, what in ((C.HOUSEHOLD_NO, "household number"), (C.BUILDING, "building number")):
        for pos, value in enumerate(cells(canonical)):
            if (reason := excel_date(value, what)) is not None:
                problems.add(pos, header(canonical), reason)

    # --- coordinates ----------------------------------------------------------------------
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    row_crs = [default_crs] * n
    geom_header = "geometry"
    geo_points = None
    if is_geo:
        geom_header = raw.geometry.name
        geoms, file_crs = lonlat_geometry(raw, default_crs, source=path)
        projected = raw.crs is not None and not raw.crs.is_geographic
        row_crs = [file_crs] * n
        geo_points = list(geoms)
    if C.SOURCE_CRS in mapping:
        for pos, value in enumerate(cells(C.SOURCE_CRS)):
            text = clean_text(value)
            if not text:
                continue
            try:
                name = normalize_crs(text)
            except CRSError:
                problems.add(pos, header(C.SOURCE_CRS), f"coordinate system {text!r} is not one of wgs84, cgcs2000, gcj02, bd09")
                continue
            if is_geo and projected and name in ("gcj02", "bd09"):
                problems.add(pos, header(C.SOURCE_CRS), f"{name} cannot apply to a projected file")
                continue
            row_crs[pos] = name
    stored_crs = list(row_crs)  # what the point arrived in: kept as source_crs
    if ARRIVED_CRS in mapping:  # a file that geogrid exported: WGS84 now, arrived in another
        for pos, value in enumerate(cells(ARRIVED_CRS)):
            text = clean_text(value)
            if not text:
                continue
            try:
                stored_crs[pos] = normalize_crs(text)
            except CRSError:
                problems.add(pos, header(ARRIVED_CRS),
                             f"coordinate system {text!r} is not one of wgs84, cgcs2000, gcj02, bd09")
    if lonlat:
        lon_cells, lat_cells = split_lonlat(cells(LONLAT))
        lon_header = lat_header = header(LONLAT)
    else:
        lon_cells = cells(C.LON) if C.LON in mapping else None
        lat_cells = cells(C.LAT) if C.LAT in mapping else None
        lon_header, lat_header = header(C.LON), header(C.LAT)
    lon, lat, from_geom = _coordinates(
        geo_points, geom_header, lon_cells, lat_cells, lon_header, lat_header, problems,
    )
    ok = ~np.isnan(lon)
    for name in set(row_crs):
        idx = np.flatnonzero(ok & (np.asarray(row_crs, dtype=object) == name))
        if len(idx):
            lon[idx], lat[idx] = to_wgs84(lon[idx], lat[idx], name)
    if county_outline is not None:
        idx = np.flatnonzero(ok)
        for k, reason in check_outline(lon[idx], lat[idx], county_outline, buffer_m=outline_buffer_m).items():
            coord_col = geom_header if from_geom[idx[k]] else f"{header(C.LON)}/{header(C.LAT)}"
            problems.add(int(idx[k]), coord_col, reason)

    # --- village, care level and the rest ---------------------------------------------------
    village_code: list[str | None] = [None] * n
    village_name: list[str | None] = [None] * n
    if C.VILLAGE_CODE in mapping:
        for pos, value in enumerate(cells(C.VILLAGE_CODE)):
            text = clean_text(value)
            if text and not _CODE12.match(text):
                problems.add(pos, header(C.VILLAGE_CODE), f"village code {text!r} is not 12 digits")
            village_code[pos] = text or None
    if VILLAGE in mapping:
        for pos, value in enumerate(cells(VILLAGE)):
            text = clean_text(value)
            if C.VILLAGE_CODE not in mapping and _CODE12.match(text):
                village_code[pos] = text
            else:
                village_name[pos] = text or None
    if C.VILLAGE_CODE in mapping and VILLAGE in mapping:
        codes = [c if c and _CODE12.match(c) else None for c in village_code]
        pair = f"{header(VILLAGE)}/{header(C.VILLAGE_CODE)}"
        for pos, reason in village_disagreements(codes, village_name, rows, villages).items():
            problems.add(pos, pair, reason)
    care = [None] * n
    parse_care = memoized(parse_care_level)
    for pos, value in enumerate(cells(C.CARE_LEVEL)):
        try:
            care[pos] = parse_care(value)
        except ValueError as exc:
            problems.add(pos, header(C.CARE_LEVEL), str(exc))

    def texts(canonical: str) -> list[str | None]:
        return [clean_text(v) or None for v in cells(canonical)]

    good = [pos for pos in range(n) if pos not in problems]
    data = {
        C.HOUSEHOLD_NO: numbers,
        C.HEAD_NAME: texts(C.HEAD_NAME),
        C.ADDRESS: texts(C.ADDRESS),
        C.LON: lon,
        C.LAT: lat,
        C.VILLAGE_CODE: village_code,
        C.BUILDING: texts(C.BUILDING),
        C.HAMLET: texts(C.HAMLET),
        C.CARE_LEVEL: care,
        C.SOURCE_CRS: stored_crs,
    }
    if VILLAGE in mapping:
        data[VILLAGE_NAME] = village_name
    # a resident's ID number or phone typed into the register's own text (地址, 楼栋, 自然寨,
    # 户主) is masked as the API masks it, before anything reads or stores it, and noted
    notes = [(pos, header(column), register_note(kinds))
             for pos, column, kinds in mask_text_columns(data, REGISTER_TEXT["households"])]
    frame = pd.DataFrame({k: pd.Series(v, dtype=object if k not in (C.LON, C.LAT) else float) for k, v in data.items()})
    frame[ROW] = rows
    if extra_columns:
        values, more = other_columns(raw, mapping, rows=rows, columns=columns,
                                     taken=[*frame.columns, C.GEOMETRY, geom_header, *_RESULT_COLUMNS])
        for h, column in values.items():
            frame[h] = column
        notes += more
    frame = frame.iloc[good].reset_index(drop=True)
    frame[C.BUILDING] = _building_keys(frame)
    valid = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame[C.LON], frame[C.LAT]), crs="EPSG:4326")
    batch_crs = row_crs[0] if is_geo and n else default_crs
    return make_batch(raw, valid, problems, source=path, crs=batch_crs, kind="households", columns=mapping,
                      notes=notes)


def excel_date(value, what: str) -> str | None:
    """The reason a number cell of an XLSX holds a date or a time, else ``None``: Excel
    turns a number typed as ``1-2``, ``3/12`` or ``3:12`` into one (January 2nd of the
    year it was typed, 12:00 ...), and read as text it was stored as
    ``2024-01-02T00:00:00``, a number nobody wrote, and another the next year.

    >>> excel_date(dt.datetime(2024, 1, 2), "household number")[:60]
    'household number is a date in the sheet (2024-01-02): Excel '
    >>> excel_date("1-2", "household number") is None
    True
    """
    if not isinstance(value, (dt.date, dt.time)):
        return None
    shown = value.strftime("%H:%M") if isinstance(value, dt.time) else f"{value:%Y-%m-%d}"
    kind = "a time" if isinstance(value, dt.time) else "a date"
    return (f"{what} is {kind} in the sheet ({shown}): Excel turned what was typed (such as 1-2, 3/12 "
            "or 3:12) into one; format the column as text (设置单元格格式 → 文本), type the numbers "
            "again and import again")


_PAIR = re.compile(r"\s*[,;，；]\s*")


def split_lonlat(values: list) -> tuple[list, list]:
    """``(longitudes, latitudes)`` of the cells of one 经纬度 column, as texts to be read as
    separate 经度 and 纬度 cells are: longitude first, then latitude, separated by a comma
    (half or full width), a semicolon or spaces.  A cell that is not two parts gives
    itself as the longitude and nothing as the latitude, so that its reason names what
    is wrong ('latitude is empty', 'longitude '109.17,27.35,5' is not a number').

    >>> split_lonlat(["109.17,27.35", "１０９．１７，２７．３５", "E109.17 N27.35", "109.17", None])
    (['109.17', '109.17', 'E109.17', '109.17', None], ['27.35', '27.35', 'N27.35', None, None])
    """
    lons, lats = [], []
    for value in values:
        text = clean_text(value)
        parts = _PAIR.split(text) if _PAIR.search(text) else text.split()
        if len(parts) == 2 and all(parts):
            lons.append(parts[0])
            lats.append(parts[1])
        else:
            lons.append(text or None)
            lats.append(None)
    return lons, lats


def _numbers(values: list, what: str, column: str, problems: Problems, wanted: np.ndarray) -> np.ndarray:
    """Floats from the cells of one column, NaN (and a problem) where a wanted cell is not a number."""
    fast = np.array(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype=float)
    fast[[isinstance(v, (bool, np.bool_)) for v in values]] = np.nan  # pandas reads an Excel TRUE as 1.0
    for pos in np.flatnonzero(~np.isfinite(fast) & wanted):
        try:
            fast[pos] = parse_degrees(values[pos], what)  # "１０９.２", "E109.2", "109°12'30\"", or the reason
        except ValueError as exc:
            problems.add(pos, column, str(exc))
            fast[pos] = np.nan
    return np.where(wanted, fast, np.nan)


def _coordinates(geoms, geom_header, lon_cells, lat_cells, lon_header, lat_header, problems):
    """``(lon, lat, from_geometry)`` as given (before datum conversion), NaN where unusable.

    Point geometry wins over lon/lat columns; rows without geometry fall back to them.
    """
    n = len(geoms) if geoms is not None else len(lon_cells)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    from_geom = np.zeros(n, dtype=bool)
    nonpoint = np.zeros(n, dtype=bool)
    if geoms is not None:
        arr = np.asarray(geoms, dtype=object)
        missing = shapely.is_missing(arr) | shapely.is_empty(arr)
        single = (shapely.get_type_id(arr) == 4) & (shapely.get_num_geometries(arr) == 1)
        arr = np.where(single, shapely.get_geometry(arr, 0), arr)
        is_point = shapely.get_type_id(arr) == 0
        nonpoint = ~missing & ~is_point
        for pos in np.flatnonzero(nonpoint):
            problems.add(pos, geom_header, f"geometry is a {arr[pos].geom_type}, not a Point")
        from_geom = ~missing & is_point
        x[from_geom] = shapely.get_x(arr[from_geom])
        y[from_geom] = shapely.get_y(arr[from_geom])
    need = ~from_geom & ~nonpoint
    if lon_cells is not None and lat_cells is not None:
        lon = _numbers(lon_cells, "longitude", lon_header, problems, need)
        lat = _numbers(lat_cells, "latitude", lat_header, problems, need)
        x[need], y[need] = lon[need], lat[need]
    else:
        for pos in np.flatnonzero(need):
            problems.add(pos, geom_header, "the row has no geometry and no longitude/latitude")
    usable = np.isfinite(x) & np.isfinite(y)
    with np.errstate(invalid="ignore"):
        bad = usable & (
            (np.abs(x) > 180) | (np.abs(y) > 90) | ((x == 0) & (y == 0))
            | ((y >= 73) & (y <= 135) & (x >= 3) & (x <= 54))
        )
    for pos in np.flatnonzero(bad):
        reason = check_lonlat(float(x[pos]), float(y[pos]))
        if from_geom[pos]:
            column = geom_header
        elif "swapped" in reason or "0, 0" in reason:
            column = f"{lon_header}/{lat_header}" if lon_header != lat_header else lon_header
        else:
            column = lon_header if reason.startswith("longitude") else lat_header
        problems.add(pos, column, reason)
    keep = usable & ~bad
    return np.where(keep, x, np.nan), np.where(keep, y, np.nan), from_geom


def _building_keys(frame: pd.DataFrame) -> list[str]:
    """Building of each household: as given, else shared by households at identical coordinates.

    A household with no building number at the exact point of one numbered building
    takes that number; otherwise co-located households share the smallest of their
    household numbers (without household numbers: ``row N``, the first of their rows),
    and a lone household is its own building.
    """
    if frame.empty:
        return []
    df = frame[[C.HOUSEHOLD_NO, C.LON, C.LAT, C.BUILDING]]
    named = df[C.BUILDING].notna().to_numpy()
    result = df[C.BUILDING].astype(object).to_numpy(copy=True)
    if named.all():
        return result.tolist()
    given = df[named].groupby([C.LON, C.LAT])[C.BUILDING].agg(["nunique", "first"])
    unnamed = df[~named]
    own = unnamed[C.HOUSEHOLD_NO].to_numpy(dtype=object, copy=True)
    numbered = all(own)  # no household-number column: keys from the rows (row order)
    if not numbered:
        own = np.array([f"row {r}" for r in frame.loc[~named, ROW]], dtype=object)
    shared = unnamed.duplicated([C.LON, C.LAT], keep=False).to_numpy()
    if shared.any():  # few rows: a plain dict beats a groupby over strings
        first: dict[tuple, str] = {}
        points = list(zip(unnamed[C.LON].to_numpy()[shared].tolist(), unnamed[C.LAT].to_numpy()[shared].tolist()))
        for point, no in zip(points, own[shared].tolist()):
            first[point] = min(no, first.get(point, no)) if numbered else first.get(point, no)
        own[shared] = [first[p] for p in points]
    joined = unnamed[[C.LON, C.LAT]].join(given, on=[C.LON, C.LAT])
    adopt = (joined["nunique"] == 1).to_numpy()
    result[~named] = np.where(adopt, joined["first"].to_numpy(dtype=object), own)
    return result.tolist()
