"""``partition_register`` and ``geogrid partition`` without a file, as the review found
them: a subset run that invented an outline for a village with none, an unknown
village code reported as an empty register, and SpatiaLite's write lock held for the
whole computation instead of only for the save."""

from __future__ import annotations

import contextlib

import pytest
from db_registers import COUNTY, V1, V2, make_households, make_villages
from shapely.geometry import Point, box
from sqlalchemy import text

from geogrid.cli import main
from geogrid.db import areas, households as hh_repo, plans, registerpartition
from geogrid.db.engine import make_engine, session_scope
from geogrid.errors import ValidationError
from geogrid.settings import Settings

pytest.importorskip("geogrid.partition")

#: a village with households in the register and no outline, its houses inside V1
V9 = "431227100299"
PARAMS = dict(max_households=20, seed=0, engine="serial")


def _register(engine, *, outlines=True, stray=10):
    with session_scope(engine, write=True) as s:
        if outlines:
            areas.upsert_areas(s, make_villages(), "village")
        hh_repo.upsert_households(s, make_households(40))
        if stray:
            extra = make_households(stray, prefix="N")
            extra["village_code"] = V9
            extra["geometry"] = [Point(109.02 + 0.004 * i, 27.05) for i in range(stray)]
            hh_repo.upsert_households(s, extra)


def _partition(engine, **kwargs):
    with session_scope(engine, write=True) as s:
        return registerpartition.partition_register(s, name="p", **PARAMS, **kwargs)


def _no_village(saved):
    return [d for d in saved.result.diagnostics if d["kind"] == "no_village"]


def test_a_subset_leaves_a_village_without_outline_out_as_the_whole_register_does(engine):
    """Before, the subset run passed no outlines to the engine, which derived one for V9
    from its households: micro-grids lying inside V1."""
    _register(engine)
    whole = _partition(engine)
    assert [V9 in d["message"] for d in _no_village(whole)] == [True]
    assert whole.result.figures["households_assigned"] == 40

    subset = _partition(engine, village_codes=[V9])
    assert len(subset.result.microgrids) == 0 and len(subset.result.cells) == 0
    assert [d["message"] for d in _no_village(subset)] == [d["message"] for d in _no_village(whole)]
    assert len(_no_village(subset)[0]["households"]) == 10
    assert subset.plan.county_code == COUNTY  # from the households: no micro-grid names it
    with session_scope(engine) as s:
        assert len(plans.load_plan(s, subset.plan.id).microgrids) == 0

    both = _partition(engine, village_codes=[V1, V9])
    assert set(both.result.microgrids["village_code"]) == {V1}
    assert both.result.figures["households_assigned"] == 20
    assert len(_no_village(both)[0]["households"]) == 10
    v1 = box(109.0, 27.0, 109.1, 27.1)
    assert all(g.difference(v1.buffer(1e-6)).is_empty for g in both.result.microgrids.to_crs(4326).geometry)


def test_outlines_are_derived_only_when_the_register_has_none(engine):
    _register(engine, outlines=False)
    subset = _partition(engine, village_codes=[V9])
    assert set(subset.result.microgrids["village_code"]) == {V9}
    assert subset.result.figures["households_assigned"] == 10
    assert not _no_village(subset)


def test_unknown_village_codes_are_named(engine, db_url, capsys):
    """Before: 'the register has no households to partition; import some first'."""
    _register(engine)
    with pytest.raises(ValidationError, match="no village with code 999 has households in the register"):
        _partition(engine, village_codes=["999"])
    with pytest.raises(ValidationError) as info:
        _partition(engine, village_codes=[V1, "999", "998"])
    assert "no villages with codes 999, 998 have households in the register" in str(info.value)
    assert V1 not in str(info.value)
    with pytest.raises(ValidationError, match="no village codes were given"):
        _partition(engine, village_codes=[])
    assert main(["partition", "--database-url", db_url, "-q", "--village-codes", f"{V2},999"]) == 3
    err = capsys.readouterr().err
    assert "no village with code 999 has households in the register" in err
    assert "Nothing was written" in err
    with session_scope(engine) as s:
        assert plans.list_plans(s) == []


