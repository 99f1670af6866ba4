from tests.api.conftest import V1, V2


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok"


def test_household_with_residents_masked(client, tokens, world):
    hid = world.households[V1][0]
    r = client.get(f"/api/v1/households/{hid}", headers=tokens["cadre1"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "Feature"
    res = body["properties"]["residents"]
    assert len(res) == 2
    assert res[0]["id_number"].startswith("*" * 14)
    assert "****" in res[0]["phone"]
