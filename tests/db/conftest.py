"""Fixtures of the database tests (helpers in db_registers.py)."""

from __future__ import annotations

import pytest
from db_registers import make_households, make_villages


@pytest.fixture
def villages():
    return make_villages()


@pytest.fixture
def households():
    return make_households()
