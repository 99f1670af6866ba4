"""Log-in: tokens, failures audited, slowdown, lockout, and the default-secret refusal."""

import pytest

from tests.api.conftest import SECRET, login


def _audit(client, headers, **params):
    r = client.get("/api/v1/audit", params={"limit": 1000, **params}, headers=headers)
    assert r.status_code == 200
    return r.json()["entries"]


def test_login_and_me(client):
    r = login(client, "cadre1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["role"] == "cadre"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "cadre1" and "reveal" in me.json()["permissions"]


def test_bad_password_is_401_and_audited(client, tokens):
    r = login(client, "cadre1", "wrong password")
    assert r.status_code == 401
    assert r.json()["detail"] == "wrong username or password"
    r2 = login(client, "nobody-here", "wrong password")
    assert r2.status_code == 401 and r2.json()["detail"] == r.json()["detail"]  # no user enumeration
    failed = _audit(client, tokens["admin"], action="login", result="failed")
    assert {e["object_id"] for e in failed} == {"cadre1", "nobody-here"}


def test_slowdown_then_lockout(client, app, tokens):
    app.state.throttle.base_delay_s = 30.0  # after 2 free failures the next try must wait
    assert login(client, "planner1", "nope-1").status_code == 401
    assert login(client, "planner1", "nope-2").status_code == 401
    r = login(client, "planner1", "nope-3")
    assert r.status_code == 401
    r = login(client, "planner1")  # even the right password must wait now
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 29
    app.state.throttle.base_delay_s = 0.0
    for i in range(2):
        assert login(client, "planner1", f"again-{i}").status_code == 401
    r = login(client, "planner1")  # 5 failures in a row: locked, right password or not
    assert r.status_code == 423, r.text
    assert "locked" in r.json()["detail"]
    refused = _audit(client, tokens["admin"], action="login", result="refused")
    assert refused and all(e["object_id"] == "planner1" for e in refused)
    # the lock is in the database too: a restarted server (fresh throttle) still refuses
    app.state.throttle.unlock("planner1")
    assert login(client, "planner1").status_code == 423


def test_bad_tokens(client):
    import jwt

    for token in ("garbage", jwt.encode({"sub": "x", "role": "admin", "exp": 1}, SECRET),
                  jwt.encode({"sub": "x", "role": "admin", "exp": 9999999999}, "another-secret-entirely")):
        r = client.get("/api/v1/plans", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401


def test_default_secret_refused_outside_demo(db_url, engine):
    from geogrid.api import create_app
    from geogrid.errors import InputError
    from geogrid.settings import Settings

    with pytest.raises(InputError, match="GEOGRID_SECRET_KEY"):
        create_app(Settings(database_url=db_url), engine=engine)
    create_app(Settings(database_url=db_url, demo=True), engine=engine)  # demo mode may


def test_throttle_unit():
    from geogrid.api.errors import AccountLockedError, ThrottledError
    from geogrid.api.security import LoginThrottle

    now = [0.0]
    t = LoginThrottle(free_failures=1, base_delay_s=1.0, max_failures=4, lockout_s=60, clock=lambda: now[0])
    t.check("u")
    t.failed("u")
    t.check("u")  # one free failure
    t.failed("u")
    with pytest.raises(ThrottledError):
        t.check("u")
    now[0] += 1.01
    t.check("u")
    t.failed("u")  # 3rd: wait 2 s
    now[0] += 1.5
    with pytest.raises(ThrottledError):
        t.check("u")
    now[0] += 0.6
    t.failed("u")  # 4th: locked
    with pytest.raises(AccountLockedError):
        t.check("U")  # case-insensitive
    now[0] += 61
    t.check("u")  # lock expired


def test_a_lock_that_ran_out_starts_a_fresh_count(client, app, engine):
    """After the lockout has passed, one more wrong password is one failure, not a new lock."""
    import datetime as dt

    from sqlalchemy import select, update

    from geogrid.db.engine import session_scope
    from geogrid.db.models import User

    app.state.throttle.base_delay_s = 0.0
    for i in range(5):
        login(client, "planner1", f"nope-{i}")
    assert login(client, "planner1").status_code == 423
    with session_scope(engine) as s:  # the lockout has run out
        s.execute(update(User).where(User.username == "planner1")
                  .values(locked_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    app.state.throttle.unlock("planner1")
    assert login(client, "planner1", "one-more-slip").status_code == 401
    with session_scope(engine) as s:
        user = s.execute(select(User).where(User.username == "planner1")).scalar_one()
        assert user.failed_logins == 1 and user.locked_until is None
    assert login(client, "planner1").status_code == 200


def test_a_secret_shorter_than_hs256_wants_is_refused():
    """GEOGRID_SECRET_KEY of 16 to 31 characters was taken, below the 32 bytes RFC 7518
    asks of an HS256 key: PyJWT then wrote an InsecureKeyLengthWarning into the server's
    log at every log-in and with every new token. 32 bytes are asked for now (what the
    suggested token_urlsafe(32) gives, 43 characters)."""
    import secrets
    import warnings

    from geogrid.api.security import check_secret, decode_token, issue_token
    from geogrid.errors import InputError

    for short in ("NewRotated-Key-9f8e7d6c5b4a3210", "0123456789abcdef"):  # 31 and 16
        with pytest.raises(InputError, match="at least 32") as e:
            check_secret(short, demo=False)
        assert e.value.key == "config.secret_key_short"
    good = secrets.token_urlsafe(32)
    check_secret(good, demo=False)
    check_secret("密钥" * 6, demo=False)  # 36 bytes in UTF-8, 12 characters
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no InsecureKeyLengthWarning
        token, _ = issue_token(good, user_id="u1", username="a", role="admin", password_hash="h", minutes=5)
        assert decode_token(good, token)["sub"] == "u1"
