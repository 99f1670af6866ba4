"""The words of a locked cell's note: stored notes said "unlock it or move households
out by hand", but a locked cell's households cannot be moved (the API refuses until
it is unlocked).  They now say to unlock it first.  Data only: a note's identity is
its words (``db.plannotes._identity``), so the stored ones take the new words here,
and keep who acknowledged them, rather than being replaced by the next edit.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD = "unlock it or move households out by hand"
NEW = "unlock it, then move households out by hand or re-run its micro-grid"


def _reword(old: str, new: str) -> None:
    op.get_bind().execute(
        sa.text("UPDATE plan_notes SET message = replace(message, :old, :new) "
                "WHERE kind = 'locked_cell_full'"), {"old": old, "new": new})


def upgrade() -> None:
    _reword(OLD, NEW)


def downgrade() -> None:
    _reword(NEW, OLD)
