"""``geogrid db``: schema migrations (Alembic, shipped inside the package).

    geogrid db upgrade [REV]     # default: head (the newest schema)
    geogrid db downgrade REV     # e.g. -1, or base to remove every geogrid table (asks first)
    geogrid db current           # the revision the database is at
"""

from __future__ import annotations

import typer

from geogrid.cli import app

db_app = typer.Typer(
    name="db",
    help="Create or migrate the database schema (GEOGRID_DATABASE_URL).",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

_URL = typer.Option(None, "--database-url", help="Overrides GEOGRID_DATABASE_URL.")


def _settings(url: str | None):
    from geogrid.settings import get_settings

    return get_settings(**({"database_url": url} if url else {}))


def _where(settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def upgrade(rev: str = typer.Argument("head", help="Target revision."),
            database_url: str | None = _URL) -> None:
    """Upgrade the schema to REV (default: head). Creates the database file, SpatiaLite
    metadata or the PostGIS extension as needed."""
    from geogrid.db import migrate

    settings = _settings(database_url)
    migrate.upgrade(settings, rev)
    typer.echo(f"{_where(settings)} is at revision {migrate.current(settings)}")


# "-1" (one revision down) is the target, not an unknown option
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def downgrade(rev: str = typer.Argument(..., help="Target revision: -1, a revision id, or base."),
              database_url: str | None = _URL,
              yes: bool = typer.Option(False, "--yes", help="Do not ask (for scripts): the "
                                       "downgrade drops tables or columns with their data.")) -> None:
    """Downgrade the schema to REV (base drops every geogrid table and its data). Asks for
    the database's name first, unless --yes."""
    from geogrid.db import migrate

    settings = _settings(database_url)
    if not yes:
        _confirm_downgrade(settings, rev)
    migrate.downgrade(settings, rev)
    typer.echo(f"{_where(settings)} is at revision {migrate.current(settings) or 'base'}")


def _confirm_downgrade(settings, rev: str) -> None:
    """Go on only once told to: a downgrade drops what later schemas added, with its data
    (``base``: the register, the plans, the issues and the audit log, which must be kept)."""
    import sys

    from sqlalchemy.engine import make_url

    from geogrid.errors import InputError

    where, name = _where(settings), make_url(settings.database_url).database or ""
    what = (f"downgrading {where} to {rev} drops geogrid's tables or columns with their data "
            "(to base: the register, the plans, the issues and the audit log)")
    if not sys.stdin.isatty():
        raise InputError(f"{what}; back it up first (pg_dump, or a copy of the file), then add --yes")
    typed = typer.prompt(f"{what}.\nType the database's name ({name}) to go on", default="",
                         show_default=False)
    if typed.strip() != name:
        raise InputError("not confirmed: nothing was changed")


@db_app.command("current")
def current(database_url: str | None = _URL) -> None:
    """Print the revision the database is at (and whether it is the newest)."""
    from geogrid.db import migrate

    settings = _settings(database_url)
    rev = migrate.current(settings)
    head = migrate.head()
    if rev is None:
        typer.echo(f"{_where(settings)}: no geogrid schema; run `geogrid db upgrade` (head is {head})")
    elif rev == head:
        typer.echo(f"{rev} (head)")
    else:
        typer.echo(f"{rev} (head is {head}; run `geogrid db upgrade`)")
