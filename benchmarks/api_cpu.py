"""CPU per request of the hot reads, in process: the API's own cost without HTTP or clients.

    .venv/bin/python benchmarks/api_cpu.py                          # both back-ends
    .venv/bin/python benchmarks/api_cpu.py --baseline-ref 2cffefa   # and the code of REF
    .venv/bin/python benchmarks/api_cpu.py --backend postgis --scenarios house --profile /tmp/prof

``benchmarks/api_load.py`` measures latency under 50 clients, which on two cores is a
queue: its figures move by a third with the machine's other work.  This measures what
the queue is made of, the server's CPU time per request, far more steadily, so that a
change of a few per cent can be seen.

For each back-end:

1. a fresh database loaded as ``api_load.py`` loads it (the full sample county and one
   cadre whose scope is the county);
2. for this tree and, with ``--baseline-ref REF``, a ``git worktree`` of REF: a child
   process (its ``geogrid`` first on the path) builds the app with
   ``geogrid.api.create_app``, runs its lifespan, logs in through ``POST
   /api/v1/auth/token`` and calls the ASGI app directly (no socket, no HTTP parser) from
   20 concurrent tasks on one uvloop loop;
3. per scenario, after a warm-up (the bbox scenario: all 200 boxes once, as
   ``api_load.py`` warms up):
   - house -> residents: ``GET /api/v1/households/{id}`` for random households;
   - bbox: ``GET /api/v1/households?bbox=...&limit=1000``, boxes of about 1,000
     households;

   it prints the child's CPU time per request (``time.process_time``: this process
   only; on PostGIS the database server's own share is not in it) and the wall time per
   request, and REF's figures as ratios (baseline / this: above 1 is this tree cheaper).

``--profile DIR`` writes a cProfile of each measured pass (``DIR/<tree>-<backend>-<scenario>.prof``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("house", "bbox")
CONCURRENT = 20


# --- the child: one tree, one back-end, one scenario ------------------------------------

async def _call(app, method: str, path: str, headers=(), body: bytes = b"") -> tuple[int, bytes]:
    """One request straight into the ASGI app: (status, body)."""
    route, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": route, "raw_path": route.encode(), "query_string": query.encode(),
             "root_path": "", "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {}}
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects

    out = {"status": 0, "body": []}

    async def send(message):
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"].append(message.get("body", b""))

    await app(scope, receive, send)
    return out["status"], b"".join(out["body"])


async def _child_main(args) -> dict:
    from geogrid.api import create_app

    data = json.loads(Path(args.data).read_text())
    app = create_app()
    async with app.router.lifespan_context(app):
        status, body = await _call(app, "POST", "/api/v1/auth/token",
                                   [("Content-Type", "application/x-www-form-urlencoded")],
                                   f"username=bench-cadre&password={data['password']}".encode())
        if status != 200:
            raise SystemExit(f"log-in failed: {status} {body[:200]!r}")
        headers = [("Authorization", "Bearer " + json.loads(body)["access_token"])]
        rng = random.Random(0)
        if args.scenario == "house":
            def path():
                return f"/api/v1/households/{rng.choice(data['ids'])}"
            warm = [path() for _ in range(200)]
        else:
            def path():
                return f"/api/v1/households?bbox={rng.choice(data['boxes'])}&limit=1000"
            warm = [f"/api/v1/households?bbox={b}&limit=1000" for b in data["boxes"]]
        for p in warm:
            status, body = await _call(app, "GET", p, headers)
            if status != 200:
                raise SystemExit(f"GET {p}: {status} {body[:200]!r}")
        per_task = max(1, args.requests // CONCURRENT)

        async def client():
            for _ in range(per_task):
                status, _body = await _call(app, "GET", path(), headers)
                if status != 200:
                    raise SystemExit(f"a measured request answered {status}")

        profile = None
        if args.profile:
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(client() for _ in range(CONCURRENT)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
    n = per_task * CONCURRENT
    return {"requests": n, "cpu_ms": cpu / n * 1000, "wall_ms": wall / n * 1000}


def child(args) -> int:
    import uvloop

    print(json.dumps(uvloop.run(_child_main(args))))
    return 0


# --- the parent: databases, trees, the table ---------------------------------------------

def _run_child(tree: Path, url: str, data: Path, scenario: str, requests: int,
               profile: Path | None) -> dict:
    env = dict(os.environ, GEOGRID_DATABASE_URL=url, GEOGRID_SECRET_KEY="bench-" + uuid.uuid4().hex,
               GEOGRID_DEMO="0", GEOGRID_API_LOGIN_MAX_FAILURES="1000", PYTHONPATH=str(tree))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--data", str(data),
           "--scenario", scenario, "--requests", str(requests)]
    if profile is not None:
        cmd += ["--profile", str(profile)]
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"the {scenario} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_backend(backend: str, county, args, trees: dict[str, Path]) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import api_load

    tmp = Path(tempfile.mkdtemp(prefix="geogrid-api-cpu-"))
    with api_load.empty_database(backend, args.postgres, tmp) as url:
        print(f"[{backend}] loading {len(county.households):,} households", flush=True)
        ids = api_load.load_database(url, county)
        data = tmp / "data.json"
        data.write_text(json.dumps({"ids": ids, "boxes": api_load.bboxes(county),
                                    "password": api_load.PASSWORD}))
        for scenario in args.scenarios:
            got = {}
            for label, tree in trees.items():
                profile = None
                if args.profile:
                    Path(args.profile).mkdir(parents=True, exist_ok=True)
                    profile = Path(args.profile) / f"{label.split()[0]}-{backend}-{scenario}.prof"
                got[label] = r = _run_child(tree, url, data, scenario, args.requests, profile)
                line = (f"[{backend}] {scenario:5s} [{label}] n={r['requests']}  "
                        f"CPU {r['cpu_ms']:.3f} ms/request  wall {r['wall_ms']:.3f} ms/request")
                if label != "this":
                    this = got["this"]
                    line += (f"  | baseline / this: CPU {r['cpu_ms'] / this['cpu_ms']:.2f}x, "
                             f"wall {r['wall_ms'] / this['wall_ms']:.2f}x")
                print(line, flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["spatialite", "postgis", "both"], default="both")
    p.add_argument("--scenarios", default="house,bbox", help="comma-separated, of house, bbox")
    p.add_argument("--requests", type=int, default=4000, help="measured requests per scenario")
    p.add_argument("--baseline-ref", default=None, help="also measure this git revision (a worktree)")
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--profile", default=None, help="a folder for cProfile output of each measured pass")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--scenario", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(args)
    args.scenarios = [x.strip() for x in args.scenarios.split(",") if x.strip()]
    if not set(args.scenarios) <= set(SCENARIOS):
        p.error(f"--scenarios: choose from {', '.join(SCENARIOS)}")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import api_load

    api_load._loopback_only(args.postgres)
    from geogrid.sample import generate_county

    county = generate_county(seed=0)
    trees = {"this": ROOT}
    tmp = Path(tempfile.mkdtemp(prefix="geogrid-api-cpu-trees-"))
    baseline = None
    if args.baseline_ref:
        baseline = api_load.baseline_tree(args.baseline_ref, tmp)
        trees[f"baseline {args.baseline_ref}"] = baseline
    try:
        for backend in (["spatialite", "postgis"] if args.backend == "both" else [args.backend]):
            run_backend(backend, county, args, trees)
    finally:
        if baseline is not None:
            api_load.drop_baseline_tree(baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
