"""The application factory: ``create_app(settings)``.

Everything the app needs is built here from settings, never at import time: the engine,
the session factory, the log-in throttle and the reveal rate limiter live on
``app.state``.  Routers are one per resource under ``/api/v1``; the static web map is
mounted at ``/`` last, so it never shadows the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from geogrid import webassets
from geogrid.api.balance import ConnectionBalancer
from geogrid.api.bodylimit import BodySizeLimit
from geogrid.api.config import ApiSettings
from geogrid.api.errors import install_error_handlers
from geogrid.api.householdfeatures import HouseholdFeatures
from geogrid.api.masking import install_log_masking
from geogrid.api.ratelimit import RateLimiter
from geogrid.api.scopecache import ScopeCache
from geogrid.api.security import LoginThrottle, TokenCache, check_secret
from geogrid.api.securityheaders import SecurityHeaders, content_security_policy
from geogrid.api.supervision import run_sweeps
from geogrid.db.audit import GroupCommitWriter, LoopAuditWriter

__all__ = ["create_app", "web_map_dir", "reads_on_loop"]

log = logging.getLogger("geogrid.api")

API_PREFIX = "/api/v1"

_PLACEHOLDER = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>geogrid</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>geogrid 网格化管理</h1>
<p>The web map is not installed here (no <code>web_map/index.html</code>).
The API is running: see <a href="docs">/docs</a> and <a href="openapi.json">/openapi.json</a>,
and <a href="healthz">/healthz</a>.</p>
</body></html>"""


def web_map_dir(api_settings: ApiSettings) -> Path | None:
    """The directory served at ``/``: the setting, else ``web_map/`` here or in the repo."""
    configured = api_settings.web_map_dir or None
    return webassets.web_map_dir(configured, holding=None if configured else "index.html")


