"""Write tables to GeoJSON, GeoPackage, CSV or XLSX, chosen by the file extension.

CSV is UTF-8 with a byte-order mark, so that Excel opens Chinese text correctly.  In
CSV and XLSX, text cells beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return get a leading apostrophe so that no formula runs when the file is opened
(OWASP "CSV injection"); numbers stay numbers.  geogrid's readers remove that
apostrophe again, so an exported file imports unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geogrid import columns as C
from geogrid.errors import FileFormatError
from geogrid.io.batch import ImportBatch

__all__ = ["WRITE_FORMATS", "escape_cell", "escape_formulas", "temporary_beside", "to_chinese", "write_table",
           "write_rejects"]

#: Extensions :func:`write_table` writes.
WRITE_FORMATS = {".geojson": "GeoJSON", ".gpkg": "GPKG", ".csv": "CSV", ".xlsx": "XLSX"}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_XLSX_CELL_LIMIT = 32767
#: Extra Chinese headers for columns that :data:`geogrid.columns.ZH_HEADERS` does not name.
_ZH_EXTRA = {"village_name": "村名", "repaired": "修复说明", "_row": "行号", "arrived_crs": "原坐标系"}


@contextlib.contextmanager
def temporary_beside(path: Path) -> Iterator[Path]:
    """A temporary name beside ``path`` (its folder, so that ``os.replace(tmp, path)`` is
    atomic; hidden, with the process's id) to write a file whole under; whatever is left
    there when the block ends (the file not renamed after a failure, and the journal a
    GeoPackage's SQLite keeps beside it) is removed.  Every file geogrid writes goes so:
    a failure leaves the file that was there before, or none."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix.lower()}")
    try:
        yield tmp
    finally:
        for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in ("-journal", "-wal", "-shm"))):
            if leftover.exists():
                leftover.unlink()


def escape_cell(value):
    """``value`` with a ``'`` in front where, as text, it would start a formula in Excel
    or WPS (``=``, ``+``, ``-``, ``@``, a tab or a carriage return first)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and headers) cannot start a formula.

    >>> escape_formulas(pd.DataFrame({"a": ["=1+1", "ok"], "b": [-3.5, 2.0]}))["a"].tolist()
    ["'=1+1", 'ok']
    """
    out = df.copy()
    for col in out.columns:
        if col == getattr(out, "_geometry_column_name", None):
            continue
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_datetime64_any_dtype(out[col])):
            escaped = out[col].map(escape_cell)
            out[col] = escaped.astype(object) if out[col].dtype == object else escaped
    out.columns = [escape_cell(c) for c in out.columns]
    return out


def _zh_tags(value):
    if not isinstance(value, str) or not value:
        return value
    return "、".join(C.ZH_PERSON_TAGS.get(t, t) for t in value.split(";") if t)


def _zh_bool(value):
    if value is True or value is np.True_:
        return "是"
    if value is False or value is np.False_:
        return "否"
    return value


