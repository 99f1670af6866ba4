"""Schema migrations from Python: ``upgrade``, ``downgrade``, ``current``.

Alembic is the only way the schema changes.  The migrations ship inside the package
(``geogrid/db/migrations``), so an installed geogrid can upgrade any database::

    from geogrid.db.migrate import upgrade
    upgrade(get_settings())            # or: geogrid db upgrade
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from geogrid.db.engine import make_engine
from geogrid.errors import DatabaseError, GeogridError, InputError

__all__ = ["upgrade", "downgrade", "current", "head", "require_current", "alembic_config"]

_HERE = Path(__file__).resolve().parent


def alembic_config() -> Config:
    """The Alembic :class:`Config` of the migrations shipped with geogrid."""
    cfg = Config(str(_HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    return cfg


def _revisions() -> list[str]:
    return sorted(s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def head() -> str:
    """The newest revision shipped with this geogrid."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _run(settings_or_engine, fn, *args) -> None:
    own = not isinstance(settings_or_engine, Engine)
    engine = make_engine(settings_or_engine) if own else settings_or_engine
    cfg = alembic_config()
    try:
        conn_opts = {"geogrid_sqlite_begin": "IMMEDIATE"} if engine.dialect.name == "sqlite" else {}
        with engine.connect() as conn:
            conn = conn.execution_options(**conn_opts)
            cfg.attributes["connection"] = conn
            fn(cfg, *args)
            conn.commit()
    except GeogridError:
        raise
    except CommandError as exc:  # an unknown revision, a downgrade below base...
        raise InputError(f"{exc}: give head, base, a relative step such as -1, or a revision "
                         f"of {', '.join(_revisions())}") from None
    except DBAPIError as exc:
        raise DatabaseError(f"migration failed on {engine.url.render_as_string()}: {exc.orig}") from exc
    finally:
        if own:
            engine.dispose()


def upgrade(settings=None, rev: str = "head") -> None:
    """Upgrade the database of ``settings`` (or an Engine) to ``rev`` (default: newest)."""
    _run(_settings(settings), command.upgrade, rev)


def downgrade(settings=None, rev: str = "-1") -> None:
    """Downgrade the database of ``settings`` (or an Engine) to ``rev`` (``base`` empties it)."""
    _run(_settings(settings), command.downgrade, rev)


def current(settings=None) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    s = _settings(settings)
    own = not isinstance(s, Engine)
    engine = make_engine(s) if own else s
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if own:
            engine.dispose()


def require_current(engine: Engine) -> None:
    """Raise :class:`DatabaseError` unless ``engine``'s database is at :func:`head`, saying
    what to do: a database never upgraded, or at an older schema, needs ``geogrid db
    upgrade``; one at a schema this geogrid does not know was upgraded by a newer one."""
    where = engine.url.render_as_string()
    try:
        rev = current(engine)
    except DBAPIError as exc:
        raise DatabaseError(f"cannot read the schema of {where}: {exc.orig}") from exc
    newest = head()
    if rev == newest:
        return
    if rev is None:
        raise DatabaseError(f"{where} has no geogrid schema; run `geogrid db upgrade` first")
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if rev in known:
        raise DatabaseError(f"{where} is at schema {rev} and this geogrid needs {newest}; "
                            "run `geogrid db upgrade`")
    raise DatabaseError(f"{where} is at schema {rev}, which this geogrid does not know (its newest is "
                        f"{newest}): a newer geogrid upgraded it; use that version")


def _settings(settings):
    if settings is None:
        from geogrid.settings import get_settings

        return get_settings()
    return settings
