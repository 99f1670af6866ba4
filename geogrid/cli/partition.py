"""``geogrid partition``: households (and villages) in, micro-grids and cells out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from geogrid.cli import app
from geogrid.cli.rejects import rejected_rows, report_rejects
from geogrid.errors import GeogridError, InputError


def _read_households(path: Path, crs: str = "wgs84", villages: dict[str, str] | None = None,
                     layer: str | None = None):
    """The households of ``path`` through :func:`geogrid.io.load_households`, as
    ``geogrid import households`` reads them (encoding, header synonyms, the checks,
    GCJ-02/BD-09 points; a ``坐标系`` column overrides ``crs`` per row; a 村名 checked against
    the names of ``villages``, ``{code: name}``, as against the loaded villages, and geogrid's
    columns only), except that a household number is not required.  Returns the :class:`~geogrid.io.ImportBatch`."""
    from geogrid.io import load_households

    sheet = int(layer) if layer is not None and layer.strip().isdigit() else layer
    # geogrid's columns only, as before: the plan's GeoPackage carries none of the file's others
    return load_households(path, crs=crs, require_number=False, villages=villages, layer=sheet,
                           extra_columns=False)


def _read_villages(path: Path, crs: str = "wgs84"):
    """The village outlines of ``path`` through :func:`geogrid.io.load_boundaries`, as
    ``geogrid import boundaries --level village`` reads them (any format, detected
    encoding, 区划代码 or 村代码 headers, polygons repaired or rejected), without
    requiring names.  Returns the :class:`~geogrid.io.ImportBatch`."""
    from geogrid.io import load_boundaries

    return load_boundaries(path, level="village", crs=crs, require_name=False, extra_columns=False)


def _village_names(batch) -> dict[str, str]:
    """``{code: name}`` of the villages read from --villages that have a name."""
    from geogrid import columns as C

    return {code: name for code, name in zip(batch.valid[C.CODE], batch.valid[C.NAME]) if name}


def _code_named_households(households, villages, path: Path) -> None:
    """Give the households that name their village (村名) and code none the code of the
    village of that name in ``villages`` (the --villages batch, read from ``path``), names
    read as ``geogrid import households`` reads them against the loaded villages
    (:func:`geogrid.io.villagenames.code_named_households`): coded, such a household is
    placed and checked against its village's outline as a coded one is (outside it: left out
    with an 'outside_village' note), not put in whichever outline holds its point.  A name
    no village of the file has, or several have, rejects the row.  Outlines that name no
    village leave the names unread (:func:`_unnamed_villages_note` says so)."""
    from geogrid import columns as C
    from geogrid.io.villagenames import code_named_households

    if C.NAME not in villages.columns:
        return
    households.reject(code_named_households(households, _village_names(villages), known=str(path)))


def _reject_uncoded_without_villages(households) -> None:
    """Reject the households that code no village when no --villages is given, in a file
    whose other rows do: one naming its village (村名) has no village the name could be
    read to, one naming none no outline its point could be found in, and either would go
    into no cell, only an engine note saying so.  Rejected, each is named on stderr and
    written to the rejects list with what to pass to place it."""
    from geogrid import columns as C
    from geogrid.io import ROW
    from geogrid.io.headers import VILLAGE, VILLAGE_NAME

    valid = households.valid
    if C.VILLAGE_CODE not in valid.columns:
        return
    code = households.columns.get(C.VILLAGE_CODE, "村代码")
    uncoded = valid[C.VILLAGE_CODE].isna()
    if VILLAGE_NAME in valid.columns:
        named = valid[valid[VILLAGE_NAME].notna() & uncoded]
        households.reject({
            int(row): (VILLAGE, f"the row names its village ({name}) but gives no {code}, and without --villages "
                                "there is no village to read the name to, so it would be in no cell; pass "
                                "--villages FILE (the villages' outlines with their 村代码 and 名称), or give the "
                                f"12-digit village code in a {code} column")
            for row, name in zip(named[ROW], named[VILLAGE_NAME])})
        uncoded &= valid[VILLAGE_NAME].isna()
    if not valid[C.VILLAGE_CODE].notna().any():
        return  # no codes at all: one village's outline is derived from every point
    households.reject({
        int(row): (C.VILLAGE_CODE, f"the row gives no {code}, while others do, and without --villages there is no "
                                  "outline to find its village by its point, so it would be in no cell; give "
                                  "its 12-digit village code, or pass --villages FILE (it then takes the "
                                  "village its point lies in)")
        for row in valid.loc[uncoded, ROW]})


def _unnamed_villages_note(villages, households) -> None:
    """Say so when the households give a 村名 but the outlines of ``villages`` have no name
    column: the names are then checked among the households only, and the households
    with a 村名 and no 村代码 go to the village whose outline holds their point."""
    from geogrid import columns as C
    from geogrid.io.headers import VILLAGE, VILLAGE_NAME

    if C.NAME in villages.columns or VILLAGE not in households.columns:
        return
    valid = households.valid
    said = []
    if C.VILLAGE_CODE in households.columns:
        said.append(f"the households' {households.columns[VILLAGE]} is checked only against the other rows "
                    f"of its {households.columns[C.VILLAGE_CODE]}")
    if VILLAGE_NAME in valid.columns:
        n = int((valid[VILLAGE_NAME].notna() & valid[C.VILLAGE_CODE].isna()).sum())
        if n:
            said.append(f"the {n} households with a {households.columns[VILLAGE]} and no "
                        f"{households.columns.get(C.VILLAGE_CODE, '村代码')} go to the village whose "
                        "outline holds their point")
    if said:
        typer.echo(f"note: {villages.source} names no village (no 名称 or 村名 column): "
                   + "; ".join(said), err=True)


def _report_rejects(batch, what: str) -> None:
    """Name each rejected row of ``batch`` and why on stderr (the first :data:`SHOWN`), and
    what the reader noted of the file (totals rows left out, the sheet read)."""
    for line in batch.note_lines():
        typer.echo(f"note: {batch.source}: {line}", err=True)
    report_rejects(batch, what, " and are left out of the plan" if len(batch.valid) else "")


def _require_some(batch, what: str) -> None:
    """Refuse a file from which no row could be read: nothing to partition."""
    from geogrid.errors import ValidationError

    if len(batch.valid):
        return
    if not batch.n_rows:
        raise InputError(f"no {what} could be read from {batch.source}: it has headers but no rows. "
                         "Nothing was written")
    where, why = rejected_rows(batch, what)[0]
    raise ValidationError(
        f"no {what} could be read from {batch.source}: all {batch.n_rows} rows were rejected, {where} "
        f"because {why}; fix the rows listed above and run again. Nothing was written", batch.problems)


def _rejects_path(out: Path, what: str) -> Path:
    return out.with_name(f"{out.stem}.rejected.csv" if what == "household" else f"{out.stem}.rejected-villages.csv")


def _write_plan(result, out: Path) -> None:
    """The plan into the GeoPackage ``out``, all or nothing: its three layers, the
    engine's notes and the parameters it was drawn with (:func:`geogrid.io.planfile.write_plan`,
    which :func:`geogrid.io.planfile.read_plan` reads back)."""
    from geogrid.io.planfile import write_plan

    write_plan(result, out)


def _write_rejects(batch, out: Path, what: str) -> str | None:
    """All rejected rows of ``batch``, as read and with their reasons, beside ``out``; a
    list left there by an earlier run is removed when this one has none (or no such
    file, ``batch`` None), as it no longer belongs to ``out``.  What went wrong, in
    words, when the list cannot be written or the old one removed (a directory of that
    name, a file another program holds): the plan itself is written by then."""
    from geogrid.io import write_rejects

    path = _rejects_path(out, what)
    try:
        if batch is None or batch.ok:
            if path.exists():
                path.unlink()
            return None
        write_rejects(batch, path)
    except OSError as exc:
        n = 0 if batch is None else len(batch.rejects)
        return (f"the plan is in {out}, but the list of the {n} rejected {what} rows could not be "
                f"written to {path} ({exc.strerror or exc}); the first are named above")
    typer.echo(f"note: all {len(batch.rejects)} rejected {what} rows, as read and with their reasons, "
               f"are in {path}", err=True)
    return None


def _partition_register(database_url, name, village_codes, publish=False, quiet=False, **params) -> None:
    """The register in the database -> a new draft plan (:func:`geogrid.db.registerpartition.partition_register`
    given the engine): the register is read, the partition computed with no transaction
    open (other writers are not locked out meanwhile), then the plan saved in one write
    transaction (a failed save writes nothing); with ``publish``, published in that same
    transaction, archiving the plan published before."""
    from geogrid.cli.database import actor, open_engine
    from geogrid.cli.progress import progress_bar
    from geogrid.db.registerpartition import partition_register

    _, db = open_engine(database_url)
    codes = [c.strip() for c in village_codes.split(",") if c.strip()] if village_codes else None
    try:
        with progress_bar(quiet) as progress:
            saved = partition_register(db, name=name, created_by=actor(), village_codes=codes,
                                       progress=progress, publish=publish, **params)
    finally:
        db.dispose()
    plan = saved.plan
    f = saved.result.figures
    typer.echo(f"{plan.status} plan {plan.id} ({plan.name}): {f.get('households_assigned', 0)} households "
               f"in {f.get('microgrids', 0)} micro-grids and {f.get('cells', 0)} cells; "
               f"mean fill {f.get('mean_fill', float('nan')):.2f}")
    _notes(saved.result, "are kept with the plan: the web map's planner lists them (Notes), and the API "
                         f"gives them at /api/v1/plans/{plan.id}/notes")


def _notes(result, kept: str) -> None:
    """The first 20 of the engine's notes on stderr, and ``kept``: where all of them are."""
    for d in result.diagnostics[:20]:
        typer.echo(f"note: {d['message']}", err=True)
    n = len(result.diagnostics)
    if n > 20:
        typer.echo(f"note: … and {n - 20} more notes", err=True)
    if n:
        typer.echo(f"note: all {n} notes {kept}", err=True)


