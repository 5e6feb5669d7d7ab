"""Committed cassettes as tests: every cell under ``cassettes/`` is a pytest item that replays it offline.

A replay runs the cell exactly as ``harness run`` does, against the recorded responses, with sockets blocked and no
sandbox or secret, and must reproduce the verdict and the counted metrics stored in the cassette when it was
recorded. ``--record-mode`` (pytest-recording's option) keeps its meaning: ``none`` (the default) replays;
``once``, ``new_episodes``, ``all`` and ``rewrite`` record the cell again against a sandbox started for the session,
then check that the verdict did not change. That sandbox's clock is frozen (it starts at ``RECORDED_AT`` and ticks a
second per reading), so a cell re-recorded on its own writes the same timestamps, commit hashes and model ids as
before: with the loopback hosts written as fixed names, its cassette only changes where the cell did.

Cells replay in worker processes forked after the replay stack is imported once (``harness.replay.pool``), as many
as the machine has cores (``--replay-workers``; 0 replays in pytest's own process). Under pytest-xdist each of its
workers replays its own cells in its own process, and so does a re-recording.
"""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.replay.cassette import missed
from harness.replay.pool import ReplayPool, available_cores, plan, preload
from harness.results import CellRecord, ResultRow
from harness.vocab import RecordMode

if TYPE_CHECKING:
    from harness.runner.matrix import Cell
    from harness.scenarios import Scenario

CASSETTES = "cassettes"
RECORDED_AT = "2026-01-01T00:00:00+00:00"  # the re-recording sandbox's frozen clock
# pytest-recording's --record-mode values -> vcrpy's (rewrite: record from scratch)
RECORD_MODES: dict[str, RecordMode] = {
    "none": "none",
    "once": "once",
    "new_episodes": "new_episodes",
    "all": "all",
    "rewrite": "all",
}


@contextlib.contextmanager
def replay_heap() -> Iterator[None]:
    """The collector set aside while a cell replays. The stack a replay imports leaves ~500k long-lived objects
    (modules, pydantic schemas) that CPython's collector rescans again and again: measured, a quarter of the import
    time and a sixth of each cell's. Before the cell, the cycles the previous one left are collected and whatever
    survives is frozen out of later collections; during the cell nothing is collected (its cycles wait for the next
    cell)."""
    gc.collect()
    gc.freeze()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


POOL = pytest.StashKey["ReplayPool[CellReplay] | None"]()
CELLS = pytest.StashKey[list["CellReplay"]]()
PREPARED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--replay-workers",
        type=int,
        default=None,
        help="processes that replay cassettes, forked after the frameworks are imported once "
        "(default: one per core; 0: replay in pytest's own process)",
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    session.config.stash[CELLS] = [item for item in session.items if isinstance(item, CellReplay)]


def _pool(config: pytest.Config) -> ReplayPool[CellReplay] | None:
    """The session's workers, forked by its first cell; None where cells replay in this process: under xdist (its
    workers split the cells already), when re-recording (one sandbox for the session), or with one worker."""
    if POOL not in config.stash:
        cells = config.stash.get(CELLS, [])
        workers = config.getoption("--replay-workers")
        workers = available_cores() if workers is None else workers
        pool = None
        if workers > 1 and len(cells) > 1 and _mode(config) == "none" and not hasattr(config, "workerinput"):
            for item in cells:  # parsed once, before the workers fork
                _scenario(item.scenario_file())
            staged = plan(item.record.cell for item in cells)
            pool = ReplayPool(cells, staged, CellReplay.replay_row, workers)
            config.add_cleanup(pool.close)
        config.stash[POOL] = pool
    return config.stash[POOL]


def _mode(config: pytest.Config) -> RecordMode:
    return RECORD_MODES[config.getoption("--record-mode", None) or "none"]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    root = parent.config.rootpath / CASSETTES
    if file_path.suffix == ".yaml" and root in file_path.parents:
        return CassetteFile.from_parent(parent, path=file_path)
    return None


class CassetteFile(pytest.File):
    def collect(self) -> list[pytest.Item]:
        record = CellRecord.read(self.path)
        cell = record.cell
        name = f"{cell.framework}/{cell.route}/{cell.model}/{cell.attempt}"
        return [CellReplay.from_parent(self, name=name, record=record)]


