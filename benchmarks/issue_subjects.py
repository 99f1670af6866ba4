"""What it costs to find whom issues are of (geogrid/db/issuesubjects.py), which an
analyst's issue statistics and hotspots count.

    .venv/bin/python benchmarks/issue_subjects.py                    # SpatiaLite and PostGIS
    .venv/bin/python benchmarks/issue_subjects.py --backend spatialite --issues 1000 5000

For each back-end: the full sample county (``generate_county(seed=0)``: 79,507
households, about 270,000 persons) loaded as ``county_db.load_database`` loads it
(set-up, not measured).  Then ``issue_subjects`` for N issues' contact phones, half of
them persons' phones (in the spellings residents give: ``+86 139-…``), half no person's,
timed against the named baseline: the lookup as first written, which matched each stored
phone with its separators taken out (``replace(replace(replace(phone…))``: no index can
serve it), in the same run, alternately, median of ``--repeats``.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from county_db import county_parser, empty_database, load_database, on_each_backend  # noqa: E402


def baseline_households_by_phone(session, phones):
    """The lookup as first written (d906f64): every person's phone, separators removed,
    compared with 400 phones at a time."""
    from sqlalchemy import func, select

    from geogrid.db.issuesubjects import phone_digits
    from geogrid.db.models import Person

    bare = func.replace(func.replace(func.replace(Person.phone, " ", ""), "-", ""), "+", "")
    found = defaultdict(set)
    wanted = sorted({p for p in phones if p})
    for i in range(0, len(wanted), 400):
        chunk = wanted[i:i + 400]
        for phone, household in session.execute(select(Person.phone, Person.household_id).where(
                bare.in_([*chunk, *("86" + p for p in chunk)]))).all():
            found[phone_digits(phone)].add(household)
    return {p: next(iter(h)) for p, h in found.items() if len(h) == 1}


def run(backend, county, args):
    from geogrid.db import issuesubjects
    from geogrid.db.engine import make_engine, session_scope

    known = [p for p in county.persons["phone"].dropna().astype(str)]
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp, empty_database(backend, args.postgres, Path(tmp)) as url:
        print(f"\n== {backend} ==", flush=True)
        load_database(url, county)
        engine = make_engine(url)
        real = issuesubjects.households_by_phone
        for n in args.issues:
            phones = [f"+86 {p[:3]}-{p[3:7]}-{p[7:]}" for p in rng.sample(known, n // 2)]
            phones += [f"139{rng.randrange(10 ** 8):08d}" for _ in range(n - n // 2)]
            times = {"indexed": [], "baseline": []}
            for _ in range(args.repeats):
                for name, fn in (("indexed", real), ("baseline", baseline_households_by_phone)):
                    issuesubjects.households_by_phone = fn
                    try:
                        with session_scope(engine) as s:
                            t = time.perf_counter()
                            got = issuesubjects.issue_subjects(s, phones, [None] * n)
                            times[name].append(time.perf_counter() - t)
                    finally:
                        issuesubjects.households_by_phone = real
                    times.setdefault(name + " households", sum(g.startswith("household:") for g in got))
            a, b = statistics.median(times["indexed"]), statistics.median(times["baseline"])
            same = times["indexed households"] == times["baseline households"]
            print(f"  {n} issues: indexed {a * 1000:.0f} ms, baseline {b * 1000:.0f} ms, "
                  f"baseline / indexed = {b / a:.1f}x; issues found of a household: "
                  f"{times['indexed households']} ({'the same' if same else 'NOT the same'} as the baseline)",
                  flush=True)
        engine.dispose()


def main(argv=None) -> int:
    p = county_parser(__doc__)
    p.add_argument("--issues", type=int, nargs="+", default=[1000, 5000])
    p.add_argument("--repeats", type=int, default=3)
    return on_each_backend(p.parse_args(argv), run)


if __name__ == "__main__":
    sys.exit(main())
