"""Cell processes forked from the fork server see their starter as it is when the pool starts, not as the server
was when it started (it outlives runs, and tests change the environment and directory between them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.runner.worker import cell_processes


def surroundings(name: str) -> tuple[str | None, str, int]:
    return os.environ.get(name), os.getcwd(), os.getpid()


def test_a_cell_process_has_its_starters_environment_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cell_processes(1, None) as pool:  # the server runs from here on, with this environment
        assert pool.submit(surroundings, "CELL_PROBE").result(timeout=300)[0] is None
    monkeypatch.setenv("CELL_PROBE", "set after the server started")
    monkeypatch.chdir(tmp_path)
    with cell_processes(1, None) as pool:
        probe, cwd, pid = pool.submit(surroundings, "CELL_PROBE").result(timeout=300)
    assert (probe, Path(cwd)) == ("set after the server started", tmp_path) and pid != os.getpid()


def test_the_fork_server_holds_neither_stdout_nor_stderr_of_its_starter() -> None:
    """Whatever reads a run's output to the end (a pipe, a test) must not wait for the server's imports."""
    from multiprocessing import forkserver

    from harness.runner.worker import cell_server

    cell_server()
    server = forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]
    assert server is not None
    assert [os.readlink(f"/proc/{server}/fd/{fd}") for fd in (1, 2)] == [os.devnull, os.devnull]
