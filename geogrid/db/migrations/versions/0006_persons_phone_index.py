"""An index on persons' phones: an analyst's issue aggregates count the households
issues are of, found by looking their contact phones up among persons
(:mod:`geogrid.db.issuesubjects`).  Without it each lookup read every person: 8 s for
5,000 issues on the sample county.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_persons_phone", "persons", ["phone"])


def downgrade() -> None:
    op.drop_index("ix_persons_phone", table_name="persons")
