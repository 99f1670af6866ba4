"""Photos of an issue: upload (a report photo, or the handler's proof of the fix) and
download.  Size and type are checked, decompression bombs refused and EXIF (GPS
included) stripped by :mod:`geogrid.issues.photos`; files live under GEOGRID_DATA_DIR.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse

from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep, begin_write
from geogrid.api.errors import PayloadTooLargeError
from geogrid.api.issuejson import photo_json as _photo_json
from geogrid.api.issueaccess import (
    ISSUE_READERS, ctx, issue_actor, issues_clause, may_upload, read_issue, require_role,
)
from geogrid.api.rootpath import root_path
from geogrid.db import issues as repo
from geogrid.db.issue_models import IssuePhoto
from geogrid.db.models import new_id
from geogrid.errors import NotFoundError, PermissionDeniedError
from geogrid.issues.photos import PhotoTooLargeError, delete_photo_files, process_photo, store_photo

__all__ = ["router"]

router = APIRouter(tags=["issues"])


@router.post("/issues/{issue_id}/photos", status_code=201,
             summary="Upload a photo (kind=report, or kind=proof of the fix before resolving)")
def post_photo(issue_id: str, request: Request, session: SessionDep, principal: PrincipalDep,
               scope: ScopeDep, audit: AuditDep, file: Annotated[UploadFile, File()],
               kind: Annotated[Literal["report", "proof"], Form()] = "report") -> dict:
    c = ctx(request)
    require_role(principal, ISSUE_READERS, "upload photos")
    limit = c.settings.photo_max_bytes
    data = file.file.read(limit + 1)
    try:
        processed = process_photo(data, max_bytes=limit, max_pixels=c.settings.photo_max_pixels,
                                  thumb_px=c.settings.thumbnail_px)
    except PhotoTooLargeError as exc:
        raise PayloadTooLargeError(str(exc)) from exc
    begin_write(session)
    issue = repo.get_issue(session, issue_id, issues_clause(scope, principal.user_id))
    actor = issue_actor(session, principal, scope, issue)
    allowed = may_upload(repo.state_of(session, issue), actor, issue, principal)
    if kind not in allowed:
        if kind == "proof":
            raise PermissionDeniedError("only the handler may upload a proof photo, while the "
                                        "issue is dispatched or in progress", key="photo.proof_handler_only")
        raise PermissionDeniedError("photos can be added to an open issue by its reporter or a "
                                    "cadre responsible for its place", key="photo.not_allowed")
    data_dir = request.app.state.settings.data_dir
    photo_id = new_id()
    path, thumb = store_photo(data_dir, issue.id, photo_id, processed)
    try:
        photo = repo.add_photo(session, issue, photo_id=photo_id, kind=kind, path=path,
                               thumb_path=thumb, processed=processed,
                               uploaded_by=principal.user_id, actor_name=principal.username,
                               now=c.now())
        audit.add(session, "photo", "issue", issue.id, detail={"photo": photo_id, "kind": kind})
        session.commit()
    except BaseException:
        session.rollback()
        delete_photo_files(data_dir, path, thumb)
        raise
    return _photo_json(photo, root_path(request))


@router.get("/issues/{issue_id}/photos/{photo_id}", response_class=FileResponse,
            summary="A photo (EXIF stripped) or its thumbnail")
def get_photo(issue_id: str, photo_id: str, request: Request, session: SessionDep,
              principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
              thumbnail: Annotated[bool, Query()] = False):
    read_issue(session, principal, scope, audit, issue_id)
    photo = session.get(IssuePhoto, photo_id)
    if photo is None or photo.issue_id != issue_id:
        raise NotFoundError(f"photo {photo_id} not found", key="photo.not_found", params={"photo": photo_id})
    root = request.app.state.settings.data_dir
    path = root / (photo.thumb_path if thumbnail else photo.path)
    if not path.is_file():
        raise NotFoundError(f"photo {photo_id} is recorded but its file is missing under "
                            f"{root}; restore GEOGRID_DATA_DIR from backup",
                            key="photo.file_missing", params={"photo": photo_id})
    audit.record(session, "read", "issue", issue_id, detail={"photo": photo_id, "thumbnail": thumbnail})
    return FileResponse(path, media_type="image/jpeg" if thumbnail else photo.content_type)
