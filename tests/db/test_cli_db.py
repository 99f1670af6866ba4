"""``geogrid db upgrade / current / downgrade``."""

from __future__ import annotations

from geogrid.cli import main
from geogrid.db import migrate


def test_upgrade_current_downgrade(empty_db_url, capsys, monkeypatch):
    monkeypatch.setenv("GEOGRID_DATABASE_URL", empty_db_url)
    assert main(["db", "current"]) == 0
    assert "no geogrid schema" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert migrate.current(empty_db_url) == migrate.head()
    assert main(["db", "current"]) == 0
    assert "(head)" in capsys.readouterr().out
    assert main(["db", "downgrade", "base", "--yes"]) == 0
    assert migrate.current(empty_db_url) is None
    assert main(["db", "upgrade", "head", "--database-url", empty_db_url]) == 0


def test_missing_spatialite_exit_code(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GEOGRID_SPATIALITE_LIBRARY", "no_such_spatialite")
    code = main(["db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 'x.sqlite'}"])
    assert code == 6
    assert "apt-get install libsqlite3-mod-spatialite" in capsys.readouterr().err


def test_downgrade_asks_before_it_drops_data(empty_db_url, capsys, monkeypatch):
    """`geogrid db downgrade base` (or -1) dropped the register, the plans and the audit
    log that must be kept, at once and without a word, on a mistyped command. It now
    says what it would drop and goes on only with --yes (a script) or the database's
    name typed at the prompt; anything else changes nothing (exit 2). `-1`, which the help
    offers, was refused as an unknown option, and an unknown revision was a traceback."""
    import io
    import sys

    from sqlalchemy.engine import make_url

    from geogrid.db import audit
    from geogrid.db.engine import make_engine, session_scope

    db_url = empty_db_url
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    with session_scope(engine, write=True) as s:
        audit.append(s, "cli:test", "read", "household", "h1")
    monkeypatch.setenv("GEOGRID_DATABASE_URL", db_url)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # a script: no terminal to ask on
    assert main(["db", "downgrade", "base"]) == 2
    err = capsys.readouterr().err
    assert "--yes" in err and "audit log" in err and "pg_dump" in err, err
    name = make_url(db_url).database

    class Tty(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Tty("geogrid-prod\n"))  # the wrong name
    assert main(["db", "downgrade", "-1"]) == 2
    assert migrate.current(db_url) == migrate.head()
    with session_scope(engine) as s:
        assert audit.count(s) == 1
    assert main(["db", "downgrade", "--bogus", "--yes"]) == 2  # no traceback: what to give
    assert "Can't locate revision" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", Tty(name + "\n"))
    assert main(["db", "downgrade", "-1"]) == 0
    assert migrate.current(db_url) != migrate.head()
    engine.dispose()
