"""The result of reading one import file: valid rows, rejected rows and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geogrid.errors import GeogridError, ValidationError
from geogrid.io.formats import ROW, read_notes
from geogrid.io.validate import Problems

__all__ = ["ImportBatch", "REASON", "make_batch"]

#: The column of a rejects table that says why a row was rejected.
REASON = "reason"


@dataclass
class ImportBatch:
    """One file's rows, split into those that can be written and those that cannot.

    Attributes
    ----------
    valid : canonical columns (see :mod:`geogrid.columns`), geometry in EPSG:4326 for
        households and boundaries, and ``_row``, the row number in the file.
    rejects : the rejected rows exactly as read, with the file's own headers, ``_row``
        and ``reason`` (every reason of the row, each naming its column, joined with
        ``"; "``).
    source : the file read.
    crs : the coordinate system the coordinates arrived in (see
        :func:`geogrid.crs.normalize_crs`); ``None`` for persons.
    kind : ``"households"``, ``"persons"`` or ``"boundaries"``.
    problems : ``(row, column, reason)`` for every problem, in row order.
    raw : every row as read (for :meth:`reject`).
    columns : ``{canonical name: the file's header}`` of the columns recognised.
    notes : ``(row, column, note)`` for a valid row that is written with something the
        user should know (a value converted, an empty cell given a default); ``row``
        ``None`` for a note about the whole file.  :meth:`note_lines` sums them up.
    """

    valid: pd.DataFrame
    rejects: pd.DataFrame
    source: Path
    crs: str | None
    kind: str = ""
    problems: list[tuple[int, str, str]] = field(default_factory=list)
    raw: pd.DataFrame | None = field(default=None, repr=False)
    columns: dict[str, str] = field(default_factory=dict)
    notes: list[tuple[int | None, str, str]] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        """Records read from the file (valid + rejected)."""
        return len(self.valid) + len(self.rejects)

    @property
    def ok(self) -> bool:
        return len(self.rejects) == 0

    def error(self, *, limit: int = 20) -> ValidationError | None:
        """A :class:`ValidationError` listing the first ``limit`` problems, or ``None``."""
        if self.ok:
            return None
        lines = [f"  row {row}, column {col}: {reason}" if col else f"  row {row}: {reason}"
                 for row, col, reason in self.problems[:limit]]
        more = len(self.problems) - limit
        if more > 0:
            lines.append(f"  ... and {more} more (write them all with --rejects FILE)")
        return ValidationError(
            f"{self.source}: {len(self.rejects)} of {self.n_rows} rows are invalid, nothing was written:\n"
            + "\n".join(lines)
            + "\nFix them and import again, or import the valid rows with --skip-invalid --rejects FILE",
            self.problems,
        )

    def reject(self, reasons: Mapping[int, tuple[str, str]]) -> None:
        """Move valid rows to the rejects: ``{row number: (canonical column, reason)}``.

        For checks that need the database (a person's household must be registered).
        The rows come from :attr:`raw`, so the rejects file holds them exactly as read,
        and the reason names the column by the file's own header.
        """
        reasons = {int(r): v for r, v in reasons.items() if int(r) in set(self.valid[ROW].tolist())}
        if not reasons:
            return
        if self.raw is None:
            raise GeogridError(f"{self.source}: internal error, the batch keeps no raw rows; please report this")
        header = {r: self.columns.get(col, col) for r, (col, _) in reasons.items()}
        moved = self.raw[self.raw[ROW].isin(list(reasons))].copy()
        reason_col = REASON if REASON not in self.raw.columns else f"_{REASON}"
        moved[reason_col] = [f"{header[r]}: {reasons[r][1]}" for r in moved[ROW]]
        parts = [p for p in (self.rejects, moved) if len(p)]
        self.rejects = pd.concat(parts, ignore_index=True).sort_values(ROW, kind="stable").reset_index(drop=True)
        self.valid = self.valid[~self.valid[ROW].isin(list(reasons))].reset_index(drop=True)
        added = [(r, header[r], why) for r, (_, why) in reasons.items()]
        self.problems = sorted([*self.problems, *added], key=lambda t: t[0])

    def note_lines(self, *, limit: int = 10) -> list[str]:
        """The :attr:`notes` of the rows still valid, one line per column and note, with
        how many rows and the first ``limit`` of them:
        ``身份证号, 2 rows (3, 5): a first-generation ID number ...``."""
        valid = set(self.valid[ROW].tolist()) if ROW in self.valid.columns else set()
        rows: dict[tuple[str, str], list[int]] = {}
        whole: list[str] = []
        for row, column, note in self.notes:
            if row is None:
                line = f"{column}: {note}" if column else note
                if line not in whole:
                    whole.append(line)
            elif row in valid:
                rows.setdefault((column, note), []).append(int(row))
        lines = list(whole)
        for (column, note), where in rows.items():
            where = sorted(set(where))
            shown = ", ".join(map(str, where[:limit])) + (f" and {len(where) - limit} more" if len(where) > limit else "")
            count = f"{len(where)} row{'s' if len(where) > 1 else ''} ({shown})"
            lines.append(f"{column}, {count}: {note}" if column else f"{count}: {note}")
        return lines

    def raise_for_rejects(self) -> None:
        """Raise :meth:`error` when any row was rejected (the all-or-nothing default)."""
        err = self.error()
        if err is not None:
            raise err


def make_batch(
    raw: pd.DataFrame, valid: pd.DataFrame, problems: Problems, *, source: Path, crs: str | None, kind: str,
    columns: Mapping[str, str] | None = None, notes: list[tuple[int | None, str, str]] | None = None,
) -> ImportBatch:
    """Assemble a batch and check that every row of ``raw`` is valid or rejected, never both.

    ``notes`` are ``(position or None, column, note)``, as :attr:`ImportBatch.notes` by row;
    what :func:`~geogrid.io.formats.read_table` noted of the file (:func:`~geogrid.io.formats.read_notes`:
    totals rows left out, the sheet chosen) comes first, as notes on the whole file."""
    bad = problems.positions()
    rejects = raw.iloc[bad].copy()
    reason_col = REASON if REASON not in raw.columns else f"_{REASON}"
    rejects[reason_col] = [problems.reason(p) for p in bad]
    rejects = rejects.reset_index(drop=True)
    valid = valid.reset_index(drop=True)
    seen_valid = set(valid[ROW].tolist()) if ROW in valid.columns else set()
    seen_bad = set(rejects[ROW].tolist())
    expected = set(raw[ROW].tolist())
    if seen_valid & seen_bad or seen_valid | seen_bad != expected or len(valid) + len(rejects) != len(raw):
        lost = sorted(expected - seen_valid - seen_bad)[:10]
        both = sorted(seen_valid & seen_bad)[:10]
        raise GeogridError(
            f"{source}: internal error, rows lost {lost} or both valid and rejected {both}; please report this"
        )
    return ImportBatch(
        valid=valid, rejects=rejects, source=Path(source), crs=crs, kind=kind,
        problems=problems.triples(raw[ROW].to_numpy()), raw=raw, columns=dict(columns or {}),
        notes=[*((None, "", note) for note in read_notes(raw)),
               *((None if pos is None else int(raw[ROW].iat[pos]), column, note) for pos, column, note in notes or ())],
    )
