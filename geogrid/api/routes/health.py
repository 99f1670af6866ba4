"""``/healthz``: is the database there and at the expected schema?"""

from __future__ import annotations

import functools

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from geogrid.db import migrate

router = APIRouter(tags=["health"])

#: the newest schema this geogrid knows (read from its migrations once: /healthz is polled)
_head = functools.cache(migrate.head)


@router.get("/healthz", summary="Liveness and database check")
def healthz(request: Request):
    engine = request.app.state.engine
    body = {"status": "ok", "database": "spatialite" if engine.dialect.name == "sqlite" else "postgis"}
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            try:
                body["schema"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except Exception:
                body["schema"] = None
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        return JSONResponse({"status": "unavailable", "database": body["database"],
                             "detail": f"database unreachable ({type(exc).__name__}); check "
                                       "GEOGRID_DATABASE_URL and that the server is running"},
                            status_code=503)
    if body["schema"] is None:
        body["status"] = "degraded"
        body["detail"] = "database has no geogrid schema; run `geogrid db upgrade`"
        return JSONResponse(body, status_code=503)
    newest = _head()
    if body["schema"] != newest:
        # upgraded by a newer geogrid, or this one installed and `geogrid db upgrade`
        # forgotten: requests touching the changed tables fail
        body["status"] = "degraded"
        body["detail"] = (f"database is at schema {body['schema']} and this geogrid needs {newest}: "
                          "run `geogrid db upgrade` with this geogrid (or serve the one that upgraded it)")
        return JSONResponse(body, status_code=503)
    return body
