"""``geogrid serve``: run the HTTP API (and the web map at /) with uvicorn.

    geogrid serve [--host 127.0.0.1] [--port 8000] [--workers N] [--forwarded-allow-ips IPS]
                  [--root-path /geogrid]

Refuses to start with the default GEOGRID_SECRET_KEY unless GEOGRID_DEMO=1.

``--workers`` defaults to the number of CPUs this process may run on
(``GEOGRID_WORKERS`` overrides it): each request runs Python code under one GIL, so
one process uses one core however many threads it has.  Every worker is a separate
process with its own copy of the per-process state:

* the log-in *slowdown* (the wait after a few failures) counts failures per worker;
  the account *lock* is kept in the database (``users.failed_logins`` and
  ``locked_until``), so it holds across workers and restarts;
* the reveal rate limit is checked in the worker and, across workers, against the
  audit log (reveals by the user in the last hour), so N workers never allow N times
  the limit;
* the resolved-scope cache and the H3 aggregate cache are per worker and are
  re-validated against the database (see :class:`geogrid.api.scopecache.ScopeCache`);
* each worker has its own connection pool, so the database sees up to
  ``workers x pool size`` connections;
* each worker listens on a socket of its own on the same port (``SO_REUSEPORT``), so
  the kernel spreads connections over the workers instead of the least busy worker
  accepting them all (see :func:`_workers_with_own_sockets`), and a worker holding
  more than its share hands some back (:mod:`geogrid.api.balance`).
"""

from __future__ import annotations

import os

import typer

from geogrid.cli import app


def default_workers() -> int:
    """``GEOGRID_WORKERS``, else the CPUs available to this process (at most 8)."""
    env = os.environ.get("GEOGRID_WORKERS", "").strip()
    if env:
        return max(1, int(env))
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(None, "--workers", min=1, max=64, show_default="the CPU count",
                                help="Worker processes (default: GEOGRID_WORKERS or the CPUs; "
                                     "log-in slowdown is per worker, account locks are not)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
    forwarded_allow_ips: str = typer.Option(
        None, "--forwarded-allow-ips", show_default="GEOGRID_API_FORWARDED_ALLOW_IPS, else none",
        help="The reverse proxies in front (comma-separated addresses; * for any) whose "
             "X-Forwarded-For and X-Forwarded-Proto are believed: the audit log records the "
             "client's address, links say https."),
    root_path: str = typer.Option(
        None, "--root-path", show_default="GEOGRID_API_ROOT_PATH, else none",
        help="The path the reverse proxy publishes geogrid under (/geogrid for "
             "https://host/geogrid/), whether it strips it or passes it on: the web map and "
             "the links the API gives work under it."),
) -> None:
    """Serve the API at http://HOST:PORT/api/v1 and the web map at /."""
    import uvicorn

    from geogrid.api import create_app
    from geogrid.api.config import ApiSettings
    from geogrid.api.masking import install_log_masking
    from geogrid.api.rootpath import clean_root_path
    from geogrid.settings import get_settings

    workers = workers or default_workers()
    root = clean_root_path(ApiSettings().root_path if root_path is None else root_path)
    settings = get_settings()
    _check_demo_host(settings, host)
    _check_basemap(settings)
    api = create_app(settings)  # checks the secret before anything listens
    _check_schema(api.state.engine)  # and the schema: exit 6, saying what to run
    _warn_of_too_few_connections(api.state.engine, workers, ApiSettings().threads)
    _say_where_the_photos_go(settings)
    proxies = _proxy_options(ApiSettings().forwarded_allow_ips if forwarded_allow_ips is None
                             else forwarded_allow_ips)
    typer.echo(f"geogrid: serving http://{host}:{port}{root}/ (API docs at {root}/docs) with {workers} "
               f"worker{'s' if workers > 1 else ''}" + ("  [demo mode]" if settings.demo else "")
               + (f", behind the proxies {proxies['forwarded_allow_ips']}" if proxies["proxy_headers"]
                  else "")
               + (f"; a proxy may strip {root} or pass it on" if root else ""), err=True)
    if workers == 1:
        config = uvicorn.Config(served_app(api, root), host=host, port=port, log_level=log_level,
                                **proxies)
        server = uvicorn.Server(config)
        config.load()  # sets up uvicorn's logging handlers; mask before the first request
        install_log_masking()
        server.run()
        return
    # Several processes: uvicorn's supervisor starts each worker with the app factory
    # (create_app() from the same environment); every worker installs the log masking in
    # the app's lifespan, before its first request.
    engine = api.state.engine
    engine.dispose()  # the parent serves nothing: no connection may leak into the workers
    del api
    factory = "geogrid.api.app:_factory"
    if root:  # the workers read it from the environment they inherit
        os.environ["GEOGRID_API_ROOT_PATH"] = root
        factory = "geogrid.cli.serve:_factory_under_root_path"
    config = uvicorn.Config(factory, factory=True, host=host, port=port,
                            workers=workers, log_level=log_level, **proxies)
    listening_socket(host, port).close()  # the port is free (else: a clear message, exit 1)
    _workers_with_own_sockets(config, host, port).run()


