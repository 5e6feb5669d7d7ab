"""``harness run``: every cell of the matrix, concurrently, resumable, one result row per attempt.

``runs/<run-id>/results.jsonl`` is appended (and flushed to disk) as each cell finishes, by this process only.
Running again with the same run id skips every cell that already has a row, so a run killed at any moment loses
at most the cells that were in flight. A cell that fails, raises or times out gets an ``error`` row; it never
stops the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.results import RESULTS_FILE, ResultRow, append_row, finished_keys
from harness.runner.machine import MachineSandbox
from harness.runner.matrix import Cell, control_cells, matrix, on_their_routes
from harness.runner.options import RunOptions
from harness.runner.shards import Shard
from harness.runner.worker import CellJob, cell_processes, row_of, run_cell
from harness.scenarios import Scenario
from harness.vocab import Outcome
from harness.worlds import WorldConfig


@dataclass(frozen=True)
class ScenarioSource:
    scenario: Scenario
    file: str  # as cassettes record it (relative to the project root where it can be)


@dataclass(frozen=True)
class RunPlan:
    options: RunOptions
    scenarios: dict[str, ScenarioSource]  # by id, parsed once
    world: WorldConfig | MachineSandbox  # a sandbox per worker machine: the Dask executor's sandbox world
    run_dir: Path

    @property
    def results(self) -> Path:
        return self.run_dir / RESULTS_FILE

    @property
    def log(self) -> Path:
        """What libraries print and warn while the run's cells run (the console shows the harness's own output)."""
        return self.run_dir / "run.log"

    @property
    def cassettes(self) -> Path:
        return self.options.cassettes or self.run_dir / "cassettes"

    def cells(self) -> list[Cell]:
        """The matrix and the negative controls, without the routes a scenario does not run on and, when nothing
        is recorded (record mode ``none``), without the cells that have no cassette to replay."""
        every = [c for c in self.requested() if self.playable(c)]
        return Shard.parse(self.options.shard).cells(every) if self.options.shard else every

    def unrecorded(self) -> list[Cell]:
        """The cells a replay leaves out."""
        return [c for c in self.requested() if not self.playable(c)]

    def playable(self, cell: Cell) -> bool:
        """False only where nothing is recorded (record mode ``none``) and the cell has no cassette to play."""
        return self.options.mode != "none" or cell.cassette(self.cassettes).is_file()

    def requested(self) -> list[Cell]:
        """Every cell the options ask for: the matrix and the controls, on their scenarios' routes."""
        o = self.options
        cells = matrix(list(self.scenarios), list(o.frameworks), list(o.routes), list(o.models), o.repeat)
        controls = {sid: source.scenario.control_models() for sid, source in self.scenarios.items()}
        extra = control_cells(controls, list(o.control_frameworks), list(o.routes))
        every = cells + [c for c in extra if c not in set(cells)]
        return on_their_routes(every, {sid: source.scenario.paths for sid, source in self.scenarios.items()})

    def job(self, cell: Cell, world: WorldConfig | None = None) -> CellJob:
        """The cell's job, in ``world`` (default: the plan's)."""
        source = self.scenarios[cell.scenario]
        return CellJob(
            cell,
            source.scenario,
            source.file,
            world or self.world,
            self.options.mode,
            self.cassettes,
            self.run_dir / "transcripts",
            self.run_dir.name,
            self.options.timeout_s,
        )


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def run(
    plan: RunPlan,
    on_row: Callable[[ResultRow], None] = lambda row: None,
    on_start: Callable[[Cell], None] = lambda cell: None,
) -> Path:
    """Run every unfinished cell; returns the results file."""
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    done = finished_keys(plan.results)
    for row in _execute(plan, [c for c in plan.cells() if c.key not in done], on_start):
        append_row(plan.results, row)
        on_row(row)
    return plan.results


def _execute(plan: RunPlan, cells: list[Cell], on_start: Callable[[Cell], None]) -> Iterator[ResultRow]:
    if plan.options.executor == "dask":
        from harness.runner.cluster import cluster_rows

        yield from cluster_rows(plan, cells)
    else:
        yield from _pool_rows(plan, cells, on_start)


def _pool_rows(plan: RunPlan, cells: list[Cell], on_start: Callable[[Cell], None]) -> Iterator[ResultRow]:
    """At most ``concurrency`` cells in flight, so that a dead worker takes only in-flight cells with it."""
    queue = list(reversed(cells))
    width = max(1, plan.options.concurrency)
    while queue:
        with cell_processes(width, plan.log) as pool:
            flying: dict[Future[ResultRow], Cell] = {}
            try:
                while queue or flying:
                    while queue and len(flying) < width:
                        cell = queue.pop()
                        flying[pool.submit(run_cell, plan.job(cell))] = cell
                        on_start(cell)
                    finished, _ = wait(flying, return_when=FIRST_COMPLETED)
                    for future in finished:
                        row = future.result()  # raises BrokenProcessPool while the cell is still in ``flying``
                        del flying[future]
                        yield row
            except KeyboardInterrupt:
                _stop_now(pool)
                raise
            except BrokenProcessPool:  # a worker died (killed, crashed): its cells are errors, a new pool goes on
                for cell in flying.values():
                    yield row_of(plan.job(cell), verdict=Outcome.ERROR, reasons=["the worker process died"])


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """An interrupt stops the cells in flight at once rather than waiting for them (their rows are not written, so
    a resume runs them again)."""
    for process in list(pool._processes.values()):  # no public way before Python 3.14's terminate_workers()
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
