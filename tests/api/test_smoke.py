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
    assert body["properties"]["village_name"] == "一村"  # the house panel shows the name
    res = body["properties"]["residents"]
    assert len(res) == 2
    assert res[0]["id_number"].startswith("*" * 14)
    assert "****" in res[0]["phone"]


def test_openapi_operation_ids_are_unique(client):
    """Each route is mounted once: duplicate operationIds break generated clients."""
    import collections

    spec = client.get("/openapi.json").json()
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()
           if isinstance(op, dict) and "operationId" in op]
    dupes = [i for i, n in collections.Counter(ids).items() if n > 1]
    assert ids and not dupes
    assert "/open311/v2/services.{fmt}" in spec["paths"]
