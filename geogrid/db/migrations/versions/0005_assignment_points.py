"""Assignment points: each assignment keeps the household's point (EPSG:4326) when it
was put in its cell, ``assignments.lon`` and ``assignments.lat``, so that a re-run hands
the engine the plan's own points and the engine tells a household that moved house from
a planner's hand move.

Existing rows take the register's current point, except where that point lies outside
the assignment's cell: there both stay NULL, which a re-run reads as it read every row
before (a household outside its cell was handed to the engine with no point: a hand
move, or a move it cannot date).  A cell with no polygon holds any point, as it did.
The downgrade drops the columns.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

POINT = ("(lon IS NULL AND lat IS NULL) OR (lon IS NOT NULL AND lat IS NOT NULL "
         "AND lon BETWEEN -180 AND 180 AND lat BETWEEN -90 AND 90)")


def _fill() -> None:
    bind = op.get_bind()
    # SpatiaLite's ST_Intersects answers 1, 0 or -1 (an error), PostGIS's a boolean
    inside = "ST_Intersects(c.geom, h.geom)" + (" = 1" if bind.dialect.name == "sqlite" else "")
    bind.execute(sa.text(
        "UPDATE assignments SET "
        "lon = (SELECT ST_X(h.geom) FROM households AS h WHERE h.id = assignments.household_id), "
        "lat = (SELECT ST_Y(h.geom) FROM households AS h WHERE h.id = assignments.household_id) "
        "WHERE EXISTS (SELECT 1 FROM households AS h JOIN cells AS c ON c.id = assignments.cell_id "
        f"WHERE h.id = assignments.household_id AND (c.geom IS NULL OR {inside}))"))


def upgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(sa.Column("lon", sa.Double(), nullable=True))
        batch.add_column(sa.Column("lat", sa.Double(), nullable=True))
    _fill()
    with op.batch_alter_table("assignments") as batch:
        batch.create_check_constraint(op.f("ck_assignments_point"), sa.text(POINT))


def downgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.drop_constraint(op.f("ck_assignments_point"), type_="check")
        batch.drop_column("lat")
        batch.drop_column("lon")
