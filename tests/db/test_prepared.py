"""geogrid.db.prepared: statements compiled once and run on the DB-API cursor answer what
SQLAlchemy's own execution answers, on both back-ends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import bindparam, func, insert, select

from geogrid.db.engine import autocommit, make_sessionmaker, session_scope
from geogrid.db.models import Area, AuditEntry, Household
from geogrid.db.prepared import Prepared
from geogrid.errors import DatabaseError


@pytest.fixture
def loaded(engine, villages, households):
    from geogrid.db import areas, households as hh

    with session_scope(engine, write=True) as s:
        areas.upsert_areas(s, villages, "village")
        hh.upsert_households(s, households)
    return engine


def test_rows_match_sqlalchemy_with_types_in_lists_and_literals(loaded):
    from db_registers import V1, V2

    codes = [V1, V2, "nope"]
    stmt = (select(Household.id, Household.village_code, Household.updated_at,
                   func.ST_X(Household.geom).label("lon"), Household.version)
            .where(Household.village_code.in_(codes), Household.care_level != "red",
                   Household.version >= bindparam("v"))
            .order_by(Household.id))
    prepared = Prepared(stmt)
    with make_sessionmaker(loaded)() as s:
        want = [tuple(r) for r in s.execute(stmt, {"v": 1}).all()]
        got = prepared.rows(s, {"v": 1})
        named = prepared.rows(s, {"v": 1}, named=True)
        again = prepared.rows(s, {"v": 10**6})
    assert want and got == want
    assert all(isinstance(r[2], dt.datetime) and r[2].tzinfo is not None for r in got)
    assert [(r.id, r.village_code, r.lon) for r in named] == [(r[0], r[1], r[3]) for r in want]
    assert again == []


def test_a_missing_parameter_is_named(loaded):
    prepared = Prepared(select(Area.code).where(Area.code == bindparam("code")))
    with make_sessionmaker(loaded)() as s, pytest.raises(KeyError, match="code"):
        prepared.rows(s, {})


def test_an_insert_reads_back_as_the_orm_wrote_it(engine):
    from geogrid.db import audit
    from geogrid.db.models import utcnow

    at = utcnow()
    row = {"at": at, "actor": "p", "action": "read", "object_type": None, "object_id": None,
           "result": "ok", "purpose": "核实", "detail": {"k": [1, "二"]}}
    with make_sessionmaker(engine)() as s:
        Prepared(insert(AuditEntry.__table__).values(
            {k: bindparam(k, type_=AuditEntry.__table__.c[k].type) for k in row})).execute(s, row)
        s.commit()
        entry = audit.entries(s)[0]
    assert (entry.actor, entry.purpose, entry.detail) == ("p", "核实", {"k": [1, "二"]})
    assert abs((entry.at - at).total_seconds()) < 1e-3


def test_a_database_error_is_a_database_error_and_the_session_goes_on(loaded):
    bad = Prepared(select(func.no_such_function(Household.id)))
    good = Prepared(select(func.count()).select_from(Household))
    with make_sessionmaker(loaded)() as s:
        with pytest.raises(DatabaseError, match="no_such_function"):
            bad.rows(s)
        s.rollback()
        assert good.rows(s)[0][0] > 0


def test_pipelined_keeps_the_rows_ahead_for_exactly_their_statement(loaded):
    """PostGIS: the statements ahead run in the same round trip and are handed, once, to
    the call with the same statement and parameters; any other call runs its own query.
    SQLite: nothing is run ahead."""
    from db_registers import V1, V2

    from geogrid.db.prepared import _PREFETCHED, pipelined

    first = Prepared(select(func.count()).select_from(Household)
                     .where(Household.village_code == bindparam("v")))
    ahead = Prepared(select(Household.id).where(Household.village_code == bindparam("v"))
                     .order_by(Household.id))
    with make_sessionmaker(autocommit(loaded))() as s:
        want_v1 = ahead.rows(s, {"v": V1})
        want_v2 = ahead.rows(s, {"v": V2})
        assert pipelined(s, first, {"v": V1}, [(ahead, {"v": V1})]) == [(len(want_v1),)]
        kept = s.info.get(_PREFETCHED) or {}
        if loaded.dialect.name == "postgresql":
            assert len(kept) == 1
            assert ahead.rows(s, {"v": V2}) == want_v2  # other parameters: its own query
            assert len(kept) == 1
            assert ahead.rows(s, {"v": V1}) == want_v1  # the rows sent ahead, used once
            assert kept == {}
        else:
            assert kept == {}
        assert ahead.rows(s, {"v": V1}) == want_v1


def test_pipelined_answers_the_first_statement_when_one_ahead_fails(loaded):
    from db_registers import V1

    from geogrid.db.prepared import _PREFETCHED, pipelined

    first = Prepared(select(func.count()).select_from(Household)
                     .where(Household.village_code == bindparam("v")))
    broken = Prepared(select(func.ST_GeomFromText(bindparam("wkt"), 4326)))
    with make_sessionmaker(autocommit(loaded))() as s:
        want = first.rows(s, {"v": V1})
        assert pipelined(s, first, {"v": V1}, [(broken, {"wkt": "not a geometry"})]) == want
        assert not s.info.get(_PREFETCHED)
        assert first.rows(s, {"v": V1}) == want  # the connection goes on
    # in a transaction nothing is sent ahead: a failed guess would abort it
    with make_sessionmaker(loaded)() as s:
        assert pipelined(s, first, {"v": V1}, [(first, {"v": "x"})]) == want
        assert not s.info.get(_PREFETCHED)
