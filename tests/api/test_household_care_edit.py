"""A cadre changes a household's care level (放心户/关心户/连心户) from the house they
read, and a concurrent change is never written over."""

from __future__ import annotations

from tests.api.conftest import V1, V2


def _house(client, tokens, hid, who="cadre1"):
    r = client.get(f"/api/v1/households/{hid}", headers=tokens[who])
    assert r.status_code == 200, r.text
    return r.json()["properties"], r.headers["etag"]


def test_a_cadre_changes_a_households_care_level_with_its_etag(client, tokens, world):
    """There was no way to change it: a cadre who found a 放心户 in trouble could not make
    it a 关心户 (the register only, by a county's re-import)."""
    hid = world.households[V1][0]
    props, etag = _house(client, tokens, hid)
    assert props["care_level"] == "green"
    r = client.patch(f"/api/v1/households/{hid}", json={"care_level": "yellow"},
                     headers={**tokens["cadre1"], "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["care_level"] == "yellow" and r.headers["etag"] != etag
    props, etag2 = _house(client, tokens, hid)
    assert props["care_level"] == "yellow" and etag2 == r.headers["etag"]
    # on the map's houses too
    fc = client.get("/api/v1/households", params={"village": V1}, headers=tokens["cadre1"]).json()
    assert {f["id"]: f["properties"]["care_level"] for f in fc["features"]}[hid] == "yellow"
    # audited, with the level before and after
    rows = client.get("/api/v1/audit", params={"action": "edit", "actor": "cadre1"},
                      headers=tokens["admin"]).json()
    rows = rows.get("entries") or rows.get("items") or rows
    assert any(e["object_id"] == hid and e["detail"]["care_level"] == ["green", "yellow"] for e in rows), rows


def test_a_care_level_changed_by_another_since_is_not_written_over(client, tokens, world):
    hid = world.households[V1][1]
    _, etag = _house(client, tokens, hid)
    _, etag_admin = _house(client, tokens, hid, "admin")
    r = client.patch(f"/api/v1/households/{hid}", json={"care_level": "red"},
                     headers={**tokens["admin"], "If-Match": etag_admin})
    assert r.status_code == 200, r.text
    r = client.patch(f"/api/v1/households/{hid}", json={"care_level": "green"},
                     headers={**tokens["cadre1"], "If-Match": etag})
    assert r.status_code == 412 and r.json()["message"]["key"] == "household.stale", r.text
    assert _house(client, tokens, hid)[0]["care_level"] == "red"
    # no If-Match: 428, nothing written
    r = client.patch(f"/api/v1/households/{hid}", json={"care_level": "green"}, headers=tokens["cadre1"])
    assert r.status_code == 428 and r.json()["message"]["key"] == "household.if_match_missing", r.text
    r = client.patch(f"/api/v1/households/{hid}", json={"care_level": "blue"},
                     headers={**tokens["cadre1"], "If-Match": etag})
    assert r.status_code in (400, 422)
    assert _house(client, tokens, hid)[0]["care_level"] == "red"


def test_only_a_cadre_of_the_household_may_change_it(client, tokens, world):
    outside = world.households[V2][0]  # V2's west cell: neither cadre1's village nor cadre2c's cell
    _, etag = _house(client, tokens, outside, "admin")
    for who in ("cadre1", "cadre2c"):
        r = client.patch(f"/api/v1/households/{outside}", json={"care_level": "red"},
                         headers={**tokens[who], "If-Match": etag})
        assert r.status_code == 404, (who, r.text)
    for who in ("planner", "analyst"):
        r = client.patch(f"/api/v1/households/{outside}", json={"care_level": "red"},
                         headers={**tokens[who], "If-Match": etag})
        assert r.status_code == 403, (who, r.text)
    assert _house(client, tokens, outside, "admin")[0]["care_level"] == "green"
    me = client.get("/api/v1/auth/me", headers=tokens["cadre1"]).json()
    assert "edit_households" in me["permissions"]
