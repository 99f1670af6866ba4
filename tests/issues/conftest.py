"""Fixtures for the issue tests: the tiny county of tests/api plus issue users, an app
with the issue routes and a controllable clock, on both back-ends.

Users added to tests/api's world::

    cell1     cadre  cell:V1-M01-C01      (户团长 of V1's west cell: level cell)
    cell1b    cadre  cell:V1-M01-C02      (V1's east cell)
    cadre1    cadre  area:V1              (village level, from tests/api)
    town      cadre  area:TOWN            (town level)
    hotline   cadre  area:COUNTY          (county level: the 12345 hotline)
    cadre2c   cadre  cell:V2-M01-C02      (from tests/api)
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.api.conftest import COUNTY, SECRET, TOWN, V1, V2, X0, Y0, D, build_world  # noqa: F401

T0 = dt.datetime(2025, 3, 3, 1, 0, tzinfo=dt.UTC)  # a Monday, 09:00 in China

EXTRA_USERS = {
    "cell1": ("cadre", [f"cell:{V1}-M01-C01"]),
    "cell1b": ("cadre", [f"cell:{V1}-M01-C02"]),
    "town": ("cadre", [f"area:{TOWN}"]),
    "hotline": ("cadre", [f"area:{COUNTY}"]),
}

ISSUE_TABLES = ("issue_photos", "issue_events", "issues", "api_keys")


def _empty_issue_tables(engine) -> None:
    with engine.begin() as conn:
        for t in ISSUE_TABLES:
            conn.exec_driver_sql(f"DELETE FROM {t}")


@pytest.fixture
def iworld(engine):
    """The tests/api world plus the issue users; issue tables emptied afterwards."""
    from geogrid.db.engine import make_sessionmaker
    from geogrid.db.models import User
    from tests.api.conftest import _password_hash

    import geogrid.db.issue_models  # noqa: F401  (register the tables on Base)

    with make_sessionmaker(engine)() as s:
        w = build_world(s)
        for name, (role, scopes) in EXTRA_USERS.items():
            s.add(User(username=name, password_hash=_password_hash(), role=role, scopes=scopes))
        s.commit()
    try:
        yield w
    finally:
        _empty_issue_tables(engine)


@pytest.fixture
def clock():
    from geogrid.issues.deadlines import FixedClock

    return FixedClock(T0)


@pytest.fixture
def issue_app(engine, db_url, iworld, clock, tmp_path):
    from geogrid.api import create_app
    from geogrid.api.config import ApiSettings
    from geogrid.issues.config import IssueSettings
    from geogrid.settings import Settings

    settings = Settings(database_url=db_url, secret_key=SECRET, demo=False,
                        sqlite_busy_timeout_ms=10_000, data_dir=tmp_path / "data")
    api = ApiSettings(login_free_failures=2, login_base_delay_s=0.0, login_max_failures=5,
                      reveal_per_hour=1000, max_body_bytes=3_000_000)
    return create_app(settings, engine=engine, api_settings=api,
                      issue_settings=IssueSettings(photo_max_bytes=1_000_000,
                                                   photo_max_pixels=4_000_000),
                      clock=clock)


@pytest.fixture
def iclient(issue_app):
    from fastapi.testclient import TestClient

    with TestClient(issue_app) as c:
        yield c


@pytest.fixture
def itokens(iclient, engine) -> dict[str, dict]:
    from sqlalchemy import select

    from geogrid.api.security import issue_token
    from geogrid.db.models import User

    with engine.connect() as conn:
        users = conn.execute(select(User.id, User.username, User.role, User.password_hash)).all()
    out = {}
    for u in users:
        token, _ = issue_token(SECRET, user_id=u.id, username=u.username, role=u.role,
                               password_hash=u.password_hash, minutes=600)
        out[u.username] = {"Authorization": f"Bearer {token}"}
    return out


@pytest.fixture
def user_ids(engine, iworld) -> dict[str, str]:
    from sqlalchemy import select

    from geogrid.db.models import User

    with engine.connect() as conn:
        return dict(conn.execute(select(User.username, User.id)).all())


def point(village: str = V1, cell: int = 0, fx: float = 0.5, fy: float = 0.5) -> tuple[float, float]:
    """A point inside ``village``'s cell ``cell`` (0 west, 1 east) at fractions fx, fy."""
    x0 = X0 + (0 if village == V1 else D) + cell * D / 2
    return x0 + fx * D / 2, Y0 + fy * D


def png_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()
