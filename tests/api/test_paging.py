"""OGC API - Features paging: follow ``next`` links to the end, with ``numberMatched``
and ``numberReturned`` right on every page, for every feature collection."""

import pytest

from tests.api.conftest import V1


@pytest.mark.parametrize("path,total", [
    ("/api/v1/households", 12), ("/api/v1/households?bbox=109.2,27.3,109.22,27.31", 12),
    (f"/api/v1/households?village={V1}", 6), ("/api/v1/cells", 4), ("/api/v1/microgrids", 2),
    ("/api/v1/areas", 4),
])
def test_next_links_walk_every_feature_once(client, tokens, world, path, total):
    sep = "&" if "?" in path else "?"
    url, seen, pages = f"{path}{sep}limit=5", [], 0
    while url:
        r = client.get(url, headers=tokens["admin"])
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/geo+json")
        body = r.json()
        assert body["type"] == "FeatureCollection"
        assert body["numberMatched"] == total
        assert body["numberReturned"] == len(body["features"]) <= 5
        seen += [f["id"] for f in body["features"]]
        links = {link["rel"]: link["href"] for link in body["links"]}
        assert "self" in links
        url = links.get("next")
        pages += 1
        assert pages <= total  # no endless next
    assert len(seen) == len(set(seen)) == total
    assert pages == -(-total // 5)


def test_limit_is_capped_and_past_the_end_is_empty(client, tokens, app):
    app.state.api_settings.page_limit_max = 3
    body = client.get("/api/v1/households?limit=100000", headers=tokens["admin"]).json()
    assert body["numberReturned"] == 3 and body["numberMatched"] == 12
    body = client.get("/api/v1/households?offset=50", headers=tokens["admin"]).json()
    assert body["features"] == [] and body["numberReturned"] == 0
    assert "next" not in {link["rel"] for link in body["links"]}
