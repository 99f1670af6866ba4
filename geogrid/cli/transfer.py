"""``geogrid import`` and ``geogrid export``: the register in and out of files.

    geogrid import households FILE [--crs gcj02] [--columns "户号=household_no"] \\
                                   [--skip-invalid --rejects REJECTS.csv]
    geogrid import persons FILE
    geogrid import boundaries FILE --level county|town|village
    geogrid export households|persons|areas -o FILE.{csv,xlsx,geojson,gpkg} [--zh]

An import is all-or-nothing by default: one invalid row and nothing is written, the
command exits 3 and lists every bad row with its number, column and reason.
``--skip-invalid --rejects FILE`` writes the valid rows and puts every rejected row,
untouched, into FILE with a ``reason`` column.  Importing the same file again updates
rows instead of duplicating them.  Under its summary line an import notes what it did to
rows it wrote (15-digit ID numbers converted, empty 是否党员 cells, the columns a file lacks
that registered rows keep, an ID or phone number typed into 地址, 楼栋, 自然寨, 户主, 姓名 or
与户主关系 masked before it was stored).  Every import and export is audit-logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from geogrid.cli import app
from geogrid.cli.database import actor

import_app = typer.Typer(name="import", help="Import register files into the database.", no_args_is_help=True)
export_app = typer.Typer(name="export", help="Export the register to a file.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")

_URL = typer.Option(None, "--database-url", help="Overrides GEOGRID_DATABASE_URL.")
_COLUMNS = typer.Option(
    None, "--columns",
    help='Header mapping that overrides recognition, e.g. "户号=household_no,村=village_code", '
         "or a JSON file of {header: column}.")
_ENCODING = typer.Option(None, "--encoding", help="CSV encoding; detected when omitted (UTF-8, GBK, GB18030).")
_SKIP = typer.Option(False, "--skip-invalid", help="Write the valid rows even if some are rejected.")
_REJECTS = typer.Option(None, "--rejects", help="Write every rejected row, untouched, with its reason here.")
_LAYER = typer.Option(None, "--layer", help="Sheet of an XLSX or layer of a GeoPackage: its name or 0-based number.")


def _layer(option: str | None) -> str | int | None:
    if option is None:
        return None
    return int(option) if option.strip().isdigit() else option


def _engine(database_url: str | None):
    from geogrid.cli.database import open_engine

    return open_engine(database_url)[1]


def _columns(option: str | None) -> dict | None:
    if not option:
        return None
    path = Path(option)
    if path.suffix.lower() == ".json" and path.exists():
        import json

        return json.loads(path.read_text(encoding="utf-8"))
    from geogrid.io import parse_columns_option

    return parse_columns_option(option)


def _console():
    from rich.console import Console

    return Console(stderr=True)


_WHAT = {"households": "household", "persons": "person", "areas": "area"}


def _finish(batch, kind: str, *, skip_invalid: bool, rejects: Path | None) -> None:
    """Write the rejects file if asked; then refuse the import (all or nothing), or, with
    ``--skip-invalid``, name each rejected row and why on stderr: none goes in silence."""
    from geogrid.cli.rejects import report_rejects
    from geogrid.io import write_rejects

    if rejects is not None and len(batch.rejects):
        written = write_rejects(batch, rejects)
        _console().print(f"{len(batch.rejects)} rejected rows written to {written}")
    if not skip_invalid:
        if len(batch.rejects):
            # what the reading found (rows hidden, the header's rows, the encoding) helps
            # to find the rows refused: a cadre told of row 7 may not see it on screen
            for line in batch.note_lines():
                typer.echo(f"note: {line}", err=True)
        batch.raise_for_rejects()
    report_rejects(batch, _WHAT[kind], " and are not imported",
                   more="" if rejects is not None else " (write them all with --rejects FILE)")


def _write(engine, batch, kind: str, upsert) -> None:
    from geogrid.db import audit
    from geogrid.db.engine import session_scope

    console = _console()
    with console.status(f"writing {len(batch.valid):,} {kind} to the database"):
        with session_scope(engine, write=True) as session:
            counts = upsert(session)
            counts.rejected = len(batch.rejects)
            # what the repository stored otherwise than read (a number in free text, masked),
            # under the file's headers: reported and audited with the reading's notes
            batch.notes += [(row, batch.columns.get(col, col), note) for row, col, note in counts.notes]
            notes = batch.note_lines()
            audit.append(session, actor(), f"import.{kind}", kind, None,
                         detail={"file": str(batch.source), "added": counts.added,
                                 "updated": counts.updated, "unchanged": counts.unchanged,
                                 "rejected": counts.rejected, **({"notes": notes} if notes else {})})
    typer.echo(f"{batch.source}: {batch.n_rows:,} rows read; {counts.added:,} added, "
               f"{counts.updated:,} updated, {counts.unchanged:,} unchanged, "
               f"{counts.rejected:,} rejected")
    for line in notes:  # what was done to rows it wrote: values converted, empty cells given a default
        typer.echo(f"note: {line}")


def _import(database_url, file: Path, kind: str, load, upsert, *, skip_invalid: bool,
            rejects: Path | None, db_check=None) -> None:
    """Read and validate ``file`` (``load(engine) -> ImportBatch``), run the checks that need
    the database (``db_check(engine, batch) -> {row: (column, reason)}``), then write all or nothing
    (``upsert(session, valid_rows)``) in one transaction."""
    engine = _engine(database_url)
    try:
        with _console().status(f"reading and validating {file}"):
            batch = load(engine)
            if db_check is not None:
                batch.reject(db_check(engine, batch))
        _finish(batch, kind, skip_invalid=skip_invalid, rejects=rejects)
        _write(engine, batch, kind, lambda session: upsert(session, batch.valid))
    finally:
        engine.dispose()  # its pooled connections: a process running many commands keeps none


def _county_outline(engine):
    from geogrid.db.areas import areas_frame
    from geogrid.db.engine import session_scope

    with session_scope(engine) as session:
        county = areas_frame(session, "county")
    if county.empty:
        return None
    return county.geometry.union_all()


def _village_names(engine) -> dict[str, str]:
    """``{code: name}`` of the loaded villages: a household's 村名 must agree with its 村代码,
    and a row with a 村名 and no 村代码 takes the code of the village of that name."""
    from geogrid.db.areas import areas_frame
    from geogrid.db.engine import session_scope

    with session_scope(engine) as session:
        villages = areas_frame(session, "village")
    return dict(zip(villages["code"], villages["name"]))


@import_app.command("households")
def import_households(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, XLSX, GeoJSON, GPKG, SHP or GeoParquet."),
    crs: str = typer.Option("wgs84", "--crs", help="Coordinates of the file: wgs84, cgcs2000, gcj02 (AMap, Tencent) or bd09 (Baidu)."),
    columns: Optional[str] = _COLUMNS,
    encoding: Optional[str] = _ENCODING,
    skip_invalid: bool = _SKIP,
    rejects: Optional[Path] = _REJECTS,
    layer: Optional[str] = _LAYER,
    move_villages: bool = typer.Option(
        False, "--move-villages", help="Move a household whose number is registered in another village "
        "to the row's village (it moved there). Without it such rows are rejected: two villages "
        "numbering their households alike (1, 2, 3...) would overwrite each other's."),
    database_url: Optional[str] = _URL,
) -> None:
    """Import households (upsert by household number). Points are converted to WGS84; with
    the county outline loaded, points outside it are rejected; a village name (村名) that
    disagrees with the row's village code (村代码) is rejected, and a row with a name and no
    code takes the code of the loaded village of that name (长乐 finds 长乐村). A row whose
    household number is registered in another village is rejected unless --move-villages.
    A file without a 户主, 地址, 楼栋编号, 自然寨 or 户类别 column leaves those of registered
    households as they are (the building while the point stays)."""
    from geogrid import columns as C
    from geogrid.db.engine import session_scope
    from geogrid.db.households import KEPT_WHEN_ABSENT, upsert_households, village_changes
    from geogrid.io import load_households
    from geogrid.io.villagenames import code_named_households

    villages: dict[str, str] = {}
    given: dict[str, str] = {}  # the file's columns, canonical name -> its header

    def load(engine):
        villages.update(_village_names(engine))
        # geogrid's columns only: the register stores no others (a person's ID number or
        # phone beside them goes into the persons register, masked, with load_persons)
        batch = load_households(file, crs=crs, columns=_columns(columns), encoding=encoding,
                                layer=_layer(layer), county_outline=_county_outline(engine), villages=villages,
                                extra_columns=False)
        given.update(batch.columns)
        return batch

    def upsert(session, valid):
        # a column the file does not have says nothing of the registered households: they
        # keep their 户主, 地址, 楼栋编号 (where they stay), 自然寨 and 户类别
        return upsert_households(session, valid, absent=[c for c in KEPT_WHEN_ABSENT if c not in given])

    def check(engine, batch) -> dict[int, tuple[str, str]]:
        reasons = code_named_households(batch, villages)
        if move_villages:
            return reasons
        with session_scope(engine) as session:
            changes = village_changes(session, batch.valid)
        numbers = dict(zip(batch.valid["_row"].tolist(), batch.valid[C.HOUSEHOLD_NO].tolist()))
        for row, (old, new) in changes.items():
            if row in reasons:
                continue
            no = numbers[row]
            reasons[row] = (C.HOUSEHOLD_NO, (
                f"household number {no!r} is registered in village {_village_label(old, villages)} and this row "
                f"puts it in {_village_label(new, villages)}, with this row's head, address and point: if it is "
                f"another household (villages numbering theirs alike: 1, 2, 3...), give it a number of its own, "
                f"such as {new}-{no}; if the household moved to that village, import with --move-villages"))
        return reasons

    _import(database_url, file, "households", load, upsert, skip_invalid=skip_invalid,
            rejects=rejects, db_check=check)


def _village_label(code: str, names: dict[str, str]) -> str:
    return f"{code} ({names[code]})" if names.get(code) else code


@import_app.command("persons")
def import_persons(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX (or any table format)."),
    columns: Optional[str] = _COLUMNS,
    encoding: Optional[str] = _ENCODING,
    skip_invalid: bool = _SKIP,
    rejects: Optional[Path] = _REJECTS,
    layer: Optional[str] = _LAYER,
    database_url: Optional[str] = _URL,
) -> None:
    """Import persons (upsert by ID number). Each row's household must be registered. A
    file without a 联系电话, 与户主关系, 人员标签 or 是否党员 column leaves those of
    registered persons as they are (性别 and 出生日期 are read from the ID number)."""
    from geogrid import columns as C
    from geogrid.db.engine import session_scope
    from geogrid.db.households import household_ids
    from geogrid.db.persons import KEPT_WHEN_ABSENT, upsert_persons
    from geogrid.io import ROW, load_persons

    given: dict[str, str] = {}  # the file's columns, canonical name -> its header

    def load(engine):
        # geogrid's columns only: the register stores no others
        batch = load_persons(file, columns=_columns(columns), encoding=encoding, layer=_layer(layer),
                             extra_columns=False)
        given.update(batch.columns)
        return batch

    def upsert(session, valid):
        # a column the file does not have says nothing of the registered persons: they keep
        # their 联系电话, 与户主关系 and 人员标签 (是否党员 by upsert_persons' own rule);
        # load_persons reads 性别 and 出生日期 from the ID number when the file has none
        return upsert_persons(session, valid, absent=[c for c in KEPT_WHEN_ABSENT if c not in given
                                                      and c not in (C.GENDER, C.BIRTH_DATE)])

    def unregistered(engine, batch) -> dict[int, tuple[str, str]]:
        with session_scope(engine) as session:
            known = household_ids(session, batch.valid[C.HOUSEHOLD_NO].dropna().unique().tolist())
        return {int(r): (C.HOUSEHOLD_NO, f"household {no!r} is not in the register; import households first")
                for r, no in zip(batch.valid[ROW], batch.valid[C.HOUSEHOLD_NO]) if no not in known}

    _import(database_url, file, "persons", load, upsert, skip_invalid=skip_invalid, rejects=rejects,
            db_check=unregistered)


@import_app.command("boundaries")
def import_boundaries(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="GeoJSON, GPKG, SHP or GeoParquet polygons."),
    level: str = typer.Option(..., "--level", help="county, town or village."),
    crs: str = typer.Option("wgs84", "--crs", help="wgs84, cgcs2000, gcj02 or bd09 (when the file has no CRS of its own)."),
    columns: Optional[str] = _COLUMNS,
    encoding: Optional[str] = _ENCODING,
    skip_invalid: bool = _SKIP,
    rejects: Optional[Path] = _REJECTS,
    layer: Optional[str] = _LAYER,
    database_url: Optional[str] = _URL,
) -> None:
    """Import administrative boundaries of one level (upsert by code)."""
    from geogrid.db.areas import upsert_areas
    from geogrid.io import load_boundaries, normalize_level

    level = normalize_level(level)
    _import(database_url, file, "areas",
            lambda engine: load_boundaries(file, level=level, crs=crs, columns=_columns(columns),
                                           encoding=encoding, layer=_layer(layer), extra_columns=False),
            lambda session, valid: upsert_areas(session, valid, level),
            skip_invalid=skip_invalid, rejects=rejects)


@export_app.command("households")
def export_households(
    out: Path = typer.Option(..., "--out", "-o", help="FILE.csv, .xlsx, .geojson or .gpkg"),
    zh: bool = typer.Option(False, "--zh", help="Chinese headers and values, as registers use."),
    database_url: Optional[str] = _URL,
) -> None:
    """Export every household (with its point) to a file. Coordinates are WGS84 (经度/纬度
    columns and the geometry); the system each point first arrived in is kept as
    arrived_crs (原坐标系), so the file imports back unchanged."""
    from geogrid.db.households import households_frame

    _export(database_url, out, zh, "households", lambda s: _households_for_export(households_frame(s)))


def _households_for_export(households):
    """Households with WGS84 ``lon``/``lat`` columns, ``source_crs`` saying so for every row
    (an import reads that column as the system of the coordinates) and the stored
    arrival system moved to ``arrived_crs``."""
    from geogrid import columns as C
    from geogrid.io.headers import ARRIVED_CRS

    out = households.rename(columns={C.SOURCE_CRS: ARRIVED_CRS})
    at = list(out.columns).index(C.CARE_LEVEL) + 1 if C.CARE_LEVEL in out.columns else len(out.columns)
    present = out.geometry.notna() & ~out.geometry.is_empty
    out.insert(at, C.LON, out.geometry.x.where(present))
    out.insert(at + 1, C.LAT, out.geometry.y.where(present))
    out.insert(at + 2, C.SOURCE_CRS, "wgs84")
    return out


@export_app.command("persons")
def export_persons(
    out: Path = typer.Option(..., "--out", "-o", help="FILE.csv or .xlsx"),
    zh: bool = typer.Option(False, "--zh", help="Chinese headers and values, as registers use."),
    unmasked: bool = typer.Option(False, "--unmasked", help="Full ID and phone numbers; needs --purpose."),
    purpose: Optional[str] = typer.Option(None, "--purpose", help="Why the full numbers are exported (audit-logged)."),
    database_url: Optional[str] = _URL,
) -> None:
    """Export every person. Names, ID and phone numbers are masked unless --unmasked
    --purpose is given; either way the export is audit-logged."""
    from geogrid.db.persons import persons_frame
    from geogrid.errors import InputError

    if unmasked and not (purpose and purpose.strip()):
        raise InputError("--unmasked exports personal data in full: say why with --purpose \"...\"")

    def frame(session):
        people = persons_frame(session)
        if not unmasked:
            people = _mask_persons(people)
        return people.drop(columns=["version"], errors="ignore")

    _export(database_url, out, zh, "persons", frame, purpose=purpose, detail={"unmasked": unmasked})


@export_app.command("areas")
def export_areas(
    out: Path = typer.Option(..., "--out", "-o", help="FILE.geojson, .gpkg, .csv or .xlsx"),
    level: Optional[str] = typer.Option(None, "--level", help="Only county, town or village."),
    zh: bool = typer.Option(False, "--zh", help="Chinese headers and values."),
    database_url: Optional[str] = _URL,
) -> None:
    """Export administrative areas with their polygons."""
    from geogrid.db.areas import areas_frame
    from geogrid.io import normalize_level

    lvl = normalize_level(level) if level else None
    _export(database_url, out, zh, "areas", lambda s: areas_frame(s, lvl))


def _mask_persons(people):
    from geogrid import columns as C
    from geogrid.api.masking import mask_id_number, mask_name, mask_phone

    import pandas as pd

    def each(fn, values):
        return [None if v is None or (isinstance(v, float) and pd.isna(v)) else fn(v) for v in values]

    people = people.copy()
    people[C.NAME] = each(mask_name, people[C.NAME])
    people[C.ID_NUMBER] = each(mask_id_number, people[C.ID_NUMBER])
    people[C.PHONE] = each(mask_phone, people[C.PHONE])
    return people


def _export(database_url, out: Path, zh: bool, kind: str, read, *, purpose=None, detail=None) -> None:
    from geogrid.db import audit
    from geogrid.db.engine import session_scope
    from geogrid.io import write_table

    engine = _engine(database_url)
    try:
        with _console().status(f"exporting {kind} to {out}"):
            with session_scope(engine, write=True) as session:
                frame = read(session)
                write_table(frame.drop(columns=["version"], errors="ignore"), out, zh=zh)
                audit.append(session, actor(), f"export.{kind}", kind, None, purpose=purpose,
                             detail={"file": str(out), "rows": len(frame), **(detail or {})})
    finally:
        engine.dispose()
    typer.echo(f"{len(frame):,} {kind} written to {out}")
