"""``geogrid partition``: households (and villages) in, micro-grids and cells out."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from geogrid.cli import app
from geogrid.errors import FileFormatError, InputError


def _read(path: Path, crs: str = "wgs84"):
    """A layer of points or polygons from any file geopandas reads (GeoPackage,
    GeoJSON, Shapefile, FlatGeobuf), or CSV with lon/lat columns, in WGS84.  ``crs``
    says what its longitudes/latitudes are (wgs84, cgcs2000, gcj02, bd09): a GeoJSON
    always claims WGS84, but outlines traced on AMap are GCJ-02 all the same, several
    hundred metres off.  A file in a projected CRS is reprojected."""
    from geogrid.io.coords import wgs84_frame

    return wgs84_frame(_read_layer(path), crs, source=path)


def _read_layer(path: Path):
    import geopandas as gpd
    import pandas as pd

    if not path.exists():
        raise FileFormatError(f"{path} does not exist; check the path")
    if path.suffix.lower() == ".csv":
        df = pd.read_csv(path, dtype=str)
        lon = next((c for c in ("lon", "longitude", "x", "经度") if c in df.columns), None)
        lat = next((c for c in ("lat", "latitude", "y", "纬度") if c in df.columns), None)
        if lon is None or lat is None:
            raise FileFormatError(f"{path} has no lon/lat columns; add them or use a GeoPackage")
        return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df[lon].astype(float),
                                                                 df[lat].astype(float)),
                                crs="EPSG:4326")
    try:
        return gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several kinds
        raise FileFormatError(f"cannot read {path}: {exc}") from None


def _read_households(path: Path, crs: str = "wgs84"):
    """Through geogrid.io when it can (Chinese headers, GCJ-02/BD-09 points, checks),
    else as a plain layer; ``crs`` as for :func:`_read` (a ``坐标系`` column overrides
    it per row)."""
    try:
        from geogrid.io.households import load_households
    except ImportError:
        return _read(path, crs)
    from geogrid.errors import ColumnError

    try:
        batch = load_households(path, crs=crs)
    except ColumnError:
        return _read(path, crs)
    rejected = getattr(batch, "rejects", None)
    if rejected is not None and len(rejected):
        typer.echo(f"note: {len(rejected)} household rows rejected by the import checks", err=True)
    return batch.valid


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


def _partition_register(database_url, name, village_codes, publish=False, quiet=False, **params) -> None:
    """The register in the database -> a new draft plan, in one transaction (a failed
    partition writes nothing); with ``publish``, published in that same transaction,
    archiving the plan published before."""
    from geogrid.cli.progress import progress_bar
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.plans import partition_register
    from geogrid.db.plans import publish as publish_plan
    from geogrid.settings import get_settings

    settings = get_settings(**({"database_url": database_url} if database_url else {}))
    db = make_engine(settings)
    codes = [c.strip() for c in village_codes.split(",") if c.strip()] if village_codes else None
    try:
        with session_scope(db, write=True) as session, progress_bar(quiet) as progress:
            saved = partition_register(session, name=name, created_by=_actor(),
                                       village_codes=codes, progress=progress, **params)
            plan = saved.plan
            if publish:
                plan = publish_plan(session, plan.id)
            plan_id, plan_name, status = plan.id, plan.name, plan.status
    finally:
        db.dispose()
    f = saved.result.figures
    typer.echo(f"{status} plan {plan_id} ({plan_name}): {f.get('households_assigned', 0)} households "
               f"in {f.get('microgrids', 0)} micro-grids and {f.get('cells', 0)} cells; "
               f"mean fill {f.get('mean_fill', float('nan')):.2f}")
    _notes(saved.result)


def _notes(result) -> None:
    for d in result.diagnostics[:20]:
        typer.echo(f"note: {d['message']}", err=True)
    if len(result.diagnostics) > 20:
        typer.echo(f"note: … and {len(result.diagnostics) - 20} more notes", err=True)


@app.command("partition")
def partition_command(
    households: Optional[Path] = typer.Option(
        None, "--households", help="Household points (GeoPackage, GeoJSON, CSV with lon/lat)."),
    villages: Optional[Path] = typer.Option(
        None, "--villages", help="Village polygons with village_code; omitted: derived from households."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="GeoPackage to write, with layers households, microgrids and cells."),
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
    from geogrid.cli.progress import progress_bar
    from geogrid.partition import partition

    hh = _read_households(households, crs)
    vv = _read(villages, villages_crs) if villages is not None else None
    if vv is not None and "village_code" not in vv.columns and "code" in vv.columns:
        vv = vv.rename(columns={"code": "village_code"})
    with progress_bar(quiet) as progress:
        result = partition(hh, vv, engine=engine, progress=progress, **params)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    result.households.to_file(out, layer="households", driver="GPKG")
    result.microgrids.to_file(out, layer="microgrids", driver="GPKG")
    result.cells.to_file(out, layer="cells", driver="GPKG")
    f = result.figures
    typer.echo(f"{f.get('households_assigned', 0)} households in {f.get('microgrids', 0)} micro-grids "
               f"and {f.get('cells', 0)} cells; mean fill {f.get('mean_fill', float('nan')):.2f} -> {out}")
    _notes(result)