def served_app(api, root: str):
    """``api`` as served under the root path ``root`` (:class:`geogrid.api.rootpath.RootPath`:
    the proxy may strip it or pass it on), or as it is without one."""
    from geogrid.api.rootpath import RootPath

    return RootPath(api, root) if root else api


def _factory_under_root_path():
    """The app of a worker of ``geogrid serve --workers N --root-path P`` (uvicorn's
    ``--factory``): create_app() under ``GEOGRID_API_ROOT_PATH``."""
    from geogrid.api import create_app
    from geogrid.api.config import ApiSettings

    return served_app(create_app(), ApiSettings().root_path)


def connections_wanted(workers: int, threads: int) -> int:
    """The most PostgreSQL connections ``workers`` server processes may open: each one's
    pool (create_app: ``threads`` + 4, and 10 more under a burst)."""
    return workers * (threads + 4 + 10)


def _warn_of_too_few_connections(engine, workers: int, threads: int) -> None:
    """Warn when the workers' pools may want more connections than PostgreSQL gives
    (``max_connections`` less those kept for superusers): past it, a burst of requests
    fails with 503 "too many clients" instead of waiting for a pooled connection.  The
    default of one worker per CPU (up to 8) wants 176, and PostgreSQL's default is 100."""
    if engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    try:
        with engine.connect() as conn:
            most = int(conn.execute(text("SHOW max_connections")).scalar())
            kept = int(conn.execute(text("SHOW superuser_reserved_connections")).scalar())
    except Exception:  # noqa: BLE001 - unreachable: _check_schema said so already
        return
    finally:
        engine.dispose()
    wanted = connections_wanted(workers, threads)
    if wanted > most - kept:
        typer.echo(f"geogrid: warning: {workers} workers may open up to {wanted} database connections "
                   f"(GEOGRID_API_THREADS + 14 each) and PostgreSQL allows {most - kept} "
                   f"(max_connections {most}): under load, requests past that fail with 503. Lower "
                   "--workers or GEOGRID_API_THREADS, or raise max_connections", err=True)


def _check_demo_host(settings, host: str) -> None:
    """Demo mode signs tokens with the default secret, which is public (it is in the
    repository): on an address other computers reach, anyone could sign an admin's
    token.  Refuse it there."""
    from geogrid.api.config import DEFAULT_SECRET
    from geogrid.errors import InputError

    if settings.demo and settings.secret_key == DEFAULT_SECRET and not _loopback(host):
        raise InputError(f"demo mode signs log-in tokens with the default GEOGRID_SECRET_KEY, which is "
                         f"public: serve it on --host 127.0.0.1, not {host}, or set GEOGRID_SECRET_KEY "
                         "to a long random value (and, in production, leave GEOGRID_DEMO unset)")


def _loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def _check_basemap(settings) -> None:
    """Refuse a ``GEOGRID_BASEMAP`` that is none of geogrid's (a typo showed a map with no
    basemap, and nothing said why); warn of Tianditu without its key, which the web map
    cannot draw."""
    from geogrid.basemaps import NAMES, basemap
    from geogrid.errors import InputError

    try:
        basemap(settings.basemap, tianditu_key=settings.tianditu_key or "key")
    except InputError:
        raise InputError(f"GEOGRID_BASEMAP {settings.basemap!r} is not one of geogrid's basemaps: "
                         f"{', '.join(NAMES)}") from None
    if str(settings.basemap).strip().lower() == "tianditu" and not settings.tianditu_key:
        typer.echo("geogrid: warning: GEOGRID_BASEMAP is tianditu but GEOGRID_TIANDITU_KEY is not set: "
                   "the web map draws no basemap until it is", err=True)


