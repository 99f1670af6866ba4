"""Run the per-village solver serially, on a process pool, or on a Dask cluster.

All three give the same result: each village is solved by the same pure function of
its own inputs, and results are put back in village-code order.

A run is all or nothing.  On a Dask cluster it ends with an error naming the villages
not solved when the scheduler goes away, or when every worker has left and none has come
back within :data:`DASK_WORKERS_TIMEOUT` (Dask itself would wait for ever); a worker
leaving while others remain is no matter.  While a Dask run lasts, distributed's loggers
in this process log only what is critical: the error says what went wrong, without
distributed's tracebacks and warnings besides.
"""

from __future__ import annotations

import asyncio
import logging
import numbers
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from geogrid.errors import GeogridError, InputError
from geogrid.partition.village import VillageResult, VillageTask, solve_village

__all__ = ["ENGINES", "run_tasks", "Progress"]

#: ``progress(stage, done, total)``, as :func:`geogrid.sample.generate_county` calls it
Progress = Callable[[str, int, int], None]

ENGINES = ("auto", "serial", "process", "dask")

#: below this many households the process pool costs more than it saves
_POOL_MIN_HOUSEHOLDS = 5_000

#: Seconds that ``engine="dask"`` gives the scheduler at the address it is given to
#: answer, as a Dask scheduler, before it says it cannot reach one.  A scheduler answers
#: in milliseconds, and a port nobody listens on is refused at once (distributed tries
#: again until this time is up, in case the scheduler is starting); what takes the time
#: is a host that swallows the packets, or another kind of server on that port, for which
#: distributed's own connection would wait for ever (its handshake has no time limit,
#: dask/distributed#8071).  10 s leaves room for a slow or TLS link; raise it for a far
#: one.  Tests lower it.
DASK_CONNECT_TIMEOUT = 10.0

#: Seconds that ``engine="dask"`` waits for the scheduler to have a worker, when it has
#: none: at the start, before it says it has none (with none, Dask waits for ever at 0 %);
#: and during the run, when every worker has left (killed, out of memory, its node
#: drained) with villages still to solve, before it stops and says so, naming them (Dask
#: would keep them waiting for ever for a worker to come back).  The run is all or
#: nothing: the villages solved before are not returned.  A worker that joins within this
#: time is given the villages left and the run goes on to the same result; one worker
#: leaving while others remain is no matter (Dask solves its villages again on the
#: others).  The scheduler sees a worker leave at once when it is stopped or killed; a
#: node that drops off the network without a word counts until the scheduler's
#: ``distributed.scheduler.worker-ttl`` (5 minutes by default) runs out.  Workers started
#: with the scheduler join it within a few seconds; raise it for workers that wait in a
#: batch queue, or that are restarted slowly.  Tests lower it.
DASK_WORKERS_TIMEOUT = 30.0

#: how often, in seconds, the Dask engine asks the scheduler whether it has a worker left
#: while no village comes back: a run with no worker left stops within
#: DASK_WORKERS_TIMEOUT and this
_DASK_WORKERS_POLL = 0.5


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
    progress: Progress | None = None,
) -> list[VillageResult]:
    """Solve every task; results in the order of ``tasks``.  ``progress`` is called as
    ``progress("households", done, total)`` each time a village is solved, ``done``
    counting the households of the villages solved so far (villages differ in size
    tenfold, so households tell the work left better than villages)."""
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, numbers.Integral)
                                or workers < 1):
        raise InputError(f"workers must be a whole number of 1 or more, or None for every core; "
                         f"not {workers!r}")
    if scheduler is not None and engine not in ("auto", "dask"):
        raise InputError(f"a scheduler address is for engine='dask', not engine={engine!r}")
    scheduler = _address_of(scheduler)
    n_hh = sum(len(t.points) for t in tasks)
    # no more processes than villages: a worker started for no village costs a fork
    workers = max(1, min(int(workers or os.cpu_count() or 1), len(tasks)))
    if engine == "auto":
        engine = "dask" if scheduler else (
            "process" if (workers > 1 and n_hh >= _POOL_MIN_HOUSEHOLDS and len(tasks) > 1) else "serial")
    tell = _counter(progress, n_hh)
    if engine == "serial" or not tasks:
        return [tell(_solve(t)) for t in tasks]
    if engine == "process":
        with ProcessPoolExecutor(max_workers=workers) as pool:
            # submitted biggest first: the pool starts them in that order, as map would
            futures = {pool.submit(_solve, t): t.code for t in _largest_first(tasks)}
            try:
                done = [tell(f.result()) for f in as_completed(futures)]
            except BaseException as exc:
                # a village failed, progress raised, or an interrupt: the villages not
                # started are dropped and those in flight stopped, not solved before the
                # error comes out
                _stop(pool)
                if isinstance(exc, BrokenProcessPool):
                    left = [c for f, c in futures.items() if not (f.done() and f.exception() is None)]
                    exc.add_note(f"a worker process died (out of memory?) with {len(left)} village(s) "
                                 f"not solved: {', '.join(left[:5])}{'…' if len(left) > 5 else ''}")
                raise
    else:
        done = _run_dask(_largest_first(tasks), workers, scheduler, tell)
    by_code = {r.code: r for r in done}
    return [by_code[t.code] for t in tasks]


