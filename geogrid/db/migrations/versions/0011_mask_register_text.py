"""Resident ID and phone numbers typed into the register's own text, stored before geogrid
masked them, masked in place.

Since 39e9c49 and a6dd277 the importer and the repositories (``upsert_households``,
``upsert_persons``) mask a resident's ID number or phone number typed into a household's
户主, 地址, 楼栋 or 自然寨, or into a person's 姓名 or 与户主关系, before it is stored; since
1028c6d a removal's note (备注) holding one is refused.  A database filled before holds
such numbers in full, and the API's house reads, searches and exports show them as
stored.  This migration masks them as an import masks them today
(:func:`geogrid.io.personalnumbers.mask_text_columns`: ``138****5678``,
``**************1234``, the rest of the text kept) in ``households`` (head_name,
address, building, hamlet), ``persons`` (name, relation) and ``household_removals``
(note), reading each table in batches of :data:`BATCH` rows by primary key, so that a
county's register is never held in memory whole.  A household or person changed has
its ``version`` raised (its ETag changes) and ``updated_at`` set; ``placed_at`` is left
as it is (only text was rewritten).

When any field was masked, one audit-log entry (actor ``migration``, action
``mask_register_text``, object ``schema`` ``0011``) says how many, by table and column,
and how many rows were read; never a number itself.  Entries already in the audit log
are left as they are: the log is append-only.

The downgrade does nothing: the full numbers are not kept anywhere, so they cannot come
back.  The schema is the same at 0010 and 0011, so going down and up again is safe (and
masks anything stored in full in between).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: Rows read, masked and written back at a time.
BATCH = 5_000

#: The register's own free-text columns, by table (those of
#: ``geogrid.io.personalnumbers.REGISTER_TEXT`` at this revision, and a removal's note),
#: and whether the table keeps a ``version`` and ``updated_at``.
TEXT_COLUMNS = {
    "households": (("head_name", "address", "building", "hamlet"), True),
    "persons": (("name", "relation"), True),
    "household_removals": (("note",), False),
}
#: The primary key each table is read in batches by.
KEYS = {"households": "id", "persons": "id", "household_removals": "household_id"}

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    from geogrid.db.models import UTCDateTime

    conn = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    masked, read = mask_register_text(conn, now=now)
    if not masked:
        return
    audit_log = sa.table(
        "audit_log", sa.column("at", UTCDateTime()), sa.column("actor", sa.Text()),
        sa.column("action", sa.Text()), sa.column("object_type", sa.Text()), sa.column("object_id", sa.Text()),
        sa.column("result", sa.Text()), sa.column("detail", JSON))
    fields = sum(k for counts in masked.values() for k in counts.values())
    conn.execute(audit_log.insert().values(
        at=now, actor="migration", action="mask_register_text", object_type="schema", object_id=revision,
        result="ok", detail={
            "fields": fields, "masked": masked, "rows_read": read,
            "message": (f"{fields} field(s) of the register's own text held a resident's ID or phone number "
                        "in full, stored before imports masked them; masked as an import masks them "
                        "(the rest of the text kept)")}))


def mask_register_text(conn, *, now: dt.datetime, batch: int = BATCH) -> tuple[dict, dict]:
    """Mask the numbers in :data:`TEXT_COLUMNS` on ``conn``, ``batch`` rows at a time;
    ``({table: {column: fields masked}}, {table: rows read})``, tables and columns with
    none masked left out of the first."""
    from geogrid.db.models import UTCDateTime
    from geogrid.io.personalnumbers import mask_text_columns

    masked: dict[str, dict[str, int]] = {}
    read: dict[str, int] = {}
    for table, (columns, versioned) in TEXT_COLUMNS.items():
        key = KEYS[table]
        select = sa.text(f"SELECT {key}, {', '.join(columns)} FROM {table} WHERE {key} > :last "
                         f"ORDER BY {key} LIMIT {int(batch)}")
        sets = ", ".join(f"{c} = :{c}" for c in columns)
        update = sa.text(f"UPDATE {table} SET {sets} WHERE {key} = :_key")
        if versioned:
            update = sa.text(f"UPDATE {table} SET {sets}, version = version + 1, updated_at = :updated_at "
                             f"WHERE {key} = :_key").bindparams(sa.bindparam("updated_at", type_=UTCDateTime()))
        last, counts, n = "", dict.fromkeys(columns, 0), 0
        while True:
            rows = conn.execute(select, {"last": last}).all()
            if not rows:
                break
            n += len(rows)
            last = rows[-1][0]
            values = {c: [r[i + 1] for r in rows] for i, c in enumerate(columns)}
            changed = set()
            for pos, column, _kinds in mask_text_columns(values, columns):
                counts[column] += 1
                changed.add(pos)
            if changed:
                conn.execute(update, [{"_key": rows[pos][0], **{c: values[c][pos] for c in columns},
                                       **({"updated_at": now} if versioned else {})}
                                      for pos in sorted(changed)])
        read[table] = n
        if any(counts.values()):
            masked[table] = {c: k for c, k in counts.items() if k}
    return masked, read


def downgrade() -> None:
    """Nothing to undo: the numbers masked are kept nowhere in full, and the schema is
    the same at 0010."""
