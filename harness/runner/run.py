"""``harness run``: every cell of the matrix, concurrently, resumable, one JSON line per attempt.

``runs/<run-id>/results.jsonl`` is appended (and flushed to disk) as each cell finishes, by this process only.
Running again with the same run id skips every cell that already has a row, so a run killed at any moment loses
at most the cells that were in flight. A cell that fails, raises or times out gets an ``error`` row; it never
stops the run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any, BinaryIO

from harness.recording import RecordMode
from harness.runner.cells import Cell, control_cells, matrix, on_their_paths
from harness.runner.worker import CellJob, base_row, run_cell
from harness.scenarios import Scenario
from harness.worlds import WorldConfig


@dataclass(frozen=True)
class RunPlan:
    scenarios: dict[str, tuple[Scenario, Path]]  # id -> (scenario, its file)
    frameworks: list[str]
    paths: list[str]
    models: list[str]
    repeat: int
    concurrency: int
    world: WorldConfig
    record_mode: RecordMode
    cassettes: Path
    run_dir: Path
    timeout_s: float = 300.0
    control_frameworks: tuple[str, ...] = ()  # also run each scenario's negative controls on these frameworks

    def cells(self) -> list[Cell]:
        """The matrix and the negative controls, without the paths a scenario does not run on."""
        cells = matrix(list(self.scenarios), self.frameworks, self.paths, self.models, self.repeat)
        controls = {sid: scenario.controls for sid, (scenario, _) in self.scenarios.items()}
        extra = control_cells(controls, list(self.control_frameworks), self.paths)
        every = cells + [c for c in extra if c not in set(cells)]
        return on_their_paths(every, {sid: scenario.paths for sid, (scenario, _) in self.scenarios.items()})


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def finished_keys(results: Path) -> set[str]:
    """Keys of cells with a row; a torn last line (the process was killed mid-write) is ignored."""
    keys = set()
    if results.exists():
        for line in results.read_text().splitlines():
            try:
                keys.add(json.loads(line)["key"])
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return keys


def append_row(results: Path, row: dict[str, Any]) -> None:
    line = json.dumps(row, sort_keys=True).encode() + b"\n"
    with results.open("a+b") as out:
        if out.seek(0, os.SEEK_END) and _last_byte(out) != b"\n":
            line = b"\n" + line  # the run was killed mid-line: the torn line stays alone, this row stays readable
        out.write(line)
        out.flush()
        os.fsync(out.fileno())


def _last_byte(out: BinaryIO) -> bytes:
    out.seek(-1, os.SEEK_END)
    return out.read(1)


def run(plan: RunPlan, on_row: Callable[[dict[str, Any]], None] = lambda row: None) -> Path:
    """Run every unfinished cell; returns the results file."""
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    results = plan.run_dir / "results.jsonl"
    done = finished_keys(results)
    todo = [c for c in plan.cells() if c.key not in done]
    for row in _execute(plan, todo):
        append_row(results, row)
        on_row(row)
    return results


def _job(plan: RunPlan, cell: Cell) -> CellJob:
    scenario, file = plan.scenarios[cell.scenario]
    return CellJob(cell, file, plan.world, plan.record_mode, plan.cassettes, plan.run_dir / "transcripts",
                   plan.run_dir.name, plan.timeout_s, tuple(scenario.tags))


def _execute(plan: RunPlan, cells: list[Cell]) -> Iterator[dict[str, Any]]:
    """At most ``concurrency`` cells in flight, so that a dead worker takes only in-flight cells with it."""
    queue = list(reversed(cells))
    width = max(1, plan.concurrency)
    while queue:
        # spawn: workers must not inherit the parent's event loop, threads or patched clients
        with ProcessPoolExecutor(max_workers=width, mp_context=get_context("spawn")) as pool:
            flying: dict[Future[dict[str, Any]], Cell] = {}
            try:
                while queue or flying:
                    while queue and len(flying) < width:
                        cell = queue.pop()
                        flying[pool.submit(run_cell, _job(plan, cell))] = cell
                    finished, _ = wait(flying, return_when=FIRST_COMPLETED)
                    for future in finished:
                        row = future.result()  # raises BrokenProcessPool while the cell is still in ``flying``
                        del flying[future]
                        yield row
            except BrokenProcessPool:  # a worker died (killed, crashed): its cells are errors, a new pool goes on
                for cell in flying.values():
                    yield _died(plan, cell)


def _died(plan: RunPlan, cell: Cell) -> dict[str, Any]:
    return base_row(_job(plan, cell)) | {
        "verdict": "error", "reasons": ["the worker process died"]}
