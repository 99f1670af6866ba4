"""Engines and sessions for SpatiaLite and PostGIS.

``sqlite:///FILE`` selects SpatiaLite: every connection loads ``mod_spatialite``, runs in
WAL mode with a busy timeout (so a second writer waits instead of failing) and enforces
foreign keys.  ``postgresql+psycopg://`` selects PostGIS.

Repositories take a :class:`~sqlalchemy.orm.Session` and never commit; whoever opens
the session owns the transaction::

    engine = make_engine(get_settings())
    with session_scope(engine, write=True) as session:
        upsert_households(session, gdf)      # committed on leaving the block

A write session on SQLite begins with ``BEGIN IMMEDIATE``: it takes the write lock up
front, so a concurrent writer waits on the busy timeout rather than failing later with
``database is locked`` when it upgrades a read transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import shapely  # noqa: F401  (loaded before mod_spatialite; see geogrid.native)
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError, StatementError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from geogrid.errors import ConflictError, DatabaseError, SpatialiteNotFoundError, GeogridError

__all__ = [
    "begin_write",
    "begin_single_statements",
    "autocommit",
    "make_engine",
    "make_sessionmaker",
    "session_scope",
    "backend",
    "check_postgis",
    "SPATIALITE_HINT",
]

SPATIALITE_HINT = (
    "mod_spatialite not found: install it with `apt-get install libsqlite3-mod-spatialite` "
    "(or set GEOGRID_SPATIALITE_LIBRARY to its path)"
)

#: Execution option naming how a SQLite transaction begins (DEFERRED or IMMEDIATE).
_SQLITE_BEGIN = "geogrid_sqlite_begin"


def backend(bind) -> str:
    """``"spatialite"`` or ``"postgis"`` for an engine, connection or session."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    name = bind.dialect.name
    if name == "sqlite":
        return "spatialite"
    if name == "postgresql":
        return "postgis"
    raise DatabaseError(f"unsupported database {name!r}: use sqlite:/// or postgresql+psycopg://")


def _sqlite_module():
    """The DB-API module for SQLite: the stdlib one if it can load extensions, else pysqlite3."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        from pysqlite3 import dbapi2  # type: ignore[import-not-found]
    except ImportError:
        raise SpatialiteNotFoundError(
            "this Python's sqlite3 cannot load extensions, so mod_spatialite cannot be loaded: "
            "`pip install pysqlite3-binary` (or use a Python built with "
            "--enable-loadable-sqlite-extensions, such as Debian's python3)"
        ) from None
    return dbapi2


def load_spatialite(dbapi_conn, library: str) -> None:
    """Load ``library`` (mod_spatialite) into a DB-API SQLite connection."""
    try:
        dbapi_conn.enable_load_extension(True)
        dbapi_conn.load_extension(library)
        dbapi_conn.enable_load_extension(False)
    except Exception as exc:  # sqlite3.OperationalError: "...cannot open shared object file"
        raise SpatialiteNotFoundError(f"{SPATIALITE_HINT}; loading {library!r} said: {exc}") from None


def _sqlite_engine(url: URL, settings, **kwargs) -> Engine:
    from sqlalchemy import create_engine

    from geogrid.native import check_native_libraries

    check_native_libraries()  # wheels bundling GEOS/PROJ would clash with mod_spatialite
    module = _sqlite_module()
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise DatabaseError(
                f"cannot open SQLite database {database!r}: directory {str(parent)!r} does not "
                "exist; create it or set GEOGRID_DATABASE_URL to another sqlite:///FILE"
            )
    busy_ms = int(settings.sqlite_busy_timeout_ms)
    library = settings.spatialite_library
    connect_args = {"timeout": busy_ms / 1000.0, "check_same_thread": False}
    connect_args.update(kwargs.pop("connect_args", {}))
    engine = create_engine(url, module=module, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's implicit
        # BEGIN only before DML would split a read-then-write into two transactions).
        dbapi_conn.isolation_level = None
        load_spatialite(dbapi_conn, library)
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA cache_size = -65536")  # 64 MB: bulk imports touch many pages
            if database and database != ":memory:":
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, much faster
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        if mode != "NONE":  # NONE: each statement its own transaction (begin_single_statements)
            conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _postgres_engine(url: URL, settings, **kwargs) -> Engine:
    from sqlalchemy import create_engine

    ping_after = kwargs.pop("ping_after_idle_s", settings.db_ping_after_idle_s)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_idle_connections(engine, ping_after)
    return engine


def ping_idle_connections(engine: Engine, idle_s: float) -> None:
    """Ping a pooled connection at checkout only if it sat idle in the pool over ``idle_s``
    (``GEOGRID_DB_PING_AFTER_IDLE_S``, default 1 s; 0: at every checkout).

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: on PostGIS a round trip
    (``SELECT 1``) per request, a tenth of a hot read's CPU.  A connection in steady use
    is not pinged; one that waited (a quiet spell, when a restart or an idle-session
    timeout is most likely to have dropped it) is, and a dead one is replaced, with the
    rest of the pool, before anyone uses it.  A server that goes away *while* its
    connections are busy fails the statements in flight (503, nothing half-written:
    each request is one transaction), and SQLAlchemy's disconnect handling then
    replaces the pool as ``pool_pre_ping`` would have.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_conn, record):
        record.info["geogrid_idle_since"] = None  # just connected: nothing to check

    @event.listens_for(engine, "checkin")
    def _idle(_dbapi_conn, record):
        if record is not None:
            record.info["geogrid_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, record, _proxy):
        since = record.info.get("geogrid_idle_since")
        if since is None or time.monotonic() - since <= idle_s:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_conn, None):
                raise InvalidatePoolError(f"pooled connection was dropped: {exc}") from exc
            raise


