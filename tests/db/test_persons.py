"""Persons: upsert keyed by ID number, unknown households rejected with row numbers."""

from __future__ import annotations

import pandas as pd
import pytest
from db_registers import make_households, make_persons
from sqlalchemy import text

from geogrid.db import households as hh_repo, persons as p_repo
from geogrid.db.engine import session_scope
from geogrid.errors import ValidationError


@pytest.fixture
def register(session):
    households = make_households(20)
    hh_repo.upsert_households(session, households)
    return households


def test_add_then_reimport(session, register):
    persons = make_persons(register)
    counts = p_repo.upsert_persons(session, persons)
    assert (counts.added, counts.updated, counts.unchanged) == (40, 0, 0)
    counts = p_repo.upsert_persons(session, persons)
    assert (counts.added, counts.updated, counts.unchanged) == (0, 0, 40)
    assert session.execute(text("SELECT count(*) FROM persons")).scalar() == 40


def test_update_keeps_id_and_bumps_version(session, register):
    persons = make_persons(register)
    p_repo.upsert_persons(session, persons)
    before = p_repo.persons_frame(session).set_index("person_id")
    edited = persons.copy()
    edited.loc[0, "phone"] = "13800000000"        # keyed by ID number
    edited.loc[1, "tags"] = ["disabled", "away_for_work"]  # no ID: household + name + birth
    edited.loc[2, "household_no"] = register.loc[5, "household_no"]  # moved house
    counts = p_repo.upsert_persons(session, edited)
    assert (counts.added, counts.updated, counts.unchanged) == (0, 3, 37)
    after = p_repo.persons_frame(session).set_index("person_id")
    assert set(after.index) == set(before.index)
    assert sorted(after["version"].value_counts().items()) == [(1, 37), (2, 3)]
    row = after[after["id_number"] == persons.loc[0, "id_number"]].iloc[0]
    assert row["phone"] == "13800000000"
    assert (after["tags"] == "disabled;away_for_work").sum() == 1


def test_values_roundtrip(session, register):
    persons = make_persons(register)
    p_repo.upsert_persons(session, persons)
    frame = p_repo.persons_frame(session)
    head = frame[frame["id_number"] == persons.loc[0, "id_number"]].iloc[0]
    assert head["household_no"] == persons.loc[0, "household_no"]
    assert head["birth_date"] == persons.loc[0, "birth_date"]
    assert bool(head["party_member"]) is True
    assert head["tags"] == "elderly_alone"
    assert head["phone"] == persons.loc[0, "phone"]
    assert isinstance(head["id_number"], str)


def test_unknown_household_is_rejected_with_rows(session, register):
    persons = make_persons(register)
    persons.loc[3, "household_no"] = "NOPE-1"
    persons.loc[7, "household_no"] = "NOPE-2"
    with pytest.raises(ValidationError) as info:
        p_repo.upsert_persons(session, persons)
    assert [(r, c) for r, c, _ in info.value.rejects] == [(5, "household_no"), (9, "household_no")]
    assert "NOPE-1" in info.value.rejects[0][2]
    assert "import households first" in info.value.rejects[0][2]
    assert session.execute(text("SELECT count(*) FROM persons")).scalar() == 0


def test_duplicate_id_numbers_rejected(session, register):
    persons = make_persons(register)
    persons.loc[2, "id_number"] = persons.loc[0, "id_number"]
    with pytest.raises(ValidationError, match="nothing was written") as info:
        p_repo.upsert_persons(session, persons)
    assert {r for r, _, _ in info.value.rejects} == {2, 4}


def test_id_number_unique_in_database(session, register):
    persons = make_persons(register)
    p_repo.upsert_persons(session, persons)
    with pytest.raises(Exception):
        session.execute(text(
            "INSERT INTO persons (id, household_id, name, id_number, party_member, created_at, "
            "updated_at, version) SELECT 'x', household_id, 'y', id_number, false, created_at, "
            "updated_at, 1 FROM persons WHERE id_number IS NOT NULL LIMIT 1"))


