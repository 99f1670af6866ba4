"""What it costs a hand edit to bring the engine's notes up to date (geogrid/api/editnotes.py).

    .venv/bin/python benchmarks/edit_notes.py                     # SpatiaLite and PostGIS
    .venv/bin/python benchmarks/edit_notes.py --backend spatialite --repeats 20

For each back-end: the full sample county (``generate_county(seed=0)``, 79,507
households) loaded as ``county_db.load_database`` loads it, partitioned into a draft (``partition_register``,
set-up, not measured).  Then, in this process (FastAPI's
test client, no HTTP server), ``PATCH /api/v1/plans/{id}/assignments`` moves, each with
the ETag of the one before, in the county's biggest village and in a village of median
size:

- ``move 2``: two households of buildings of their own and of no small hamlet to a
  neighbouring cell, and back (no note changes);
- ``split building``: half of the village's biggest building to a neighbouring cell,
  and back (its oversize_building note gives way to a building_split note, and back).

Each is timed with the notes brought up to date, and with that turned off
(``--no-notes`` alone measures only that): the named baseline, what a hand move cost
before.  Runs alternate between the two so that a slower machine slows both.  Printed:
the median and p95 in ms of each, the ratio of the medians, and the median time of the
refresh itself (``follow_hand_edit``, timed within the edit: what the difference of
two noisy medians estimates).
"""

from __future__ import annotations

import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

SECRET = "bench-secret-key-0123456789abcdef"


@contextlib.contextmanager
def notes_timed(into: list):
    """Hand edits as they are, the time of bringing the notes up to date added to ``into``."""
    from geogrid.api.routes import planedit

    real = planedit.follow_hand_edit

    def timed(session, plan, cells):
        t = time.perf_counter()
        try:
            return real(session, plan, cells)
        finally:
            into.append(time.perf_counter() - t)

    planedit.follow_hand_edit = timed
    try:
        yield
    finally:
        planedit.follow_hand_edit = real


@contextlib.contextmanager
def notes_off():
    """Hand edits that leave the notes as they are: the baseline."""
    from geogrid.api.routes import planedit

    real = planedit.follow_hand_edit
    planedit.follow_hand_edit = lambda session, plan, cells: {"villages": [], "removed": 0, "added": 0}
    try:
        yield
    finally:
        planedit.follow_hand_edit = real


def _ms(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs) * 1000, xs[min(len(xs) - 1, int(0.95 * len(xs)))] * 1000