def to_chinese(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with Chinese headers and Chinese words for coded values."""
    out = df.copy()
    coded = {
        C.CARE_LEVEL: lambda v: C.ZH_CARE_LEVELS.get(v, v),
        C.GENDER: lambda v: C.ZH_GENDERS.get(v, v),
        C.LEVEL: lambda v: C.ZH_AREA_LEVELS.get(v, v),
        C.TAGS: _zh_tags,
        C.PARTY_MEMBER: _zh_bool,
    }
    for col, fn in coded.items():
        if col in out.columns:
            out[col] = out[col].astype(object).map(fn)
    names = {**_ZH_EXTRA, **C.ZH_HEADERS}
    if C.CODE in out.columns and C.ID_NUMBER not in out.columns:
        names[C.NAME] = "名称"  # an area's name, not a person's (姓名)
    geom = getattr(out, "_geometry_column_name", None)
    return out.rename(columns={c: names[c] for c in out.columns if c in names and c != geom})


def _as_text_table(df: pd.DataFrame) -> pd.DataFrame:
    """A plain DataFrame for CSV/XLSX: point geometry dropped if lon/lat are there, else WKT."""
    if not isinstance(df, gpd.GeoDataFrame) or df._geometry_column_name not in df.columns:
        return pd.DataFrame(df)
    geom = df._geometry_column_name
    types = set(df.geometry.dropna().geom_type)
    has_lonlat = {C.LON, C.LAT} <= set(df.columns) or {"经度", "纬度"} <= set(df.columns)
    out = pd.DataFrame(df)
    if types <= {"Point"} and has_lonlat:
        return out.drop(columns=geom)
    out[geom] = [None if g is None else shapely.to_wkt(g, rounding_precision=-1) for g in df.geometry]
    return out


def _as_geo(df: pd.DataFrame, path: Path) -> gpd.GeoDataFrame | pd.DataFrame:
    if isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df.columns:
        out = df
        if out.crs is not None and out.crs.to_epsg() != 4326:
            out = out.to_crs(4326)
        elif out.crs is None:
            out = out.set_crs(4326)
    else:
        lon = next((c for c in (C.LON, "经度") if c in df.columns), None)
        lat = next((c for c in (C.LAT, "纬度") if c in df.columns), None)
        if lon and lat:
            out = gpd.GeoDataFrame(
                df, geometry=gpd.points_from_xy(pd.to_numeric(df[lon]), pd.to_numeric(df[lat])), crs=4326
            )
        elif path.suffix.lower() == ".gpkg":
            out = pd.DataFrame(df)  # GeoPackage holds attribute-only tables too
        else:
            raise FileFormatError(f"{path}: GeoJSON needs geometry or lon/lat columns; write CSV or XLSX instead")
    out = out.copy()
    for col in out.columns:
        if out[col].dtype == object and col != getattr(out, "_geometry_column_name", None):
            values = out[col].tolist()
            if any(isinstance(v, (dt.date, dt.datetime)) for v in values):
                out[col] = [v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v for v in values]
    return out


def _xlsx_safe(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            values = []
            for v in out[col].tolist():
                if isinstance(v, str):
                    if len(v) > _XLSX_CELL_LIMIT:
                        raise FileFormatError(
                            f"{path}: a cell of column {col!r} has {len(v):,} characters, more than the "
                            f"{_XLSX_CELL_LIMIT:,} Excel allows (large polygons?); write GeoJSON or GeoPackage"
                        )
                    v = ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) or None
                elif isinstance(v, (dt.datetime, pd.Timestamp)) and v.tzinfo is not None:
                    v = v.replace(tzinfo=None)
                values.append(v)
            out[col] = pd.Series(values, index=out.index, dtype=object)
    return out


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, zh: bool = False, layer: str | None = None) -> Path:
    """Write ``df`` to ``path`` as GeoJSON, GeoPackage, CSV or XLSX (by extension).

    ``df`` is not modified.  GeoJSON and GeoPackage are written in EPSG:4326; a plain
    DataFrame with lon/lat gets Point geometry.  In CSV and XLSX, Point geometry is
    dropped when lon/lat columns carry it and other geometry becomes WKT.  With
    ``zh=True`` headers and coded values are Chinese (see :func:`to_chinese`).  The file
    is written to a temporary name and then renamed, so a failure leaves no half file.
    Returns the path written.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in WRITE_FORMATS:
        raise FileFormatError(
            f"{path}: cannot write {ext or '(no extension)'!r}; use .geojson, .gpkg, .csv or .xlsx"
        )
    if not path.parent.exists():
        raise FileFormatError(f"{path}: the folder {path.parent} does not exist")
    out = to_chinese(df) if zh else df
    with temporary_beside(path) as tmp:
        if ext == ".csv":
            table = escape_formulas(_as_text_table(out))
            table.to_csv(tmp, index=False, encoding="utf-8-sig")
        elif ext == ".xlsx":
            table = _xlsx_safe(escape_formulas(_as_text_table(out)), path)
            table.to_excel(tmp, index=False, engine="openpyxl")
        else:
            import pyogrio

            geo = _as_geo(out, path)
            driver = WRITE_FORMATS[ext]
            pyogrio.write_dataframe(geo, tmp, driver=driver, layer=layer or (path.stem if ext == ".gpkg" else None))
        os.replace(tmp, path)
    return path


def write_rejects(batch: ImportBatch, path: str | os.PathLike) -> Path:
    """Write the rejected rows of ``batch``, as read, with their ``reason``.

    The format follows the input: an XLSX import gives XLSX rejects, anything else CSV
    (UTF-8 with BOM).  A ``path`` ending in .csv or .xlsx chooses explicitly; a path
    without an extension gets the input's.  Geometry becomes WKT in its own CRS.
    Returns the path written.  The file read is never written over: a ``path`` that is
    it (``--rejects h.csv``, or ``--rejects h`` for ``h.csv``) raises
    :class:`FileFormatError`, which replaced the register with its bad rows.
    """
    path = Path(path)
    source = Path(batch.source)
    family = ".xlsx" if source.suffix.lower() in (".xlsx", ".xlsm") else ".csv"
    ext = path.suffix.lower()
    if not ext:
        path = path.with_suffix(family)
    elif ext not in (".csv", ".xlsx"):
        raise FileFormatError(f"{path}: a rejects file is .csv or .xlsx (the input was {batch.source.name}); use {family}")
    if _same_file(path, source):
        raise FileFormatError(
            f"{path}: is the file being read; written with the rejected rows it would lose the others. "
            f"Name another rejects file, such as {source.with_name(f'{source.stem}.rejected{family}')}; "
            "nothing was written")
    rejects = batch.rejects
    if isinstance(rejects, gpd.GeoDataFrame) and rejects._geometry_column_name in rejects.columns:
        geom = rejects._geometry_column_name
        plain = pd.DataFrame(rejects)
        plain[geom] = [None if g is None else shapely.to_wkt(g, rounding_precision=-1) for g in rejects.geometry]
        rejects = plain
    return write_table(rejects, path)


def _same_file(path: Path, other: Path) -> bool:
    """Whether ``path`` and ``other`` are one file (a link, another spelling of the path)."""
    try:
        return path.exists() and other.exists() and os.path.samefile(path, other)
    except OSError:
        return False
