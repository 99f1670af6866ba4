"""The JSON of the issue API: request bodies and the representation of issues, their
timeline and photos.  Free text (descriptions, addresses, notes, replies) is what people
typed, so every ID and phone number in it is masked on the way out."""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from geogrid.api.masking import mask_json, mask_text
from geogrid.db import issues as repo
from geogrid.db.issue_models import IssuePhoto
from geogrid.issues.catalogue import Catalogue
from geogrid.issues.deadlines import is_overdue, time_left
from geogrid.issues.workflow import ACTIONS, OPEN_STATUSES

__all__ = ["API_PREFIX", "iso", "Names", "free_text", "event_json", "issue_properties",
           "point_json", "photo_json", "IssueIn", "TransitionIn", "RouteIn", "ApiKeyIn"]

API_PREFIX = "/api/v1"


def iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Names:
    """Usernames and village names for a batch of issue rows (two small queries)."""

    def __init__(self, session: Session, rows):
        rows = list(rows)
        self.users = repo.usernames(session, [i for r in rows for i in (r.reporter_id, r.handler_id)])
        self.areas = repo.area_names(session, [r.village_code for r in rows])

    def of(self, row) -> dict:
        return {"reporter_name": self.users.get(row.reporter_id),
                "handler_name": self.users.get(row.handler_id),
                "village_name": self.areas.get(row.village_code)}


def free_text(text):
    return mask_text(text) if isinstance(text, str) else text


def event_json(e) -> dict:
    """One step of an issue's timeline, its note and detail masked."""
    return {"at": iso(e.at), "actor": e.actor_name, "action": e.action,
            "from_status": e.from_status, "to_status": e.to_status, "level": e.level,
            "note": free_text(e.note), "detail": mask_json(e.detail) if e.detail else e.detail}


def issue_properties(row, now: dt.datetime, catalogue: Catalogue, names: Names | None = None) -> dict:
    cat = catalogue.get(row.category) if row.category in catalogue.codes() else None
    # 督办 is of work still open: a finished issue (resolved, closed, not taken up) is no
    # longer under supervision; its timeline keeps the supervise steps (its history)
    supervised = bool(row.supervised) and row.status in OPEN_STATUSES
    left = time_left(row.status, row.due_at, now)
    out = {
        "category": row.category, "category_name": cat.name if cat else row.category,
        # free text is what people typed: an ID or phone number in it is masked like any
        # other (the stored text keeps it, for a reveal by the right person)
        "description": free_text(row.description), "address": free_text(row.address),
        "priority": row.priority,
        "source": row.source, "status": row.status, "level": row.level,
        "overdue": is_overdue(row.status, row.due_at, now),
        # seconds to the deadline on the server's clock while open, negative when overdue
        # (by that long): what the map words as 剩余/超期 N 天 (N 小时 under a day)
        "due_in_s": None if left is None else math.floor(left.total_seconds()),
        "supervised": supervised,
        "supervision_level": row.supervision_level if supervised else None,
        "plan_id": row.plan_id, "town_code": row.town_code, "village_code": row.village_code,
        "microgrid_key": row.microgrid_key, "cell_key": row.cell_key,
        "near_boundary": bool(row.near_boundary), "boundary_distance_m": row.boundary_distance_m,
        "reporter_id": row.reporter_id, "handler_id": row.handler_id,
        "handler_department": row.handler_department, "reject_reason": free_text(row.reject_reason),
        "duplicate_of": row.duplicate_of, "reply": free_text(row.reply), "rating": row.rating,
        "due_at": iso(row.due_at), "reported_at": iso(row.reported_at),
        "resolved_at": iso(row.resolved_at), "closed_at": iso(row.closed_at),
        "updated_at": iso(row.updated_at), "version": row.version,
        "escalations": row.escalations, "reopen_count": row.reopen_count,
    }
    if names is not None:
        out.update(names.of(row))
    return out


def point_json(lon, lat) -> dict:
    return {"type": "Point", "coordinates": [round(float(lon), 7), round(float(lat), 7)]}


