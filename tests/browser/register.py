"""Build a database for the browser tests and the map benchmark through geogrid's own
import, partition and user functions (the same path as ``scripts/demo-load.sh``).

Not a test module: imported by ``tests/browser/conftest.py`` and by
``benchmarks/map_render.py`` (by file path).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO / "data" / "sample"

#: Passwords of the users the tests log in as (long enough for the API's minimum).
PASSWORD = "browser-test-pass-1"


@dataclass
class Register:
    db_url: str
    plan_id: str
    village_codes: list[str]
    users: dict[str, str] = field(default_factory=dict)  # username -> role
    sample_dir: Path | None = None
    #: the cell (id, key) of the published plan that ``cellhead`` leads (first village, fullest cell)
    handler_cell: tuple[str, str] | None = None


def sample_files(out_dir: Path, *, towns=None, n_households: int | None = None, seed: int = 0) -> Path:
    """The committed slice in data/sample/ if it is there, else a freshly generated one."""
    if towns is None and n_households is None and (SAMPLE_DIR / "households.csv").is_file():
        return SAMPLE_DIR
    from geogrid.sample import generate_county, write_sample

    kwargs = {"seed": seed}
    if n_households is not None:
        kwargs["n_households"] = n_households
    if towns is not None:
        kwargs["towns"] = towns
    write_sample(generate_county(**kwargs), out_dir)
    return out_dir


def build_register(db_path: Path, sample_dir: Path, *, users: bool = True) -> Register:
    """Migrate a fresh SpatiaLite file, import the sample, partition, publish, add users."""
    from geogrid.db import migrate
    from geogrid.db.areas import upsert_areas
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.households import upsert_households
    from geogrid.db.persons import upsert_persons
    from geogrid.db.plans import publish
    from geogrid.db.registerpartition import partition_register
    from geogrid.io.boundaries import load_boundaries
    from geogrid.io.households import load_households
    from geogrid.io.persons import load_persons
    from geogrid.settings import Settings

    if db_path.exists():
        db_path.unlink()
    url = f"sqlite:///{db_path}"
    settings = Settings(database_url=url, sqlite_busy_timeout_ms=30_000)
    migrate.upgrade(settings)
    engine = make_engine(settings)
    try:
        with session_scope(engine, write=True) as s:
            for level, name in (("county", "county"), ("town", "towns"), ("village", "villages")):
                path = sample_dir / f"{name}.geojson"
                if path.is_file():
                    batch = load_boundaries(path, level=level)
                    upsert_areas(s, batch.valid, level)
            upsert_households(s, load_households(sample_dir / "households.csv", crs="gcj02").valid)
            upsert_persons(s, load_persons(sample_dir / "persons.csv").valid)
        with session_scope(engine, write=True) as s:
            saved = partition_register(s, name="已发布方案", created_by="browser-tests")
            plan_id = saved.plan.id
            publish(s, plan_id)
        from sqlalchemy import text

        with engine.connect() as conn:
            villages = [r[0] for r in conn.execute(text(
                "SELECT DISTINCT village_code FROM households WHERE village_code IS NOT NULL "
                "ORDER BY village_code"))]
        reg = Register(db_url=url, plan_id=plan_id, village_codes=villages, sample_dir=sample_dir)
        if users:
            add_users(engine, reg)
        return reg
    finally:
        engine.dispose()


def add_users(engine, reg: Register) -> None:
    """admin, two planners of the whole county, a cadre of the first village, an analyst
    of the whole county (tests/browser/test_analyst.py), and ``cellhead``: a cell-level
    cadre (户团长) of one cell of the first village, who handles the issues dispatched to
    them (tests/browser/test_issues.py)."""
    from sqlalchemy import text

    from geogrid.api.security import hash_password
    from geogrid.db.engine import session_scope
    from geogrid.db.users import add_user

    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT id, cell_key FROM cells WHERE plan_id = :p AND village_code = :v "
            "ORDER BY households DESC, cell_key LIMIT 1"),
            {"p": reg.plan_id, "v": reg.village_codes[0]}).first()
    reg.handler_cell = (row[0], row[1]) if row else None
    h = hash_password(PASSWORD)
    county = f"area:{reg.village_codes[0][:6]}"
    spec = [
        ("admin", "admin", []),
        ("planner", "planner", [county]),
        ("planner2", "planner", [county]),
        ("cadre", "cadre", [f"area:{reg.village_codes[0]}"]),
        ("analyst", "analyst", [county]),
    ]
    if reg.handler_cell:
        spec.append(("cellhead", "cadre", [f"cell:{reg.handler_cell[1]}"]))
    with session_scope(engine, write=True) as s:
        for name, role, scopes in spec:
            add_user(s, name, h, role, scopes)
            reg.users[name] = role


def copy_register(reg: Register, dest: Path) -> Register:
    """A copy of the database file, so one test's edits do not leak into another's."""
    src = Path(reg.db_url.removeprefix("sqlite:///"))
    shutil.copyfile(src, dest)
    return Register(db_url=f"sqlite:///{dest}", plan_id=reg.plan_id,
                    village_codes=list(reg.village_codes), users=dict(reg.users),
                    sample_dir=reg.sample_dir, handler_cell=reg.handler_cell)
