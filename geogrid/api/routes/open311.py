"""Open311 GeoReport v2 at ``/open311/v2``, in JSON and XML, so 311 apps report into geogrid.

- ``GET services.{json|xml}``: the category catalogue as Open311 services;
- ``GET services/{code}.{json|xml}``: a service definition (no extra attributes);
- ``POST requests.{json|xml}``: report (form-encoded or multipart with a ``media``
  photo); ``api_key`` is required and maps to a geogrid user, whose scope must cover the
  point; ``lat`` and ``long`` are required (geogrid routes by point, not by address);
- ``GET requests.{json|xml}``: filters ``service_request_id`` (comma list, overrides the
  others), ``service_code``, ``status`` (open, closed), ``start_date``, ``end_date``
  (default: the last 90 days);
- ``GET requests/{id}.{json|xml}``.

Reads without an API key show only categories marked public (not disputes or care
needs, which can identify vulnerable people), county-wide; with a key, the key's user's
scope and every category.  ``GEOGRID_ISSUES_OPEN311_PUBLIC_READ=false`` requires a key
for every call.  Contact details are never returned.  Every GET of requests is committed
to the audit log before the answer goes (one row per call: ``list``, or ``read`` of one
request), as the key's user or, without a key, ``(anonymous)`` with the client's
address.  Errors follow the spec:
``[{"code": 403, "description": "..."}]`` or ``<errors><error>...``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from geogrid.api.masking import mask_text
from geogrid.api.errors import masked_json, message_of, status_for
from geogrid.api.scope import Principal, Scope, resolve_scope
from geogrid.db import issues as repo
from geogrid.db.issue_models import Issue
from geogrid.errors import GeogridError, InputError, NotFoundError, PermissionDeniedError
from geogrid.issues.workflow import CLOSED_STATUSES

__all__ = ["router", "PREFIX"]

PREFIX = "/open311/v2"
router = APIRouter(tags=["open311"])

_LEVEL_ZH = {"cell": "户团", "village": "村", "town": "乡镇", "county": "县"}
#: status_notes, read by the hotline's operators (as the map words the statuses)
_STATUS_ZH = {"reported": "已上报", "accepted": "已受理", "rejected": "不予受理",
              "dispatched": "已派遣", "in_progress": "处置中", "resolved": "已办结",
              "verified": "已核查", "closed": "已结案", "rated": "已评价"}
_REJECT_ZH = {"invalid": "无效", "duplicate": "重复"}
_FORMATS = ("json", "xml")


class Open311Error(InputError):
    """A request the spec rejects (HTTP 400 unless ``status`` says otherwise)."""

    def __init__(self, message: str, status: int = 400, **kw):
        super().__init__(message, **kw)
        self.status = status


# --- rendering ----------------------------------------------------------------------------
def _xml(root: str, item: str | None, data) -> bytes:
    def fill(el, value):
        if isinstance(value, dict):
            for k, v in value.items():
                fill(ET.SubElement(el, k), v)
        elif isinstance(value, list):
            for v in value:
                fill(ET.SubElement(el, "attribute" if el.tag == "attributes" else "value"), v)
        elif value is None:
            pass
        elif isinstance(value, bool):
            el.text = "true" if value else "false"
        else:
            el.text = str(value)

    top = ET.Element(root)
    if item is None:
        fill(top, data)
    else:
        for d in data:
            fill(ET.SubElement(top, item), d)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")


def _render(fmt: str, data, root: str, item: str | None, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, data), status_code=status,
                        media_type="text/xml; charset=utf-8")
    return JSONResponse(data, status_code=status)


def _error(fmt: str, exc: Exception) -> Response:
    status = getattr(exc, "status", None) or status_for(exc)
    if status == 422:
        status = 400
    if status == 401:
        status = 403
    body = [{"code": status, "description": mask_text(str(exc) or type(exc).__name__)}]
    fmt = fmt if fmt in _FORMATS else "json"
    message = message_of(exc)
    if message and fmt == "json":
        # beside the spec's fields: the refusal's key, for a client in another language
        body[0]["message"] = masked_json(message)
    return _render(fmt, body, "errors", "error", status)


def _fmt(fmt: str) -> str:
    if fmt not in _FORMATS:
        raise Open311Error(f"format {fmt!r} is not supported; use .json or .xml", 404,
                           key="open311.format", params={"format": fmt})
    return fmt


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    return t.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _service(cat) -> dict:
    return {"service_code": cat.code, "service_name": cat.name, "description": cat.name_en,
            "metadata": False, "type": "realtime", "keywords": ",".join(cat.keywords),
            "group": _LEVEL_ZH.get(cat.level, cat.level)}


def _request_json(row, catalogue) -> dict:
    cat = catalogue.get(row.category) if row.category in catalogue.codes() else None
    open_ = row.status not in CLOSED_STATUSES
    # the answer to pass to the caller: the reply once closed; a rejection's reason and
    # its explanation (its reply); else where the request stands, in Chinese
    if row.status in ("closed", "rated"):
        notes = row.reply
    elif row.status == "rejected":
        reason = _REJECT_ZH.get(row.reject_reason, row.reject_reason)
        notes = f"不予受理（{reason}）" + (f"：{row.reply}" if row.reply else "")
    else:
        notes = _STATUS_ZH.get(row.status, row.status)
    agency = _LEVEL_ZH.get(row.level, row.level)
    if row.handler_department:
        dep = next((d for d in catalogue.departments if d.code == row.handler_department), None)
        agency = dep.name if dep else row.handler_department
    return {
        "service_request_id": row.id, "status": "open" if open_ else "closed",
        "status_notes": mask_text(notes) if notes else notes,
        "service_name": cat.name if cat else row.category,
        "service_code": row.category, "description": mask_text(row.description or ""),
        "agency_responsible": agency, "service_notice": None,
        "requested_datetime": _iso(row.reported_at), "updated_datetime": _iso(row.updated_at),
        "expected_datetime": _iso(row.due_at), "address": mask_text(row.address or "") or None,
        "address_id": None,
        "zipcode": None, "lat": round(float(row.lat), 7), "long": round(float(row.lon), 7),
        "media_url": None,
    }


# --- callers ------------------------------------------------------------------------------
def _key_principal(session, raw: str | None) -> Principal | None:
    user = repo.user_for_api_key(session, raw)
    if raw and user is None:
        raise Open311Error("api_key is not valid (unknown or revoked); ask the county for a key",
                           403, key="open311.key_invalid")
    if user is None:
        return None
    return Principal(user.id, user.username, user.role, tuple(user.scopes or ()))


def _reader_filter(request: Request, session, api_key: str | None):
    """The issues a reader may see (the key user's scope, or public categories), the
    issue context and the key's user (None for a public read)."""
    from geogrid.api.issueaccess import ctx, issues_clause

    c = ctx(request)
    principal = _key_principal(session, api_key)
    if principal is None:
        if not c.settings.open311_public_read:
            raise Open311Error("api_key is required on this server", 403, key="open311.key_required")
        public = [cat.code for cat in c.catalogue.categories if cat.public]
        return Issue.category.in_(public), c, None
    if principal.role not in ("admin", "cadre"):
        raise PermissionDeniedError(f"the key's user has role {principal.role!r}, which does not "
                                    "read issues", key="open311.role", params={"role": principal.role})
    scope = resolve_scope(session, principal, county_code=request.app.state.settings.county_code)
    return issues_clause(scope, principal.user_id), c, principal


def _check_jurisdiction(request: Request, jurisdiction: str | None) -> None:
    if jurisdiction and jurisdiction != request.app.state.settings.county_code:
        raise Open311Error(f"jurisdiction_id {jurisdiction!r} is not served here; use "
                           f"{request.app.state.settings.county_code}", 404,
                           key="open311.jurisdiction", params={"jurisdiction": jurisdiction})


def _parse_time(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(f"{name} {value!r} is not a W3C datetime like 2010-01-01T00:00:00Z",
                           key="open311.datetime", params={"name": name, "value": value}) from None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


# --- routes ----------------------------------------------------------------------------------
@router.get("/discovery.json", summary="Open311 discovery")
def discovery(request: Request):
    base = str(request.base_url).rstrip("/") + PREFIX + "/"
    return {"changeset": "2025-02-01T00:00:00Z", "contact": "county grid governance centre",
            "key_service": "ask the county administrator (POST /api/v1/api-keys)",
            "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                           "url": base, "changeset": "2025-02-01T00:00:00Z", "type": "production",
                           "formats": ["application/json", "text/xml"]}]}


