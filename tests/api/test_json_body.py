"""geogrid.api.geojson.dumps: orjson's bytes mean what JSONResponse's would."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import given, settings, strategies as st

from geogrid.api.geojson import dumps

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 63), 2 ** 63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_same_value_as_the_standard_library(value):
    assert json.loads(dumps(value)) == json.loads(
        json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")))


def test_utf8_compact_and_chinese_kept():
    body = dumps({"type": "Feature", "properties": {"head_name": "张*", "x": [109.123, 27.5]}})
    assert body == '{"type":"Feature","properties":{"head_name":"张*","x":[109.123,27.5]}}'.encode()


def test_what_orjson_refuses_falls_back_or_fails_like_json_dumps():
    assert json.loads(dumps({1: "a"})) == {"1": "a"}  # a non-string key: json.dumps writes it
    assert json.loads(dumps([2 ** 70])) == [2 ** 70]  # beyond 64 bits
    with pytest.raises(TypeError):
        dumps({"at": dt.datetime(2026, 1, 1)})  # as JSONResponse: not JSON


def test_nan_becomes_null():
    assert json.loads(dumps([math.nan, math.inf])) == [None, None]
