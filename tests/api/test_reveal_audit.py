"""Reveal: role-gated, scoped, needs a purpose, rate-limited, and every one audited."""

from tests.api.conftest import V1, V2


def _audit(client, tokens, **params):
    return client.get("/api/v1/audit", params={"limit": 1000, **params},
                      headers=tokens["admin"]).json()["entries"]


def test_every_reveal_is_audited(client, tokens, world):
    attempts = [
        ("cadre1", world.persons[V1][0], 200),
        ("cadre1", world.persons[V1][1], 200),
        ("cadre1", world.persons[V2][0], 404),  # out of scope
        ("analyst", world.persons[V1][0], 403),  # role may not
        ("planner", world.persons[V1][0], 403),
        ("admin", world.persons[V2][3], 200),
    ]
    for user, pid, status in attempts:
        r = client.post(f"/api/v1/persons/{pid}/reveal", json={"purpose": f"回访 {user}"},
                        headers=tokens[user])
        assert r.status_code == status, (user, r.text)
    entries = _audit(client, tokens, action="reveal")
    got = sorted((e["actor"], e["object_id"], e["result"], e["purpose"]) for e in entries)
    want = sorted((u, pid, {200: "ok", 404: "not_found", 403: "denied"}[s], f"回访 {u}")
                  for u, pid, s in attempts)
    assert got == want
    ok = [e for e in entries if e["result"] == "ok"]
    assert all(e["detail"]["fields"] == ["name", "id_number", "phone", "birth_date"] for e in ok)


def test_reveal_needs_a_purpose_and_known_fields(client, tokens, world):
    pid = world.persons[V1][0]
    for body in ({}, {"purpose": ""}, {"purpose": "ab"}, {"purpose": "核实身份信息", "fields": ["salary"]},
                 {"purpose": "核实身份信息", "extra": 1}):
        r = client.post(f"/api/v1/persons/{pid}/reveal", json=body, headers=tokens["cadre1"])
        assert r.status_code == 422, body
    r = client.post(f"/api/v1/persons/{pid}/reveal", json={"purpose": "核实电话", "fields": ["phone"]},
                    headers=tokens["cadre1"])
    assert r.status_code == 200
    body = r.json()
    assert body["phone"] in world.phones and body["id_number"].startswith("*")
    assert len(_audit(client, tokens, action="reveal")) == 1  # refused bodies never reached it


def test_reveal_is_rate_limited_and_the_refusal_audited(client, app, tokens, world):
    from geogrid.api.ratelimit import RateLimiter

    app.state.reveal_limiter = RateLimiter(2, 3600)
    pid = world.persons[V1][0]
    codes = [client.post(f"/api/v1/persons/{pid}/reveal", json={"purpose": "核实身份"},
                         headers=tokens["cadre1"]).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    results = sorted(e["result"] for e in _audit(client, tokens, action="reveal"))
    assert results == ["ok", "ok", "throttled"]


def test_personal_reads_are_audited(client, tokens, world):
    h = world.households[V1][0]
    p = world.persons[V1][0]
    client.get(f"/api/v1/households/{h}", headers=tokens["cadre1"])
    client.get(f"/api/v1/persons/{p}", headers=tokens["cadre1"])
    client.get("/api/v1/households", headers=tokens["cadre1"])
    client.get("/api/v1/search", params={"q": "欧阳"}, headers=tokens["cadre1"])
    entries = _audit(client, tokens, actor="cadre1")
    kinds = {(e["action"], e["object_type"], e["object_id"]) for e in entries}
    assert ("read", "household", h) in kinds and ("read", "person", p) in kinds
    assert ("list", "household", None) in kinds and ("search", "name", None) in kinds


def test_audit_log_cannot_be_edited(client, tokens, engine):
    import pytest
    from sqlalchemy import text

    client.get("/api/v1/households", headers=tokens["cadre1"])
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        r = client.request(method, "/api/v1/audit", headers=tokens["admin"], json={})
        assert r.status_code == 405
    with pytest.raises(Exception):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
    r = client.get("/api/v1/audit", params={"actor": "cadre1"}, headers=tokens["admin"])
    assert r.json()["numberMatched"] >= 1


def test_refused_personal_reads_are_audited(client, tokens, world):
    """A cadre opening a house or person outside their scope gets 404 (its existence does
    not leak) and an analyst asking for a person 403; both attempts are on record."""
    h2 = world.households[V2][0]
    p2 = world.persons[V2][0]
    assert client.get(f"/api/v1/households/{h2}", headers=tokens["cadre1"]).status_code == 404
    assert client.get(f"/api/v1/persons/{p2}", headers=tokens["cadre1"]).status_code == 404
    assert client.get(f"/api/v1/persons/{p2}", headers=tokens["analyst"]).status_code == 403
    got = {(e["actor"], e["action"], e["object_type"], e["object_id"], e["result"])
           for who in ("cadre1", "analyst") for e in _audit(client, tokens, actor=who)}
    assert ("cadre1", "read", "household", h2, "not_found") in got
    assert ("cadre1", "read", "person", p2, "not_found") in got
    assert ("analyst", "read", "person", p2, "denied") in got
