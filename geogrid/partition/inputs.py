"""Households and villages in, checked, in metres, each household given its village."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree

from geogrid.columns import BUILDING, HAMLET, VILLAGE_CODE
from geogrid.crs import local_metric_crs, reproject
from geogrid.errors import ColumnError, InputError
from geogrid.partition.pieces import inside_own, mean_width
from geogrid.partition.points import nowhere_points, point_xy
from geogrid.partition.result import area_text, diagnostic
from geogrid.partition.units import address_keys, make_units

__all__ = ["Prepared", "prepare", "check_frames", "outline_metric", "BAD_POINT", "derive_outlines", "isolated_notes", "ISOLATED_M", "NO_POINT"]

#: a household further than this (m) from every other one is reported as isolated
ISOLATED_M = 1000.0
#: what a ``no_point`` diagnostic says (``n``: how many households)
NO_POINT = ("{n} household(s) have no coordinates and are not in any cell; geocode their address "
            "or set their point on the map")
#: what a ``bad_point`` diagnostic says (``n``: how many households)
BAD_POINT = ("{n} household(s) have coordinates that are no place on Earth (infinite, or a "
             "longitude or latitude out of range: metres in a degrees column?), or lie on the far "
             "side of their projected coordinate system (e.g. a geocoder's (0, 0) taken into a "
             "Gauss-Kruger zone); they are not in any cell. Correct their coordinates")
#: derived village outlines reach this far (m) beyond their outermost households
OUTLINE_MARGIN_M = 150.0
TOL_M = 1e-3


@dataclass
class Prepared:
    crs: pyproj.CRS  # the caller's
    metric: pyproj.CRS  # where the work is done
    points: np.ndarray  # (n, 2) metres; NaN where a household has no point
    village: np.ndarray  # village code per household (object), None when unassigned
    polygons: dict[str, object]  # village code -> polygon in metres
    building: np.ndarray | None
    hamlet: np.ndarray | None
    derived_outlines: bool = False
    diagnostics: list[dict] = field(default_factory=list)


#: a text column longer than this is read one distinct code at a time
_FEW = 1_000
#: a whole number read as a float, ``'431.0'``
_FLOAT_INT = re.compile(r"(\d+)\.0")


def _codes(series) -> np.ndarray:
    """Text codes as an object array, None where missing (``'431.0'`` read as float -> ``'431'``).

    A plain loop: as fast as pandas' string methods on the county's 80,000 rows, and
    70 times faster on a repartition's few (those cost about 1 ms a call whatever the
    length).  A long text column with few distinct codes (villages, hamlets) runs the
    loop over its distinct codes only."""
    if isinstance(getattr(series, "dtype", None), pd.StringDtype) and len(series) > _FEW:
        # a text column (no numbers or booleans to tell apart): each distinct code once,
        # 72 -> 4 ms on each of the county's village and hamlet columns
        key, uniq = pd.factorize(series)
        if len(uniq) * 4 < len(series):
            out = np.full(len(series), None, dtype=object)
            out[key >= 0] = _codes(np.asarray(uniq, dtype=object))[key[key >= 0]]
            return out
    vals = series.to_numpy(dtype=object) if hasattr(series, "to_numpy") else np.asarray(series, dtype=object)
    out = np.empty(len(vals), dtype=object)
    for i, v in enumerate(vals):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out[i] = None
            continue
        text = str(v).strip()
        whole = _FLOAT_INT.fullmatch(text)
        out[i] = (whole.group(1) if whole else text) or None
    return out


def check_frames(households, villages) -> pd.Series:
    """Refuse households and village outlines the engine cannot read, saying what to
    give instead (:func:`prepare`, and :func:`~geogrid.partition.repartition` for the
    register and outlines after an edit): households a GeoDataFrame of points with a
    coordinate system, villages None or a GeoDataFrame with a coordinate system and a
    ``village_code`` column.  Returns, per household, whether it has no geometry."""
    if not isinstance(households, gpd.GeoDataFrame):
        raise InputError("households must be a GeoDataFrame of points; read your file with "
                         "geopandas.read_file or geogrid.io first")
    if households.crs is None:
        raise InputError("the households have no coordinate system; set one, e.g. "
                         "households.set_crs('EPSG:4326')")
    # shapely's vectorised tests, not the GeoSeries' (geom_type's strings took 8 ms of
    # every repartition of the county's register)
    geom = np.asarray(households.geometry.array, dtype=object)
    bad = shapely.is_missing(geom) | shapely.is_empty(geom)
    if (shapely.get_type_id(geom[~bad]) != shapely.GeometryType.POINT).any():
        raise InputError("household geometries must be points (one per household)")
    bad = pd.Series(bad, index=households.index)
    if villages is not None:
        if not isinstance(villages, gpd.GeoDataFrame):
            raise InputError("villages must be a GeoDataFrame of polygons, or None")
        if VILLAGE_CODE not in villages.columns:
            raise ColumnError(f"villages need a '{VILLAGE_CODE}' column")
        if villages.crs is None:
            raise InputError("the villages have no coordinate system; set one with set_crs")
    return bad


def prepare(households: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None,
            metric: pyproj.CRS | None = None) -> Prepared:
    """Check the inputs and bring them into one metric CRS."""
    bad = check_frames(households, villages)
    geom = households.geometry
    # coordinates that are no place (infinite, or a longitude or latitude out of range:
    # metres typed into a longitude column): reported and left out, not a failure of
    # the whole county in the coordinate transformation
    nowhere = nowhere_points(point_xy(geom.to_numpy()), households.crs, ~bad.to_numpy())
    no_point = bad.to_numpy()
    bad = bad | nowhere
    if villages is None and VILLAGE_CODE not in households.columns:
        raise ColumnError(
            f"households need a '{VILLAGE_CODE}' column when no village polygons are given"
        )
    diags: list[dict] = []
    n = len(households)
    if metric is None:
        ll = geom[~bad].to_crs("EPSG:4326") if (~bad).any() else None
        if ll is None:
            if villages is None or villages.empty:
                raise InputError("no household has coordinates and no village polygons were given")
            ll = villages.geometry.to_crs("EPSG:4326")
        x0, y0, x1, y1 = ll.total_bounds
        metric = local_metric_crs((x0 + x1) / 2, (y0 + y1) / 2)
    pts = np.full((n, 2), np.nan)
    if (~bad).any():
        pts[~bad.to_numpy()] = shapely.get_coordinates(geom[~bad].to_crs(metric).to_numpy())
    if no_point.any():
        diags.append(_diag("no_point", None, np.flatnonzero(no_point), NO_POINT))
    if nowhere.any():
        diags.append(_diag("bad_point", None, np.flatnonzero(nowhere), BAD_POINT))
    building = _codes(households[BUILDING]) if BUILDING in households.columns else None
    hamlet = _codes(households[HAMLET]) if HAMLET in households.columns else None
    village = (_codes(households[VILLAGE_CODE]) if VILLAGE_CODE in households.columns
               else np.full(n, None, dtype=object))
    village[bad.to_numpy()] = None
    registered = pd.notna(village)  # codes of the register, before any is found by its point

    polygons: dict[str, object] = {}
    derived = False
    if villages is not None:
        vcodes = _codes(villages[VILLAGE_CODE])
        flat = []
        for code, g in zip(vcodes, outline_metric(villages.geometry, metric, vcodes)):
            if code is None or g is None:
                continue
            if g.is_empty:
                flat.append(code)  # a line or a point: no land to cut
                continue
            polygons[code] = shapely.union_all([polygons[code], g]) if code in polygons else g
        flat = sorted(set(flat) - set(polygons))
        if flat:
            raise InputError(f"the outlines of villages {', '.join(flat[:5])}{'…' if len(flat) > 5 else ''} "
                             "have no area (lines or points); give village outlines as polygons")
        # households without a code take the village whose polygon holds them
        need = np.flatnonzero(pd.isna(village) & ~bad.to_numpy())
        if len(need) and polygons:
            # by code, not by the villages' row order: a household on a shared border
            # (or in overlapping outlines) goes to the same village however they are sorted
            codes = sorted(polygons)
            tree = shapely.STRtree([polygons[c] for c in codes])
            pi, gi = tree.query(shapely.points(pts[need]), predicate="dwithin", distance=TOL_M)
            order = np.lexsort((gi, pi))
            pi, gi = pi[order], gi[order]
            first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
            for p, g in zip(pi[first], gi[first]):
                village[need[p]] = codes[g]
        unknown = np.flatnonzero(
            np.array([c is not None and c not in polygons for c in village], dtype=bool))
        if len(unknown):
            names = sorted({village[i] for i in unknown})
            diags.append(_diag("no_village", None, unknown,
                               "{n} household(s) carry village codes with no village polygon ("
                               + ", ".join(names[:5]) + ("…" if len(names) > 5 else "")
                               + "); they are not in any cell. Import the village outlines or "
                               "correct the codes"))
            village[unknown] = None
        _outside(pts, village, polygons, diags)
        _shared(pts, village, building, polygons, diags, registered)
        diags += overlapping_outlines(polygons)
    else:
        _shared(pts, village, building, None, diags, registered)
        polygons = derive_outlines(pts, village)
        derived = True
        _outside(pts, village, polygons, diags)
    missing = np.flatnonzero(pd.isna(village) & ~bad.to_numpy())
    already = set()
    for d in diags:
        already.update(d["households"])
    missing = np.array([i for i in missing if i not in already], dtype=int)
    if len(missing):
        diags.append(_diag("no_village", None, missing,
                           "{n} household(s) have no village code and lie in no village outline; "
                           "they are not in any cell. Give them a village code"))
    _isolated(pts, village, diags)
    return Prepared(crs=pyproj.CRS(households.crs), metric=metric, points=pts, village=village,
                    polygons=polygons, building=building, hamlet=hamlet, derived_outlines=derived,
                    diagnostics=diags)


def outline_metric(geoms: gpd.GeoSeries, metric, names=None) -> gpd.GeoSeries:
    """Village outlines (a GeoSeries with a CRS) in the metric CRS ``metric``, read as
    :func:`prepare` reads them: each row its polygonal parts as one polygon (or
    multipolygon), empty where it has none (a line, a point: an outline with no
    area), None where no outline is given (None, or an empty geometry).

    An invalid outline (a bow-tie a planner drew by hand, its edges crossing) is
    repaired in its own CRS first, by ``make_valid``: :func:`geogrid.crs.reproject`
    splits edges with ``shapely.segmentize``, which on an invalid polygon returns a
    valid one holding only one of its lobes (GEOS's Densifier runs ``buffer(0)`` on
    it), so half the village was lost.  Valid outlines reproject as before, then repaired
    again where moving the vertices made them invalid.  Use it wherever village
    outlines are brought into metres, so that every step reads them alike.

    An outline in longitude and latitude more than 180° wide is refused with an
    :class:`~geogrid.errors.InputError` naming it (by ``names``, one per row, else by
    the row's label): a village drawn across the antimeridian, from 179.9° to -179.9°,
    would otherwise be read as the band round the rest of the globe (tens of thousands
    of km², minutes of work, over a gigabyte).

    >>> from shapely.geometry import Polygon
    >>> bow = Polygon([(109.2, 27.3), (109.22, 27.32), (109.22, 27.3), (109.2, 27.32)])
    >>> g = outline_metric(gpd.GeoSeries([bow], crs=4326), 32649).iloc[0]
    >>> g.geom_type, len(g.geoms), round(g.area / 1e6, 2)  # both lobes
    ('MultiPolygon', 2, 2.19)
    """
    arr = geoms.to_numpy()
    given = ~(pd.isna(arr) | shapely.is_empty(arr))
    _refuse_wrapped(geoms, given, names)
    bad = given & ~shapely.is_valid(arr)
    if bad.any():
        arr = arr.copy()
        arr[bad] = [_polygonal(g) for g in shapely.make_valid(arr[bad])]
        geoms = gpd.GeoSeries(arr, index=geoms.index, crs=geoms.crs)
    out = reproject(geoms, metric).to_numpy().copy()
    out[given] = [_polygonal(g) for g in shapely.make_valid(out[given])]
    out[~given] = None
    return gpd.GeoSeries(out, index=geoms.index, crs=metric)


def _refuse_wrapped(geoms: gpd.GeoSeries, given: np.ndarray, names) -> None:
    """An :class:`InputError` for outlines in degrees that span more than 180° of
    longitude (see :func:`outline_metric`)."""
    if geoms.crs is None or not pyproj.CRS(geoms.crs).is_geographic or not given.any():
        return
    b = shapely.bounds(geoms.to_numpy()[given])
    wide = np.flatnonzero(b[:, 2] - b[:, 0] > 180.0)
    if not len(wide):
        return
    labels = np.asarray(names if names is not None else geoms.index, dtype=object)[given][wide]
    shown = ", ".join(str(x) for x in labels[:5]) + ("…" if len(wide) > 5 else "")
    raise InputError(
        f"the outlines of village(s) {shown} span more than 180° of longitude "
        f"({b[wide[0], 0]:.4f}° to {b[wide[0], 2]:.4f}°): a village drawn across the "
        "antimeridian (±180°) in longitude and latitude reads as the band round the rest of "
        "the globe. Give such villages, and their households, in a projected CRS (the UTM "
        "zone of the place, e.g. EPSG:32660 for 174°E to 180°)")


def _polygonal(g):
    """The polygonal parts of ``g`` (in collections and multis too) as one geometry."""
    parts = shapely.get_parts(shapely.get_parts(g))  # a collection's multipolygon too
    return shapely.union_all([p for p in parts if p.geom_type == "Polygon"])


#: diagnostics of households left out of every cell for a problem of the input (with
#: ``no_point``, every reason a household may have no cell in a plan that keeps the rules)
INPUT_PROBLEMS = ("no_village", "outside_village", "shared_address", "bad_point")


def _shared(pts, village, building, polygons, diags, registered=None) -> None:
    """Households at one point (to the centimetre) in different villages (a house on
    a border, one household registered in each): one unit cannot be in two villages'
    cells.  The village most of the registered ones belong to keeps the address (on
    a tie, the one whose outline holds it, else the first code); a household there
    with no code of its own (``registered`` False: it took a village by its point)
    follows it, and the registered households of the other villages are reported and
    left out, as households outside their village are.

    A building key joins households of one village only: villages number their
    buildings each their own way, and building 7 of one village is not building 7 of
    the next one 80 m away (a unit is otherwise joined through shared keys).
    """
    has = np.flatnonzero(np.array([c is not None for c in village], dtype=bool))
    if len(has) < 2:
        return
    registered = np.ones(len(village), bool) if registered is None else np.asarray(registered, bool)
    v_key = pd.factorize(village[has])[0]
    # first the households at a point that is also another village's: none, mostly
    # (20 ms on the county, where units of every household took 80 ms)
    p = address_keys(pts[has])
    at = pd.factorize(p[:, 0] + 1j * p[:, 1])[0]
    pair = pd.DataFrame({"k": at, "v": v_key}).drop_duplicates()
    mixed_at = pair["k"][pair["k"].duplicated()].unique()
    if not len(mixed_at):
        return
    keys = [at]
    scoped = None
    if building is not None:
        b = building[has]
        scoped = np.array([None if k is None else f"{v}\x1f{k}" for v, k in zip(village[has], b)], dtype=object)
        keys.append(pd.factorize(scoped)[0])
    # the units of those: everyone at their points or with their (village's) building
    # keys, and again at the points those reach
    near = np.isin(at, mixed_at)
    for _ in range(2):
        near = np.logical_or.reduce([np.isin(k, k[near]) & (k >= 0) for k in keys])
    rows_all = has[near]
    units = make_units(pts[rows_all], None if scoped is None else scoped[near])
    v_key, v_codes = pd.factorize(village[rows_all])
    pair = pd.DataFrame({"u": units.of, "v": v_key}).drop_duplicates()
    mixed = pair["u"][pair["u"].duplicated()].unique()
    out = []
    for u in np.sort(mixed):
        rows = np.flatnonzero(units.of == u)
        voters = rows[registered[rows_all[rows]]]
        n = np.bincount(v_key[voters if len(voters) else rows], minlength=len(v_codes))
        cand = sorted(v_codes[np.flatnonzero(n == n.max())])
        keep = cand[0]
        if len(cand) > 1 and polygons:
            holds = [c for c in cand if c in polygons and shapely.intersects_xy(polygons[c], *units.xy[u])]
            keep = holds[0] if holds else keep
        for r in rows:
            h = int(rows_all[r])
            if village[h] == keep:
                continue
            if registered[h]:
                out.append(h)
            else:
                village[h] = keep  # placed by its point: it goes with its address
    _leave_out(diags, village, "shared_address", np.array(sorted(out), dtype=int), SHARED_ADDRESS)


#: the message of a ``shared_address`` note ({n}: how many households it names)
SHARED_ADDRESS = ("{n} household(s) share their point with households registered in another "
                  "village, which keeps that address; they are not in any cell. Correct their "
                  "point or their village code")


def overlapping_outlines(polygons: dict) -> list[dict]:
    """``villages_overlap`` diagnostics: pairs of village outlines that overlap by more
    than :data:`OVERLAP_M2`, over :data:`OVERLAP_WIDTH_M` wide on average (a digitising
    error: both villages' cells then cover the land, and a household there lies in a
    cell of each)."""
    codes = sorted(polygons)
    if len(codes) < 2:
        return []
    geoms = np.array([polygons[c] for c in codes], dtype=object)
    # pairs whose boxes meet, then their common area: on the sample county 40 ms,
    # where the "overlaps" predicate took 90 ms for the same answer
    left, right = shapely.STRtree(geoms).query(geoms)
    keep = left < right
    left, right = left[keep], right[keep]
    out = []
    if len(left):
        common = shapely.intersection(geoms[left], geoms[right])
        area = shapely.area(common)
        # a shared border digitised twice leaves a long sliver of some area but no
        # width: its mean width (twice the area over the outline) tells it apart
        width = mean_width(common)
        big = (area > OVERLAP_M2) & (width > OVERLAP_WIDTH_M)
        for i, j, a in zip(left[big], right[big], area[big]):
            out.append({**diagnostic(
                "villages_overlap", codes[i], [],
                f"the outlines of villages {codes[i]} and {codes[j]} overlap by {area_text(a)}; "
                "both villages' cells cover that land. Correct the outlines so that they only "
                "touch"), "villages": [codes[i], codes[j]],
                # the overlap's area (m²), as the message gives it, for a translation of it
                "params": {"area_m2": round(float(a), 1)}})
    return out


#: the overlap of two village outlines reported (m²): more than the slivers of a
#: shared border digitised twice
OVERLAP_M2 = 100.0
#: ... and at least this wide on average (m): not a sliver of a border digitised twice
OVERLAP_WIDTH_M = 1.0


def _outside(pts, village, polygons, diags) -> None:
    """Households outside their own village's polygon are reported and left out (a
    village with no outline, derived ones: every point of its was another's)."""
    has = np.flatnonzero(np.array([c is not None for c in village], dtype=bool))
    none = has[~pd.Series(village[has]).isin(list(polygons)).to_numpy()]
    _leave_out(diags, village, "no_village", none,
               "{n} household(s) belong to villages with no outline of their own (every point "
               "of theirs is another village's); they are not in any cell. Correct their point "
               "or their village code")
    has = np.setdiff1d(has, none)
    if not len(has):
        return
    # most lie inside their village's polygon: a distance only for the rest (a distance
    # for every household took 0.2 s on the county)
    key, codes = pd.factorize(village[has])
    rest = has[~inside_own(pts[has], [polygons[c] for c in codes], key)]
    d = shapely.distance(shapely.points(pts[rest]), np.array([polygons[c] for c in village[rest]], dtype=object))
    _leave_out(diags, village, "outside_village", rest[d > TOL_M],
               "{n} household(s) lie outside the outline of the village they are registered in "
               "and are not in any cell; correct their point or their village code")


def _leave_out(diags, village, kind, idx, template) -> None:
    """Households ``idx`` (positions) reported with a ``kind`` note and left out of
    every village (so of every cell)."""
    if len(idx):
        diags.append(_diag(kind, None, idx, template))
        village[idx] = None


def _diag(kind, code, idx, template) -> dict:
    return diagnostic(kind, code, idx, template.format(n=len(idx)))


def _isolated(pts, village, diags) -> None:
    ok = np.flatnonzero(np.array([c is not None for c in village], dtype=bool))
    for d in isolated_notes(pts[ok], village[ok]):
        d["households"] = [int(ok[h]) for h in d["households"]]
        diags.append(d)


def isolated_notes(pts: np.ndarray, village: np.ndarray, only: np.ndarray | None = None) -> list[dict]:
    """``isolated`` diagnostics: a household whose nearest other household (at another
    point: those at one point keep each other company) is further than
    :data:`ISOLATED_M`, among ``pts`` (metres), for all of them or those at positions
    ``only``; each names its position in ``pts``."""
    if len(pts) < 2:
        return []
    # distinct points as one complex number each: a 1-D sort, three times faster than
    # np.unique(axis=0), in the same (x, then y) order
    uz, inv = np.unique(pts[:, 0] + 1j * pts[:, 1], return_inverse=True)
    inv = inv.ravel()
    if len(uz) < 2:
        return []
    uniq = np.column_stack([uz.real, uz.imag])
    rows = np.arange(len(pts)) if only is None else np.asarray(only, dtype=int)
    need = np.unique(inv[rows])  # the distinct points asked about
    dist = np.zeros(len(uniq))
    dist[need] = cKDTree(uniq).query(uniq[need], k=2)[0][:, 1]
    out = []
    for h in rows[dist[inv[rows]] > ISOLATED_M]:
        out.append({
            "kind": "isolated", "village_code": village[h], "households": [int(h)],
            "message": f"a household of village {village[h]} is {dist[inv[h]] / 1000:.1f} km "
            "from every other household; its cell stretches to reach it. Check its point, "
            "or agree by hand which grid worker visits it",
        })
    return out


def derive_outlines(pts: np.ndarray, village: np.ndarray) -> dict[str, object]:
    """Village outlines from households alone: the Voronoi regions of each village's
    households, merged, and cut back to within :data:`OUTLINE_MARGIN_M` of them."""
    ok = np.flatnonzero(np.array([c is not None for c in village], dtype=bool))
    if not len(ok):
        return {}
    codes = village[ok].astype(str)
    uniq, first, inv = np.unique(pts[ok], axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    # the village of each distinct point: the most common among its households
    df = pd.DataFrame({"p": inv, "c": codes})
    owner = df.groupby(["p", "c"]).size().reset_index().sort_values(
        ["p", 0, "c"], ascending=[True, False, True]).drop_duplicates("p").set_index("p")["c"]
    point_code = owner.reindex(np.arange(len(uniq))).to_numpy()
    span = max(np.ptp(uniq[:, 0]), np.ptp(uniq[:, 1]), 1.0)
    env = shapely.box(uniq[:, 0].min() - span, uniq[:, 1].min() - span,
                      uniq[:, 0].max() + span, uniq[:, 1].max() + span)
    if len(uniq) >= 2:
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(uniq), extend_to=env))
        # the Voronoi cell of each point (``ordered=True`` needs GEOS 3.12)
        pi, ci = shapely.STRtree(cells).query(shapely.points(uniq), predicate="intersects")
        order = np.lexsort((ci, pi))
        pi, ci = pi[order], ci[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        vor = np.empty(len(uniq), dtype=object)
        vor[pi[first]] = cells[ci[first]]
    else:
        vor = np.array([env], dtype=object)
    out = {}
    for code in sorted(set(point_code)):
        m = point_code == code
        region = shapely.union_all(vor[m])
        reach = shapely.convex_hull(shapely.multipoints(uniq[m])).buffer(OUTLINE_MARGIN_M, 8)
        g = shapely.make_valid(shapely.intersection(region, reach))
        polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area > 1e-6]
        out[code] = shapely.union_all(polys)
    return out
