"""Committed cassettes as tests: every cell under ``cassettes/`` is a pytest item that replays it offline.

A replay runs the cell exactly as ``harness run`` does, against the recorded responses, with sockets blocked and no
sandbox or secret, and must reproduce the verdict and the counted metrics stored in the cassette when it was
recorded. ``--record-mode`` (pytest-recording's option) keeps its meaning: ``none`` (the default) replays;
``once``, ``new_episodes``, ``all`` and ``rewrite`` record the cell again against a sandbox started for the session,
then check that the verdict did not change.
"""

from __future__ import annotations

import contextlib
import gc
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from harness.runner.cells import Cell

CASSETTES = "cassettes"
RECORD_MODES = {"none": "none", "once": "once", "new_episodes": "new_episodes", "all": "all", "rewrite": "all"}


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


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    root = parent.config.rootpath / CASSETTES
    if file_path.suffix == ".yaml" and root in file_path.parents:
        return CassetteFile.from_parent(parent, path=file_path)
    return None


def cassette_metadata(path: Path) -> dict[str, Any]:
    """The ``metadata`` section of a cassette, read without parsing its interactions (it is written last)."""
    text = path.read_text()
    at = text.rfind("\nmetadata:\n")
    data = yaml.load(text[at:], Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if at >= 0 else None
    meta = (data or {}).get("metadata") or {}
    if not {"cell", "result", "urls"} <= set(meta):
        raise ValueError(f"{path}: not a harness cell cassette (its metadata lacks cell, result or urls); record it "
                         "with `harness run --cassettes cassettes/`")
    return dict(meta)


class CassetteFile(pytest.File):
    def collect(self) -> list[pytest.Item]:
        meta = cassette_metadata(self.path)
        cell = meta["cell"]
        name = f"{cell['framework']}/{cell['path']}/{cell['model']}/{cell['attempt']}"
        return [CellReplay.from_parent(self, name=name, meta=meta)]


class CellReplay(pytest.Item):
    def __init__(self, *, meta: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.meta = meta

    def cell(self) -> Cell:
        from harness.runner.cells import Cell

        c = self.meta["cell"]
        return Cell(c["scenario"], c["framework"], c["path"], c["model"], int(c["attempt"]))

    def runtest(self) -> None:
        with replay_heap():
            self._replay()

    def _replay(self) -> None:
        # Imported by a process's first cell, not with the plugin: pytest loads the plugin in every process, xdist's
        # controller included, which replays nothing, and the runner brings the frameworks (seconds of start-up).
        from harness.runner.session import replay_world
        from harness.runner.worker import CellJob, reproducible, run_cell

        mode = RECORD_MODES[self.config.getoption("--record-mode", None) or "none"]
        world = replay_world() if mode == "none" else _sandbox_world(self.config, self.scenario_file())
        cell = self.cell()
        root = self.path.parent.parent
        assert cell.cassette(root) == self.path, f"{self.path} is not where cell {cell.key} keeps its cassette"
        with tempfile.TemporaryDirectory() as transcripts:
            job = CellJob(cell, self.scenario_file(), world, mode, root, Path(transcripts), "replay", 120.0)  # type: ignore[arg-type]
            row = run_cell(job)
        want = self.meta["result"]
        got = {"verdict": row["verdict"], "metrics": reproducible(row)}
        if mode != "none":  # re-recorded: the new cassette is the truth now; only a changed verdict needs a look
            if got["verdict"] != want["verdict"]:
                raise ReplayMismatch(self, want, got, row, rerecorded=True)
        elif got != {"verdict": want["verdict"], "metrics": want["metrics"]}:
            raise ReplayMismatch(self, want, got, row)

    def scenario_file(self) -> Path:
        return self.config.rootpath / str(self.meta["cell"]["scenario_file"])

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ReplayMismatch):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        c = self.meta["cell"]  # not self.cell(): reporting must not import the runner outside replay_heap()
        return self.path, 0, f"cell {c['scenario']}/{self.name}"


class ReplayMismatch(AssertionError):
    def __init__(self, item: CellReplay, want: dict[str, Any], got: dict[str, Any], row: dict[str, Any],
                 rerecorded: bool = False) -> None:
        cell = item.cell()
        if rerecorded:  # metrics such as token counts may move between recordings; a verdict should not
            lines = [f"cell {cell.key} ({item.path}) was re-recorded with a different verdict",
                     f"  before: {want['verdict']}", f"  now:    {got['verdict']} (the new cassette is written)"]
        else:
            lines = [f"cell {cell.key} ({item.path}) did not reproduce its recording",
                     f"  recorded: {want['verdict']} {want['metrics']}",
                     f"  replayed: {got['verdict']} {got['metrics']}"]
        lines += [f"  reason: {r}" for r in row["reasons"][:5]]
        if not rerecorded:
            lines.append(f"  re-record it: pytest {item.path} --record-mode=rewrite")
        super().__init__("\n".join(lines))


def _sandbox_world(config: pytest.Config, scenario_file: Path) -> Any:
    """One sandbox for the whole session when re-recording; each cell's scenario plans are handed to its model."""
    from harness.runner.plans import plans_payload
    from harness.sandbox import Sandbox
    from harness.scenarios import load_scenario
    from harness.worlds import sandbox_world

    sandbox = getattr(config, "_harness_record_sandbox", None)
    if sandbox is None:
        sandbox = Sandbox.start()
        config._harness_record_sandbox = sandbox  # type: ignore[attr-defined]
        config.add_cleanup(sandbox.stop)
    sandbox.admin.post("/model/plans", json=plans_payload([load_scenario(scenario_file)])).raise_for_status()
    return sandbox_world(sandbox.info)
