"""Coordinate systems at the edges: WGS84, CGCS2000, GCJ-02 and BD-09.

geogrid stores WGS84 (EPSG:4326).  CGCS2000 (EPSG:4490) agrees with WGS84 to well
under a metre, so it is taken as is.  GCJ-02 (AMap, Tencent) and BD-09 (Baidu) are
obfuscated datums whose offset is several hundred metres -- as large as a
micro-grid -- so they are converted here, vectorised over numpy arrays.

The forward GCJ-02 formula is the public one.  Its usual one-step inverse is off by
metres; :func:`gcj02_to_wgs84` instead solves ``wgs84_to_gcj02(w) = g`` by fixed-point
iteration until the residual is under 1e-9 degrees (about 0.1 mm), so a round trip is
good to far better than a centimetre.

The scalar packages on PyPI (prcoords, eviltransform, coordtransform) loop in Python
over one point at a time; the test suite uses prcoords as an independent oracle.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import pyproj
import shapely

from geogrid.errors import CRSError

__all__ = [
    "SOURCE_CRS",
    "normalize_crs",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "to_wgs84",
    "from_wgs84",
    "geometry_to_wgs84",
    "geometry_from_wgs84",
    "local_metric_crs",
    "reproject",
    "densify",
    "DENSIFY_M",
]

#: The names accepted for ``--crs`` and the ``source_crs`` column.
SOURCE_CRS = ("wgs84", "cgcs2000", "gcj02", "bd09")

_ALIASES = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "cgcs2000": "cgcs2000",
    "epsg:4490": "cgcs2000",
    "4490": "cgcs2000",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "amap": "gcj02",
    "tencent": "gcj02",
    "mars": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "baidu": "bd09",
}

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0
_TOL_DEG = 1e-9
_MAX_ITER = 30


def normalize_crs(name: str | None) -> str:
    """Map a user's name for a coordinate system onto one of :data:`SOURCE_CRS`.

    >>> normalize_crs("EPSG:4490")
    'cgcs2000'
    """
    if name is None:
        return "wgs84"
    key = str(name).strip().lower().replace(" ", "")
    try:
        return _ALIASES[key]
    except KeyError:
        raise CRSError(
            f"unknown coordinate system {name!r}; use one of {', '.join(SOURCE_CRS)} "
            "(EPSG:4326 and EPSG:4490 are accepted too)"
        ) from None


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 to GCJ-02 (the forward, public formula).  Points outside China pass through."""
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to BD-09 (Baidu)."""
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(forward: Callable, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(w) = (lon, lat)`` for w by fixed-point iteration.

    The Jacobian of every forward map here is the identity to within 1e-4, so the
    iteration ``w <- w - (forward(w) - target)`` contracts by that factor each step.
    """
    tlon, tlat = _arrays(lon, lat)
    wlon, wlat = tlon.copy(), tlat.copy()
    for _ in range(_MAX_ITER):
        flon, flat = forward(wlon, wlat)
        elon, elat = flon - tlon, flat - tlat
        wlon = wlon - elon
        wlat = wlat - elat
        err = np.nanmax(np.abs(np.concatenate([np.ravel(elon), np.ravel(elat)])), initial=0.0)
        if err < _TOL_DEG:
            break
    return wlon, wlat


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to WGS84, by iteration to about 0.1 mm (the one-step inverse is off by metres)."""
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to GCJ-02, by iteration (the published one-step inverse is approximate)."""
    return _invert(gcj02_to_bd09, lon, lat)


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 to BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to WGS84, inverting the composed map in one iteration."""
    return _invert(wgs84_to_bd09, lon, lat)


_TO_WGS84 = {
    "wgs84": lambda lon, lat: _arrays(lon, lat),
    "cgcs2000": lambda lon, lat: _arrays(lon, lat),
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}
_FROM_WGS84 = {
    "wgs84": lambda lon, lat: _arrays(lon, lat),
    "cgcs2000": lambda lon, lat: _arrays(lon, lat),
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}


def to_wgs84(lon, lat, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert arrays of coordinates in ``crs`` (see :func:`normalize_crs`) to WGS84.

    >>> lon, lat = to_wgs84([109.2], [27.36], "gcj02")
    >>> bool(abs(lon[0] - 109.2) > 0.002)   # several hundred metres
    True
    """
    return _TO_WGS84[normalize_crs(crs)](lon, lat)


