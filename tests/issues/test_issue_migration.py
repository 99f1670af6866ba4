"""Revision 0002 up, down to 0001 and up again on both back-ends; the models match it."""

from __future__ import annotations

from sqlalchemy import inspect, text

from geogrid.db import migrate
from geogrid.db.engine import make_engine

ISSUE_TABLES = {"issues", "issue_events", "issue_photos", "api_keys"}


def _state(url):
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names()) & ISSUE_TABLES
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                geo = conn.execute(text("SELECT f_table_name FROM geometry_columns WHERE "
                                        "spatial_index_enabled = 1")).scalars().all()
            else:
                geo = conn.execute(text("SELECT tablename FROM pg_indexes WHERE indexdef "
                                        "LIKE '%USING gist%' AND indexname = 'idx_issues_geom'")
                                   ).scalars().all()
        return tables, "issues" in geo
    finally:
        engine.dispose()


def test_0002_up_down_up(empty_db_url):
    migrate.upgrade(empty_db_url, "0002")
    assert migrate.current(empty_db_url) == "0002"
    assert _state(empty_db_url) == (ISSUE_TABLES, True)
    migrate.downgrade(empty_db_url, "0001")
    assert migrate.current(empty_db_url) == "0001"
    assert _state(empty_db_url) == (set(), False)
    migrate.upgrade(empty_db_url, "head")
    assert _state(empty_db_url) == (ISSUE_TABLES, True)


def test_issue_models_match_the_migration(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import geogrid.db.issue_models  # noqa: F401
    from geogrid.db.models import Base
    from tests.db.test_migrations import _include

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_object": _include,
                                                         "compare_type": False})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        engine.dispose()
