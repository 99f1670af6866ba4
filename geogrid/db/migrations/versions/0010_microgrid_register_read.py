"""When a plan last read the register, by micro-grid: ``plans.microgrids_read_at``
(``{micro-grid key: UTC ISO time}``), set for the micro-grids a re-run names.

Before, a re-run of some micro-grids of a village set the village's time in
``plans.register_read_at`` (migration 0008), so households added or moved in the
village's other micro-grids, and an outline redrawn beside them, were no longer
reported although nothing had read them again.  A micro-grid not in the new column
read the register with its village (``register_read_at``): plans saved before, which
keep NULL, say what they said (:mod:`geogrid.db.planregister`).  And an index on
``microgrids (plan_id, village_code)``: for each household changed since, the micro-grid
of its village its point lies in is looked up among a few micro-grids, not among all of
a county plan's.  The downgrade drops both.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("plans", sa.Column("microgrids_read_at", JSON, nullable=True))
    op.create_index("ix_microgrids_plan_village", "microgrids", ["plan_id", "village_code"])


def downgrade() -> None:
    op.drop_index("ix_microgrids_plan_village", table_name="microgrids")
    # SQLite (3.35+) drops a column in place, as PostgreSQL does
    op.execute("ALTER TABLE plans DROP COLUMN microgrids_read_at")
