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


def _rounded(number: str) -> str:
    """``number`` as Excel keeps it once typed or pasted as a number and written out
    again: 15 significant digits, then zeros (4.31227199001011E+17, 431227199001011000)."""
    return f"{float(number):.14e}".split("e")[0].replace(".", "")[:15] + "000"


def _a_number_whose_rounding_fails_its_check() -> str:
    for seq in range(1, 500):
        number = make_id_number("431227", dt.date(1990, 1, 1), seq, "M")
        rounded = _rounded(number)
        if check_character(rounded[:17]) != rounded[17]:
            return number
    raise AssertionError("no such number")


@pytest.mark.parametrize("as_read", ["rounded", "rounded.0", "float", "scientific"])
def test_an_id_number_excel_stored_as_a_number_says_so_and_how_to_mend_the_file(as_read):
    """Before: 431227199001011000 (an 18-digit number written out after Excel kept 15 of
    its digits) was said to have 'a digit mistyped', and the fix for a float was 'export
    again', which brings no digit back.  Each form is an ExcelNumberError, in English and
    Chinese, saying to format the column as text before typing or pasting the numbers."""
    from geogrid.idnumber import ExcelNumberError

    number = _a_number_whose_rounding_fails_its_check()
    raw = {"rounded": _rounded(number), "rounded.0": _rounded(number) + ".0", "float": float(number),
           "scientific": f"{float(number):.14E}"}[as_read]
    with pytest.raises(ExcelNumberError) as info:
        parse_id_number(raw)
    reason = str(info.value)
    assert "Excel keeps only 15 digits of a number" in reason
    assert "format the column as text in Excel" in reason and "before typing or pasting the ID numbers" in reason
    assert "Excel 只保留数字的前 15 位" in reason and "设为文本格式" in reason and "再重新输入或粘贴身份证号" in reason
    assert number not in reason and _rounded(number)[:15] not in reason  # nothing of the number itself


def test_a_wrong_check_character_is_said_in_both_languages_without_the_right_one():
    """The right check character was given ('expected 6'): a cadre who changed the last
    character alone made a number with a mistyped digit pass as someone else's."""
    from geogrid.idnumber import ExcelNumberError

    number = "11010519491231002X"
    wrong = number[:17] + "1"
    with pytest.raises(ValueError) as info:
        parse_id_number(wrong)
    reason = str(info.value)
    assert not isinstance(info.value, ExcelNumberError)
    assert reason.startswith("ID number check digit is 1, which does not match its first 17 digits")
    assert "身份证号校验码" in reason and "请对照身份证逐位核对" in reason
    assert "expected" not in reason and "X" not in reason


@given(st.text(alphabet="0123456789Xx", min_size=17, max_size=19),
       st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_checks_out_takes_what_parse_id_number_takes_as_it_stands(text, birth):
    """The repositories' check of a column in numpy agrees with parse_id_number."""
    from geogrid.idnumber import checks_out

    today = dt.date(2026, 11, 23)
    values = [text, text[:6] + f"{birth:%Y%m%d}" + text[14:]]
    if len(text) >= 17:
        first17 = values[1][:17]
        if first17.isdigit():
            values.append(first17 + check_character(first17))

    def takes(v):
        try:
            return parse_id_number(v, today=today).value == v
        except ValueError:
            return False

    assert checks_out(values, today=today).tolist() == [takes(v) for v in values]
