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


def _solve_batch(tasks: list[VillageTask]) -> list[VillageResult]:
    return [solve_village(t) for t in tasks]


def _batches(tasks: list[VillageTask], n: int) -> list[list[VillageTask]]:
    """Split tasks into about ``n`` batches of similar work (households), keeping order
    recoverable: batches hold tasks round-robin by size."""
    order = sorted(range(len(tasks)), key=lambda i: -len(tasks[i].points))
    out: list[list[int]] = [[] for _ in range(max(1, n))]
    load = [0] * len(out)
    for i in order:
        j = min(range(len(out)), key=lambda b: (load[b], b))
        out[j].append(i)
        load[j] += len(tasks[i].points) + 50
    return [[tasks[i] for i in sorted(b)] for b in out if b]


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
        batches = _batches(tasks, workers * 3)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(_solve_batch, batches))
    else:
        done = _run_dask(_batches(tasks, workers * 3), workers, scheduler)
    by_code = {r.code: r for batch in done for r in batch}
    return [by_code[t.code] for t in tasks]


def _run_dask(batches, workers, scheduler):
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the extra
        raise InputError(
            "engine='dask' needs dask and distributed: pip install 'geogrid[dask]'"
        ) from None
    if scheduler:
        with Client(scheduler) as client:
            futures = client.map(_solve_batch, batches, pure=False)
            return client.gather(futures)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        futures = client.map(_solve_batch, batches, pure=False)
        return client.gather(futures)
