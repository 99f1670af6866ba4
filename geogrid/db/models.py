"""The data model: SQLAlchemy 2 declarative classes with GeoAlchemy2 geometry.

One schema on SpatiaLite and PostGIS; geometry is EPSG:4326.  Alembic
(:mod:`geogrid.db.migrations`) is the only thing that creates or changes tables: these
classes describe them for the ORM and for ``tests/db/test_migrations.py``, which checks
that the two agree.

Ids are random uuid4 hex strings (32 characters), so they cannot be guessed.  Rows that
people edit (households, persons, plans) carry a ``version`` counter used by
SQLAlchemy's optimistic locking: a flush against a stale version raises
``StaleDataError``, which :func:`geogrid.db.engine.session_scope` turns into
:class:`geogrid.errors.ConflictError`.  A plan's version is its ETag.
"""

from __future__ import annotations

import datetime as dt
import uuid

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Base",
    "Area",
    "Household",
    "HouseholdRemoval",
    "REMOVAL_REASONS",
    "Person",
    "Plan",
    "Microgrid",
    "Cell",
    "Assignment",
    "AuditEntry",
    "User",
    "new_id",
    "new_ids",
    "utcnow",
    "SRID",
    "PLAN_STATUSES",
    "USER_ROLES",
]

SRID = 4326
PLAN_STATUSES = ("draft", "published", "archived")
USER_ROLES = ("admin", "planner", "cadre", "analyst")
#: why a household left the register (:class:`HouseholdRemoval`): moved away (迁出), a
#: household dissolved (注销, its last member deceased), merged into another household,
#: or a duplicate entry of another
REMOVAL_REASONS = ("moved_out", "dissolved", "merged", "duplicate")

# Deterministic constraint names, the same on both back-ends (and in the migration).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_id() -> str:
    """A non-guessable id: 32 hex characters of uuid4."""
    return uuid.uuid4().hex


def new_ids(n: int) -> list[str]:
    """``n`` ids like :func:`new_id` (uuid4: 122 random bits from os.urandom), fast."""
    import os

    import numpy as np

    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    text_ = raw.tobytes().hex()
    return [text_[i : i + 32] for i in range(0, 32 * n, 32)]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on both back-ends (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")
AuditId = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Mapped[str]:
    return mapped_column(String(32), primary_key=True, default=new_id)


def _created() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime, nullable=False, default=utcnow)


def _updated() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Area(Base):
    """An administrative area: county (6-digit GB/T 2260 code), town or village (12-digit)."""

    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint("level IN ('county', 'town', 'village')", name="level"),
        Index("ix_areas_level", "level"),
        Index("ix_areas_parent_id", "parent_id"),
    )

    id: Mapped[str] = _id()
    code: Mapped[str] = mapped_column(String(12), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    level: Mapped[str] = mapped_column(String(8), nullable=False)
    parent_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("areas.id", ondelete="SET NULL")
    )
    #: the parent's code as imported, so villages may arrive before their town
    parent_code: Mapped[str | None] = mapped_column(String(12))
    vintage: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _updated()
    #: when its outline last changed (a plan's villages redrawn: db.planregister)
    outline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Area | None] = relationship(remote_side="Area.id")


