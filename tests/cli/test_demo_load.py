"""``scripts/demo-load.sh`` (what ``make demo`` runs) end to end on the committed slice.

The script chains the real commands: ``db upgrade``, ``import boundaries/households/
persons``, ``partition --publish`` and ``users demo``.  Each step exists only as a CLI
call there, so a renamed option breaks ``make demo`` without breaking any unit test;
this test runs the script itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
SLICE = ROOT / "data" / "sample"


@pytest.mark.slow
def test_demo_load_script_loads_partitions_publishes_and_makes_users(tmp_path):
    demo = tmp_path / "demo"
    shutil.copytree(SLICE, demo / "sample")
    db = tmp_path / "demo.sqlite"
    env = dict(os.environ, GEOGRID_DATABASE_URL=f"sqlite:///{db}", GEOGRID_DEMO="1",
               BIN=str(Path(sys.executable).parent))
    run = subprocess.run(["bash", str(ROOT / "scripts" / "demo-load.sh"), str(demo)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert "published plan" in run.stdout
    assert (demo / ".loaded").exists()

    n_households = sum(1 for _ in open(SLICE / "households.csv", encoding="utf-8-sig")) - 1
    eng = create_engine(f"sqlite:///{db}")
    try:
        with eng.connect() as c:
            assert c.execute(text("SELECT count(*) FROM households")).scalar() == n_households
            plans = c.execute(text("SELECT id, status FROM plans")).all()
            assert [s for _, s in plans] == ["published"]
            assigned = c.execute(text("SELECT count(*) FROM assignments WHERE plan_id = :p"),
                                 {"p": plans[0][0]}).scalar()
            assert assigned == n_households
            # the engine's notes (the slice has buildings over the cap) are kept with it
            kinds = {k for (k,) in c.execute(text("SELECT kind FROM plan_notes WHERE plan_id = :p"),
                                             {"p": plans[0][0]})}
            assert "oversize_building" in kinds
            roles = {r for (r,) in c.execute(text("SELECT role FROM users"))}
            assert roles >= {"admin", "planner", "cadre", "analyst"}
    finally:
        eng.dispose()
    # the credentials are printed for the person who ran make demo
    assert "planner" in run.stdout + run.stderr
    assert "notes are kept with the plan" in run.stderr

    # a second run finds the stamp, loads nothing and prints the credentials again
    again = subprocess.run(["bash", str(ROOT / "scripts" / "demo-load.sh"), str(demo)], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "already loaded" in again.stdout
    assert "demo-planner" in again.stdout and "rows read" not in again.stdout
