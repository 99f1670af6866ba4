"""``geogrid sample``: generate the sample county and write it in the import formats."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from geogrid.cli import app


@app.command("sample")
def sample(
    out: Path = typer.Option(Path("sample-county"), "--out", "-o", help="Directory to write the files into."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives identical files."),
    households: int = typer.Option(79_507, "--households", help="Households in the whole county."),
    town: Optional[List[str]] = typer.Option(
        None, "--town", help="Only this town (code or name, e.g. 431227101000 or 波州镇); repeatable."
    ),
    xlsx: bool = typer.Option(False, "--xlsx", help="Also write households.xlsx and persons.xlsx."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Generate the deterministic sample county inside the real Xinhuang outline.

    Writes households.csv and persons.csv (UTF-8 with BOM, Chinese headers, GCJ-02
    coordinates) and county/towns/villages.geojson (WGS84) into --out.
    """
    from geogrid.cli.progress import progress_bar
    from geogrid.sample import generate_county, resolve_towns, write_sample

    resolve_towns(town or None)  # fail fast on an unknown town
    started = time.perf_counter()
    with progress_bar(quiet) as progress:
        county = generate_county(seed=seed, n_households=households, towns=town or None, progress=progress)
        progress("writing", 0, None)
        paths = write_sample(county, out, formats=("csv", "xlsx") if xlsx else ("csv",))
        progress("writing", 1, 1)
    s = county.summary()
    typer.echo(
        f"{s['households']} households, {s['persons']} persons ({s['persons_per_household']:.2f} per household) "
        f"in {s['villages']} villages and {s['towns']} town(s), {time.perf_counter() - started:.1f} s"
    )
    for p in paths:
        typer.echo(f"  {p}")
