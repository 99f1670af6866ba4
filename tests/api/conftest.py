"""A tiny hand-drawn county for the API tests, on both back-ends.

County 431227 -> town 431227101000 -> villages V1 (west square) and V2 (east square).
Each village is one micro-grid of two cells (west and east half), with three households
per cell and two residents per household.  The plan is published.  Users::

    admin     admin      (unscoped)
    planner   planner    area:431227            (county)
    planner1  planner    area:V1
    cadre1    cadre      area:V1                (village: its micro-grid and cells)
    cadre2c   cadre      cell:<V2 east cell>    (one cell)
    analyst   analyst    area:431227
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, box

from geogrid.idnumber import make_id_number

PASSWORD = "correct horse battery"
SECRET = "test-secret-key-0123456789abcdef"
COUNTY, TOWN = "431227", "431227101000"
V1, V2 = "431227101201", "431227101202"
X0, Y0, D = 109.20, 27.30, 0.01  # each village is D x D degrees (about 1 km x 1.1 km)

USERS = {
    "admin": ("admin", []),
    "planner": ("planner", [f"area:{COUNTY}"]),
    "planner1": ("planner", [f"area:{V1}"]),
    "cadre1": ("cadre", [f"area:{V1}"]),
    "cadre2c": ("cadre", None),  # filled with the V2 east cell key
    "analyst": ("analyst", [f"area:{COUNTY}"]),
}


@dataclass
class World:
    plan_id: str = ""
    households: dict = field(default_factory=dict)  # village -> [household ids]
    persons: dict = field(default_factory=dict)  # village -> [person ids]
    cells: dict = field(default_factory=dict)  # key -> id
    microgrids: dict = field(default_factory=dict)  # key -> id
    id_numbers: list = field(default_factory=list)
    phones: list = field(default_factory=list)
    cell_of: dict = field(default_factory=dict)  # household id -> cell key


def _mp(g):
    return shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g


@functools.cache
def _password_hash() -> str:
    from geogrid.api.security import hash_password

    return hash_password(PASSWORD)


def build_world(session) -> World:
    from geogrid.db.models import Area, Household, Person, User
    from geogrid.db.plans import save_partition

    w = World()
    v1 = box(X0, Y0, X0 + D, Y0 + D)
    v2 = box(X0 + D, Y0, X0 + 2 * D, Y0 + D)
    county = v1.union(v2)
    ewkt = lambda g: f"SRID=4326;{_mp(g).wkt}"  # noqa: E731
    session.add_all([
        Area(code=COUNTY, name="新晃侗族自治县", level="county", geom=ewkt(county), vintage=2023),
        Area(code=TOWN, name="晃州镇", level="town", parent_code=COUNTY, geom=ewkt(county), vintage=2023),
        Area(code=V1, name="一村", level="village", parent_code=TOWN, geom=ewkt(v1), vintage=2023),
        Area(code=V2, name="二村", level="village", parent_code=TOWN, geom=ewkt(v2), vintage=2023),
    ])
    session.flush()
    names = ["欧阳娜娜", "王小明", "司马光", "李四", "张三丰", "刘德华"]
    hh_rows, mg_rows, cell_rows = [], [], []
    seq = 1
    for vi, (code, poly) in enumerate(((V1, v1), (V2, v2))):
        x0 = X0 + vi * D
        mg_key = f"{code}-M01"
        mg_rows.append({"microgrid_id": mg_key, "village_code": code, "households": 6,
                        "area_km2": 1.1, "geometry": poly})
        for ci in range(2):
            cell_key = f"{mg_key}-C0{ci + 1}"
            cell_rows.append({"cell_id": cell_key, "microgrid_id": mg_key, "village_code": code,
                              "households": 3,
                              "geometry": box(x0 + ci * D / 2, Y0, x0 + (ci + 1) * D / 2, Y0 + D)})
            for k in range(3):
                x = x0 + ci * D / 2 + D / 8 + k * D / 8
                y = Y0 + D / 2 + (k - 1) * D / 8
                h = Household(household_no=f"H{code[-3:]}{ci}{k}", head_name=names[(ci * 3 + k) % 6],
                              address=f"{'一' if vi == 0 else '二'}村{ci + 1}组{k + 1}号", village_code=code,
                              care_level=("green", "yellow", "red")[k], source_crs="wgs84",
                              building=None, geom=f"SRID=4326;POINT({x} {y})")
                session.add(h)
                session.flush()
                w.households.setdefault(code, []).append(h.id)
                w.cell_of[h.id] = cell_key
                hh_rows.append({"household_id": h.id, "microgrid_id": mg_key, "cell_id": cell_key,
                                "geometry": Point(x, y)})
                for r in range(2):
                    gender = "M" if r == 0 else "F"
                    idn = make_id_number(COUNTY, dt.date(1960 + seq % 40, 1 + seq % 12, 1 + seq % 27), seq, gender)
                    phone = f"138{seq:08d}"
                    seq += 1
                    p = Person(household_id=h.id, name=names[(seq + r) % 6], gender=gender,
                               birth_date=dt.date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14])),
                               id_number=idn, phone=phone, relation="户主" if r == 0 else "配偶",
                               party_member=r == 0, tags="elderly_alone" if k == 2 else None)
                    session.add(p)
                    session.flush()
                    w.persons.setdefault(code, []).append(p.id)
                    w.id_numbers.append(idn)
                    w.phones.append(phone)

    class Result:
        households = gpd.GeoDataFrame(hh_rows, geometry="geometry", crs=4326)
        microgrids = gpd.GeoDataFrame(mg_rows, geometry="geometry", crs=4326)
        cells = gpd.GeoDataFrame(cell_rows, geometry="geometry", crs=4326)

    plan = save_partition(session, Result, "published plan", {"max_households": 20},
                          county_code=COUNTY, status="published")
    w.plan_id = plan.id
    from sqlalchemy import select

    from geogrid.db.models import Cell, Microgrid
    w.cells = dict(session.execute(select(Cell.cell_key, Cell.id).where(Cell.plan_id == plan.id)).all())
    w.microgrids = dict(session.execute(
        select(Microgrid.microgrid_key, Microgrid.id).where(Microgrid.plan_id == plan.id)).all())
    hashed = _password_hash()
    for name, (role, scopes) in USERS.items():
        if scopes is None:
            scopes = [f"cell:{V2}-M01-C02"]
        session.add(User(username=name, password_hash=hashed, role=role, scopes=scopes))
    session.commit()
    return w


@pytest.fixture
def api_settings():
    from geogrid.api.config import ApiSettings

    return ApiSettings(login_free_failures=2, login_base_delay_s=0.0, login_max_failures=5,
                       reveal_per_hour=1000, max_body_bytes=100_000)


@pytest.fixture
def world(engine) -> World:
    from geogrid.db.engine import make_sessionmaker

    with make_sessionmaker(engine)() as s:
        return build_world(s)


@pytest.fixture
def app(engine, db_url, world, api_settings):
    from geogrid.api import create_app
    from geogrid.settings import Settings

    settings = Settings(database_url=db_url, secret_key=SECRET, demo=False,
                        sqlite_busy_timeout_ms=10_000)
    return create_app(settings, engine=engine, api_settings=api_settings)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


def login(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


@pytest.fixture
def tokens(client, engine) -> dict[str, dict]:
    """Bearer headers per user, minted directly (argon2 costs ~1 s per log-in here);
    tests/api/test_auth.py covers the real log-in."""
    from sqlalchemy import select

    from geogrid.api.security import issue_token
    from geogrid.db.models import User

    with engine.connect() as conn:
        users = conn.execute(select(User.id, User.username, User.role, User.password_hash)).all()
    out = {}
    for u in users:
        token, _ = issue_token(SECRET, user_id=u.id, username=u.username, role=u.role,
                               password_hash=u.password_hash, minutes=30)
        out[u.username] = {"Authorization": f"Bearer {token}"}
    return out


@pytest.fixture
def draft(client, tokens):
    """A new draft of the published plan, with its cells and micro-grids by key."""
    r = client.post("/api/v1/plans", json={"name": "草案"}, headers=tokens["planner"])
    assert r.status_code == 201, r.text
    plan = r.json()
    cells = client.get(f"/api/v1/cells?plan={plan['id']}", headers=tokens["planner"]).json()["features"]
    mgs = client.get(f"/api/v1/microgrids?plan={plan['id']}", headers=tokens["planner"]).json()["features"]
    plan["cells"] = {f["properties"]["cell_key"]: f["id"] for f in cells}
    plan["microgrids"] = {f["properties"]["microgrid_key"]: f["id"] for f in mgs}
    return plan


def if_match(tokens, etag=None, who="planner"):
    """``who``'s bearer header, plus ``If-Match: etag`` when given."""
    return {**tokens[who], **({"If-Match": etag} if etag else {})}
