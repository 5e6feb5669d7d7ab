"""The replay pool: every cell replayed once, in a forked process that has what the cell's stage imported (and the
cells of an earlier stage replaying while a later one loads), failures reported with their cell, nothing left
running."""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.replay.pool import RUN_TIME_IMPORTS, Plan, ReplayPool, plan
from harness.results import CellKey


@pytest.fixture
def light(tmp_path: Path) -> Iterator[str]:
    """A module no process has imported yet, that takes a while to import."""
    name = f"stage_probe_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text("import time\ntime.sleep(1.5)\n")
    sys.path.insert(0, str(tmp_path))
    yield name
    sys.path.remove(str(tmp_path))


def seen(cell: tuple[str, str]) -> tuple[int, bool, float]:
    """What replaying a cell saw: its process, whether the module of its stage was there, and when it ran."""
    kind, module = cell
    if kind == "die":
        os._exit(3)
    if kind == "raise":
        raise ValueError("this cassette is broken")
    time.sleep(0.05)
    return os.getpid(), module in sys.modules, time.monotonic()


def no_children_left() -> bool:
    """No child of this process is left, exited or not, but multiprocessing's fork server and resource tracker
    (started here by other tests' runs, not by a replay pool)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getpid() and b"from multiprocessing." not in command:
            found.append(entry.name)
    return not found


def test_each_cell_replays_once_in_a_forked_worker_that_has_its_stage(light: str) -> None:
    cells = [("base", light)] * 6 + [("heavy", light)] * 6
    staged = Plan([("json",), (light,)], [0] * 6 + [1] * 6)
    pool = ReplayPool(cells, staged, seen, workers=2)
    outcomes = [pool.result(i) for i in range(len(cells))]
    pool.close()
    assert all(ok for ok, _ in outcomes), outcomes
    pids = [pid for _, (pid, _, _) in outcomes]
    assert os.getpid() not in pids and light not in sys.modules  # the stage was loaded in a forked loader
    assert [had for _, (_, had, _) in outcomes] == [False] * 6 + [True] * 6  # the first worker never had it
    assert len(set(pids[6:])) == 2  # the last stage: two workers
    finished = [at for _, (_, _, at) in outcomes]
    assert max(finished[:6]) < min(finished[6:])  # the first stage's cells replayed while the second one loaded
    assert no_children_left()


def test_a_cell_that_raises_or_kills_its_worker_fails_alone() -> None:
    cells = [("ok", "json"), ("raise", "json"), ("die", "json"), ("ok", "json"), ("ok", "json")]
    pool = ReplayPool(cells, Plan([("json",)], [0] * 5), seen, workers=2)
    outcomes = [pool.result(i) for i in range(len(cells))]
    pool.close()
    assert [ok for ok, _ in outcomes] == [True, False, False, True, True]
    assert "ValueError: this cassette is broken" in outcomes[1][1]
    assert outcomes[2][1] == "the replay worker exited before it replied"
    assert no_children_left()


def test_the_plan_puts_the_composio_sdk_in_a_stage_of_its_own() -> None:
    keys = [
        CellKey(scenario="s", framework="pydantic-ai", path="rovo", model="m"),
        CellKey(scenario="s", framework="autogen", path="composio", model="m"),
    ]
    staged = plan(keys)
    assert staged.stages[0][: len(RUN_TIME_IMPORTS)] == RUN_TIME_IMPORTS
    assert "pydantic_ai" in staged.stages[0] and "autogen_ext.tools.mcp" in staged.stages[0]
    assert "agents" not in staged.stages[0]  # no openai-agents cell
    assert staged.stages[1:] == [("composio",)] and staged.needs == [0, 1]
    assert plan(keys[:1]).stages[1:] == []  # rovo alone: one stage


def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_closing_kills_a_worker_whose_cell_hangs() -> None:
    pool = ReplayPool([0.5, 600.0], Plan([("json",)], [0, 0]), nap, workers=2)
    assert pool.result(0) == (True, 0.5)  # meanwhile the other worker took the cell that hangs
    started = time.monotonic()
    pool.close(grace_s=0.5)
    assert time.monotonic() - started < 5 and no_children_left()