def _stop(pool: ProcessPoolExecutor) -> None:
    """Drops the pool's queued villages and ends its worker processes now (the villages
    they are solving are thrown away with the error)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # shutdown forgets them
    manager = getattr(pool, "_executor_manager_thread", None)  # and its thread
    # the queue of tasks for the processes about to end: its feeder thread may be
    # blocked writing one into a pipe no process will read, and the pool's own thread
    # (seeing the processes end) and Python's exit would wait for it for ever (CPython
    # 3.11, gh-94777: the CLI or the test run hung after the error, on a busy machine
    # most times).  Told first not to wait; what it holds is thrown away anyway
    queue = getattr(pool, "_call_queue", None)
    if queue is not None:
        queue.cancel_join_thread()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=5)
    # the pool's own thread joins the same processes: where it reaped one first, the
    # join above returned before that thread had stored the exit code, and the process
    # still counted as alive (multiprocessing.active_children() listed it after about
    # one stop in six, test_stop_leaves_no_worker_counted_alive).  Its end is theirs
    if manager is not None and manager.is_alive():
        manager.join(timeout=5)


def _solve(task: VillageTask) -> VillageResult:
    """:func:`solve_village`, with the village named on any error it raises (in a
    worker too: the note travels with the pickled exception)."""
    try:
        return solve_village(task)
    except Exception as exc:
        exc.add_note(f"while solving village {task.code} ({len(task.points)} households)")
        raise


def _counter(progress: Progress | None, total: int):
    """A function that passes a village's result through and tells ``progress``."""
    if progress is None:
        return lambda r: r
    done = 0
    progress("households", 0, total)

    def tell(r: VillageResult) -> VillageResult:
        nonlocal done
        done += 0 if r.household_cell is None else len(r.household_cell)
        progress("households", done, total)
        return r

    return tell


def _run_dask(tasks, workers, scheduler, tell):
    try:
        import distributed  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the extra
        raise InputError(
            "engine='dask' needs dask and distributed: pip install 'geogrid[dask]'"
        ) from None
    # distributed logs its own account of what goes wrong (a traceback for a scheduler
    # gone, warnings for a worker gone), which our error says better
    with _quiet("distributed"):
        return _run_dask_quietly(tasks, workers, scheduler, tell)


def _run_dask_quietly(tasks, workers, scheduler, tell):
    from distributed import Client, LocalCluster

    if scheduler:
        _check_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout=DASK_CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:  # it was there a moment ago
            raise _unreachable(scheduler, _reason(exc)) from exc
        with client:
            try:
                client.wait_for_workers(n_workers=1, timeout=DASK_WORKERS_TIMEOUT)
            except TimeoutError:
                raise InputError(
                    f"the Dask scheduler at {scheduler} has no workers after {DASK_WORKERS_TIMEOUT:g} s; "
                    f"start some with `dask worker {scheduler}` (or, if they are on their way, wait "
                    f"longer: geogrid.partition.engines.DASK_WORKERS_TIMEOUT)") from None
            return _gather_dask(client, scheduler, tasks, tell)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        return _gather_dask(client, cluster.scheduler_address, tasks, tell)