@app.command("partition")
def partition_command(
    households: Optional[Path] = typer.Option(
        None, "--households", help="Household points (CSV, XLSX, GeoPackage, GeoJSON, Shapefile, "
        "GeoParquet), read and checked as geogrid import households reads them; a household number "
        "is optional. Rejected rows are named on stderr and left out."),
    villages: Optional[Path] = typer.Option(
        None, "--villages", help="Village polygons with their code (区划代码, 村代码, village_code, code) "
        "and, if it has one, name (名称, 村名), against which a household's 村名 is checked (a 村名 "
        "without a 村代码 gives the household that village's code); read as "
        "geogrid import boundaries --level village reads them; omitted: derived from households, "
        "and a household with no 村代码 (among others that have one) is rejected."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="GeoPackage to write, with layers households, microgrids and cells; "
        "replaced only when complete. Rejected rows, as read and with their reasons, go beside it "
        "as NAME.rejected.csv (and NAME.rejected-villages.csv)."),
    max_households: int = typer.Option(20, help="Most households in one cell."),
    microgrid_km2: float = typer.Option(1.0, help="Target micro-grid area, km²."),
    min_microgrids: int = typer.Option(3, help="Fewest micro-grids per village."),
    max_microgrids: int = typer.Option(5, help="Most micro-grids per village."),
    seed: int = typer.Option(0, help="Seed (the result is deterministic)."),
    layout: str = typer.Option(
        "auto", help="auto (cells first for villages of up to 1,000 households, straight above), "
        "cells_first (cells over the whole village, micro-grids as groups of them: more compact "
        "cells) or straight (micro-grids by straight area cuts first: about 0.6 times the time)."),
    engine: str = typer.Option("auto", help="auto, serial, process or dask."),
    name: Optional[str] = typer.Option(
        None, "--name", help="Name of the draft plan (without --households); default: the date."),
    villages_only: Optional[str] = typer.Option(
        None, "--village-codes", help="Comma-separated village codes to partition (without "
        "--households); default: the whole register."),
    database_url: Optional[str] = typer.Option(
        None, "--database-url", help="Overrides GEOGRID_DATABASE_URL (without --households)."),
    publish: bool = typer.Option(
        False, "--publish", help="Publish the new plan at once, archiving the one published "
        "before (without --households)."),
    crs: str = typer.Option(
        "wgs84", "--crs", help="What the households' longitudes/latitudes are: wgs84, cgcs2000, "
        "gcj02 (AMap, Tencent) or bd09 (Baidu); converted to WGS84, in which the output is."),
    villages_crs: str = typer.Option(
        "wgs84", "--villages-crs", help="The same for the villages' outlines."),
    layer: Optional[str] = typer.Option(
        None, "--layer", help="Sheet of an XLSX or layer of a GeoPackage of --households: its name or "
        "0-based number; default: the one sheet holding a table, or the only layer."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Partition households into micro-grids and cells.

    With --households, reads files and writes --out.  Without, partitions the
    register in the database into a new draft plan.
    """
    params = dict(max_households=max_households, microgrid_km2=microgrid_km2,
                  min_microgrids=min_microgrids, max_microgrids=max_microgrids, seed=seed,
                  layout=layout)
    if households is None:
        if out is not None or villages is not None:
            raise InputError("--out and --villages go with --households FILE; without a file "
                             "the register in the database is partitioned into a draft plan")
        _partition_register(database_url, name, villages_only, publish=publish, engine=engine,
                            quiet=quiet, **params)
        return
    if publish:
        raise InputError("--publish goes with a plan in the database, not with --households FILE")
    if out is None:
        raise InputError("--out OUT.gpkg is required with --households")
    for option, given in (("--households", households), ("--villages", villages)):
        # the plan replaces --out whole: an input named there was lost with its other layers
        if given is not None and out.exists() and given.exists() and os.path.samefile(out, given):
            raise InputError(f"--out {out} is the {option} file, which the plan would replace; write the "
                             f"plan to another file, such as {out.with_name(f'{out.stem}.plan.gpkg')}")
    from geogrid.cli.progress import progress_bar
    from geogrid.partition import partition

    from geogrid import columns as C

    # the villages first: their names check the households' 村名 (the households are named first below)
    vv = _read_villages(villages, villages_crs) if villages is not None else None
    hh = _read_households(households, crs, _village_names(vv) if vv is not None else None, layer)
    if vv is not None:
        _code_named_households(hh, vv, villages)
    else:
        _reject_uncoded_without_villages(hh)
    _report_rejects(hh, "household")
    _require_some(hh, "household")
    if vv is not None:
        _report_rejects(vv, "village")
        _require_some(vv, "village")
        _unnamed_villages_note(vv, hh)
    outlines = vv.valid.rename(columns={C.CODE: C.VILLAGE_CODE}) if vv is not None else None
    with progress_bar(quiet) as progress:
        result = partition(hh.valid, outlines, engine=engine, progress=progress, **params)
    _write_plan(result, out)
    unlisted = [m for m in (_write_rejects(hh, out, "household"), _write_rejects(vv, out, "village")) if m]
    f = result.figures
    rejected = "".join(f"; {len(b.rejects)} of {b.n_rows} {what} rows rejected ({_rejects_path(out, what).name})"
                       for b, what in ((hh, "household"), (vv, "village")) if b is not None and not b.ok)
    typer.echo(f"{f.get('households_assigned', 0)} households in {f.get('microgrids', 0)} micro-grids "
               f"and {f.get('cells', 0)} cells; mean fill {f.get('mean_fill', float('nan')):.2f} -> {out}{rejected}")
    _notes(result, f"are in the layer 'notes' of {out.name}, with the points they are about")
    if unlisted:
        raise GeogridError("; ".join(unlisted))
