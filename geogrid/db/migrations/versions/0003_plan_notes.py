"""Plan notes: the partition engine's notes (diagnostics) about a plan, kept with it,
and who acknowledged each (a planner who dealt with it or accepts it).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.String(32)
TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "plan_notes",
        sa.Column("id", ID, nullable=False),
        sa.Column("plan_id", ID, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("village_code", sa.String(12), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("households", JSON, nullable=False),
        sa.Column("detail", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("acknowledged_by", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name="fk_plan_notes_plan_id_plans",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_plan_notes"),
    )
    op.create_index("ix_plan_notes_plan_id", "plan_notes", ["plan_id", "village_code"])
    # the plans saved before this revision kept no notes: they are not "without notes"
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("notes_recorded", sa.Boolean(), nullable=False,
                                   server_default=sa.text("false")))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("notes_recorded")
    op.drop_index("ix_plan_notes_plan_id", "plan_notes")
    op.drop_table("plan_notes")
