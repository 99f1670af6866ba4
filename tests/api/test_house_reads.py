"""The hot house read (``GET /households/{id}``): one query for the account and the scope
stamp, one for the house and its residents, claims cached per token.  What it must keep:
account changes seen at once by every worker, scope answers, the audit guarantee.

Every test runs with the route body on the event loop with its audit writer
(``GEOGRID_API_READS_ON_LOOP=always``, what ``auto`` picks for a local database) and in
the thread pool with the group commit (``never``), on both back-ends."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, event, select, update

from tests.api.conftest import SECRET, USERS, V1, V2


@pytest.fixture(params=["always", "never"])
def api_settings(request):
    from geogrid.api.config import ApiSettings

    return ApiSettings(login_free_failures=2, login_base_delay_s=0.0, login_max_failures=5,
                       reveal_per_hour=1000, max_body_bytes=100_000, reads_on_loop=request.param)


def test_the_route_body_runs_where_the_setting_says(app, api_settings):
    assert app.state.reads_on_loop is (api_settings.reads_on_loop == "always")


@pytest.mark.parametrize("url, local", [
    ("sqlite:///x.sqlite", True), ("postgresql+psycopg://u@127.0.0.1:5432/g", True),
    ("postgresql+psycopg://u@localhost/g", True), ("postgresql+psycopg://u@[::1]:5432/g", True),
    ("postgresql+psycopg:///g?host=/var/run/postgresql", True),
    ("postgresql+psycopg://u@db.example.org/g", False),
    ("postgresql+psycopg:///g?host=db.example.org", False),
    ("postgresql+psycopg://u@10.0.0.5:5432/g", False),
])
def test_auto_puts_the_reads_on_the_loop_for_a_local_database_only(url, local):
    from sqlalchemy import create_engine

    from geogrid.api.app import reads_on_loop

    engine = create_engine(url)
    assert reads_on_loop("auto", engine) is local
    assert reads_on_loop("always", engine) is True and reads_on_loop("never", engine) is False


def _second_worker(db_url, api_settings):
    """Another app on its own engine: what a second ``geogrid serve`` worker process holds
    (its own token, scope and statement caches, its own pool)."""
    from geogrid.api import create_app
    from geogrid.settings import Settings

    return create_app(Settings(database_url=db_url, secret_key=SECRET, demo=False,
                               sqlite_busy_timeout_ms=10_000), api_settings=api_settings)


@pytest.fixture
def workers(client, db_url, api_settings):
    with TestClient(_second_worker(db_url, api_settings)) as other:
        yield client, other


def _statuses(workers, path, headers):
    return [c.get(path, headers=headers).status_code for c in workers]


def _set_user(engine, username, **values):
    from geogrid.db.engine import session_scope
    from geogrid.db.models import User

    with session_scope(engine, write=True) as s:
        s.execute(update(User).where(User.username == username).values(**values))


def test_scope_change_reaches_every_worker_at_once(workers, engine, tokens, world):
    v1, v2 = world.households[V1][0], world.households[V2][0]
    h = tokens["cadre1"]
    for _ in range(2):  # warm every cache of both workers
        assert _statuses(workers, f"/api/v1/households/{v1}", h) == [200, 200]
        assert _statuses(workers, f"/api/v1/households/{v2}", h) == [404, 404]
    _set_user(engine, "cadre1", scopes=[f"area:{V2}"])
    assert _statuses(workers, f"/api/v1/households/{v1}", h) == [404, 404]
    assert _statuses(workers, f"/api/v1/households/{v2}", h) == [200, 200]
    _set_user(engine, "cadre1", scopes=[])  # no scope at all: nothing
    assert _statuses(workers, f"/api/v1/households/{v2}", h) == [404, 404]


def test_a_bbox_page_follows_a_scope_change_at_once(workers, engine, tokens, world):
    """The page query is sent ahead under the last request's scope (PostGIS); after a
    scope change that guess must not answer."""
    h = tokens["cadre1"]
    box = "-180,-90,180,90"

    def ids(c):
        r = c.get(f"/api/v1/households?bbox={box}&limit=1000", headers=h)
        assert r.status_code == 200
        return {f["id"] for f in r.json()["features"]}

    for _ in range(2):
        assert [ids(c) for c in workers] == [set(world.households[V1])] * 2
    _set_user(engine, "cadre1", scopes=[f"area:{V2}"])
    assert [ids(c) for c in workers] == [set(world.households[V2])] * 2


def test_the_house_query_rides_with_the_account_query_on_postgis(client, engine, tokens, world,
                                                                   monkeypatch):
    """PostGIS: from the second read on, the house query is not run on its own: it went
    with the account query (the rows are still the right ones)."""
    from geogrid.db.prepared import Prepared

    if engine.dialect.name != "postgresql":
        pytest.skip("pipeline mode is PostgreSQL's")
    alone = []
    run = Prepared._run

    def spy(self, conn, c, params, *, fetch):
        if "persons" in c.sql and "household_id" in (params or {}):
            alone.append(params["household_id"])
        return run(self, conn, c, params, fetch=fetch)

    monkeypatch.setattr(Prepared, "_run", spy)
    a, b = world.households[V1][:2]
    first = client.get(f"/api/v1/households/{a}", headers=tokens["cadre1"]).json()
    second = client.get(f"/api/v1/households/{b}", headers=tokens["cadre1"]).json()
    assert first["id"] == a and second["id"] == b
    assert len(second["properties"]["residents"]) == 2
    assert alone == [a]


def test_role_change_reaches_every_worker_at_once(workers, tokens, engine, world):
    hid = world.households[V1][0]
    h = tokens["cadre1"]
    for c in workers:
        assert len(c.get(f"/api/v1/households/{hid}", headers=h).json()["properties"]["residents"]) == 2
    _set_user(engine, "cadre1", role="planner")  # households, but no residents
    for c in workers:
        props = c.get(f"/api/v1/households/{hid}", headers=h).json()["properties"]
        assert "residents" not in props and props["residents_count"] == 2
    _set_user(engine, "cadre1", role="analyst")  # no households at all
    assert _statuses(workers, f"/api/v1/households/{hid}", h) == [403, 403]


def test_a_deleted_account_is_refused_by_every_worker_at_once(workers, tokens, engine, world):
    from geogrid.db.engine import session_scope
    from geogrid.db.models import User

    hid = world.households[V1][0]
    h = tokens["cadre1"]
    assert _statuses(workers, f"/api/v1/households/{hid}", h) == [200, 200]
    with session_scope(engine, write=True) as s:
        s.execute(delete(User).where(User.username == "cadre1"))
    assert _statuses(workers, f"/api/v1/households/{hid}", h) == [401, 401]
    assert _statuses(workers, f"/api/v1/households?village={V1}", h) == [401, 401]


def test_a_published_plan_change_reaches_cell_scopes_at_once(workers, tokens, engine, world):
    """cadre2c's scope is a cell key of the published plan: unpublishing it empties the
    scope in every worker (the plan is part of the stamp read with the account)."""
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Plan

    hid = next(h for h, key in world.cell_of.items() if key == f"{V2}-M01-C02")
    h = tokens["cadre2c"]
    assert _statuses(workers, f"/api/v1/households/{hid}", h) == [200, 200]
    with session_scope(engine, write=True) as s:
        s.execute(update(Plan).where(Plan.id == world.plan_id).values(status="archived"))
    assert _statuses(workers, f"/api/v1/households/{hid}", h) == [404, 404]


@pytest.mark.parametrize("username", sorted(USERS))
def test_one_query_answers_as_the_separate_ones(engine, world, username):
    """``household_with_residents`` = ``get_household`` + ``residents``, for every user and
    every household (in scope or not), with and without a plan."""
    from geogrid.api import queries
    from geogrid.api.scope import Principal, resolve_scope
    from geogrid.db.engine import make_sessionmaker
    from geogrid.db.models import Household, User
    from geogrid.errors import NotFoundError

    with make_sessionmaker(engine)() as s:
        u = s.execute(select(User).where(User.username == username)).scalar_one()
        scope = resolve_scope(s, Principal(u.id, u.username, u.role, tuple(u.scopes)))
        ids = s.scalars(select(Household.id)).all()
        assert ids
        for plan_id in (world.plan_id, None):
            found = 0
            for hid in ids:
                try:
                    want = queries.get_household(s, scope, hid, plan_id=plan_id)
                except NotFoundError:
                    with pytest.raises(NotFoundError):
                        queries.household_with_residents(s, scope, hid, plan_id=plan_id)
                    continue
                found += 1
                row, people = queries.household_with_residents(s, scope, hid, plan_id=plan_id)
                assert tuple(row[:len(want)]) == tuple(want)
                assert [tuple(p) for p in people] == [tuple(p) for p in queries.residents(s, hid)]
                assert len(people) == 2
            if u.role == "admin":
                assert found == len(ids)


def test_a_household_without_residents_answers_with_none(client, engine, tokens, world):
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Person

    hid = world.households[V1][0]
    with session_scope(engine, write=True) as s:
        s.execute(delete(Person).where(Person.household_id == hid))
    props = client.get(f"/api/v1/households/{hid}", headers=tokens["cadre1"]).json()["properties"]
    assert props["residents"] == [] and props["residents_count"] == 0


def test_a_failed_audit_commit_is_503_without_data(client, app, engine, tokens, world):
    """The read's audit row fails to commit (the database refuses it): 503, no personal
    field in the answer, and no row of it in the log.

    The refusal is a trigger in the database itself: the hot read path runs its
    statements on the DB-API cursor (geogrid.db.prepared), past SQLAlchemy's events."""
    from geogrid.db import audit
    from geogrid.db.engine import make_sessionmaker

    hid = world.households[V1][0]
    if engine.dialect.name == "sqlite":
        create = ["CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log "
                  "BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END"]
        drop = ["DROP TRIGGER refuse_audit"]
    else:
        create = ["CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
                  "$$ BEGIN RAISE EXCEPTION 'disk I/O error (injected)'; END $$",
                  "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log "
                  "FOR EACH ROW EXECUTE FUNCTION refuse_audit()"]
        drop = ["DROP TRIGGER refuse_audit ON audit_log", "DROP FUNCTION refuse_audit()"]

    def run(statements):
        with engine.begin() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)

    with make_sessionmaker(engine)() as s:
        before = audit.count(s, object_id=hid)
    run(create)
    try:
        r = client.get(f"/api/v1/households/{hid}", headers=tokens["cadre1"])
    finally:
        run(drop)
    assert r.status_code == 503, r.text
    assert "residents" not in r.text and "household_no" not in r.text
    with make_sessionmaker(engine)() as s:
        assert audit.count(s, object_id=hid) == before
    r = client.get(f"/api/v1/households/{hid}", headers=tokens["cadre1"])  # not wedged
    assert r.status_code == 200
    with make_sessionmaker(engine)() as s:
        assert audit.count(s, object_id=hid) == before + 1


