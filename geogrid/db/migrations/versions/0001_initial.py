"""Initial schema: areas, households, persons, plans, microgrids, cells, assignments,
audit_log (append-only) and users.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import geoalchemy2
import geoalchemy2.alembic_helpers  # noqa: F401  (registers op.create_geospatial_*)
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from geogrid.db.engine import ensure_spatial

revision = "0001"
down_revision = None
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


def upgrade() -> None:
    ensure_spatial(op.get_bind())

    op.create_geospatial_table(
        "areas",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("parent_code", sa.String(12), nullable=True),
        sa.Column("vintage", sa.Integer(), nullable=True),
        sa.Column("geom", _geom("MULTIPOLYGON"), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("level IN ('county', 'town', 'village')", name=op.f("ck_areas_level")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["areas.id"], name="fk_areas_parent_id_areas", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_areas"),
        sa.UniqueConstraint("code", name="uq_areas_code"),
    )
    op.create_index("ix_areas_level", "areas", ["level"])
    op.create_index("ix_areas_parent_id", "areas", ["parent_id"])
    _spatial_index("areas")

    op.create_geospatial_table(
        "households",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_no", sa.Text(), nullable=False),
        sa.Column("head_name", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("village_id", ID, nullable=True),
        sa.Column("village_code", sa.String(12), nullable=True),
        sa.Column("building", sa.Text(), nullable=True),
        sa.Column("hamlet", sa.Text(), nullable=True),
        sa.Column("care_level", sa.String(6), nullable=True),
        sa.Column("source_crs", sa.String(16), nullable=True),
        sa.Column("geom", _geom("POINT", nullable=False), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "care_level IN ('green', 'yellow', 'red')", name=op.f("ck_households_care_level")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["areas.id"], name="fk_households_village_id_areas", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_households"),
        sa.UniqueConstraint("household_no", name="uq_households_household_no"),
    )
    op.create_index("ix_households_village_code", "households", ["village_code"])
    op.create_index("ix_households_village_id", "households", ["village_id"])
    _spatial_index("households")

    op.create_table(
        "persons",
        sa.Column("id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("gender", sa.String(1), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("id_number", sa.String(18), nullable=True),
        sa.Column("phone", sa.String(20), nullable=True),
        sa.Column("relation", sa.Text(), nullable=True),
        sa.Column("party_member", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("gender IN ('M', 'F')", name=op.f("ck_persons_gender")),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name="fk_persons_household_id_households",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_persons"),
        sa.UniqueConstraint("id_number", name="uq_persons_id_number"),
    )
    op.create_index("ix_persons_household_id", "persons", ["household_id"])

    op.create_table(
        "plans",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("county_code", sa.String(12), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("parent_plan_id", ID, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("published_at", TS, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'archived')", name=op.f("ck_plans_status")
        ),
        sa.ForeignKeyConstraint(
            ["parent_plan_id"], ["plans.id"], name="fk_plans_parent_plan_id_plans",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
    )
    op.create_index(
        "uq_plans_published_county", "plans", ["county_code"], unique=True,
        sqlite_where=sa.text("status = 'published'"),
        postgresql_where=sa.text("status = 'published'"),
    )

    op.create_geospatial_table(
        "microgrids",
        sa.Column("id", ID, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("microgrid_key", sa.Text(), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=True),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("area_km2", sa.Float(), nullable=True),
        sa.Column("geom", _geom("MULTIPOLYGON"), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name="fk_microgrids_plan_id_plans", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_microgrids"),
        sa.UniqueConstraint("plan_id", "microgrid_key", name="uq_microgrids_plan_id_microgrid_key"),
    )
    _spatial_index("microgrids")

    op.create_geospatial_table(
        "cells",
        sa.Column("id", ID, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("microgrid_id", ID, nullable=False),
        sa.Column("cell_key", sa.Text(), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=True),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("geom", _geom("MULTIPOLYGON"), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name="fk_cells_plan_id_plans", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["microgrid_id"], ["microgrids.id"], name="fk_cells_microgrid_id_microgrids",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cells"),
        sa.UniqueConstraint("plan_id", "cell_key", name="uq_cells_plan_id_cell_key"),
    )
    op.create_index("ix_cells_microgrid_id", "cells", ["microgrid_id"])
    _spatial_index("cells")

    op.create_table(
        "assignments",
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("household_id", ID, nullable=False),
        sa.Column("cell_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name="fk_assignments_plan_id_plans", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name="fk_assignments_household_id_households",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cell_id"], ["cells.id"], name="fk_assignments_cell_id_cells", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("plan_id", "household_id", name="pk_assignments"),
    )
    op.create_index("ix_assignments_cell_id", "assignments", ["cell_id"])

    op.create_table(
        "audit_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True, nullable=False,
        ),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("object_type", sa.Text(), nullable=True),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.Column("detail", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor"])
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"])
    _create_audit_triggers()

    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("scopes", JSON, nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'planner', 'cadre', 'analyst')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )


_APPEND_ONLY = "audit_log is append-only: entries cannot be changed or deleted"


def _create_audit_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY}' USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def downgrade() -> None:
    op.drop_table("users")
    op.drop_table("audit_log")  # drops its triggers
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table("assignments")
    op.drop_geospatial_index("idx_cells_geom", "cells", column_name="geom")
    op.drop_geospatial_table("cells")
    op.drop_geospatial_index("idx_microgrids_geom", "microgrids", column_name="geom")
    op.drop_geospatial_table("microgrids")
    op.drop_index("uq_plans_published_county", "plans")
    op.drop_table("plans")
    op.drop_table("persons")
    op.drop_geospatial_index("idx_households_geom", "households", column_name="geom")
    op.drop_geospatial_table("households")
    op.drop_geospatial_index("idx_areas_geom", "areas", column_name="geom")
    op.drop_geospatial_table("areas")
