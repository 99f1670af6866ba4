"""A command gives its database connections back when it ends.

``geogrid import`` and ``geogrid export`` never disposed of their engine: each one run in
a process that goes on (a notebook calling ``geogrid.cli.main``, a scheduler, the test
suite's ``cli`` fixture) left its pooled connections open, and PostgreSQL, at 100
connections, refused everyone with "too many clients"."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.cli.test_transfer import HOUSEHOLDS


def _open_connections(db_url: str) -> int:
    """Connections to the test's database other than this count's own: PostgreSQL's
    sessions on it, or this process's open files of the SpatiaLite database."""
    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":
        probe = create_engine(db_url)
        try:
            with probe.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                                         "AND pid <> pg_backend_pid()"), {"d": url.database}).scalar_one()
        finally:
            probe.dispose()
    path = Path(url.database).resolve()
    fds = Path("/proc/self/fd")
    return sum(1 for fd in os.listdir(fds) if _points_to(fds / fd, path))


def _points_to(link: Path, path: Path) -> bool:
    try:
        return Path(os.readlink(link)) == path
    except OSError:
        return False


def test_imports_and_exports_leave_no_connection_open(cli, db_url, tmp_path):
    households = tmp_path / "h.csv"
    households.write_text(HOUSEHOLDS, encoding="utf-8")
    before = _open_connections(db_url)
    for _ in range(3):
        assert cli("import", "households", households)[0] == 0
        assert cli("export", "households", "-o", tmp_path / "out.csv")[0] == 0
    assert cli("export", "audit", "-o", tmp_path / "audit.csv", "-q")[0] == 0
    assert _open_connections(db_url) == before
