"""One copy of GEOS, PROJ and GDAL per process.

SQLite loads ``mod_spatialite`` with ``RTLD_GLOBAL``, which puts Debian's GEOS and PROJ
into the global symbol scope.  Binary wheels of shapely, pyproj and pyogrio bundle their
own, newer copies (in ``shapely.libs/`` and the like) with the same symbol names; after
the extension is loaded their calls resolve to Debian's copies and memory is corrupted
("double free or corruption", "WKB output dimension must be 2 or 3").  geogrid therefore
builds these three packages from source against Debian's libraries (the Makefile does
it) and checks here that it did.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from geogrid.errors import DatabaseError

__all__ = ["bundled_native_libraries", "check_native_libraries", "FIX"]

PACKAGES = ("shapely", "pyproj", "pyogrio")
_NATIVE = ("geos", "proj", "gdal")

FIX = (
    "reinstall them against Debian's libraries: apt-get install libgeos-dev libproj-dev "
    "proj-bin libgdal-dev && PIP_CONSTRAINT=scripts/build-constraints.txt pip install "
    "--force-reinstall --no-deps --no-binary shapely,pyproj,pyogrio shapely 'pyproj<3.7' pyogrio "
    "(make venv does this)"
)


def bundled_native_libraries() -> dict[str, list[str]]:
    """Packages installed from wheels that carry their own GEOS/PROJ/GDAL, with those files."""
    found: dict[str, list[str]] = {}
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            continue
        libs = Path(spec.origin).parent.parent / f"{name}.libs"
        if libs.is_dir():
            hits = sorted(p.name for p in libs.iterdir() if any(n in p.name.lower() for n in _NATIVE))
            if hits:
                found[name] = hits
    return found


def check_native_libraries() -> None:
    """Raise :class:`~geogrid.errors.DatabaseError` if a wheel bundles GEOS/PROJ/GDAL."""
    found = bundled_native_libraries()
    if found:
        names = ", ".join(f"{k} ({', '.join(v)})" for k, v in found.items())
        raise DatabaseError(
            f"{names} bundle their own GEOS/PROJ/GDAL, which clash with mod_spatialite's copies "
            f"in one process and corrupt memory; {FIX}"
        )


if __name__ == "__main__":  # python -m geogrid.native: exit 1 when a rebuild is needed
    try:
        check_native_libraries()
    except DatabaseError as exc:
        print(f"geogrid: {exc}", file=sys.stderr)
        sys.exit(1)
