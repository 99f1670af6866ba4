"""A new password refuses the tokens given before it, at once, on both back-ends.

Tokens live up to GEOGRID_API_TOKEN_MINUTES (8 h): a password reset because it leaked
(`geogrid users passwd`) left whoever held a token reading residents until it expired.
Each token now carries a short keyed digest of the account's password hash (``pwd``),
compared with the hash stored now on every request, the hot reads included.
"""

from __future__ import annotations

import base64
import json

from tests.api.conftest import PASSWORD, V1, login
from tests.api.test_users_cli import geogrid  # noqa: F401  (the fixture)


def _bearer(r) -> dict:
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _claims(headers) -> dict:
    payload = headers["Authorization"].split()[1].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _reads(client, headers, hid) -> list[int]:
    """What a token gets from a route with the usual dependencies and from the two hot
    reads (deps.request_context)."""
    return [client.get(path, headers=headers).status_code
            for path in ("/api/v1/auth/me", "/api/v1/households", f"/api/v1/households/{hid}")]


def test_a_new_password_refuses_the_tokens_given_before(geogrid, client, world, engine):  # noqa: F811
    from sqlalchemy import select

    from geogrid.db.models import User

    assert geogrid("users", "add", "leaky", "--role", "cadre", "--scope", V1, "--password-stdin",
                   stdin="first long secret\n")[0] == 0
    hid = world.households[V1][0]
    old = _bearer(login(client, "leaky", "first long secret"))
    other = _bearer(login(client, "cadre1", PASSWORD))
    assert _reads(client, old, hid) == [200, 200, 200]
    # the token says nothing of the hash it is bound to
    with engine.connect() as conn:
        stored = conn.execute(select(User.password_hash).where(User.username == "leaky")).scalar_one()
    pwd = _claims(old)["pwd"]
    assert len(pwd) == 16 and pwd not in stored and stored.split("$")[-1] not in json.dumps(_claims(old))

    code, _out, err = geogrid("users", "passwd", "leaky", "--password-stdin", stdin="second long secret\n")
    assert code == 0, err
    assert _reads(client, old, hid) == [401, 401, 401]
    r = client.get(f"/api/v1/households/{hid}", headers=old)
    assert r.json()["message"]["key"] == "auth.password_changed"
    assert r.headers["WWW-Authenticate"] == "Bearer" and V1 not in r.text
    new = _bearer(login(client, "leaky", "second long secret"))
    assert _reads(client, new, hid) == [200, 200, 200]
    assert _reads(client, other, hid) == [200, 200, 200]  # another account's token is untouched

    # the same password set again is a new hash (a new salt): the tokens before it go too
    assert geogrid("users", "passwd", "leaky", "--password-stdin", stdin="second long secret\n")[0] == 0
    assert _reads(client, new, hid) == [401, 401, 401]


def test_a_token_bound_to_no_password_is_refused(client, world, engine):
    """A token without the claim (given before tokens were bound to the password), or
    with another account's, is refused: its holder logs in again."""
    import jwt
    from sqlalchemy import select

    from geogrid.api.security import issue_token
    from geogrid.db.models import User
    from tests.api.conftest import SECRET

    with engine.connect() as conn:
        users = dict(conn.execute(select(User.username, User.id)).all())
    hid = world.households[V1][0]
    claims = {"sub": users["cadre1"], "name": "cadre1", "role": "cadre", "exp": 4_000_000_000}
    bare = {"Authorization": "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")}
    assert _reads(client, bare, hid) == [401, 401, 401]
    token, _ = issue_token(SECRET, user_id=users["cadre1"], username="cadre1", role="cadre",
                           password_hash="$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$c29tZWhhc2g", minutes=5)
    assert _reads(client, {"Authorization": f"Bearer {token}"}, hid) == [401, 401, 401]
