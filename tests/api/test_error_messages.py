"""The refusals users meet most carry a message key and its params (the error body's
``message``), next to the unchanged English ``detail``, so that the web map words them
in its user's language: publishing a draft that breaks rules, a stale If-Match, moves
into or out of a locked cell, splits and merges refused, a re-run that would leave
households in no cell, an issue action its state does not allow, photos too large or of
the wrong type, log-in failures and lockouts, a reveal refused."""

from __future__ import annotations

import pytest

from tests.api.conftest import V1, V2, if_match as _h, login
from tests.issues.conftest import clock, iclient, issue_app, itokens, iworld, png_bytes, point  # noqa: F401

API = "/api/v1"


def _message(r, status: int, key: str) -> dict:
    """The refusal's params, after checking its status, its key and that the English
    detail and the class code are still there."""
    body = r.json()
    assert r.status_code == status, r.text
    assert isinstance(body["detail"], str) and body["detail"] and body["code"], body
    assert body["message"]["key"] == key, body
    return body["message"]["params"]


def _members(client, tokens, cell_id):
    r = client.get(f"{API}/households", params={"cell": cell_id}, headers=tokens["admin"])
    return sorted(f["id"] for f in r.json()["features"])


# --- plans --------------------------------------------------------------------------------
def test_a_refused_publish_names_the_plan_and_the_number_of_broken_rules(client, tokens, draft):
    pid, etag = draft["id"], draft["etag"]
    c1, c2 = draft["cells"][f"{V1}-M01-C01"], draft["cells"][f"{V1}-M01-C02"]
    moves = [{"household_id": h, "cell_id": c1} for h in _members(client, tokens, c2)]
    r = client.patch(f"{API}/plans/{pid}/assignments", json={"moves": moves}, headers=_h(tokens, etag))
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/plans/{pid}/publish", headers=_h(tokens, r.headers["etag"]))
    params = _message(r, 422, "plan.publish_has_errors")
    assert params == {"plan": pid, "n": len(r.json()["errors"])} and params["n"] >= 1
    assert r.json()["detail"].startswith(f"plan {pid} breaks ")  # the English as it was


def test_a_stale_if_match_is_keyed_on_every_edit_route(client, tokens, draft, world):
    pid, etag = draft["id"], draft["etag"]
    c1, c2 = draft["cells"][f"{V1}-M01-C01"], draft["cells"][f"{V1}-M01-C02"]
    r = client.post(f"{API}/plans/{pid}/cells/{c1}/lock", headers=_h(tokens, etag))
    assert r.status_code == 200
    move = {"moves": [{"household_id": world.households[V1][0], "cell_id": c2}]}
    for r in (client.patch(f"{API}/plans/{pid}/assignments", json=move, headers=_h(tokens, etag)),
              client.post(f"{API}/plans/{pid}/edits", json={"edits": [{"op": "move", **move}]},
                          headers=_h(tokens, etag)),
              client.post(f"{API}/plans/{pid}/publish", headers=_h(tokens, etag))):
        assert _message(r, 412, "plan.stale") == {"plan": pid}
        assert "someone else" in r.json()["detail"]
    # an ETag of another object (or of no version) names this plan too
    r = client.post(f"{API}/plans/{pid}/cells/{c1}/unlock", headers=_h(tokens, '"nothing-1"'))
    assert _message(r, 412, "plan.stale") == {"plan": pid}
    r = client.post(f"{API}/plans/{pid}/cells/{c1}/unlock", headers=_h(tokens))
    _message(r, 428, "plan.if_match_missing")