@router.get("/services.{fmt}", summary="Open311: service list (the category catalogue)")
def services(fmt: str, request: Request, jurisdiction_id: str | None = None):
    try:
        fmt = _fmt(fmt)
        _check_jurisdiction(request, jurisdiction_id)
        from geogrid.api.issueaccess import ctx

        return _render(fmt, [_service(c) for c in ctx(request).catalogue.categories],
                       "services", "service")
    except GeogridError as exc:
        return _error(fmt, exc)


@router.get("/services/{code}.{fmt}", summary="Open311: service definition")
def service_definition(code: str, fmt: str, request: Request, jurisdiction_id: str | None = None):
    try:
        fmt = _fmt(fmt)
        _check_jurisdiction(request, jurisdiction_id)
        from geogrid.api.issueaccess import ctx

        cat = ctx(request).catalogue.get(code)
        return _render(fmt, {"service_code": cat.code, "attributes": []}, "service_definition", None)
    except GeogridError as exc:
        return _error(fmt, exc)


def _list_requests(request: Request, params: dict, *, one: str | None = None) -> list[dict]:
    """The requests ``params`` ask for (``one``: that request alone), the read committed
    to the audit log first."""
    from geogrid.api.deps import anonymous_auditor

    with request.app.state.sessionmaker() as session:
        where, c, principal = _reader_filter(request, session, params.get("api_key"))
        if one is not None:
            params = {**params, "service_request_id": one}
        ids = [v for v in (params.get("service_request_id") or "").split(",") if v.strip()]
        filters: dict[str, Any] = {"where": where}
        if ids:
            rows = session.execute(select(*repo._COLS).where(Issue.id.in_(ids[:200]), where)).all()  # noqa: SLF001
        else:
            codes = [v for v in (params.get("service_code") or "").split(",") if v.strip()]
            if codes:
                filters["category"] = codes
            statuses = [v.strip() for v in (params.get("status") or "").split(",") if v.strip()]
            bad = [s for s in statuses if s not in ("open", "closed")]
            if bad:
                raise Open311Error(f"status {bad} is not open or closed",
                                   key="open311.status", params={"values": bad})
            if statuses == ["open"]:
                filters["status"] = [s for s in
                                     ("reported", "accepted", "dispatched", "in_progress",
                                      "resolved", "verified")]
            elif statuses == ["closed"]:
                filters["status"] = list(CLOSED_STATUSES)
            end = _parse_time(params.get("end_date"), "end_date") or c.now()
            start = _parse_time(params.get("start_date"), "start_date") or end - dt.timedelta(days=90)
            filters.update(since=start, until=end + dt.timedelta(seconds=1))
            rows = repo.issue_rows(session, limit=1000, **filters)
        audit = anonymous_auditor(request, principal.username if principal else "")
        if one is not None:
            audit.record(session, "read", "issue", one, result="ok" if rows else "not_found",
                         detail={"via": "open311"})
        elif rows:
            audit.record(session, "list", "issue", None, detail={"via": "open311", "returned": len(rows)})
        return [_request_json(r, c.catalogue) for r in rows]


