"""The partition engine: households into micro-grids (about 1 km²) and cells (at most
20 households), fast, compact and editable.

A pure library: it imports numpy, pandas, shapely, geopandas, pyproj, scipy and
OR-Tools' min-cost flow and GLOP only (Dask only when ``engine="dask"`` is asked
for), never the database, the web app, folium or settings.

How it works, per village, in metres (the local UTM zone):

1. Households that share a building key or a point (to the centimetre) form one
   *unit* that is never split.
2. The village is cut into ``clamp(round(area / microgrid_km2), min, max)``
   micro-grids by recursive straight cuts of equal area (measured on a lattice of
   points), each cut nudged into a gap between households where that makes the
   household count a multiple of ``max_households`` without moving the area more
   than 15 %, and away from small hamlets.
3. Micro-grids still outside ±25 % of the village's mean area (the gaps between
   households did not allow a better cut, or a non-convex village handed a piece to
   a neighbour) trade empty land across their borders in squares
   (:mod:`geogrid.partition.balance`).
4. Each micro-grid is cut into ``ceil(n / max_households)`` cells (one more where
   buildings do not pack, or to keep a small hamlet whole) by recursive straight
   cuts that respect the capacity on both sides and minimise the within-cell
   squared distance.
5. Those cells are the start of capacity-constrained Lloyd rounds
   (:mod:`geogrid.partition.lloyd`): an exact min-cost-flow assignment of units (and
   small hamlets) to centres with at most ``max_households`` each, then each centre
   to its members' mean, until nothing moves; a cell is dropped while the
   micro-grid has more than its minimum plus one and the buildings still fit.
   The result is the power diagram of the assignment: its weights solve the
   difference constraints that keep every household inside its own cell (centred
   in their feasible set, so borders run midway between settlements).  Its sites
   are then moved one step towards the centroids of their cells' land, by a linear
   programme (OR-Tools' GLOP) over sites and weights that keeps every household in
   its cell and each border as far from the houses as before, up to 5 m: a row of
   centres otherwise draws long parallel strips across empty land.  Where
   buildings of several households make an exact diagram impossible, the cells
   around them are redrawn as the union of their households' Voronoi regions.
6. Polygons are convex regions clipped to the parent, so they tile it exactly.
   Where a non-convex parent cuts a region in two, the cut-off piece joins the
   neighbour it shares the longest border with (if it holds households, a
   neighbour with room for them, else it becomes a cell of its own, and the rounds
   run once more from there).

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
