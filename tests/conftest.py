"""Shared fixtures: every database test runs on SpatiaLite and on PostGIS.

``backend`` is parametrised over ``spatialite`` and ``postgis``; a test that asks for
``db_url``, ``db_settings``, ``engine`` or ``session`` runs once per back-end, on a
database already at the newest schema and empty of rows:

- SpatiaLite: a fresh file in ``tmp_path`` (copied from one migrated per test session);
- PostGIS: one uniquely named database on ``GEOGRID_TEST_POSTGRES_URL`` (default
  ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) with ``CREATE EXTENSION
  postgis``, created once per test session, emptied after each test and dropped at the
  end.  Its tests carry the ``postgis`` marker (``-m "not postgis"`` skips them).

``empty_db_url`` gives an unmigrated database instead (for migration tests).

If PostGIS cannot be reached its tests are skipped, except when ``CI`` is set or
``GEOGRID_REQUIRE_POSTGIS=1``: then they fail, so a CI run can never pass by silently
skipping half the suite (the rule geoalchemy2's own test suite follows).
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests explore new random examples on every run.  A failing one prints a
# ``@reproduce_failure`` line, so that a failure seen once (in CI, say) can be replayed
# exactly; some examples (villages as shapely polygons) print too little to rebuild.
hypothesis_settings.register_profile("geogrid", print_blob=True)
hypothesis_settings.load_profile("geogrid")

PG_ADMIN_URL = os.environ.get(
    "GEOGRID_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DATA_TABLES = ("issue_photos", "issue_events", "issues", "api_keys",
               "assignments", "cells", "microgrids", "plan_notes", "plans", "household_removals",
               "persons", "households", "areas", "audit_log", "users")

BACKENDS = [
    pytest.param("spatialite", id="spatialite"),
    pytest.param("postgis", id="postgis", marks=pytest.mark.postgis),
]


def _postgis_required() -> bool:
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("GEOGRID_REQUIRE_POSTGIS", "") == "1"


def _unavailable(reason: str):
    if _postgis_required():
        pytest.fail(f"PostGIS is required here (CI or GEOGRID_REQUIRE_POSTGIS=1) but {reason}",
                    pytrace=False)
    pytest.skip(f"PostGIS unavailable: {reason}")


@pytest.fixture(scope="session")
def postgis_admin():
    """An AUTOCOMMIT engine on the server's maintenance database, or skip/fail."""
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            available = conn.execute(
                text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).scalar()
    except Exception as exc:  # server down, auth refused...
        engine.dispose()
        _unavailable(f"cannot connect to {PG_ADMIN_URL}: {exc}")
    if not available:
        engine.dispose()
        _unavailable("the server has no postgis extension (apt-get install postgresql-15-postgis-3)")
    yield engine
    engine.dispose()


def _create_database(admin, *, postgis: bool = True) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"geogrid_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    if postgis:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        engine.dispose()
    return url


