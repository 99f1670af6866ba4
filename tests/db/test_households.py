"""Households: bulk upsert, re-import, optimistic locking, rollback, spatial queries."""

from __future__ import annotations

import pytest
from shapely.geometry import Point
from sqlalchemy import text

from geogrid.db import areas, households as hh_repo
from geogrid.db.engine import make_sessionmaker, session_scope
from geogrid.db.models import Household
from geogrid.errors import ConflictError, ValidationError

from db_registers import V1, V2, make_households, make_villages


def _count(session, table="households"):
    return session.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_add_then_update_counts(session, households):
    counts = hh_repo.upsert_households(session, households)
    assert (counts.added, counts.updated, counts.unchanged) == (40, 0, 0)
    changed = households.copy()
    changed.loc[3, "head_name"] = "新户主"
    changed.loc[5, "geometry"] = Point(109.05, 27.05)
    changed.loc[7, "care_level"] = None
    extra = make_households(3, prefix="N")
    counts = hh_repo.upsert_households(session, pd_concat(changed, extra))
    assert (counts.added, counts.updated, counts.unchanged) == (3, 3, 37)
    assert _count(session) == 43


def test_reimport_updates_rather_than_duplicates(engine, households):
    with session_scope(engine) as s:
        hh_repo.upsert_households(s, households)
        before = hh_repo.households_frame(s)
    with session_scope(engine) as s:
        counts = hh_repo.upsert_households(s, households)
        after = hh_repo.households_frame(s)
    assert (counts.added, counts.updated, counts.unchanged) == (0, 0, 40)
    assert len(after) == 40
    assert list(after["household_id"]) == list(before["household_id"])
    assert (after["version"] == 1).all()


def test_households_frame_takes_a_box_with_ids_and_villages(engine, households):
    """The filters combine: the box's parameters were put in place of the others', so a
    box with ids or village codes failed on a missing parameter."""
    with session_scope(engine) as s:
        hh_repo.upsert_households(s, households)
        every = hh_repo.households_frame(s)
        b = every.total_bounds
        box = (b[0], b[1], (b[0] + b[2]) / 2, b[3])
        in_box = set(hh_repo.households_frame(s, bbox=box)["household_id"])
        some = sorted(every["household_id"])[::3]
        got = hh_repo.households_frame(s, bbox=box, ids=some)
        code = every["village_code"].iloc[0]
        by_village = hh_repo.households_frame(s, bbox=box, village_codes=[code])
    assert 0 < len(in_box) < len(every)
    assert set(got["household_id"]) == in_box & set(some)
    assert set(by_village["household_id"]) == in_box & set(every.loc[every["village_code"] == code, "household_id"])


def test_update_keeps_id_and_bumps_version(engine, households):
    with session_scope(engine) as s:
        hh_repo.upsert_households(s, households)
        first = hh_repo.households_frame(s).set_index("household_no")
    edited = households.copy()
    edited.loc[0, "address"] = "新地址"
    with session_scope(engine) as s:
        assert hh_repo.upsert_households(s, edited).updated == 1
        second = hh_repo.households_frame(s).set_index("household_no")
    no = households.loc[0, "household_no"]
    assert second.loc[no, "household_id"] == first.loc[no, "household_id"]
    assert second.loc[no, "version"] == 2
    assert second.loc[no, "address"] == "新地址"
    assert (second.drop(index=no)["version"] == 1).all()


def test_stale_version_raises_conflict(engine, households):
    with session_scope(engine) as s:
        hh_repo.upsert_households(s, households.head(2))
    factory = make_sessionmaker(engine)
    no = households.loc[0, "household_no"]

    alice = factory()
    mine = alice.query(Household).filter_by(household_no=no).one()
    assert mine.version == 1
    alice.commit()  # end the read transaction, keep the (now stale) object

    with session_scope(engine) as bob:  # someone else edits first
        theirs = bob.query(Household).filter_by(household_no=no).one()
        theirs.head_name = "Bob"
    with pytest.raises(ConflictError, match="someone else changed"):
        with session_scope(factory) as s:
            mine = s.merge(mine, load=False)
            mine.head_name = "Alice"
    alice.close()
    with session_scope(engine) as s:
        row = s.query(Household).filter_by(household_no=no).one()
        assert (row.head_name, row.version) == ("Bob", 2)


def test_update_household_expected_version(engine, households):
    with session_scope(engine) as s:
        hh_repo.upsert_households(s, households.head(1))
        hid = hh_repo.households_frame(s)["household_id"][0]
    with session_scope(engine) as s:
        h = hh_repo.update_household(s, hid, {"head_name": "王", "geometry": Point(109.02, 27.02)},
                                     expected_version=1)
        assert h.version == 2
    with pytest.raises(ConflictError):
        with session_scope(engine) as s:
            hh_repo.update_household(s, hid, {"head_name": "李"}, expected_version=1)


