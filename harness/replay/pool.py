"""Replays in worker processes forked after the replay stack is imported, each module once per session.

Importing the frameworks, the Composio SDK and the harness takes seconds of CPU, more than replaying dozens of
cells, and a worker that imports them all for itself pays that again for every worker. Here the imports come in
stages (:func:`plan`): first what every cell needs (the harness, the frameworks), then what only some routes need
(the Composio SDK alone takes longer than all the rest). The process that runs pytest imports the first stage and
forks workers for the cells that need no more; meanwhile a forked loader imports the next stage and forks the
workers for the cells that need it, so the cores replay cells while the heaviest imports are still going on. Each
worker inherits what its stage imported, asks for the next cell it can replay when it is free (so the cells spread
over the workers however long each takes) and replays it in its own process, one cassette at a time, because vcrpy
patches HTTP clients process-wide.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import os
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any, Generic, TypeVar

from harness.results import CellKey

# What every replay imports while it runs, whatever its framework: the runner, the OpenAI client's resources (every
# framework talks to the model through it), httpx's transport and vcrpy's stubs for it.
RUN_TIME_IMPORTS = ("harness.runner.worker", "openai.resources", "httpcore", "vcr.stubs.httpx_stubs")

T = TypeVar("T")
Outcome = tuple[bool, Any]  # (True, what the replay returned) or (False, the traceback of what it raised)


@dataclass(frozen=True)
class Plan:
    """The imports in stages, and for each cell the stage after which it can replay."""

    stages: list[tuple[str, ...]]
    needs: list[int]


def plan(cells: Iterable[CellKey]) -> Plan:
    """Stage 0: the harness and the cells' frameworks; then one stage per route that imports more (its SDK)."""
    from harness.frameworks import ADAPTERS
    from harness.routes import ROUTES

    keys = list(cells)
    frameworks = sorted({c.framework for c in keys if c.framework in ADAPTERS})
    heavy = sorted({c.route for c in keys if c.route in ROUTES and ROUTES[c.route].imports})  # type: ignore[index]
    stages = [(*RUN_TIME_IMPORTS, *(m for f in frameworks for m in ADAPTERS[f].imports))]
    stages += [ROUTES[r].imports for r in heavy]  # type: ignore[index]
    needs = [heavy.index(c.route) + 1 if c.route in heavy else 0 for c in keys]
    return Plan(stages, needs)


def load(stage: Iterable[str]) -> None:
    for name in stage:
        importlib.import_module(name)
    from harness.frameworks import ADAPTERS
    from harness.frameworks.base import package_versions

    for adapter in ADAPTERS.values():  # the versions every row reports, read once (metadata reads cost ms)
        if all(name in sys.modules for name in adapter.imports):
            package_versions(adapter.packages)


def imports_for(frameworks: Iterable[str] | None = None, routes: Iterable[str] | None = None) -> list[str]:
    """What a cell of these frameworks on these routes imports (None: any)."""
    from harness.frameworks import ADAPTERS
    from harness.routes import ROUTES

    adapters = [ADAPTERS[f] for f in frameworks or ADAPTERS if f in ADAPTERS]
    paths = [ROUTES[r] for r in routes or ROUTES if r in ROUTES]  # type: ignore[index]
    return [*RUN_TIME_IMPORTS, *(m for a in adapters for m in a.imports), *(m for r in paths for m in r.imports)]


def preload(cells: Iterable[CellKey]) -> None:
    """Import what replaying ``cells`` needs, in this process."""
    for stage in plan(cells).stages:
        load(stage)


