"""A re-run of one micro-grid as the planner's button makes it: the API's
``planrerun.rerun`` on a draft of the whole sample county, against the engine's
``repartition`` alone (the issue's < 100 ms target) and against the named baseline,
the same re-run reading the whole plan as it did before (``load_plan`` without
villages).

    .venv/bin/python benchmarks/api_rerun.py                 # SpatiaLite and PostGIS
    .venv/bin/python benchmarks/api_rerun.py --backend spatialite --microgrids 8

For each back-end: ``generate_county(seed=0)`` (79,507 households) loaded as
``county_db.load_database`` loads it, partitioned, published and copied into a draft; then each
of ``--microgrids`` micro-grids (spread over the county) is re-run, the two ways in
turn, twice, each in a transaction rolled back afterwards.  Printed: the medians and
the ratio of the baseline to the re-run as it is.
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


def run_backend(backend: str, county, args) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    import geogrid.db.plans as plans
    from county_db import partitioned_county
    from geogrid.api.planrerun import rerun
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.models import Microgrid, Plan

    tmp = Path(tempfile.mkdtemp(prefix="geogrid-rerun-bench-"))
    with partitioned_county(backend, args.postgres, tmp, county) as (url, pub):
        engine = make_engine(url)
        with session_scope(engine, write=True) as s:
            draft = plans.copy_plan(s, pub, "bench draft").id
        with session_scope(engine) as s:
            mgs = s.execute(select(Microgrid.id).where(Microgrid.plan_id == draft)
                            .order_by(Microgrid.microgrid_key)).scalars().all()
        step = max(1, len(mgs) // args.microgrids)
        chosen = mgs[::step][:args.microgrids]
        now = plans.load_plan

        def whole(session, plan_id, village_codes=None):  # the baseline: as before
            return now(session, plan_id)

        times = {"whole plan read (baseline)": [], "its villages read": []}
        for _ in range(2):
            for label, loader in (("whole plan read (baseline)", whole), ("its villages read", now)):
                plans.load_plan = loader
                try:
                    for mg_id in chosen:
                        with engine.connect() as conn:
                            s = Session(bind=conn)
                            plan, mg = s.get(Plan, draft), s.get(Microgrid, mg_id)
                            t = time.perf_counter()
                            rerun(s, plan, [mg])
                            times[label].append(time.perf_counter() - t)
                            s.rollback()
                            s.close()
                finally:
                    plans.load_plan = now
        engine.dispose()
        base = statistics.median(times["whole plan read (baseline)"])
        for label, ts in times.items():
            med = statistics.median(ts)
            print(f"  {label:<28} median {med * 1000:7.0f} ms (min {min(ts) * 1000:.0f}, max {max(ts) * 1000:.0f}, "
                  f"{len(ts)} re-runs); baseline / this = {base / med:4.2f}x", flush=True)


def main(argv=None) -> int:
    from county_db import county_parser, on_each_backend

    p = county_parser(__doc__)
    p.add_argument("--microgrids", type=int, default=6)
    return on_each_backend(p.parse_args(argv), run_backend)


if __name__ == "__main__":
    sys.exit(main())
