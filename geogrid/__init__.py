"""geogrid: grid-based community governance (网格化管理).

Households as geocoded points are partitioned into micro-grids (微网格) and cells
(户团) of at most 20 households, kept in a spatial register and served over HTTP.
"""

__version__ = "0.1.0"