class CellReplay(pytest.Item):
    def __init__(self, *, record: CellRecord, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.record = record

    def cell(self) -> Cell:
        from harness.runner.matrix import Cell

        return Cell.of(self.record.cell)

    def runtest(self) -> None:
        pool = _pool(self.config)
        if pool is None:
            if not self.config.stash.get(PREPARED, False):  # what a pool imports before forking, once per process
                preload(item.record.cell for item in self.config.stash.get(CELLS, [self]))
                self.config.stash[PREPARED] = True
            row = self.replay_row()
        else:
            replayed, row = pool.result(self.config.stash[CELLS].index(self))
            if not replayed:
                raise RuntimeError(f"replaying {self.path} failed:\n{row}")
        self.check(row)

    def replay_row(self) -> ResultRow:
        """The row of this cell run against its cassette (recorded anew unless ``--record-mode`` is none)."""
        with replay_heap():
            return self._replay()

    def _replay(self) -> ResultRow:
        # Imported by a process's first cell, not with the plugin: pytest loads the plugin in every process, xdist's
        # controller included, which replays nothing, and the runner brings the frameworks (seconds of start-up).
        from harness.replay.cassette import replay

        mode = _mode(self.config)
        scenario = _scenario(self.scenario_file())
        world = None if mode == "none" else _sandbox_world(self.config, scenario)
        return replay(self.path, self.record, scenario, mode, world)

    def check(self, row: ResultRow) -> None:
        """The replayed row must reproduce the recorded verdict and counted metrics."""
        want = self.record.result
        # re-recorded: the new cassette is the truth now; only a changed verdict needs a look
        if _mode(self.config) != "none":
            if row.verdict != want.verdict:
                raise ReplayMismatch(self, row, rerecorded=True)
        elif (row.verdict, row.reproducible()) != (want.verdict, self.record.reproducible()) or missed(row, want):
            raise ReplayMismatch(self, row)

    def scenario_file(self) -> Path:
        return self.config.rootpath / self.record.cell.scenario_file

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ReplayMismatch):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        # not self.cell(): reporting must not import the runner outside replay_heap()
        return self.path, 0, f"cell {self.record.cell.scenario}/{self.name}"


class ReplayMismatch(AssertionError):
    def __init__(self, item: CellReplay, row: ResultRow, rerecorded: bool = False) -> None:
        cell, want = item.cell(), item.record
        if rerecorded:  # metrics such as token counts may move between recordings; a verdict should not
            lines = [
                f"cell {cell.key} ({item.path}) was re-recorded with a different verdict",
                f"  before: {want.result.verdict}",
                f"  now:    {row.verdict} (the new cassette is written)",
            ]
        else:
            lines = [
                f"cell {cell.key} ({item.path}) did not reproduce its recording",
                f"  recorded: {want.result.verdict} {want.reproducible()}",
                f"  replayed: {row.verdict} {row.reproducible()}",
            ]
        lines += [f"  reason: {r}" for r in row.reasons[:5]]
        if not rerecorded:
            lines.append(f"  re-record it: pytest {item.path} --record-mode=rewrite")
        super().__init__("\n".join(lines))


@functools.lru_cache(maxsize=64)
def _scenario(path: Path) -> Scenario:
    """Parsed once per process, however many of its cells the process replays."""
    from harness.scenarios import load_scenario

    return load_scenario(path)


def _sandbox_world(config: pytest.Config, scenario: Scenario) -> Any:
    """One sandbox for the whole session when re-recording; each cell's scenario plans are handed to its model."""
    from harness.scenarios.plans import compiled_plans
    from harness.worlds import sandbox_world
    from sandbox import Sandbox

    sandbox = getattr(config, "_harness_record_sandbox", None)
    if sandbox is None:
        sandbox = Sandbox.start(frozen_at=RECORDED_AT)
        config._harness_record_sandbox = sandbox  # type: ignore[attr-defined]
        config.add_cleanup(sandbox.stop)
    sandbox.register_plans(compiled_plans([scenario]))
    return sandbox_world(sandbox.info)
