"""API load benchmark: the full sample county, 50 concurrent clients, on both back-ends.

    .venv/bin/python benchmarks/api_load.py                        # SpatiaLite and PostGIS
    .venv/bin/python benchmarks/api_load.py --backend spatialite --requests 1000 --seconds 30
    .venv/bin/python benchmarks/api_load.py --baseline-ref b889c20   # also the code before REF

For each back-end:

1. a fresh database migrated to head, loaded with ``geogrid.sample.generate_county(seed=0)``
   (79,507 households and their persons) through the repositories, and one cadre whose
   scope is the county;
2. ``geogrid serve --workers W`` started as a subprocess on 127.0.0.1 (a free port;
   W defaults to the server's own default, the CPU count);
3. from this process, 50 concurrent clients (one keep-alive HTTP/1.1 connection each,
   all on one asyncio loop; closed loop: the next request is sent when the answer
   arrived)
   drive three scenarios, each bounded by ``--requests`` and ``--seconds``, after a
   warm-up pass whose figures are printed apart (``warm-up pass``): the bbox scenario's
   200 boxes once each (so the per-process feature cache holds what a server that has
   been running holds), the others 40 requests; the cold first request is printed too:
   - house -> residents: ``GET /api/v1/households/{id}`` for random households
     (masked residents; each read is audited, i.e. one committed insert per request);
   - bbox: ``GET /api/v1/households?bbox=...&limit=1000`` for boxes that each hold about
     1,000 households (the 1,000 nearest neighbours of a random house);
   - aggregate: ``GET /api/v1/households/aggregate?resolution=7`` for the whole county.
4. p50 / p95 latency (ms), throughput (requests/s) and errors are printed per scenario,
   with the baseline named in the same run:
   - ``1 client``: the same scenario with one client (the latency without queueing);
     the ratio p95(50 clients) / p50(1 client) is how much queueing adds;
   - with ``--baseline-ref REF``: the same scenarios, 50 clients, against a server
     run from a ``git worktree`` of REF (e.g. the commit before the optimisation) on
     the same database; the ratio is baseline p95 / this p95 (the speed-up).

Everything runs on 127.0.0.1 only (``--postgres`` must point there too) and is bounded
in time: ``--seconds`` per scenario and ``--budget`` for the whole run (scenarios that
would start after it are skipped and reported as such).  The machine's load average is
printed before and after, since other work on the same cores moves every figure.

5. the floors, named baselines printed first and as ratios on every line:
   - ``floor: static file``: the same clients fetching the web map's ``index.html`` from
     the geogrid server (no database, no auth);
   - ``floor: no-op FastAPI``: a FastAPI app that does nothing
     (``benchmarks/noop_app.py``: ``GET /noop`` answers ``{"ok": true}``), served by the
     same uvicorn, started the same way and with the same worker count as
     ``geogrid serve``; and the same app answering a ready-made body as large as a bbox
     answer (``GET /noop/bytes?size=N``, N the bytes of the first bbox answer), which is
     what shipping that answer costs with no work behind it.

Targets (issue 4): p95 < 50 ms house -> residents, < 200 ms bbox and aggregate.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from county_db import PASSWORD, empty_database, load_database  # noqa: E402,F401  (api_cpu reads them here)

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret-" + uuid.uuid4().hex


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _get(port: int, path: str, headers: dict | None = None, timeout: float = 2) -> int:
    return _fetch(port, path, headers, timeout)[0]


def _fetch(port: int, path: str, headers: dict | None = None, timeout: float = 2) -> tuple[int, int]:
    """(status, body length) of one GET on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, len(r.read())
    finally:
        conn.close()


