"""Outlines in an import: points checked against the county outline, and boundary
polygons repaired when they are invalid.

Like the cell checks of :mod:`geogrid.io.validate`, each function returns or raises the
reason a person reads in the rejects file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import shapely

__all__ = ["check_outline", "repair_polygon"]


_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")


def _distance_text(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


def check_outline(
    lon: np.ndarray, lat: np.ndarray, outline, *, buffer_m: float = 200.0
) -> dict[int, str]:
    """``{position: reason}`` for WGS84 points more than ``buffer_m`` outside ``outline``."""
    from pyproj import Transformer

    from geogrid.crs import local_metric_crs

    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if outline is None or len(lon) == 0:
        return {}
    centre = outline.centroid
    metric = local_metric_crs(centre.x, centre.y)
    fwd = Transformer.from_crs("EPSG:4326", metric, always_xy=True)
    shape_m = shapely.transform(outline, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    x, y = fwd.transform(lon, lat)
    points = shapely.points(x, y)
    shapely.prepare(shape_m)
    near = shapely.dwithin(shape_m, points, buffer_m)
    out = {}
    for pos in np.flatnonzero(~near):
        line = shapely.shortest_line(shape_m, points[pos])
        (x0, y0), (x1, y1) = shapely.get_coordinates(line)
        bearing = math.degrees(math.atan2(x1 - x0, y1 - y0)) % 360
        way = _COMPASS[int((bearing + 22.5) // 45) % 8]
        out[int(pos)] = (
            f"point ({lon[pos]:.6f}, {lat[pos]:.6f}) is {_distance_text(line.length)} {way} of the "
            f"county outline (more than the {buffer_m:.0f} m allowed); check the coordinates and --crs"
        )
    return out


def repair_polygon(geom, *, tolerance: float = 0.001) -> tuple[object, str | None]:
    """``(geometry, note)``: a valid (Multi)Polygon, with a note when it was repaired.

    An invalid polygon is replaced by :func:`shapely.make_valid` only when that keeps
    its area within ``tolerance`` (0.1 %); otherwise ``ValueError`` carries
    :func:`shapely.validation.explain_validity`'s text.
    """
    from shapely.validation import explain_validity

    if geom is None or geom.is_empty:
        raise ValueError("geometry is empty")
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"geometry is a {geom.geom_type}, not a Polygon or MultiPolygon")
    if geom.is_valid:
        return geom, None
    why = explain_validity(geom)
    fixed = shapely.make_valid(geom)
    if fixed.geom_type == "GeometryCollection":
        polys = [g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(polys) if polys else shapely.Polygon()
    before = _ring_area(geom)
    after = fixed.area
    if fixed.is_empty or before == 0 or abs(after - before) / before > tolerance:
        change = "all" if before == 0 else f"{abs(after - before) / before:.1%}"
        raise ValueError(
            f"geometry is invalid ({why}) and repairing it would change its area by {change}; "
            "fix it in QGIS (Vector → Geometry Tools → Fix Geometries) and import again"
        )
    return fixed, f"repaired: {why}"


def _ring_area(geom) -> float:
    """Area from the rings as drawn (shell minus holes), which an invalid polygon still has."""
    polys = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    total = 0.0
    for p in polys:
        total += abs(_shoelace(p.exterior.coords)) - sum(abs(_shoelace(r.coords)) for r in p.interiors)
    return total


def _shoelace(coords: Iterable) -> float:
    xy = np.asarray(coords, dtype=float)[:, :2]
    if len(xy) < 3:
        return 0.0
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
