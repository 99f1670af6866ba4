"""The one recogniser of ID and phone numbers in free text (geogrid.personalnumbers), which
the register loaders, the API's answers and the log lines share."""

import doctest
import re

from hypothesis import given, settings
from hypothesis import strategies as st

import geogrid.personalnumbers as pn
from geogrid.io.validate import parse_phone
from geogrid.personalnumbers import PHONE, find_numbers, mask_numbers

#: digits of both widths, the separators people type, and a little else
TYPED = st.text(alphabet="0123456789１３８０ -－.　()（）+Xx号a", max_size=40)


def test_docstring_examples():
    result = doctest.testmod(pn)
    assert result.failed == 0 and result.attempted > 0


@settings(max_examples=400, deadline=None)
@given(TYPED, st.booleans())
def test_the_quick_screen_never_passes_over_a_number(text, strict):
    """A text the one search passes over is never read: whatever the patterns would find
    in it, the search must let through."""
    found = find_numbers(text, strict=strict)
    screen = pn._MAY_HOLD
    try:
        pn._MAY_HOLD = re.compile("")  # let every text through
        assert find_numbers(text, strict=strict) == found
    finally:
        pn._MAY_HOLD = screen


@settings(max_examples=400, deadline=None)
@given(TYPED)
def test_every_phone_found_is_one_a_phone_cell_takes(text):
    """find_numbers does not ask parse_phone (geogrid.io would be loaded with it): its
    patterns are the shapes parse_phone takes, and must stay so."""
    half = text.translate(pn._HALF_WIDTH)
    for start, end, kind in find_numbers(text):
        if kind == PHONE:
            assert parse_phone(half[start:end]) is not None, half[start:end]


def test_an_eighteen_character_number_counts_by_its_shape_only_when_not_strict():
    mistyped = "431227199001011234"  # the check character is 1
    assert find_numbers(f"身份证{mistyped}") == []
    assert mask_numbers(f"身份证{mistyped}", strict=False)[0] == "身份证**************1234"
    # beside a letter, only a valid number counts: a serial number, a hash
    assert mask_numbers(f"SN{mistyped}", strict=False)[0] == f"SN{mistyped}"
    assert mask_numbers("SN11010519491231002X", strict=False)[0] == "SN**************002X"


def test_a_zero_padded_number_is_not_a_landline():
    """No area code begins with 00: ten to twelve digits so are a file or row number."""
    assert find_numbers("档案号0000012345，序号 000123456789") == []
    assert find_numbers("座机0745-6221234 010-12345678") == [(2, 14, PHONE), (15, 27, PHONE)]