def _cases(session, pid: str, code: str) -> dict:
    """The moves there and back of each case in village ``code``: {name: (there, back)},
    each a list of {household_id, cell_id}."""
    from collections import Counter

    from sqlalchemy import select

    from geogrid.db.models import Assignment, Cell, Household, Microgrid

    rows = session.execute(
        select(Assignment.household_id, Assignment.cell_id, Cell.microgrid_id, Household.building,
               Household.hamlet)
        .join(Cell, Cell.id == Assignment.cell_id).join(Microgrid, Microgrid.id == Cell.microgrid_id)
        .join(Household, Household.id == Assignment.household_id)
        .where(Assignment.plan_id == pid, Microgrid.village_code == code).order_by(Household.household_no)).all()
    cells_of: dict[str, list] = {}
    for _, c, m, _, _ in rows:
        if c not in cells_of.setdefault(m, []):
            cells_of[m].append(c)
    size = Counter(r[3] for r in rows if r[3] is not None)
    hamlet = Counter(r[4] for r in rows if r[4] is not None)

    def neighbour(cell, mg):
        return next(c for c in cells_of[mg] if c != cell)

    out = {}
    alone = [r for r in rows if (r[3] is None or size[r[3]] == 1) and (r[4] is None or hamlet[r[4]] > 20)]
    src = next(r for r in alone if len(cells_of[r[2]]) > 1)
    pair = [r for r in alone if r[1] == src[1]][:2]
    to = neighbour(src[1], src[2])
    out["move 2"] = ([{"household_id": h, "cell_id": to} for h, *_ in pair],
                     [{"household_id": h, "cell_id": c} for h, c, *_ in pair])
    big = max((b for b in size if any(r[3] == b and len(cells_of[r[2]]) > 1 for r in rows)),
              key=lambda b: size[b], default=None)
    if big is not None:
        house = [r for r in rows if r[3] == big]
        half = house[: len(house) // 2]
        to = neighbour(half[0][1], half[0][2])
        out[f"split building ({size[big]})"] = ([{"household_id": h, "cell_id": to} for h, *_ in half],
                                               [{"household_id": h, "cell_id": c} for h, c, *_ in half])
    return out


def run_backend(backend: str, county, args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="geogrid-editnotes-bench-"))
    try:
        _run(backend, county, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(backend: str, county, args, tmp: Path) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from county_db import partitioned_county
    from geogrid.api import create_app
    from geogrid.api.config import ApiSettings
    from geogrid.api.security import issue_token
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.models import Assignment, Cell, Microgrid, PlanNote, User
    from geogrid.db.users import add_user
    from geogrid.settings import Settings

    with partitioned_county(backend, args.postgres, tmp, county, publish=False) as (url, pid):
        engine = make_engine(url)
        with session_scope(engine, write=True) as s:
            add_user(s, "bench-planner", "x", "planner", ["area:431227"])
        with session_scope(engine) as s:
            sizes = s.execute(select(Microgrid.village_code, func.count()).select_from(Assignment)
                              .join(Cell, Cell.id == Assignment.cell_id)
                              .join(Microgrid, Microgrid.id == Cell.microgrid_id)
                              .where(Assignment.plan_id == pid).group_by(Microgrid.village_code)
                              .order_by(func.count().desc(), Microgrid.village_code)).all()
            villages = {"biggest": sizes[0], "median": sizes[len(sizes) // 2]}
            cases = {(which, name): moves for which, (code, _) in villages.items()
                     for name, moves in _cases(s, pid, code).items()}
            n_notes = s.execute(select(func.count()).select_from(PlanNote).where(PlanNote.plan_id == pid)).scalar()
            uid = s.execute(select(User.id).where(User.username == "bench-planner")).scalar_one()
        engine.dispose()
        print(f"  the draft keeps {n_notes} notes; villages: "
              + ", ".join(f"{w} {code} ({n} households)" for w, (code, n) in villages.items()), flush=True)
        app = create_app(Settings(database_url=url, secret_key=SECRET, demo=False), api_settings=ApiSettings())
        token = issue_token(SECRET, user_id=uid, username="bench-planner", role="planner", password_hash="x",
                            minutes=120)[0]
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as client:
            etag = client.get(f"/api/v1/plans/{pid}", headers=headers).headers["etag"]

            def move(moves):
                nonlocal etag
                t = time.perf_counter()
                r = client.patch(f"/api/v1/plans/{pid}/assignments", json={"moves": moves},
                                 headers={**headers, "If-Match": etag})
                dt = time.perf_counter() - t
                assert r.status_code == 200, r.text[:300]
                etag = r.headers["etag"]
                return dt, r.json().get("notes") or {}

            modes = ["notes off (baseline)"] + ([] if args.no_notes else ["notes on"])
            times = {(case, m): [] for case in cases for m in modes}
            own = {case: [] for case in cases}  # the refresh alone, within the edit
            changed = {}
            for rep in range(args.repeats + 1):  # the first round warms up
                for case, (there, back) in cases.items():
                    for m in (modes if rep % 2 else modes[::-1]):
                        spent: list[float] = []
                        with notes_off() if m.startswith("notes off") else notes_timed(spent):
                            d1, n1 = move(there)
                            d2, _ = move(back)
                        if rep:
                            times[case, m] += [d1, d2]
                            own[case] += spent
                        if m == "notes on":
                            changed[case] = n1
        for case in cases:
            base = _ms(times[case, modes[0]])
            line = f"  {case[0]:<8} {case[1]:<20} baseline p50 {base[0]:7.1f} ms  p95 {base[1]:7.1f} ms"
            if not args.no_notes:
                on = _ms(times[case, "notes on"])
                n = changed.get(case, {})
                line += (f"  | notes on p50 {on[0]:7.1f} ms  p95 {on[1]:7.1f} ms  {on[0] / base[0]:5.2f}x"
                         f"  (+{on[0] - base[0]:.1f} ms; the refresh itself p50 {_ms(own[case])[0]:.1f} ms;"
                         f" notes -{n.get('removed', 0)} +{n.get('added', 0)})")
            print(line, flush=True)


def main(argv=None) -> int:
    from county_db import county_parser, on_each_backend

    p = county_parser(__doc__)
    p.add_argument("--repeats", type=int, default=15, help="moves there and back per case and mode")
    p.add_argument("--no-notes", action="store_true", help="measure only the baseline: hand edits as before")
    return on_each_backend(p.parse_args(argv), run_backend)


if __name__ == "__main__":
    sys.exit(main())
