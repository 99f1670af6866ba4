"""The browser's security headers on every answer (geogrid/api/securityheaders.py), on
both back-ends: the app set none, so a page could frame the map, a browser could sniff a
photo into a script, tile hosts were told the map's address, and the API's answers of
residents' data could be kept in a browser's or a proxy's cache."""

from __future__ import annotations

import re
from pathlib import Path

from tests.api.conftest import V1

ROOT = Path(__file__).resolve().parents[2]


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def _common(r) -> None:
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert _directives(r.headers["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]


def test_the_map_and_the_api_answer_with_security_headers(client, tokens, world):
    page = client.get("/")
    assert page.status_code == 200 and "<html" in page.text
    _common(page)
    csp = _directives(page.headers["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]  # no inline script, no eval
    assert csp["connect-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert {"'self'", "data:", "blob:", "https://tile.openstreetmap.org",
            "https://webrd01.is.autonavi.com", "https://webrd04.is.autonavi.com"} <= set(csp["img-src"])
    assert not any("tianditu" in h for h in csp["img-src"])  # not offered without its key
    assert "no-store" not in page.headers.get("Cache-Control", "")  # the map's files may be cached

    hid = world.households[V1][0]
    for path in (f"/api/v1/households/{hid}", "/api/v1/households", "/api/v1/auth/me",
                 "/api/v1/config"):
        r = client.get(path, headers=tokens["cadre1"])
        assert r.status_code == 200, (path, r.text)
        _common(r)
        assert r.headers["Cache-Control"] == "no-store", path
    refused = client.get(f"/api/v1/households/{hid}")  # 401 from the error handler
    assert refused.status_code == 401
    _common(refused)
    assert refused.headers["Cache-Control"] == "no-store"
    too_big = client.post("/api/v1/auth/token", content=b"x" * 20_000_000)  # 413 from BodySizeLimit
    assert too_big.status_code == 413
    _common(too_big)

    docs = client.get("/docs")  # Swagger UI from its CDN, started by an inline script
    assert docs.status_code == 200
    _common(docs)
    dcsp = _directives(docs.headers["Content-Security-Policy"])
    assert set(dcsp["script-src"]) >= {"'unsafe-inline'", "https://cdn.jsdelivr.net"}
    assert all(src in " ".join(dcsp["script-src"]) for src in re.findall(
        r'<script src="(https://[^/"]+)', docs.text))


def test_every_tile_host_of_the_web_maps_basemaps_is_allowed(db_url, engine, world):
    """The hosts of web_map/js/basemaps.js's tile URLs, Tianditu's with the key set."""
    from fastapi.testclient import TestClient

    from geogrid.api import create_app
    from geogrid.settings import Settings
    from tests.api.conftest import SECRET

    js = (ROOT / "web_map" / "js" / "basemaps.js").read_text(encoding="utf-8")
    templates = re.findall(r"(?<!href=\")https://([^/`\"]+)/", js)  # not the attribution's link
    assert len(templates) == 3, templates  # osm, tianditu, amap
    settings = Settings(database_url=db_url, secret_key=SECRET, demo=False, basemap="tianditu",
                        tianditu_key="k123")
    with TestClient(create_app(settings, engine=engine)) as client:
        images = _directives(client.get("/").headers["Content-Security-Policy"])["img-src"]
    for template in templates:
        for s in ("0", "1", "4", "7"):
            host = "https://" + template.replace("{s}", s)
            if "{s}" not in template or "tianditu" in template or s in "1234":
                assert host in images, (host, images)
