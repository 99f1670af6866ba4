"""What of the register a plan depends on, and when it last changed:
``households.placed_at``, when what the partition reads of a household last changed
(added, its point, village code, building or hamlet, taken out of the register or
back), and ``areas.outline_at``, when an area's outline last changed.  Both indexed
(``placed_at``; areas are few).  ``register_changes`` (:mod:`geogrid.db.planregister`)
reads them instead of ``updated_at``, which an edit of a household's head, address or
care level moves too (none of which changes what the plan should be), and which it
never read for outlines at all.

Existing rows take their ``updated_at``: what was reported before is reported still.
The downgrade drops both.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("households", sa.Column("placed_at", TS, nullable=True))
    op.execute("UPDATE households SET placed_at = updated_at")
    op.create_index("ix_households_placed_at", "households", ["placed_at"])
    op.add_column("areas", sa.Column("outline_at", TS, nullable=True))
    op.execute("UPDATE areas SET outline_at = updated_at")


def downgrade() -> None:
    op.drop_index("ix_households_placed_at", table_name="households")
    # SQLite (3.35+) drops a column in place, as PostgreSQL does
    op.execute("ALTER TABLE households DROP COLUMN placed_at")
    op.execute("ALTER TABLE areas DROP COLUMN outline_at")
