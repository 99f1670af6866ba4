"""Bring the geometry of a vector file to longitude/latitude before datum conversion,
and to WGS84 after it."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np

from geogrid.crs import geometry_to_wgs84, normalize_crs
from geogrid.errors import CRSError

__all__ = ["lonlat_geometry", "wgs84_frame"]

_LONLAT_EPSG = {4326: "wgs84", 4490: "cgcs2000"}


def lonlat_geometry(gdf: gpd.GeoDataFrame, crs: str | None, *, source: str | os.PathLike) -> tuple[gpd.GeoSeries, str]:
    """``(geometry in longitude/latitude, source crs name)`` for a vector file's rows.

    A file in a projected CRS (e.g. CGCS2000 / 3-degree Gauss-Kruger, EPSG:4547) or a
    geographic one other than WGS84/CGCS2000 is reprojected to EPSG:4326 first.  The
    ``crs`` argument then says what the longitude/latitude really are: GeoJSON always
    claims WGS84, but data copied from AMap or Baidu is GCJ-02 or BD-09 all the same.
    """
    name = normalize_crs(crs)
    file_crs = gdf.crs
    geoms = gdf.geometry
    if file_crs is None:
        return geoms, name
    epsg = file_crs.to_epsg(min_confidence=70)
    if epsg in _LONLAT_EPSG:
        if name == "wgs84":
            name = _LONLAT_EPSG[epsg]
        return geoms, name
    if name in ("gcj02", "bd09"):
        raise CRSError(
            f"{source}: the file is in {file_crs.name} ({file_crs.to_string()}), a projected or local system; "
            f"--crs {name} applies only to longitude/latitude. Leave --crs out to use the file's own system"
        )
    try:
        geodetic = file_crs.geodetic_crs.to_epsg(min_confidence=70) if file_crs.geodetic_crs else None
        out = geoms.to_crs(4326)
    except Exception as exc:  # pyproj.exceptions.CRSError and friends
        raise CRSError(f"{source}: cannot convert from {file_crs.to_string()} to WGS84 ({exc})") from None
    return out, ("cgcs2000" if geodetic == 4490 else "wgs84")


def wgs84_frame(gdf: gpd.GeoDataFrame, crs: str | None, *, source: str | os.PathLike) -> gpd.GeoDataFrame:
    """``gdf`` with its geometry in WGS84 (EPSG:4326): reprojected from a projected
    file, and brought back from GCJ-02 or BD-09 where ``crs`` says its
    longitudes/latitudes are those (see :func:`lonlat_geometry`)."""
    geoms, name = lonlat_geometry(gdf, crs, source=source)
    values = np.asarray(geoms, dtype=object)
    if name in ("gcj02", "bd09"):
        values = geometry_to_wgs84(values, name)
    return gdf.set_geometry(gpd.GeoSeries(values, index=gdf.index, crs="EPSG:4326"))
