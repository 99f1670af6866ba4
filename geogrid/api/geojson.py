"""GeoJSON in and out: FeatureCollections for responses, checked polygons for edits.

Output geometry is WGS84 longitude/latitude (RFC 7946).  Incoming polygons are
checked before they touch the database: GeoJSON shape (an altitude dropped), coordinate ranges (with a
hint when longitude and latitude look swapped), validity (self-intersections named
with their location), orientation (normalised to the RFC 7946 right-hand rule), and,
given a parent and siblings, containment and overlap measured in square metres.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Iterable

import numpy as np
import orjson
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity
from starlette.responses import JSONResponse

from geogrid.crs import local_metric_crs
from geogrid.errors import InputError

__all__ = [
    "GeoJSONResponse",
    "feature",
    "feature_collection",
    "hexagon",
    "geometry_json",
    "parse_polygon",
    "check_polygon_in_context",
    "TOLERANCE_M2",
    "MAX_VERTICES",
]

#: Slivers smaller than this (square metres) are rounding, not overlaps or gaps.
TOLERANCE_M2 = 1.0
#: Most vertices an incoming polygon may have.  A boundary drawn on the map has tens or
#: hundreds and a surveyed village outline a few thousand; 200,000 (a GPS trace pasted in,
#: 12 MB, under the body limit) took 33 s of checks inside the edit's write transaction,
#: holding SQLite's lock against every other writer, and every later read of the cells.
MAX_VERTICES = 20_000


def dumps(content: Any) -> bytes:
    """Compact UTF-8 JSON, as Starlette's JSONResponse writes it, through orjson.

    Anything orjson refuses (a non-string key, an integer beyond 64 bits, a type it does
    not know...) goes through :func:`json.dumps` with Starlette's settings, so the output
    and the errors stay those of :class:`~starlette.responses.JSONResponse`.  orjson is
    ~5-10x faster than :func:`json.dumps` on a FeatureCollection of 1,000 houses.  Unlike
    JSONResponse it writes NaN and infinities as ``null`` instead of failing the request.
    """
    try:
        return orjson.dumps(content, option=orjson.OPT_PASSTHROUGH_DATETIME
                            | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS)
    except TypeError:
        pass
    return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def geometry_json(geom) -> dict | None:
    """GeoJSON geometry dict from shapely, WKB/WKT element, a GeoJSON string, or None."""
    if geom is None:
        return None
    if isinstance(geom, dict):
        return geom
    if isinstance(geom, str):
        return json.loads(geom)
    if hasattr(geom, "__geo_interface__") and not hasattr(geom, "desc"):
        return mapping(geom)
    from geoalchemy2.shape import to_shape

    return mapping(to_shape(geom))


def feature(fid: str, geometry, properties: dict[str, Any]) -> dict:
    return {"type": "Feature", "id": fid, "geometry": geometry_json(geometry), "properties": properties}


def feature_collection(features: Iterable[dict], **meta) -> dict:
    features = list(features)
    out = {"type": "FeatureCollection", "features": features}
    out.update(meta)
    out.setdefault("numberReturned", len(features))
    return out


def hexagon(cell: str) -> dict:
    """The GeoJSON polygon of an H3 cell (its ring rounded to 6 decimals, about 0.1 m)."""
    return {"type": "Polygon", "coordinates": [_ring(cell)]}


@functools.lru_cache(maxsize=200_000)
def _ring(cell: str) -> list:
    import h3

    ring = [[round(x, 6), round(y, 6)] for y, x in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    return ring


def _check_ranges(geom) -> None:
    coords = shapely.get_coordinates(geom)
    if len(coords) == 0:
        raise InputError("polygon has no coordinates", key="geometry.no_coordinates")
    if not shapely.is_valid_input(geom) or not (coords == coords).all():
        raise InputError("polygon coordinates must be finite numbers", key="geometry.not_finite")
    lon, lat = coords[:, 0], coords[:, 1]
    if (abs(lat) > 90).any():
        if (abs(lon) <= 90).all():
            raise InputError("polygon latitude is outside -90..90: longitude and latitude look "
                             "swapped; GeoJSON positions are [longitude, latitude]", key="geometry.swapped")
        raise InputError("polygon latitude must be within -90..90", key="geometry.latitude_range")
    if (abs(lon) > 180).any():
        raise InputError("polygon longitude must be within -180..180", key="geometry.longitude_range")


def parse_polygon(data: dict, *, what: str = "polygon"):
    """A valid, right-hand-rule shapely Polygon/MultiPolygon from a GeoJSON geometry dict,
    in two dimensions: an altitude after a position's longitude and latitude is dropped."""
    if not isinstance(data, dict) or data.get("type") not in ("Polygon", "MultiPolygon"):
        raise InputError(f"{what} must be a GeoJSON Polygon or MultiPolygon geometry",
                         key="geometry.not_polygon")
    try:
        geom = shape(data)
    except Exception as exc:  # shapely raises assorted errors for bad nesting
        raise InputError(f"{what} is not valid GeoJSON: {exc}", key="geometry.not_geojson") from None
    if geom.is_empty:
        raise InputError(f"{what} is empty", key="geometry.empty")
    if geom.has_z:  # [lon, lat, altitude] (RFC 7946 3.1.1): geogrid keeps the plane
        geom = shapely.force_2d(geom)
    if (n := shapely.get_num_coordinates(geom)) > MAX_VERTICES:
        raise InputError(f"{what} has {n:,} vertices, more than the {MAX_VERTICES:,} taken: simplify it to a "
                         "metre or so (QGIS: Vector → Geometry Tools → Simplify) and send it again",
                         key="geometry.too_many_vertices", params={"n": int(n), "max": MAX_VERTICES})
    _check_ranges(geom)
    if not geom.is_valid:
        raise InputError(f"{what} is invalid: {explain_validity(geom)}; redraw it without "
                         "self-intersections or spikes", key="geometry.invalid")
    if geom.geom_type == "Polygon":
        return orient(geom, sign=1.0)
    return shapely.MultiPolygon([orient(p, sign=1.0) for p in geom.geoms])


def _to_metres(geoms: list):
    import pyproj

    c = geoms[0].centroid
    crs = local_metric_crs(c.x, c.y)
    tr = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform

    def fn(xy):
        x, y = tr(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return [shapely.transform(g, fn) if g is not None else None for g in geoms]


def check_polygon_in_context(geom, *, parent=None, siblings: dict[str, Any] | None = None,
                             what: str = "polygon", parent_name: str = "its parent") -> None:
    """Raise :class:`InputError` if ``geom`` leaves ``parent`` or overlaps a sibling.

    Areas are measured in a local UTM zone; anything under :data:`TOLERANCE_M2` is
    ignored.  The error names the siblings that overlap.
    """
    siblings = siblings or {}

    def m2(g) -> float:  # topology in stored coordinates, size in metres
        return 0.0 if g is None or g.is_empty else _to_metres([g])[0].area

    if parent is not None:
        outside = m2(geom.difference(parent))
        if outside > TOLERANCE_M2:
            raise InputError(f"{what} reaches {outside:.0f} m² outside {parent_name}; keep it inside "
                             "(or check that longitude and latitude are not swapped)",
                             key="geometry.outside", params={"m2": round(outside)})
    overlapping = [i for i, s in siblings.items()
                   if s is not None and s.intersects(geom) and m2(geom.intersection(s)) > TOLERANCE_M2]
    if overlapping:
        raise InputError(f"{what} overlaps {', '.join(overlapping)}; move the shared boundary instead",
                         key="geometry.overlaps", params={"overlaps": overlapping})
