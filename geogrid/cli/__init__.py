"""The ``geogrid`` command line.

Each command group lives in its own module and registers itself on :data:`app`.
Errors from :mod:`geogrid.errors` become a one-line message on stderr and the exit
code documented in :data:`geogrid.errors.EXIT_CODES`.

Exit codes: 0 ok, 1 other geogrid error, 2 bad input, 3 rows failed validation,
4 unreadable file / encoding / columns / CRS, 5 partition rule could not be met,
6 database unavailable or mod_spatialite missing, 7 not found, 8 conflict,
9 permission denied.
"""

from __future__ import annotations

import importlib
import sys

import typer

from geogrid.errors import ConflictError, DatabaseError, GeogridError, exit_code_for

app = typer.Typer(
    name="geogrid",
    help="Grid governance (网格化管理): register, partition and serve households.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Modules that add commands to ``app``; imported lazily by main() so that
# ``geogrid --help`` stays fast and a broken optional module names itself.
_COMMAND_MODULES = (
    "geogrid.cli.db",
    "geogrid.cli.sample",
    "geogrid.cli.transfer",
    "geogrid.cli.auditlog",
    "geogrid.cli.partition",
    "geogrid.cli.serve",
    "geogrid.cli.users",
    "geogrid.cli.households",
)


@app.callback()
def _root() -> None:
    """Grid governance (网格化管理): register, partition and serve households."""


@app.command()
def version() -> None:
    """Print geogrid's version."""
    from geogrid import __version__

    typer.echo(__version__)


def _register() -> None:
    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency inside the module
                raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``geogrid`` command."""
    _register()
    try:
        app(args=argv, standalone_mode=False)
    except GeogridError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exit_code_for(exc)
    except SystemExit as exc:  # typer/click exits (e.g. --help)
        return int(exc.code or 0)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except Exception as exc:  # usage errors of typer's (vendored) click
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return int(exc.exit_code)
        conflict = _write_conflict(exc)
        if conflict is not None:
            typer.echo(f"error: the database refused the command's writes: they conflict with what was "
                       f"written while it ran ({conflict}), by another import or an edit of the same "
                       "rows at the same time; what it had not committed was rolled back: run the "
                       "command again", err=True)
            return exit_code_for(ConflictError(conflict))
        lost = _database_failure(exc)
        if lost is None:
            raise
        typer.echo(f"error: the database failed while the command ran ({lost}); what it had not "
                   "committed was rolled back: check the database (`geogrid db current`) and run "
                   "the command again", err=True)
        return exit_code_for(DatabaseError(lost))
    return 0


def _write_conflict(exc: BaseException) -> str | None:
    """What ``exc`` says when it is the database refusing a write that breaks a unique or
    foreign key (two imports of the same new households at once on PostgreSQL: the second
    one's rows meet the first one's at its commit), else None: the constraint's name, never
    the driver's DETAIL, which quotes the row's values (register data)."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    orig = exc
    if sa_exc is not None and isinstance(exc, sa_exc.IntegrityError):
        orig = getattr(exc, "orig", None) or exc
    elif not any(m is not None and isinstance(exc, m.IntegrityError)
                 for m in (sys.modules.get("psycopg"), sys.modules.get("sqlite3"))):
        return None  # the bulk writes use the driver's COPY: its errors come unwrapped
    diag = getattr(orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if name:
        return f"constraint {name}"
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return first.split(" DETAIL")[0]


def _database_failure(exc: BaseException) -> str | None:
    """The driver's one-line message when ``exc`` is the database going away or failing
    under a command (a restart, the network, a disk error), else None.  SQLAlchemy's own
    text would quote the statement and its parameters: register data."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None or not isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError
                                        | sa_exc.DisconnectionError):
        return None
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split()) or type(orig).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
