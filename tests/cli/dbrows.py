"""What a command left in the test's database, read through a connection of its own
(the command's engine is gone by then)."""

from __future__ import annotations


def rows(db_url: str, sql: str) -> list[tuple]:
    """The rows of ``sql`` on ``db_url``, as tuples."""
    from sqlalchemy import text

    from geogrid.db.engine import make_engine
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql)).all()]
    finally:
        engine.dispose()