def _drop_database(admin, url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgis_database(postgis_admin):
    """URL of this test session's PostGIS database, migrated to head; dropped afterwards."""
    from geogrid.db import migrate

    url = _create_database(postgis_admin)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        _drop_database(postgis_admin, url)


@pytest.fixture(scope="session")
def spatialite_template(tmp_path_factory):
    """A SpatiaLite file migrated to head once per test session (tests get copies)."""
    from geogrid.db import migrate

    path = tmp_path_factory.mktemp("spatialite") / "template.sqlite"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """``"spatialite"`` or ``"postgis"``."""
    return request.param


def _empty_postgis(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        # the append-only triggers forbid this; only tests may switch them off.  DELETE
        # is much faster than TRUNCATE on tables this small.
        conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        # Every row goes, so the foreign keys' checks and cascades are for nothing, and
        # they are what cost: deleting each household ran its own scan of assignments
        # (whose household_id is the second column of its key), dead rows of every test
        # before it included, so the emptying grew to 10-20 s a test late in a session.
        # A replica session fires no foreign-key trigger (the server's own switch).
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        # The cascades emptied the tables left out of DATA_TABLES: none may be now.
        tables = {r[0] for r in conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        left_out = tables - set(DATA_TABLES) - {"alembic_version", "spatial_ref_sys"}
        assert not left_out, f"add {sorted(left_out)} to DATA_TABLES in tests/conftest.py"
        for table in DATA_TABLES:
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER USER")
    engine.dispose()


@pytest.fixture
def db_url(backend, request, tmp_path):
    """URL of an empty database at the newest schema, on ``backend``."""
    if backend == "spatialite":
        path = tmp_path / "geogrid.sqlite"
        shutil.copyfile(request.getfixturevalue("spatialite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgis_database")
    try:
        yield url
    finally:
        _empty_postgis(url)


class DatabaseTemplates:
    """Databases filled once per test session and copied into each test's own.

    ``load(engine, key, build)`` fills the test's (empty) database behind ``engine`` with
    what ``build(engine)`` wrote into one of its own, built the first time ``key`` is
    asked for on that back-end, and returns what ``build`` returned.  A test then starts
    from the same rows as if it had run ``build`` itself, in a fraction of the time:
    SpatiaLite copies the file, PostGIS copies each table's rows (``COPY`` in binary,
    kept in memory from the first build).
    """

    def __init__(self, request, tmp_path_factory):
        self._request = request
        self._tmp = tmp_path_factory
        self._built: dict = {}

    def load(self, engine, key: str, build):
        if engine.dialect.name == "sqlite":
            return self._load_spatialite(engine, key, build)
        return self._load_postgis(engine, key, build)

    def _load_spatialite(self, engine, key, build):
        from pathlib import Path

        from geogrid.db.engine import make_engine

        if ("spatialite", key) not in self._built:
            path = self._tmp.mktemp("template") / "template.sqlite"
            shutil.copyfile(self._request.getfixturevalue("spatialite_template"), path)
            source = make_engine(f"sqlite:///{path}")
            try:
                value = build(source)
            finally:
                source.dispose()  # closes the file: nothing is left in a -wal beside it
            self._built["spatialite", key] = (path, value)
        path, value = self._built["spatialite", key]
        engine.dispose()  # no connection may hold the file being replaced
        target = Path(engine.url.database)
        for extra in ("-wal", "-shm", "-journal"):
            Path(f"{target}{extra}").unlink(missing_ok=True)
        shutil.copyfile(path, target)
        return value

    def _load_postgis(self, engine, key, build):
        from geogrid.db import migrate
        from geogrid.db.engine import make_engine

        if ("postgis", key) not in self._built:
            admin = self._request.getfixturevalue("postgis_admin")
            url = _create_database(admin)
            try:
                migrate.upgrade(url)
                source = make_engine(url)
                try:
                    value = build(source)
                    tables = []
                    with source.connect() as conn:
                        cur = conn.connection.driver_connection.cursor()
                        for table in DATA_TABLES:
                            with cur.copy(f"COPY {table} TO STDOUT (FORMAT binary)") as copy:
                                data = b"".join(bytes(block) for block in copy)
                            cur.execute(f"SELECT count(*) FROM {table}")
                            if cur.fetchone()[0]:
                                tables.append((table, data))
                finally:
                    source.dispose()
            finally:
                _drop_database(admin, url)
            self._built["postgis", key] = (tables, value)
        tables, value = self._built["postgis", key]
        with engine.begin() as conn:
            cur = conn.connection.driver_connection.cursor()
            # the rows come from a database where they were consistent; a replica session
            # checks no foreign key, so the tables go in any order
            cur.execute("SET LOCAL session_replication_role = replica")
            for table, data in tables:
                with cur.copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:
                    copy.write(data)
                if table in ("audit_log", "issue_events"):  # their ids come from a sequence
                    cur.execute(f"SELECT pg_get_serial_sequence('{table}', 'id')")
                    seq = cur.fetchone()[0]
                    cur.execute(f"SELECT setval('{seq}', GREATEST((SELECT max(id) FROM {table}), "
                                f"(SELECT last_value FROM {seq})))")
        return value


@pytest.fixture(scope="session")
def db_templates(request, tmp_path_factory) -> DatabaseTemplates:
    """See :class:`DatabaseTemplates`."""
    return DatabaseTemplates(request, tmp_path_factory)


@pytest.fixture
def empty_db_url(backend, request, tmp_path):
    """URL of a database with no geogrid schema at all (PostGIS: not even the extension)."""
    if backend == "spatialite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    admin = request.getfixturevalue("postgis_admin")
    url = _create_database(admin, postgis=False)
    try:
        yield url
    finally:
        _drop_database(admin, url)


@pytest.fixture
def db_settings(db_url):
    """:class:`geogrid.settings.Settings` pointing at ``db_url``."""
    from geogrid.settings import Settings

    return Settings(database_url=db_url, sqlite_busy_timeout_ms=10_000)


@pytest.fixture
def engine(db_settings):
    """An engine (``geogrid.db.engine.make_engine``) on ``db_url``."""
    from geogrid.db.engine import make_engine

    engine = make_engine(db_settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    """A session on ``engine``; whatever the test leaves uncommitted is rolled back."""
    from geogrid.db.engine import make_sessionmaker

    s = make_sessionmaker(engine)()
    yield s
    s.rollback()
    s.close()


@pytest.fixture
def cli(db_url, monkeypatch, capsys):
    """``cli(*args) -> (exit code, stdout, stderr)`` of ``geogrid ARGS`` on the test's
    database (``GEOGRID_DATABASE_URL``)."""
    from geogrid.cli import main

    monkeypatch.setenv("GEOGRID_DATABASE_URL", db_url)

    def run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
