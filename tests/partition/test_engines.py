"""Every engine gives exactly the serial result."""

from __future__ import annotations

import numpy as np
import pytest

from geogrid.partition import partition

from .synthetic import synthetic_county


@pytest.fixture(scope="module")
def county():
    return synthetic_county(seed=11, n_households=4000)


@pytest.fixture(scope="module")
def serial(county):
    return partition(county.households, county.villages, engine="serial")


def _same(a, b):
    assert a.households["cell_id"].equals(b.households["cell_id"])
    assert a.cells["cell_id"].tolist() == b.cells["cell_id"].tolist()
    assert a.cells.geometry.geom_equals_exact(b.cells.geometry, 0).all()
    assert a.microgrids.geometry.geom_equals_exact(b.microgrids.geometry, 0).all()


class Calls(list):
    """``progress(stage, done, total)`` calls, kept."""

    def __call__(self, stage, done, total):
        self.append((stage, done, total))

    def check(self, county):
        """Households from 0 to all of them, one step per village, never backwards;
        then the assembling."""
        hh = [(d, t) for s, d, t in self if s == "households"]
        n = len(county.households)
        assert hh[0] == (0, n) and hh[-1] == (n, n)
        assert len(hh) == 1 + county.villages["village_code"].nunique()
        assert all(a[0] < b[0] for a, b in zip(hh, hh[1:]))  # no village is empty here
        assert self[-2:] == [("assembling", 0, 1), ("assembling", 1, 1)]


def test_process_pool_equals_serial_and_tells_progress(county, serial):
    calls = Calls()
    _same(serial, partition(county.households, county.villages, engine="process", workers=2, progress=calls))
    calls.check(county)
    calls = Calls()
    _same(serial, partition(county.households, county.villages, engine="serial", progress=calls))
    calls.check(county)


@pytest.mark.slow
def test_dask_equals_serial_and_tells_progress(county, serial):
    calls = Calls()
    _same(serial, partition(county.households, county.villages, engine="dask", workers=2, progress=calls))
    calls.check(county)


def test_report_has_every_figure(serial):
    f = serial.figures
    for k in ("mean_fill", "microgrids_within_min_plus_one", "polsby_popper_median",
              "within_cell_msd_m2", "small_hamlets_unsplit", "microgrid_area_within_25pct",
              "microgrid_households_multiple"):
        assert k in f and f[k] == f[k]  # present and not NaN
    assert 0 < f["mean_fill"] <= 1.5
    assert f["households_assigned"] == len(serial.households)


@pytest.mark.parametrize("outlines", ["given", "derived"])
def test_the_order_of_the_rows_does_not_change_the_plan(outlines):
    """A register sorted another way (by name, by household number in another
    collation, as PostgreSQL and SQLite order text differently) gets the same plan:
    every household in the same cell, every polygon the same to the bit (before, 1 %
    of the households and a third of the cells moved, and the cell count changed)."""
    c = synthetic_county(seed=3, n_households=3000)
    villages = c.villages if outlines == "given" else None
    a = partition(c.households, villages, engine="serial")
    shuffled = c.households.iloc[np.random.default_rng(1).permutation(len(c.households))]
    b = partition(shuffled, villages, engine="serial")
    assert b.households.index.equals(shuffled.index)  # the caller's order is kept
    assert b.households["cell_id"].reindex(a.households.index).equals(a.households["cell_id"])
    assert a.cells["cell_id"].tolist() == b.cells["cell_id"].tolist()
    assert a.cells.geometry.geom_equals_exact(b.cells.geometry, 0).all()
    assert a.microgrids.geometry.geom_equals_exact(b.microgrids.geometry, 0).all()
    assert a.figures == pytest.approx(b.figures, nan_ok=True)


def _failing(code, log):
    """A solve_village that fails at once for village ``code`` and, for the others,
    writes its village to ``log`` and takes a second."""
    import time

    from geogrid.partition.village import solve_village

    def solve(task):
        if task.code == code:
            raise ValueError("a failure inside the cutting")
        with open(log, "a") as f:
            f.write(task.code + "\n")
        time.sleep(1.0)
        return solve_village(task)

    return solve


@pytest.mark.parametrize("engine", ["serial", "process"])
def test_a_village_that_fails_is_named_and_the_rest_are_not_solved_first(county, engine, tmp_path, monkeypatch):
    """Before: the error was the solver's own, naming no village, and the process pool
    solved every queued village before raising it (a county's whole run), leaving its
    workers to finish the villages in flight."""
    import multiprocessing

    import geogrid.partition.engines as engines

    # the first village started: in code order serially, the biggest first on the pool
    biggest = (county.households["village_code"].value_counts().index[0] if engine == "process"
               else sorted(county.villages["village_code"])[0])
    log = tmp_path / "started"
    monkeypatch.setattr(engines, "solve_village", _failing(biggest, log))
    with pytest.raises(ValueError, match="a failure inside the cutting") as info:
        partition(county.households, county.villages, engine=engine, workers=2)
    assert f"while solving village {biggest}" in "".join(getattr(info.value, "__notes__", []))
    started = log.read_text().split() if log.exists() else []
    n = county.villages["village_code"].nunique()
    assert len(started) <= (0 if engine == "serial" else 2) < n - 1
    assert multiprocessing.active_children() == []  # no worker left solving


@pytest.mark.parametrize("bad", [0, -1, 2.5, "2", True])
def test_workers_must_be_a_whole_number_of_one_or_more(county, bad):
    from geogrid.errors import InputError

    with pytest.raises(InputError, match="workers must be a whole number"):
        partition(county.households, county.villages, workers=bad)


def test_a_scheduler_address_is_only_for_dask(county):
    from geogrid.errors import InputError

    with pytest.raises(InputError, match="engine='dask'"):
        partition(county.households, county.villages, engine="process", scheduler="tcp://127.0.0.1:9")
