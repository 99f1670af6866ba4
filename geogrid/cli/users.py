"""``geogrid users``: accounts of the HTTP API.

    geogrid users add USERNAME --role ROLE [--scope AREA_OR_CELL_ID ...] [--password-stdin]
    geogrid users list
    geogrid users set USERNAME [--role ROLE] [--scope ... | --no-scope]
    geogrid users passwd USERNAME [--password-stdin]
    geogrid users unlock USERNAME
    geogrid users demo          # one user per role, printed; only with GEOGRID_DEMO=1

A scope is an area code (county, town or village), a micro-grid or cell id or key, or
an explicit ``area:CODE`` / ``microgrid:KEY`` / ``cell:KEY``.  Without
``--password-stdin`` the password is asked for twice on the terminal.
"""

from __future__ import annotations

import sys

import typer

from geogrid.cli import app

users_app = typer.Typer(name="users", help="Manage API users (roles: admin, planner, cadre, analyst).",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")

ROLES = ("admin", "planner", "cadre", "analyst")


def _engine():
    from geogrid.cli.database import open_engine

    return open_engine()


@users_app.command("add")
def add(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., "--role", help="admin, planner, cadre or analyst."),
    scope: list[str] = typer.Option([], "--scope", help="Area code, micro-grid or cell (repeatable)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
) -> None:
    """Add a user with a role and a scope in the grid tree."""
    from geogrid.api.scope import normalise_scope_entries
    from geogrid.api.security import hash_password
    from geogrid.db.engine import session_scope
    from geogrid.db.users import add_user
    from geogrid.errors import InputError

    if role not in ROLES:
        raise InputError(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    if role in ("cadre", "planner", "analyst") and not scope:
        typer.echo(f"warning: a {role} without --scope sees nothing; add e.g. --scope 431227", err=True)
    hashed = hash_password(_read_password(password_stdin))
    _settings, engine = _engine()
    try:
        with session_scope(engine, write=True) as session:
            scopes = normalise_scope_entries(session, scope)
            add_user(session, username, hashed, role, scopes)
    finally:
        engine.dispose()
    typer.echo(f"added {role} {username}" + (f" with scope {', '.join(scopes)}" if scopes else ""))


@users_app.command("list")
def list_users() -> None:
    """List users with their role, scope and lock state."""
    from geogrid.db.engine import session_scope
    from geogrid.db.users import list_users as _list

    _settings, engine = _engine()
    try:
        with session_scope(engine) as session:
            for u in _list(session):
                locked = f"  locked until {u.locked_until:%Y-%m-%d %H:%M}Z" if u.locked_until else ""
                typer.echo(f"{u.username}\t{u.role}\t{','.join(map(str, u.scopes or [])) or '-'}{locked}")
    finally:
        engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("set")
def set_user(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(None, "--role", help="New role: admin, planner, cadre or analyst."),
    scope: list[str] = typer.Option([], "--scope", help="New scope, replacing the old: area code, "
                                    "micro-grid or cell (repeatable)."),
    no_scope: bool = typer.Option(False, "--no-scope", help="Take every scope away (a cadre, "
                                  "planner or analyst then sees nothing; an admin, everything)."),
) -> None:
    """Change USERNAME's role or scope (a cadre moved to another village, or leaving: --no-scope).
    Takes effect at the account's next request, its tokens included; audit-logged."""
    from geogrid.api.scope import normalise_scope_entries
    from geogrid.cli.database import actor
    from geogrid.db import audit
    from geogrid.db.engine import session_scope
    from geogrid.db.users import get_user
    from geogrid.errors import InputError

    if role is not None and role not in ROLES:
        raise InputError(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    if scope and no_scope:
        raise InputError("give --scope or --no-scope, not both")
    if role is None and not scope and not no_scope:
        raise InputError("nothing to change: give --role, --scope or --no-scope")
    _settings, engine = _engine()
    try:
        with session_scope(engine, write=True) as session:
            user = get_user(session, username)
            before = (user.role, list(user.scopes or []))
            scopes = normalise_scope_entries(session, scope) if scope else ([] if no_scope else before[1])
            user.role, user.scopes = role or user.role, list(scopes)
            audit.append(session, actor(), "user_update", "user", user.id,
                         detail={"username": username, "role": [before[0], user.role],
                                 "scopes": [before[1], list(scopes)]})
            now = (user.role, list(scopes))
    finally:
        engine.dispose()
    typer.echo(f"{username}: {now[0]}, scope {', '.join(now[1]) or 'none'}")
    if now[0] in ("cadre", "planner", "analyst") and not now[1]:
        typer.echo(f"note: a {now[0]} without a scope sees nothing", err=True)


@users_app.command("passwd")
def passwd(
    username: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
) -> None:
    """Set USERNAME's password (and clear failed log-ins and a lock); audit-logged. Every
    token given before is refused from the account's next request (tokens are bound to the
    password), so whoever held one logs in again with the new password."""
    from geogrid.api.security import hash_password
    from geogrid.cli.database import actor
    from geogrid.db import audit
    from geogrid.db.engine import session_scope
    from geogrid.db.users import get_user

    hashed = hash_password(_read_password(password_stdin))
    _settings, engine = _engine()
    try:
        with session_scope(engine, write=True) as session:
            user = get_user(session, username)
            user.password_hash, user.failed_logins, user.locked_until = hashed, 0, None
            audit.append(session, actor(), "user_password", "user", user.id, detail={"username": username})
    finally:
        engine.dispose()
    typer.echo(f"password of {username} changed")


@users_app.command("unlock")
def unlock(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Clear failed log-ins and a lock of USERNAME (restart the server to clear its
    in-memory slowdown, or wait for it to expire)."""
    from geogrid.db.engine import session_scope
    from geogrid.db.users import get_user

    _settings, engine = _engine()
    try:
        with session_scope(engine, write=True) as session:
            user = get_user(session, username)
            user.failed_logins = 0
            user.locked_until = None
    finally:
        engine.dispose()
    typer.echo(f"unlocked {username}")


@users_app.command("demo")
def demo() -> None:
    """Create (or reset) one demo user per role and print their credentials.  Demo mode only."""
    from sqlalchemy import select

    from geogrid.api.security import generate_password, hash_password
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Area, User
    from geogrid.db.users import add_user
    from geogrid.errors import PermissionDeniedError

    settings, engine = _engine()
    if not settings.demo:
        engine.dispose()
        raise PermissionDeniedError("`geogrid users demo` only runs in demo mode: set GEOGRID_DEMO=1")
    lines = []
    try:
        with session_scope(engine, write=True) as session:
            county = session.execute(select(Area.code).where(Area.level == "county")
                                     .order_by(Area.code).limit(1)).scalar() or settings.county_code
            village = session.execute(select(Area.code).where(Area.level == "village")
                                      .order_by(Area.code).limit(1)).scalar()
            wanted = {
                "demo-admin": ("admin", []),
                "demo-planner": ("planner", [f"area:{county}"]),
                "demo-cadre": ("cadre", [f"area:{village}"] if village else [f"area:{county}"]),
                "demo-analyst": ("analyst", [f"area:{county}"]),
            }
            for name, (role, scopes) in wanted.items():
                password = generate_password()
                user = session.execute(select(User).where(User.username == name)).scalar_one_or_none()
                if user is None:
                    add_user(session, name, hash_password(password), role, scopes)
                else:
                    user.password_hash, user.role, user.scopes = hash_password(password), role, scopes
                    user.failed_logins, user.locked_until = 0, None
                lines.append(f"{role:8s} {name:14s} {password}   scope: {', '.join(scopes) or 'all'}")
    finally:
        engine.dispose()
    typer.echo("demo users (role, username, password):")
    for line in lines:
        typer.echo("  " + line)
