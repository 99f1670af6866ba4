"""Tables of the issue workflow: issues, their timeline, photos, and Open311 API keys.

They share :class:`geogrid.db.models.Base` (created by Alembic revision ``0002``).  An
issue keeps the *keys* of the cell, micro-grid and village it was routed to (as user
scopes do), so it survives a new published plan.  ``version`` is bumped by every
transition with a conditional UPDATE (see :mod:`geogrid.db.issues`): two handlers acting
at once cannot both succeed.
"""

from __future__ import annotations

import datetime as dt

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from geogrid.db.models import SRID, AuditId, Base, JSONType, UTCDateTime, new_id, utcnow

__all__ = ["Issue", "IssueEvent", "IssuePhoto", "ApiKey", "ISSUE_TABLES"]

ISSUE_TABLES = ("issue_photos", "issue_events", "issues", "api_keys")

_STATUS_SQL = ("status IN ('reported', 'accepted', 'rejected', 'dispatched', 'in_progress', "
               "'resolved', 'verified', 'closed', 'rated')")
_LEVEL_SQL = "level IN ('cell', 'village', 'town', 'county')"


class Issue(Base):
    """A reported issue at a point."""

    __tablename__ = "issues"
    __table_args__ = (
        CheckConstraint(_STATUS_SQL, name="status"),
        CheckConstraint(_LEVEL_SQL, name="level"),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
        Index("ix_issues_status", "status"),
        Index("ix_issues_category", "category"),
        Index("ix_issues_village_code", "village_code"),
        Index("ix_issues_cell_key", "cell_key"),
        Index("ix_issues_reported_at", "reported_at"),
        Index("ix_issues_handler_id", "handler_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    address: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(8), nullable=False, default="normal")
    #: cadre, resident (through a cadre), hotline or open311
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="cadre")
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="reported")
    level: Mapped[str] = mapped_column(String(8), nullable=False)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True, nullable=False),
                         nullable=False)
    # routing (keys, like user scopes)
    plan_id: Mapped[str | None] = mapped_column(String(32))
    town_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))
    microgrid_key: Mapped[str | None] = mapped_column(Text)
    cell_key: Mapped[str | None] = mapped_column(Text)
    near_boundary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    boundary_distance_m: Mapped[float | None] = mapped_column(Float)
    # people
    reporter_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"))
    contact_name: Mapped[str | None] = mapped_column(Text)
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    handler_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"))
    handler_department: Mapped[str | None] = mapped_column(Text)
    resolver_id: Mapped[str | None] = mapped_column(String(32))
    # outcome
    reject_reason: Mapped[str | None] = mapped_column(String(16))
    duplicate_of: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("issues.id", ondelete="SET NULL"))
    reply: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    escalations: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # deadlines and supervision
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    supervised: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    supervised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    supervision_level: Mapped[str | None] = mapped_column(String(8))
    # timestamps
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    reopened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class IssueEvent(Base):
    """One line of an issue's timeline: who, when, which action, from and to, and a note."""

    __tablename__ = "issue_events"
    __table_args__ = (Index("ix_issue_events_issue_id", "issue_id", "at"),)

    id: Mapped[int] = mapped_column(AuditId, primary_key=True, autoincrement=True)
    issue_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("issues.id", ondelete="CASCADE"), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False)
    actor_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    level: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSONType)


class IssuePhoto(Base):
    """A photo of an issue (``report``: with the report; ``proof``: of the fix)."""

    __tablename__ = "issue_photos"
    __table_args__ = (
        CheckConstraint("kind IN ('report', 'proof')", name="kind"),
        Index("ix_issue_photos_issue_id", "issue_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    issue_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("issues.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(Text, nullable=False)
    thumb_path: Mapped[str] = mapped_column(Text, nullable=False)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    uploaded_by: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class ApiKey(Base):
    """An Open311 API key, mapped to a user (whose role and scope it acts with).

    Only a SHA-256 hash of the key is stored; ``prefix`` (its first 8 characters) names
    it in lists.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_user_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    prefix: Mapped[str] = mapped_column(String(8), nullable=False)
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
