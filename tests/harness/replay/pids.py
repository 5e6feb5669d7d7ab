"""A pytest plugin for the replay plugin's tests: the process that replays each cell, and its parent, appended to
the file ``REPLAY_PIDS`` names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.replay.plugin import CellReplay
from harness.results import ResultRow

replay_row = CellReplay.replay_row


def replay_and_say_where(item: CellReplay) -> ResultRow:
    with Path(os.environ["REPLAY_PIDS"]).open("a") as out:
        out.write(f"{os.getpid()} {os.getppid()} {os.environ['REPLAY_PARENT']}\n")
    return replay_row(item)


def pytest_configure(config: Any) -> None:
    os.environ["REPLAY_PARENT"] = str(os.getpid())
    CellReplay.replay_row = replay_and_say_where  # type: ignore[method-assign]