def test_moves_into_or_out_of_a_locked_cell_name_the_cell_by_its_key(client, tokens, draft, world):
    pid = draft["id"]
    c1, c2 = draft["cells"][f"{V1}-M01-C01"], draft["cells"][f"{V1}-M01-C02"]
    r = client.post(f"{API}/plans/{pid}/cells/{c1}/lock", headers=_h(tokens, draft["etag"]))
    etag = r.headers["etag"]
    out_of = {"household_id": _members(client, tokens, c1)[0], "cell_id": c2}
    into = {"household_id": _members(client, tokens, c2)[0], "cell_id": c1}
    for move in (out_of, into):
        r = client.patch(f"{API}/plans/{pid}/assignments", json={"moves": [move]}, headers=_h(tokens, etag))
        assert _message(r, 409, "plan.cell_locked_move") == {"cell": f"{V1}-M01-C01"}
    # in a batch (as the map saves), the operation's own key, its place in errors[0]
    r = client.post(f"{API}/plans/{pid}/edits", headers=_h(tokens, etag),
                    json={"edits": [{"op": "move", "moves": [into]}]})
    assert _message(r, 409, "plan.cell_locked_move") == {"cell": f"{V1}-M01-C01"}
    assert r.json()["errors"][0]["index"] == 0 and r.json()["detail"].startswith("edit 0 (move) failed")
    r = client.post(f"{API}/plans/{pid}/cells/{c1}/split", json={"household_ids": _members(client, tokens, c1)[:1]},
                    headers=_h(tokens, etag))
    assert _message(r, 409, "plan.cell_locked_split") == {"cell": f"{V1}-M01-C01"}
    r = client.post(f"{API}/plans/{pid}/cells/merge", json={"cells": [c2, c1]}, headers=_h(tokens, etag))
    assert _message(r, 409, "plan.cell_locked_merge") == {"cells": [f"{V1}-M01-C01"]}


def test_split_and_merge_refusals_and_a_move_across_villages(client, tokens, draft):
    pid, etag = draft["id"], draft["etag"]
    c1, c2 = draft["cells"][f"{V1}-M01-C01"], draft["cells"][f"{V1}-M01-C02"]
    w1 = draft["cells"][f"{V2}-M01-C01"]
    r = client.post(f"{API}/plans/{pid}/cells/{c1}/split", json={"household_ids": _members(client, tokens, c1)},
                    headers=_h(tokens, etag))
    assert _message(r, 422, "plan.split_leaves_none") == {"cell": f"{V1}-M01-C01"}
    r = client.post(f"{API}/plans/{pid}/cells/{c1}/split", json={"household_ids": _members(client, tokens, c2)[:2]},
                    headers=_h(tokens, etag))
    assert _message(r, 422, "plan.split_not_in_cell") == {"n": 2, "cell": f"{V1}-M01-C01"}
    r = client.post(f"{API}/plans/{pid}/cells/merge", json={"cells": [c1, c1]}, headers=_h(tokens, etag))
    _message(r, 422, "plan.merge_same_cell")
    r = client.post(f"{API}/plans/{pid}/cells/merge", json={"cells": [c1, w1]}, headers=_h(tokens, etag))
    assert _message(r, 422, "plan.merge_other_microgrid") == {"cells": [f"{V1}-M01-C01", f"{V2}-M01-C01"]}
    h = _members(client, tokens, c1)[0]
    r = client.patch(f"{API}/plans/{pid}/assignments", json={"moves": [{"household_id": h, "cell_id": w1}]},
                     headers=_h(tokens, etag))
    assert _message(r, 422, "plan.move_across_villages") == {
        "household": h, "from_village": V1, "cell": f"{V2}-M01-C01", "to_village": V2, "more": 0}


def test_editing_a_published_plan_is_keyed_with_its_status(client, tokens, world):
    plan = client.get(f"{API}/plans/{world.plan_id}", headers=tokens["planner"])
    c = world.cells[f"{V1}-M01-C01"]
    r = client.post(f"{API}/plans/{world.plan_id}/cells/{c}/lock", headers=_h(tokens, plan.headers["etag"]))
    assert _message(r, 409, "plan.not_draft") == {"plan": world.plan_id, "status": "published"}