def _say_where_the_photos_go(settings) -> None:
    """Name the directory of the issue photos (``GEOGRID_DATA_DIR``), and warn when it is
    relative: it is then read from the directory the server was started in, so a server
    started by systemd (from ``/``) writes into ``/var/issues`` and a restart from
    another directory finds none of the photos stored before."""
    from pathlib import Path

    where = Path(settings.data_dir).expanduser()
    if where.is_absolute():
        typer.echo(f"geogrid: issue photos in {where}", err=True)
        return
    typer.echo(f"geogrid: warning: GEOGRID_DATA_DIR is relative ({settings.data_dir}): issue photos "
               f"go to {where.resolve()}, from the directory the server was started in; set it to "
               "an absolute path, or a server started elsewhere will not find them", err=True)


def _check_schema(engine) -> None:
    """Refuse a database at another geogrid's schema (``geogrid db upgrade`` forgotten
    after installing a new version), as every other command does, before anything
    listens: served, each request touching a changed table would fail.  A database that
    cannot be reached now is no reason not to start: the server answers 503 until it
    can (and recovers by itself), as it does when it goes away later."""
    from geogrid.db.migrate import require_current

    try:
        with engine.connect():
            pass
    except Exception as exc:  # noqa: BLE001 - unreachable now, for whatever reason
        typer.echo(f"geogrid: warning: {exc}; serving anyway (503 until it can be reached)", err=True)
        engine.dispose()
        return
    try:
        require_current(engine)
    finally:
        engine.dispose()


def _proxy_options(ips: str) -> dict:
    """uvicorn's options for the reverse proxies ``ips`` (``GEOGRID_API_FORWARDED_ALLOW_IPS``).

    None (the default): X-Forwarded-* are ignored, whoever sends them, and the client is
    the peer of the connection.  Behind a proxy that peer is the proxy, so every audit
    row would name it and every link say http: list it, and uvicorn takes the client's
    address and scheme from the headers of those connections only."""
    ips = ",".join(p.strip() for p in (ips or "").split(",") if p.strip())
    if not ips:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ips}


def _workers_with_own_sockets(config, host: str, port: int):
    """uvicorn's supervisor (:class:`uvicorn.supervisors.Multiprocess`), each worker
    listening on a socket of its own, all bound to the same port with ``SO_REUSEPORT``.

    With one socket shared by every worker, the worker whose event loop is free first
    accepts whatever arrives: 50 keep-alive clients connecting at once were split 40:10
    between two workers, so four fifths of them queued behind one core while the other
    idled (p95 house latency 124 ms at 940 requests/s).  With a socket each the kernel
    spreads the connections over the workers by their address hash.

    Each time the supervisor starts a worker (at start, and when it replaces one) it
    takes :attr:`sockets`, which binds a new socket for that worker; the supervisor's
    own copy is closed on its next round (every 0.5 s), once the worker has its own, so
    a dead worker's socket does not outlive it.
    """
    from uvicorn.supervisors import Multiprocess

    class WorkersWithOwnSockets(Multiprocess):
        def __init__(self):
            self._handed: list = []
            super().__init__(config, sockets=[])

        @property
        def sockets(self):
            sock = listening_socket(host, port, reuse_port=True)
            self._handed.append(sock)
            return [sock]

        @sockets.setter
        def sockets(self, value):  # Multiprocess.__init__ sets it; each worker's is made
            pass

        def keep_subprocess_alive(self) -> None:
            handed, self._handed = self._handed, []
            for sock in handed:
                sock.close()
            super().keep_subprocess_alive()

    return WorkersWithOwnSockets()


def listening_socket(host: str, port: int, *, reuse_port: bool = False):
    """A TCP socket bound to ``host:port``, created with ``IPPROTO_TCP`` as its protocol
    (and with ``reuse_port``, ``SO_REUSEPORT``: one of a group on the same port).

    uvicorn's own ``bind_socket`` leaves the protocol 0, and asyncio sets TCP_NODELAY only
    on connections whose socket says IPPROTO_TCP; without it every response written in
    two parts waited for the client's delayed ACK: 48 ms for a house instead of 3 ms.
    """
    import socket
    import sys

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        typer.echo(f"geogrid: cannot listen on {host}:{port}: {exc.strerror}; is another "
                   "server running there? Choose another --port.", err=True)
        sys.exit(1)
    sock.set_inheritable(True)
    return sock
