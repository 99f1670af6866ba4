"""geogrid published under a path of a shared host (https://xxx.gov.cn/geogrid/), behind a
reverse proxy that strips the path (nginx ``location /geogrid/ { proxy_pass
http://127.0.0.1:8000/; }``) or passes it on unchanged (``proxy_pass
http://127.0.0.1:8000;``), as ``geogrid serve --root-path /geogrid`` serves it.

Before, only the root of a host worked: the web map asked for /api/v1 at the host's root,
the photo URLs, ``Location`` headers and the token URL the API gave named /api/v1 without
the path, and a proxy passing the path on found nothing at all.
"""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from tests.api.conftest import SECRET, V1
from tests.issues.conftest import png_bytes, point

ROOT = "/geogrid"
API = "/api/v1"


@pytest.fixture
def app(engine, db_url, world, api_settings, tmp_path):
    """tests/api's app with its issue photos under ``tmp_path``."""
    from geogrid.api import create_app
    from geogrid.settings import Settings

    settings = Settings(database_url=db_url, secret_key=SECRET, demo=False,
                        sqlite_busy_timeout_ms=10_000, data_dir=tmp_path / "data")
    return create_app(settings, engine=engine, api_settings=api_settings)


@pytest.fixture(params=["stripped", "passed on", "uvicorn --root-path"])
def proxied(request, app):
    """A client of the app as a proxy publishing it under /geogrid reaches it: through
    geogrid's RootPath with the path stripped (``at`` is then "") or passed on, and, for the
    URLs the API gives, as an ASGI server started with that root path hands requests over
    (``root_path`` set, ``path`` beginning with it)."""
    from fastapi.testclient import TestClient

    if request.param == "uvicorn --root-path":
        client = TestClient(app, root_path=ROOT, follow_redirects=False)
    else:
        from geogrid.api.rootpath import RootPath

        client = TestClient(RootPath(app, ROOT), follow_redirects=False)
    with client as c:
        c.at = "" if request.param == "stripped" else ROOT
        c.style = request.param
        yield c


def test_the_web_map_and_its_assets_are_served_under_the_root_path(proxied):
    c, at = proxied, proxied.at
    assert c.get(f"{at}/healthz").status_code == 200
    page = c.get(f"{at}/")
    assert page.status_code == 200 and '<script type="module" src="js/app.js">' in page.text
    js = c.get(f"{at}/js/api.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    # the map asks for the API beside its page, never at the host's root
    assert 'new URL("api/v1/", document.baseURI)' in js.text and '"/api/v1"' not in js.text
    assert c.get(f"{at}/vendor/leaflet/leaflet.js").status_code == 200


def test_the_root_path_without_its_slash_is_redirected_to_it_with_one(app):
    """At /geogrid the map's relative URLs would resolve at the host's root."""
    from fastapi.testclient import TestClient

    from geogrid.api.rootpath import RootPath

    with TestClient(RootPath(app, ROOT), follow_redirects=False) as c:
        r = c.get(ROOT)
        assert r.status_code == 307 and r.headers["location"] == f"{ROOT}/"
        assert c.get(f"{ROOT}?lang=en").headers["location"] == f"{ROOT}/?lang=en"
        assert c.get(f"{ROOT}/").status_code == 200
        # another path that merely begins with the same letters is not under it
        assert c.get("/geogridx/healthz").status_code == 404


def test_the_docs_load_their_openapi_under_the_root_path(proxied):
    c, at = proxied, proxied.at
    docs = c.get(f"{at}/docs")
    assert docs.status_code == 200 and f"'{ROOT}/openapi.json'" in docs.text
    spec = c.get(f"{at}/openapi.json").json()
    assert spec["servers"][0]["url"] == ROOT and f"{API}/auth/token" in spec["paths"]
    # the docs' Authorize button posts to the token URL resolved against the document
    # it read (/geogrid/openapi.json): under the root path, not at the host's root
    from urllib.parse import urljoin

    flow = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]
    assert urljoin(f"https://xxx.gov.cn{ROOT}/openapi.json", flow["tokenUrl"]) == \
        f"https://xxx.gov.cn{ROOT}{API}/auth/token"


