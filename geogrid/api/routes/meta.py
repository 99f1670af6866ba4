"""``/api/v1/config``: what the web map needs to start (no personal data, no login)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from geogrid.columns import CARE_LEVELS, ZH_CARE_LEVELS

router = APIRouter(tags=["meta"])


@router.get("/config", summary="Client configuration: basemap, county, care levels")
def config(request: Request) -> dict:
    s = request.app.state.settings
    return {
        "county_code": s.county_code,
        "basemap": s.basemap,
        "tianditu_key": s.tianditu_key,
        "demo": bool(s.demo),
        "care_levels": [{"code": c, "zh": ZH_CARE_LEVELS[c]} for c in CARE_LEVELS],
        "token_url": "/api/v1/auth/token",
    }