class Household(Base):
    """A household (户): an external number, a point, a village and a building key."""

    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint("care_level IN ('green', 'yellow', 'red')", name="care_level"),
        Index("ix_households_village_code", "village_code"),
        Index("ix_households_village_id", "village_id"),
        # what changed in the register since a plan read it (db.planregister)
        Index("ix_households_updated_at", "updated_at"),
        Index("ix_households_placed_at", "placed_at"),
    )

    id: Mapped[str] = _id()
    household_no: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    head_name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    village_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("areas.id", ondelete="SET NULL")
    )
    village_code: Mapped[str | None] = mapped_column(String(12))
    building: Mapped[str | None] = mapped_column(Text)
    hamlet: Mapped[str | None] = mapped_column(Text)
    care_level: Mapped[str | None] = mapped_column(String(6))
    source_crs: Mapped[str | None] = mapped_column(String(16))
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True, nullable=False), nullable=False)
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _updated()
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: when it left the register (NULL: in it); the details are its
    #: :class:`HouseholdRemoval`.  Every read of the register selects ``removed_at IS NULL``
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: when what a partition reads of it last changed (:data:`PLACEMENT`, or it left the
    #: register or came back): what a plan drawn before must hear of (db.planregister)
    placed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=utcnow)

    persons: Mapped[list[Person]] = relationship(back_populates="household", passive_deletes=True)
    village: Mapped[Area | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


#: the household columns a partition reads: a change of one moves ``placed_at``
PLACEMENT = ("geom", "village_code", "building", "hamlet", "removed_at")


@event.listens_for(Household, "before_update")
def _placed(mapper, connection, target) -> None:
    """An ORM edit of what a partition reads of a household (its point, village,
    building or hamlet; a removal or its undo) moves its ``placed_at``; one of its
    head, address or care level does not."""
    state = inspect(target)
    if any(state.attrs[c].history.has_changes() for c in PLACEMENT):
        target.placed_at = target.updated_at = utcnow()  # one time for both


class HouseholdRemoval(Base):
    """Why and when a household left the register, while it is out of it (a removal
    undone deletes the row; the audit log keeps both).  ``assignments`` lists the cells
    it was taken out of in the plans then current (drafts and the published one), as
    ``{"plan_id", "cell_id", "lon", "lat"}``, so that an undo puts it back; ``cell_key``
    and ``microgrid_key`` are its cell's in the published plan, the scope a cell's or
    micro-grid's cadre removed it in (the published plan holds it no more)."""

    __tablename__ = "household_removals"
    __table_args__ = (
        CheckConstraint("reason IN ('moved_out', 'dissolved', 'merged', 'duplicate')", name="reason"),
    )

    household_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("households.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(12), nullable=False)
    #: the day it left, as the user states it (not the day it was recorded)
    left_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    merged_into: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("households.id", ondelete="SET NULL"))
    removed_by: Mapped[str] = mapped_column(Text, nullable=False)
    removed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    cell_key: Mapped[str | None] = mapped_column(Text)
    microgrid_key: Mapped[str | None] = mapped_column(Text)
    assignments: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)


class Person(Base):
    """A resident.  ``id_number`` is text (GB 11643), unique when present."""

    __tablename__ = "persons"
    __table_args__ = (
        CheckConstraint("gender IN ('M', 'F')", name="gender"),
        Index("ix_persons_household_id", "household_id"),
        # issues' contact phones are looked up among persons (db.issuesubjects)
        Index("ix_persons_phone", "phone"),
    )

    id: Mapped[str] = _id()
    household_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("households.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(Text, nullable=False)
    gender: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    relation: Mapped[str | None] = mapped_column(Text)
    party_member: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: ";"-separated canonical tags (geogrid.columns.PERSON_TAGS)
    tags: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = _updated()
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    household: Mapped[Household] = relationship(back_populates="persons")

    __mapper_args__ = {"version_id_col": version}


class Plan(Base):
    """A partition version.  At most one plan per county is published at a time."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'archived')", name="status"),
        Index(
            "uq_plans_published_county",
            "county_code",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
    )

    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(Text, nullable=False)
    county_code: Mapped[str] = mapped_column(String(12), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="draft")
    params: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    parent_plan_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("plans.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = _created()
    created_by: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = _updated()
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: the ETag: bumped by every edit of the plan or its contents
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    #: whether the engine's notes were kept with it (plans saved before they were say
    #: nothing of their notes, which is not the same as having none)
    notes_recorded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                                 server_default=text("false"))
    #: when the plan last read the register, by village (``{code: UTC ISO time}``): when
    #: it was drawn (a draft takes its plan's; a re-run reads micro-grids, kept below);
    #: NULL where it does not know (saved before migration 0008, or from files).  See
    #: :mod:`geogrid.db.planregister`
    register_read_at: Mapped[dict | None] = mapped_column(JSONType)
    #: when a re-run of a micro-grid last read the register (``{micro-grid key: UTC ISO
    #: time}``, migration 0010); a micro-grid not in it read it with its village
    #: (``register_read_at``).  See :mod:`geogrid.db.planregister`
    microgrids_read_at: Mapped[dict | None] = mapped_column(JSONType)

    microgrids: Mapped[list[Microgrid]] = relationship(back_populates="plan", passive_deletes=True)
    cells: Mapped[list[Cell]] = relationship(viewonly=True)

    __mapper_args__ = {"version_id_col": version}

    @property
    def etag(self) -> str:
        return f'"{self.id}-{self.version}"'


class Microgrid(Base):
    """A micro-grid (微网格) of a plan; ``microgrid_key`` is the partition engine's id."""

    __tablename__ = "microgrids"
    __table_args__ = (
        UniqueConstraint("plan_id", "microgrid_key"),
        # a plan's micro-grids of a village: the one a changed household lies in (db.planregister)
        Index("ix_microgrids_plan_village", "plan_id", "village_code"),
    )

    id: Mapped[str] = _id()
    plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("plans.id", ondelete="CASCADE"), nullable=False
    )
    microgrid_key: Mapped[str] = mapped_column(Text, nullable=False)
    village_code: Mapped[str | None] = mapped_column(String(12))
    households: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    area_km2: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))

    plan: Mapped[Plan] = relationship(back_populates="microgrids")
    cells: Mapped[list[Cell]] = relationship(back_populates="microgrid", passive_deletes=True)