def available_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ReplayPool(Generic[T]):
    """Workers that run ``replay(cell)`` for ``cells``, forked as ``staged`` says: ``workers`` at the last
    stage, one fewer at an earlier stage that has cells of its own (a core loads the next stage meanwhile).
    :meth:`result` waits for one cell's outcome. The first stage is imported here, now."""

    def __init__(self, cells: Sequence[T], staged: Plan, replay: Callable[[T], Any], workers: int) -> None:
        self.cells, self.replay, self.staged = cells, replay, staged
        count = len(self.staged.stages)
        self.pending = [deque(i for i, need in enumerate(self.staged.needs) if need == s) for s in range(count)]
        slots = [
            min(workers if s == count - 1 else max(workers - 1, 1), len(cells)) if self.pending[s] else 0
            for s in range(count)
        ]
        self.pipes = [[Pipe() for _ in range(n)] for n in slots]
        self.conns = {ours: s for s, stage in enumerate(self.pipes) for ours, _ in stage}
        self.done: dict[int, Outcome] = {}
        self.children: list[int] = []
        load(self.staged.stages[0])
        self._fork(0)
        for stage in self.pipes:
            for _, theirs in stage:
                theirs.close()
        self.running: dict[Connection, int | None] = dict.fromkeys(self.conns)

    def _fork(self, stage: int) -> None:
        """Fork the stage's workers, and a loader for the next stage; in a loader (stage > 0), never returns: it
        serves as the last stage's last worker, or waits for the workers it forked."""
        gc.collect()
        gc.freeze()  # what the workers inherit is never scanned by their collector, so its pages stay shared
        last = stage == len(self.pipes) - 1
        mine = [theirs for _, theirs in self.pipes[stage]]
        here = mine.pop() if stage > 0 and last and mine else None
        later = [theirs for pipes in self.pipes[stage + 1 :] for _, theirs in pipes]
        for theirs in mine:
            self._child(functools.partial(_serve, theirs, self.cells, self.replay), [theirs], stage == 0)
        if not last:
            self._child(functools.partial(self._load, stage + 1), later, stage == 0)
        if stage > 0:  # a loader
            for theirs in [*mine, *later]:
                theirs.close()  # the workers' ends are theirs alone: when one dies, the parent reads the end of it
            if here is not None:
                _serve(here, self.cells, self.replay)
            _leave(0)

    def _load(self, stage: int) -> None:
        load(self.staged.stages[stage])
        self._fork(stage)

    def _child(self, run: Callable[[], None], keep: list[Connection], ours: bool) -> None:
        """Fork a process that keeps only ``keep`` of the pipes and does ``run`` (which never returns)."""
        pid = os.fork()
        if pid == 0:
            from harness.runner.worker import worker_init

            for conn in [*self.conns, *(theirs for stage in self.pipes for _, theirs in stage)]:
                if conn not in keep:
                    conn.close()
            worker_init(os.getppid(), None)  # gone when the process that forked it is
            with open(os.devnull, "wb") as null:  # what the frameworks print would land in pytest's capture
                for stream in (1, 2):
                    os.dup2(null.fileno(), stream)
            try:
                run()
            finally:
                _leave(1)
        if ours:
            self.children.append(pid)

    def result(self, index: int) -> Outcome:
        """The outcome of cell ``index``; the workers keep busy with the next cells meanwhile."""
        while index not in self.done:
            if not self.running:
                raise RuntimeError(f"no replay worker is left to replay cell {index}")
            for conn in wait(list(self.running)):
                self._receive(conn)  # type: ignore[arg-type]
        return self.done.pop(index)

    def close(self, grace_s: float = 10.0) -> None:
        """Retire the workers; those still busy after ``grace_s`` (a cell that hangs, a session interrupted) are
        killed, and the workers of a killed loader follow it."""
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(None)
            conn.close()
        deadline = time.monotonic() + grace_s
        for pid in self.children:
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(pid, os.WNOHANG) == (0, 0):
                    if time.monotonic() > deadline:
                        os.kill(pid, signal.SIGKILL)
                    time.sleep(0.02)
        self.children.clear()
        self.running.clear()

    def _receive(self, conn: Connection) -> None:
        index = self.running[conn]
        try:
            outcome: Outcome | None = conn.recv()  # None: the worker is ready for its first cell
        except (EOFError, OSError):  # the worker died (killed, or crashed in native code)
            del self.running[conn]
            if index is not None:
                self.done[index] = (False, "the replay worker exited before it replied")
            return
        if index is not None and outcome is not None:
            self.done[index] = outcome
        self._hand_out(conn)

    def _hand_out(self, conn: Connection) -> None:
        """The next cell that needs this worker's stage, else one that needs less; None retires the worker."""
        stage = self.conns[conn]
        queue = next((q for q in reversed(self.pending[: stage + 1]) if q), None)
        self.running[conn] = queue.popleft() if queue else None
        conn.send(self.running[conn])
        if queue is None:
            del self.running[conn]


def _leave(status: int) -> None:
    """Leave a forked process once the workers it forked have, without the parent's exit handlers (pytest's)."""
    with contextlib.suppress(ChildProcessError):
        while True:
            os.waitpid(-1, 0)
    os._exit(status)


def _serve(conn: Connection, cells: Sequence[T], replay: Callable[[T], Any]) -> None:
    """A worker: say it is ready, replay each cell it is sent and send back the outcome, until it is sent None."""
    conn.send(None)
    while (index := conn.recv()) is not None:
        try:
            outcome: Outcome = (True, replay(cells[index]))
        except Exception:  # the parent reports it with the cell
            outcome = (False, traceback.format_exc())
        conn.send(outcome)
    _leave(0)
