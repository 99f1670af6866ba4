"""Open311 API keys, mapped to users: create, list (never the keys themselves), revoke.

Mounted with the issue routes by :func:`geogrid.api.routes.issues.include_issue_routes`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from geogrid.api.deps import AuditDep, PrincipalDep, SessionDep, begin_write
from geogrid.api.issuejson import ApiKeyIn
from geogrid.api.issuejson import iso as _iso
from geogrid.api.issueaccess import ctx, require_role
from geogrid.db import issues as repo
from geogrid.db.models import User
from geogrid.errors import NotFoundError

__all__ = ["router"]

router = APIRouter(tags=["issues"])


@router.post("/api-keys", status_code=201, summary="Create an Open311 API key for a user (admin)")
def post_api_key(body: ApiKeyIn, session: SessionDep, principal: PrincipalDep,
                 audit: AuditDep) -> dict:
    require_role(principal, frozenset({"admin"}), "manage API keys")
    begin_write(session)
    user = session.execute(select(User).where(User.username == body.username)).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"user {body.username!r} not found; create it with `geogrid users add`",
                            key="user.not_found", params={"user": body.username})
    key, raw = repo.create_api_key(session, user.id, body.name)
    audit.add(session, "create_api_key", "api_key", key.id, detail={"user": user.username})
    session.commit()
    return {"id": key.id, "api_key": raw, "prefix": key.prefix, "username": user.username,
            "name": key.name, "note": "shown once: store it now"}


@router.get("/api-keys", summary="Open311 API keys (admin; never the keys themselves)")
def get_api_keys(session: SessionDep, principal: PrincipalDep) -> list[dict]:
    require_role(principal, frozenset({"admin"}), "manage API keys")
    names = dict(session.execute(select(User.id, User.username)).all())
    return [{"id": k.id, "prefix": k.prefix, "username": names.get(k.user_id), "name": k.name,
             "created_at": _iso(k.created_at), "revoked_at": _iso(k.revoked_at)}
            for k in repo.list_api_keys(session)]


@router.delete("/api-keys/{key_id}", summary="Revoke an Open311 API key (admin)")
def delete_api_key(key_id: str, request: Request, session: SessionDep, principal: PrincipalDep,
                   audit: AuditDep) -> dict:
    require_role(principal, frozenset({"admin"}), "manage API keys")
    begin_write(session)
    key = repo.revoke_api_key(session, key_id, ctx(request).now())
    audit.add(session, "revoke_api_key", "api_key", key.id)
    session.commit()
    return {"id": key.id, "revoked_at": _iso(key.revoked_at)}