class Cell(Base):
    """A cell (户团) of at most ``max_households`` households inside a micro-grid."""

    __tablename__ = "cells"
    __table_args__ = (
        UniqueConstraint("plan_id", "cell_key"),
        Index("ix_cells_microgrid_id", "microgrid_id"),
    )

    id: Mapped[str] = _id()
    plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("plans.id", ondelete="CASCADE"), nullable=False
    )
    microgrid_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("microgrids.id", ondelete="CASCADE"), nullable=False
    )
    cell_key: Mapped[str] = mapped_column(Text, nullable=False)
    village_code: Mapped[str | None] = mapped_column(String(12))
    households: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True))

    plan: Mapped[Plan] = relationship(viewonly=True)
    microgrid: Mapped[Microgrid] = relationship(back_populates="cells")


class PlanNote(Base):
    """One note of the partition engine about a plan (a diagnostic of
    :func:`geogrid.partition.partition` or of a re-run): why a rule could not be met
    there, in words a planner can act on.  ``households`` lists the ids of the
    households it names; ``detail`` holds its structured fields (``microgrids`` and
    ``cells``, as partition keys; ``villages``; ``params``, the numbers of its message)."""

    __tablename__ = "plan_notes"
    __table_args__ = (Index("ix_plan_notes_plan_id", "plan_id", "village_code"),)

    id: Mapped[str] = _id()
    plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("plans.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    village_code: Mapped[str | None] = mapped_column(String(12))
    message: Mapped[str] = mapped_column(Text, nullable=False)
    households: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    detail: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)
    created_at: Mapped[dt.datetime] = _created()
    #: who marked it as dealt with or accepted, and when (None: open)
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Assignment(Base):
    """Which cell a household belongs to in one plan, and where it lived then.

    ``lon``/``lat`` (EPSG:4326) are the household's point when it was put in this cell:
    when the plan was drawn, when a planner moved it here by hand (or split it off into
    a cell of its own), or when a re-run placed it; a merge of two cells places no one
    and keeps them.  A re-run hands them to the engine as the previous plan's points,
    so that it tells a household that moved house (the register's point is another)
    from a planner's hand move (the same point, outside the cell).  Both are NULL for
    an assignment made before plans kept them whose register point then lay outside
    its cell (an old hand move; see migration 0005 and
    :func:`geogrid.api.planrerun.rerun`).  Two floats rather than a geometry: the point
    is never searched by place, only read back with its assignment, and a geometry
    column would carry a spatial index to update on every plan saved or copied.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_cell_id", "cell_id"),
        # both or neither, and degrees (a point in metres, from a result in a projected
        # CRS not brought back to EPSG:4326, is refused)
        CheckConstraint("(lon IS NULL AND lat IS NULL) OR (lon IS NOT NULL AND lat IS NOT NULL "
                        "AND lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90)", name="point"),
    )

    plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True
    )
    household_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("households.id", ondelete="CASCADE"), primary_key=True
    )
    cell_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cells.id", ondelete="CASCADE"), nullable=False
    )
    lon: Mapped[float | None] = mapped_column(Double)
    lat: Mapped[float | None] = mapped_column(Double)


class AuditEntry(Base):
    """One line of the append-only audit log (triggers reject UPDATE and DELETE)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor", "actor"),
        Index("ix_audit_log_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(AuditId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    actor: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    object_type: Mapped[str | None] = mapped_column(Text)
    object_id: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text, nullable=False, default="ok")
    purpose: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSONType)


class User(Base):
    """A login.  ``scopes`` lists area, micro-grid or cell ids (issue 4 fills this in)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'planner', 'cadre', 'analyst')", name="role"),
    )

    id: Mapped[str] = _id()
    username: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    scopes: Mapped[list] = mapped_column(JSONType, nullable=False, default=list)
    failed_logins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = _created()
