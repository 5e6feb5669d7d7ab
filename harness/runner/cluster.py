"""``harness run --executor dask``: the cells on a Dask distributed cluster, through its standard executor interface
(``Client.get_executor``, a ``concurrent.futures.Executor``).

* The cluster is the one at ``--scheduler`` (any address: SSH hosts, Kubernetes, a cloud), or a ``LocalCluster`` of
  ``--concurrency`` single-threaded worker processes started here.
* A Dask worker keeps a process pool of its own (forked from its fork server as the local run's, one process per
  worker thread), so that its imports stay warm across cells while every cell still runs in a process of its own,
  one cassette at a time (vcrpy patches HTTP clients process-wide).
* The sandbox world is one sandbox per worker machine (``harness.runner.machine``); the live and replay worlds are
  the client's, sent with the plan.
* Rows come back to the client, the single writer of ``results.jsonl``. Transcripts and cassettes are written by
  the worker at the run's paths: on several machines, the run's directory (and ``--cassettes``) must be the same
  shared directory on each.
* Provider caps (``harness.runner.caps``) are Dask semaphores named ``harness-cap-<provider>``: every run on the
  cluster that caps a provider shares its leases.
* A worker lost mid-cell (killed, crashed, its machine gone): Dask runs the cell again on another worker, as many
  times as the scheduler's ``allowed-failures`` allows (the embedded cluster: once; a second loss is an ``error``
  row). Each start of a cell is an event the worker logs without waiting (topic ``harness-cells-<token>``), which
  the client follows: a row whose cell started on a worker since lost says which (``retried_from``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from multiprocessing import current_process
from pathlib import Path
from typing import Any

import dask
from distributed import Client, LocalCluster, Semaphore, get_worker

from harness.results import ResultRow
from harness.runner.caps import held_by
from harness.runner.machine import MachineSandbox, machine_world, stop_machine_sandbox
from harness.runner.matrix import Cell
from harness.runner.options import RunOptions
from harness.runner.run import RunPlan
from harness.runner.worker import cell_processes, row_of, run_cell
from harness.vocab import Outcome
from harness.worlds import ConfigError

# Worker processes that may start processes (a cell's); a cell lost with its worker is run once more, and a
# second loss gives up on it. A cluster started elsewhere is given both by the environment of its workers
# (DASK_DISTRIBUTED__WORKER__DAEMON=False) and of its scheduler (DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1).
CLUSTER_CONFIG = {"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": 1}
DAEMONIC = (
    "the Dask worker is a daemonic process, which cannot start the cell's process: start the workers with "
    "DASK_DISTRIBUTED__WORKER__DAEMON=False"
)
CAP_PREFIX = "harness-cap-"
CONNECT_TIMEOUT_S = 30
STARTS = "harness-cells-"  # + the run's token: the topic of the events "this cell started on this worker"


def cluster_rows(plan: RunPlan, cells: list[Cell]) -> Iterator[ResultRow]:
    """Each cell's row, in the order they finish."""
    token = f"{plan.run_dir.name}-{uuid.uuid4().hex[:8]}"
    if isinstance(plan.world, MachineSandbox):
        plan = replace(plan, world=replace(plan.world, token=token))
    caps = plan.options.caps
    with connected(plan.options) as client:
        starts = Starts(client, STARTS + token)
        for name, count in caps:  # created here, so that the cluster has them with these counts
            Semaphore(max_leases=count, name=CAP_PREFIX + name).register()
        shared = client.scatter(plan, broadcast=True)  # sent once per worker, not once per cell
        executor = client.get_executor(pure=False)
        futures: dict[Future[ResultRow], Cell] = {}
        for cell in cells:  # all at once: the scheduler starts them as workers free up (on_start would lie)
            futures[executor.submit(run_on_worker, shared, cell, caps, token)] = cell
        try:
            for future in as_completed(futures):
                yield starts.label(_row(plan, futures[future], future))
        finally:
            for future in futures:
                future.cancel()
            client.run(finish_on_worker, token)
            client.unsubscribe_topic(starts.topic)


