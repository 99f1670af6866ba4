"""Validation and diff of stored plans.

:func:`validate_plan` returns every broken rule with the objects involved, in words a
planner understands: ``over_capacity``, ``empty_cell`` (with what to do: ``fix``, see
:func:`_empty_cell`), ``disconnected_cell``,
``disconnected_microgrid``, ``gap``, ``overlap``, ``nesting`` and ``outside_cell``; a
cell that is one building over the cap is the warning ``oversize_building``, as the
partition engine keeps such a building whole.  The warning ``unassigned`` counts the
register's households of the plan's villages (with a point, in scope) that are in no
cell of the plan, by the micro-grid their point lies in, to re-run: households added
to the register since the plan was made.  It is a warning, not an error, as the
register grows every day and a draft of some villages should not wait for another
village's new household to be published.  A cell is
``disconnected_cell`` (a micro-grid ``disconnected_microgrid``) by the rule of the
engine's own check (:func:`geogrid.partition.validate.not_one_piece`): in pieces where
its village is in one, or with two of its pieces in one piece of a village in pieces
(a cell with an island of its village, no households on it, is fine).  A village's stored
outline is read as the engine reads it, repaired where invalid (make_valid, its polygons
only), for every rule.  Areas are measured in
the local UTM zone; slivers under 1 m² are ignored (the partition engine's tolerance).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.ops import unary_union
from sqlalchemy import func, select

from geogrid.api.geojson import TOLERANCE_M2
from geogrid.api.scope import Scope
from geogrid.crs import densify, local_metric_crs
from geogrid.db.models import Area, Assignment, Cell, Household, Microgrid, Plan
from geogrid.partition.validate import not_one_piece, one_building_cells

__all__ = ["validate_plan", "diff_plans"]


def _frame(session, stmt) -> gpd.GeoDataFrame:
    rows = session.execute(stmt).all()
    if not rows:
        return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs=4326)
    cols = list(rows[0]._fields)
    data = {c: [getattr(r, c) for r in rows] for c in cols if c != "wkb"}
    geoms = shapely.from_wkb([bytes(r.wkb) if r.wkb is not None else None for r in rows])
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=4326)


def _load(session, plan_id: str, scope: Scope, microgrid_ids=None):
    where = [Microgrid.plan_id == plan_id, scope.microgrids_clause()]
    if microgrid_ids:
        where.append(Microgrid.id.in_(list(microgrid_ids)))
    mgs = _frame(session, select(Microgrid.id, Microgrid.microgrid_key, Microgrid.village_code,
                                 func.ST_AsBinary(Microgrid.geom).label("wkb")).where(*where))
    ids = list(mgs["id"]) if len(mgs) else []
    cells = _frame(session, select(Cell.id, Cell.cell_key, Cell.microgrid_id, Cell.village_code,
                                   Cell.households, Cell.locked, func.ST_AsBinary(Cell.geom).label("wkb"))
                   .where(Cell.plan_id == plan_id, Cell.microgrid_id.in_(ids)))
    cell_ids = list(cells["id"]) if len(cells) else []
    hh = _frame(session, select(Assignment.household_id, Assignment.cell_id, Household.building,
                                func.ST_AsBinary(Household.geom).label("wkb"))
                .join(Household, Household.id == Assignment.household_id)
                .where(Assignment.plan_id == plan_id, Assignment.cell_id.in_(cell_ids)))
    return mgs, cells, hh


class _Area:
    """Square metres of WGS84 geometry, in the local UTM zone.

    Topology (differences, intersections) is computed in the stored coordinates, where
    edges are the straight segments that were stored; only the *size* of a result is
    measured in metres.  Projecting first would bend long east-west edges by
    millimetres and report phantom slivers.
    """

    def __init__(self, ref):
        import pyproj

        c = ref.centroid
        self._tr = pyproj.Transformer.from_crs(4326, local_metric_crs(c.x, c.y), always_xy=True).transform

    def __call__(self, geom) -> float:
        if geom is None or geom.is_empty:
            return 0.0
        # edges split first: a long edge straight in degrees is a curve in metres, and
        # measured as its chord a sliver along a 5 km village edge would come out at
        # several m² instead of a few cm²
        geom = densify(geom)
        return shapely.transform(geom, lambda xy: _stack(self._tr(xy[:, 0], xy[:, 1]))).area


def _stack(xy):
    import numpy as np

    return np.column_stack(xy)


def _metric(*frames):
    return frames


def _one_building(hh) -> set:
    """Cells that are one building (the engine's rule: geogrid.partition.validate)."""
    if not len(hh):
        return set()
    xy = shapely.get_coordinates(hh.geometry.to_numpy())
    tr = _Area(hh.geometry.iloc[0])._tr
    pts_m = _stack(tr(xy[:, 0], xy[:, 1]))
    return one_building_cells(hh["cell_id"].to_numpy(dtype=object), pts_m,
                              hh["building"].to_numpy(dtype=object))


def _repaired(g):
    """A stored village outline as the engine reads it (geogrid.partition.inputs.prepare):
    repaired by make_valid where invalid (a hand-digitised bow-tie, a ring that crosses
    itself), its polygons only; None for no outline or one with no area (a line, a point)."""
    if g is None or g.is_empty:
        return None
    if g.is_valid and g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(shapely.get_parts(shapely.make_valid(g)))
             if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _disconnected(session, plan_id: str, cells, vil_geom: dict) -> dict:
    """The cells (or micro-grids) in pieces that break the rule of one piece, as the engine's check()
    applies it (:func:`~geogrid.partition.validate.not_one_piece`), each with the number
    of pieces of its village.  ``vil_geom`` are the outlines repaired (:func:`_repaired`).
    A village with no stored outline is the land of the
    plan's micro-grids of it (all of them, whatever the scope), as check() takes it
    without outlines."""
    if not len(cells):
        return {}
    multi = cells[shapely.get_num_geometries(cells.geometry.to_numpy()) > 1]
    if not len(multi):
        return {}
    outline = {c: g for c, g in vil_geom.items() if g is not None and not g.is_empty}
    missing = sorted({v for v in multi["village_code"] if isinstance(v, str) and v not in outline})
    if missing:
        mgs = _frame(session, select(Microgrid.village_code, func.ST_AsBinary(Microgrid.geom).label("wkb"))
                     .where(Microgrid.plan_id == plan_id, Microgrid.village_code.in_(missing)))
        for code, g in (mgs.groupby("village_code") if len(mgs) else []):
            outline[code] = shapely.union_all(g.geometry.dropna().to_numpy())
    shapes = [outline.get(v) for v in multi["village_code"]]
    apart = not_one_piece(multi.geometry.to_numpy(), shapes)
    return {cid: (0 if o is None else int(shapely.get_num_geometries(o)))
            for cid, o, bad in zip(multi["id"], shapes, apart) if bad}


def _unassigned(session, plan_id: str, scope: Scope, mgs, microgrid_ids) -> list[dict]:
    """The ``unassigned`` warnings: the households of the plan's villages in ``mgs``
    (with a point, in ``scope``) that no cell of the plan holds, one warning for the
    households in each micro-grid (to re-run), one for those of a village in none of
    its micro-grids; with ``microgrid_ids``, those in them only."""
    codes = sorted({v for v in mgs["village_code"] if v})
    if not codes:
        return []
    hh = _frame(session, select(Household.id, Household.village_code, func.ST_AsBinary(Household.geom).label("wkb"))
                .outerjoin(Assignment, (Assignment.household_id == Household.id) & (Assignment.plan_id == plan_id))
                .where(Assignment.household_id.is_(None), Household.village_code.in_(codes),
                       Household.geom.is_not(None), scope.households_clause())
                .order_by(Household.id))
    if not len(hh):
        return []
    # each household in the first micro-grid (in ``mgs``' order) of its own village that
    # its point lies in: the pairs found through a tree of the micro-grids (testing every
    # micro-grid against every household took 8 s for a county's 756 and 80,000)
    geoms = mgs.geometry.to_numpy()
    usable = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    pi, gi = shapely.STRtree(geoms[usable]).query(hh.geometry.to_numpy(), predicate="intersects")
    gi = usable[gi]
    same = hh["village_code"].to_numpy(dtype=object)[pi] == mgs["village_code"].to_numpy(dtype=object)[gi]
    first = np.full(len(hh), len(mgs))
    np.minimum.at(first, pi[same], gi[same])
    ids = hh["id"].to_numpy(dtype=object)
    inside = set(ids[first < len(mgs)])
    problems = []
    rows = list(mgs.itertuples())
    for k in np.unique(first[first < len(mgs)]):
        mg, ids_here = rows[k], ids[first == k].tolist()
        problems.append(_problem(
            "unassigned", "warning",
            f"{len(ids_here)} household(s) in micro-grid {mg.microgrid_key} are in no cell of this plan "
            "(added to the register since it was made): re-run the micro-grid to place them",
            [{"type": "microgrid", "id": mg.id, "key": mg.microgrid_key},
             *({"type": "household", "id": h} for h in ids_here)], households=len(ids_here)))
    if not microgrid_ids:
        lost = hh[~hh["id"].isin(list(inside))]
        for code, g in lost.groupby("village_code"):
            problems.append(_problem(
                "unassigned", "warning",
                f"{len(g)} household(s) of village {code} are in no cell of this plan and lie in none of its "
                "micro-grids: check their points, or redraw the micro-grid boundaries to take them in",
                [{"type": "area", "code": code}, *({"type": "household", "id": h} for h in g["id"])],
                households=len(g)))
    return problems


def _outside_cell(session, scope: Scope, outside: list[tuple], key: dict) -> list[dict]:
    """The ``outside_cell`` warnings of ``outside`` ((household id, cell id) pairs): one
    naming the household for each household the scope covers, and for the others (a
    cell's leader sees the cells beside theirs, not their households) one per cell
    saying how many of its households lie outside it."""
    ids = [h for h, _ in outside]
    mine = set(ids) if scope.everything else _in_scope(session, scope, ids)
    problems, others = [], {}
    for hid, cid in outside:
        ref = {"type": "cell", "id": cid, "key": key.get(cid)}
        if hid in mine:
            problems.append(_problem("outside_cell", "warning",
                                     f"household {hid} lies outside its cell {key.get(cid)}",
                                     [{"type": "household", "id": hid}, ref]))
        else:
            others.setdefault(cid, [ref, 0])[1] += 1
    for cid, (ref, n) in others.items():
        problems.append(_problem("outside_cell", "warning",
                                 f"{n} household(s) of cell {key.get(cid)} lie outside it",
                                 [ref], households=n))
    return problems


def _in_scope(session, scope: Scope, ids: list[str]) -> set[str]:
    """Which of the households ``ids`` the scope covers, in batches of primary keys."""
    found: set[str] = set()
    for i in range(0, len(ids), 500):
        found |= set(session.execute(select(Household.id).where(
            Household.id.in_(ids[i:i + 500]), scope.households_clause())).scalars())
    return found


def _empty_cell(session, plan_id: str, cid: str, key: str, cells, mgs, counts) -> dict:
    """The ``empty_cell`` error of cell ``cid`` (key ``key``), saying what to do, as the
    engine's notes do (``fix``, and the objects to act on):

    - ``unlock_and_rerun``: the cell is locked (a re-run keeps it as it is): unlock it
      and re-run its micro-grid, which then draws its cells without it;
    - ``rerun_with_neighbour``: its micro-grid has no households at all: re-run it
      together with a micro-grid of its village next to it (``neighbours``), which takes
      its land, and it is dropped (none next to it: the village's only micro-grid, its
      households to be checked);
    - ``rerun``: re-run its micro-grid, which draws its cells without an empty one, or
      merge the cell into one next to it."""
    cell = cells[cells["id"] == cid].iloc[0]
    mg = mgs[mgs["id"] == cell["microgrid_id"]].iloc[0]
    mkey = mg["microgrid_key"]
    refs = [{"type": "cell", "id": cid, "key": key}, {"type": "microgrid", "id": mg["id"], "key": mkey}]
    if bool(cell["locked"]):
        return _problem("empty_cell", "error",
                        f"cell {key} has no households and is locked, so a re-run keeps it as it is: unlock it "
                        f"and re-run micro-grid {mkey}, which then draws its cells without it", refs,
                        fix="unlock_and_rerun")
    mine = cells.loc[cells["microgrid_id"] == mg["id"], "id"]
    if not any(int(counts.get(c, 0)) for c in mine):
        near = _neighbours(session, plan_id, mg)
        where = (f"re-run {mkey} together with a micro-grid of its village next to it "
                 f"({', '.join(k for _, k in near)}), which takes its land, and {mkey} is dropped" if near else
                 f"it is the only micro-grid of village {mg['village_code']}: check that the village's "
                 "households were imported with this village code")
        return _problem("empty_cell", "error",
                        f"cell {key} has no households: its micro-grid {mkey} has none left; {where}",
                        refs + [{"type": "microgrid", "id": i, "key": k} for i, k in near],
                        fix="rerun_with_neighbour", neighbours=[k for _, k in near])
    return _problem("empty_cell", "error",
                    f"cell {key} has no households: re-run its micro-grid {mkey}, which draws its cells "
                    "without an empty one, or merge the cell into one next to it", refs, fix="rerun")


def _neighbours(session, plan_id: str, mg) -> list[tuple[str, str]]:
    """The plan's other micro-grids of ``mg``'s village that border it (by a line, not a
    corner), else the nearest: ``[(id, key)]`` by key, as the engine names those to
    re-run an empty micro-grid with (:mod:`geogrid.partition.empty_microgrids`)."""
    others = _frame(session, select(Microgrid.id, Microgrid.microgrid_key, func.ST_AsBinary(Microgrid.geom)
                                    .label("wkb")).where(Microgrid.plan_id == plan_id,
                                                         Microgrid.village_code == mg["village_code"],
                                                         Microgrid.id != mg["id"]))
    g = mg.geometry
    if not len(others) or g is None or g.is_empty:
        return []
    rows = sorted((r for r in others.itertuples() if r.geometry is not None), key=lambda r: r.microgrid_key)
    m = _Area(g)
    # a line in common: at least a metre of the outline within 5 cm of the other
    shared = [r for r in rows if _length(g.boundary.intersection(r.geometry.buffer(5e-7)), m) >= 1.0]
    if shared:
        return [(r.id, r.microgrid_key) for r in shared]
    near = min(rows, key=lambda r: g.distance(r.geometry))
    return [(near.id, near.microgrid_key)]


def _length(line, m) -> float:
    """The length (m) of a line in degrees, in ``m``'s UTM zone."""
    if line is None or line.is_empty:
        return 0.0
    return shapely.transform(densify(line), lambda xy: _stack(m._tr(xy[:, 0], xy[:, 1]))).length


def _problem(rule, severity, message, objects, **extra) -> dict:
    out = {"rule": rule, "severity": severity, "message": message, "objects": objects}
    out.update(extra)
    return out


def validate_plan(session, plan: Plan, *, scope: Scope, microgrid_ids=None) -> list[dict]:
    """Every broken rule of ``plan`` within ``scope`` (and ``microgrid_ids`` if given)."""
    cap = int((plan.params or {}).get("max_households", 20))
    mgs, cells, hh = _load(session, plan.id, scope, microgrid_ids)
    problems: list[dict] = []
    if not len(mgs):
        return problems
    counts = hh.groupby("cell_id").size() if len(hh) else {}
    one_building = _one_building(hh)
    villages = _frame(session, select(Area.code, func.ST_AsBinary(Area.geom).label("wkb")).where(
        Area.level == "village", Area.code.in_(sorted({v for v in mgs["village_code"] if v}))))
    mgs_m, cells_m, hh_m, vil_m = mgs, cells, hh, villages
    # the outlines repaired once, as the engine reads them, for every check below: an
    # invalid one (a bow-tie) made GEOS raise in the nesting and gap overlays (HTTP 500)
    vil_geom = {c: _repaired(g) for c, g in zip(vil_m["code"], vil_m.geometry)} if len(vil_m) else {}
    disconnected = _disconnected(session, plan.id, cells, vil_geom)
    m2 = _Area(mgs.geometry.dropna().iloc[0] if mgs.geometry.notna().any() else shapely.Point(110, 30))
    cell_geom = dict(zip(cells_m["id"], cells_m.geometry)) if len(cells_m) else {}
    key = dict(zip(cells["id"], cells["cell_key"])) if len(cells) else {}
    for cid in (cells["id"] if len(cells) else []):
        n = int(counts.get(cid, 0)) if len(hh) else 0
        if n > cap and cid in one_building:
            # the partition engine keeps a bigger building whole as a cell of its own
            problems.append(_problem("oversize_building", "warning",
                                     f"cell {key[cid]} is one building of {n} households, more than "
                                     f"{cap}; split it by floor or stairwell if one grid worker "
                                     "cannot serve it",
                                     [{"type": "cell", "id": cid, "key": key[cid]}], households=n))
        elif n > cap:
            problems.append(_problem("over_capacity", "error",
                                     f"cell {key[cid]} has {n} households, more than {cap}",
                                     [{"type": "cell", "id": cid, "key": key[cid]}], households=n))
        if n == 0:
            problems.append(_empty_cell(session, plan.id, cid, key[cid], cells, mgs, counts))
        if cid in disconnected:
            g = cell_geom[cid]
            where = (f", not each in a different part of its village ({disconnected[cid]} parts)"
                     if disconnected[cid] > 1 else "")
            problems.append(_problem("disconnected_cell", "error",
                                     f"cell {key[cid]} is in {len(g.geoms)} separate pieces{where}",
                                     [{"type": "cell", "id": cid, "key": key[cid]}]))
    # a micro-grid in pieces, by the same rule as a cell (check()'s microgrids_one_piece):
    # a repartition after an outline edit can leave one so, with a note saying which
    # micro-grids to re-solve with it
    torn = _disconnected(session, plan.id, mgs_m, vil_geom) if len(mgs_m) else {}
    for _, mg in mgs_m.iterrows():
        ref = {"type": "microgrid", "id": mg["id"], "key": mg["microgrid_key"]}
        own = cells_m[cells_m["microgrid_id"] == mg["id"]] if len(cells_m) else cells_m
        g = mg.geometry
        if g is None or g.is_empty:
            continue
        if mg["id"] in torn:
            where = (f", not each in a different part of its village ({torn[mg['id']]} parts)"
                     if torn[mg["id"]] > 1 else "")
            problems.append(_problem("disconnected_microgrid", "error",
                                     f"micro-grid {mg['microgrid_key']} is in {shapely.get_num_geometries(g)} "
                                     f"separate pieces{where}; re-solve it with the micro-grids next to "
                                     "its cut-off pieces", [ref]))
        v = vil_geom.get(mg["village_code"])
        if v is not None:
            out = m2(g.difference(v))
            if out > TOLERANCE_M2:
                problems.append(_problem("nesting", "error",
                                         f"micro-grid {mg['microgrid_key']} reaches {out:.0f} m² outside village {mg['village_code']}",
                                         [ref, {"type": "area", "code": mg["village_code"]}], area_m2=round(out, 1)))
        geoms = [x for x in own.geometry if x is not None and not x.is_empty] if len(own) else []
        rows = list(own.itertuples()) if len(own) else []
        for r in rows:
            if r.geometry is None:
                continue
            out = m2(r.geometry.difference(g))
            if out > TOLERANCE_M2:
                problems.append(_problem("nesting", "error",
                                         f"cell {r.cell_key} reaches {out:.0f} m² outside micro-grid {mg['microgrid_key']}",
                                         [{"type": "cell", "id": r.id, "key": r.cell_key}, ref], area_m2=round(out, 1)))
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                a, b = rows[i].geometry, rows[j].geometry
                if a is None or b is None or not a.intersects(b):
                    continue
                ov = m2(a.intersection(b))
                if ov > TOLERANCE_M2:
                    problems.append(_problem("overlap", "error",
                                             f"cells {rows[i].cell_key} and {rows[j].cell_key} overlap by {ov:.0f} m²",
                                             [{"type": "cell", "id": rows[i].id, "key": rows[i].cell_key},
                                              {"type": "cell", "id": rows[j].id, "key": rows[j].cell_key}],
                                             area_m2=round(ov, 1)))
        if geoms:
            gap = m2(g.difference(unary_union(geoms)))
            if gap > TOLERANCE_M2:
                problems.append(_problem("gap", "error",
                                         f"{gap:.0f} m² of micro-grid {mg['microgrid_key']} is in no cell",
                                         [ref], area_m2=round(gap, 1)))
    # micro-grids of one village: overlaps and gaps against the village
    for code, group in (mgs_m.groupby("village_code") if len(mgs_m) else []):
        rows = [r for r in group.itertuples() if r.geometry is not None]
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                if rows[i].geometry.intersects(rows[j].geometry):
                    ov = m2(rows[i].geometry.intersection(rows[j].geometry))
                    if ov > TOLERANCE_M2:
                        problems.append(_problem("overlap", "error",
                                                 f"micro-grids {rows[i].microgrid_key} and {rows[j].microgrid_key} overlap by {ov:.0f} m²",
                                                 [{"type": "microgrid", "id": rows[i].id, "key": rows[i].microgrid_key},
                                                  {"type": "microgrid", "id": rows[j].id, "key": rows[j].microgrid_key}],
                                                 area_m2=round(ov, 1)))
        v = vil_geom.get(code)
        if v is not None and not microgrid_ids and scope.unrestricted:
            gap = m2(v.difference(unary_union([r.geometry for r in rows])))
            if gap > TOLERANCE_M2:
                problems.append(_problem("gap", "error", f"{gap:.0f} m² of village {code} is in no micro-grid",
                                         [{"type": "area", "code": code}], area_m2=round(gap, 1)))
    if len(hh_m):
        outside = [(r.household_id, r.cell_id) for r in hh_m.itertuples()
                   if (g := cell_geom.get(r.cell_id)) is not None and not g.is_empty
                   and g.distance(r.geometry) > 5e-6]  # ~0.5 m
        problems += _outside_cell(session, scope, outside, key)
    problems += _unassigned(session, plan.id, scope, mgs, microgrid_ids)
    return problems


def diff_plans(session, a: Plan, b: Plan, *, scope: Scope) -> dict:
    """Changes from plan ``a`` to plan ``b``, matched by micro-grid and cell keys."""
    def cells_of(plan):
        rows = session.execute(select(Cell.cell_key, Cell.households, Cell.locked,
                                      func.ST_AsBinary(Cell.geom).label("wkb"))
                               .where(Cell.plan_id == plan.id, scope.cells_clause())).all()
        return {r.cell_key: r for r in rows}

    def mgs_of(plan):
        rows = session.execute(select(Microgrid.microgrid_key, Microgrid.households,
                                      func.ST_AsBinary(Microgrid.geom).label("wkb"))
                               .where(Microgrid.plan_id == plan.id, scope.microgrids_clause())).all()
        return {r.microgrid_key: r for r in rows}

    def members(plan):
        return dict(session.execute(
            select(Assignment.household_id, Cell.cell_key).join(Cell, Cell.id == Assignment.cell_id)
            .join(Household, Household.id == Assignment.household_id)
            .where(Assignment.plan_id == plan.id, scope.households_clause())).all())

    def changed_geom(x, y) -> bool:
        gx = shapely.from_wkb(bytes(x.wkb)) if x.wkb is not None else None
        gy = shapely.from_wkb(bytes(y.wkb)) if y.wkb is not None else None
        if gx is None or gy is None:
            return (gx is None) != (gy is None)
        return not gx.equals_exact(gy, 1e-9)

    out = {"from": a.id, "to": b.id}
    for name, fetch in (("microgrids", mgs_of), ("cells", cells_of)):
        xa, xb = fetch(a), fetch(b)
        out[name] = {
            "added": sorted(set(xb) - set(xa)),
            "removed": sorted(set(xa) - set(xb)),
            "changed": sorted(k for k in set(xa) & set(xb)
                              if xa[k].households != xb[k].households or changed_geom(xa[k], xb[k])),
        }
    ma, mb = members(a), members(b)
    moved = [{"household_id": h, "from": ma.get(h), "to": mb.get(h)}
             for h in sorted(set(ma) | set(mb)) if ma.get(h) != mb.get(h)]
    out["households_moved"] = len(moved)
    out["moves"] = moved[:5000]
    return out
