"""``geogrid export audit``: the audit log to a file, for archiving or for review.

    geogrid export audit -o AUDIT.csv|AUDIT.jsonl [--since 2026-12-01] [--until ...]
                         [--actor NAME] [--action ACTION] [--object-type TYPE] [--result R] [--zh]

The API shows the log a page at a time (``GET /audit``, admins); an archive (a county
keeps six months or more of it) or an auditor's review wants all of it in one file.
The entries are read oldest first, in batches by id, up to the newest entry when the
command starts, so a log of millions of rows is written in bounded memory and entries
appended meanwhile wait for the next export.  Personal numbers are masked as the API
masks them.  CSV is UTF-8 with a BOM (Excel and WPS open it) and no cell starts a
formula; JSON Lines is one entry per line, for log tools.  The file is written under a
temporary name and renamed, so a failure leaves no half file; the command prints the
file's SHA-256, and the export is itself an entry of the log, with the filters, the
count, the last id and that digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Optional

import typer

from geogrid.cli.database import actor, open_engine
from geogrid.cli.transfer import _URL, export_app

__all__ = ["export_audit", "FORMATS", "FIELDS"]

#: extensions written, and what they are
FORMATS = {".csv": "CSV (UTF-8 with a BOM)", ".jsonl": "JSON Lines"}
#: the columns of an entry, and their Chinese headers (``--zh``)
FIELDS = {"id": "编号", "at": "时间(UTC)", "actor": "操作人", "action": "操作", "object_type": "对象类型",
          "object_id": "对象编号", "result": "结果", "purpose": "用途", "detail": "详情"}
#: entries read per transaction
BATCH = 5000


def _when(option: str, value: str | None) -> dt.datetime | None:
    """``value`` as an aware datetime (ISO 8601; without an offset, UTC, as the API reads
    its ``since`` and ``until``)."""
    from geogrid.errors import InputError

    if value is None:
        return None
    try:
        at = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"{option} {value!r}: not a date or time; write it as ISO 8601, e.g. 2026-12-01, "
                         "2026-12-01T08:00 (UTC) or 2026-12-01T08:00+08:00 (Beijing time)") from None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at


def _entry(row) -> dict:
    from geogrid.api.masking import mask_json

    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
    return {"id": row.id, "at": at.astimezone(dt.UTC).isoformat(),
            **mask_json({"actor": row.actor, "action": row.action, "object_type": row.object_type,
                         "object_id": row.object_id, "result": row.result, "purpose": row.purpose,
                         "detail": row.detail})}


class _Writer:
    """Entries to an open text file as CSV or JSON Lines."""

    def __init__(self, f, ext: str, zh: bool):
        import csv

        from geogrid.io.export import escape_cell

        self.f, self.ext = f, ext
        if ext == ".csv":
            self.csv, self.escape = csv.writer(f), escape_cell
            self.csv.writerow([FIELDS[k] if zh else k for k in FIELDS])

    def write(self, entry: dict) -> None:
        if self.ext == ".jsonl":
            self.f.write(json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n")
            return
        detail = entry["detail"]
        entry = {**entry, "detail": None if detail is None else json.dumps(detail, ensure_ascii=False,
                                                                            sort_keys=True)}
        self.csv.writerow(["" if entry[k] is None else self.escape(entry[k]) for k in FIELDS])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@export_app.command("audit")
def export_audit(
    out: Path = typer.Option(..., "--out", "-o", help="FILE.csv or FILE.jsonl"),
    since: Optional[str] = typer.Option(None, "--since", help="Entries at or after this time (ISO 8601; "
                                        "no offset: UTC), e.g. 2026-12-01 or 2026-12-01T00:00+08:00."),
    until: Optional[str] = typer.Option(None, "--until", help="Entries before this time (as --since)."),
    who: Optional[str] = typer.Option(None, "--actor", help="Only this actor's entries (a user name, cli:NAME)."),
    action: Optional[str] = typer.Option(None, "--action", help="Only this action (as GET /audit names it: reveal, list, export.persons, ...)."),
    object_type: Optional[str] = typer.Option(None, "--object-type", help="Only entries about this kind of object."),
    result: Optional[str] = typer.Option(None, "--result", help="Only this result (ok, denied, failed, ...)."),
    zh: bool = typer.Option(False, "--zh", help="Chinese headers (CSV)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    database_url: Optional[str] = _URL,
) -> None:
    """Export the audit log (oldest first) to CSV or JSON Lines, masked as the API shows
    it; prints the file's SHA-256 and logs the export."""
    from geogrid.cli.progress import progress_bar
    from geogrid.db import audit
    from geogrid.db.engine import session_scope
    from geogrid.errors import FileFormatError, GeogridError, InputError
    from geogrid.io.export import temporary_beside

    ext = out.suffix.lower()
    if ext not in FORMATS:
        raise FileFormatError(f"{out}: cannot write {ext or '(no extension)'!r}; use "
                              + " or ".join(f"{e} ({what})" for e, what in FORMATS.items()))
    if not out.parent.exists():
        raise FileFormatError(f"{out}: the folder {out.parent} does not exist")
    start, end = _when("--since", since), _when("--until", until)
    if start and end and end <= start:
        raise InputError(f"--until {until} is not after --since {since}: no entry can match")
    filters = {k: v for k, v in {"actor": who, "action": action, "object_type": object_type, "result": result,
                                 "since": start, "until": end}.items() if v is not None}
    engine = open_engine(database_url)[1]
    try:
        with session_scope(engine) as session:
            upto = audit.last_id(session)
            total = audit.count(session, **filters)
        n = 0
        with temporary_beside(out) as tmp:
            try:
                with open(tmp, "w", encoding="utf-8-sig" if ext == ".csv" else "utf-8", newline="") as f, \
                        progress_bar(quiet) as progress:
                    writer = _Writer(f, ext, zh)
                    progress("audit entries", 0, total)
                    for rows in audit.batches(engine, upto=upto, size=BATCH, **filters):
                        for row in rows:
                            writer.write(_entry(row))
                        n += len(rows)
                        progress("audit entries", n, max(total, n))
                digest = _sha256(tmp)
            except OSError as exc:  # a full disk, a folder gone, no permission
                was = "the file there before is unchanged" if out.exists() else "no file was written"
                raise GeogridError(f"{out}: could not write the export after {n:,} entries "
                                   f"({exc.strerror or exc}); {was}, and the export is not logged") from None
            logged = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in filters.items()}
            with session_scope(engine, write=True) as session:
                audit.append(session, actor(), "export.audit", "audit_log", None,
                             detail={"file": str(out), "rows": n, "upto_id": upto, "sha256": digest,
                                     "filters": logged})
                os.replace(tmp, out)  # inside the transaction: no file without its entry
    finally:
        engine.dispose()
    typer.echo(f"{n:,} audit entries (up to #{upto}) written to {out}")
    typer.echo(f"SHA-256 {digest}")