def _gather_dask(client, address, tasks, tell):
    """Every task solved on ``client``'s cluster, in the order they are solved; or an error
    naming the villages not solved when the scheduler is gone, or when it has had no
    worker for DASK_WORKERS_TIMEOUT seconds."""
    from distributed import as_completed as dask_completed

    # biggest first here too: a higher priority runs earlier
    # keyed by village, so that a task Dask gives up on (KilledWorker) is named
    run_id = uuid.uuid4().hex[:8]
    futures = [client.submit(_solve, t, pure=False, priority=len(t.points), key=f"village-{t.code}-{run_id}")
               for t in tasks]
    solved = []

    def not_solved(why: str, todo: str) -> GeogridError:
        done = {r.code for r in solved}
        left = [t.code for t in tasks if t.code not in done]
        return GeogridError(f"{why} with {len(left)} of {len(tasks)} village(s) not solved "
                            f"({', '.join(left[:5])}{'…' if len(left) > 5 else ''}); {todo}")

    def lost() -> GeogridError:
        return not_solved(f"lost the connection to the Dask scheduler at {address}",
                          "is it still running? Run the partition again once it is")

    def check_workers() -> None:
        """Returns while the scheduler has a worker, or once one joins it within
        DASK_WORKERS_TIMEOUT (Dask gives it the villages left)."""
        try:
            if client.nthreads():  # every worker it has, paused ones too
                return
            client.wait_for_workers(n_workers=1, timeout=DASK_WORKERS_TIMEOUT)
        except TimeoutError:
            raise not_solved(
                f"the Dask cluster at {address} has no workers left (none for the last "
                f"{DASK_WORKERS_TIMEOUT:g} s)",
                f"start workers with `dask worker {address}`, or check the cluster for why they "
                f"stopped (killed? out of memory?), then run the partition again (to wait longer "
                f"for workers that come back: geogrid.partition.engines.DASK_WORKERS_TIMEOUT)") from None
        except OSError as exc:  # the scheduler did not answer
            raise lost() from exc

    # each result is fetched as soon as its village is solved, on distributed's event loop:
    # one whose worker leaves before it is fetched is solved again meanwhile, instead of
    # f.result() waiting for it here (for ever with no worker left)
    pending = dask_completed(futures, with_results=True)
    try:
        next_check = time.monotonic() + _DASK_WORKERS_POLL
        while not pending.is_empty():
            if pending.has_ready():
                future, result = next(pending)  # raises a village's error
                if future.cancelled():  # raises why (not its status: a result may be lost since)
                    future.result()
                solved.append(tell(result))
            elif time.monotonic() >= next_check:
                check_workers()
                next_check = time.monotonic() + _DASK_WORKERS_POLL
            else:
                time.sleep(0.05)
        return solved
    except BaseException as exc:
        # a village failed, progress raised, an interrupt, the scheduler is gone or has
        # no workers left: the villages not solved yet are not left queued on the cluster
        try:
            client.cancel(futures)
        except Exception:  # pragma: no cover - the scheduler is gone already
            pass
        # distributed cancels every future at once when the scheduler goes away
        if isinstance(exc, CancelledError) and (
                getattr(exc, "reason", None) == "scheduler-connection-lost" or client.status != "running"):
            raise lost() from exc
        raise


_quiet_lock = threading.Lock()
_quieted: dict[str, tuple[int, dict[logging.Logger, int]]] = {}


@contextmanager
def _quiet(name: str):
    """The logger ``name`` and those under it log only what is critical until the block
    ends, then as before; runs in several threads at once restore them when the last
    ends."""
    with _quiet_lock:
        runs, levels = _quieted.get(name, (0, None))
        if not runs:
            # distributed's configuration gives some of its loggers a level of their own
            top = logging.getLogger(name)
            levels = {top: top.level} | {
                lg: lg.level for n, lg in list(logging.Logger.manager.loggerDict.items())
                if n.startswith(name + ".") and isinstance(lg, logging.Logger) and lg.level}
            for lg in levels:
                lg.setLevel(logging.CRITICAL)
        _quieted[name] = (runs + 1, levels)
    try:
        yield
    finally:
        with _quiet_lock:
            runs, levels = _quieted.pop(name)
            if runs > 1:
                _quieted[name] = (runs - 1, levels)
            else:
                for lg, level in levels.items():
                    lg.setLevel(level)


#: what to check when nothing is there, or when something else is
_NOBODY = "is the address right, and is `dask scheduler` running there?"
_SOMEONE_ELSE = ("is the address right? A scheduler listens on port 8786 unless told otherwise; its "
                 "dashboard, on 8787, is not it")


