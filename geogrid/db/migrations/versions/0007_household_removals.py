"""Household removals: a household can leave the register (moved away, dissolved,
merged into another, a duplicate) and come back.  ``households.removed_at`` (NULL: in
the register) is what every read filters on; ``household_removals`` holds the reason,
the day, who removed it and the plan cells it was taken out of, while it is out.

Existing households are all in the register.  The downgrade drops both (a household
removed by then is back in the register, out of its plans' cells).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.String(32)
TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # a plain ADD COLUMN on both back-ends: a batch copy of the table would lose
    # SpatiaLite's registration of its geometry column
    op.add_column("households", sa.Column("removed_at", TS, nullable=True))
    op.create_table(
        "household_removals",
        sa.Column("household_id", ID, nullable=False),
        sa.Column("reason", sa.String(12), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("merged_into", ID, nullable=True),
        sa.Column("removed_by", sa.Text(), nullable=False),
        sa.Column("removed_at", TS, nullable=False),
        sa.Column("cell_key", sa.Text(), nullable=True),
        sa.Column("microgrid_key", sa.Text(), nullable=True),
        sa.Column("assignments", JSON, nullable=False),
        sa.CheckConstraint("reason IN ('moved_out', 'dissolved', 'merged', 'duplicate')",
                           name="ck_household_removals_reason"),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"],
                                name="fk_household_removals_household_id_households", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["merged_into"], ["households.id"],
                                name="fk_household_removals_merged_into_households", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("household_id", name="pk_household_removals"),
    )


def downgrade() -> None:
    op.drop_table("household_removals")
    # SQLite (3.35+) drops a column in place, as PostgreSQL does
    op.execute("ALTER TABLE households DROP COLUMN removed_at")
