"""``geogrid users add`` and ``geogrid users demo``: accounts that really log in, with
the scope they were given, on both back-ends."""

import io
import re
import sys

import pytest

from tests.api.conftest import V1, V2, login


@pytest.fixture
def geogrid(monkeypatch, db_url, world, tmp_path):
    """Run ``geogrid ARGS`` in-process against the test database; returns (code, out, err)."""
    from geogrid.cli import main

    monkeypatch.chdir(tmp_path)  # no stray .env
    for k in ("GEOGRID_DEMO", "GEOGRID_SECRET_KEY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("GEOGRID_DATABASE_URL", db_url)

    def run(*args, stdin: str = "", demo: bool = False):
        if demo:
            monkeypatch.setenv("GEOGRID_DEMO", "1")
        else:
            monkeypatch.delenv("GEOGRID_DEMO", raising=False)
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        try:
            code = main(list(args))
        finally:
            monkeypatch.setattr(sys, "stdout", sys.__stdout__)
            monkeypatch.setattr(sys, "stderr", sys.__stderr__)
        return code, out.getvalue(), err.getvalue()

    return run


def test_users_add_logs_in_with_its_scope(geogrid, client, world):
    code, out, err = geogrid("users", "add", "cadre-v1", "--role", "cadre", "--scope", V1,
                             "--password-stdin", stdin="a long enough secret\n")
    assert code == 0, err
    assert f"area:{V1}" in out
    cell_key = f"{V2}-M01-C02"
    code, out, err = geogrid("users", "add", "cadre-cell", "--role", "cadre", "--scope", cell_key,
                             "--password-stdin", stdin="another long secret\n")
    assert code == 0 and f"cell:{cell_key}" in out, err
    r = login(client, "cadre-v1", "a long enough secret")
    assert r.status_code == 200, r.text
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    seen = {f["id"] for f in client.get("/api/v1/households", headers=h).json()["features"]}
    assert seen == set(world.households[V1])
    r = login(client, "cadre-cell", "another long secret")
    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    seen = {f["id"] for f in client.get("/api/v1/households", headers=h).json()["features"]}
    assert seen == {x for x in world.households[V2] if world.cell_of[x] == cell_key}
    # the hash is argon2id, never the password
    from sqlalchemy import select

    from geogrid.db.engine import make_sessionmaker
    from geogrid.db.models import User

    with make_sessionmaker(client.app.state.engine)() as s:
        stored = s.execute(select(User.password_hash).where(User.username == "cadre-v1")).scalar()
    assert stored.startswith("$argon2id$") and "a long enough secret" not in stored


@pytest.mark.parametrize("args,stdin,code", [
    (("--role", "mayor"), "long enough pw\n", 2),            # unknown role
    (("--role", "cadre", "--scope", "999999"), "long enough pw\n", 7),  # unknown scope
    (("--role", "cadre", "--scope", V1), "short\n", 2),       # password too short
    (("--role", "cadre", "--scope", "bogus:1"), "long enough pw\n", 2),
])
def test_users_add_refuses_bad_input(geogrid, args, stdin, code):
    got, _out, err = geogrid("users", "add", "someone", *args, "--password-stdin", stdin=stdin)
    assert got == code, err
    assert err.startswith("error: ")


def test_users_add_twice_is_a_conflict(geogrid):
    assert geogrid("users", "add", "dup", "--role", "analyst", "--scope", V1, "--password-stdin",
                   stdin="long enough pw\n")[0] == 0
    code, _out, err = geogrid("users", "add", "dup", "--role", "admin", "--password-stdin",
                              stdin="long enough pw\n")
    assert code == 8 and "already exists" in err


def test_users_demo_one_user_per_role_that_logs_in(geogrid, client):
    code, _out, err = geogrid("users", "demo")
    assert code == 9 and "GEOGRID_DEMO=1" in err  # demo users only in demo mode
    code, out, err = geogrid("users", "demo", demo=True)
    assert code == 0, err
    creds = re.findall(r"^\s+(admin|planner|cadre|analyst)\s+(\S+)\s+(\S+)\s+scope:", out, re.M)
    assert sorted(r for r, _u, _p in creds) == ["admin", "analyst", "cadre", "planner"], out
    for role, user, password in creds:
        r = login(client, user, password)
        assert r.status_code == 200 and r.json()["role"] == role, (user, r.text)


def test_an_admin_changes_a_users_password_role_and_scope(geogrid, client, world):
    """Before, `geogrid users` could only add: a cadre who forgot their password, moved to
    another village or left could not be helped short of SQL. `users passwd` sets a new
    password (clearing a lock), `users set` a new role or scope (`--no-scope`: nothing),
    each at once, on record in the audit log (the password never)."""
    assert geogrid("users", "add", "mover", "--role", "cadre", "--scope", V1, "--password-stdin",
                   stdin="first long secret\n")[0] == 0
    token = {"Authorization": f"Bearer {login(client, 'mover', 'first long secret').json()['access_token']}"}

    def seen(h=token):
        return {f["id"] for f in client.get("/api/v1/households", headers=h).json()["features"]}

    assert seen() == set(world.households[V1])
    code, out, err = geogrid("users", "set", "mover", "--scope", V2)
    assert code == 0 and f"area:{V2}" in out, err
    assert seen() == set(world.households[V2])  # the same token, the new scope at once
    code, out, err = geogrid("users", "set", "mover", "--no-scope")
    assert code == 0, err
    assert seen() == set()
    code, out, err = geogrid("users", "set", "mover", "--role", "planner", "--scope", V1)
    assert code == 0 and "planner" in out, err
    assert login(client, "mover", "first long secret").json()["role"] == "planner"

    code, out, err = geogrid("users", "passwd", "mover", "--password-stdin", stdin="second long secret\n")
    assert code == 0, err
    assert login(client, "mover", "first long secret").status_code == 401
    assert login(client, "mover", "second long secret").status_code == 200

    assert geogrid("users", "passwd", "nobody", "--password-stdin", stdin="long enough pw\n")[0] == 7
    assert geogrid("users", "passwd", "mover", "--password-stdin", stdin="short\n")[0] == 2
    assert geogrid("users", "set", "nobody", "--role", "admin")[0] == 7
    assert geogrid("users", "set", "mover", "--role", "mayor")[0] == 2
    assert geogrid("users", "set", "mover", "--scope", "999999")[0] == 7
    assert geogrid("users", "set", "mover", "--scope", V1, "--no-scope")[0] == 2
    assert geogrid("users", "set", "mover")[0] == 2  # nothing to change

    from geogrid.db import audit
    from geogrid.db.engine import make_sessionmaker

    with make_sessionmaker(client.app.state.engine)() as s:
        rows = [(e.action, e.actor.startswith("cli"), e.detail) for e in reversed(audit.entries(s, object_type="user"))
                if e.action.startswith("user_")]
    assert [a for a, _cli, _d in rows] == ["user_update"] * 3 + ["user_password"]
    assert all(cli for _a, cli, _d in rows)
    assert rows[0][2] == {"username": "mover", "role": ["cadre", "cadre"], "scopes": [[f"area:{V1}"], [f"area:{V2}"]]}
    assert "secret" not in str(rows)