def test_a_county_part_planner_publishing_is_keyed(client, tokens, draft):
    r = client.post(f"{API}/plans/{draft['id']}/publish", headers=_h(tokens, draft["etag"], who="planner1"))
    assert _message(r, 403, "plan.publish_needs_county") == {"plan": draft["id"]}


def test_a_refusal_of_no_key_has_no_message():
    # every refusal of the API has a key now (tests/api/test_error_keys.py); one raised
    # without is still given with no message
    from geogrid.api.errors import message_of
    from geogrid.errors import InputError, NotFoundError

    assert message_of(NotFoundError("plan nope not found")) is None
    assert message_of(InputError("x", key="plan.stale", params={"plan": "p"})) == {
        "key": "plan.stale", "params": {"plan": "p"}}


# --- not found, the catalogue, requests FastAPI refuses -----------------------------------
def test_what_is_not_found_is_keyed_with_its_id(client, tokens, draft):
    """A 404 was English only (household x not found): the map showed it as it was."""
    for path, key, params in (
            ("households/nope", "household.not_found", {"household": "nope"}),
            ("persons/nope", "person.not_found", {"person": "nope"}),
            ("plans/nope", "plan.not_found", {"plan": "nope"}),
            ("cells/nope", "cell.not_found", {"cell": "nope"}),
            ("microgrids/nope", "microgrid.not_found", {"microgrid": "nope"})):
        r = client.get(f"{API}/{path}", headers=tokens["admin"])
        assert _message(r, 404, key) == params, path
    pid = draft["id"]
    r = client.post(f"{API}/plans/{pid}/cells/nope/lock", headers=_h(tokens, draft["etag"]))
    assert _message(r, 404, "plan.cell_not_found") == {"cell": "nope", "plan": pid}


def test_fastapis_own_refusals_are_keyed(client, tokens):
    r = client.get(f"{API}/search", params={"q": "x" * 101}, headers=tokens["cadre1"])
    assert _message(r, 422, "request.invalid") == {"field": "query.q"}
    r = client.get(f"{API}/no-such-thing", headers=tokens["cadre1"])
    assert r.json()["message"] == {"key": "request.not_found", "params": {}}


def test_issues_not_found_and_categories_not_in_the_catalogue_are_keyed(iclient, itokens):
    r = iclient.get(f"{API}/issues/nope", headers=itokens["cell1"])
    assert _message(r, 404, "issue.not_found") == {"issue": "nope"}
    lon, lat = point(V1, 0)
    r = iclient.post(f"{API}/issues", json={"category": "nope", "lon": lon, "lat": lat},
                     headers=itokens["cell1"])
    assert _message(r, 404, "issue.category_unknown") == {"category": "nope"}
    iid, version = _report(iclient, itokens["cell1"], point(V1, 0))
    r = iclient.post(f"{API}/issues/{iid}/transitions", json={"action": "reject", "version": version},
                     headers=itokens["cell1"])
    _message(r, 422, "issue.reject_needs_reason")


def test_open311_errors_carry_their_key_beside_the_specs_fields(iclient):
    r = iclient.post("/open311/v2/requests.json", data={"lat": "27.3", "long": "109.2"})
    assert r.status_code in (400, 403), r.text
    err = r.json()[0]
    assert set(err) == {"code", "description", "message"} and err["description"]
    assert err["message"]["key"].startswith("open311.")
    r = iclient.get("/open311/v2/requests/nope.json")
    assert r.json()[0]["message"] == {"key": "open311.not_found", "params": {"request": "nope"}}


# --- log-in, reveals ------------------------------------------------------------------------
def test_log_in_failures_throttling_and_lockout_are_keyed(client):
    r = login(client, "cadre1", "wrong")
    _message(r, 401, "auth.wrong_credentials")
    for _ in range(6):
        r = login(client, "cadre1", "wrong")
        if r.status_code == 423:
            break
        assert r.status_code == 401 or _message(r, 429, "auth.throttled")["seconds"] >= 1
    params = _message(r, 423, "auth.account_locked")
    assert isinstance(params["minutes"], int) and params["minutes"] >= 1


