"""A cadre corrects a resident's phone, relation to the head and party membership from
the resident they read: answered masked, audited, never written over another's change."""

from __future__ import annotations

from tests.api.conftest import V1, V2


def _person(client, tokens, pid, who="cadre1"):
    r = client.get(f"/api/v1/persons/{pid}", headers=tokens[who])
    assert r.status_code == 200, r.text
    return r.json(), r.headers["etag"]


def test_a_cadre_corrects_a_residents_phone_and_party_membership(client, tokens, world):
    """There was no way to: a resident's new phone number, or one who joined the Party,
    waited for the county's next re-import."""
    pid = world.persons[V1][1]  # a spouse: not a party member
    before, etag = _person(client, tokens, pid)
    assert before["party_member"] is False
    r = client.patch(f"/api/v1/persons/{pid}", json={"phone": "139-0745-1234", "party_member": True,
                                                     "relation": "妻"},
                     headers={**tokens["cadre1"], "If-Match": etag})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["phone"] == "139****1234" and out["masked"] is True and "13907451234" not in r.text
    assert out["party_member"] is True and out["relation"] == "妻" and r.headers["etag"] != etag
    after, _ = _person(client, tokens, pid)
    assert (after["phone"], after["party_member"], after["relation"]) == ("139****1234", True, "妻")
    full = client.post(f"/api/v1/persons/{pid}/reveal", json={"purpose": "核对新电话", "fields": ["phone"]},
                       headers=tokens["cadre1"]).json()
    assert full["phone"] == "13907451234"
    rows = client.get("/api/v1/audit", params={"action": "edit", "actor": "cadre1"},
                      headers=tokens["admin"]).json()
    rows = rows.get("entries") or rows.get("items") or rows
    entry = next(e for e in rows if e["object_id"] == pid)
    assert entry["object_type"] == "person" and entry["detail"]["phone"] == "139****1234"
    assert "13907451234" not in str(entry)


def test_a_residents_edit_is_refused_when_stale_unmatched_or_not_a_phone(client, tokens, world):
    pid = world.persons[V1][2]
    _, etag = _person(client, tokens, pid)
    _, etag_admin = _person(client, tokens, pid, "admin")
    r = client.patch(f"/api/v1/persons/{pid}", json={"phone": "13800000001"},
                     headers={**tokens["admin"], "If-Match": etag_admin})
    assert r.status_code == 200, r.text
    r = client.patch(f"/api/v1/persons/{pid}", json={"phone": "13800000002"},
                     headers={**tokens["cadre1"], "If-Match": etag})
    assert r.status_code == 412 and r.json()["message"]["key"] == "person.stale", r.text
    r = client.patch(f"/api/v1/persons/{pid}", json={"phone": "13800000002"}, headers=tokens["cadre1"])
    assert r.status_code == 428 and r.json()["message"]["key"] == "person.if_match_missing", r.text
    _, etag = _person(client, tokens, pid)
    r = client.patch(f"/api/v1/persons/{pid}", json={"phone": "1234"},
                     headers={**tokens["cadre1"], "If-Match": etag})
    assert r.status_code == 422 and r.json()["message"]["key"] == "person.phone_invalid", r.text
    full = client.post(f"/api/v1/persons/{pid}/reveal", json={"purpose": "核对电话", "fields": ["phone"]},
                       headers=tokens["admin"]).json()
    assert full["phone"] == "13800000001"


def test_only_a_cadre_of_the_residents_household_may_edit_them(client, tokens, world):
    outside = world.persons[V2][0]  # V2's west cell
    _, etag = _person(client, tokens, outside, "admin")
    for who in ("cadre1", "cadre2c"):
        r = client.patch(f"/api/v1/persons/{outside}", json={"party_member": False},
                         headers={**tokens[who], "If-Match": etag})
        assert r.status_code == 404, (who, r.text)
    for who in ("planner", "analyst"):
        r = client.patch(f"/api/v1/persons/{outside}", json={"party_member": False},
                         headers={**tokens[who], "If-Match": etag})
        assert r.status_code == 403, (who, r.text)
    assert _person(client, tokens, outside, "admin")[0]["party_member"] is True