def test_failed_person_import_rolls_back_households_too(engine):
    households = make_households(10)
    persons = make_persons(households)
    persons.loc[0, "household_no"] = "MISSING"
    with pytest.raises(ValidationError):
        with session_scope(engine, write=True) as s:
            hh_repo.upsert_households(s, households)
            p_repo.upsert_persons(s, persons)
    with session_scope(engine) as s:
        assert s.execute(text("SELECT count(*) FROM households")).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM persons")).scalar() == 0


def test_deleting_a_household_deletes_its_persons(session, register):
    p_repo.upsert_persons(session, make_persons(register))
    session.execute(text("DELETE FROM households WHERE household_no = :n"),
                    {"n": register.loc[0, "household_no"]})
    assert session.execute(text("SELECT count(*) FROM persons")).scalar() == 38


def test_party_member_words(session, register):
    df = pd.DataFrame({"household_no": register["household_no"][:3], "name": ["a", "b", "c"],
                       "party_member": ["是", "否", "maybe"]})
    with pytest.raises(ValidationError) as info:
        p_repo.upsert_persons(session, df)
    assert [(r, c) for r, c, _ in info.value.rejects] == [(4, "party_member")]


def test_empty_frame_writes_nothing(session, register):
    """What is left when --skip-invalid rejected every row of a file."""
    empty = make_persons(register).iloc[:0]
    counts = p_repo.upsert_persons(session, empty)
    assert (counts.added, counts.updated, counts.unchanged) == (0, 0, 0)
    assert session.execute(text("SELECT count(*) FROM persons")).scalar() == 0


def test_id_numbers_are_checked_for_any_caller(session, register):
    """Before: upsert_persons stored ID numbers as given.  A notebook's frame read with
    pandas.read_excel (a numeric column: 4.31227199001011e+17, which text_column wrote
    as 431227199001011000) or holding a mistyped number put it in the register, where
    the import would have refused it.  Now the call is refused, naming each row and why
    (in English and Chinese, with the fix), and nothing is written; a 15-digit number is
    stored as its 18 characters, with a note, as the import stores it."""
    from geogrid.idnumber import check_character

    persons = make_persons(register).iloc[:8].reset_index(drop=True)
    numbers = [n for n in persons["id_number"] if isinstance(n, str)]
    persons["id_number"] = persons["id_number"].astype(object)
    excel = next(n for n in numbers if check_character(n[:15] + "00") != "0")
    mistyped = numbers[1][:17] + ("1" if numbers[1][17] != "1" else "2")
    persons.loc[0, "id_number"] = float(excel)             # a numeric cell, read by pandas
    persons.loc[2, "id_number"] = excel[:15] + "000"      # the same, written out
    persons.loc[4, "id_number"] = mistyped
    with pytest.raises(ValidationError, match="nothing was written") as info:
        p_repo.upsert_persons(session, persons)
    reasons = {r: why for r, c, why in info.value.rejects if c == "id_number"}
    assert sorted(reasons) == [2, 4, 6]
    for row in (2, 4):
        assert "Excel keeps only 15 digits of a number" in reasons[row] and "设为文本格式" in reasons[row]
    assert "check digit" in reasons[6] and "有数字录错" in reasons[6]
    assert session.execute(text("SELECT count(*) FROM persons")).scalar() == 0

    first_generation = numbers[3][:6] + numbers[3][8:17]
    persons = make_persons(register).iloc[:8].reset_index(drop=True)
    persons.loc[6, "id_number"] = first_generation
    persons.loc[0, "id_number"] = persons.loc[0, "id_number"].lower()
    counts = p_repo.upsert_persons(session, persons)
    assert counts.added == 8
    assert [(r, c) for r, c, _ in counts.notes] == [(8, "id_number")]
    stored = set(session.execute(text("SELECT id_number FROM persons WHERE id_number IS NOT NULL")).scalars())
    assert stored == set(numbers)
