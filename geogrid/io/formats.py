"""Read a table from any of the accepted file formats, as it is in the file.

:func:`read_table` does no validation: headers are the file's own, CSV cells are
strings exactly as written (so ID numbers and leading zeros survive), XLSX cells are
what openpyxl returns (str, int, float, datetime), and vector files keep their
attribute types and geometry in their own CRS.  In a CSV and an XLSX the header is the
first of the first 20 rows holding the most column names an import knows (any spelling
of households', persons' or boundaries' headers), or, where no row holds two, the first
row at least half as full as the fullest: title and subtitle rows above it
("新晃县某村住户名单", "填报单位：某村 | 填报日期：…") and blank lines are skipped, and a
header over two or three rows (坐标 merged over 经度 | 纬度; 位置 over 坐标 over them; a
blank row left under the group row) is read as one
(:mod:`geogrid.io.headerrows`; :func:`read_notes` names its rows).  A ``_row`` column holds the row
number a person sees: the line in a CSV (the first record is line 2 below a header on
line 1), the sheet row in an XLSX, and the feature number (from 1) in a vector file.  Rows with no
value at all (blank lines, formatted-but-empty Excel rows) are not records and are
left out; the row numbers of the others do not change.  Neither are the totals rows of
a CSV or XLSX (a first cell 合计, 总计, 小计 or 共计): they are left out too, and
:func:`read_notes` names them.  Rows and columns hidden in an XLSX sheet (by hand or by
a filter) are read as the others, hiding not being deleting, and :func:`read_notes`
names them (:mod:`geogrid.io.xlsx`).
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from pathlib import Path

import pandas as pd
import shapely

from geogrid.errors import EncodingError, FileFormatError
from geogrid.io.encoding import decode_bytes, detect_encoding
from geogrid.io.headerrows import READ, find_header, header_note
from geogrid.io.xlsx import read_sheet

__all__ = ["FORMATS", "ROW", "format_of", "read_table", "cut_off", "read_notes"]

#: The row-number column added by :func:`read_table`.
ROW = "_row"

#: File extension -> format name, for everything :func:`read_table` accepts.
FORMATS = {
    ".csv": "CSV",
    ".txt": "CSV",
    ".xlsx": "XLSX",
    ".xlsm": "XLSX",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".shp": "Shapefile",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
}

_ACCEPTED = "CSV (.csv), XLSX (.xlsx), GeoJSON (.geojson), GeoPackage (.gpkg), Shapefile (.shp) or GeoParquet (.parquet)"
_DELIMITERS = (",", "\t", ";", "|")


def format_of(path: str | os.PathLike) -> str:
    """The format name of ``path`` by its extension, or :class:`FileFormatError`.

    >>> format_of("村户表.XLSX")
    'XLSX'
    """
    suffix = Path(path).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    if suffix in (".xls", ".et", ".wps"):
        raise FileFormatError(
            f"{path}: old Excel/WPS workbooks ({suffix}) are not read; "
            f"open it and save as .xlsx, or export {_ACCEPTED}"
        )
    raise FileFormatError(f"{path}: unknown file type {suffix or '(no extension)'!r}; use {_ACCEPTED}")


def read_table(path: str | os.PathLike, *, layer: str | int | None = None, encoding: str | None = None):
    """Read ``path`` into a DataFrame (CSV, XLSX) or GeoDataFrame (vector formats).

    Parameters
    ----------
    path : the file; its extension chooses the reader (see :data:`FORMATS`).
    layer : the sheet of an XLSX or the layer of a GeoPackage (name or 0-based index);
        by default the first sheet, or the only layer.
    encoding : of a CSV, or of a Shapefile without a ``.cpg``; detected when ``None``.

    Raises :class:`FileFormatError` for a missing, unknown or corrupt file and
    :class:`EncodingError` for text that cannot be decoded.
    """
    path = Path(path)
    fmt = format_of(path)
    if not path.exists():
        raise FileFormatError(f"{path}: no such file")
    if fmt == "CSV":
        df = _drop_totals_rows(_read_csv(path, encoding))
    elif fmt == "XLSX":
        df = _note_hidden(_drop_totals_rows(_read_xlsx(path, layer)))
    elif fmt == "GeoParquet":
        df = _read_parquet(path)
    else:
        df = _read_vector(path, layer, encoding)
    return df


def _number_rows(df: pd.DataFrame, first: int) -> pd.DataFrame:
    """Add :data:`ROW` from ``first``; a ``_row`` the file already has (a rejects file
    read back) is renamed ``_row_before``."""
    if ROW in df.columns:
        df = df.rename(columns={ROW: f"{ROW}_before"})
    df[ROW] = range(first, first + len(df))
    return _drop_blank_rows(df)


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _blank_mask(series: pd.Series) -> pd.Series:
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype("string").str.strip()
        return text.isna() | (text == "")
    return series.isna()


def _drop_blank_rows(df: pd.DataFrame) -> pd.DataFrame:
    data = [c for c in df.columns if c != ROW and c != getattr(df, "_geometry_column_name", None)]
    if df.empty or not data:
        return df
    blank = pd.Series(True, index=df.index)
    for col in data:
        blank &= _blank_mask(df[col])
        if not blank.any():
            return df
    geom = getattr(df, "_geometry_column_name", None)
    if geom in df.columns:
        blank &= df[geom].isna()
    return df.loc[~blank].reset_index(drop=True) if blank.any() else df


_TOTALS = re.compile(r"(合计|总计|小计|共计)(?:$|[:：(（\d])")
_NOTES = "geogrid_read_notes"


def _totals_label(value) -> str | None:
    """The word of a cell that opens a totals row (合计, 合  计, 总计：5户, 小计(3户)), else None."""
    if not isinstance(value, str):
        return None
    m = _TOTALS.match(re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)))
    return m[1] if m else None


def _drop_totals_rows(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without its totals rows: those whose first non-blank cell is 合计, 总计, 小计
    or 共计 (a register summed up below its households, or a group's 小计 after it).  They
    hold no record, and read as one they were rejected for their empty cells, failing
    the whole import; :func:`read_notes` names the rows left out."""
    data = [c for c in df.columns if c != ROW]
    totals: list[tuple[int, str]] = []
    for pos, cells in enumerate(df[data].itertuples(index=False, name=None)):
        first = next((v for v in cells if not _blank(v)), None)
        label = _totals_label(first)
        if label:
            totals.append((pos, label))
    if not totals:
        return df
    rows = df[ROW].to_numpy()
    notes = df.attrs.get(_NOTES, [])
    numbers = [int(rows[p]) for p, _ in totals]
    words = ", ".join(dict.fromkeys(w for _, w in totals))
    shown = ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}" if len(numbers) > 1 else str(numbers[0])
    are = ("rows {} are totals rows ({}), not records" if len(numbers) > 1
           else "row {} is a totals row ({}), not a record")
    notes = [*notes, are.format(shown, words) + ": left out"]
    out = df.drop(index=df.index[[p for p, _ in totals]]).reset_index(drop=True)
    out.attrs = {**df.attrs, _NOTES: notes}
    return out


