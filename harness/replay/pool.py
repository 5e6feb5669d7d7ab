"""Replays in processes forked from one that imported the replay stack once.

Importing the frameworks, the Composio SDK and the harness takes seconds of CPU, more than replaying dozens of
cells; a process per worker that imports them all for itself pays that again for every worker. Here the process that
runs pytest imports what its cells need (:func:`preload`), then forks the workers: each inherits the imported
modules, asks for the next cell when it is free (so the cells spread over the workers however long each takes) and
replays it in its own process, one cassette at a time, because vcrpy patches HTTP clients process-wide.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import multiprocessing
import os
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from harness.results import CellKey

# What every replay imports while it runs, whatever its framework: the OpenAI client's resources (every framework
# talks to the model through it), httpx's transport and vcrpy's stubs for it.
RUN_TIME_IMPORTS = ("harness.runner.worker", "openai.resources", "httpcore", "vcr.stubs.httpx_stubs")

T = TypeVar("T")
Outcome = tuple[bool, Any]  # (True, what the replay returned) or (False, the traceback of what it raised)


def preload(cells: Iterable[CellKey]) -> None:
    """Import what replaying ``cells`` needs, and read the versions each framework reports, once in this process."""
    from harness.frameworks import ADAPTERS
    from harness.frameworks.base import package_versions
    from harness.routes import ROUTES

    keys = list(cells)
    adapters = [ADAPTERS[f] for f in sorted({c.framework for c in keys}) if f in ADAPTERS]
    routes = [ROUTES[r] for r in sorted({c.route for c in keys}) if r in ROUTES]  # type: ignore[index]
    for name in [*RUN_TIME_IMPORTS, *(m for a in adapters for m in a.imports), *(m for r in routes for m in r.imports)]:
        importlib.import_module(name)
    for adapter in adapters:
        package_versions(adapter.packages)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ReplayPool(Generic[T]):
    """``workers`` forked processes that run ``replay(cell)`` for ``cells``, handed out in order as each frees up;
    :meth:`result` waits for one cell's outcome. Forked now: whatever this process imported is theirs."""

    def __init__(self, cells: Sequence[T], replay: Callable[[T], Any], workers: int) -> None:
        self.pending = deque(range(len(cells)))
        self.running: dict[Connection, int | None] = {}
        self.processes: dict[Connection, Any] = {}
        self.done: dict[int, Outcome] = {}
        context = multiprocessing.get_context("fork")
        gc.collect()
        gc.freeze()  # what the workers inherit is never scanned by their collector, so its pages stay shared
        for _ in range(min(workers, len(cells))):
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(theirs, cells, replay, os.getpid()), daemon=True)
            process.start()
            theirs.close()
            self.processes[ours] = process
            self._hand_out(ours)

    def result(self, index: int) -> Outcome:
        """The outcome of cell ``index``; the workers keep busy with the next cells meanwhile."""
        while index not in self.done:
            if not self.running:
                raise RuntimeError(f"no replay worker is left to replay cell {index}")
            for conn in wait(list(self.running)):
                self._receive(conn)  # type: ignore[arg-type]
        return self.done.pop(index)

    def close(self) -> None:
        for conn, process in self.processes.items():
            with contextlib.suppress(OSError):
                conn.send(None)
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
            conn.close()
        self.processes.clear()
        self.running.clear()

    def _receive(self, conn: Connection) -> None:
        index = self.running[conn]
        try:
            outcome: Outcome = conn.recv()
        except (EOFError, OSError):  # the worker died (killed, or crashed in native code)
            process = self.processes[conn]
            process.join(timeout=5)
            del self.running[conn]
            if index is not None:
                self.done[index] = (False, f"the replay worker exited with status {process.exitcode}")
            return
        if index is not None:
            self.done[index] = outcome
        self._hand_out(conn)

    def _hand_out(self, conn: Connection) -> None:
        if self.pending:
            self.running[conn] = self.pending.popleft()
            conn.send(self.running[conn])
        else:
            self.running.pop(conn, None)


def _serve(conn: Connection, cells: Sequence[T], replay: Callable[[T], Any], parent: int) -> None:
    """A worker: replay the cell it is sent, send back the outcome, until it is sent None or its parent is gone."""
    from harness.runner.worker import worker_init

    worker_init(parent, None)
    with open(os.devnull, "wb") as null:  # what the frameworks print would land in pytest's capture of the parent
        for stream in (1, 2):
            os.dup2(null.fileno(), stream)
    while (index := conn.recv()) is not None:
        try:
            outcome: Outcome = (True, replay(cells[index]))
        except BaseException:  # the parent reports it with the cell
            outcome = (False, traceback.format_exc())
        conn.send(outcome)