@router.get("/requests.{fmt}", summary="Open311: service requests")
def get_requests(fmt: str, request: Request):
    try:
        fmt = _fmt(fmt)
        params = dict(request.query_params)
        _check_jurisdiction(request, params.get("jurisdiction_id"))
        return _render(fmt, _list_requests(request, params), "service_requests", "request")
    except GeogridError as exc:
        return _error(fmt, exc)


@router.get("/requests/{request_id}.{fmt}", summary="Open311: one service request")
def get_request(request_id: str, fmt: str, request: Request):
    try:
        fmt = _fmt(fmt)
        params = dict(request.query_params)
        _check_jurisdiction(request, params.get("jurisdiction_id"))
        found = _list_requests(request, params, one=request_id)
        if not found:
            raise NotFoundError(f"service request {request_id} not found",
                                key="open311.not_found", params={"request": request_id})
        return _render(fmt, found, "service_requests", "request")
    except GeogridError as exc:
        return _error(fmt, exc)


@router.post("/requests.{fmt}", summary="Open311: create a service request (api_key required)")
async def post_request(fmt: str, request: Request):
    try:
        fmt = _fmt(fmt)
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        for k, v in request.query_params.items():
            fields.setdefault(k, v)
        media = form.get("media")
        data = await media.read() if media is not None and not isinstance(media, str) else None
        _check_jurisdiction(request, fields.get("jurisdiction_id"))
        result = await run_in_threadpool(_create, request, fields, data)
        return _render(fmt, [result], "service_requests", "request")
    except GeogridError as exc:
        return _error(fmt, exc)