def _describe(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def make_engine(settings, **kwargs) -> Engine:
    """An :class:`~sqlalchemy.engine.Engine` for ``settings.database_url``.

    Parameters
    ----------
    settings : geogrid.settings.Settings or str
        A database URL string is taken as ``Settings(database_url=...)``.  Uses ``database_url``, ``spatialite_library``, ``sqlite_busy_timeout_ms`` and ``db_ping_after_idle_s``.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine` (``echo=True``, pool options...).

    Raises
    ------
    SpatialiteNotFoundError
        On first connection, if mod_spatialite cannot be loaded.
    DatabaseError
        For an unsupported URL, and on first use if the server cannot be reached.
    """
    if isinstance(settings, str | URL):
        from geogrid.settings import Settings

        settings = Settings(database_url=str(settings) if isinstance(settings, str) else
                            settings.render_as_string(hide_password=False))
    try:
        url = make_url(settings.database_url)
    except Exception as exc:
        raise DatabaseError(
            f"GEOGRID_DATABASE_URL {settings.database_url!r} is not a database URL ({exc}); "
            "use sqlite:///FILE or postgresql+psycopg://user@host/db"
        ) from None
    if url.get_backend_name() == "sqlite":
        engine = _sqlite_engine(url, settings, **kwargs)
    elif url.get_backend_name() == "postgresql":
        if url.get_driver_name() not in ("psycopg", ""):
            raise DatabaseError(
                f"unsupported PostgreSQL driver {url.get_driver_name()!r}: "
                "use a postgresql+psycopg:// URL"
            )
        if url.get_driver_name() == "":
            url = url.set(drivername="postgresql+psycopg")
        engine = _postgres_engine(url, settings, **kwargs)
    else:
        raise DatabaseError(
            f"unsupported database URL {_describe(url)!r}: use sqlite:///FILE (SpatiaLite) "
            "or postgresql+psycopg://user@host/db (PostGIS)"
        )

    @event.listens_for(engine, "handle_error")
    def _translate(ctx):
        exc = ctx.original_exception
        if isinstance(exc, GeogridError):
            return exc
        if ctx.connection is None and isinstance(ctx.sqlalchemy_exception, OperationalError | DBAPIError):
            # The connection itself failed: server down, wrong database, bad file.
            return DatabaseError(
                f"cannot connect to {_describe(engine.url)}: {str(exc).strip()}; check "
                "GEOGRID_DATABASE_URL and that the server is running "
                "(`pg_ctlcluster 15 main start` on Debian)"
                if engine.dialect.name == "postgresql"
                else f"cannot open {_describe(engine.url)}: {str(exc).strip()}; check "
                "GEOGRID_DATABASE_URL and that the file is readable and writable"
            )
        return None

    return engine


def check_postgis(conn) -> str:
    """The PostGIS version of a PostgreSQL connection, or a :class:`DatabaseError` saying how to fix it."""
    version = conn.execute(
        text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
    ).scalar()
    if version:
        return version
    available = conn.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
    ).scalar()
    database = conn.engine.url.database
    if available:
        raise DatabaseError(
            f"PostGIS is not enabled in database {database!r}: run `geogrid db upgrade` "
            "(which runs CREATE EXTENSION IF NOT EXISTS postgis) or `CREATE EXTENSION postgis`"
        )
    raise DatabaseError(postgis_missing_message(conn))


