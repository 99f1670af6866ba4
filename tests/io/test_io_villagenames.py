"""A household's 村名 is read one way wherever it is read: finding the village of a row that
names it without a code, and checking it against the row's 村代码."""

import pytest

from geogrid.io.villagenames import village_disagreements, village_key, villages_named

CHANGLE, XINZHAI, CHANGLE_B = "431227100201", "431227100202", "431227101201"
VILLAGES = {CHANGLE: "长乐村", XINZHAI: "新寨村委会"}


@pytest.mark.parametrize("name", ["长乐", "长乐村", "长乐村委会", "长乐村民委员会", "长乐社区",
                                  "长乐社区居民委员会", "长乐居委会", " 长 乐村 ", "长乐村\u3000"])
def test_a_village_is_one_village_however_its_suffix_is_written(name):
    assert village_key(name) == "长乐"


def test_a_name_that_is_only_a_suffix_stays_itself():
    assert village_key("村") == "村" and village_key("社区") == "社区"


def test_a_name_without_its_suffix_finds_its_village():
    """Before, a row naming 长乐 found no village: the lookup wanted 长乐村 exactly, while
    the 村名/村代码 check took 长乐 for 长乐村."""
    codes, reasons = villages_named(["长乐", "新寨村", "长乐村委会", None, "新寨"], VILLAGES)
    assert codes == [CHANGLE, XINZHAI, CHANGLE, None, XINZHAI] and reasons == {}


def test_a_name_no_village_has_is_named_with_the_fix():
    codes, reasons = villages_named(["长乐", "无名村"], VILLAGES)
    assert codes == [CHANGLE, None]
    assert reasons == {1: "no loaded village is named '无名村'; import the villages first (geogrid import "
                          "boundaries --level village), or give the 12-digit village code in a 村代码 column"}


def test_a_name_two_villages_answer_to_is_rejected_naming_their_codes():
    """长乐村 of one town and 长乐社区 of another are both 长乐: the name says neither."""
    villages = {CHANGLE: "长乐村", CHANGLE_B: "长乐社区", XINZHAI: "新寨村"}
    codes, reasons = villages_named(["长乐村", "新寨", "长乐"], villages)
    assert codes == [None, XINZHAI, None]
    assert reasons == {
        0: f"2 villages are named '长乐村' ({CHANGLE}, {CHANGLE_B} 长乐社区); give the 12-digit village "
           "code in a 村代码 column",
        2: f"2 villages are named '长乐' ({CHANGLE} 长乐村, {CHANGLE_B} 长乐社区); give the 12-digit village "
           "code in a 村代码 column",
    }


@pytest.mark.parametrize("name", ["长乐", "长乐村", "长乐村委会", "长乐社区居民委员会", "新寨", "新寨村",
                                  "长乐镇", "乐", "长乐乡"])
def test_the_lookup_and_the_agreement_check_read_a_name_alike(name):
    """A name that finds a village by itself agrees with that village's code, and a name
    that agrees with a code finds that village: one normalisation for both."""
    codes, _ = villages_named([name], VILLAGES)
    for code in VILLAGES:
        agrees = village_disagreements([code], [name], [2], VILLAGES) == {}
        assert agrees == (codes[0] == code), (name, code)
