"""``geogrid serve`` as a real process: the secret check, /healthz, /docs, /openapi.json,
the OAuth2 log-in, and a crawl of everything the server *logs* for full ID or phone numbers.

The server runs in a second process on loopback, with uvicorn's own logging set-up (the
one a deployment has), and its stdout and stderr are read back after it stops.
"""

import contextlib
import io
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import PASSWORD, SECRET, V1
from tests.api.test_masking import full_numbers

GEOGRID = str(Path(sys.executable).with_name("geogrid"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEOGRID_")}
    env.update({"GEOGRID_WORKERS": "1", **extra})
    return env


def test_serve_refuses_the_default_secret(tmp_path):
    port = _free_port()
    r = subprocess.run([GEOGRID, "serve", "--port", str(port)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120,
                       env=_env(tmp_path, GEOGRID_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite'}"))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "GEOGRID_SECRET_KEY" in r.stderr and "GEOGRID_DEMO=1" in r.stderr
    assert "$(python3 -c" in r.stderr  # Debian 12 has no `python` command
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing ever listened


@contextlib.contextmanager
def _schema_at(db_url, revision):
    """The database's alembic_version set to ``revision`` for a while (an older geogrid's
    schema, as far as a newer geogrid can tell), then back to what it was."""
    from sqlalchemy import text

    from geogrid.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            was = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
        yield was
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": was})
        engine.dispose()


def test_serve_refuses_a_database_at_another_schema(tmp_path, db_url, world, api_settings):
    """A new geogrid installed and `geogrid db upgrade` forgotten: before, geogrid serve
    started, /healthz said ok, and the planner's first request was a 500 whose body
    quoted the SQL that failed. Every other command refuses such a database (exit 6);
    serve now does too, before it listens, saying what to run; /healthz of a server
    whose database was changed under it says 503 and why, and a 500 quotes no SQL."""
    from fastapi.testclient import TestClient

    from geogrid.api import create_app
    from geogrid.db.migrate import head
    from geogrid.settings import Settings

    with _schema_at(db_url, "0001"):
        port = _free_port()
        r = subprocess.run([GEOGRID, "serve", "--port", str(port), "--workers", "1"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120,
                           env=_env(tmp_path, GEOGRID_DATABASE_URL=db_url, GEOGRID_SECRET_KEY=SECRET))
        assert r.returncode == 6, (r.returncode, r.stderr)
        assert "schema 0001" in r.stderr and "geogrid db upgrade" in r.stderr, r.stderr
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing ever listened

        app = create_app(Settings(database_url=db_url, secret_key=SECRET), api_settings=api_settings)
        with TestClient(app) as client:
            health = client.get("/healthz")
            assert health.status_code == 503, health.text
            assert health.json()["schema"] == "0001" and "geogrid db upgrade" in health.json()["detail"]
            assert head() in health.json()["detail"]


def test_demo_mode_with_the_public_secret_serves_this_machine_only(tmp_path):
    """GEOGRID_DEMO=1 lets the server sign tokens with the default secret, which is in
    the repository: served on 0.0.0.0 (a demo left running, or a production .env with
    demo mode on to get past the secret check), anyone reaching it could sign an admin's
    token. It is refused on any address but loopback, saying what to do."""
    from geogrid.cli.serve import _loopback

    port = _free_port()
    r = subprocess.run([GEOGRID, "serve", "--host", "0.0.0.0", "--port", str(port), "--workers", "1"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env=_env(tmp_path, GEOGRID_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite'}",
                                GEOGRID_DEMO="1"))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "GEOGRID_SECRET_KEY" in r.stderr and "127.0.0.1" in r.stderr, r.stderr
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    assert [h for h in ("127.0.0.1", "localhost", "::1", "127.0.1.1") if not _loopback(h)] == []
    assert [h for h in ("0.0.0.0", "::", "10.0.0.5", "grid.example.gov.cn") if _loopback(h)] == []


def test_serve_warns_when_the_workers_may_want_more_connections_than_postgres_gives(
        backend, db_url, capsys):
    """The default of one worker per CPU (up to 8) with 8 threads each may open 176
    connections, and PostgreSQL gives 100 by default: under a burst, requests past that
    failed with 503 'too many clients', and nothing had said so. serve warns at start."""
    from geogrid.cli.serve import _warn_of_too_few_connections, connections_wanted
    from geogrid.db.engine import make_engine

    assert connections_wanted(8, 8) == 176 and connections_wanted(2, 8) == 44
    engine = make_engine(db_url)
    _warn_of_too_few_connections(engine, 2, 8)
    assert capsys.readouterr().err == ""
    _warn_of_too_few_connections(engine, 64, 200)
    err = capsys.readouterr().err
    if backend == "postgis":
        assert "may open up to 13696 database connections" in err and "max_connections" in err, err
    else:
        assert err == ""  # SQLite: no server to run out of connections
    engine.dispose()


def test_serve_refuses_a_basemap_it_does_not_know(tmp_path, capsys):
    """GEOGRID_BASEMAP=tiandtu (a typo) started a server whose web map showed no basemap,
    and nothing said why: serve now refuses it before it listens, naming the four; and
    Tianditu without GEOGRID_TIANDITU_KEY, which the web map cannot draw, is warned of."""
    port = _free_port()
    r = subprocess.run([GEOGRID, "serve", "--port", str(port), "--workers", "1"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120,
                       env=_env(tmp_path, GEOGRID_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite'}",
                                GEOGRID_SECRET_KEY=SECRET, GEOGRID_BASEMAP="tiandtu"))
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "GEOGRID_BASEMAP" in r.stderr and "none, osm, tianditu, amap" in r.stderr, r.stderr
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0

    from geogrid.cli.serve import _check_basemap
    from geogrid.settings import Settings

    _check_basemap(Settings(basemap="tianditu", tianditu_key=""))
    assert "GEOGRID_TIANDITU_KEY" in capsys.readouterr().err
    _check_basemap(Settings(basemap="OSM"))
    assert capsys.readouterr().err == ""


def test_serve_starts_while_the_database_is_away(tmp_path):
    """The schema check is no reason to stay down when PostgreSQL is not up yet (a boot
    order): the server starts, warns, and answers 503 until the database is there."""
    port, gone = _free_port(), _free_port()
    url = f"postgresql+psycopg://geogrid@127.0.0.1:{gone}/geogrid"
    out = open(tmp_path / "server.log", "w+b")
    proc = subprocess.Popen([GEOGRID, "serve", "--port", str(port), "--workers", "1"], cwd=tmp_path,
                            stdout=out, stderr=subprocess.STDOUT,
                            env=_env(tmp_path, GEOGRID_DATABASE_URL=url, GEOGRID_SECRET_KEY=SECRET))
    try:
        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 503
            except httpx.HTTPError:
                return False

        _wait_for(proc, tmp_path, answers, "geogrid serve did not come up")
    finally:
        proc.terminate()
        proc.wait(30)
        out.close()
    assert "serving anyway" in (tmp_path / "server.log").read_text()


@pytest.fixture
def served(tmp_path, db_url, world):
    port = _free_port()
    out = open(tmp_path / "server.log", "w+b")
    proc = subprocess.Popen(
        [GEOGRID, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--log-level", "info"],
        cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        env=_env(tmp_path, GEOGRID_DATABASE_URL=db_url, GEOGRID_SECRET_KEY=SECRET))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, (tmp_path / "server.log").read_text()
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "geogrid serve did not come up"
        time.sleep(0.2)

    def log_text() -> str:
        proc.terminate()
        proc.wait(30)
        out.flush()
        return (tmp_path / "server.log").read_text(encoding="utf-8", errors="replace")

    try:
        yield base, log_text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        out.close()


def test_served_app_and_its_logs(served, backend, db_url, world, request, tmp_path):
    base, log_text = served
    idn, phone = world.id_numbers[0], world.phones[0]
    with httpx.Client(base_url=base, timeout=30) as c:
        health = c.get("/healthz").json()
        assert health["status"] == "ok" and health["schema"]
        assert "swagger" in c.get("/docs").text.lower()
        spec = c.get("/openapi.json").json()
        assert "/api/v1/auth/token" in spec["paths"] and "/api/v1/persons/{person_id}/reveal" in spec["paths"]
        # the OAuth2 password flow, for real (argon2 and all)
        r = c.post("/api/v1/auth/token", data={"username": "cadre1", "password": PASSWORD})
        assert r.status_code == 200 and r.json()["token_type"] == "bearer"
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert c.post("/api/v1/auth/token", data={"username": idn, "password": phone}).status_code == 401
        # full numbers in paths, queries and bodies: the access log must not keep them
        for path in (f"/api/v1/search?q={idn}", f"/api/v1/search?q={phone}",
                     f"/api/v1/search?q=%2B86{phone}", f"/api/v1/persons/{idn}",
                     f"/api/v1/households?bbox={idn},{phone},1,2", f"/api/v1/households/{phone}"):
            assert c.get(path, headers=auth).status_code < 500, path
        r = c.post(f"/api/v1/persons/{world.persons[V1][0]}/reveal", headers=auth,
                   json={"purpose": f"核实 {idn} {phone}"})
        assert r.status_code == 200 and r.json()["id_number"] in world.id_numbers
        if backend == "postgis":
            # the database refuses connections: 503s, and the API logs each failed request
            admin = request.getfixturevalue("postgis_admin")
            from sqlalchemy import text
            from sqlalchemy.engine import make_url

            name = make_url(db_url).database
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            try:
                assert c.get(f"/api/v1/persons/{idn}", headers=auth).status_code == 503
                assert c.get(f"/api/v1/search?q={phone}", headers=auth).status_code == 503
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    logged = log_text()
    assert "/api/v1/search?q=" in logged  # the access log is there, so the check means something
    # GEOGRID_DATA_DIR left relative: where the photos go, from which directory, and the fix
    assert f"GEOGRID_DATA_DIR is relative (var): issue photos go to {tmp_path.resolve() / 'var'}" in logged
    if backend == "postgis":
        assert "GET /api/v1/persons/" in logged and " failed: " in logged
    assert full_numbers(logged) == [], logged[-3000:]
    assert idn not in logged and phone not in logged


@pytest.mark.parametrize("workers", ["1", "2"])
def test_behind_a_reverse_proxy_the_audit_log_names_the_client(tmp_path, db_url, world, workers):
    """Behind nginx every connection comes from the proxy: before, the audit log of
    personal-data reads named 127.0.0.1 for every read and the paging links said
    http://, with no setting to change it (proxy headers were off). With the proxy's
    address in GEOGRID_API_FORWARDED_ALLOW_IPS, its X-Forwarded-For and -Proto are
    believed; a client the setting does not name cannot forge them."""
    from geogrid.db import audit
    from geogrid.db.engine import make_engine, session_scope

    port = _free_port()
    out = open(tmp_path / "server.log", "w+b")
    proc = subprocess.Popen(
        [GEOGRID, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", workers,
         "--log-level", "warning"], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
        env=_env(tmp_path, GEOGRID_DATABASE_URL=db_url, GEOGRID_SECRET_KEY=SECRET,
                 GEOGRID_API_FORWARDED_ALLOW_IPS="127.0.0.1"))
    base = f"http://127.0.0.1:{port}"
    forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    try:
        _wait_for(proc, tmp_path, lambda: _healthy(base), "geogrid serve did not come up")
        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.post("/api/v1/auth/token", data={"username": "cadre1", "password": PASSWORD})
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            house = world.households[V1][0]
            assert c.get(f"/api/v1/households/{house}", headers={**auth, **forwarded}).status_code == 200
            page = c.get("/api/v1/households?limit=1", headers={**auth, **forwarded}).json()
            assert [lk["href"][:8] for lk in page["links"]] == ["https://", "https://"], page["links"]
    finally:
        proc.terminate()
        proc.wait(30)
        out.close()
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            reads = audit.entries(s, actor="cadre1", action="read")
            assert [e.detail["client"] for e in reads] == ["203.0.113.7"]
    finally:
        engine.dispose()

    # a server told of no proxy believes no header
    proxies = __import__("geogrid.cli.serve", fromlist=["_proxy_options"])._proxy_options
    assert proxies("") == {"proxy_headers": False}
    assert proxies(" 10.0.0.2, 10.0.0.3 ") == {"proxy_headers": True,
                                                "forwarded_allow_ips": "10.0.0.2,10.0.0.3"}


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_records_of_any_logger_are_masked():
    """A child logger's record reaches handlers that carry no filter (and Python's
    last-resort stderr handler): the record factory masks it anyway."""
    from geogrid.api.masking import install_log_masking

    install_log_masking()
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)  # added after install: no MaskingFilter on it
    logger = logging.getLogger("geogrid.api.test_serve_probe")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.error("GET %s failed", "/api/v1/persons/43122719900101123X?tel=13812345678")
        try:
            raise RuntimeError("lookup of 13912345678 failed")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    text = buf.getvalue()
    assert "/api/v1/persons/" in text and "Traceback" in text
    assert full_numbers(text) == [], text


def _nodelay_of_accepted(sock) -> int:
    """TCP_NODELAY of a connection an asyncio server accepted on ``sock``."""
    import asyncio
    import socket

    async def main():
        got = asyncio.get_running_loop().create_future()

        def on_conn(reader, writer):
            s = writer.get_extra_info("socket")
            got.set_result(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_conn, sock=sock)
        _, w = await asyncio.open_connection(*sock.getsockname()[:2])
        value = await asyncio.wait_for(got, 5)
        w.close()
        server.close()
        return value

    return asyncio.run(main())


def test_workers_socket_gets_tcp_nodelay():
    """``geogrid serve --workers N`` makes the workers' listening sockets; created by uvicorn
    a socket has protocol 0, so asyncio never sets TCP_NODELAY on its connections and a response
    written in two parts waits ~40 ms for the client's delayed ACK.  Ours says TCP."""
    import socket

    import uvicorn

    from geogrid.cli.serve import listening_socket

    ours = listening_socket("127.0.0.1", 0)
    assert ours.proto == socket.IPPROTO_TCP
    assert _nodelay_of_accepted(ours) != 0
    theirs = uvicorn.Config(app=None, host="127.0.0.1", port=0).bind_socket()
    assert _nodelay_of_accepted(theirs) == 0  # why listening_socket exists


def test_threads_setting_bounds_the_worker_threads_and_sizes_the_pool(db_url):
    """GEOGRID_API_THREADS: that many worker threads per process, and a pooled connection
    for each of them (plus a few), so requests never open and close connections."""
    import anyio.to_thread
    from fastapi.testclient import TestClient

    from geogrid.api import create_app
    from geogrid.api.config import ApiSettings
    from geogrid.settings import Settings

    from tests.api.conftest import SECRET

    app = create_app(Settings(database_url=db_url, secret_key=SECRET), api_settings=ApiSettings(threads=3))
    with TestClient(app) as client:
        tokens = client.portal.call(lambda: _tokens(anyio.to_thread))
        assert tokens == 3
        assert app.state.engine.pool.size() == 3 + 4
        assert client.get("/healthz").status_code == 200


async def _tokens(to_thread) -> float:
    return to_thread.current_default_thread_limiter().total_tokens


def _inodes(port: int, state: str = "0A") -> set[str]:
    """Inodes of the TCP sockets on 127.0.0.1:``port`` in ``state`` (from /proc/net/tcp;
    0A listening, 01 established)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == state and fields[1] == f"0100007F:{port:04X}":
            found.add(fields[9])
    return found


def _listening_inodes(port: int) -> set[str]:
    return _inodes(port, "0A")


def _owner_counts(inodes: set[str]) -> dict[int, int]:
    """How many of those sockets each process holds open."""
    counts: dict[int, int] = {}
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            for fd in fd_dir.iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    pid = int(fd_dir.parent.name)
                    counts[pid] = counts.get(pid, 0) + 1
        except OSError:  # gone, or not ours to read
            continue
    return counts


def _owners(inodes: set[str]) -> set[int]:
    """The processes holding those sockets open."""
    return set(_owner_counts(inodes))


@contextlib.contextmanager
def _two_workers(tmp_path, db_url):
    """``geogrid serve --workers 2`` on a free port: ``(process, port, env)``, stopped
    on exit."""
    port = _free_port()
    out = open(tmp_path / "server.log", "w+b")
    env = _env(tmp_path, GEOGRID_DATABASE_URL=db_url, GEOGRID_SECRET_KEY=SECRET)
    proc = subprocess.Popen(
        [GEOGRID, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
         "--log-level", "warning"], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, port, env
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()


def _wait_for(proc, tmp_path, condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, (tmp_path / "server.log").read_text()
        assert time.monotonic() < deadline, f"{what}: {(tmp_path / 'server.log').read_text()}"
        time.sleep(0.2)


@pytest.mark.parametrize("backend", ["spatialite"], indirect=True)
def test_each_worker_listens_on_a_socket_of_its_own(tmp_path, db_url, world):
    """``--workers 2``: two listening sockets on the port (SO_REUSEPORT), each held by one
    worker and not by the supervisor, so a worker's connections are its own and a dead
    worker's socket goes with it; a replaced worker listens again; a second server on
    the same port is refused with a clear message."""
    import signal

    with _two_workers(tmp_path, db_url) as (proc, port, env):
        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_for(proc, tmp_path, lambda: len(_listening_inodes(port)) == 2 and healthy(),
                  "two listening workers")
        owners = _owners(_listening_inodes(port))
        assert len(owners) == 2 and proc.pid not in owners
        # the same port again: refused, and the running server is untouched
        r = subprocess.run([GEOGRID, "serve", "--host", "127.0.0.1", "--port", str(port),
                            "--workers", "2"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120, env=env)
        assert r.returncode == 1 and "cannot listen" in r.stderr, r.stderr
        assert len(_listening_inodes(port)) == 2
        # a worker dies: its socket goes with it, its replacement listens on a new one
        victim = min(owners)
        os.kill(victim, signal.SIGKILL)
        _wait_for(proc, tmp_path, lambda: len(_listening_inodes(port)) == 2
                  and victim not in _owners(_listening_inodes(port)), "a replaced worker")
        assert proc.pid not in _owners(_listening_inodes(port))
        assert all(healthy() for _ in range(20))


@pytest.mark.parametrize("backend", ["spatialite"], indirect=True)
def test_keep_alive_connections_end_up_evenly_spread_over_the_workers(tmp_path, db_url, world):
    """20 keep-alive clients on ``--workers 2``: the kernel's hash splits them unevenly
    (10:10 about one time in six); the busier worker answers some with ``Connection:
    close``, the clients reconnect, and within seconds each worker holds 10."""
    import http.client

    with _two_workers(tmp_path, db_url) as (proc, port, _):
        _wait_for(proc, tmp_path, lambda: len(_listening_inodes(port)) == 2
                  and len(_owners(_listening_inodes(port))) == 2, "two listening workers")
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(20)]
        closes = 0
        deadline = time.monotonic() + 30
        while True:
            for c in conns:  # http.client reconnects by itself after "Connection: close"
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                assert r.status == 200
                closes += r.getheader("connection", "").lower() == "close"
            split = sorted(_owner_counts(_inodes(port, "01")).values())
            if split == [10, 10] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert split == [10, 10], (split, closes)
        for c in conns:
            c.close()