def postgis_missing_message(conn) -> str:
    try:
        major = conn.execute(text("SHOW server_version_num")).scalar()
        major = int(major) // 10000
    except Exception:  # pragma: no cover - only for the message
        major = 15
    return (
        "PostGIS is not installed on the PostgreSQL server: install it with "
        f"`apt-get install postgresql-{major}-postgis-3`, then run `CREATE EXTENSION postgis` "
        "(or `geogrid db upgrade`, which does) in the database"
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker bound to ``engine`` (objects stay usable after commit)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def begin_write(session: Session) -> Session:
    """End the session's current (read) transaction and begin a write transaction.

    On SQLite the new transaction is ``BEGIN IMMEDIATE`` (the write lock is taken up front,
    waiting on the busy timeout, instead of failing when a read transaction upgrades);
    on PostGIS a plain ``BEGIN``.
    """
    session.commit()
    if backend(session) == "spatialite":
        session.connection(execution_options={_SQLITE_BEGIN: "IMMEDIATE"})
    return session


def autocommit(engine: Engine) -> Engine:
    """``engine`` whose connections run each statement as a transaction of its own.

    For sessions that only read (and append audit rows): no BEGIN, COMMIT or ROLLBACK
    statements around their reads.  PostGIS: ``AUTOCOMMIT`` isolation (no round trips);
    SQLite: no ``BEGIN`` (SQLite's own autocommit), so a read holds no transaction
    open between its statements.  Two reads may then see two states of the database,
    as two requests would.
    """
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_SQLITE_BEGIN: "NONE"})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def begin_single_statements(session: Session) -> Session:
    """End the session's current transaction; on SQLite its next statements then run
    without BEGIN, each one a transaction of its own (SQLite's autocommit).

    For a write that is one statement: SQLite takes the write lock, writes and commits
    inside that one call, with no interpreter lock to win back while it holds it.  A
    following ``session.commit()`` has nothing left to do.  On PostGIS this is
    :func:`begin_write`.
    """
    session.commit()
    if backend(session) == "spatialite":
        session.connection(execution_options={_SQLITE_BEGIN: "NONE"})
    return session


@contextlib.contextmanager
def session_scope(bind, *, write: bool = False) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on any error.

    Parameters
    ----------
    bind : Engine or sessionmaker
    write : bool
        On SQLite, begin with ``BEGIN IMMEDIATE`` so the write lock is taken at once
        (waiting up to the busy timeout for another writer) instead of failing with
        ``database is locked`` when a read transaction upgrades.  No effect on PostGIS.

    ``StaleDataError`` (a stale version on an optimistic-locked row) becomes
    :class:`~geogrid.errors.ConflictError`; an unreachable database becomes
    :class:`~geogrid.errors.DatabaseError`.
    """
    factory = bind if isinstance(bind, sessionmaker) else make_sessionmaker(bind)
    session = factory()
    try:
        if write:
            begin_write(session)
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise ConflictError(
            f"{exc}: someone else changed this object first; reload it and try again"
        ) from exc
    except StatementError as exc:
        session.rollback()
        if isinstance(exc.orig, GeogridError):
            raise exc.orig from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def flush(session: Session) -> None:
    """``session.flush()`` with ``StaleDataError`` translated to :class:`ConflictError`."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError(
            f"{exc}: someone else changed this object first; reload it and try again"
        ) from exc


def ensure_spatial(conn) -> None:
    """Make the database spatial: SpatiaLite metadata tables, or the PostGIS extension.

    Run by the initial migration (so by ``geogrid db upgrade``); harmless when done.
    """
    if conn.dialect.name == "sqlite":
        if conn.exec_driver_sql("SELECT CheckSpatialMetaData()").scalar() < 1:
            # every EPSG definition; inside the caller's transaction this takes ~1 s
            conn.exec_driver_sql("SELECT InitSpatialMetaData()")
        return
    if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).scalar():
        return
    available = conn.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
    ).scalar()
    if not available:
        raise DatabaseError(postgis_missing_message(conn))
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except DBAPIError as exc:
        raise DatabaseError(
            f"could not enable PostGIS in database {conn.engine.url.database!r} ({exc.orig}): "
            "ask a superuser to run `CREATE EXTENSION postgis` in it, then retry"
        ) from None
