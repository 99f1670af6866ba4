"""Households: bbox/cell pages, one house with its residents, and the H3 aggregate.

The aggregate counts the households of the caller's scope by care level.  A caller who
may read those households (admins, planners, cadres) is told nothing the households
themselves would not tell them, at any resolution.  A caller who may not (an analyst)
would learn one house's care level from a hexagon holding it alone, so their answer is
withheld as :mod:`geogrid.api.disclosure` says: built from hexagons of
:data:`SUPPRESSION_RESOLUTION` (finer resolutions are answered at it), one holding
fewer than :data:`MIN_BIN_HOUSEHOLDS` households gives its count as ``suppressed``, not
by level, and coarser hexagons are made of whole such hexagons, so that no resolution
tells more than another (a coarse hexagon less its finer ones would give the withheld
levels back).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Annotated

import h3
from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from geogrid.api import queries
from geogrid.api.deps import ClaimsDep, hot_read, request_context
from geogrid.api.etag import make_etag
from geogrid.api.disclosure import MIN_BIN, SUPPRESSED, SUPPRESSION_RESOLUTION, answered_resolution, withhold_hexagons
from geogrid.api.geojson import GeoJSONResponse, feature_collection, hexagon
from geogrid.api.householdfeatures import feature_collection_bytes, point
from geogrid.api.paging import Page, collection_meta, page_limit, parse_bbox
from geogrid.api.representation import household_properties, person_masked
from geogrid.api.routes.grid import default_plan_id, get_cell_in_scope, resolve_plan_id, visible_plan
from geogrid.api.scope import require
from geogrid.api.scopecache import area_name
from geogrid.columns import CARE_LEVELS
from geogrid.errors import InputError, NotFoundError, PermissionDeniedError

router = APIRouter(tags=["households"])

BBOX_DOC = "minLon,minLat,maxLon,maxLat in WGS84"
_agg_lock = threading.Lock()
#: How long the aggregate trusts the households' change stamp (seconds).
STAMP_TTL_S = 5.0
#: The fewest households a hexagon of :data:`SUPPRESSION_RESOLUTION` holds for a caller
#: who may not read households to be told their care levels (:data:`~geogrid.api.disclosure.MIN_BIN`).
MIN_BIN_HOUSEHOLDS = MIN_BIN


@router.get("/households", response_class=GeoJSONResponse,
            summary="Households in scope as GeoJSON, filtered by bbox, cell or village")
async def list_households(
    request: Request, claims: ClaimsDep,
    bbox: Annotated[str | None, Query(description=BBOX_DOC)] = None,
    cell: Annotated[str | None, Query(description="cell id: its households")] = None,
    village: Annotated[str | None, Query(description="village code", max_length=12)] = None,
    plan: Annotated[str | None, Query(description="plan id for cell membership (default: published)")] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
):
    ahead = None
    if bbox is not None and cell is None and plan is None:
        ahead = _page_ahead(request, bbox, village, limit, offset)
    return await hot_read(request, claims, _list_households_in, bbox, cell, village, plan,
                          limit, offset, prefetch=ahead)


def _page_ahead(request, bbox, village, limit, offset):
    """The bbox page query :func:`_list_households_in` will run under a guessed scope
    (published plan, no cell): nothing if the box does not parse (the body says why)."""
    limit = page_limit(request, limit)

    def ahead(session, principal, stamp, scope):
        try:
            box = parse_bbox(bbox)
        except InputError:
            return None
        return [queries.household_page_query(session, scope, plan_id=default_plan_id(scope, stamp[1]),
                                             bbox=box, village_code=village, limit=limit, offset=offset)]
    return ahead


def _list_households_in(request, session, principal, scope, audit, bbox, cell, village, plan,
                        limit, offset):
    require(principal, "read_households")
    limit = page_limit(request, limit)
    box = parse_bbox(bbox)
    plan_id = resolve_plan_id(session, principal, scope, plan, request)
    if cell is not None:
        cell_row = get_cell_in_scope(session, scope, cell)
        plan_id = visible_plan(session, principal, cell_row.plan_id).id  # a draft's: planners only
    rows, matched = queries.household_page(session, scope, plan_id=plan_id, bbox=box, cell_id=cell,
                                           village_code=village, limit=limit, offset=offset)
    features = request.app.state.household_features.page(session, rows)
    if features:
        audit.record(session, "list", "household", None, detail={
            "returned": len(features), "bbox": bbox, "cell": cell, "village": village})
    meta = collection_meta(request, Page(limit, offset), len(features), matched)
    return Response(feature_collection_bytes(features, meta), media_type=GeoJSONResponse.media_type)


@router.get("/households/aggregate", response_class=GeoJSONResponse,
            summary="H3 hexagons with household counts by care level (low zoom)",
            description="Callers who may not read households (analysts) are answered at "
                        f"resolution {SUPPRESSION_RESOLUTION} at most, and a hexagon of it "
                        f"holding fewer than {MIN_BIN_HOUSEHOLDS} households counts them "
                        "as `suppressed`, not by care level.")
async def aggregate(
    request: Request, claims: ClaimsDep,
    bbox: Annotated[str | None, Query(description=BBOX_DOC)] = None,
    resolution: Annotated[int, Query(ge=4, le=10, description="H3 resolution")] = 7,
):
    return await run_in_threadpool(_aggregate, request, claims, bbox, resolution)


def _aggregate(request, claims, bbox, resolution):
    with request_context(request, claims) as (session, principal, scope, _audit):
        return _aggregate_in(request, session, principal, scope, bbox, resolution)


def _aggregate_in(request, session, principal, scope, bbox, resolution):
    require(principal, "read_geometry")
    box = parse_bbox(bbox)
    withhold = not principal.can("read_households")
    if withhold:
        resolution = answered_resolution(resolution)
    cache = request.app.state.aggregate_cache
    if scope.everything:  # the county-wide view: served as bytes once built
        stamp = _stamp(cache, session)
        body = cache.get(("_body", resolution, bbox, stamp, withhold))
        if body is not None:
            return Response(body, media_type="application/geo+json")
    counts = (_withheld_counts(request, session, scope, resolution) if withhold
              else _hex_counts(request, session, scope, resolution))
    body_key = ("_body", resolution, bbox, cache.get("_stamp", (0, None))[1], withhold)
    features = []
    for cell, by_level in counts.items():
        lat, lon = h3.cell_to_latlng(cell)
        if box is not None and not (box[0] <= lon <= box[2] and box[1] <= lat <= box[3]):
            continue
        props = {"h3": cell, "households": sum(by_level.values())}
        props.update({level: by_level.get(level, 0) for level in CARE_LEVELS})
        props["unknown"] = by_level.get(None, 0)
        props["suppressed"] = by_level.get(SUPPRESSED, 0)
        features.append({"type": "Feature", "id": cell, "geometry": hexagon(cell), "properties": props})
    response = GeoJSONResponse(feature_collection(features, resolution=resolution))
    if scope.everything:
        with _agg_lock:
            for k in [k for k in cache if k[0] == "_body" and k[3] != body_key[3]]:
                del cache[k]
            if len(cache) < 64:
                cache[body_key] = response.body
    return response


def _stamp(cache: dict, session) -> tuple:
    """The households' change stamp, re-read at most every :data:`STAMP_TTL_S` seconds
    (it is a full scan)."""
    now = time.monotonic()
    stamp_at, stamp = cache.get("_stamp", (0.0, None))
    if now - stamp_at > STAMP_TTL_S:
        stamp = queries.households_stamp(session)
        cache["_stamp"] = (now, stamp)
    return stamp


def _hex_counts(request, session, scope, resolution: int) -> dict:
    """Counts per H3 cell and care level for the caller's scope.

    Whole-village scopes (and unrestricted ones) are served from a per-process cache of
    (hexagon, village, care level) counts, keyed by the households' change stamp, so a
    county-wide view costs one small query once the cache is warm.
    """
    cache = request.app.state.aggregate_cache
    stamp = _stamp(cache, session)
    key = (resolution, stamp)
    if not (scope.microgrid_keys or scope.cell_keys):
        with _agg_lock:
            table = cache.get(key)
        if table is None:
            from geogrid.api.scope import Scope

            table = defaultdict(int)
            for lon, lat, level, village in queries.care_level_points(session, Scope(unrestricted=True)):
                table[(h3.latlng_to_cell(lat, lon, resolution), village, level)] += 1
            with _agg_lock:
                for k in [k for k in cache if k != "_stamp" and k[0] == resolution]:
                    del cache[k]
                cache[key] = table
        out: dict = defaultdict(lambda: defaultdict(int))
        for (cell, village, level), n in table.items():
            if scope.covers_village(village) if village is not None else scope.everything:
                out[cell][level] += n
        if scope.unrestricted and not scope.everything:
            # households of no village: a county's where their point lies in its outline
            for lon, lat, level, _village in queries.care_level_points(session, scope, unplaced=True):
                out[h3.latlng_to_cell(lat, lon, resolution)][level] += 1
        return out
    out = defaultdict(lambda: defaultdict(int))
    for lon, lat, level, _village in queries.care_level_points(session, scope):
        out[h3.latlng_to_cell(lat, lon, resolution)][level] += 1
    return out


def _withheld_counts(request, session, scope, resolution: int) -> dict:
    """:func:`_hex_counts` for a caller who may not read households: the hexagons of
    :data:`SUPPRESSION_RESOLUTION` holding fewer than :data:`MIN_BIN_HOUSEHOLDS` give
    their households as ``suppressed``, and each coarser hexagon is the sum of the
    whole hexagons it is the parent of (:func:`~geogrid.api.disclosure.withhold_hexagons`)."""
    return withhold_hexagons(_hex_counts(request, session, scope, SUPPRESSION_RESOLUTION), resolution,
                             k=MIN_BIN_HOUSEHOLDS)


@router.get("/households/{household_id}", response_class=GeoJSONResponse,
            summary="One household with its residents (masked)")
async def get_household(request: Request, household_id: str, claims: ClaimsDep,
                        plan: Annotated[str | None, Query()] = None):
    return await hot_read(request, claims, _get_household_in, household_id, plan,
                          prefetch=None if plan is not None else _house_ahead(household_id))


def _house_ahead(household_id: str):
    """The house query :func:`_get_household_in` will run under a guessed scope (the
    published plan: ``resolve_plan_id`` with no plan asked for)."""
    def ahead(session, principal, stamp, scope):
        return [queries.house_query(scope, household_id, default_plan_id(scope, stamp[1]))]
    return ahead


def _get_household_in(request, session, principal, scope, audit, household_id, plan):
    try:
        require(principal, "read_households")
        plan_id = resolve_plan_id(session, principal, scope, plan, request)
        row, people = queries.household_with_residents(session, scope, household_id,
                                                       plan_id=plan_id)
    except (NotFoundError, PermissionDeniedError) as exc:
        audit.refused(session, exc, "read", "household", household_id)
        raise
    props = household_properties(row)
    props["village_name"] = area_name(request, session, row.village_code)
    props["residents_count"] = len(people)
    if principal.can("read_persons"):
        props["residents"] = [person_masked(p) for p in people]
    audit.record(session, "read", "household", household_id,
                 detail={"residents": len(people) if principal.can("read_persons") else 0})
    # the ETag an edit of the household sends back in If-Match (its removal: routes.removals)
    return GeoJSONResponse({"type": "Feature", "id": row.id, "geometry": point(row),
                            "properties": props}, headers={"ETag": make_etag(row.id, row.version)})
