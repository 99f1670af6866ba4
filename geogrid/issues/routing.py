"""Routing a reported point to its cell, micro-grid and village.

Pure: the repository fetches the polygons near the point (from the published plan and
the areas table) and :func:`route_point` decides.  Distances are in metres, measured in
the local UTM zone.  A point closer than ``tolerance_m`` to the boundary of the polygon
it falls in (or lying in no polygon but that close to one) is *flagged* for manual
re-routing: GPS error on a phone is a few metres, so either neighbour may be right.

>>> from shapely.geometry import box
>>> cells = [Candidate("A", box(0, 0, 0.001, 0.001)), Candidate("B", box(0.001, 0, 0.002, 0.001))]
>>> r = route_point(0.0005, 0.0005, cells, tolerance_m=5)
>>> r.key, r.near_boundary
('A', False)
>>> r = route_point(0.00099, 0.0005, cells, tolerance_m=5)
>>> r.key, r.near_boundary, r.alternatives
('A', True, ('B',))
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import Point

__all__ = ["Candidate", "Match", "route_point", "DEFAULT_TOLERANCE_M"]

#: Points nearer than this to a boundary are flagged (metres).
DEFAULT_TOLERANCE_M = 5.0


@dataclass(frozen=True)
class Candidate:
    """A polygon the point may fall in; ``info`` carries what the caller needs back."""

    key: str
    geometry: Any
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """Where a point falls among candidates."""

    key: str | None
    info: dict
    #: distance from the point to the boundary of the polygon it falls in (metres);
    #: for a point in no polygon, to the nearest polygon
    boundary_distance_m: float | None
    near_boundary: bool
    #: other candidates within the tolerance
    alternatives: tuple[str, ...] = ()


@functools.lru_cache(maxsize=64)
def _to_metres(zone_epsg: int):
    from pyproj import Transformer

    return Transformer.from_crs(4326, zone_epsg, always_xy=True)


def _project(lon: float, lat: float, geoms: Sequence):
    from geogrid.crs import local_metric_crs

    tr = _to_metres(local_metric_crs(lon, lat).to_epsg())
    point = Point(*tr.transform(lon, lat))
    projected = [shapely.transform(g, lambda xy: _xy(tr, xy)) for g in geoms]
    return point, projected


def _xy(tr, xy):
    import numpy as np

    x, y = tr.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def route_point(lon: float, lat: float, candidates: Sequence[Candidate], *,
                tolerance_m: float = DEFAULT_TOLERANCE_M) -> Match:
    """Which candidate polygon (lon, lat) falls in, and whether it is near a boundary.

    A point exactly on a shared edge falls in the candidate with the smallest key (so
    the answer does not depend on the order the database returned them), and is flagged.
    """
    candidates = [c for c in candidates if c.geometry is not None and not c.geometry.is_empty]
    if not candidates:
        return Match(None, {}, None, False)
    point, polys = _project(lon, lat, [c.geometry for c in candidates])
    dist = [p.distance(point) for p in polys]  # 0 inside or on the edge
    edge = [p.boundary.distance(point) for p in polys]
    inside = sorted((i for i, d in enumerate(dist) if d == 0.0), key=lambda i: candidates[i].key)
    if inside:
        i = inside[0]
        near = [candidates[j].key for j, d in enumerate(dist) if j != i and d <= tolerance_m]
        flagged = edge[i] <= tolerance_m or bool(near)
        return Match(candidates[i].key, dict(candidates[i].info), round(edge[i], 3), flagged,
                     tuple(sorted(near)))
    # in no polygon: a gap or just outside; take the nearest if it is within the tolerance
    order = sorted(range(len(candidates)), key=lambda j: (dist[j], candidates[j].key))
    i = order[0]
    if dist[i] <= tolerance_m:
        near = [candidates[j].key for j in order[1:] if dist[j] <= tolerance_m]
        return Match(candidates[i].key, dict(candidates[i].info), round(dist[i], 3), True,
                     tuple(sorted(near)))
    return Match(None, {}, round(dist[i], 3), False)
