"""Engines: SpatiaLite pragmas and concurrency, helpful errors for missing pieces."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from geogrid.db.engine import check_postgis, make_engine, session_scope
from geogrid.errors import DatabaseError, SpatialiteNotFoundError
from geogrid.settings import Settings


def test_spatial_functions_loaded(engine):
    with engine.connect() as conn:
        wkt = conn.execute(text("SELECT ST_AsText(ST_GeomFromText('POINT(109 27)', 4326))")).scalar()
    assert wkt.replace(" ", "") == "POINT(10927)"


@pytest.mark.parametrize("backend", ["spatialite"], indirect=True)
def test_spatialite_pragmas(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


@pytest.mark.parametrize("backend", ["spatialite"], indirect=True)
def test_second_writer_waits_instead_of_failing(db_url):
    """While one writer holds the lock, a second waits on the busy timeout, then succeeds."""
    first = make_engine(Settings(database_url=db_url, sqlite_busy_timeout_ms=10_000))
    second = make_engine(Settings(database_url=db_url, sqlite_busy_timeout_ms=10_000))
    holding = threading.Event()
    hold_seconds = 0.8

    def hold_lock():
        with session_scope(first, write=True) as s:
            s.execute(text("INSERT INTO users (id, username, password_hash, role, scopes, "
                           "failed_logins, created_at) VALUES ('a', 'first', 'x', 'admin', '[]', "
                           "0, '2024-01-01 00:00:00')"))
            holding.set()
            time.sleep(hold_seconds)

    t = threading.Thread(target=hold_lock)
    t.start()
    assert holding.wait(5)
    started = time.perf_counter()
    with session_scope(second, write=True) as s:
        s.execute(text("INSERT INTO users (id, username, password_hash, role, scopes, "
                       "failed_logins, created_at) VALUES ('b', 'second', 'x', 'admin', '[]', "
                       "0, '2024-01-01 00:00:00')"))
    waited = time.perf_counter() - started
    t.join()
    with second.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 2
    first.dispose()
    second.dispose()
    assert waited > hold_seconds / 2  # it really waited for the first writer


@pytest.mark.parametrize("backend", ["spatialite"], indirect=True)
def test_readers_are_not_blocked_by_a_writer(db_url):
    writer = make_engine(db_url)
    reader = make_engine(Settings(database_url=db_url, sqlite_busy_timeout_ms=100))
    with session_scope(writer, write=True) as s:
        s.execute(text("INSERT INTO users (id, username, password_hash, role, scopes, "
                       "failed_logins, created_at) VALUES ('a', 'w', 'x', 'admin', '[]', 0, "
                       "'2024-01-01 00:00:00')"))
        with reader.connect() as conn:  # WAL: reads the last committed state at once
            assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 0
    writer.dispose()
    reader.dispose()


def test_missing_spatialite_says_how_to_install(tmp_path):
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite'}",
                                  spatialite_library="mod_spatialite_that_is_not_there"))
    with pytest.raises(SpatialiteNotFoundError) as info:
        with engine.connect():
            pass
    message = str(info.value)
    assert "mod_spatialite not found" in message
    assert "apt-get install libsqlite3-mod-spatialite" in message
    assert "GEOGRID_SPATIALITE_LIBRARY" in message
    assert isinstance(info.value, DatabaseError)


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(DatabaseError, match="does not exist"):
        make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.sqlite'}")


def test_unreachable_server_is_a_database_error():
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nothing")
    with pytest.raises(DatabaseError, match="cannot connect to postgresql"):
        with engine.connect():
            pass


def test_unsupported_url():
    with pytest.raises(DatabaseError, match="sqlite:///FILE"):
        make_engine("mysql://u@h/db")


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_postgis_not_enabled_says_how(empty_db_url):
    engine = make_engine(empty_db_url)
    with engine.connect() as conn:
        with pytest.raises(DatabaseError, match="CREATE EXTENSION postgis"):
            check_postgis(conn)
    engine.dispose()


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_postgis_missing_message_names_the_package(engine):
    from geogrid.db.engine import postgis_missing_message

    with engine.connect() as conn:
        assert check_postgis(conn)
        msg = postgis_missing_message(conn)
    assert "apt-get install postgresql-15-postgis-3" in msg
    assert "CREATE EXTENSION postgis" in msg


def test_shapely_keeps_its_geos_after_spatialite_loads(tmp_path):
    """mod_spatialite links Debian's GEOS; if it loads first, shapely breaks.  The engine
    module imports shapely first, so geometry code keeps working after connecting."""
    import subprocess
    import sys

    code = (
        "from geogrid.db.engine import make_engine\n"
        f"e = make_engine('sqlite:///{tmp_path / 'g.sqlite'}')\n"
        "e.connect().close()\n"
        "import shapely\n"
        "assert shapely.to_wkb(shapely.Point(1, 2))[:1] == b'\\x01'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


def _terminate(postgis_admin, pid: int) -> None:
    with postgis_admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()


def _count_pings(engine, monkeypatch) -> list:
    pings = []
    real = engine.dialect.do_ping

    def counting(dbapi_conn):
        pings.append(dbapi_conn)
        return real(dbapi_conn)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return pings


@contextmanager
def _pinging_engine(db_settings, idle_s: float):
    engine = make_engine(db_settings, ping_after_idle_s=idle_s)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_pooled_connection_is_pinged_only_after_idling(db_settings, monkeypatch):
    with _pinging_engine(db_settings, 0.3) as engine:
        pings = _count_pings(engine, monkeypatch)
        first = _backend_pid(engine)  # a fresh connection: no ping
        for _ in range(5):  # in steady use: no ping, the same connection
            assert _backend_pid(engine) == first
        assert pings == []
        time.sleep(0.4)
        assert _backend_pid(engine) == first
        assert len(pings) == 1


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_ping_threshold_comes_from_the_settings(db_url, monkeypatch):
    engine = make_engine(Settings(database_url=db_url, db_ping_after_idle_s=0))  # 0: every checkout
    try:
        pings = _count_pings(engine, monkeypatch)
        first = _backend_pid(engine)
        assert _backend_pid(engine) == first and _backend_pid(engine) == first
        assert len(pings) == 2
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_connection_dropped_while_idle_is_replaced_before_use(db_settings, postgis_admin):
    with _pinging_engine(db_settings, 0.2) as engine:
        old = _backend_pid(engine)
        _terminate(postgis_admin, old)
        time.sleep(0.3)
        assert _backend_pid(engine) != old  # no error reached the caller


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_connection_dropped_while_busy_fails_once_then_the_pool_recovers(db_settings, postgis_admin):
    with _pinging_engine(db_settings, 60) as engine:
        old = _backend_pid(engine)
        _terminate(postgis_admin, old)
        with pytest.raises(OperationalError, match="terminating connection"):  # the API's 503
            _backend_pid(engine)
        assert _backend_pid(engine) != old
