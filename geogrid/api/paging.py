"""OGC API – Features paging: ``limit``, ``offset``, a ``next`` link,
``numberMatched`` and ``numberReturned``.

Pages are offsets into a stable order (the object's id), as in tipg and pygeoapi.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import Request

from geogrid.errors import InputError

__all__ = ["Page", "page_limit", "page_links", "parse_bbox"]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page_limit(request: Request, limit: int | None) -> int:
    """The page size asked for, or the default, capped (``GEOGRID_API_PAGE_LIMIT_*``)."""
    api = request.app.state.api_settings
    return min(limit or api.page_limit_default, api.page_limit_max)


def page_links(request: Request, page: Page, returned: int, matched: int | None) -> list[dict]:
    """``self`` and, when more features follow, ``next`` and ``prev`` links."""
    links = [{"rel": "self", "type": "application/geo+json", "href": str(request.url)}]
    more = (matched is None and returned == page.limit) or (
        matched is not None and page.offset + returned < matched)
    if more:
        nxt = request.url.include_query_params(offset=page.offset + returned, limit=page.limit)
        links.append({"rel": "next", "type": "application/geo+json", "href": str(nxt)})
    if page.offset > 0:
        prev = request.url.include_query_params(offset=max(0, page.offset - page.limit), limit=page.limit)
        links.append({"rel": "prev", "type": "application/geo+json", "href": str(prev)})
    return links


def collection_meta(request: Request, page: Page, returned: int, matched: int | None) -> dict:
    meta = {
        "numberReturned": returned,
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": page_links(request, page, returned, matched),
    }
    if matched is not None:
        meta["numberMatched"] = matched
    return meta


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minLon,minLat,maxLon,maxLat`` in WGS84, checked (including swapped axes)."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise InputError("bbox must be four numbers: minLon,minLat,maxLon,maxLat (WGS84)", key="request.bbox")
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise InputError("bbox must be four numbers: minLon,minLat,maxLon,maxLat (WGS84)",
                         key="request.bbox") from None
    if any(v != v or v in (float("inf"), float("-inf")) for v in (x0, y0, x1, y1)):
        raise InputError("bbox values must be finite numbers", key="request.bbox")
    if not (-90 <= y0 <= 90 and -90 <= y1 <= 90):
        if -90 <= x0 <= 90 and -90 <= x1 <= 90:
            raise InputError("bbox latitude is outside -90..90: longitude and latitude look swapped; "
                             "send minLon,minLat,maxLon,maxLat", key="request.bbox")
        raise InputError("bbox latitude must be within -90..90", key="request.bbox")
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180):
        raise InputError("bbox longitude must be within -180..180", key="request.bbox")
    if x0 > x1 or y0 > y1:
        raise InputError("bbox minimum is greater than its maximum: send minLon,minLat,maxLon,maxLat",
                         key="request.bbox")
    return x0, y0, x1, y1