def create_app(settings=None, *, engine=None, api_settings: ApiSettings | None = None,
               issue_settings=None, clock=None) -> FastAPI:
    """Build the geogrid API.

    Parameters
    ----------
    settings : geogrid.settings.Settings, optional
        Read from the environment when omitted.
    engine : sqlalchemy.engine.Engine, optional
        Use this engine instead of making one from ``settings.database_url`` (tests).
    api_settings : ApiSettings, optional
        Limits and lifetimes; read from ``GEOGRID_API_*`` when omitted.
    issue_settings : geogrid.issues.config.IssueSettings, optional
        Photo limits and the category catalogue; read from ``GEOGRID_ISSUES_*`` when omitted.
    clock : geogrid.issues.deadlines.Clock, optional
        What "now" is for deadlines and supervision (tests pass a fixed clock).

    Raises
    ------
    geogrid.errors.InputError
        If the secret key is the default and demo mode is off.
    """
    from geogrid import __version__
    from geogrid.db.engine import autocommit, make_engine, make_sessionmaker

    if settings is None:
        from geogrid.settings import get_settings

        settings = get_settings()
    api_settings = api_settings or ApiSettings()
    check_secret(settings.secret_key, settings.demo)
    own_engine = engine is None
    if engine is None:
        # Pools per worker process (``geogrid serve --workers N`` has N of them): one
        # connection per worker thread (``GEOGRID_API_THREADS``; every route that touches
        # the database runs on them) plus a few, kept open rather than opened and closed
        # per request: a new SQLite connection loads mod_spatialite, a new PostgreSQL one
        # forks a server process.  2 workers x (12 + 10) stay well inside PostgreSQL's
        # default max_connections of 100.
        kwargs = {}
        size = api_settings.threads + 4
        if settings.database_url.startswith("postgresql"):
            kwargs = {"pool_size": size, "max_overflow": 10, "pool_timeout": 10}
        elif settings.database_url.startswith("sqlite") and ":memory:" not in settings.database_url:
            kwargs = {"pool_size": size, "max_overflow": 10, "pool_timeout": 30}
        engine = make_engine(settings, **kwargs)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        install_log_masking()
        anyio.to_thread.current_default_thread_limiter().total_tokens = api_settings.threads
        # overdue issues flagged as supervised (督办) without anyone asking (api/supervision.py)
        interval = app.state.issues.settings.supervision_interval_s
        sweeps = asyncio.create_task(run_sweeps(app, interval)) if interval > 0 else None
        yield
        if sweeps is not None:
            sweeps.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeps
        app.state.loop_audit.close()
        if own_engine:
            engine.dispose()

    app = FastAPI(
        title="geogrid API",
        version=__version__,
        description=(
            "Grid governance (网格化管理): areas, plans, micro-grids, cells, households and "
            "residents, scoped to the caller's part of the grid tree.  Personal fields are "
            "masked; `POST /api/v1/persons/{id}/reveal` with a purpose returns full values "
            "to roles allowed to see them, and is audited.  Log in at "
            "`POST /api/v1/auth/token` (OAuth2 password flow).\n\n"
            "Errors answer `{\"detail\": English sentence, \"code\": class of error, "
            "\"errors\": [...]}`; a refusal a user meets (a draft that breaks rules, a "
            "stale `If-Match`, a locked cell, an issue action its state does not allow, a "
            "photo too large, a locked account...) also carries `\"message\": {\"key\": "
            "\"plan.publish_has_errors\", \"params\": {...}}`: a stable key and the values "
            "of the sentence (codes and ids as they are), for a client to word it in its "
            "user's language.  A refusal with no `message` is worded by `detail` only."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.api_settings = api_settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    # the hot read routes (deps.request_context): reads and their audit insert in
    # autocommit, so no BEGIN / COMMIT / ROLLBACK statements around them
    app.state.read_sessionmaker = make_sessionmaker(autocommit(engine))
    app.state.token_cache = TokenCache(settings.secret_key)
    app.state.throttle = LoginThrottle(
        free_failures=api_settings.login_free_failures,
        base_delay_s=api_settings.login_base_delay_s,
        max_failures=api_settings.login_max_failures,
        lockout_s=api_settings.lockout_minutes * 60,
    )
    app.state.reveal_limiter = RateLimiter(api_settings.reveal_per_hour, 3600.0)
    app.state.aggregate_cache = {}
    app.state.household_features = HouseholdFeatures()
    app.state.scope_cache = ScopeCache()
    app.state.audit_writer = GroupCommitWriter()
    app.state.loop_audit = LoopAuditWriter(engine)
    app.state.reads_on_loop = reads_on_loop(api_settings.reads_on_loop, engine)
    # PostgreSQL through psycopg: the hot reads send their main query with the account
    # query, in one round trip (deps.request_context, prepared.pipelined)
    app.state.pipelined = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"

    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=api_settings.max_body_bytes)
    app.add_middleware(ConnectionBalancer, enabled=api_settings.balance_connections)
    # last added, so outermost: its headers go on the 413s and the balancer's answers too
    app.add_middleware(SecurityHeaders, policy=content_security_policy(settings))

    from geogrid.api.routes import (
        areas, audit, auth, grid, health, householdedits, households, meta, persons, planedit, plans, removals,
        search,
    )

    app.include_router(health.router)
    # The routers are tried in this order for every request: the hot reads (households)
    # first, so they are found after one router instead of seven.
    for module in (households, auth, meta, areas, plans, planedit, grid, persons, search, audit, removals,
                   householdedits):
        app.include_router(module.router, prefix=API_PREFIX)

    from geogrid.api.routes.issues import include_issue_routes

    include_issue_routes(app, issue_settings=issue_settings, clock=clock)  # /api/v1/issues, /api/v1/api-keys, /open311/v2

    static = web_map_dir(api_settings)
    if static is not None and (static / "index.html").is_file():
        app.mount("/", StaticFiles(directory=static, html=True), name="web_map")
    else:
        @app.get("/", include_in_schema=False, response_class=HTMLResponse)
        def index() -> str:
            return _PLACEHOLDER

        if static is not None:
            app.mount("/static", StaticFiles(directory=static), name="web_map")
    return app


def reads_on_loop(setting: str, engine) -> bool:
    """Whether the hot read routes run on the event loop (``GEOGRID_API_READS_ON_LOOP``).

    ``auto``: when every read is a local call that answers in microseconds, so blocking
    the loop for it costs less than a hop to the thread pool: SQLite, and PostgreSQL on
    this machine (a Unix socket or a loopback address).  A database across a network
    would hold the loop for a round trip per statement, so its reads go to the pool.
    """
    if setting != "auto":
        return setting == "always"
    if engine.dialect.name == "sqlite":
        return True
    host = engine.url.host or engine.url.query.get("host") or ""  # libpq: ?host=/socket/dir
    host = (host if isinstance(host, str) else host[0]).strip("[]")
    return host in ("", "localhost", "::1") or host.startswith(("/", "127."))


def _factory() -> FastAPI:
    """``uvicorn --factory geogrid.api.app:_factory`` (used by ``geogrid serve --workers N``)."""
    return create_app()