def _idle_in_transaction(conn) -> int:
    return conn.execute(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")).scalar()


def test_others_can_write_while_the_cli_computes_the_partition(engine, db_url, backend, monkeypatch, capsys):
    """While ``geogrid partition`` computes, another writer with a busy timeout of 0.2 s
    edits a household: before, the command held SpatiaLite's write lock (and on PostGIS
    a transaction) from its first read to its commit, and the edit failed with
    'database is locked'.  The plan is still saved, and in one transaction."""
    import geogrid.cli.progress

    _register(engine, stray=0)
    other = make_engine(Settings(database_url=db_url, sqlite_busy_timeout_ms=200))
    seen = {}

    def progress(stage, done, total):
        if seen:
            return
        seen["stage"] = stage
        with session_scope(other, write=True) as s:
            s.execute(text("UPDATE households SET head_name = '改名' WHERE household_no = 'H00000'"))
        if backend == "postgis":
            with other.connect() as conn:
                seen["idle_in_transaction"] = _idle_in_transaction(conn)

    @contextlib.contextmanager
    def fake_bar(quiet=False, console=None):
        yield progress

    monkeypatch.setattr(geogrid.cli.progress, "progress_bar", fake_bar)
    try:
        code = main(["partition", "--database-url", db_url, "-q", "--name", "while editing",
                     "--engine", "serial"])
    finally:
        other.dispose()
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "stage" in seen
    assert seen.get("idle_in_transaction", 0) == 0
    with session_scope(engine) as s:
        head = s.execute(text("SELECT head_name FROM households WHERE household_no = 'H00000'")).scalar()
        assert head == "改名"
        [plan] = plans.list_plans(s)
        assert plan.name == "while editing" and len(plans.load_plan(s, plan.id).households) == 40


def test_a_failed_save_writes_nothing(engine, monkeypatch):
    from geogrid.db import bulk

    _register(engine, stray=0)
    real = bulk.insert_rows

    def failing(session, table, *args, **kwargs):
        if table == "assignments":
            raise RuntimeError("disk full")
        return real(session, table, *args, **kwargs)

    monkeypatch.setattr(bulk, "insert_rows", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        registerpartition.partition_register(engine, name="x", publish=True, **PARAMS)
    with session_scope(engine) as s:
        for table in ("plans", "microgrids", "cells", "assignments"):
            assert s.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0


def test_given_an_engine_it_saves_and_publishes(engine):
    _register(engine)
    first = registerpartition.partition_register(engine, name="first", publish=True, **PARAMS)
    # a plan of some villages does not replace the county's published plan (the others
    # would be left with no published grid): refused, and nothing saved
    with pytest.raises(ValidationError, match="covers villages this plan does not"):
        registerpartition.partition_register(engine, name="part", village_codes=[V9, V2], publish=True, **PARAMS)
    second = registerpartition.partition_register(engine, name="second", publish=True, **PARAMS)
    assert (first.plan.status, second.plan.status) == ("published", "published")
    with session_scope(engine) as s:
        status = {p.name: p.status for p in plans.list_plans(s)}
        assert status == {"first": "archived", "second": "published"}
    part = registerpartition.partition_register(engine, name="part", village_codes=[V9, V2], **PARAMS)
    assert part.plan.status == "draft"
    with session_scope(engine) as s:
        assert len(plans.load_plan(s, part.plan.id).households) == 20
    assert len(_no_village(part)[0]["households"]) == 10


def test_a_plan_of_some_villages_does_not_replace_the_countys_published_plan(engine):
    """Before: publishing a plan of some villages archived the county's published plan,
    and the other villages were left with no published grid."""
    _register(engine)
    whole = registerpartition.partition_register(engine, name="whole", publish=True, **PARAMS)
    part = registerpartition.partition_register(engine, name="part", village_codes=[V2], **PARAMS)
    with session_scope(engine, write=True) as s, pytest.raises(ValidationError, match=V1):
        plans.publish(s, part.plan.id)
    with session_scope(engine) as s:
        assert {p.name: p.status for p in plans.list_plans(s)} == {"whole": "published", "part": "draft"}
    # a draft of the published plan, which covers every village, publishes
    with session_scope(engine, write=True) as s:
        copy = plans.copy_plan(s, whole.plan.id, "copy")
        plans.publish(s, copy.id)
    with session_scope(engine) as s:
        assert {p.name: p.status for p in plans.list_plans(s)} == {
            "whole": "archived", "part": "draft", "copy": "published"}
