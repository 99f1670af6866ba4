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
