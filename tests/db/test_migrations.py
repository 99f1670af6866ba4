"""Alembic migrations up, down and up again on both back-ends; models match them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from geogrid.db import migrate
from geogrid.db.engine import make_engine
from geogrid.db.models import Base

TABLES = {"areas", "households", "household_removals", "persons", "plans", "plan_notes", "microgrids",
          "cells", "assignments", "audit_log", "users"}
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


def test_assignments_take_the_registers_points_except_where_they_lie_outside_their_cell(empty_db_url):
    """0005: every assignment keeps the household's point when it was put in its cell.
    Rows written before take the register's point, inside their cell's polygon or on
    its edge or where the cell has none; one outside its cell (a hand move, or a move
    the register cannot date) keeps none, as a re-run read it before.  The pair is both
    or neither, in degrees; the downgrade drops it and an upgrade fills it again."""
    from sqlalchemy.exc import DBAPIError

    migrate.upgrade(empty_db_url, "0004")
    engine = make_engine(empty_db_url)
    cell = "MULTIPOLYGON(((109.2 27.3, 109.21 27.3, 109.21 27.31, 109.2 27.31, 109.2 27.3)))"
    points = {"inside": (109.2037, 27.3051), "edge": (109.21, 27.305), "outside": (109.2337, 27.3051),
              "no_polygon": (109.25, 27.35)}
    now = "CURRENT_TIMESTAMP"
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO plans (id, name, county_code, status, params, created_at, updated_at, version, "
                f"notes_recorded) VALUES ('p', 'p', '431227', 'draft', '{{}}', {now}, {now}, 1, true)"))
            conn.execute(text("INSERT INTO microgrids (id, plan_id, microgrid_key, households) "
                              "VALUES ('m', 'p', 'M', 4)"))
            conn.execute(text("INSERT INTO cells (id, plan_id, microgrid_id, cell_key, households, locked, geom) "
                              "VALUES ('c', 'p', 'm', 'C', 3, false, ST_GeomFromText(:w, 4326))"), {"w": cell})
            conn.execute(text("INSERT INTO cells (id, plan_id, microgrid_id, cell_key, households, locked) "
                              "VALUES ('bare', 'p', 'm', 'B', 1, false)"))
            for h, (x, y) in points.items():
                conn.execute(text(
                    "INSERT INTO households (id, household_no, geom, created_at, updated_at, version) "
                    f"VALUES (:h, :n, ST_GeomFromText(:w, 4326), {now}, {now}, 1)"),
                    {"h": h, "n": h, "w": f"POINT({x} {y})"})
                conn.execute(text("INSERT INTO assignments (plan_id, household_id, cell_id) VALUES ('p', :h, :c)"),
                             {"h": h, "c": "bare" if h == "no_polygon" else "c"})

        def stored():
            with engine.connect() as conn:
                return {h: (x, y) for h, x, y in conn.execute(text(
                    "SELECT household_id, lon, lat FROM assignments"))}

        filled = {**points, "outside": (None, None)}
        migrate.upgrade(empty_db_url)
        assert stored() == filled
        for lon, lat in ((109.2, None), (None, 27.3), (500000.0, 3000000.0)):
            with pytest.raises(DBAPIError), engine.begin() as conn:
                conn.execute(text("UPDATE assignments SET lon = :x, lat = :y WHERE household_id = 'inside'"),
                             {"x": lon, "y": lat})
        migrate.downgrade(empty_db_url, "0004")
        with engine.connect() as conn:
            assert {c["name"] for c in inspect(conn).get_columns("assignments")} == {
                "plan_id", "household_id", "cell_id"}
        migrate.upgrade(empty_db_url)
        assert stored() == filled
    finally:
        engine.dispose()
