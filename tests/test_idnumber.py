import datetime as dt

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
