"""The access matrix: every role x endpoint x in-scope / out-of-scope object.

Out of scope is always 404 (existence does not leak); a role that may never do
something gets 403 whatever the object.
"""

import pytest

from tests.api.conftest import V1, V2

PURPOSE = {"purpose": "回访核实独居老人情况"}


def _objects(world):
    h1 = world.households[V1][0]
    v2_west = [h for h in world.households[V2] if world.cell_of[h].endswith("C01")]
    v2_east = [h for h in world.households[V2] if world.cell_of[h].endswith("C02")]
    p_v1 = world.persons[V1][0]
    # persons are added two per household, in order
    p_v2_east = world.persons[V2][world.households[V2].index(v2_east[0]) * 2]
    p_v2_west = world.persons[V2][world.households[V2].index(v2_west[0]) * 2]
    return {
        "h_v1": h1, "h_v2w": v2_west[0], "h_v2e": v2_east[0],
        "p_v1": p_v1, "p_v2w": p_v2_west, "p_v2e": p_v2_east,
        "mg_v1": world.microgrids[f"{V1}-M01"], "mg_v2": world.microgrids[f"{V2}-M01"],
        "c_v1": world.cells[f"{V1}-M01-C01"], "c_v2w": world.cells[f"{V2}-M01-C01"],
        "c_v2e": world.cells[f"{V2}-M01-C02"],
    }


# (name, method, path template, object key) -> expected status per role
ENDPOINTS = [
    ("household", "GET", "/api/v1/households/{h}", ("h_v1", "h_v2w", "h_v2e")),
    ("households_in_cell", "GET", "/api/v1/households?cell={c}", ("c_v1", "c_v2w", "c_v2e")),
    ("person", "GET", "/api/v1/persons/{p}", ("p_v1", "p_v2w", "p_v2e")),
    ("reveal", "POST", "/api/v1/persons/{p}/reveal", ("p_v1", "p_v2w", "p_v2e")),
    ("microgrid", "GET", "/api/v1/microgrids/{mg}", ("mg_v1", "mg_v2", "mg_v2")),
    ("cell", "GET", "/api/v1/cells/{c}", ("c_v1", "c_v2w", "c_v2e")),
    ("area", "GET", "/api/v1/areas/{a}", (V1, V2, V2)),
]

# role -> endpoint -> (status for the V1 object, V2-west object, V2-east object)
EXPECTED = {
    "admin": {e[0]: (200, 200, 200) for e in ENDPOINTS},
    "planner": {"household": (200, 200, 200), "households_in_cell": (200, 200, 200),
                "person": (403, 403, 403), "reveal": (403, 403, 403),
                "microgrid": (200, 200, 200), "cell": (200, 200, 200), "area": (200, 200, 200)},
    "planner1": {"household": (200, 404, 404), "households_in_cell": (200, 404, 404),
                 "person": (403, 403, 403), "reveal": (403, 403, 403),
                 "microgrid": (200, 404, 404), "cell": (200, 404, 404), "area": (200, 404, 404)},
    "cadre1": {"household": (200, 404, 404), "households_in_cell": (200, 404, 404),
               "person": (200, 404, 404), "reveal": (200, 404, 404),
               "microgrid": (200, 404, 404), "cell": (200, 404, 404), "area": (200, 404, 404)},
    "cadre2c": {"household": (404, 404, 200), "households_in_cell": (404, 404, 200),
                "person": (404, 404, 200), "reveal": (404, 404, 200),
                "microgrid": (404, 200, 200), "cell": (404, 404, 200), "area": (404, 404, 404)},
    "analyst": {"household": (403, 403, 403), "households_in_cell": (403, 403, 403),
                "person": (403, 403, 403), "reveal": (403, 403, 403),
                "microgrid": (200, 200, 200), "cell": (200, 200, 200), "area": (200, 200, 200)},
}


def test_access_matrix(client, tokens, world):
    objs = _objects(world)
    wrong = []
    for role, table in EXPECTED.items():
        for name, method, template, keys in ENDPOINTS:
            for key, expected in zip(keys, table[name]):
                value = objs.get(key, key)
                path = template.format(h=value, c=value, p=value, mg=value, a=value)
                r = client.request(method, path, headers=tokens[role],
                                   json=PURPOSE if method == "POST" else None)
                if r.status_code != expected:
                    wrong.append(f"{role} {method} {path} ({key}): {r.status_code} != {expected}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("role,status", [("admin", 200), ("planner", 403), ("cadre1", 403),
                                         ("cadre2c", 403), ("analyst", 403)])
def test_audit_is_admin_only(client, tokens, role, status):
    assert client.get("/api/v1/audit", headers=tokens[role]).status_code == status


