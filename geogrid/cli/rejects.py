"""Name the rejected rows of an import batch on stderr: every command that reads a file
says which rows it left out and why, whatever else it writes."""

from __future__ import annotations

import typer

__all__ = ["SHOWN", "rejected_rows", "report_rejects"]

#: rejected rows listed on stderr; a rejects file holds all of them
SHOWN = 20

_LABEL_COLUMN = {"household": "household_no", "village": "code", "area": "code"}


def rejected_rows(batch, what: str) -> list[tuple[str, str]]:
    """``(where, why)`` for each rejected row of ``batch``: its row number in the file (as a
    spreadsheet counts them) with its household number, or its code for ``what`` village or
    area, if any, and every reason, each naming its column."""
    from geogrid.io import ROW
    from geogrid.io.validate import clean_text

    reasons: dict[int, list[str]] = {}
    for row, column, reason in batch.problems:
        reasons.setdefault(row, []).append(f"{column}: {reason}" if column else reason)
    canonical = _LABEL_COLUMN.get(what, "household_no")
    header = batch.columns.get(canonical)
    label = {}
    if header is not None and header in batch.rejects.columns:
        kind = "household" if canonical == "household_no" else what
        label = {int(r): f" ({kind} {clean_text(v)})" for r, v in zip(batch.rejects[ROW], batch.rejects[header])
                 if clean_text(v)}
    return [(f"row {row}{label.get(row, '')}", "; ".join(why)) for row, why in reasons.items()]


def report_rejects(batch, what: str, consequence: str, *, more: str = "") -> None:
    """Name each rejected row of ``batch`` and why on stderr (the first :data:`SHOWN`):
    ``note: N of M {what} rows of FILE were rejected{consequence}:``; ``more`` follows the
    count of those left unnamed."""
    if batch.ok:
        return
    rows = rejected_rows(batch, what)
    typer.echo(f"note: {len(rows)} of {batch.n_rows} {what} rows of {batch.source} were rejected{consequence}:",
               err=True)
    for where, why in rows[:SHOWN]:
        typer.echo(f"note:   {where}: {why}", err=True)
    if len(rows) > SHOWN:
        typer.echo(f"note:   … and {len(rows) - SHOWN} more{more}", err=True)
