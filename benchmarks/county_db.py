"""The county databases the API benchmarks run on: the full sample county loaded into
an empty SpatiaLite file or PostGIS database, partitioned where asked, and the options
and loop over the back-ends that those benchmarks share (``api_load``, ``api_cpu``,
``scope_reads``, ``api_rerun``, ``edit_notes``)."""

from __future__ import annotations

import argparse
import contextlib
import time
import uuid
from pathlib import Path

PASSWORD = "bench-password-123"


def load_database(url: str, county) -> list[str]:
    """Load ``county`` and the bench cadre into the empty database at ``url``; returns the
    households' ids, sorted."""
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
    with engine.connect() as conn:
        ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM households ORDER BY id")]
    engine.dispose()
    print(f"  loaded in {time.perf_counter() - t:.1f} s", flush=True)
    return ids


def county_parser(doc: str) -> argparse.ArgumentParser:
    """The options of the county benchmarks that run on both back-ends (``--backend``,
    ``--postgres``); a script adds its own."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--backend", choices=["spatialite", "postgis", "both"], default="both")
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    return p


def on_each_backend(args, run_backend) -> int:
    """``run_backend(backend, county, args)`` for each back-end of ``args.backend``, on
    the sample county (``generate_county(seed=0)``)."""
    from geogrid.sample import generate_county

    county = generate_county(seed=0)
    print(f"county: {len(county.households)} households, {len(county.persons)} persons")
    for backend in (["spatialite", "postgis"] if args.backend == "both" else [args.backend]):
        run_backend(backend, county, args)
    return 0


@contextlib.contextmanager
def partitioned_county(backend: str, postgres: str, tmp: Path, county, *, publish: bool = True):
    """``(url, plan id)``: an empty database on ``backend`` (:func:`empty_database`) with
    ``county`` loaded (:func:`load_database`) and partitioned by ``partition_register``,
    published unless ``publish`` is False (then a draft); the set-up's times printed."""
    from geogrid.db import plans, registerpartition
    from geogrid.db.engine import make_engine, session_scope

    with empty_database(backend, postgres, tmp) as url:
        print(f"\n== {backend} ==", flush=True)
        load_database(url, county)
        engine = make_engine(url)
        t = time.perf_counter()
        with session_scope(engine, write=True) as s:
            pid = registerpartition.partition_register(s, name="bench").plan.id
            if publish:
                plans.publish(s, pid)
        engine.dispose()
        print(f"  partitioned{' and published' if publish else ' into a draft'} in "
              f"{time.perf_counter() - t:.1f} s (set-up)", flush=True)
        yield url, pid


@contextlib.contextmanager
def empty_database(backend: str, postgres: str, tmp: Path):
    """The URL of an empty database on ``backend``: a SpatiaLite file in ``tmp``, or a new
    PostGIS database on the server of ``postgres`` (dropped again on leaving)."""
    if backend == "spatialite":
        yield f"sqlite:///{tmp / 'bench.sqlite'}"
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    name = f"geogrid_apibench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
        e = create_engine(url, isolation_level="AUTOCOMMIT")
        with e.connect() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS postgis")
        e.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
