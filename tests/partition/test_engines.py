"""Every engine gives exactly the serial result."""

from __future__ import annotations

import re

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


def _within(seconds, call):
    """``call()``, failing the test if it has not returned after ``seconds`` (it hung,
    before) instead of hanging the suite: pytest-timeout is not installed."""
    import threading

    outcome = {}

    def run():
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"still waiting after {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


@pytest.fixture
def quick_dask(monkeypatch):
    """The Dask engine's waits for a scheduler and for its first worker, cut to 2 s."""
    pytest.importorskip("distributed")
    import geogrid.partition.engines as engines

    monkeypatch.setattr(engines, "DASK_CONNECT_TIMEOUT", 2.0)
    monkeypatch.setattr(engines, "DASK_WORKERS_TIMEOUT", 2.0)


@pytest.mark.parametrize("answer", [None, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"],
                         ids=["silent", "http"])
def test_an_address_that_is_not_a_dask_scheduler_is_said_so(county, quick_dask, answer):
    """A port where something else listens, which says nothing or answers as a web server
    does.  Before: distributed.Client waited on the first for ever (its handshake has no
    time limit, whatever its timeout), and on the second raised numpy's MemoryError (it
    took the reply's first bytes for the length of a message of exabytes)."""
    import socket
    import threading
    import time

    from geogrid.errors import InputError

    server = socket.create_server(("127.0.0.1", 0))
    taken = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:  # the server is closed: the test is over
                return
            taken.append(conn)
            if answer:
                conn.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    try:
        start = time.monotonic()
        with pytest.raises(InputError) as info:
            _within(60, lambda: partition(county.households, county.villages, engine="dask",
                                          scheduler=address))
        assert time.monotonic() - start < 10
    finally:
        server.close()
        for conn in taken:
            conn.close()
    why = ("something answered, but not as a Dask scheduler" if answer
           else "something took the connection but did not answer as a Dask scheduler within 2 s")
    assert str(info.value) == (
        f"could not reach a Dask scheduler at {address}: {why} (is the address right? A scheduler "
        f"listens on port 8786 unless told otherwise; its dashboard, on 8787, is not it)")
    assert taken  # it was reached, and said to be something else


@pytest.mark.parametrize("there", ["nothing", "a worker"])
def test_an_address_with_no_scheduler_is_said_so(county, quick_dask, there):
    """A port nobody listens on, and a worker's address given for its scheduler's.
    Before: the first raised distributed's OSError after 30 s, whatever was asked; the
    second a TypeError from inside distributed."""
    import socket
    import time

    from distributed import LocalCluster

    from geogrid.errors import InputError

    def run(address):
        start = time.monotonic()
        with pytest.raises(InputError) as info:
            _within(60, lambda: partition(county.households, county.villages, engine="dask",
                                          scheduler=address))
        assert time.monotonic() - start < 10
        return str(info.value)

    if there == "nothing":
        with socket.create_server(("127.0.0.1", 0)) as s:
            address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
        # distributed keeps the error of its last try only, which the time running out may cut short
        assert re.fullmatch(
            re.escape(f"could not reach a Dask scheduler at {address}: no connection within 2 s")
            + "(: Connection refused)?"
            + re.escape(" (is the address right, and is `dask scheduler` running there?)"), run(address))
    else:
        with LocalCluster(n_workers=1, processes=False, protocol="tcp", host="127.0.0.1",
                          dashboard_address=None) as cluster:
            address = next(iter(cluster.workers.values())).address
            assert run(address).startswith(
                f"could not reach a Dask scheduler at {address}: a Dask worker answered, not the "
                f"scheduler (is the address right? ")


def test_a_scheduler_with_no_workers_is_said_so(county, quick_dask):
    """Before: the run waited at 0 % for ever, saying nothing.  The client is closed."""
    import time

    from distributed import LocalCluster

    from geogrid.errors import InputError

    with LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        start = time.monotonic()
        with pytest.raises(InputError) as info:
            _within(60, lambda: partition(county.households, county.villages, engine="dask",
                                          scheduler=address))
        assert time.monotonic() - start < 10
        assert str(info.value).startswith(
            f"the Dask scheduler at {address} has no workers after 2 s; start some with "
            f"`dask worker {address}`")
        deadline = time.monotonic() + 5
        while set(cluster.scheduler.clients) - {"fire-and-forget"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(cluster.scheduler.clients) == {"fire-and-forget"}  # our client is closed


def test_a_scheduler_that_goes_away_mid_run_is_said_so(county, quick_dask):
    """The scheduler is closed once the first village is solved: the error names it and
    the villages left (before: distributed's FutureCancelledError, naming one task key)."""
    import dask
    from distributed import LocalCluster

    from geogrid.errors import GeogridError

    n = county.villages["village_code"].nunique()
    # the worker left without a scheduler tries to reach it again for this long, and the
    # cluster waits for it to give up before it closes (30 s by default)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                         host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address

        solved = Calls()

        def progress(stage, done, total):
            solved(stage, done, total)
            if stage == "households" and done > 0 and cluster.scheduler.status.name == "running":
                cluster.sync(cluster.scheduler.close)

        with pytest.raises(GeogridError) as info:
            _within(60, lambda: partition(county.households, county.villages, engine="dask",
                                          scheduler=address, progress=progress))
    left = n - (len(solved) - 1)  # one call before the first village; usually n - 1
    assert 0 < left < n
    assert str(info.value).startswith(
        f"lost the connection to the Dask scheduler at {address} with {left} of {n} village(s) "
        f"not solved (")
    assert str(info.value).endswith("is it still running? Run the partition again once it is")


def test_a_dask_cluster_or_client_may_stand_for_its_address(county, serial):
    """An analyst's own LocalCluster (or a Client of it), as many Dask APIs take it.
    Before: refused with 'something answered, but not as a Dask scheduler', nothing
    having answered; anything else is refused saying what to give."""
    from distributed import Client, LocalCluster

    from geogrid.errors import InputError

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        _same(serial, partition(county.households, county.villages, engine="dask", scheduler=cluster))
        with Client(cluster) as client:
            _same(serial, partition(county.households, county.villages, engine="dask", scheduler=client))
    with pytest.raises(InputError, match="scheduler must be a Dask scheduler's address"):
        partition(county.households, county.villages, engine="dask", scheduler=8786)


@pytest.fixture
def two_workers(quick_dask):
    """A scheduler and two workers, in this process, whose workers the tests close
    mid-run (as a worker killed, out of memory or on a drained node leaves)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster


def _close(cluster, worker):
    """``worker`` leaves ``cluster``'s scheduler now; the village it is solving is lost."""
    cluster.sync(worker.close, executor_wait=False, reason="the test")


def _solved(county, calls):
    """The villages solved, in the order they were, from the households that ``progress``
    was told of (the villages of the test county differ in size)."""
    sizes = county.households["village_code"].value_counts()
    assert sizes.is_unique
    code_of = dict(zip(sizes.values.tolist(), sizes.index))
    hh = [d for s, d, t in calls if s == "households"]
    return [code_of[b - a] for a, b in zip(hh, hh[1:])]


_LOGGERS = ("distributed", "distributed.client", "distributed.scheduler", "distributed.worker")


def test_a_cluster_whose_workers_all_leave_mid_run_is_said_so(county, two_workers):
    """Both workers leave once the first village is solved, the scheduler staying up.
    Before: the run waited for ever (Dask keeps the villages left until a worker comes).
    Now it stops once the scheduler has had no worker for DASK_WORKERS_TIMEOUT (2 s here),
    naming the villages not solved, and none of them is left queued on the cluster;
    distributed's loggers are quiet meanwhile, and as before after."""
    import logging
    import time

    from geogrid.errors import GeogridError

    cluster = two_workers
    address = cluster.scheduler_address
    levels = {n: logging.getLogger(n).level for n in _LOGGERS}
    calls, left_at, during = Calls(), [], []

    def progress(stage, done, total):
        calls(stage, done, total)
        if stage == "households" and done > 0 and not left_at:
            during.extend(logging.getLogger(n).isEnabledFor(logging.ERROR) for n in _LOGGERS)
            for worker in list(cluster.workers.values()):
                _close(cluster, worker)
            assert not cluster.scheduler.workers
            left_at.append(time.monotonic())

    with pytest.raises(GeogridError) as info:
        _within(20, lambda: partition(county.households, county.villages, engine="dask",
                                      scheduler=address, progress=progress))
    waited = time.monotonic() - left_at[0]
    assert 2 <= waited < 5
    n = county.villages["village_code"].nunique()
    solved = _solved(county, calls)
    by_size = county.households["village_code"].value_counts().index  # the biggest first
    left = [c for c in by_size if c not in solved]
    assert 0 < len(left) < n
    assert str(info.value) == (
        f"the Dask cluster at {address} has no workers left (none for the last 2 s) with "
        f"{len(left)} of {n} village(s) not solved ({', '.join(left[:5])}…); start workers with "
        f"`dask worker {address}`, or check the cluster for why they stopped (killed? out of "
        f"memory?), then run the partition again (to wait longer for workers that come back: "
        f"geogrid.partition.engines.DASK_WORKERS_TIMEOUT)")
    assert during and not any(during)
    assert {n: logging.getLogger(n).level for n in _LOGGERS} == levels
    deadline = time.monotonic() + 5
    while (cluster.scheduler.tasks or set(cluster.scheduler.clients) - {"fire-and-forget"}) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not cluster.scheduler.tasks  # the villages left are not queued for a worker to come
    assert set(cluster.scheduler.clients) == {"fire-and-forget"}  # our client is closed


def test_a_worker_that_leaves_while_another_remains_is_no_matter(county, serial, two_workers):
    """One of the two workers leaves once the first village is solved: Dask solves its
    villages on the other, and the run ends with the serial result."""
    cluster = two_workers
    calls = Calls()

    def progress(stage, done, total):
        calls(stage, done, total)
        if stage == "households" and done > 0 and len(cluster.scheduler.workers) == 2:
            _close(cluster, next(iter(cluster.workers.values())))
            assert len(cluster.scheduler.workers) == 1

    _same(serial, _within(20, lambda: partition(county.households, county.villages, engine="dask",
                                                scheduler=cluster.scheduler_address, progress=progress)))
    calls.check(county)


def test_a_worker_that_joins_within_the_wait_ends_the_run(county, serial, two_workers, monkeypatch):
    """Both workers leave once the first village is solved, and a new one joins a second
    later, within DASK_WORKERS_TIMEOUT (5 s here): the run goes on to the serial result."""
    import threading
    import time

    from distributed import Worker

    import geogrid.partition.engines as engines

    monkeypatch.setattr(engines, "DASK_WORKERS_TIMEOUT", 5.0)
    cluster = two_workers
    calls, joined = Calls(), []

    async def start():
        return await Worker(cluster.scheduler_address, nthreads=1, host="127.0.0.1")

    def progress(stage, done, total):
        calls(stage, done, total)
        if stage == "households" and done > 0 and not joined:
            for worker in list(cluster.workers.values()):
                _close(cluster, worker)
            assert not cluster.scheduler.workers
            joined.append(time.monotonic())
            threading.Timer(1.0, lambda: joined.append(cluster.sync(start))).start()

    try:
        start_at = time.monotonic()
        _same(serial, _within(20, lambda: partition(county.households, county.villages, engine="dask",
                                                    scheduler=cluster.scheduler_address, progress=progress)))
        assert time.monotonic() - start_at > 1  # it waited for the new worker
        calls.check(county)
    finally:
        for worker in joined[1:]:
            cluster.sync(worker.close)


def _fail_first(i):
    import time

    if i == 0:
        raise ValueError("the first village fails")
    time.sleep(0.2)
    return i


def test_stop_leaves_no_worker_counted_alive():
    """Before: ``_stop`` joined the workers while the pool's own thread joined them
    too; where that thread reaped one first, the join returned before the exit code
    was stored, and ``multiprocessing.active_children()`` still listed the worker
    (after about one stop in six; the county test above failed so once in a while)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from geogrid.partition.engines import _stop

    left = []
    for _ in range(40):
        pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork"))
        futures = [pool.submit(_fail_first, i) for i in range(6)]
        with pytest.raises(ValueError, match="the first village fails"):
            try:
                for f in as_completed(futures):
                    f.result()
            finally:
                _stop(pool)
        left += multiprocessing.active_children()
    assert left == []
