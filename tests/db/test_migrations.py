"""Alembic migrations up, down and up again on both back-ends; models match them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from geogrid.db import migrate
from geogrid.db.engine import make_engine
from geogrid.db.models import Base

TABLES = {"areas", "households", "persons", "plans", "plan_notes", "microgrids", "cells", "assignments",
          "audit_log", "users"}
SPATIAL = {("areas", "geom"), ("households", "geom"), ("microgrids", "geom"), ("cells", "geom"),
           ("issues", "geom")}


def _tables(url) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) & (TABLES | {"alembic_version"})
    finally:
        engine.dispose()


def _spatial_columns(url) -> set[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.execute(text("SELECT f_table_name, f_geometry_column, srid "
                                         "FROM geometry_columns"))
            else:
                rows = conn.execute(text("SELECT f_table_name, f_geometry_column, srid "
                                         "FROM geometry_columns WHERE f_table_schema = 'public'"))
            found = {(t, c) for t, c, srid in rows if srid == 4326}
            if engine.dialect.name == "sqlite":
                idx = conn.execute(text("SELECT f_table_name, f_geometry_column FROM "
                                        "geometry_columns WHERE spatial_index_enabled = 1"))
            else:
                idx = conn.execute(text(
                    "SELECT tablename, 'geom' FROM pg_indexes WHERE indexdef LIKE '%USING gist%' "
                    "AND indexname LIKE 'idx_%_geom'"))
            indexed = {tuple(r) for r in idx}
        return found & indexed
    finally:
        engine.dispose()


def test_up_down_up(empty_db_url):
    assert migrate.current(empty_db_url) is None
    migrate.upgrade(empty_db_url)
    assert migrate.current(empty_db_url) == migrate.head()
    assert _tables(empty_db_url) == TABLES | {"alembic_version"}
    assert _spatial_columns(empty_db_url) == SPATIAL

    migrate.downgrade(empty_db_url, "base")
    assert migrate.current(empty_db_url) is None
    assert _tables(empty_db_url) <= {"alembic_version"}
    assert _spatial_columns(empty_db_url) == set()

    migrate.upgrade(empty_db_url, "head")
    assert _tables(empty_db_url) == TABLES | {"alembic_version"}
    assert _spatial_columns(empty_db_url) == SPATIAL


def test_upgrade_is_idempotent(empty_db_url):
    migrate.upgrade(empty_db_url)
    migrate.upgrade(empty_db_url)
    assert migrate.current(empty_db_url) == migrate.head()


def test_models_match_migrations(db_url):
    """Autogenerate finds nothing to do: the ORM models and the migration agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import geoalchemy2.alembic_helpers as helpers

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={
                "include_object": _include, "compare_type": False})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], diff
    assert helpers  # imported for its reflection patches


def _include(obj, name, obj_type, reflected, compare_to):
    import geoalchemy2.alembic_helpers as helpers

    if obj_type == "table" and reflected and compare_to is None:
        return name in Base.metadata.tables
    if obj_type == "index" and name and name.startswith("idx_") and name.endswith("_geom"):
        return False  # spatial indexes: managed by geoalchemy2 on both sides
    return helpers.include_object(obj, name, obj_type, reflected, compare_to)


def test_migrations_ship_inside_the_package():
    from pathlib import Path

    import geogrid.db

    root = Path(geogrid.db.__file__).parent
    assert (root / "alembic.ini").is_file()
    assert (root / "migrations" / "env.py").is_file()
    assert list((root / "migrations" / "versions").glob("*.py"))


def test_stored_locked_cell_notes_take_the_new_words_and_keep_their_acknowledgement(empty_db_url):
    """0004: a locked cell's note said 'unlock it or move households out by hand', though
    the households of a locked cell cannot be moved.  The stored notes take the new
    words (a note's identity is its words), acknowledged ones stay acknowledged, other
    kinds are untouched, and the downgrade gives the old words back."""
    from geogrid.partition.assignment_notes import locked_cell_full

    old = "locked cell V-M01-C01 now holds 22 households, more than 20; unlock it or move households out by hand"
    migrate.upgrade(empty_db_url, "0003")
    engine = make_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO plans (id, name, county_code, status, params, created_at, updated_at, version, "
                "notes_recorded) VALUES ('p', 'p', '431227', 'draft', '{}', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, 1, true)"))
            for i, kind in ((1, "locked_cell_full"), (2, "isolated_household")):
                conn.execute(text(
                    "INSERT INTO plan_notes (id, plan_id, kind, village_code, message, households, detail, "
                    "created_at, acknowledged_by) VALUES (:i, 'p', :k, 'V', :m, '[]', '{}', CURRENT_TIMESTAMP, "
                    "'planner1')"), {"i": str(i), "k": kind, "m": old})

        def notes():
            with engine.connect() as conn:
                return dict(conn.execute(text("SELECT kind, message FROM plan_notes WHERE acknowledged_by "
                                              "= 'planner1'")).all())

        migrate.upgrade(empty_db_url)
        new = locked_cell_full("V", "V-M01-C01", range(22), 20)["message"]
        assert notes() == {"locked_cell_full": new, "isolated_household": old}
        migrate.downgrade(empty_db_url, "0003")
        assert notes() == {"locked_cell_full": old, "isolated_household": old}
    finally:
        engine.dispose()
