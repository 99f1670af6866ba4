"""The database of the commands that read or write the register: its engine, checked to
be at this geogrid's schema, and who the command acts as in the audit log."""

from __future__ import annotations

__all__ = ["open_engine", "actor"]


def open_engine(database_url: str | None = None):
    """``(settings, engine)`` of ``database_url`` (else ``GEOGRID_DATABASE_URL``), with its
    schema at this geogrid's newest revision: a database never upgraded, or upgraded by
    another version, is a :class:`~geogrid.errors.DatabaseError` that says what to run
    (exit 6), not a missing table's traceback halfway through an import."""
    from geogrid.db.engine import make_engine
    from geogrid.db.migrate import require_current
    from geogrid.settings import get_settings

    settings = get_settings(**({"database_url": database_url} if database_url else {}))
    engine = make_engine(settings)
    try:
        require_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return settings, engine


def actor() -> str:
    """Who a command acts as: ``cli:<login name>`` (``cli`` where there is none)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"
