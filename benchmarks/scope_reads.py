"""Reads by the grid's own leaders: households for a cadre scoped to a micro-grid or a
cell (网格长, 网格员, the most numerous users), against a village's cadre.

    .venv/bin/python benchmarks/scope_reads.py                  # SpatiaLite and PostGIS
    .venv/bin/python benchmarks/scope_reads.py --backend spatialite --requests 30

For each back-end: the full sample county (``generate_county(seed=0)``, 79,507
households) loaded as ``county_db.load_database`` loads it, partitioned and published
(``partition_register``), and cadres scoped to one village, one micro-grid and one cell
of it (and to the county).  In this process (FastAPI's test client, no HTTP server),
each cadre reads ``GET /api/v1/households/{id}`` (a house and its residents, audited)
for houses in scope and ``GET /api/v1/households?limit=50`` (a page), ``--requests``
times each; then the engine's notes ``GET /api/v1/plans/{id}/notes`` and the plan's
quality figures ``GET /api/v1/plans/{id}/quality`` (fewer times).  Printed: the
median and p95 in ms, and the ratio to the named baseline of the same run, the
village's cadre.

``--old-query`` measures once more with the scope's households selected as they were
before (a join from the published plan's assignments, which SQLite ran as a read of
every assignment of the county for each request): the second named baseline, printed
as the speed-up of the query in use.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SECRET = "bench-secret-key-0123456789abcdef"


def _old_assigned_households(self):
    """Scope's households as selected before (the baseline of ``--old-query``)."""
    from sqlalchemy import or_, select

    from geogrid.db.models import Assignment, Cell, Microgrid

    keys = []
    if self.microgrid_keys:
        keys.append(Microgrid.microgrid_key.in_(sorted(self.microgrid_keys)))
    if self.cell_keys:
        keys.append(Cell.cell_key.in_(sorted(self.cell_keys)))
    return (select(Assignment.household_id).join(Cell, Cell.id == Assignment.cell_id)
            .join(Microgrid, Microgrid.id == Cell.microgrid_id)
            .where(Assignment.plan_id == self.published_plan_id, or_(*keys)))


def _ms(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs) * 1000, xs[min(len(xs) - 1, int(0.95 * len(xs)))] * 1000


def measure(client, tokens: dict, houses: dict, plan_id: str, n: int) -> dict:
    out = {}
    for who, headers in tokens.items():
        ids = houses[who]
        for what, path in (("house", lambda i: f"/api/v1/households/{ids[i % len(ids)]}"),
                           ("page", lambda i: "/api/v1/households?limit=50"),
                           ("notes", lambda i: f"/api/v1/plans/{plan_id}/notes"),
                           ("quality", lambda i: f"/api/v1/plans/{plan_id}/quality")):
            client.get(path(0), headers=headers)  # warm
            ts = []
            for i in range({"notes": max(5, n // 5), "quality": max(3, n // 10)}.get(what, n)):
                t = time.perf_counter()
                r = client.get(path(i), headers=headers)
                ts.append(time.perf_counter() - t)
                assert r.status_code == 200, (who, what, r.status_code, r.text[:200])
            out[who, what] = _ms(ts)
    return out


def run_backend(backend: str, county, args) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from county_db import partitioned_county
    from geogrid.api import create_app
    from geogrid.api.config import ApiSettings
    from geogrid.api.scope import Scope
    from geogrid.api.security import issue_token
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.models import Assignment, Cell, Microgrid, User
    from geogrid.db.users import add_user
    from geogrid.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="geogrid-scope-bench-"))
    with partitioned_county(backend, args.postgres, tmp, county) as (url, pid):
        engine = make_engine(url)
        with session_scope(engine, write=True) as s:
            mg = s.execute(select(Microgrid.microgrid_key, Microgrid.village_code, Microgrid.id)
                           .where(Microgrid.plan_id == pid).order_by(Microgrid.households.desc())).first()
            cell = s.execute(select(Cell.cell_key, Cell.id).where(Cell.microgrid_id == mg.id)
                             .order_by(Cell.cell_key)).first()
            scopes = {"village (baseline)": [f"area:{mg.village_code}"], "micro-grid": [f"microgrid:{mg.microgrid_key}"],
                      "cell": [f"cell:{cell.cell_key}"], "county": ["area:431227"]}
            for who, sc in scopes.items():
                add_user(s, f"bench-{who.split()[0]}", "x", "cadre", sc)
            in_mg = [h for (h,) in s.execute(select(Assignment.household_id).join(Cell, Cell.id == Assignment.cell_id)
                                             .where(Cell.microgrid_id == mg.id))]
            in_cell = [h for (h,) in s.execute(select(Assignment.household_id).where(Assignment.cell_id == cell.id))]
            users = {who: s.execute(select(User.id).where(User.username == f"bench-{who.split()[0]}")).scalar_one()
                     for who in scopes}
        engine.dispose()
        houses = {"village (baseline)": in_mg, "micro-grid": in_mg, "cell": in_cell, "county": in_mg}
        app = create_app(Settings(database_url=url, secret_key=SECRET, demo=False),
                         api_settings=ApiSettings(reveal_per_hour=100_000))
        tokens = {who: {"Authorization": "Bearer " + issue_token(SECRET, user_id=uid, username=f"bench-{who.split()[0]}",
                                                                  role="cadre", password_hash="x", minutes=60)[0]}
                  for who, uid in users.items()}
        print(f"  micro-grid {mg.microgrid_key}: {len(in_mg)} households; cell {cell.cell_key}: {len(in_cell)}")
        with TestClient(app) as client:
            now = measure(client, tokens, houses, pid, args.requests)
            old = None
            if args.old_query:
                real = Scope.assigned_households
                Scope.assigned_households = _old_assigned_households
                try:
                    old = measure(client, tokens, houses, pid, args.requests)
                finally:
                    Scope.assigned_households = real
        base = {what: now["village (baseline)", what][0] for what in ("house", "page", "notes", "quality")}
        for (who, what), (p50, p95) in now.items():
            line = (f"  {who:<19} {what:<7} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
                    f"{p50 / base[what]:5.2f}x the village's cadre")
            if old is not None:
                line += f"  | before (join from the plan's assignments): p50 {old[who, what][0]:7.1f} ms, " \
                        f"now {old[who, what][0] / p50:5.1f}x as fast"
            print(line, flush=True)


def main(argv=None) -> int:
    from county_db import county_parser, on_each_backend

    p = county_parser(__doc__)
    p.add_argument("--requests", type=int, default=40)
    p.add_argument("--old-query", action="store_true", help="also measure the scope query as it was before")
    return on_each_backend(p.parse_args(argv), run_backend)


if __name__ == "__main__":
    sys.exit(main())