def test_token_cache_checks_expiry_on_every_use():
    import datetime as dt

    from geogrid.api.errors import AuthenticationError
    from geogrid.api.security import TokenCache, issue_token

    now = [dt.datetime.now(dt.UTC).timestamp()]
    cache = TokenCache(SECRET, clock=lambda: now[0])
    token, seconds = issue_token(SECRET, user_id="u1", username="u", role="cadre", password_hash="h",
                                 minutes=1)
    assert cache.claims(token)["sub"] == "u1"
    assert cache.claims(token)["sub"] == "u1"  # from the cache
    now[0] += seconds + 1
    with pytest.raises(AuthenticationError, match="expired"):
        cache.claims(token)
    with pytest.raises(AuthenticationError, match="expired"):
        cache.claims(token)


def test_token_cache_never_takes_a_bad_token_for_a_good_one():
    from geogrid.api.errors import AuthenticationError
    from geogrid.api.security import TokenCache, issue_token

    cache = TokenCache(SECRET, maxsize=2)
    good, _ = issue_token(SECRET, user_id="u1", username="u", role="cadre", password_hash="h", minutes=5)
    assert cache.claims(good)["sub"] == "u1"
    forged, _ = issue_token("another-secret-0123456789", user_id="u1", username="u", role="admin",
                            password_hash="h", minutes=5)
    tampered = good[:-2] + ("AA" if good[-2:] != "AA" else "BB")
    for bad in (forged, tampered, good + "x", "", "a.b.c"):
        for _ in range(2):  # refused again, not remembered
            with pytest.raises(AuthenticationError):
                cache.claims(bad)
    for i in range(5):  # past maxsize: still right
        t, _ = issue_token(SECRET, user_id=f"v{i}", username="v", role="cadre", password_hash="h",
                           minutes=5)
        assert cache.claims(t)["sub"] == f"v{i}"
    assert cache.claims(good)["sub"] == "u1"


def test_expired_token_is_401_after_it_was_cached(client, app, engine, world):
    import datetime as dt

    from geogrid.api.security import issue_token
    from geogrid.db.models import User

    with engine.connect() as conn:
        uid, pw = conn.execute(select(User.id, User.password_hash).where(User.username == "cadre1")).one()
    token, _ = issue_token(SECRET, user_id=uid, username="cadre1", role="cadre", password_hash=pw, minutes=1,
                           now=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=58))
    h = {"Authorization": f"Bearer {token}"}
    hid = world.households[V1][0]
    assert client.get(f"/api/v1/households/{hid}", headers=h).status_code == 200
    app.state.token_cache._clock = lambda: dt.datetime.now(dt.UTC).timestamp() + 5
    r = client.get(f"/api/v1/households/{hid}", headers=h)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
