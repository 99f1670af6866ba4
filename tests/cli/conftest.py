"""Fixtures of the command-line tests."""

from __future__ import annotations

import pytest

from geogrid.cli import main


@pytest.fixture
def cli(db_url, monkeypatch, capsys):
    """``cli(*args) -> (exit code, stdout, stderr)`` of ``geogrid ARGS`` on the test's
    database (``GEOGRID_DATABASE_URL``)."""
    monkeypatch.setenv("GEOGRID_DATABASE_URL", db_url)

    def run(*args):
        code = main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run
