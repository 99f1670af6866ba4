"""``/api/v1/config``: what the web map needs to start (no personal data, no login)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from geogrid.api.disclosure import MIN_BIN, SUPPRESSION_RESOLUTION
from geogrid.api.rootpath import prefixed
from geogrid.columns import CARE_LEVELS, ZH_CARE_LEVELS

router = APIRouter(tags=["meta"])


def basemap_name(settings) -> str:
    """``GEOGRID_BASEMAP`` as the web map names it (``OSM`` is ``osm``): what
    :func:`geogrid.basemaps.basemap` reads, ``none`` for what it cannot draw (Tianditu
    without its key; a name it does not know, which ``geogrid serve`` refuses at start)."""
    from geogrid.basemaps import basemap
    from geogrid.errors import InputError

    try:
        chosen = basemap(settings.basemap, tianditu_key=settings.tianditu_key)
    except InputError:
        return "none"
    return chosen.name if chosen is not None else "none"


@router.get("/config", summary="Client configuration: basemap, county, care levels, disclosure limits")
def config(request: Request) -> dict:
    """``disclosure`` is the rule aggregates follow for callers who may not read the
    records they count (geogrid.api.disclosure): ``min_bin``, the fewest records a
    hexagon of ``suppression_resolution`` holds to be counted by attribute, and
    ``suppression_resolution``, the finest H3 resolution such callers are answered at.
    The web map reads them here rather than keeping copies that could drift."""
    s = request.app.state.settings
    return {
        "county_code": s.county_code,
        "basemap": basemap_name(s),
        "tianditu_key": s.tianditu_key,
        "demo": bool(s.demo),
        "care_levels": [{"code": c, "zh": ZH_CARE_LEVELS[c]} for c in CARE_LEVELS],
        "disclosure": {"min_bin": MIN_BIN, "suppression_resolution": SUPPRESSION_RESOLUTION},
        "token_url": prefixed(request, "/api/v1/auth/token"),
    }
