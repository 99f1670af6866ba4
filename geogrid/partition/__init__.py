"""The partition engine: households into micro-grids (about 1 km²) and cells (at most
20 households), fast, compact and editable.

A pure library: it imports numpy, pandas, shapely, geopandas, pyproj and scipy only
(Dask only when ``engine="dask"`` is asked for), never the database, the web app,
folium or settings.

How it works, per village, in metres (the local UTM zone):

1. Households that share a building key or a point (to the centimetre) form one
   *unit* that is never split.
2. The village is cut into ``clamp(round(area / microgrid_km2), min, max)``
   micro-grids by recursive straight cuts of equal area (measured on a lattice of
   points), each cut nudged into a gap between households where that makes the
   household count a multiple of ``max_households`` without moving the area more
   than 15 %, and away from small hamlets.
3. Each micro-grid is cut into ``ceil(n / max_households)`` cells (one more where
   buildings do not pack) by recursive straight cuts that respect the capacity on
   both sides and minimise the within-cell squared distance, trying 12 directions.
4. Polygons are the half-plane regions of the cuts clipped to the parent, so they
   tile it exactly.  Where a non-convex parent cuts a region in two, the cut-off
   piece joins the neighbour it shares the longest border with (if it holds
   households, a neighbour with room for them, else it becomes a cell of its own).

See :func:`partition` and :func:`repartition`; :mod:`geogrid.partition.validate`
checks every hard rule.
"""

from geogrid.partition.repartition import repartition
from geogrid.partition.result import PartitionResult
from geogrid.partition.solve import cell_id, microgrid_id, partition
from geogrid.partition.validate import assert_valid, check

__all__ = [
    "partition",
    "repartition",
    "PartitionResult",
    "check",
    "assert_valid",
    "microgrid_id",
    "cell_id",
]
