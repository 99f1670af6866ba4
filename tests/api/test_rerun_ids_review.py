"""The micro-grid ids of a repartition request are ids like every other: at most 64
characters, refused by the request model (422, naming where) before any lookup, and
never echoed back (found by review: a 1 MB id came back whole in the 404)."""

from tests.api.conftest import if_match


def test_an_overlong_microgrid_id_is_a_422_that_does_not_echo_it(client, tokens, draft):
    url = f"/api/v1/plans/{draft['id']}/repartition"
    long_id = "x" * 10_000
    r = client.post(url, json={"microgrids": [long_id]}, headers=if_match(tokens, draft["etag"]))
    assert r.status_code == 422, r.text
    assert "microgrids.0" in r.json()["detail"] and "64" in r.json()["detail"]
    assert "x" * 65 not in r.text
    # the same in a batch of edits
    r = client.post(f"/api/v1/plans/{draft['id']}/edits",
                    json={"edits": [{"op": "repartition", "microgrids": ["y" * 65]}]},
                    headers=if_match(tokens, draft["etag"]))
    assert r.status_code == 422, r.text
    assert "y" * 65 not in r.text
    # an empty id is no id either
    r = client.post(url, json={"microgrids": [""]}, headers=if_match(tokens, draft["etag"]))
    assert r.status_code == 422, r.text
    # nothing was changed
    assert client.get(f"/api/v1/plans/{draft['id']}", headers=tokens["planner"]).headers["etag"] == draft["etag"]


def test_a_64_character_id_is_still_looked_up(client, tokens, draft):
    r = client.post(f"/api/v1/plans/{draft['id']}/repartition", json={"microgrids": ["z" * 64]},
                    headers=if_match(tokens, draft["etag"]))
    assert r.status_code == 404, r.text


def test_overlong_ids_of_a_split_or_a_merge_are_refused_too(client, tokens, draft):
    """The split's household ids and the merge's cell ids had no such limit."""
    base = f"/api/v1/plans/{draft['id']}"
    r = client.post(f"{base}/cells/merge", json={"cells": ["a" * 10_000, "b"]},
                    headers=if_match(tokens, draft["etag"]))
    assert r.status_code == 422 and "a" * 65 not in r.text, r.text
    r = client.post(f"{base}/cells/somecell/split", json={"household_ids": ["h" * 10_000]},
                    headers=if_match(tokens, draft["etag"]))
    assert r.status_code == 422 and "h" * 65 not in r.text, r.text
    assert client.get(base, headers=tokens["planner"]).headers["etag"] == draft["etag"]
