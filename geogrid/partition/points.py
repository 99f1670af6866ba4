"""Households' points: their coordinates as an array, and those that are no place on
Earth (infinite, out of range, or beyond what their projection can draw), which
partition and repartition both leave out with a ``bad_point`` note."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import shapely

from geogrid.crs import transformer

__all__ = ["nowhere_points", "far_side", "point_xy"]


def nowhere_points(xy: np.ndarray, crs, has: np.ndarray | None = None) -> np.ndarray:
    """Per point (rows of ``xy`` in ``crs``; ``has``: those that have one): whether its
    coordinates are no place on Earth.  Infinite; a longitude or latitude out of range
    (metres in a degrees column); a projected point with no longitude and latitude, or
    one that does not come back to itself (far outside its projection's zone); or one on
    the far side of its projection (:func:`far_side`), where no cell reaching it from
    its village can be drawn in the caller's CRS.  Partition and repartition both ask."""
    xy = np.asarray(xy, float).reshape(-1, 2)
    has = np.ones(len(xy), bool) if has is None else np.asarray(has, bool)
    nowhere = has & ~np.isfinite(xy).all(axis=1)
    lonlat = xy
    crs = crs if isinstance(crs, pyproj.CRS) else pyproj.CRS(crs)  # (a copy costs 0.6 ms a re-run)
    if not crs.is_geographic and (~nowhere & has).any():
        # a projected point is somewhere only if it has a longitude and latitude (a UTM
        # easting typed a thousand times over has none)
        ok = ~nowhere & has
        lonlat = np.full_like(xy, np.nan)
        with np.errstate(invalid="ignore", over="ignore"):
            lonlat[ok] = np.column_stack(transformer(crs, "EPSG:4326").transform(xy[ok, 0], xy[ok, 1]))
        nowhere |= ok & ~np.isfinite(lonlat).all(axis=1)
        # and one that comes back to itself (far outside its projection's zone, a
        # projection's inverse gives a longitude and latitude of somewhere else)
        ok &= ~nowhere
        with np.errstate(invalid="ignore", over="ignore"):
            back = np.column_stack(transformer("EPSG:4326", crs).transform(lonlat[ok, 0], lonlat[ok, 1]))
            nowhere[np.flatnonzero(ok)[~(np.hypot(*(back - xy[ok]).T) < 1.0)]] = True
        # and one on the far side of its projection (a Gauss-Kruger or UTM point more
        # than 90 degrees from the central meridian, such as a geocoder's (0, 0) taken
        # into CGCS2000 GK): it comes back to itself, but no cell reaching it from its
        # village can be drawn in the caller's CRS (its coordinates run to infinity)
        ok &= ~nowhere
        nowhere[np.flatnonzero(ok)[far_side(crs, lonlat[ok])]] = True
    with np.errstate(invalid="ignore"):
        nowhere |= has & ((np.abs(lonlat[:, 0]) > 180) | (np.abs(lonlat[:, 1]) > 90))
    return nowhere


#: a step north (degrees) to find which way north points on a projected CRS's map
_NORTH_DEG = 1e-4


def far_side(crs, lonlat: np.ndarray) -> np.ndarray:
    """Per longitude/latitude row: whether it lies on the far side of the projected
    ``crs``, where north on the map points south (more than 90 degrees from a
    transverse Mercator's central meridian: there the projection folds back, and the
    land between such a point and the zone it is meant for runs through infinity),
    outside the CRS's area of use (on a polar map north points every way)."""
    lonlat = np.asarray(lonlat, float).reshape(-1, 2)
    out = np.zeros(len(lonlat), bool)
    crs = pyproj.CRS(crs)
    if not len(lonlat) or not crs.is_projected:
        return out
    lon, lat = lonlat.T
    aou = crs.area_of_use
    if aou is not None:
        w, s, e, n = aou.bounds
        in_lon = (lon >= w) & (lon <= e) if w <= e else (lon >= w) | (lon <= e)
        out_of_use = ~(in_lon & (lat >= s) & (lat <= n))
    else:
        out_of_use = np.ones(len(lon), bool)
    if not out_of_use.any():
        return out
    i = np.flatnonzero(out_of_use)
    lo = np.clip(lat[i], -90.0, 90.0 - _NORTH_DEG)
    fwd = transformer("EPSG:4326", crs)
    with np.errstate(invalid="ignore", over="ignore"):
        _, y0 = fwd.transform(lon[i], lo)
        _, y1 = fwd.transform(lon[i], lo + _NORTH_DEG)
        out[i] = ~(np.asarray(y1) - np.asarray(y0) > 0)
    return out


def point_xy(geoms) -> np.ndarray:
    """``(n, 2)`` coordinates of an array of points, a row each, NaN for a missing or
    empty one (``shapely.get_coordinates`` skips those, and ``get_x`` raises on an
    empty point)."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.full((len(geoms), 2), np.nan)
    has = ~(pd.isna(geoms) | shapely.is_empty(geoms))
    if has.any():
        out[has] = shapely.get_coordinates(geoms[has])
    return out
