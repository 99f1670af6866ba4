"""The partition engine: households into micro-grids (about 1 km²) and cells (at most
20 households), fast, compact and editable.

A pure library: it imports numpy, pandas, shapely, geopandas, pyproj, scipy and
OR-Tools' min-cost flow and GLOP only (Dask only when ``engine="dask"`` is asked
for), never the database, the web app, folium or settings.

How it works, per village, in metres (the local UTM zone):

1. Households that share a building key or a point (to the centimetre) form one
   *unit* that is never split.  A key whose households lie in places more than
   100 m apart (a mistyped coordinate, a key used twice) is a building per place,
   and the diagnostics name it (``spread_building``).  Households of one building
   that are apart (never those at one point) may still end in different cells where
   a micro-grid border runs between them, or where no straight cut separates them
   from another such building; the diagnostics name those too (``building_split``),
   and :func:`check` accepts what they name.
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
   to its members' mean, until a round gains under 0.1 %; a cell is dropped while the
   micro-grid has more than its minimum plus one and the buildings still fit.
   The result is the power diagram of the assignment
   (:mod:`geogrid.partition.power`): its weights solve the
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

That is the ``"straight"`` layout: micro-grids first.  A straight micro-grid border
can run through a settlement, and the cells on each side then stretch away from it.
The ``"cells_first"`` layout (the default, ``"auto"``, uses it for villages of up to
1,000 households) turns the order round (:mod:`geogrid.partition.grouping`):

a. steps 4-5 over the whole village, starting from the straight cuts' cells of each
   straight micro-grid (so as many cells as the straight layout has), then the
   Lloyd rounds over the whole village, which move cells across those borders,
   and moves the rounds cannot make (:func:`~geogrid.partition.lloyd.relocate`):
   the cell cheapest to dissolve goes to where splitting a cell gains most, and
   the rounds run again, while that lowers the squared distances; so a village's
   spare cells go to its outlying households;
b. each cell's *footprint* is the hull of its households, grown by one lattice
   step (half of one where cells must then stay together that would not fit one
   micro-grid, or where the wider footprints do not group into micro-grids of one
   piece each) and cut to its own power region; two cells whose households the
   diagram cannot separate (a small hamlet kept whole) are tied to one micro-grid;
c. free lattice points and whole footprints are assigned to the micro-grids by the
   same capacity-constrained rounds, with room for 1.05 of a micro-grid's share of
   the land each, and every micro-grid gets at least one cell;
d. the free land is drawn as the micro-grids' power diagram and every footprint
   joins its micro-grid whole, all from one noding of every line, so the pieces
   share their edges exactly; a piece apart from its micro-grid's body, or a
   hair-thin one, joins the neighbour it borders longest;
e. steps 3 and 5-6 per micro-grid, from the village's cells (the rounds only where
   a cell is cut apart); vertices a micrometre apart, which the noding leaves and an
   editor's self-intersection test reads as a crossing, are dropped.

A village where any of that fails (tied cells that hold more land than a micro-grid,
a micro-grid that is not one piece, an area outside ±25 %) gets the straight layout.

See :func:`partition` and :func:`repartition`; :mod:`geogrid.partition.validate`
checks every hard rule, and :func:`result_figures` measures every quality figure of a
partition from its frames alone (one edited after the engine, by hand or by a
repartition, whose report carries the shape figures over).
"""

from geogrid.partition.repartition import repartition
from geogrid.partition.report import result_figures
from geogrid.partition.result import PartitionResult
from geogrid.partition.solve import cell_id, microgrid_id, partition
from geogrid.partition.validate import assert_valid, check

__all__ = [
    "partition",
    "repartition",
    "PartitionResult",
    "check",
    "assert_valid",
    "result_figures",
    "microgrid_id",
    "cell_id",
]
