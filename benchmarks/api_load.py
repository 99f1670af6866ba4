"""API load benchmark: the full sample county, 50 concurrent clients, on both back-ends.

    .venv/bin/python benchmarks/api_load.py                        # SpatiaLite and PostGIS
    .venv/bin/python benchmarks/api_load.py --backend spatialite --requests 1000 --seconds 30

For each back-end:

1. a fresh database migrated to head, loaded with ``geogrid.sample.generate_county(seed=0)``
   (79,507 households and their persons) through the repositories, and one cadre whose
   scope is the county;
2. ``geogrid serve`` started as a subprocess on 127.0.0.1 (a free port);
3. from this process, 50 concurrent clients (threads, one keep-alive connection each)
   drive three scenarios, each bounded by ``--requests`` and ``--seconds``:
   - house -> residents: ``GET /api/v1/households/{id}`` for random households
     (masked residents; each read is audited, i.e. one committed insert per request);
   - bbox: ``GET /api/v1/households?bbox=...&limit=1000`` for boxes that each hold about
     1,000 households (the 1,000 nearest neighbours of a random house);
   - aggregate: ``GET /api/v1/households/aggregate?resolution=7`` for the whole county.
4. p50 / p95 latency (ms), throughput (requests/s) and errors are printed per scenario.

Targets (issue 4): p95 < 50 ms house -> residents, < 200 ms bbox and aggregate.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-123"
SECRET = "bench-secret-" + uuid.uuid4().hex


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def load_database(url: str, county) -> None:
    from geogrid.api.security import hash_password
    from geogrid.db import areas, households as hh_repo, migrate, persons as p_repo
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.users import add_user

    migrate.upgrade(url)
    engine = make_engine(url)
    t = time.perf_counter()
    with session_scope(engine, write=True) as s:
        areas.upsert_areas(s, county.county, "county")
        areas.upsert_areas(s, county.towns, "town")
        areas.upsert_areas(s, county.villages, "village")
        hh_repo.upsert_households(s, county.households)
        p_repo.upsert_persons(s, county.persons)
        add_user(s, "bench-cadre", hash_password(PASSWORD), "cadre", ["area:431227"])
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    engine.dispose()
    print(f"  loaded in {time.perf_counter() - t:.1f} s", flush=True)


def start_server(url: str, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ, GEOGRID_DATABASE_URL=url, GEOGRID_SECRET_KEY=SECRET, GEOGRID_DEMO="0",
               GEOGRID_API_LOGIN_MAX_FAILURES="1000")
    proc = subprocess.Popen([sys.executable, "-m", "geogrid", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning"],
                            env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited: see {log}")
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"server did not start in 60 s: see {log}")


def drive(base: str, token: str, make_path, *, clients: int, requests: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.monotonic() + seconds
    rng = random.Random(0)
    paths = [make_path(rng) for _ in range(requests)]

    def worker():
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                          timeout=60) as c:
            while time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t = time.perf_counter()
                r = c.get(paths[i])
                dt_ms = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(dt_ms)
                    if r.status_code != 200:
                        errors.append(r.status_code)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    lat = sorted(latencies)
    return {
        "n": len(lat),
        "p50": statistics.median(lat) if lat else float("nan"),
        "p95": lat[int(0.95 * (len(lat) - 1))] if lat else float("nan"),
        "rps": len(lat) / wall if wall else 0.0,
        "errors": len(errors),
        "error_codes": sorted(set(errors)),
    }


def bboxes(county, n: int = 200, k: int = 1000, seed: int = 0) -> list[str]:
    from scipy.spatial import cKDTree

    pts = np.column_stack([county.households.geometry.x, county.households.geometry.y])
    tree = cKDTree(pts * [np.cos(np.radians(27.3)), 1.0])
    rng = np.random.default_rng(seed)
    out = []
    for i in rng.choice(len(pts), n, replace=False):
        _, idx = tree.query(pts[i] * [np.cos(np.radians(27.3)), 1.0], k=k)
        sel = pts[idx]
        x0, y0 = sel.min(axis=0)
        x1, y1 = sel.max(axis=0)
        out.append(f"{x0:.6f},{y0:.6f},{x1:.6f},{y1:.6f}")
    return out


def run_backend(backend: str, county, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="geogrid-api-bench-"))
    admin = None
    if backend == "spatialite":
        url = f"sqlite:///{tmp / 'bench.sqlite'}"
    else:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        name = f"geogrid_apibench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        e = create_engine(url, isolation_level="AUTOCOMMIT")
        with e.connect() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        e.dispose()
    print(f"[{backend}] loading {len(county.households):,} households, {len(county.persons):,} persons",
          flush=True)
    load_database(url, county)
    port = free_port()
    proc = start_server(url, port, tmp / "server.log")
    base = f"http://127.0.0.1:{port}"
    try:
        r = httpx.post(f"{base}/api/v1/auth/token",
                       data={"username": "bench-cadre", "password": PASSWORD}, timeout=30)
        r.raise_for_status()
        token = r.json()["access_token"]
        from sqlalchemy import create_engine, text

        e = create_engine(url)
        with e.connect() as conn:
            ids = [row[0] for row in conn.execute(text("SELECT id FROM households"))]
        e.dispose()
        boxes = bboxes(county)
        scenarios = {
            "house -> residents": lambda rng: f"/api/v1/households/{rng.choice(ids)}",
            "bbox ~1,000 households": lambda rng: f"/api/v1/households?bbox={rng.choice(boxes)}&limit=1000",
            "H3 aggregate, county": lambda rng: "/api/v1/households/aggregate?resolution=7",
        }
        results = {}
        for name, make in scenarios.items():
            # warm-up (connection pools, caches) outside the measurement
            drive(base, token, make, clients=4, requests=20, seconds=30)
            res = drive(base, token, make, clients=args.clients, requests=args.requests,
                        seconds=args.seconds)
            results[name] = res
            print(f"[{backend}] {name:24s} n={res['n']:5d}  p50={res['p50']:7.1f} ms  "
                  f"p95={res['p95']:7.1f} ms  {res['rps']:7.1f} req/s  errors={res['errors']}"
                  f"{' ' + str(res['error_codes']) if res['errors'] else ''}", flush=True)
        return results
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["spatialite", "postgis", "both"], default="both")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--requests", type=int, default=2000, help="per scenario")
    p.add_argument("--seconds", type=float, default=60.0, help="per scenario, at most")
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--households", type=int, default=79_507)
    p.add_argument("--synthetic", action="store_true",
                   help="use benchmarks/import_bench.py's synthetic register, not geogrid.sample")
    args = p.parse_args(argv)
    t = time.perf_counter()
    county = None
    if not args.synthetic:
        try:
            from geogrid.sample import generate_county

            county = generate_county(seed=0, n_households=args.households)
            print(f"sample county generated in {time.perf_counter() - t:.1f} s", flush=True)
        except Exception as exc:  # geogrid.sample is another issue's work in progress
            print(f"geogrid.sample failed ({type(exc).__name__}: {exc}); using the synthetic "
                  "register of benchmarks/import_bench.py instead", flush=True)
    if county is None:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from import_bench import synthetic_register

        county = synthetic_register()
        if args.households < len(county.households):
            keep = county.households.iloc[: args.households]
            county.households = keep
            county.persons = county.persons[county.persons["household_no"].isin(keep["household_no"])]
        print(f"synthetic register built in {time.perf_counter() - t:.1f} s", flush=True)
    backends = ["spatialite", "postgis"] if args.backend == "both" else [args.backend]
    summary = {b: run_backend(b, county, args) for b in backends}
    print("\nsummary (targets: p95 < 50 ms house -> residents, < 200 ms bbox and aggregate)")
    for b, res in summary.items():
        for name, r in res.items():
            print(f"  {b:10s} {name:24s} p50 {r['p50']:7.1f} ms  p95 {r['p95']:7.1f} ms  "
                  f"{r['rps']:7.1f} req/s  errors {r['errors']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