def test_anonymous_is_401_everywhere(client, world):
    objs = _objects(world)
    for path in ("/api/v1/households", f"/api/v1/households/{objs['h_v1']}",
                 f"/api/v1/persons/{objs['p_v1']}", "/api/v1/areas", "/api/v1/plans",
                 "/api/v1/audit", "/api/v1/households/aggregate", "/api/v1/search?q=1234"):
        r = client.get(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"


def test_lists_are_scoped(client, tokens, world):
    seen = {}
    for role in ("admin", "cadre1", "cadre2c", "planner1"):
        r = client.get("/api/v1/households?limit=100", headers=tokens[role])
        assert r.status_code == 200
        body = r.json()
        seen[role] = {f["id"] for f in body["features"]}
        assert body["numberMatched"] == len(seen[role]) == body["numberReturned"]
    assert seen["admin"] == set(world.households[V1]) | set(world.households[V2])
    assert seen["cadre1"] == seen["planner1"] == set(world.households[V1])
    assert seen["cadre2c"] == {h for h in world.households[V2] if world.cell_of[h].endswith("C02")}
    cells = client.get("/api/v1/cells", headers=tokens["cadre1"]).json()
    assert {f["properties"]["cell_key"] for f in cells["features"]} == {f"{V1}-M01-C01", f"{V1}-M01-C02"}
    agg = client.get("/api/v1/households/aggregate?resolution=9", headers=tokens["cadre1"]).json()
    assert sum(f["properties"]["households"] for f in agg["features"]) == 6
    agg = client.get("/api/v1/households/aggregate?resolution=9", headers=tokens["cadre2c"]).json()
    assert sum(f["properties"]["households"] for f in agg["features"]) == 3


def test_search_is_scoped(client, tokens, world):
    r = client.get("/api/v1/search", params={"q": "二村"}, headers=tokens["cadre1"])
    assert r.status_code == 200 and r.json()["hits"] == []
    r = client.get("/api/v1/search", params={"q": "一村"}, headers=tokens["cadre1"])
    assert len(r.json()["hits"]) == 6
    tail = world.id_numbers[-1][-4:]  # a V2 resident
    r = client.get("/api/v1/search", params={"q": tail}, headers=tokens["cadre1"])
    assert r.json()["hits"] == []
    r = client.get("/api/v1/search", params={"q": tail}, headers=tokens["admin"])
    assert r.json()["kind"] == "id_tail" and len(r.json()["hits"]) >= 1
    r = client.get("/api/v1/search", params={"q": tail}, headers=tokens["planner"])
    assert r.status_code == 403


def test_planner_edits_only_in_scope(client, tokens, world):
    r = client.post("/api/v1/plans", json={"name": "draft"}, headers=tokens["planner"])
    assert r.status_code == 201, r.text
    plan = r.json()
    cells = client.get(f"/api/v1/cells?plan={plan['id']}", headers=tokens["admin"]).json()["features"]
    by_key = {f["properties"]["cell_key"]: f["id"] for f in cells}
    etag = client.get(f"/api/v1/plans/{plan['id']}", headers=tokens["planner1"]).headers["etag"]
    r = client.post(f"/api/v1/plans/{plan['id']}/cells/{by_key[f'{V2}-M01-C01']}/lock",
                    headers={**tokens["planner1"], "If-Match": etag})
    assert r.status_code == 404
    r = client.post(f"/api/v1/plans/{plan['id']}/cells/{by_key[f'{V1}-M01-C01']}/lock",
                    headers={**tokens["planner1"], "If-Match": etag})
    assert r.status_code == 200, r.text
    for role in ("cadre1", "analyst"):
        r = client.post(f"/api/v1/plans/{plan['id']}/cells/{by_key[f'{V1}-M01-C01']}/unlock",
                        headers={**tokens[role], "If-Match": r.headers.get("etag", etag)})
        assert r.status_code in (403, 404)  # cadres and analysts do not see drafts at all


# --- plan editing and the remaining reads: role x operation x in-scope (V1) / out-of-scope (V2)
EDIT_ROLES = {  # role -> (status on the V1 object, status on the V2 object)
    "admin": (200, 200), "planner": (200, 200), "planner1": (200, 404),
    "cadre1": (403, 403), "cadre2c": (403, 403), "analyst": (403, 403),
}


def _draft(client, tokens):
    plan = client.post("/api/v1/plans", json={"name": "matrix"}, headers=tokens["admin"]).json()
    cells = client.get(f"/api/v1/cells?plan={plan['id']}", headers=tokens["admin"]).json()["features"]
    mgs = client.get(f"/api/v1/microgrids?plan={plan['id']}", headers=tokens["admin"]).json()["features"]
    plan["cells"] = {f["properties"]["cell_key"]: f["id"] for f in cells}
    plan["mgs"] = {f["properties"]["microgrid_key"]: f["id"] for f in mgs}
    return plan


def _edits(draft, world, village):
    """(name, method, path, body) of every edit, aimed at ``village``'s objects."""
    from tests.api.conftest import D, X0, Y0

    pid = draft["id"]
    c1, c2 = draft["cells"][f"{village}-M01-C01"], draft["cells"][f"{village}-M01-C02"]
    mg = draft["mgs"][f"{village}-M01"]
    west = [h for h in world.households[village] if world.cell_of[h].endswith("C01")]
    x0 = X0 + (0 if village == V1 else D)
    ring = [[x0, Y0], [x0 + D, Y0], [x0 + D, Y0 + D], [x0, Y0 + D], [x0, Y0]]  # the village itself
    return [
        ("lock", "POST", f"/api/v1/plans/{pid}/cells/{c1}/lock", None),
        ("unlock", "POST", f"/api/v1/plans/{pid}/cells/{c1}/unlock", None),
        ("move", "PATCH", f"/api/v1/plans/{pid}/assignments",
         {"moves": [{"household_id": west[0], "cell_id": c2}]}),
        ("boundary", "PUT", f"/api/v1/plans/{pid}/microgrids/{mg}/geometry",
         {"geometry": {"type": "Polygon", "coordinates": [ring]}}),
        ("split", "POST", f"/api/v1/plans/{pid}/cells/{c1}/split", {"household_ids": [west[1]]}),
        ("merge", "POST", f"/api/v1/plans/{pid}/cells/merge", {"cells": [c1, c2]}),
        ("repartition", "POST", f"/api/v1/plans/{pid}/repartition", {"microgrids": [mg]}),
    ]


def _edit_matrix(client, tokens, world, send) -> list[str]:
    """Every edit of :func:`_edits` by every role on V1 and V2 objects, sent by
    ``send(role, draft, name, method, path, body, etag)``: the status each role must get,
    and a refusal must leave the ETag alone."""
    wrong = []
    for role, expected in EDIT_ROLES.items():
        draft = _draft(client, tokens)
        for village, want in zip((V1, V2), expected):
            for name, method, path, body in _edits(draft, world, village):
                etag = client.get(f"/api/v1/plans/{draft['id']}", headers=tokens["admin"]).headers["etag"]
                r = send(role, draft, name, method, path, body, etag)
                if r.status_code != want:
                    wrong.append(f"{role} {name} {village}: {r.status_code} != {want} {r.text[:200]}")
                after = client.get(f"/api/v1/plans/{draft['id']}", headers=tokens["admin"]).headers["etag"]
                if (after != etag) != (r.status_code == 200):  # refusals change nothing
                    wrong.append(f"{role} {name} {village}: ETag {etag} -> {after} on {r.status_code}")
    return wrong


def test_edit_access_matrix(client, tokens, world):
    pytest.importorskip("geogrid.partition")

    def send(role, draft, name, method, path, body, etag):
        return client.request(method, path, json=body, headers={**tokens[role], "If-Match": etag})

    wrong = _edit_matrix(client, tokens, world, send)
    assert wrong == [], "\n".join(wrong)


def _as_batch(name, path, body) -> dict:
    """The edit (name, path, body) of :func:`_edits` as an operation of POST .../edits."""
    parts = path.split("/")
    if name in ("lock", "unlock", "split"):
        return {"op": name, "cell_id": parts[-2], **(body or {})}
    if name == "boundary":
        return {"op": name, "microgrid_id": parts[-2], **body}
    return {"op": name, **body}


def test_batch_edit_access_matrix(client, tokens, world):
    """Each edit sent as a one-operation batch answers as the single edit does."""
    pytest.importorskip("geogrid.partition")

    def send(role, draft, name, method, path, body, etag):
        return client.post(f"/api/v1/plans/{draft['id']}/edits",
                           json={"edits": [_as_batch(name, path, body)]},
                           headers={**tokens[role], "If-Match": etag})

    wrong = _edit_matrix(client, tokens, world, send)
    assert wrong == [], "\n".join(wrong)


def test_read_access_matrix(client, tokens, world):
    """Plans (published and draft), validation, diff, search and the aggregate, per role."""
    draft = _draft(client, tokens)
    pub, d = world.plan_id, draft["id"]
    everyone = dict.fromkeys(EDIT_ROLES, 200)
    planners_only = {r: (200 if r in ("admin", "planner", "planner1") else 404) for r in EDIT_ROLES}
    persons = {r: (200 if r in ("admin", "cadre1", "cadre2c") else 403) for r in EDIT_ROLES}
    households = {r: (403 if r == "analyst" else 200) for r in EDIT_ROLES}
    cases = [
        (f"/api/v1/plans/{pub}", everyone),
        (f"/api/v1/plans/{pub}/validation", everyone),
        (f"/api/v1/plans/{d}", planners_only),
        (f"/api/v1/plans/{d}/validation", planners_only),
        (f"/api/v1/plans/{pub}/diff/{d}", planners_only),
        ("/api/v1/households/aggregate?resolution=8", everyone),
        ("/api/v1/search?q=一村1组", households),  # an address
        ("/api/v1/search?q=欧阳", persons),  # a name
        (f"/api/v1/search?q={world.id_numbers[0][-4:]}", persons),  # an ID tail
    ]
    wrong = []
    for path, table in cases:
        for role, want in table.items():
            got = client.get(path, headers=tokens[role]).status_code
            if got != want:
                wrong.append(f"{role} GET {path}: {got} != {want}")
    assert wrong == [], "\n".join(wrong)
    # what an analyst gets never carries a personal field
    body = client.get("/api/v1/households/aggregate?resolution=8", headers=tokens["analyst"]).text
    assert "head_name" not in body and "residents" not in body and "address" not in body
