"""When a plan last read the register, by village: ``plans.register_read_at``
(``{village code: UTC ISO time}``), set when the plan is drawn from the register, taken
by a draft made from it, and set again for the villages a re-run reads; and an index
on ``households.updated_at``, so that what changed in the register since (households
imported, edited, added, removed) is found without reading every household
(:mod:`geogrid.db.planregister`).

Existing plans stay NULL: they do not know when they read the register, and say
nothing about it (as before).  The downgrade drops both.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("plans", sa.Column("register_read_at", JSON, nullable=True))
    op.create_index("ix_households_updated_at", "households", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_households_updated_at", table_name="households")
    # SQLite (3.35+) drops a column in place, as PostgreSQL does
    op.execute("ALTER TABLE plans DROP COLUMN register_read_at")