def _unreachable(address: str, why: str, check: str = _NOBODY) -> InputError:
    return InputError(f"could not reach a Dask scheduler at {address}: {why} ({check})")


def _reason(exc: BaseException) -> str:
    """What an error of connecting says, at its root: 'Connection refused', 'Name or
    service not known', rather than distributed's 'Timed out trying to connect'.  Only
    the last try's error is kept: when that try was cut short by the time running out,
    the reason is not known."""
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    if isinstance(root, OSError) and root.strerror:
        return f"no connection within {DASK_CONNECT_TIMEOUT:g} s: {root.strerror}"
    if isinstance(root, TimeoutError) or str(exc).startswith("Timed out trying to connect"):
        return f"no connection within {DASK_CONNECT_TIMEOUT:g} s"
    return str(exc) or type(exc).__name__


def _address_of(scheduler):
    """The address of a scheduler given as its address, or as a Dask cluster
    (``LocalCluster()``: its ``scheduler_address``) or client (its scheduler's); anything
    else is refused, saying what to give."""
    if scheduler is None or isinstance(scheduler, str):
        return scheduler
    address = getattr(scheduler, "scheduler_address", None)  # a Cluster
    if address is None:  # a Client
        address = getattr(getattr(scheduler, "scheduler", None), "address", None)
    if not isinstance(address, str):
        raise InputError(f"scheduler must be a Dask scheduler's address such as 'tcp://host:8786', "
                         f"or a Dask cluster or client; not {type(scheduler).__name__}")
    return address


def _check_scheduler(address: str) -> None:
    """Raises :class:`InputError` unless a Dask scheduler answers at ``address`` within
    :data:`DASK_CONNECT_TIMEOUT`: nothing there, another kind of server there (which
    ``distributed.Client`` waits on for ever), or a Dask worker's address.

    It asks the scheduler who it is, as distributed's own clients do, on an event loop of
    its own in a thread of its own, so that it works where a loop runs already (a
    notebook)."""
    from distributed.comm import CommClosedError

    timeout = DASK_CONNECT_TIMEOUT
    outcome: dict = {}

    def ask() -> None:
        try:
            outcome["identity"] = asyncio.run(_identity(address, timeout))
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=ask, name="geogrid-dask-check", daemon=True)
    thread.start()
    thread.join(timeout + 5)  # asyncio.wait_for ends it at timeout + 1; this is a spare
    exc = outcome.get("error")
    if thread.is_alive() or isinstance(exc, TimeoutError):  # connected, then no answer
        raise _unreachable(address, f"something took the connection but did not answer as a Dask "
                                    f"scheduler within {timeout:g} s", _SOMEONE_ELSE) from None
    if isinstance(exc, CommClosedError):
        raise _unreachable(address, "something took the connection and closed it without answering "
                                    "as a Dask scheduler", _SOMEONE_ELSE) from None
    if isinstance(exc, (OSError, ValueError)):  # refused, unknown host; a malformed address
        raise _unreachable(address, _reason(exc)) from None
    if exc is not None:  # what came back could not be read in Dask's protocol
        raise _unreachable(address, "something answered, but not as a Dask scheduler",
                           _SOMEONE_ELSE) from None
    identity = outcome["identity"]
    kind = identity.get("type") if isinstance(identity, dict) else None
    if kind != "Scheduler":  # a worker's address, say
        raise _unreachable(address, f"a Dask {kind.lower()} answered, not the scheduler"
                           if isinstance(kind, str) else "something answered, but not as a Dask scheduler",
                           _SOMEONE_ELSE)


async def _identity(address: str, timeout: float):
    """What the Dask server at ``address`` says it is (``{"type": "Scheduler", ...}``),
    connecting and asking in ``timeout`` seconds at most."""
    from distributed.comm import connect
    from distributed.security import Security

    async def ask():
        # the security settings of dask's configuration, as Client(address) takes them
        comm = await connect(address, timeout=timeout, **Security().get_connection_args("client"))
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    # connect's own timeout does not cover the handshake, in which it waits for ever on a
    # server that does not speak Dask's protocol.  A second more than connect's, so that a
    # port refused or a host not found comes out as connect says it, not as a time-out
    return await asyncio.wait_for(ask(), timeout + 1)