def test_failed_import_leaves_database_as_it_was(engine, households):
    with session_scope(engine) as s:
        hh_repo.upsert_households(s, households)
    edited = households.copy()
    edited["head_name"] = "改"
    with pytest.raises(RuntimeError, match="boom"):
        with session_scope(engine, write=True) as s:
            counts = hh_repo.upsert_households(s, pd_concat(edited, make_households(5, prefix="Z")))
            assert counts.added == 5 and counts.updated == 40
            raise RuntimeError("boom")  # e.g. the persons file of the same import fails
    with session_scope(engine) as s:
        frame = hh_repo.households_frame(s)
    assert len(frame) == 40
    assert (frame["head_name"] != "改").all()
    assert (frame["version"] == 1).all()


def test_database_error_mid_import_rolls_back(engine, households):
    """A constraint violation inside the bulk write leaves nothing behind."""
    with session_scope(engine) as s:
        hh_repo.upsert_households(s, households.head(5))
    bad = households.copy()
    bad.loc[10, "village_code"] = "X" * 40  # longer than the column allows on PostGIS
    bad.loc[11, "care_level"] = "green"
    with pytest.raises(Exception):
        with session_scope(engine) as s:
            hh_repo.upsert_households(s, bad)
            s.execute(text("INSERT INTO households (id) VALUES (NULL)"))  # fails on both
    with session_scope(engine) as s:
        assert _count(s) == 5


def pd_concat(*frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def test_invalid_rows_are_listed_and_nothing_written(session, households):
    bad = households.copy()
    bad.loc[2, "household_no"] = bad.loc[1, "household_no"]
    bad.loc[4, "care_level"] = "purple"
    bad.loc[6, "geometry"] = Point(250, 27)
    bad.loc[8, "household_no"] = None
    with pytest.raises(ValidationError) as info:
        hh_repo.upsert_households(session, bad)
    rows = {(r, c) for r, c, _ in info.value.rejects}
    assert rows == {(3, "household_no"), (4, "household_no"), (6, "care_level"),
                    (8, "geometry"), (10, "household_no")}
    assert _count(session) == 0


def test_rows_keep_the_importers_row_numbers(session, households):
    bad = households.head(3).copy()
    bad["_row"] = [7, 9, 12]
    bad.loc[2, "care_level"] = "blue"
    with pytest.raises(ValidationError) as info:
        hh_repo.upsert_households(session, bad)
    assert info.value.rejects[0][0] == 12


def test_households_within_bbox(session, households):
    hh_repo.upsert_households(session, households)
    inside = hh_repo.households_frame(session, bbox=(109.0, 27.0, 109.1, 27.1))
    assert len(inside) == 20
    assert set(inside["village_code"]) == {V1}
    assert inside.crs.to_epsg() == 4326
    corner = hh_repo.households_frame(session, bbox=(109.0, 27.0, 109.03, 27.012))
    expected = households.cx[109.0:109.03, 27.0:27.012]
    assert sorted(corner["household_no"]) == sorted(expected["household_no"])
    assert hh_repo.households_frame(session, bbox=(100, 20, 100.1, 20.1)).empty


def test_spatial_sql_on_both_backends(session, households):
    """Households within a village polygon, through the database's own spatial functions."""
    areas.upsert_areas(session, make_villages(), "village")
    hh_repo.upsert_households(session, households)
    n = session.execute(text(
        "SELECT count(*) FROM households AS h JOIN areas AS a ON ST_Within(h.geom, a.geom) "
        "WHERE a.code = :code"), {"code": V2}).scalar()
    assert n == 20


def test_village_links_and_fill(session, households):
    areas.upsert_areas(session, make_villages(), "village")
    unknown = households.copy()
    unknown.loc[:4, "village_code"] = None
    hh_repo.upsert_households(session, unknown)
    frame = hh_repo.households_frame(session)
    assert frame["village_code"].notna().all()  # filled from the polygons
    linked = session.execute(text(
        "SELECT count(*) FROM households WHERE village_id IS NOT NULL")).scalar()
    assert linked == 40


def test_villages_loaded_after_households_are_linked(session, households):
    hh_repo.upsert_households(session, households)
    areas.upsert_areas(session, make_villages(), "village")
    linked = session.execute(text(
        "SELECT count(*) FROM households WHERE village_id IS NOT NULL")).scalar()
    assert linked == 40


def test_frame_roundtrip_and_filters(session, households):
    hh_repo.upsert_households(session, households)
    frame = hh_repo.households_frame(session, village_codes=[V2])
    assert len(frame) == 20
    assert set(frame.columns) >= {"household_id", "household_no", "head_name", "address",
                                  "village_code", "building", "hamlet", "care_level",
                                  "source_crs", "version", "geometry"}
    assert frame["household_id"].str.len().eq(32).all()
    src = households.set_index("household_no")
    for rec in frame.itertuples():
        assert rec.geometry.equals_exact(src.loc[rec.household_no, "geometry"], 0)
    assert hh_repo.households_frame(session, village_codes=[]).empty


def test_crs_is_converted(session, households):
    projected = households.to_crs(32649)
    hh_repo.upsert_households(session, projected)
    frame = hh_repo.households_frame(session).set_index("household_no")
    src = households.set_index("household_no")
    import numpy as np

    got = np.c_[frame.geometry.x, frame.geometry.y]
    want = np.c_[src.geometry.x.reindex(frame.index), src.geometry.y.reindex(frame.index)]
    assert np.abs(got - want).max() < 1e-9
