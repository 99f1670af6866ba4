"""Routing at and near boundaries, deadlines and supervision with a controllable clock,
the inbox, concurrent handlers and a property test of the repository, on both back-ends."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import select

from geogrid.db import issues as repo
from geogrid.db.engine import make_sessionmaker, session_scope
from geogrid.db.issue_models import Issue, IssueEvent
from geogrid.errors import ConflictError, InputError, PermissionDeniedError
from geogrid.issues.catalogue import default_catalogue
from geogrid.issues.deadlines import FixedClock
from geogrid.issues.workflow import Actor, Target, check_invariants
from tests.issues.conftest import COUNTY, D, T0, V1, V2, X0, Y0, point

CAT = default_catalogue()
M_PER_DEG_LON = 111_320 * 0.8886  # cos(27.3 deg)


def _route(session, lon, lat, tol=5.0):
    return repo.route(session, lon, lat, county_code=COUNTY, tolerance_m=tol)


# --- routing ---------------------------------------------------------------------------------
def test_routing_inside_cells(iworld, session):
    r = _route(session, *point(V1, 0))
    assert (r.village_code, r.microgrid_key, r.cell_key) == (V1, f"{V1}-M01", f"{V1}-M01-C01")
    assert r.plan_id == iworld.plan_id and r.near_boundary is False
    assert r.boundary_distance_m > 100
    r = _route(session, *point(V2, 1))
    assert r.cell_key == f"{V2}-M01-C02" and r.town_code == "431227101000"


@pytest.mark.parametrize("metres,flagged", [(0.0, True), (2.0, True), (4.5, True), (6.0, False),
                                            (30.0, False)])
def test_routing_near_the_cell_boundary(iworld, session, metres, flagged):
    edge = X0 + D / 2  # between V1's west and east cells
    lon = edge - metres / M_PER_DEG_LON
    r = _route(session, lon, Y0 + D / 2)
    assert r.cell_key == f"{V1}-M01-C01"  # on the edge: the smaller key, deterministically
    assert r.near_boundary is flagged
    if flagged:
        assert f"{V1}-M01-C02" in r.alternatives or metres > 0


def test_routing_near_the_village_boundary(iworld, session):
    edge = X0 + D  # between V1 and V2
    r = _route(session, edge + 1.0 / M_PER_DEG_LON, Y0 + D / 2)
    assert r.village_code == V2 and r.near_boundary is True
    assert V1 in r.alternatives


def test_routing_just_inside_and_outside_the_county(iworld, session):
    r = _route(session, X0 + 0.5 / M_PER_DEG_LON, Y0 + D / 2)
    assert r.cell_key == f"{V1}-M01-C01" and r.near_boundary is True
    with pytest.raises(repo.OutsideCountyError, match="outside county"):
        _route(session, X0 - 3.0 / M_PER_DEG_LON, Y0 + D / 2)
    with pytest.raises(InputError):
        _route(session, 200.0, 27.0)


# --- deadlines, supervision and the inbox ----------------------------------------------------------
def _new(session, category="sanitation", where=None, reporter=None, now=T0):
    lon, lat = where or point(V1, 0)
    return repo.create_issue(session, category=CAT.get(category), lon=lon, lat=lat,
                             routing=_route(session, lon, lat), reporter_id=reporter,
                             reporter_name="test", now=now)


def _act(session, issue_id, actor, action, now, **kw):
    return repo.transition(session, issue_id, actor, actor.user_id, action, now=now,
                           catalogue=CAT, **kw)


def test_deadline_supervision_and_inbox(iworld, session, user_ids):
    clock = FixedClock(T0)
    cell = Actor(user_ids["cell1"], "cadre", "cell", True)
    issue = _new(session, reporter=user_ids["cell1"], now=clock.now())
    _act(session, issue.id, cell, "accept", clock.now())
    _act(session, issue.id, cell, "dispatch", clock.now(),
         target=Target("cell", user_id=user_ids["cell1"]))
    session.commit()
    assert issue.due_at == T0 + dt.timedelta(days=3)

    def inbox(name, level):
        from geogrid.api.issueaccess import issues_clause
        from geogrid.api.scope import Principal, resolve_scope
        from geogrid.db.models import User

        u = session.execute(select(User).where(User.username == name)).scalar_one()
        scope = resolve_scope(session, Principal(u.id, u.username, u.role, tuple(u.scopes)),
                              county_code=COUNTY)
        return {(reason, r.id) for reason, r in repo.inbox_rows(
            session, user_id=u.id, role=u.role, level=level, where=issues_clause(scope),
            now=clock.now())}

    assert inbox("cell1", "cell") == {("handle", issue.id)}
    assert inbox("cadre1", "village") == set()  # not overdue: the village is not bothered

    clock.advance(days=2, hours=23)
    assert repo.supervise_overdue(session, now=clock.now(), catalogue=CAT) == []
    clock.advance(hours=2)
    assert repo.supervise_overdue(session, now=clock.now(), catalogue=CAT) == [issue.id]
    assert repo.supervise_overdue(session, now=clock.now(), catalogue=CAT) == []  # once
    session.commit()
    got = repo.get_issue(session, issue.id)
    assert got.supervised and got.supervision_level == "village" and got.version == 3
    assert inbox("cadre1", "village") == {("supervise", issue.id)}
    assert ("supervise", issue.id) in inbox("town", "town")
    assert inbox("cadre2c", "cell") == set()
    # overdue for another full deadline: the town supervises too
    clock.advance(days=3)
    assert repo.supervise_overdue(session, now=clock.now(), catalogue=CAT) == [issue.id]
    assert repo.get_issue(session, issue.id).supervision_level == "town"
    actions = [e.action for e in repo.events(session, issue.id)]
    assert actions.count("supervise") == 2
    # resolved issues are not supervised any more
    _act(session, issue.id, cell, "start", clock.now())
    assert repo.supervise_overdue(session, now=clock.now(), catalogue=CAT) == []


def test_reopen_restarts_the_deadline(iworld, session, user_ids):
    admin = Actor(user_ids["admin"], "admin", "county", True)
    issue = _new(session)
    _act(session, issue.id, admin, "reject", T0, reason="invalid")
    later = T0 + dt.timedelta(days=10)
    got, _ = _act(session, issue.id, admin, "reopen", later)
    assert got.status == "reported" and got.due_at == later + dt.timedelta(days=3)


# --- concurrency ---------------------------------------------------------------------------------
def test_two_handlers_at_once_exactly_one_wins(engine, iworld, user_ids):
    factory = make_sessionmaker(engine)
    with session_scope(factory, write=True) as s:
        iid = _new(s).id
        _act(s, iid, Actor(user_ids["admin"], "admin", "county", True), "accept", T0)
    actors = [Actor(user_ids["cadre1"], "cadre", "village", True),
              Actor(user_ids["cell1"], "cadre", "cell", True)]
    barrier = threading.Barrier(2)
    results = [None, None]

    def go(i):
        try:
            with session_scope(factory, write=False) as s:
                issue = repo.get_issue(s, iid)  # both read version 2 first
                barrier.wait()
                _act(s, iid, actors[i], "dispatch", T0, expected_version=issue.version,
                     target=Target("cell", user_id=actors[i].user_id))
            results[i] = "ok"
        except ConflictError as exc:
            results[i] = type(exc).__name__
        except Exception as exc:  # SQLite: the loser may find the database locked
            results[i] = f"error: {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count("ok") == 1, results
    with factory() as s:
        got = repo.get_issue(s, iid)
        assert got.version == 3 and got.status == "dispatched"
        assert [e.action for e in repo.events(s, iid)] == ["report", "accept", "dispatch"]


# --- property: the stored issue is always valid ----------------------------------------------------
ACTIONS = ("accept", "reject", "dispatch", "start", "resolve", "verify", "close", "rate",
           "reopen", "escalate", "proof")


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=True)
@given(steps=st.lists(st.tuples(st.sampled_from(["admin", "cadre1", "cell1", "cell1b", "town"]),
                                st.sampled_from(ACTIONS)), min_size=1, max_size=25))
def test_no_sequence_of_calls_stores_an_invalid_issue(engine, iworld, user_ids, steps):
    from geogrid.issues.photos import ProcessedPhoto

    levels = {"admin": "county", "cadre1": "village", "cell1": "cell", "cell1b": "cell",
              "town": "town"}
    factory = make_sessionmaker(engine)
    now = T0
    with session_scope(factory, write=True) as s:
        iid = _new(s, reporter=user_ids["cell1"]).id
    ok = 0
    for name, action in steps:
        now += dt.timedelta(hours=1)
        actor = Actor(user_ids[name], "admin" if name == "admin" else "cadre", levels[name],
                      covers=name != "cell1b")
        kw = {"reject": {"reason": "invalid"}, "close": {"note": "答复"}, "rate": {"rating": 3},
              "dispatch": {"target": Target("cell", user_id=user_ids["cell1"])}}.get(action, {})
        try:
            with session_scope(factory, write=True) as s:
                if action == "proof":
                    issue = repo.get_issue(s, iid)
                    photo = ProcessedPhoto(b"x", b"y", "image/png", "png", 1, 1, "0" * 64)
                    repo.add_photo(s, issue, photo_id=f"p{now:%d%H}", kind="proof", path="a",
                                   thumb_path="b", processed=photo, uploaded_by=None,
                                   actor_name=name, now=now)
                    continue
                _act(s, iid, actor, action, now, **kw)
                ok += 1
        except (InputError, PermissionDeniedError, ConflictError):
            pass
        with factory() as s:
            issue = repo.get_issue(s, iid)
            check_invariants(repo.state_of(s, issue))
            assert issue.version == 1 + ok
            events = s.execute(select(IssueEvent.action).where(IssueEvent.issue_id == iid,
                                                               IssueEvent.action.not_in(("report", "photo")))).all()
            assert len(events) == ok
    with session_scope(factory, write=True) as s:
        s.query(IssueEvent).filter(IssueEvent.issue_id == iid).delete()
        from geogrid.db.issue_models import IssuePhoto

        s.query(IssuePhoto).filter(IssuePhoto.issue_id == iid).delete()
        s.query(Issue).filter(Issue.id == iid).delete()