@contextlib.contextmanager
def connected(options: RunOptions) -> Iterator[Client]:
    """A client of the scheduler at ``options.scheduler``, or of a LocalCluster started for the block."""
    if options.scheduler:
        try:
            client = Client(options.scheduler, timeout=CONNECT_TIMEOUT_S)
        except OSError as exc:
            raise ConfigError(f"--scheduler {options.scheduler}: no Dask scheduler answers ({exc})") from None
        with client:
            yield client
        return
    with (
        dask.config.set(CLUSTER_CONFIG),
        LocalCluster(
            n_workers=max(1, options.concurrency),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


class Starts:
    """Where each cell of the run started, as the workers' events tell the client."""

    def __init__(self, client: Client, topic: str) -> None:
        self.client, self.topic = client, topic
        self.where: dict[str, list[str]] = {}
        client.subscribe_topic(topic, self._add)

    def _add(self, event: tuple[float, dict[str, str]]) -> None:
        self.where.setdefault(event[1]["key"], []).append(event[1]["worker"])

    def label(self, row: ResultRow) -> ResultRow:
        """The row, with the worker lost while the cell ran there before (if any)."""
        if row.worker is None:  # the cell did not run (the cluster gave up on it)
            return row
        where = self.where.get(row.key, [])
        if row.worker not in where:  # its start event is still on its way: ask the scheduler
            where = [msg["worker"] for _, msg in self.client.get_events(self.topic) if msg["key"] == row.key]
        lost = [w for w in where if w != row.worker]
        return row.model_copy(update={"retried_from": lost[0]}) if lost else row


def _row(plan: RunPlan, cell: Cell, future: Future[ResultRow]) -> ResultRow:
    try:
        return future.result()
    except Exception as exc:  # the cluster gave up on the cell (KilledWorker: lost more often than it allows)
        reason = f"the Dask cluster could not run the cell: {type(exc).__name__}: {exc}"
        return row_of(plan.job(cell), verdict=Outcome.ERROR, reasons=[reason])


# On a worker ------------------------------------------------------------------------------------------------
_POOL: dict[Path, ProcessPoolExecutor] = {}  # by the run's log (one run at a time uses a worker's pool)
_SEMAPHORES: dict[str, Semaphore] = {}
_LOCK = threading.Lock()  # a worker's threads share its pool and semaphores


def run_on_worker(plan: RunPlan, cell: Cell, caps: tuple[tuple[str, int], ...], token: str) -> ResultRow:
    """Run one cell in this worker's pool, holding its caps' leases; its row names this worker."""
    worker = get_worker()
    worker.log_event(STARTS + token, {"key": cell.key, "worker": worker.address})  # sent without waiting
    here = {"worker": worker.address}
    if current_process().daemon:
        return row_of(plan.job(cell), verdict=Outcome.ERROR, reasons=[DAEMONIC], **here)
    try:
        world = plan.world
        if isinstance(world, MachineSandbox):  # the sandbox outlives this worker while the worker's nanny lives
            world = machine_world(world, os.getppid() if worker.nanny else os.getpid())
        job = plan.job(cell, world)
        with contextlib.ExitStack() as leases:
            for name, count in held_by(cell, caps):
                leases.enter_context(_semaphore(name, count))
            row = _pool(plan.log, worker.state.nthreads).submit(run_cell, job).result()
    except BrokenProcessPool:  # the cell's process died: the pool goes, the next cell starts a new one
        with _LOCK:
            broken = _POOL.pop(plan.log, None)
        if broken is not None:
            broken.shutdown(wait=False)
        return row_of(plan.job(cell), verdict=Outcome.ERROR, reasons=["the worker process died"], **here)
    except Exception as exc:  # the machine's sandbox did not start, the scheduler went away
        return row_of(plan.job(cell), verdict=Outcome.ERROR, reasons=[f"{type(exc).__name__}: {exc}"], **here)
    return row.model_copy(update=here)


def finish_on_worker(token: str) -> None:
    """The run is over: this worker's cell processes exit, and its machine's sandbox (if any) stops."""
    with _LOCK:
        pools = list(_POOL.values())
        _POOL.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)
    stop_machine_sandbox(token)


def _semaphore(name: str, count: int) -> Any:
    with _LOCK:
        if name not in _SEMAPHORES:
            _SEMAPHORES[name] = Semaphore(max_leases=count, name=CAP_PREFIX + name)
        return _SEMAPHORES[name]


def _pool(log: Path, width: int) -> ProcessPoolExecutor:
    with _LOCK:
        if log not in _POOL:
            for old in _POOL.values():  # another run's
                old.shutdown(wait=False)
            _POOL.clear()
            _POOL[log] = cell_processes(width, log)
        return _POOL[log]
