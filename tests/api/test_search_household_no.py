"""A cadre finds a household by its 户编号 as well as by its address or a resident's name."""

from __future__ import annotations

from tests.api.conftest import V1, V2


def test_a_cadre_finds_a_household_by_its_number(client, tokens, world):
    """The number the register and the house panel show (H20110 here; 431227100001-0005 in
    the sample county) found nothing: a query with a digit was looked up in the addresses
    only."""
    r = client.get("/api/v1/search", params={"q": "H20110"}, headers=tokens["cadre1"])
    assert r.status_code == 200, r.text
    hits = r.json()["hits"]
    assert [h["household_no"] for h in hits] == ["H20110"]
    assert hits[0]["kind"] == "household" and hits[0]["household_id"] in world.households[V1]
    assert hits[0]["label"].startswith("一村2组1号") and "*" in hits[0]["label"]  # head masked
    # part of a number finds the households it is part of, in scope only
    r = client.get("/api/v1/search", params={"q": "H201"}, headers=tokens["cadre1"])
    assert sorted(h["household_no"] for h in r.json()["hits"]) == sorted(
        f"H201{c}{k}" for c in range(2) for k in range(3))
    # a household of another village is not found by its number
    r = client.get("/api/v1/search", params={"q": "H20210"}, headers=tokens["cadre1"])
    assert r.json()["hits"] == []
    r = client.get("/api/v1/search", params={"q": "H20210"}, headers=tokens["admin"])
    assert [h["household_id"] for h in r.json()["hits"]] == [
        h for h in world.households[V2] if world.cell_of[h].endswith("C02")][:1]
    # an address still finds its house, now with its number beside it
    r = client.get("/api/v1/search", params={"q": "一村1组2号"}, headers=tokens["cadre1"])
    assert [h["household_no"] for h in r.json()["hits"]] == ["H20101"]