def _create(request: Request, f: dict, media: bytes | None) -> dict:
    from geogrid.api.deps import begin_write
    from geogrid.api.errors import PayloadTooLargeError
    from geogrid.api.issueaccess import ctx
    from geogrid.api.routes.issues import IssueIn, report_issue
    from geogrid.db.models import AuditEntry, new_id
    from geogrid.issues.photos import (
        PhotoTooLargeError, delete_photo_files, process_photo, store_photo,
    )

    c = ctx(request)
    if not f.get("api_key"):
        raise Open311Error("api_key is required to create a service request", 403, key="open311.key_required")
    if not f.get("service_code"):
        raise Open311Error("service_code is required; see services.json", key="open311.service_code_required")
    if not (f.get("lat") and f.get("long")):
        raise Open311Error("lat and long are required: geogrid routes a request by its point",
                           key="open311.lat_long_required")
    try:
        lat, lon = float(f["lat"]), float(f["long"])
    except ValueError:
        raise Open311Error("lat and long must be decimal degrees (WGS84)",
                           key="open311.lat_long_degrees") from None
    name = " ".join(v for v in (f.get("first_name"), f.get("last_name")) if v) or None
    phone = (f.get("phone") or "").strip() or None
    processed = None
    if media:
        try:
            processed = process_photo(media, max_bytes=c.settings.photo_max_bytes,
                                      max_pixels=c.settings.photo_max_pixels,
                                      thumb_px=c.settings.thumbnail_px)
        except PhotoTooLargeError as exc:
            raise PayloadTooLargeError(str(exc)) from exc
    try:
        body = IssueIn(category=f["service_code"][:32], lon=lon, lat=lat,
                       description=(f.get("description") or "")[:4000],
                       address=(f.get("address_string") or None), source="cadre",
                       contact_name=name[:100] if name else None,
                       contact_phone=phone if phone and len(phone) <= 20 else None)
    except Exception as exc:  # pydantic: out-of-range coordinates, bad phone
        raise Open311Error(f"invalid request: {exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc}",
                           key="open311.invalid") from None
    with request.app.state.sessionmaker() as session:
        principal = _key_principal(session, f["api_key"])
        scope: Scope = resolve_scope(session, principal,
                                     county_code=request.app.state.settings.county_code)
        begin_write(session)
        issue, _routing, _dups = report_issue(session, request, principal, scope, body,
                                              source="open311",
                                              reporter_name=f"{principal.username} (open311)")
        paths: tuple = ()
        try:
            if processed is not None:
                photo_id = new_id()
                paths = store_photo(request.app.state.settings.data_dir, issue.id, photo_id, processed)
                repo.add_photo(session, issue, photo_id=photo_id, kind="report", path=paths[0],
                               thumb_path=paths[1], processed=processed,
                               uploaded_by=principal.user_id, actor_name=principal.username,
                               now=c.now())
            session.add(AuditEntry(actor=principal.username, action="report", object_type="issue",
                                   object_id=issue.id, result="ok", detail={"via": "open311"}))
            session.commit()
        except BaseException:
            session.rollback()
            delete_photo_files(request.app.state.settings.data_dir, *paths)
            raise
        return {"service_request_id": issue.id, "service_notice": None,
                "account_id": f.get("account_id") or None}
