"""Import benchmark: the whole sample county through the repositories, on both back-ends.

    .venv/bin/python benchmarks/import_bench.py                 # SpatiaLite and PostGIS
    .venv/bin/python benchmarks/import_bench.py --backend spatialite
    .venv/bin/python benchmarks/import_bench.py --synthetic     # without geogrid.sample

For each back-end, on a fresh database migrated to head:

1. areas (county, towns, villages), the county's 79,507 households and their ~270k
   persons through ``upsert_areas`` / ``upsert_households`` / ``upsert_persons`` in one
   transaction, committed: seconds and rows per second (target: under 60 s);
2. the same import again (everything unchanged) and with 10 % of households edited;
3. a naive import of a 5,000-household slice and its persons, one ORM object per row
   (``session.add`` per row, one commit), on a fresh database of the same back-end, and
   the ratio of the bulk rate to it.

PostGIS uses a throw-away database on ``--postgres`` (default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres), dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

N_HOUSEHOLDS = 79_507
NAIVE_ROWS = 5_000


@dataclass
class Register:
    county: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    households: gpd.GeoDataFrame
    persons: pd.DataFrame
    source: str


def load_register(synthetic: bool) -> Register:
    if not synthetic:
        try:
            from geogrid.sample import generate_county
        except ImportError as exc:  # being written concurrently
            print(f"geogrid.sample unavailable ({exc}); using the synthetic register")
        else:
            try:
                c = generate_county(seed=0)
            except Exception as exc:  # noqa: BLE001 - a benchmark should still run
                print(f"geogrid.sample.generate_county failed ({type(exc).__name__}: {exc}); "
                      "using the synthetic register")
            else:
                return Register(c.county, c.towns, c.villages, c.households, c.persons,
                                "geogrid.sample.generate_county(seed=0)")
    return synthetic_register()


def synthetic_register(seed: int = 0) -> Register:
    """A register of the same size and shape: 156 villages on a grid, 3.4 persons/household."""
    from shapely.geometry import box

    rng = np.random.default_rng(seed)
    x0, y0, nx, ny, step = 108.85, 27.0, 13, 12, 0.04
    vcodes, vgeoms, tcodes = [], [], []
    for j in range(ny):
        for i in range(nx):
            t = (j * nx + i) // 15
            vcodes.append(f"431227{100 + t:03d}{len(vcodes) % 1000:03d}")
            tcodes.append(f"431227{100 + t:03d}000")
            vgeoms.append(box(x0 + i * step, y0 + j * step, x0 + (i + 1) * step, y0 + (j + 1) * step))
    villages = gpd.GeoDataFrame({"code": vcodes, "name": [f"村{k}" for k in range(len(vcodes))],
                                 "parent_code": tcodes, "vintage": 2023}, geometry=vgeoms, crs=4326)
    towns = villages.dissolve("parent_code").reset_index()[["parent_code", "geometry"]]
    towns = towns.rename(columns={"parent_code": "code"})
    towns["name"] = [f"镇{k}" for k in range(len(towns))]
    towns["parent_code"] = "431227"
    county = gpd.GeoDataFrame({"code": ["431227"], "name": ["新晃侗族自治县"]},
                              geometry=[villages.union_all()], crs=4326)
    v = rng.integers(0, len(vcodes), N_HOUSEHOLDS)
    minx = np.array([g.bounds[0] for g in vgeoms])[v]
    miny = np.array([g.bounds[1] for g in vgeoms])[v]
    xs, ys = minx + rng.random(N_HOUSEHOLDS) * step, miny + rng.random(N_HOUSEHOLDS) * step
    nos = [f"{vcodes[k]}-{i:05d}" for i, k in enumerate(v)]
    households = gpd.GeoDataFrame({
        "household_no": nos, "head_name": [f"户主{i}" for i in range(N_HOUSEHOLDS)],
        "address": [f"某组{i}号" for i in range(N_HOUSEHOLDS)],
        "village_code": [vcodes[k] for k in v], "building": [f"B{i // 2}" for i in range(N_HOUSEHOLDS)],
        "hamlet": [f"寨{k % 40}" for k in v],
        "care_level": rng.choice(["green", "yellow", "red"], N_HOUSEHOLDS, p=[.8, .15, .05]),
    }, geometry=gpd.points_from_xy(xs, ys), crs=4326)
    sizes = rng.choice([1, 2, 3, 4, 5, 6], N_HOUSEHOLDS, p=[.1, .2, .2, .25, .15, .1])
    rows, seq = [], 0
    for no, size in zip(nos, sizes):
        for k in range(size):
            gender = "M" if seq % 2 else "F"
            id_number, birth = _id_number(seq, gender)
            rows.append((no, f"人{seq}", gender, birth, id_number, f"13{seq:09d}",
                         "户主" if k == 0 else "家属", seq % 11 == 0,
                         "elderly_alone" if seq % 17 == 0 else ""))
            seq += 1
    persons = pd.DataFrame(rows, columns=["household_no", "name", "gender", "birth_date",
                                          "id_number", "phone", "relation", "party_member", "tags"])
    return Register(county, towns, villages, households, persons, f"synthetic (seed={seed})")


def _id_number(i: int, gender: str) -> tuple[str, dt.date]:
    """A valid, unique GB 11643 number for person ``i``, and its birth date."""
    from geogrid.idnumber import check_character

    birth = dt.date(1930, 1, 1) + dt.timedelta(days=i // 499)
    seq = (i % 499) * 2 + (1 if gender == "M" else 2)
    first = f"431227{birth:%Y%m%d}{seq:03d}"
    return first + check_character(first), birth


# --- databases --------------------------------------------------------------------------


class Database:
    def __init__(self, backend: str, postgres: str, workdir: Path):
        self.backend, self.postgres, self.workdir = backend, postgres, workdir
        self.created: list[str] = []

    def fresh(self) -> str:
        from geogrid.db import migrate

        if self.backend == "spatialite":
            url = f"sqlite:///{self.workdir / f'bench-{uuid.uuid4().hex[:8]}.sqlite'}"
        else:
            from sqlalchemy import create_engine
            from sqlalchemy.engine import make_url

            name = f"geogrid_bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(self.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            admin.dispose()
            self.created.append(name)
            url = make_url(self.postgres).set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        return url

    def cleanup(self) -> None:
        if not self.created:
            return
        from sqlalchemy import create_engine

        admin = create_engine(self.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# --- runs -------------------------------------------------------------------------------


def bulk_import(url: str, reg: Register, households=None, persons=None) -> dict:
    from geogrid.db import areas, households as hh_repo, persons as p_repo
    from geogrid.db.engine import make_engine, session_scope

    households = reg.households if households is None else households
    persons = reg.persons if persons is None else persons
    engine = make_engine(url)
    times = {}
    start = time.perf_counter()
    with session_scope(engine, write=True) as s:
        t = time.perf_counter()
        areas.upsert_areas(s, reg.county, "county")
        areas.upsert_areas(s, reg.towns, "town")
        areas.upsert_areas(s, reg.villages, "village")
        times["areas"] = time.perf_counter() - t
        t = time.perf_counter()
        hc = hh_repo.upsert_households(s, households)
        times["households"] = time.perf_counter() - t
        t = time.perf_counter()
        pc = p_repo.upsert_persons(s, persons)
        times["persons"] = time.perf_counter() - t
        t = time.perf_counter()
    times["commit"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - start
    engine.dispose()
    return {"times": times, "households": hc, "persons": pc}


def naive_import(url: str, reg: Register, n: int) -> dict:
    """One ORM object per row: session.add() for every household and person, one commit."""
    from geoalchemy2.shape import from_shape

    from geogrid.db import areas
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.models import Household, Person

    households = reg.households.iloc[:n]
    persons = reg.persons[reg.persons["household_no"].isin(set(households["household_no"]))]
    engine = make_engine(url)
    with session_scope(engine, write=True) as s:
        areas.upsert_areas(s, reg.villages, "village")
    start = time.perf_counter()
    with session_scope(engine, write=True) as s:
        ids = {}
        for rec in households.itertuples(index=False):
            h = Household(household_no=rec.household_no, head_name=rec.head_name,
                          address=rec.address, village_code=rec.village_code,
                          building=rec.building, hamlet=rec.hamlet, care_level=rec.care_level,
                          geom=from_shape(rec.geometry, srid=4326))
            s.add(h)
            ids[rec.household_no] = h
        t_h = time.perf_counter() - start
        s.flush()
        for rec in persons.itertuples(index=False):
            s.add(Person(household_id=ids[rec.household_no].id, name=rec.name,
                         gender=rec.gender if isinstance(rec.gender, str) else None,
                         birth_date=pd.Timestamp(rec.birth_date).date()
                         if pd.notna(rec.birth_date) else None,
                         id_number=rec.id_number if isinstance(rec.id_number, str) else None,
                         phone=rec.phone if isinstance(rec.phone, str) else None,
                         relation=rec.relation, party_member=bool(rec.party_member),
                         tags=rec.tags if isinstance(rec.tags, str) and rec.tags else None))
    total = time.perf_counter() - start
    engine.dispose()
    return {"seconds": total, "households": len(households), "persons": len(persons),
            "rows": len(households) + len(persons), "add_households_s": t_h}


def run(backend: str, reg: Register, db: Database) -> dict:
    print(f"\n== {backend} ==")
    url = db.fresh()
    first = bulk_import(url, reg)
    n_rows = len(reg.households) + len(reg.persons)
    t = first["times"]
    print(f"first import   {t['total']:7.2f} s  ({n_rows:,} rows: {len(reg.households):,} households "
          f"+ {len(reg.persons):,} persons; {n_rows / t['total']:,.0f} rows/s)")
    print(f"               areas {t['areas']:.2f} s, households {t['households']:.2f} s, "
          f"persons {t['persons']:.2f} s, commit {t['commit']:.2f} s")
    print(f"               households {first['households']}, persons {first['persons']}")

    again = bulk_import(url, reg)
    print(f"re-import      {again['times']['total']:7.2f} s  (unchanged: "
          f"{again['households'].unchanged:,} households, {again['persons'].unchanged:,} persons)")

    edited = reg.households.copy()
    rng = np.random.default_rng(1)
    pick = rng.choice(len(edited), len(edited) // 10, replace=False)
    edited.loc[edited.index[pick], "address"] = edited["address"].iloc[pick] + "（改）"
    third = bulk_import(url, reg, households=edited)
    print(f"10% edited     {third['times']['total']:7.2f} s  (households {third['households']})")

    slice_h = reg.households.iloc[:NAIVE_ROWS]
    slice_p = reg.persons[reg.persons["household_no"].isin(set(slice_h["household_no"]))]
    bulk_slice = bulk_import(db.fresh(), reg, households=slice_h, persons=slice_p)
    slice_rows = len(slice_h) + len(slice_p)
    slice_s = bulk_slice["times"]["households"] + bulk_slice["times"]["persons"]
    naive = naive_import(db.fresh(), reg, NAIVE_ROWS)
    naive_rate = naive["rows"] / naive["seconds"]
    bulk_rate = n_rows / (t["households"] + t["persons"] + t["commit"])
    print(f"naive ORM      {naive['seconds']:7.2f} s  for a {naive['households']:,}-household "
          f"slice + {naive['persons']:,} persons ({naive_rate:,.0f} rows/s)")
    print(f"bulk, same slice {slice_s:5.2f} s  ({slice_rows / slice_s:,.0f} rows/s)")
    print(f"ratio          bulk (whole county) / naive = {bulk_rate / naive_rate:.1f}x; "
          f"same slice = {(slice_rows / slice_s) / naive_rate:.1f}x")
    target = "OK" if t["total"] < 60 else "MISSED"
    print(f"target         whole county under 60 s: {target} ({t['total']:.1f} s)")
    return {"backend": backend, "total": t["total"], "rows_per_s": n_rows / t["total"],
            "ratio": bulk_rate / naive_rate}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backend", choices=["spatialite", "postgis", "both"], default="both")
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--synthetic", action="store_true", help="skip geogrid.sample")
    args = p.parse_args(argv)
    t = time.perf_counter()
    reg = load_register(args.synthetic)
    print(f"register: {reg.source}: {len(reg.households):,} households, {len(reg.persons):,} "
          f"persons, {len(reg.villages)} villages (made in {time.perf_counter() - t:.1f} s, not timed)")
    backends = ["spatialite", "postgis"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="geogrid-bench-") as tmp:
        results = []
        for backend in backends:
            db = Database(backend, args.postgres, Path(tmp))
            try:
                results.append(run(backend, reg, db))
            finally:
                db.cleanup()
    print("\nsummary")
    for r in results:
        print(f"  {r['backend']:10s} {r['total']:6.1f} s  {r['rows_per_s']:9,.0f} rows/s  "
              f"{r['ratio']:5.1f}x naive")
    return 0 if all(r["total"] < 60 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
