"""Small fixture files for the io tests, generated per test in tmp_path."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely

from geogrid.idnumber import make_id_number

TODAY = dt.date(2024, 6, 1)


@pytest.fixture
def ids():
    """Valid ID numbers for Xinhuang (431227): (man born 1990-01-02, woman born 1985-05-06, man 1950-12-31)."""
    return (
        make_id_number("431227", dt.date(1990, 1, 2), 17, "M"),
        make_id_number("431227", dt.date(1985, 5, 6), 3, "F"),
        make_id_number("431227", dt.date(1950, 12, 31), 40, "M"),
    )


@pytest.fixture(scope="session")
def square():
    """A 0.1-degree square around Xinhuang county town, in WGS84."""
    return shapely.box(109.15, 27.30, 109.25, 27.40)


def write_csv(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path
