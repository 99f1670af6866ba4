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
    assert main(["db", "downgrade", "base"]) == 0
    assert migrate.current(empty_db_url) is None
    assert main(["db", "upgrade", "head", "--database-url", empty_db_url]) == 0


def test_missing_spatialite_exit_code(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GEOGRID_SPATIALITE_LIBRARY", "no_such_spatialite")
    code = main(["db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 'x.sqlite'}"])
    assert code == 6
    assert "apt-get install libsqlite3-mod-spatialite" in capsys.readouterr().err