def photo_json(p: IssuePhoto, root_path: str = "") -> dict:
    """A photo's record; its URLs under ``root_path``, the path the client reached the API
    under (:func:`geogrid.api.rootpath.root_path`: ``/geogrid`` behind a proxy that
    publishes geogrid there)."""
    base = f"{root_path}{API_PREFIX}/issues/{p.issue_id}/photos/{p.id}"
    return {"id": p.id, "kind": p.kind, "content_type": p.content_type, "width": p.width,
            "height": p.height, "bytes": p.bytes, "created_at": iso(p.created_at),
            "url": base, "thumbnail_url": base + "?thumbnail=true"}


# --- bodies ---------------------------------------------------------------------------------------
#: What ``crs`` a point of a body may be in; :func:`_lonlat_to_wgs84` converts it.
PointCRS = Literal["wgs84", "cgcs2000", "gcj02", "bd09"]


def _lonlat_to_wgs84(body):
    """``body`` with its ``lon``/``lat`` in WGS84 (and ``crs`` wgs84), whatever ``crs`` they came in."""
    if body.crs in ("gcj02", "bd09") and body.lon is not None and body.lat is not None:
        from geogrid.crs import to_wgs84

        (lon,), (lat,) = to_wgs84([body.lon], [body.lat], body.crs)
        body.lon, body.lat, body.crs = round(float(lon), 8), round(float(lat), 8), "wgs84"
    return body


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=32, description="a category code from /issues/catalogue")
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    description: str = Field("", max_length=4000)
    address: str | None = Field(None, max_length=500)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    source: Literal["cadre", "resident", "hotline"] = "cadre"
    contact_name: str | None = Field(None, max_length=100)
    # a mobile, or a landline as written on a form: (0743)1234567, 0743-1234567
    contact_phone: str | None = Field(None, max_length=20, pattern=r"^\+?[0-9 ()-]{3,20}$")
    crs: PointCRS = Field(
        "wgs84", description="the coordinate system of lon/lat: a phone map's point is gcj02 "
        "(AMap, Tencent, WeChat) or bd09 (Baidu); converted to WGS84 (and stored so)")

    @model_validator(mode="after")
    def _to_wgs84(self):
        """lon/lat in WGS84 from here on, whatever ``crs`` they came in."""
        return _lonlat_to_wgs84(self)


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal[ACTIONS]  # type: ignore[valid-type]
    version: int | None = Field(None, ge=1, description="the version you saw (optimistic locking)")
    note: str | None = Field(None, max_length=4000)
    reason: Literal["invalid", "duplicate"] | None = None
    duplicate_of: str | None = Field(None, max_length=32)
    handler_id: str | None = Field(None, max_length=32, description="dispatch to this cadre")
    department: str | None = Field(None, max_length=64, description="or to this department code")
    rating: int | None = Field(None, ge=1, le=5)


class RouteIn(BaseModel):
    """Re-route an issue by hand: to a cell (``cell_key``), or by correcting its point
    (``lon`` and ``lat``: routed again automatically).  Exactly one of the two."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="the version you saw (optimistic locking)")
    cell_key: str | None = Field(None, min_length=1, max_length=100,
                                 description="a candidate cell near the point, or a cell of "
                                 "your scope in the issue's village")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    crs: PointCRS = Field(
        "wgs84", description="the coordinate system of the corrected lon/lat, as a report's: "
        "gcj02 (AMap, Tencent, WeChat) or bd09 (Baidu) are converted to WGS84 (and stored so)")
    note: str | None = Field(None, max_length=4000)

    @model_validator(mode="after")
    def _to_wgs84(self):
        """A corrected point in WGS84 from here on: a client that reports in GCJ-02
        corrects the point in it too (before, it was taken as WGS84, hundreds of metres off)."""
        return _lonlat_to_wgs84(self)


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200)
    name: str = Field(max_length=200, description="who uses the key, e.g. '12345 hotline'")
