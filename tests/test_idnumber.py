import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geogrid.idnumber import check_character, make_id_number, mask_id_number, parse_id_number


def test_known_valid_number():
    parsed = parse_id_number("11010519491231002X")
    assert parsed.birth_date == dt.date(1949, 12, 31)
    assert parsed.gender == "F"
    assert parsed.area == "110105"


def test_lowercase_x_and_spaces_are_normalised():
    assert parse_id_number(" 11010519491231002x ").value == "11010519491231002X"


@pytest.mark.parametrize(
    "raw,reason",
    [
        ("110105194912310021", "check digit"),
        ("11010519491331002X", "impossible birth date"),
        ("1101051949123100", "17 digits"),
        (4.31227199001011e17, "Excel"),
        ("4.31227199001011E+17", "Excel"),
        ("", "17 digits"),
    ],
)
def test_invalid_numbers_say_why(raw, reason):
    with pytest.raises(ValueError, match=reason):
        parse_id_number(raw)


def test_future_birth_date_rejected():
    number = make_id_number("431227", dt.date(2030, 1, 1), 7, "M")
    with pytest.raises(ValueError, match="future"):
        parse_id_number(number, today=dt.date(2026, 11, 23))


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2026, 1, 1)),
    st.integers(0, 10_000),
    st.sampled_from(["M", "F"]),
)
def test_made_numbers_parse_back(born, seq, gender):
    number = make_id_number("431227", born, seq, gender)
    parsed = parse_id_number(number, today=dt.date(2026, 11, 23))
    assert (parsed.birth_date, parsed.gender, parsed.area) == (born, gender, "431227")
    assert check_character(number[:17]) == number[17]


def test_mask_keeps_last_four():
    assert mask_id_number("11010519491231002X") == "**************002X"
    assert mask_id_number(None) is None


def test_a_first_generation_number_is_converted_to_18_digits():
    """15-digit numbers (first generation, issued until 2004 and still in old registers)
    were rejected. GB 11643: insert 19 before the two-digit birth year, add the check character."""
    parsed = parse_id_number("110105491231002")
    assert parsed.value == "11010519491231002X"  # the standard's own example
    assert parsed.converted_from == "110105491231002"
    assert (parsed.birth_date, parsed.gender, parsed.area) == (dt.date(1949, 12, 31), "F", "110105")
    assert parse_id_number("11010519491231002X").converted_from is None


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)),
    st.integers(0, 10_000),
    st.sampled_from(["M", "F"]),
)
def test_a_first_generation_number_converts_to_the_18_digit_number_of_the_same_person(born, seq, gender):
    number = make_id_number("431227", born, seq, gender)
    old = number[:6] + number[8:17]  # the 15 digits: no century, no check character
    parsed = parse_id_number(old, today=dt.date(2026, 11, 23))
    assert parsed.value == number and parsed.converted_from == old
    assert (parsed.birth_date, parsed.gender) == (born, gender)


@pytest.mark.parametrize(
    "raw,reason",
    [
        ("431227901332173", "ID number of 15 digits (first generation) has an impossible birth date 19901332"),
        ("431227900230173", "impossible birth date 19900230"),
        # an 18-digit number that lost its last three digits reads as born in 1919, month 90
        ("431227199001021", "impossible birth date 19199001; if it is an 18-digit number with digits missing"),
        ("43122790010217X", "got 15 characters"),
    ],
)
def test_a_first_generation_number_with_an_impossible_birth_date_stays_rejected(raw, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_id_number(raw)
