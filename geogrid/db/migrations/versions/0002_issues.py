"""Issues: issues (with a point), issue_events (timeline), issue_photos and api_keys.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01
"""

from __future__ import annotations

import geoalchemy2
import geoalchemy2.alembic_helpers  # noqa: F401  (registers op.create_geospatial_*)
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SRID = 4326
ID = sa.String(32)
TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _geom(kind: str, nullable: bool = True) -> geoalchemy2.Geometry:
    return geoalchemy2.Geometry(kind, srid=SRID, spatial_index=False, nullable=nullable)


def _spatial_index(table: str, column: str = "geom") -> None:
    op.create_geospatial_index(
        f"idx_{table}_{column}", table, [column], unique=False, postgresql_using="gist"
    )


def _users_fk(table: str, column: str, ondelete: str = "SET NULL") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=f"fk_{table}_{column}_users", ondelete=ondelete)


def upgrade() -> None:
    op.create_geospatial_table(
        "issues",
        sa.Column("id", ID, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("geom", _geom("POINT", nullable=False), nullable=False),
        sa.Column("plan_id", ID, nullable=True),
        sa.Column("town_code", sa.String(12), nullable=True),
        sa.Column("village_code", sa.String(12), nullable=True),
        sa.Column("microgrid_key", sa.Text(), nullable=True),
        sa.Column("cell_key", sa.Text(), nullable=True),
        sa.Column("near_boundary", sa.Boolean(), nullable=False),
        sa.Column("boundary_distance_m", sa.Float(), nullable=True),
        sa.Column("reporter_id", ID, nullable=True),
        sa.Column("contact_name", sa.Text(), nullable=True),
        sa.Column("contact_phone", sa.String(20), nullable=True),
        sa.Column("handler_id", ID, nullable=True),
        sa.Column("handler_department", sa.Text(), nullable=True),
        sa.Column("resolver_id", ID, nullable=True),
        sa.Column("reject_reason", sa.String(16), nullable=True),
        sa.Column("duplicate_of", ID, nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("supervised", sa.Boolean(), nullable=False),
        sa.Column("supervised_at", TS, nullable=True),
        sa.Column("supervision_level", sa.String(8), nullable=True),
        sa.Column("reported_at", TS, nullable=False),
        sa.Column("reopened_at", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('reported', 'accepted', 'rejected', 'dispatched', 'in_progress', "
            "'resolved', 'verified', 'closed', 'rated')", name=op.f("ck_issues_status")),
        sa.CheckConstraint("level IN ('cell', 'village', 'town', 'county')",
                           name=op.f("ck_issues_level")),
        sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')",
                           name=op.f("ck_issues_priority")),
        sa.CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)",
                           name=op.f("ck_issues_rating")),
        _users_fk("issues", "reporter_id"),
        _users_fk("issues", "handler_id"),
        sa.ForeignKeyConstraint(["duplicate_of"], ["issues.id"],
                                name="fk_issues_duplicate_of_issues", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_issues"),
    )
    for col in ("status", "category", "village_code", "cell_key", "reported_at", "handler_id"):
        op.create_index(f"ix_issues_{col}", "issues", [col])
    _spatial_index("issues")

    op.create_table(
        "issue_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True, nullable=False,
        ),
        sa.Column("issue_id", ID, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("actor_name", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("level", sa.String(8), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("detail", JSON, nullable=True),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"],
                                name="fk_issue_events_issue_id_issues", ondelete="CASCADE"),
        _users_fk("issue_events", "actor_id"),
        sa.PrimaryKeyConstraint("id", name="pk_issue_events"),
    )
    op.create_index("ix_issue_events_issue_id", "issue_events", ["issue_id", "at"])

    op.create_table(
        "issue_photos",
        sa.Column("id", ID, nullable=False),
        sa.Column("issue_id", ID, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("thumb_path", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", ID, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("kind IN ('report', 'proof')", name=op.f("ck_issue_photos_kind")),
        sa.ForeignKeyConstraint(["issue_id"], ["issues.id"],
                                name="fk_issue_photos_issue_id_issues", ondelete="CASCADE"),
        _users_fk("issue_photos", "uploaded_by"),
        sa.PrimaryKeyConstraint("id", name="pk_issue_photos"),
    )
    op.create_index("ix_issue_photos_issue_id", "issue_photos", ["issue_id"])

    op.create_table(
        "api_keys",
        sa.Column("id", ID, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(8), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        _users_fk("api_keys", "user_id", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_user_id", "api_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_issue_photos_issue_id", "issue_photos")
    op.drop_table("issue_photos")
    op.drop_index("ix_issue_events_issue_id", "issue_events")
    op.drop_table("issue_events")
    for col in ("status", "category", "village_code", "cell_key", "reported_at", "handler_id"):
        op.drop_index(f"ix_issues_{col}", "issues")
    op.drop_geospatial_index("idx_issues_geom", "issues", column_name="geom")
    op.drop_geospatial_table("issues")