def test_the_page_without_the_web_map_links_under_the_root_path(engine, db_url, world, api_settings, tmp_path):
    """Where no web map is installed, the page at / links the docs, the OpenAPI document and
    /healthz relative to itself: under /geogrid/, not at the host's root."""
    import re

    from fastapi.testclient import TestClient

    from geogrid.api import create_app
    from geogrid.api.rootpath import RootPath
    from geogrid.settings import Settings

    empty = tmp_path / "no-map"
    empty.mkdir()
    settings = Settings(database_url=db_url, secret_key=SECRET, demo=False, sqlite_busy_timeout_ms=10_000)
    bare = create_app(settings, engine=engine,
                      api_settings=api_settings.model_copy(update={"web_map_dir": str(empty)}))
    with TestClient(RootPath(bare, ROOT)) as c:
        page = c.get(f"{ROOT}/")
        assert page.status_code == 200 and "not installed" in page.text
        links = re.findall(r'href="([^"]+)"', page.text)
        assert sorted(links) == ["docs", "healthz", "openapi.json"]
        for link in links:
            assert c.get(f"{ROOT}/{link}").status_code == 200



def test_the_urls_the_api_gives_carry_the_root_path(proxied, tokens, world):
    """The token URL, a page's links, the Location of a new draft and of a removal, and an
    issue photo's URLs, each followed back through the proxy."""
    c, at = proxied, proxied.at
    config = c.get(f"{at}{API}/config").json()
    assert config["token_url"] == f"{ROOT}{API}/auth/token"

    cadre, planner = tokens["cadre1"], tokens["planner"]
    page = c.get(f"{at}{API}/households?limit=1", headers=cadre).json()
    hrefs = {link["rel"]: httpx.URL(link["href"]) for link in page["links"]}
    assert hrefs["next"].path == f"{ROOT}{API}/households", page["links"]
    assert c.get(str(hrefs["next"]), headers=cadre).status_code == 200

    r = c.post(f"{at}{API}/plans", json={"name": "草案"}, headers=planner)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{ROOT}{API}/plans/{r.json()['id']}"
    assert c.get(r.headers["location"], headers=planner).status_code == 200

    hid = world.households[V1][0]
    etag = c.get(f"{at}{API}/households/{hid}", headers=cadre).headers["ETag"]
    r = c.post(f"{at}{API}/households/{hid}/removal", json={"reason": "moved_out", "date": "2026-11-30"},
               headers={**cadre, "If-Match": etag})
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{ROOT}{API}/households/{hid}/removal"
    assert c.get(r.headers["location"], headers=cadre).json()["reason"] == "moved_out"

    lon, lat = point(V1, 0)
    r = c.post(f"{at}{API}/issues", json={"category": "sanitation", "lon": lon, "lat": lat,
                                          "description": "垃圾堆放在路边"}, headers=cadre)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    r = c.post(f"{at}{API}/issues/{iid}/photos", headers=cadre, data={"kind": "report"},
               files={"file": ("x.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["url"] == f"{ROOT}{API}/issues/{iid}/photos/{photo['id']}"
    assert photo["thumbnail_url"] == photo["url"] + "?thumbnail=true"
    shown = c.get(f"{at}{API}/issues/{iid}", headers=cadre).json()["properties"]["photos"]
    assert [p["url"] for p in shown] == [photo["url"]]
    got = c.get(photo["thumbnail_url"], headers=cadre)
    assert got.status_code == 200 and got.headers["content-type"].startswith("image/")

    endpoint = c.get(f"{at}/open311/v2/discovery.json").json()["endpoints"][0]["url"]
    assert httpx.URL(endpoint).path == f"{ROOT}/open311/v2/"


def test_the_security_headers_of_the_api_and_the_docs_hold_under_the_root_path(proxied, tokens, world):
    """API answers hold residents' data: no proxy or browser may keep them, under a root
    path as at a host's root (securityheaders chose by the path with the root path in it:
    none had Cache-Control: no-store); /docs keeps the policy that lets Swagger UI load,
    the map its own."""
    c, at = proxied, proxied.at
    house = c.get(f"{at}{API}/households/{world.households[V1][0]}", headers=tokens["cadre1"])
    assert house.status_code == 200 and house.headers.get("cache-control") == "no-store"
    assert c.get(f"{at}/open311/v2/services.json").headers.get("cache-control") == "no-store"
    assert "cdn.jsdelivr.net" in c.get(f"{at}/docs").headers["content-security-policy"]
    page = c.get(f"{at}/")
    assert "cache-control" not in page.headers
    assert page.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self';")


def test_without_a_root_path_the_urls_are_as_before(client, tokens):
    assert client.get(f"{API}/config").json()["token_url"] == f"{API}/auth/token"
    r = client.post(f"{API}/plans", json={"name": "草案"}, headers=tokens["planner"])
    assert r.headers["location"] == f"{API}/plans/{r.json()['id']}"


@pytest.mark.parametrize(("given", "root"), [
    ("", ""), ("/", ""), ("  ", ""), ("/geogrid", "/geogrid"), ("/geogrid/", "/geogrid"),
    ("geogrid", "/geogrid"), ("/apps//geogrid/", "/apps/geogrid"), ("/网格", "/网格"),
])
def test_root_paths_are_written_one_way(given, root):
    from geogrid.api.rootpath import clean_root_path

    assert clean_root_path(given) == root


@pytest.mark.parametrize("given", ["https://xxx.gov.cn/geogrid", "/geo grid", "/geogrid?x=1",
                                   "/a/../b", "/api", "/docs/x", "/js", "/openapi.json"])
def test_root_paths_that_cannot_work_are_refused_saying_why(given):
    from geogrid.api.rootpath import clean_root_path
    from geogrid.errors import InputError

    with pytest.raises(InputError, match="root path"):
        clean_root_path(given)


@pytest.mark.parametrize("backend", ["spatialite"], indirect=True)
@pytest.mark.parametrize(("workers", "how"), [("1", "option"), ("2", "option"), ("1", "setting")])
def test_geogrid_serve_under_a_root_path(tmp_path, db_url, world, workers, how):
    """``geogrid serve --root-path /geogrid`` (or GEOGRID_API_ROOT_PATH), one worker or
    several: a request the proxy stripped and one it passed on are both answered, and
    /geogrid is redirected to /geogrid/."""
    from tests.api.test_serve import GEOGRID, _env, _free_port

    port = _free_port()
    args = [GEOGRID, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", workers,
            "--log-level", "warning"]
    extra = {"GEOGRID_DATABASE_URL": db_url, "GEOGRID_SECRET_KEY": SECRET,
             "GEOGRID_DATA_DIR": str(tmp_path / "data")}
    if how == "option":
        args += ["--root-path", "/geogrid/"]
    else:
        extra["GEOGRID_API_ROOT_PATH"] = ROOT
    out = open(tmp_path / "server.log", "w+b")
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                            env=_env(tmp_path, **extra))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=30) as c:
            for at in ("", ROOT):  # stripped by the proxy, passed on by it
                for _ in range(int(workers) * 3):  # every worker, as far as the kernel spreads them
                    r = c.get(f"{at}{API}/config")
                    assert r.status_code == 200 and r.json()["token_url"] == f"{ROOT}{API}/auth/token"
                assert c.get(f"{at}/js/api.js").status_code == 200
                assert f"'{ROOT}/openapi.json'" in c.get(f"{at}/docs").text
            r = c.get(ROOT)
            assert r.status_code == 307 and r.headers["location"] == f"{ROOT}/"
    finally:
        proc.terminate()
        proc.wait(30)
        out.close()
    assert "serving http://127.0.0.1:%d/geogrid/" % port in (tmp_path / "server.log").read_text()