def read_notes(raw: pd.DataFrame) -> list[str]:
    """What :func:`read_table` did to the file that its reader should be told: the totals
    rows it left out, the sheet it chose, the rows of a header read as one, the hidden
    rows and columns it read."""
    return list(raw.attrs.get(_NOTES, []))


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            new = f"{name}.{seen[name]}"
            while new in seen:
                seen[name] += 1
                new = f"{name}.{seen[name]}"
            seen[new] = 0
            out.append(new)
        else:
            seen[name] = 0
            out.append(name)
    return out


# --- CSV -------------------------------------------------------------------------------


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    data = path.read_bytes()
    text = decode_bytes(data, encoding=encoding, name=path)
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise FileFormatError(f"{path}: the file is empty; the first row must hold the column headers")
    # the first line with a delimiter decides: a title row above the header may have none
    first = next((line for line in text.split("\n", 20)[:20] if any(d in line for d in _DELIMITERS)), "")
    sep = max(_DELIMITERS, key=first.count) if first else ","
    data_line, data_chars, names, note = _csv_header(text, sep)
    if names is None:  # a header of one row, read by pandas
        body = text[data_chars:]
    else:  # two rows, read into one line of names
        head = io.StringIO()
        csv.writer(head, delimiter=sep, lineterminator="\n").writerow(["" if n is None else n for n in names])
        body = head.getvalue() + text[data_chars:]
    try:
        df = pd.read_csv(
            io.StringIO(body),
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a readable CSV file ({exc}); check quotes and separators") from None
    df = df.astype(object)
    df = _number_rows(df, data_line)
    if note:
        df.attrs[_NOTES] = [note([c for c in df.columns if c != ROW])]
    if not text.endswith(("\n", "\r")) and len(df):
        last = text.rsplit("\n", 1)[-1]
        fields = len(next(csv.reader([last], delimiter=sep), []))
        width = len(df.columns) - 1  # without ROW
        if fields < width:
            df.attrs[_CUT_OFF] = (int(df[ROW].iloc[-1]), fields, width)
    return df


def _csv_header(text: str, sep: str):
    """``(line, characters, names, note)`` of a CSV's header, found as in an XLSX
    (:func:`~geogrid.io.headerrows.find_header`): the line of the first record and the
    characters to skip before pandas reads on; for a header of one row, its names are
    pandas' to read (``names`` and ``note`` are ``None``), else ``names`` are those its rows
    give together and ``note(columns)`` says so.  The rows above the header are a title such as
    "新晃县某村住户名单" saved from a merged cell, blank lines."""
    ends: list[tuple[int, int]] = []  # (lines, characters) read after each record
    read = [0, 0]

    def lines():
        for line in io.StringIO(text, newline=""):
            read[0] += 1
            read[1] += len(line)
            yield line

    rows = []
    try:
        for record in csv.reader(lines(), delimiter=sep):
            rows.append(tuple(record))
            ends.append((read[0], read[1]))
            if len(rows) == READ:  # the header is among 20, its sub-rows a few below
                break
    except csv.Error:  # pandas says what is wrong with the file
        return 2, 0, None, None
    starts = [(0, 0), *ends]  # (lines, characters) read before each record
    first, last, names = find_header(rows)
    if first < 0:
        return 2, 0, None, None
    if first == last:
        return starts[first][0] + 2, starts[first][1], None, None
    numbers = [line + 1 for line, _ in starts]
    return ends[last][0] + 1, ends[last][1], names, lambda columns: header_note(rows, first, last, numbers, columns)


_CUT_OFF = "geogrid_cut_off"


def cut_off(raw: pd.DataFrame) -> tuple[int, str] | None:
    """``(position, reason)`` of a CSV's last row when the file ends in the middle of it
    (fewer cells than headers and no line break at the end: a copy or export that did not
    finish), else ``None``.  Its missing cells read as empty, so without this the row
    would pass with what it lost."""
    mark = raw.attrs.get(_CUT_OFF)
    if not mark or not len(raw) or int(raw[ROW].iloc[-1]) != mark[0]:
        return None
    _, fields, width = mark
    return len(raw) - 1, (
        f"the row has {fields} of the file's {width} columns and the file ends in it, without a line "
        "break: the file looks cut off (a copy or export that did not finish); export it again")


# --- XLSX ------------------------------------------------------------------------------


def _read_xlsx(path: Path, layer: str | int | None) -> pd.DataFrame:
    sheet = read_sheet(path, layer)
    rows = sheet.rows
    first, head, cells = find_header(rows)
    if head < 0:
        raise FileFormatError(f"{path}: sheet {sheet.title!r} is empty; the first row must hold the column headers")
    width = max(len(r) for r in rows)
    header = list(cells) + [None] * (width - len(cells))
    body = [list(r) + [None] * (width - len(r)) for r in rows[head + 1 :]]
    keep = [j for j in range(width) if not _blank(header[j]) or any(not _blank(r[j]) for r in body)]
    names = _dedupe([str(header[j]).strip() if not _blank(header[j]) else f"Unnamed: {j}" for j in keep])
    records = [["" if r[j] is None else r[j] for j in keep] for r in body]
    df = pd.DataFrame(records, columns=names, dtype=object)
    df = _number_rows(df, head + 2)
    notes = list(sheet.notes)
    if first < head:
        notes = [header_note(rows, first, head, list(range(1, len(rows) + 1)), names), *notes]
    if uncomputed := [(r, c) for r, c in sheet.uncomputed if r > head + 1 and c - 1 in keep]:
        notes.append(_uncomputed_note(sheet.title, uncomputed))
    if notes:
        df.attrs[_NOTES] = notes
    hidden_columns = [(j + 1, name) for j, name in zip(keep, names) if j + 1 in sheet.hidden_columns]
    if sheet.hidden_rows or hidden_columns:
        df.attrs[_HIDDEN] = (sheet.title, sheet.hidden_rows, hidden_columns)
    return df


def _uncomputed_note(title: str, cells: list[tuple[int, int]]) -> str:
    """What to tell of the cells of sheet ``title`` whose formulas have no saved result."""
    from openpyxl.utils import get_column_letter

    named = [f"{get_column_letter(c)}{r}" for r, c in cells]
    shown = (", ".join(named[:10]) + f" and {len(named) - 10} more" if len(named) > 10
             else ", ".join(named[:-1]) + f" and {named[-1]}" if len(named) > 1 else named[0])
    many = len(named) > 1
    return (f"{'cells' if many else 'cell'} {shown} of sheet {title!r} {'hold formulas' if many else 'holds a formula'} "
            "whose result the file does not keep (a workbook a program wrote, never saved by Excel or WPS) "
            f"and {'were' if many else 'was'} read as empty, though Excel shows a value: open the file "
            "in Excel or WPS, save it, and import it again")


_HIDDEN = "geogrid_hidden"


def _note_hidden(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a note naming the records of its sheet that were hidden (by hand or by
    a filter) and the columns, all read as the others: hiding a row in Excel does not
    delete it, and a register read otherwise than it looks should say so."""
    if _HIDDEN not in df.attrs:
        return df
    title, hidden_rows, hidden_columns = df.attrs[_HIDDEN]
    said = []
    rows = [int(r) for r in df[ROW] if int(r) in hidden_rows]
    if rows:
        shown = (", ".join(map(str, rows[:10])) + f" and {len(rows) - 10} more" if len(rows) > 10
                 else ", ".join(map(str, rows[:-1])) + f" and {rows[-1]}" if len(rows) > 1 else str(rows[0]))
        said.append(f"{'rows' if len(rows) > 1 else 'row'} {shown} of sheet {title!r} "
                    f"{'are' if len(rows) > 1 else 'is'} hidden (by hand or by a filter) and "
                    f"{'were' if len(rows) > 1 else 'was'} read as the others: hiding a row does not delete it; "
                    "delete the rows that are no records, or unhide them to check them")
    if hidden_columns:
        from openpyxl.utils import get_column_letter

        shown = ", ".join(f"{get_column_letter(j)} ({name})" for j, name in hidden_columns)
        many = len(hidden_columns) > 1
        said.append(f"{'columns' if many else 'column'} {shown} of sheet {title!r} {'are' if many else 'is'} "
                    f"hidden and {'were' if many else 'was'} read as the others; unhide "
                    f"{'them' if many else 'it'} to check {'them' if many else 'it'}")
    df.attrs = {k: v for k, v in df.attrs.items() if k != _HIDDEN}
    if said:
        df.attrs[_NOTES] = [*df.attrs.get(_NOTES, []), *said]
    return df


# --- vector formats ------------------------------------------------------------------------


def _dbf_encoding(shp: Path) -> str | None:
    """The encoding of a Shapefile's ``.dbf`` when no ``.cpg`` names it, by detection."""
    if any(shp.with_suffix(s).exists() for s in (".cpg", ".CPG")):
        return None
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    data = dbf.read_bytes()
    if len(data) < 32 or data[29] != 0:  # a language driver id says it already
        return None
    header_len = int.from_bytes(data[8:10], "little")
    names = b"".join(data[o : o + 11].rstrip(b"\0") + b" " for o in range(32, header_len - 1, 32))
    text = names + data[header_len:].rstrip(b"\x1a")
    if text.isascii():
        return None
    try:
        return detect_encoding(text, name=dbf)
    except EncodingError:
        return None


def _read_vector(path: Path, layer: str | int | None, encoding: str | None):
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    kwargs = {}
    if path.suffix.lower() == ".shp":
        if not path.with_suffix(".dbf").exists() and not path.with_suffix(".DBF").exists():
            raise FileFormatError(f"{path}: the Shapefile's .dbf is missing; copy all its files (.shp .shx .dbf .prj .cpg)")
        encoding = encoding or _dbf_encoding(path)
        if encoding:
            kwargs["encoding"] = "gb18030" if encoding.lower() == "gbk" else encoding
    try:
        if layer is None:
            layers = pyogrio.list_layers(path)
            if len(layers) > 1:
                raise FileFormatError(
                    f"{path}: has {len(layers)} layers ({', '.join(str(n) for n in layers[:, 0])}); choose one with --layer"
                )
        gdf = pyogrio.read_dataframe(path, layer=layer, **kwargs)
    except (DataSourceError, DataLayerError, ValueError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: not a readable {format_of(path)} file ({exc})") from None
    except shapely.errors.GEOSException as exc:  # a geometry GEOS cannot build: a ring not closed...
        raise FileFormatError(_unbuildable(path, layer, kwargs, exc)) from None
    gdf = gdf.reset_index(drop=True)
    return _number_rows(gdf, 1)


def _unbuildable(path: Path, layer, kwargs: dict, exc: Exception) -> str:
    """The message for a vector file with geometry GEOS refuses to build, naming its features."""
    import pyogrio.raw

    try:
        _, _, wkb, _ = pyogrio.raw.read(path, layer=layer, columns=[], **kwargs)
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
        bad = [i + 1 for i, (w, g) in enumerate(zip(wkb, geoms)) if w is not None and g is None]
    except Exception:  # the message below still names the file and the problem
        bad = []
    why = str(exc).split(": ", 1)[-1]
    where = ""
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        where = f" in feature{'s' if len(bad) > 1 else ''} {shown}"
    return (f"{path}: a geometry cannot be read{where} ({why}); a polygon's rings need four points or more, "
            "the last the same as the first. Fix it in QGIS (Vector → Geometry Tools → Fix Geometries) and import again; nothing was read")


def _read_parquet(path: Path):
    import geopandas as gpd

    try:
        df = gpd.read_parquet(path)
    except ValueError as exc:
        if "geo" not in str(exc).lower():
            raise FileFormatError(f"{path}: not a readable GeoParquet file ({exc})") from None
        try:
            df = pd.read_parquet(path)  # plain Parquet: a table without geometry
        except Exception as exc2:
            raise FileFormatError(f"{path}: not a readable Parquet file ({exc2})") from None
    except Exception as exc:  # pyarrow.ArrowInvalid and friends
        raise FileFormatError(f"{path}: not a readable GeoParquet file ({exc})") from None
    df = df.reset_index(drop=True)
    return _number_rows(df, 1)