def from_wgs84(lon, lat, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert arrays of WGS84 coordinates to ``crs`` (e.g. for an AMap basemap)."""
    return _FROM_WGS84[normalize_crs(crs)](lon, lat)


def _transform_geometry(geoms, fn):
    def apply(coords: np.ndarray) -> np.ndarray:
        x, y = fn(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, apply)


def geometry_to_wgs84(geoms, crs: str):
    """Shapely geometry (or array of them) in ``crs`` to WGS84."""
    return _transform_geometry(geoms, _TO_WGS84[normalize_crs(crs)])


def geometry_from_wgs84(geoms, crs: str):
    """Shapely geometry (or array of them) in WGS84 to ``crs``."""
    return _transform_geometry(geoms, _FROM_WGS84[normalize_crs(crs)])


def local_metric_crs(lon: float, lat: float) -> pyproj.CRS:
    """A projected CRS in metres for work around (lon, lat): the UTM zone there.

    >>> local_metric_crs(109.2, 27.3).to_epsg()
    32649
    """
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise CRSError(f"({lon}, {lat}) is not a longitude/latitude pair")
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


@functools.lru_cache(maxsize=32)
def crs_of(user_input) -> pyproj.CRS:
    """The CRS of ``user_input`` (an ``"EPSG:32649"`` string, say), parsed once: pyproj
    takes about 0.9 ms a time, which an edit of a plan pays on every call."""
    return pyproj.CRS.from_user_input(user_input)


@functools.lru_cache(maxsize=32)
def transformer(src, dst) -> pyproj.Transformer:
    """An ``always_xy`` transformer from ``src`` to ``dst`` (CRSs, or what pyproj reads
    as one), made once per pair: making one takes about 1.3 ms."""
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


#: Longest edge (m) a polygon keeps when it changes CRS.  A straight edge in degrees is
#: a curve in UTM and the other way round: over a 5 km village edge the two differ by
#: about 0.1 m, enough to leave 200 m² slivers between a stored village and micro-grids
#: cut in metres.  Over 100 m they differ by about 10 µm.
DENSIFY_M = 100.0


def reproject(geoms, crs, *, max_segment_m: float = DENSIFY_M):
    """A GeoSeries (with a CRS) in ``crs``, its edges first split to at most
    ``max_segment_m`` in the source CRS so that they keep their shape.

    Both sides of a shared edge get the same points (shapely.segmentize divides an
    edge evenly), so neighbours stay neighbours.

    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = gpd.GeoSeries([box(109.0, 27.0, 109.05, 27.05)], crs=4326)
    >>> len(shapely.get_coordinates(reproject(g, 32649).iloc[0])) > 5 * 4
    True
    """
    src = pyproj.CRS.from_user_input(geoms.crs)  # the same object, not a copy
    dst = pyproj.CRS.from_user_input(crs)
    if src is dst or src == dst:
        return geoms
    dense = densify(geoms.to_numpy(), geographic=src.is_geographic, max_segment_m=max_segment_m)
    return type(geoms)(dense, index=geoms.index, crs=src).to_crs(crs)


def densify(geoms, *, geographic: bool = True, max_segment_m: float = DENSIFY_M):
    """``geoms`` (shapely, vectorised) with no edge longer than ``max_segment_m``, in
    degrees when ``geographic``: what to do to a polygon before its vertices are
    transformed one by one, so that its edges keep their shape (see :func:`reproject`)."""
    return shapely.segmentize(geoms, max_segment_m / 111_320.0 if geographic else max_segment_m)