@pytest.fixture
def one_reveal(api_settings):
    api_settings.reveal_per_hour = 1
    return api_settings


def test_a_reveal_over_the_limit_and_one_the_role_may_not_make_are_keyed(one_reveal, client, tokens, world):
    person = world.persons[V1][0]
    r = client.post(f"{API}/persons/{person}/reveal", json={"purpose": "走访核实"}, headers=tokens["cadre1"])
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/persons/{person}/reveal", json={"purpose": "走访核实"}, headers=tokens["cadre1"])
    params = _message(r, 429, "person.reveal_limit")
    assert params["limit"] == 1
    r = client.post(f"{API}/persons/{person}/reveal", json={"purpose": "走访核实"}, headers=tokens["analyst"])
    assert _message(r, 403, "role.may_not") == {"role": "analyst", "capability": "reveal"}


# --- issues -----------------------------------------------------------------------------------
def _report(client, headers, where):
    lon, lat = where
    r = client.post(f"{API}/issues", json={"category": "sanitation", "lon": lon, "lat": lat,
                                           "description": "垃圾堆放在路边"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["properties"]["version"]


def test_issue_refusals_are_keyed(iclient, itokens):
    iid, version = _report(iclient, itokens["cell1"], point(V1, 0))
    # an action its state does not allow
    r = iclient.post(f"{API}/issues/{iid}/transitions", json={"action": "close", "note": "已处理"},
                     headers=itokens["cell1"])
    assert _message(r, 409, "issue.transition_not_allowed") == {
        "action": "close", "status": "reported", "allowed": ["verified"]}
    # someone acted first
    r = iclient.post(f"{API}/issues/{iid}/transitions", json={"action": "accept", "version": version},
                     headers=itokens["cell1"])
    assert r.status_code == 200, r.text
    r = iclient.post(f"{API}/issues/{iid}/transitions", json={"action": "accept", "version": version},
                     headers=itokens["cell1"])
    assert _message(r, 412, "issue.stale") == {"issue": iid}
    # outside the reporter's part of the grid
    lon, lat = point(V2, 1)
    r = iclient.post(f"{API}/issues", json={"category": "sanitation", "lon": lon, "lat": lat},
                     headers=itokens["cell1"])
    assert _message(r, 403, "issue.report_outside_scope") == {"village": V2}


def test_photo_refusals_are_keyed(iclient, itokens):
    iid, _ = _report(iclient, itokens["cell1"], point(V1, 0))
    url = f"{API}/issues/{iid}/photos"
    r = iclient.post(url, files={"file": ("a.jpg", b"not a photo at all", "image/jpeg")}, headers=itokens["cell1"])
    _message(r, 422, "photo.not_image")
    # over the photo limit (1 MB here) but under the body limit: the photo's own refusal
    big = png_bytes() + b"\0" * 1_200_000
    r = iclient.post(url, files={"file": ("a.png", big, "image/png")}, headers=itokens["cell1"])
    params = _message(r, 413, "photo.too_large")
    assert params["limit_mb"] == 1.0 and params["mb"] >= 1.0  # (the route reads one byte past the limit)
    # over the body limit (3 MB here): the server's limit
    r = iclient.post(url, files={"file": ("a.png", b"\0" * 3_100_000, "image/png")}, headers=itokens["cell1"])
    assert _message(r, 413, "request.too_large") == {"max_bytes": 3_000_000}
    r = iclient.post(url, files={"file": ("a.png", png_bytes(size=(2100, 2000)), "image/png")},
                     headers=itokens["cell1"])
    assert _message(r, 413, "photo.too_many_pixels") == {"width": 2100, "height": 2000, "limit": 4_000_000}
