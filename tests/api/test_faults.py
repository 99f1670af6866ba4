"""Faults: a database that goes away answers 503 (and writes nothing); huge bodies 413."""

import contextlib
import shutil

from fastapi.testclient import TestClient

from tests.api.conftest import SECRET, V1


def _app_on(url, api_settings):
    from geogrid.api import create_app
    from geogrid.settings import Settings

    return create_app(Settings(database_url=url, secret_key=SECRET, sqlite_busy_timeout_ms=2000),
                      api_settings=api_settings)


@contextlib.contextmanager
def _database_gone(backend, db_url, api_settings, request, tmp_path):
    """A client of the app on a database of its own, which is gone (its file's directory
    removed, or the PostgreSQL database dropped) once the app has answered /healthz:
    ``(client, what names the database)``, which no answer may show."""
    from sqlalchemy.engine import make_url

    if backend == "spatialite":
        d = tmp_path / "gone"
        d.mkdir()
        shutil.copy(db_url.removeprefix("sqlite:///"), d / "g.sqlite")
        url = f"sqlite:///{d / 'g.sqlite'}"
        where = [str(d)]
    else:
        from geogrid.db import migrate
        from tests.conftest import _create_database, _drop_database

        admin = request.getfixturevalue("postgis_admin")
        url = _create_database(admin)
        migrate.upgrade(url)
        u = make_url(url)
        where = [u.database, f"{u.host}", f":{u.port}", "postgresql", "pg_ctlcluster"]
    app = _app_on(url, api_settings)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        app.state.engine.dispose()
        if backend == "spatialite":
            shutil.rmtree(d)
        else:
            _drop_database(admin, url)
        yield client, where


def test_503_when_the_database_is_gone(backend, db_url, world, tokens, api_settings, request, tmp_path):
    with _database_gone(backend, db_url, api_settings, request, tmp_path) as (client, _):
        r = client.get("/healthz")
        assert r.status_code == 503
        r = client.get(f"/api/v1/households/{world.households[V1][0]}", headers=tokens["admin"])
        assert r.status_code == 503, r.text
        assert r.headers.get("retry-after")
        r = client.post("/api/v1/plans", json={"name": "x"}, headers=tokens["admin"])
        assert r.status_code == 503
        r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "whatever1"})
        assert r.status_code == 503


def test_huge_bodies_are_413(client, tokens, world):
    pid = world.persons[V1][0]
    big = {"purpose": "x" * 200_000}
    r = client.post(f"/api/v1/persons/{pid}/reveal", json=big, headers=tokens["cadre1"])
    assert r.status_code == 413

    def chunks():  # no Content-Length: counted as it streams
        for _ in range(30):
            yield b"x" * 10_000

    r = client.post(f"/api/v1/persons/{pid}/reveal", content=chunks(),
                    headers={**tokens["cadre1"], "Content-Type": "application/json"})
    assert r.status_code == 413


def test_bad_query_parameters_are_4xx(client, tokens):
    for q in ("bbox=1,2,3", "bbox=a,b,c,d", "bbox=27.3,109.2,27.4,109.3", "bbox=110,28,109,27",
              "limit=0", "offset=-1", "bbox=nan,1,2,3"):
        r = client.get(f"/api/v1/households?{q}", headers=tokens["admin"])
        assert 400 <= r.status_code < 500, q
    r = client.get("/api/v1/households?bbox=27.3,109.2,27.4,109.3", headers=tokens["admin"])
    assert "swapped" in r.json()["detail"]


def test_a_lost_database_is_explained_in_the_log_not_to_the_client(
        backend, db_url, world, tokens, api_settings, request, tmp_path, caplog):
    """Before, a client (anyone, before logging in) was told the database's address, user
    and driver message and a shell command to start PostgreSQL, while the server's log
    said only 'failed: DatabaseError': the admin could not tell why from the log. Now the
    client reads that the database is unavailable, and the log says why."""
    import logging

    with _database_gone(backend, db_url, api_settings, request, tmp_path) as (client, where):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="geogrid.api"):
            answers = [client.post("/api/v1/auth/token", data={"username": "admin", "password": "whatever1"}),
                       client.get(f"/api/v1/households/{world.households[V1][0]}", headers=tokens["admin"])]
        for r in answers:
            assert r.status_code == 503, r.text
            assert "database is unavailable" in r.json()["detail"]
            assert not [w for w in where if w in r.text], r.text
        logged = "\n".join(rec.getMessage() for rec in caplog.records)
        assert "POST /api/v1/auth/token failed: DatabaseError: cannot" in logged, logged


def test_an_unexpected_database_error_quotes_no_sql_to_the_client(caplog):
    """A 500 from the database (a schema the code did not expect, say) answered with
    SQLAlchemy's text: the statement, its parameters (what the user searched for) and a
    link to SQLAlchemy's docs. Now the client reads that it is an internal error, and the
    server's log keeps the whole error with its traceback."""
    import asyncio
    import json
    import logging

    from sqlalchemy import exc as sa_exc
    from starlette.requests import Request

    from geogrid.api.errors import _handle
    from geogrid.errors import GeogridError

    request = Request({"type": "http", "method": "GET", "path": "/api/v1/plans", "headers": [],
                       "query_string": b""})
    boom = sa_exc.ProgrammingError("SELECT plans.microgrids_read_at FROM plans WHERE name = %(q)s",
                                   {"q": "吴强勇"}, Exception("column plans.microgrids_read_at does not exist"))
    with caplog.at_level(logging.ERROR, logger="geogrid.api"):
        r = asyncio.run(_handle(request, boom))
    body = json.loads(r.body)
    assert r.status_code == 500 and body["code"] == "internal"
    assert "SELECT" not in body["detail"] and "吴强勇" not in body["detail"], body
    assert "log" in body["detail"]
    assert "microgrids_read_at does not exist" in caplog.text  # the traceback is logged
    # geogrid's own errors are worded for their reader, and still say what they say
    r = asyncio.run(_handle(request, GeogridError("the plan store is inconsistent: reload it")))
    assert json.loads(r.body)["detail"] == "the plan store is inconsistent: reload it"


def test_503_carries_a_message_key_the_web_map_words(backend, db_url, world, tokens, api_settings, request,
                                                     tmp_path):
    """The 503 of a lost or busy database had no message key, so the web map could not word
    it in its user's language, as it words the other refusals (geogrid/api/errors.py).
    Now every 503 of the API carries database.unavailable, which both languages have."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    with _database_gone(backend, db_url, api_settings, request, tmp_path) as (client, _):
        answers = [client.get(f"/api/v1/households/{world.households[V1][0]}", headers=tokens["admin"]),
                   client.get("/api/v1/households", headers=tokens["cadre1"]),
                   client.post("/api/v1/plans", json={"name": "x"}, headers=tokens["admin"]),
                   client.post("/api/v1/auth/token", data={"username": "admin", "password": "whatever1"})]
    for r in answers:
        assert r.status_code == 503, r.text
        assert r.json()["message"] == {"key": "database.unavailable", "params": {}}, r.text
    for lang in ("zh", "en"):
        from geogrid.webassets import string_files

        text = "\n".join(f.read_text(encoding="utf-8") for f in string_files(lang, root / "web_map"))
        assert re.search(r'^\s*"api\.database\.unavailable": "[^"]+",$', text, flags=re.M), lang
