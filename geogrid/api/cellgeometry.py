"""Cell polygons made by plan edits: split, merge, and cells clipped to a new boundary.

The partition engine cuts in metres on a 1 µm grid (``geogrid.partition.pieces.GRID_M``)
and re-reads stored cells the same way when a micro-grid is re-run.  Edits therefore do
their overlays the same way: each polygon is brought into the local UTM zone, the
overlay is snap-rounded on that grid, the result is made valid, its polygon parts
dissolved and sliver parts dropped, and it comes back to WGS84.

Overlays done in degrees instead (as the edits once did) leave spikes a fraction of a
millimetre wide where a new edge runs along an old one: valid in degrees, but once
projected to metres the spike crosses its own ring, and the next re-run of the
micro-grid failed with GEOS "side location conflict".

All functions take and return shapely geometries in EPSG:4326; results are
MultiPolygons (empty when nothing is left), rings counter-clockwise.
"""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

from geogrid.crs import densify, local_metric_crs
from geogrid.partition.pieces import GRID_M, union

__all__ = ["SLIVER_M2", "tidy", "split_cell", "merge_cells", "clip_cell"]

#: Polygon parts smaller than this (m²) are overlay noise, not land.
SLIVER_M2 = 1e-4


class _Metric:
    """Forward to and back from the UTM zone around ``ref``."""

    def __init__(self, ref):
        c = ref.centroid if not ref.is_empty else shapely.Point(0, 0)
        crs = local_metric_crs(c.x, c.y)
        self._fwd = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform
        self._inv = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform

    @staticmethod
    def _apply(tr, geom):
        if geom is None:
            return None
        return shapely.transform(geom, lambda xy: np.column_stack(tr(xy[:, 0], xy[:, 1])))

    def to_m(self, geom):
        # edges split first, as the engine reads stored polygons (geogrid.crs.reproject);
        # an invalid polygon repaired before (shapely.segmentize keeps one lobe of a
        # bow-tie: half its land gone), as the engine repairs outlines
        if geom is not None and not geom.is_valid and geom.geom_type in ("Polygon", "MultiPolygon"):
            geom = shapely.MultiPolygon(_polygons(shapely.make_valid(geom)))
        return self._apply(self._fwd, None if geom is None else densify(geom))

    def to_deg(self, geom):
        g = self._apply(self._inv, geom)
        if g is not None and not g.is_valid:  # a round trip is exact to ~1 nm; just in case
            g = shapely.MultiPolygon(_polygons(shapely.union_all(_polygons(shapely.make_valid(g)))))
        return g


def _polygons(geom) -> list:
    """Every Polygon inside ``geom``, however deeply nested in collections."""
    out, todo = [], [geom]
    while todo:
        g = todo.pop()
        if g is None or g.is_empty:
            continue
        if g.geom_type == "Polygon":
            out.append(g)
        elif g.geom_type in ("MultiPolygon", "GeometryCollection"):
            todo.extend(g.geoms)
    return out


def tidy(geom_m):
    """A metric (multi)polygon made valid on the engine's grid: polygon parts only
    (lines and points an overlay leaves are dropped, a MultiPolygon nested in a
    collection is kept), dissolved, slivers dropped.  Returns a MultiPolygon."""
    if geom_m is None or geom_m.is_empty:
        return shapely.MultiPolygon()
    g = geom_m if geom_m.is_valid else shapely.make_valid(geom_m)
    parts = [p for p in _polygons(g) if p.area >= SLIVER_M2]
    if not parts:
        return shapely.MultiPolygon()
    u = shapely.make_valid(shapely.union_all(parts, grid_size=GRID_M))
    # holes a pin's width are noise too
    keep = []
    for p in _polygons(u):
        if p.area < SLIVER_M2:
            continue
        holes = [r for r in p.interiors if shapely.Polygon(r).area >= SLIVER_M2]
        keep.append(shapely.Polygon(p.exterior, holes) if len(holes) != len(p.interiors) else p)
    return shapely.orient_polygons(shapely.MultiPolygon(keep), exterior_cw=False)


def split_cell(cell, keep_pts, move_pts):
    """Split ``cell`` between two point sets (lon, lat): each piece is the union of the
    Voronoi regions of its households, clipped to the cell.  Returns (kept, moved)."""
    m = _Metric(cell)
    cell_m = tidy(m.to_m(cell))
    keep_m = shapely.MultiPoint([m.to_m(shapely.Point(p)) for p in keep_pts])
    move_m = shapely.MultiPoint([m.to_m(shapely.Point(p)) for p in move_pts])
    regions = shapely.voronoi_polygons(shapely.union(keep_m, move_m),
                                       extend_to=cell_m.envelope.buffer(1000.0))
    a, b = [], []
    for r in regions.geoms:
        (a if r.intersects(keep_m) else b).append(r)
    pa = tidy(shapely.intersection(shapely.union_all(a), cell_m, grid_size=GRID_M)) if a \
        else shapely.MultiPolygon()
    pb = tidy(shapely.difference(cell_m, pa, grid_size=GRID_M))
    return m.to_deg(pa), m.to_deg(pb)


def merge_cells(a, b):
    """The union of two cells as one (multi)polygon."""
    m = _Metric(shapely.union(a.envelope, b.envelope))
    # the engine's union: pieces whose common edges are off by float noise are fused
    return m.to_deg(tidy(union([tidy(m.to_m(a)), tidy(m.to_m(b))])))


def clip_cell(cell, boundary):
    """``cell`` clipped to a new micro-grid ``boundary``."""
    m = _Metric(boundary)
    return m.to_deg(tidy(shapely.intersection(tidy(m.to_m(cell)), tidy(m.to_m(boundary)),
                                              grid_size=GRID_M)))
