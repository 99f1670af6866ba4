"""A command whose database goes away in the middle: exit 6 with one line saying so, and
nothing of its work in the database (each command is one transaction)."""

from __future__ import annotations

import contextlib

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from tests.cli.test_transfer import HOUSEHOLDS, _count


@contextlib.contextmanager
def _connection_lost_at(statement_start: str, kill):
    """Every engine's connection fails when it runs a statement beginning ``statement_start``:
    ``kill(conn)`` ends it (PostGIS: the server terminates the backend) or raises."""

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(statement_start):
            kill(conn)

    event.listen(Engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(Engine, "before_cursor_execute", before)


def test_a_database_lost_mid_import_is_exit_6_and_writes_nothing(cli, backend, db_url, tmp_path, request):
    """Before, PostgreSQL going away while `geogrid import persons` wrote (a restart, the
    network) ended the command in a 60-line traceback quoting the UPDATE, exit 1; the
    README's exit 6 is 'database unavailable'. Now one line says that the database
    failed, why, that nothing of the command was kept, and what to do; exit 6."""
    if backend == "postgis":
        admin = request.getfixturevalue("postgis_admin")

        def kill(conn):
            pid = conn.connection.driver_connection.info.backend_pid
            with admin.connect() as a:
                a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    else:
        def kill(conn):
            raise conn.dialect.loaded_dbapi.OperationalError("disk I/O error")

    path = tmp_path / "households.csv"
    path.write_text(HOUSEHOLDS, encoding="utf-8")
    with _connection_lost_at("INSERT INTO AUDIT_LOG", kill):  # after the households are written
        code, out, err = cli("import", "households", path)
    assert code == 6, err
    assert "Traceback" not in err and "[SQL" not in err and "UPDATE" not in err, err
    assert err.startswith("error: the database failed") and "run the command again" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert _count(db_url, "households") == 0  # the households written before were rolled back
    code, out, err = cli("import", "households", path)  # and, the database back, it works
    assert code == 0 and "3 added" in out, err
