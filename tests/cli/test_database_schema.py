"""Commands that read or write the register check the database's schema first: one never
upgraded, or at an older schema, was a missing table's traceback halfway through an
import (exit 1); now a one-line error that says what to run, exit 6."""

from __future__ import annotations

import pytest

from geogrid.cli import main

HOUSEHOLDS = "户编号,户主,经度,纬度,村代码\nH001,杨大山,109.1700,27.3600,431227100201\n"


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    monkeypatch.setenv("GEOGRID_DATABASE_URL", url)
    path = tmp_path / "h.csv"
    path.write_text(HOUSEHOLDS, encoding="utf-8")
    return url, path


def _run(capsys, *args):
    code = main([str(a) for a in args])
    return code, " ".join(capsys.readouterr().err.split())


def test_a_database_never_upgraded_is_named_with_what_to_run(fresh, capsys):
    url, path = fresh
    for args in (("import", "households", path), ("users", "list"), ("partition", "--quiet")):
        code, err = _run(capsys, *args)
        assert code == 6, (args, err)
        assert err == f"error: {url} has no geogrid schema; run `geogrid db upgrade` first", args


def test_an_older_schema_is_named_and_an_upgrade_then_imports(fresh, capsys):
    from alembic.script import ScriptDirectory

    from geogrid.db.migrate import alembic_config, head, upgrade
    from geogrid.settings import Settings

    url, path = fresh
    older = ScriptDirectory.from_config(alembic_config()).get_revision(head()).down_revision
    upgrade(Settings(database_url=url), older)
    code, err = _run(capsys, "import", "households", path)
    assert code == 6 and f"is at schema {older} and this geogrid needs {head()}; run `geogrid db upgrade`" in err
    assert main(["db", "upgrade"]) == 0
    assert _run(capsys, "import", "households", path)[0] == 0
