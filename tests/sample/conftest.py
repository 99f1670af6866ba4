"""Fixtures for the sample county: the full county once per session, and a small town."""

from __future__ import annotations

import pytest

from geogrid.sample import generate_county


@pytest.fixture(scope="session")
def full_county():
    """The whole county at the default 79,507 households, seed 0 (a few seconds)."""
    return generate_county(seed=0)


@pytest.fixture(scope="session")
def small_town():
    """米贝苗族乡 of a 20,000-household county: a few hundred households, fast."""
    return generate_county(seed=7, n_households=20_000, towns=["米贝苗族乡"])
