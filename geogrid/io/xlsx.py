"""The cells of an XLSX sheet as they are, and what of it is hidden.

Cadres hide rows and columns of a register (a household moved out, a column of notes) or
filter rows out, and hiding is not deleting: :func:`read_sheet` gives every row, hidden
or not, as openpyxl's read-only mode reads it (a merged cell's value in its first cell),
and says which rows and columns were hidden, so that :func:`~geogrid.io.formats.read_table`
can tell the reader they were read.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from geogrid.errors import FileFormatError
from geogrid.io.headers import known_header

__all__ = ["Sheet", "read_sheet"]

_TRUE = ("1", "true")


@dataclass
class Sheet:
    """One sheet of a workbook.

    title : the sheet's name.
    rows : its rows from the first, each a tuple of cell values (``None`` for an empty
        cell), of the width of its last cell (``()`` for a row with none).
    hidden_rows : the numbers (from 1, as Excel shows them) of the rows hidden, by hand
        or by a filter.
    hidden_columns : the numbers (from 1: A is 1) of the columns hidden.
    notes : what the reader should be told of the choice of sheet.
    uncomputed : ``(row, column)`` (from 1) of the cells holding a formula whose result
        the file does not keep (a workbook a program wrote, never saved by Excel or
        WPS): they read as empty, though Excel shows their values.
    """

    title: str
    rows: list[tuple]
    hidden_rows: set[int] = field(default_factory=set)
    hidden_columns: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    uncomputed: list[tuple[int, int]] = field(default_factory=list)


def read_sheet(path: Path, layer: str | int | None) -> Sheet:
    """The sheet ``layer`` (name or 0-based number) of the workbook ``path``, or when
    ``None`` the one sheet holding a table (:func:`_register_sheet`).  Raises
    :class:`FileFormatError` for a workbook or sheet that cannot be read."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise FileFormatError(f"{path}: not a readable XLSX workbook ({exc}); open and save it again in Excel") from None
    notes: list[str] = []
    try:
        if layer is None:
            ws, notes = _register_sheet(path, wb)
        elif isinstance(layer, int):
            ws = wb.worksheets[layer]
        else:
            ws = wb[layer]
    except (KeyError, IndexError):
        wb.close()
        raise FileFormatError(f"{path}: no sheet {layer!r}; its sheets are {', '.join(wb.sheetnames)}") from None
    try:
        sheet = _cells(ws)
    except Exception as exc:  # openpyxl raises many kinds on corrupt sheets
        raise FileFormatError(f"{path}: sheet {ws.title!r} cannot be read ({exc})") from None
    finally:
        wb.close()
    sheet.notes = notes
    return sheet


def _cells(ws) -> Sheet:
    """The rows of the read-only sheet ``ws`` as ``ws.iter_rows(values_only=True)`` gives them
    with its dimensions reset (a stale ``<dimension>`` element is not trusted), read with
    openpyxl's own sheet parser, which read-only sheets use too, so that the rows and
    columns it finds hidden are at hand when the rows are read (a read-only sheet keeps
    no row or column dimensions)."""
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class Parser(WorkSheetParser):
        """openpyxl's, noting the formulas whose result the file does not keep."""

        uncomputed: list[tuple[int, int]] = []

        def parse_cell(self, element):
            cell = super().parse_cell(element)
            # no result, or an empty one that is no text ("" computed is t="str" with <v></v>)
            if (not element.findtext(VALUE_TAG) and element.get("t") != "str"
                    and element.find(FORMULA_TAG) is not None):
                self.uncomputed.append((cell["row"], cell["column"]))
            return cell

    wb = ws.parent
    rows: list[tuple] = []
    with ws._get_source() as src:
        parser = Parser(src, ws._shared_strings, data_only=wb.data_only, epoch=wb.epoch,
                        date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        parser.uncomputed = []
        for number, cells in parser.parse():
            if number <= len(rows):  # a row given twice: the first is kept, as openpyxl does
                continue
            rows.extend(() for _ in range(len(rows) + 1, number))
            row = [None] * max((cell["column"] for cell in cells), default=0)
            for cell in cells:
                row[cell["column"] - 1] = cell["value"]
            rows.append(tuple(row))
        hidden_rows = {int(r) for r, attrs in parser.row_dimensions.items()
                       if str(attrs.get("hidden", "")).lower() in _TRUE}
        hidden_columns = {j for attrs in parser.column_dimensions.values()
                          if str(attrs.get("hidden", "")).lower() in _TRUE
                          for j in range(int(attrs["min"]), int(attrs.get("max", attrs["min"])) + 1)}
    return Sheet(ws.title, rows, hidden_rows, hidden_columns, uncomputed=parser.uncomputed)


def _register_sheet(path: Path, wb) -> tuple[object, list[str]]:
    """The sheet of ``wb`` to read when none is named, and the note saying which: the one
    sheet whose first 20 rows hold two or more column names an import knows (a 填表说明
    sheet before it, Excel's empty Sheet2 after it are passed over), else the first.  Two
    such sheets (一组 and 二组) are refused with a :class:`FileFormatError`: reading one
    would leave out the other's rows without a word."""
    sheets = wb.worksheets
    if len(sheets) == 1:
        return sheets[0], []
    found = []
    for ws in sheets:
        try:
            ws.reset_dimensions()
            top = [tuple(r) for r in ws.iter_rows(min_row=1, max_row=20, values_only=True)]
        except Exception:  # a corrupt sheet: said when it is the one read
            continue
        if any(sum(known_header(v) for v in row) >= 2 for row in top):
            found.append(ws)
    if len(found) > 1:
        names = [ws.title for ws in found]
        listed = ", ".join(names[:-1]) + f" and {names[-1]}"
        raise FileFormatError(
            f"{path}: sheets {listed} {'both' if len(found) == 2 else 'all'} hold a table; read one at a "
            "time with --layer SHEET (its name or 0-based number), or put their rows in one sheet")
    ws = sheets[0] if not found else found[0]
    notes = [] if ws is sheets[0] else [f"read sheet {ws.title!r} of {len(sheets)} ({', '.join(wb.sheetnames)}): "
                                        "the others hold no column an import knows"]
    if getattr(ws, "sheet_state", "visible") != "visible":
        # what the cadre sees in Excel is another sheet: say which was read
        notes.append(f"sheet {ws.title!r} is hidden in the workbook and was read; unhide it "
                     "(right-click a sheet tab, Unhide) to check it is the register meant")
    return ws, notes