def login(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = f"username=bench-cadre&password={PASSWORD}"
        conn.request("POST", "/api/v1/auth/token", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise SystemExit(f"log-in failed: {r.status} {data[:200]!r}")
        return json.loads(data)["access_token"]
    finally:
        conn.close()


def start_server(url: str, port: int, log: Path, *, workers: int | None = None,
                 cwd: Path = ROOT) -> subprocess.Popen:
    """``python -m geogrid serve`` from ``cwd`` (its ``geogrid`` package comes first on the path)."""
    env = dict(os.environ, GEOGRID_DATABASE_URL=url, GEOGRID_SECRET_KEY=SECRET, GEOGRID_DEMO="0",
               GEOGRID_API_LOGIN_MAX_FAILURES="1000", PYTHONPATH=str(cwd))
    cmd = [sys.executable, "-m", "geogrid", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning"]
    if workers:
        cmd += ["--workers", str(workers)]
    return _start(cmd, env, cwd, port, "/healthz", log)


def start_noop_server(port: int, log: Path, *, workers: int | None = None) -> subprocess.Popen:
    """``benchmarks/noop_app.py``: the no-op FastAPI app, served as ``geogrid serve`` is."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, str(ROOT / "benchmarks" / "noop_app.py"), "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning"]
    if workers:
        cmd += ["--workers", str(workers)]
    return _start(cmd, env, ROOT, port, "/noop", log)


def _start(cmd: list[str], env: dict, cwd: Path, port: int, ready: str, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _get(port, ready) == 200:
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited: see {log}")
        time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"server did not start in 60 s: see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server and its worker processes (its own process group, nothing else)."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def drive(port: int, token: str, make_path, *, clients: int, requests: int, seconds: float) -> dict:
    """``clients`` keep-alive HTTP/1.1 connections, closed loop, on one asyncio loop.

    One thread and a few dozen microseconds of Python per request: 50 client *threads*
    would take the cores from the server they measure, and a thread woken by its answer
    can wait a whole interpreter-lock switch interval (5 ms) before it reads the clock,
    which lands in the latency.  Here the clock is read in the callback that gets the
    last byte of the answer.
    """
    import asyncio

    rng = random.Random(0)
    paths = [make_path(rng) for _ in range(requests)]
    return asyncio.run(_drive(port, token, paths, clients, seconds))


async def _drive(port: int, token: str, paths: list[str], clients: int, seconds: float) -> dict:
    import asyncio

    latencies: list[float] = []
    errors: list[int] = []
    reconnects = [0]
    counter = iter(range(len(paths)))
    deadline = time.monotonic() + seconds

    async def connect():
        return await asyncio.open_connection("127.0.0.1", port, limit=2 ** 24)

    async def client():
        reader, writer = await connect()
        try:
            while time.monotonic() < deadline:
                i = next(counter, None)
                if i is None:
                    return
                t = time.perf_counter()
                try:
                    writer.write(f"GET {paths[i]} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 f"Authorization: Bearer {token}\r\n\r\n".encode())
                    status, close = await asyncio.wait_for(_response(reader), 60)
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                    writer.close()
                    reader, writer = await connect()
                    status = 0
                latencies.append((time.perf_counter() - t) * 1000)
                if status != 200:
                    errors.append(status)
                if status and close:  # the server asked for a new connection (HTTP/1.1)
                    writer.close()
                    reader, writer = await connect()
                    reconnects[0] += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - start
    lat = sorted(latencies)
    return {
        "n": len(lat),
        "p50": statistics.median(lat) if lat else float("nan"),
        "p95": lat[int(0.95 * (len(lat) - 1))] if lat else float("nan"),
        "rps": len(lat) / wall if wall else 0.0,
        "errors": len(errors),
        "error_codes": sorted(set(errors)),
        "reconnects": reconnects[0],
    }


async def _response(reader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response (Content-Length or chunked): its status, and whether
    it said ``Connection: close``."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, fields.get("connection", "").lower() == "close"


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


SCENARIOS = ("house -> residents", "bbox ~1,000 households", "H3 aggregate, county")
#: ``--scenarios`` names.
SHORT = {"house -> residents": "house", "bbox ~1,000 households": "bbox",
         "H3 aggregate, county": "aggregate"}
#: The floor, a named baseline: the web map's index.html (a static file, no database, no
#: auth) under the same clients.  No route can answer faster than this on this machine,
#: so it says how much of a latency is the HTTP stack and the shared cores.
FLOOR = "floor: static file GET /"
#: The second floor: a FastAPI route that does nothing (benchmarks/noop_app.py), served by
#: the same uvicorn with the same workers: what the stack costs per request, and the same
#: route handing back a ready-made body the size of a bbox answer.
NOOP_FLOOR = "floor: no-op FastAPI GET /noop"
NOOP_BYTES_FLOOR = "floor: no-op FastAPI, bbox-size body"
FLOORS = (FLOOR, NOOP_FLOOR, NOOP_BYTES_FLOOR)
TARGET_P95_MS = {"house -> residents": 50.0, "bbox ~1,000 households": 200.0,
                 "H3 aggregate, county": 200.0}


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def _line(backend: str, label: str, res: dict) -> str:
    if res.get("skipped"):
        return f"[{backend}] {label:36s} skipped ({res['skipped']})"
    return (f"[{backend}] {label:36s} n={res['n']:5d}  p50={res['p50']:7.1f} ms  "
            f"p95={res['p95']:7.1f} ms  {res['rps']:7.1f} req/s  errors={res['errors']}"
            f"{' ' + str(res['error_codes']) if res['errors'] else ''}"
            f"{'  reconnects=' + str(res['reconnects']) if res.get('reconnects') else ''}")


def baseline_tree(ref: str, tmp: Path) -> Path:
    """A ``git worktree`` of ``ref`` (removed again by :func:`drop_baseline_tree`)."""
    tree = tmp / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), ref],
                   check=True)
    return tree


def drop_baseline_tree(tree: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


def measure(url: str, tmp: Path, label: str, backend: str, paths: dict, args, budget_end: float,
            *, cwd: Path = ROOT, clients_list=(None,), warm_paths: dict | None = None) -> dict:
    """Start a server from ``cwd`` and run every scenario for each client count, after a
    warm-up pass over ``warm_paths[scenario]`` (or 40 requests)."""
    import asyncio

    warm_paths = warm_paths or {}
    port = free_port()
    proc = start_server(url, port, tmp / f"server-{label}.log", workers=args.workers, cwd=cwd)
    out: dict = {}
    try:
        token = login(port)
        for name in paths:
            make = paths[name]
            # the first request of a fresh server, before any cache holds it: for the
            # county aggregate this is the real cost of computing it
            t0 = time.perf_counter()
            status, size = _fetch(port, make(random.Random(0)), {"Authorization": f"Bearer {token}"},
                                  timeout=30)
            out[(name, "cold")] = {"ms": (time.perf_counter() - t0) * 1000, "status": status,
                                   "bytes": size}
            # warm-up outside the measurement: connection pools, and the caches a server
            # that has been running holds (every box once: the households' features).  Its
            # own figures are printed as the cold pass
            warm = warm_paths.get(name) or [make(random.Random(1)) for _ in range(40)]
            out[(name, "warm-up")] = asyncio.run(_drive(port, token, warm, args.clients, 120))
            print(_line(backend, f"{name} [{label}, warm-up pass]", out[(name, "warm-up")]), flush=True)
            for clients in clients_list:
                clients = clients or args.clients
                left = budget_end - time.monotonic()
                key = (name, clients)
                if left < 5:
                    out[key] = {"skipped": "over --budget"}
                else:
                    out[key] = drive(port, token, make, clients=clients,
                                     requests=args.requests if clients > 1 else args.requests // 4,
                                     seconds=min(args.seconds, left))
                print(_line(backend, f"{name} [{label}, {clients} cl]", out[key]), flush=True)
        return out
    finally:
        stop_server(proc)


def measure_noop(tmp: Path, backend: str, args, budget_end: float, body_bytes: int) -> dict:
    """The no-op floors: ``/noop`` and a ``body_bytes`` ready-made body, 50 clients and 1."""
    port = free_port()
    proc = start_noop_server(port, tmp / "server-noop.log", workers=args.workers)
    paths = {NOOP_FLOOR: "/noop", NOOP_BYTES_FLOOR: f"/noop/bytes?size={body_bytes}"}
    out: dict = {}
    try:
        for name, path in paths.items():
            drive(port, "none", lambda rng, path=path: path, clients=4, requests=40, seconds=30)
            for clients in (args.clients, 1):
                left = budget_end - time.monotonic()
                if left < 5:
                    out[(name, clients)] = {"skipped": "over --budget"}
                else:
                    out[(name, clients)] = drive(
                        port, "none", lambda rng, path=path: path, clients=clients,
                        requests=args.requests if clients > 1 else args.requests // 4,
                        seconds=min(args.seconds, left))
                print(_line(backend, f"{name} [{clients} cl]", out[(name, clients)]), flush=True)
        return out
    finally:
        stop_server(proc)


def run_backend(backend: str, county, args, budget_end: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="geogrid-api-bench-"))
    with empty_database(backend, args.postgres, tmp) as url:
        return _run_backend(backend, url, tmp, county, args, budget_end)


def _run_backend(backend: str, url: str, tmp: Path, county, args, budget_end: float) -> dict:
    tree = None
    try:
        print(f"[{backend}] loading {len(county.households):,} households, "
              f"{len(county.persons):,} persons", flush=True)
        ids = load_database(url, county)
        boxes = bboxes(county)
        paths = {
            "house -> residents": lambda rng: f"/api/v1/households/{rng.choice(ids)}",
            "bbox ~1,000 households": lambda rng: f"/api/v1/households?bbox={rng.choice(boxes)}&limit=1000",
            "H3 aggregate, county": lambda rng: "/api/v1/households/aggregate?resolution=7",
            FLOOR: lambda rng: "/",
        }
        paths = {k: v for k, v in paths.items() if k == FLOOR or SHORT[k] in args.scenarios}
        print(f"[{backend}] {loadavg()}", flush=True)
        warm = {"bbox ~1,000 households": [f"/api/v1/households?bbox={b}&limit=1000" for b in boxes]}
        results = {"this": measure(url, tmp, "this", backend, paths, args, budget_end,
                                   clients_list=(args.clients, 1), warm_paths=warm)}
        if not args.no_floors:
            bbox_bytes = results["this"].get(("bbox ~1,000 households", "cold"), {}).get("bytes", 425_000)
            results["this"].update(measure_noop(tmp, backend, args, budget_end, bbox_bytes))
        if args.baseline_ref:
            tree = baseline_tree(args.baseline_ref, tmp)
            results["baseline"] = measure(url, tmp, f"baseline {args.baseline_ref}", backend, paths,
                                          args, budget_end, cwd=tree, clients_list=(args.clients,),
                                          warm_paths=warm)
        print(f"[{backend}] {loadavg()}", flush=True)
        return results
    finally:
        if tree is not None:
            drop_baseline_tree(tree)


def _loopback_only(url: str) -> None:
    from sqlalchemy.engine import make_url

    host = make_url(url).host or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"--postgres must be on this machine (127.0.0.1), not {host!r}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["spatialite", "postgis", "both"], default="both")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--requests", type=int, default=2000, help="per scenario (1-client runs: a quarter)")
    p.add_argument("--seconds", type=float, default=30.0, help="per scenario, at most")
    p.add_argument("--budget", type=float, default=900.0,
                   help="seconds for the whole run, at most (scenarios past it are skipped)")
    p.add_argument("--workers", type=int, default=None,
                   help="geogrid serve --workers (default: the server's default, the CPU count)")
    p.add_argument("--baseline-ref", default=None,
                   help="also measure the server of this git revision (a worktree) on the same data")
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--scenarios", default="house,bbox,aggregate",
                   help="comma-separated, of house, bbox, aggregate (the static-file floor always runs)")
    p.add_argument("--no-floors", action="store_true",
                   help="skip the no-op FastAPI floors (the static-file floor still runs)")
    p.add_argument("--households", type=int, default=None,
                   help="only the first N households of the sample county (default: all 79,507)")
    args = p.parse_args(argv)
    args.scenarios = {x.strip() for x in args.scenarios.split(",") if x.strip()}
    if not args.scenarios <= set(SHORT.values()):
        p.error(f"--scenarios: choose from {', '.join(SHORT.values())}")
    _loopback_only(args.postgres)
    budget_end = time.monotonic() + args.budget
    print(loadavg(), flush=True)
    t = time.perf_counter()
    from geogrid.sample import generate_county

    kwargs = {"n_households": args.households} if args.households else {}
    county = generate_county(seed=0, **kwargs)
    print(f"sample county generated in {time.perf_counter() - t:.1f} s: "
          f"{len(county.households):,} households, {len(county.persons):,} persons", flush=True)
    backends = ["spatialite", "postgis"] if args.backend == "both" else [args.backend]
    summary = {b: run_backend(b, county, args, budget_end) for b in backends}
    print(f"\nsummary ({loadavg()}; targets: p95 < 50 ms house -> residents, "
          "< 200 ms bbox and aggregate)")
    for b, res in summary.items():
        for name in FLOORS:
            f = res["this"].get((name, args.clients), {"skipped": "not run"})
            if not f.get("skipped"):
                one = res["this"].get((name, 1), {})
                print(f"  {b:10s} {name:24s} {args.clients} clients: p50 {f['p50']:7.1f} ms  "
                      f"p95 {f['p95']:7.1f} ms  {f['rps']:7.1f} req/s  errors {f['errors']}"
                      + (f" | 1 client p50 {one['p50']:.1f} ms" if one.get("p50") else ""))
        floor = res["this"].get((FLOOR, args.clients), {"skipped": "not run"})
        noop = res["this"].get((NOOP_FLOOR, args.clients), {"skipped": "not run"})
        for name in SCENARIOS:
            r = res["this"].get((name, args.clients), {"skipped": "not run"})
            one = res["this"].get((name, 1), {"skipped": "not run"})
            if r.get("skipped"):
                print(f"  {b:10s} {name:24s} skipped ({r['skipped']})")
                continue
            # errors count against the target: a fast 503 is not a met target
            met = "MET" if r["p95"] < TARGET_P95_MS[name] and r["errors"] == 0 else "not met"
            line = (f"  {b:10s} {name:24s} {args.clients} clients: p50 {r['p50']:7.1f} ms  "
                    f"p95 {r['p95']:7.1f} ms  {r['rps']:7.1f} req/s  errors {r['errors']}  "
                    f"target {TARGET_P95_MS[name]:.0f} ms {met}")
            cold = res["this"].get((name, "cold"))
            if cold:
                line += f" | first request, cold: {cold['ms']:.0f} ms (HTTP {cold['status']})"
            warm = res["this"].get((name, "warm-up"))
            if warm and warm.get("n"):
                line += f" | warm-up pass ({warm['n']} requests, cold caches): p95 {warm['p95']:.1f} ms"
            if not one.get("skipped"):
                line += (f" | baseline '1 client' p50 {one['p50']:.1f} ms, "
                         f"queueing ratio p95/p50(1) {r['p95'] / one['p50']:.1f}x")
            if not floor.get("skipped"):
                line += (f" | baseline 'floor' p95 {floor['p95']:.1f} ms: this / floor "
                         f"{r['p95'] / floor['p95']:.1f}x")
            if not noop.get("skipped"):
                line += (f" | baseline 'no-op FastAPI' p95 {noop['p95']:.1f} ms, "
                         f"{noop['rps']:.1f} req/s: this / no-op {r['p95'] / noop['p95']:.1f}x")
            if name.startswith("bbox"):
                big = res["this"].get((NOOP_BYTES_FLOOR, args.clients), {"skipped": "not run"})
                if not big.get("skipped"):
                    line += (f" | baseline 'no-op, same body size' p95 {big['p95']:.1f} ms, "
                             f"{big['rps']:.1f} req/s: this / it {r['p95'] / big['p95']:.1f}x")
            base = res.get("baseline", {}).get((name, args.clients))
            if base and not base.get("skipped"):
                line += (f" | baseline '{args.baseline_ref}' p95 {base['p95']:.1f} ms, "
                         f"{base['rps']:.1f} req/s: speed-up p95 {base['p95'] / r['p95']:.1f}x")
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
