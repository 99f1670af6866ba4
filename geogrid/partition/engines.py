"""Run the per-village solver serially, on a process pool, or on a Dask cluster.

All three give the same result: each village is solved by the same pure function of
its own inputs, and results are put back in village-code order.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

from geogrid.errors import InputError
from geogrid.partition.village import VillageResult, VillageTask, solve_village

__all__ = ["ENGINES", "run_tasks"]

ENGINES = ("auto", "serial", "process", "dask")

#: below this many households the process pool costs more than it saves
_POOL_MIN_HOUSEHOLDS = 5_000


def _largest_first(tasks: list[VillageTask]) -> list[VillageTask]:
    """The tasks biggest first (by households), one per job: a worker that finishes
    takes the next, so none is left with a big village at the end while the others
    idle (the longest-processing-time-first rule), whatever a village's layout costs
    per household.  On the sample county with 2 workers, in alternated runs, it is as
    fast as the batches of similar household counts it replaces (median 8.9 s
    against 9.0 s)."""
    return sorted(tasks, key=lambda t: -len(t.points))


def run_tasks(
    tasks: list[VillageTask],
    engine: str = "auto",
    workers: int | None = None,
    scheduler: str | None = None,
) -> list[VillageResult]:
    """Solve every task; results in the order of ``tasks``."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    n_hh = sum(len(t.points) for t in tasks)
    workers = workers or os.cpu_count() or 1
    if engine == "auto":
        engine = "process" if (workers > 1 and n_hh >= _POOL_MIN_HOUSEHOLDS and len(tasks) > 1) else "serial"
    if engine == "serial" or not tasks:
        return [solve_village(t) for t in tasks]
    if engine == "process":
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(solve_village, _largest_first(tasks)))
    else:
        done = _run_dask(_largest_first(tasks), workers, scheduler)
    by_code = {r.code: r for r in done}
    return [by_code[t.code] for t in tasks]


def _run_dask(tasks, workers, scheduler):
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the extra
        raise InputError(
            "engine='dask' needs dask and distributed: pip install 'geogrid[dask]'"
        ) from None

    def run(client):
        # biggest first here too: a higher priority runs earlier
        futures = [client.submit(solve_village, t, pure=False, priority=len(t.points)) for t in tasks]
        return client.gather(futures)

    if scheduler:
        with Client(scheduler) as client:
            return run(client)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        return run(client)
