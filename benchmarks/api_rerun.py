"""A re-run of one micro-grid as the planner's button makes it: the API's
``planrerun.rerun`` on a draft of the whole sample county, against the engine's
``repartition`` alone (the issue's < 100 ms target) and against the named baseline,
the same re-run reading the whole plan as it did before (``load_plan`` without
villages).

    .venv/bin/python benchmarks/api_rerun.py                 # SpatiaLite and PostGIS
    .venv/bin/python benchmarks/api_rerun.py --backend spatialite --microgrids 8

For each back-end: ``generate_county(seed=0)`` (79,507 households) loaded as
``api_load.py`` loads it, partitioned, published and copied into a draft; then each
of ``--microgrids`` micro-grids (spread over the county) is re-run, the two ways in
turn, twice, each in a transaction rolled back afterwards.  Printed: the medians and
the ratio of the baseline to the re-run as it is.
"""

from __future__ import annotations

import argparse
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
    from api_load import empty_database, load_database
    from geogrid.api.planrerun import rerun
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.models import Microgrid, Plan

    tmp = Path(tempfile.mkdtemp(prefix="geogrid-rerun-bench-"))
    with empty_database(backend, args.postgres, tmp) as url:
        print(f"\n== {backend} ==", flush=True)
        load_database(url, county)
        engine = make_engine(url)
        with session_scope(engine, write=True) as s:
            pub = plans.partition_register(s, name="bench").plan
            plans.publish(s, pub.id)
            draft = plans.copy_plan(s, pub.id, "bench draft").id
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
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=["spatialite", "postgis", "both"], default="both")
    p.add_argument("--microgrids", type=int, default=6)
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = p.parse_args(argv)
    from geogrid.sample import generate_county

    county = generate_county(seed=0)
    print(f"county: {len(county.households)} households")
    for backend in (["spatialite", "postgis"] if args.backend == "both" else [args.backend]):
        run_backend(backend, county, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
