"""Read administrative boundaries (county, town or village polygons)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geogrid import columns as C
from geogrid.crs import geometry_to_wgs84, normalize_crs
from geogrid.errors import ColumnError, InputError
from geogrid.io.batch import ImportBatch, make_batch
from geogrid.io.coords import lonlat_geometry
from geogrid.io.formats import ROW, cut_off, read_table
from geogrid.io.headers import (WKT, column_accessors, map_header_hint, require_columns, resolve_columns,
                                village_columns)
from geogrid.io.othercolumns import other_columns
from geogrid.io.outlines import repair_polygon
from geogrid.io.validate import Problems, check_lonlat, clean_text, find_duplicates, parse_year

__all__ = ["load_boundaries", "BOUNDARY_COLUMNS", "normalize_level"]

#: The columns of ``ImportBatch.valid`` for boundaries (then ``_row``, the file's other
#: columns and ``geometry``).
BOUNDARY_COLUMNS = (C.CODE, C.NAME, C.LEVEL, C.PARENT_CODE, C.VINTAGE, "repaired")

_LEVELS = {
    "county": "county", "town": "town", "village": "village",
    "县": "county", "区": "county", "县级": "county", "县区": "county",
    "乡镇": "town", "乡": "town", "镇": "town", "街道": "town", "乡级": "town",
    "村": "village", "社区": "village", "村级": "village", "村委会": "village",
}
_CODE_DIGITS = {"county": 6, "town": 12, "village": 12}


def normalize_level(level: str) -> str:
    """county / town / village from English or Chinese (县, 乡镇, 村 ...).

    >>> normalize_level("乡镇")
    'town'
    """
    key = clean_text(level).lower()
    try:
        return _LEVELS[key]
    except KeyError:
        raise InputError(f"unknown level {level!r}; use county, town or village") from None


def _parent_of(code: str, level: str) -> str:
    if level == "county":
        return code[:4] + "00"
    if level == "town":
        return code[:6]
    return code[:9] + "000"


def _check_parent(code: str, parent: str, level: str) -> str:
    """The normalised parent code, or ``ValueError``."""
    if level == "town" and re.fullmatch(r"\d{6}0{6}", parent):
        parent = parent[:6]  # a county written as a 12-digit statistical code
    if level == "village" and re.fullmatch(r"\d{9}", parent):
        parent += "000"  # a 9-digit GB/T 10114 town code
    want = 6 if level in ("county", "town") else 12
    if not re.fullmatch(rf"\d{{{want}}}", parent):
        raise ValueError(f"parent code {parent!r} is not {want} digits")
    if level == "county":
        ok = parent[:4] == code[:4] or (parent[:2] == code[:2] and parent[2:] == "0000")
    elif level == "town":
        ok = code.startswith(parent)
    else:
        ok = code[:9] == parent[:9]
    if not ok:
        raise ValueError(f"parent code {parent} does not contain {level} code {code}")
    return parent


def _lonlat_problem(geom) -> str | None:
    """Why an outline is not in longitude/latitude (swapped, or metres taken for degrees), or ``None``."""
    if geom is None or geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    reason = check_lonlat(minx, miny) or check_lonlat(maxx, maxy)
    if reason is None:
        return None
    if "swapped" in reason:
        return f"{reason}: the outline's coordinates must be longitude, latitude"
    return (f"{reason}: the outline is not in longitude/latitude; a file in a projected system "
            "(metres) needs its own CRS, such as a Shapefile's .prj copied beside it")


def load_boundaries(
    path: str | os.PathLike,
    *,
    level: str,
    crs: str | None = "wgs84",
    columns: dict[str, str | None] | None = None,
    encoding: str | None = None,
    layer: str | int | None = None,
    require_name: bool = True,
    extra_columns: bool = True,
) -> ImportBatch:
    """Read and validate the polygons of one administrative level.

    ``code`` must be 6 digits for a county and 12 for a town or village.  A missing
    ``parent_code`` is derived from the code (a village's town is its first 9 digits
    and 000).  Invalid polygons are repaired with :func:`shapely.make_valid` when that
    keeps the area within 0.1 % (the ``repaired`` column says what was wrong), and
    rejected otherwise.  A file with a single feature and no code column, named by its
    code (``431227.geojson``), takes its code from the name.

    CSV and XLSX can carry polygons as WKT in a ``wkt``/``几何`` column.  Villages may
    also be coded and named by the headers a household register uses for its village
    (``村代码``/``village_code``, ``村名``), when the file has no 区划代码/名称 of its own.
    ``require_name=False`` accepts areas without a name (``geogrid partition`` needs
    only the codes).

    ``extra_columns=True`` (default) carries the file's other columns (人口, 面积, 来源,
    ...) after ``_row``, under their own headers, as :func:`~geogrid.io.load_households`
    does and by the same rule (:func:`~geogrid.io.othercolumns.other_columns`; a
    person's name or phone, a 村书记姓名 or 联系电话, is left out with a note).
    ``False``: :data:`BOUNDARY_COLUMNS` only.  ``geogrid import boundaries`` stores
    those only.
    """
    path = Path(path)
    level = normalize_level(level)
    default_crs = normalize_crs(crs)
    raw = read_table(path, layer=layer, encoding=encoding)
    is_geo = isinstance(raw, gpd.GeoDataFrame) and raw.geometry.name in raw.columns
    # a vector file's own geometry column is not a WKT text column, whatever its name
    headers = [h for h in raw.columns if not (is_geo and h == raw.geometry.name)]
    mapping = resolve_columns(headers, "boundaries", columns=columns, source=path)
    if level == "village":
        mapping = {**village_columns(headers, overridden=columns or {}), **mapping}
    n = len(raw)
    rows = raw[ROW].to_numpy()
    problems = Problems()
    if (cut := cut_off(raw)) is not None:
        problems.add(cut[0], None, cut[1])

    cells, header = column_accessors(raw, mapping)

    digits = _CODE_DIGITS[level]
    if C.CODE in mapping:
        codes = [clean_text(v) for v in cells(C.CODE)]
    elif n == 1 and re.fullmatch(rf"\d{{{digits}}}", path.stem):
        codes = [path.stem]
    else:
        shown = ", ".join(str(h) for h in raw.columns if h != ROW)
        raise ColumnError(
            f"{path}: missing column code (headers such as 区划代码/代码/adcode). The file's headers are: {shown}. "
            + map_header_hint(C.CODE)
        )

    if require_name:  # every area in the register is named
        require_columns(mapping, [C.NAME], "boundaries", raw.columns, source=path)

    # --- geometry -------------------------------------------------------------------------
    if is_geo:
        geom_header = raw.geometry.name
        geoms, source_crs = lonlat_geometry(raw, default_crs, source=path)
        geoms = list(geoms)
    elif WKT in mapping:
        geom_header = header(WKT)
        source_crs = default_crs
        geoms = []
        for pos, value in enumerate(cells(WKT)):
            text = clean_text(value)
            try:
                geoms.append(shapely.from_wkt(text) if text else None)
            except shapely.errors.GEOSException as exc:
                problems.add(pos, geom_header, f"not valid WKT ({exc})")
                geoms.append(None)
    else:
        raise ColumnError(
            f"{path}: boundaries need polygons: use GeoJSON, GeoPackage, Shapefile or GeoParquet, "
            "or put WKT in a column named wkt or 几何"
        )
    geometry = [None] * n
    repaired: list[str | None] = [None] * n
    for pos, geom in enumerate(geoms):
        if pos in problems and geom is None:
            continue
        reason = _lonlat_problem(geom)
        if reason:
            problems.add(pos, geom_header, reason)
            continue
        try:
            fixed, note = repair_polygon(geom)
        except ValueError as exc:
            problems.add(pos, geom_header, str(exc))
            continue
        geometry[pos] = fixed
        repaired[pos] = note
    if source_crs in ("gcj02", "bd09"):
        idx = [p for p, g in enumerate(geometry) if g is not None]
        converted = geometry_to_wgs84([geometry[p] for p in idx], source_crs)
        for p, g in zip(idx, converted):
            geometry[p] = g

    # --- codes, names, parents, vintage ---------------------------------------------------------
    for pos, code in enumerate(codes):
        if not re.fullmatch(rf"\d{{{digits}}}", code):
            hint = " (pad a 9-digit town code with 000)" if level != "county" and re.fullmatch(r"\d{9}", code) else ""
            problems.add(pos, header(C.CODE), f"{level} code {code!r} is not {digits} digits{hint}")
    for pos, others in find_duplicates(codes, rows).items():
        problems.add(pos, header(C.CODE), f"code {codes[pos]} is duplicated: it also appears in row {', '.join(map(str, others))}")
    names = [clean_text(v) or None for v in cells(C.NAME)]
    if C.NAME in mapping:
        for pos, name in enumerate(names):
            if not name:
                problems.add(pos, header(C.NAME), "name is empty")
    parents: list[str | None] = [None] * n
    for pos, value in enumerate(cells(C.PARENT_CODE)):
        code = codes[pos]
        if not re.fullmatch(rf"\d{{{digits}}}", code):
            continue
        text = clean_text(value)
        if not text:
            parents[pos] = _parent_of(code, level)
            continue
        try:
            parents[pos] = _check_parent(code, text, level)
        except ValueError as exc:
            problems.add(pos, header(C.PARENT_CODE), str(exc))
    vintages: list[int | None] = [None] * n
    for pos, value in enumerate(cells(C.VINTAGE)):
        try:
            vintages[pos] = parse_year(value)
        except ValueError as exc:
            problems.add(pos, header(C.VINTAGE), str(exc))
    if C.LEVEL in mapping:
        for pos, value in enumerate(cells(C.LEVEL)):
            if not clean_text(value):
                continue
            try:
                row_level = normalize_level(value)
            except InputError:
                problems.add(pos, header(C.LEVEL), f"level {clean_text(value)!r} is not county, town or village")
                continue
            if row_level != level:
                problems.add(pos, header(C.LEVEL), f"the row is a {row_level} but the import is --level {level}")

    frame = pd.DataFrame({
        C.CODE: pd.Series(codes, dtype=object),
        C.NAME: pd.Series(names, dtype=object),
        C.LEVEL: level,
        C.PARENT_CODE: pd.Series(parents, dtype=object),
        C.VINTAGE: pd.Series(vintages, dtype="Int64"),
        "repaired": pd.Series(repaired, dtype=object),
        ROW: rows,
    })
    notes = []
    if extra_columns:
        values, notes = other_columns(raw, mapping, rows=rows, columns=columns,
                                      taken=[*frame.columns, C.GEOMETRY])
        for h, column in values.items():
            frame[h] = column
    good = [pos for pos in range(n) if pos not in problems]
    frame = frame.iloc[good].reset_index(drop=True)
    valid = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([geometry[p] for p in good], crs="EPSG:4326"))
    return make_batch(raw, valid, problems, source=path, crs=source_crs, kind="boundaries", columns=mapping,
                      notes=notes)
