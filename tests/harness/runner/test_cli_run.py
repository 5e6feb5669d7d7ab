"""What a user meets at the console: run ids that must exist to be resumed and keep their options, the matrix
apart from the controls, library noise in the run's log, Ctrl-C that says how to resume, and nothing left running
when the harness goes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.results import read_rows
from harness.runner.options import RunOptions

ROOT = Path(__file__).resolve().parents[3]
LIBRARY = ROOT / "scenarios"
HARNESS = [sys.executable, "-m", "harness.cli"]


def harness(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HARNESS, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def small(tmp_path: Path, *extra: str) -> list[str]:
    """A run of the committed cassettes (fast, no sandbox): what the console does is the same in every world."""
    return [
        "run",
        "--scenarios",
        str(LIBRARY / "core-fetch-readme.yaml"),
        "--frameworks",
        "pydantic-ai",
        "--runs-dir",
        str(tmp_path),
        "--world",
        "replay",
        "--cassettes",
        str(ROOT / "cassettes"),
        "--no-report",
        *extra,
    ]


def test_resuming_needs_a_known_run_and_keeps_its_options(tmp_path: Path) -> None:
    unknown = harness("run", "--run-id", "nope", "--runs-dir", tmp_path, "--no-report")
    assert unknown.returncode == 2 and "no run nope under" in unknown.stderr and not (tmp_path / "nope").exists()
    first = harness(*small(tmp_path, "--new-run-id", "r1", "--paths", "rovo"))
    assert first.returncode == 0, first.stderr
    assert {r.route for r in read_rows(tmp_path / "r1" / "results.jsonl")} == {"rovo"}
    other = harness("run", "--run-id", "r1", "--runs-dir", tmp_path, "--no-report", "--paths", "composio")
    assert other.returncode == 2 and "--paths: the run has ['rovo'], not ['composio']" in other.stderr
    again = harness("run", "--run-id", "r1", "--runs-dir", tmp_path, "--no-report")  # nothing left to run
    assert again.returncode == 0 and len(read_rows(tmp_path / "r1" / "results.jsonl")) == 1
    taken = harness(*small(tmp_path, "--new-run-id", "r1"))
    assert taken.returncode == 2 and "run r1 already exists" in taken.stderr and "--run-id r1" in taken.stderr


def test_the_console_shows_the_matrix_apart_from_the_controls_and_no_library_noise(tmp_path: Path) -> None:
    done = harness(*small(tmp_path, "--new-run-id", "c1", "--controls", "pydantic-ai", "--model", "sandbox-reference"))
    assert done.returncode == 0, done.stderr
    out = done.stderr
    assert "matrix: 2 cells; pass: 2" in out and "controls: 4/4 caught" in out
    lines = out.splitlines()
    assert sum("(control)" in line for line in lines) == 4  # a line per finished cell: the log is not a terminal
    assert not [line for line in lines if "fail" in line.lower() and "(control)" not in line]  # caught != failed
    for noise in ("PydanticSerializationUnexpectedValue", "Traceback", "Logfire", "DeprecationWarning"):
        assert noise not in out
    summary = (tmp_path / "c1" / "summary.md").read_text()
    assert "## Negative controls" in summary and "4/4 caught" in summary and "**FAIL**" not in summary
    assert (tmp_path / "c1" / "run.log").is_file()
    assert max(len(line) for line in out.splitlines()) > 80 or "\n" not in out  # long lines are not wrapped


def test_no_controls_is_said_so(tmp_path: Path) -> None:
    done = harness(*small(tmp_path, "--new-run-id", "n1", "--paths", "rovo"))
    assert done.returncode == 0 and "controls: no controls in this run" in done.stderr


def children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        parent = frontier.pop()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == parent and int(entry.name) not in found:
                    found.add(int(entry.name))
                    frontier.add(int(entry.name))
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


def started(tmp_path: Path, run_id: str) -> tuple[subprocess.Popen[str], set[int]]:
    """A replay of the whole library on two workers, once its first cell has finished."""
    process = subprocess.Popen(
        [
            *HARNESS,
            "run",
            "--new-run-id",
            run_id,
            "--runs-dir",
            str(tmp_path),
            "--world",
            "replay",
            "--cassettes",
            str(ROOT / "cassettes"),
            "--no-report",
            "--concurrency",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a shell's background job would otherwise pass SIGINT on ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    results = tmp_path / run_id / "results.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (results.exists() and results.read_text().strip()):
        time.sleep(0.2)
    below = children(process.pid)
    assert len(below) >= 2, below  # the workers
    return process, below


def test_ctrl_c_exits_130_saying_how_to_resume_and_leaves_nothing_running(tmp_path: Path) -> None:
    process, below = started(tmp_path, "int1")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert f"harness run --run-id int1 --runs-dir {tmp_path}" in err
    deadline = time.monotonic() + 30
    while alive(below) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert alive(below) == set()


def test_killing_the_harness_takes_its_workers_with_it(tmp_path: Path) -> None:
    process, below = started(tmp_path, "kill1")
    os.kill(process.pid, signal.SIGKILL)  # the harness alone: no chance to clean up
    process.wait()
    deadline = time.monotonic() + 30
    while alive(below) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert alive(below) == set()


def test_a_sandbox_stops_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom sandbox import Sandbox\n"
            "print(Sandbox.start().process.pid, flush=True)\ntime.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert starter.stdout is not None
    sandbox = int(starter.stdout.readline())
    assert alive({sandbox}) == {sandbox}
    os.kill(starter.pid, signal.SIGKILL)  # no chance to stop it
    starter.wait()
    deadline = time.monotonic() + 30
    while alive({sandbox}) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert alive({sandbox}) == set()


def test_a_sandbox_bound_to_another_process_outlives_its_starter_and_stops_with_that_process() -> None:
    owner = subprocess.Popen(["sleep", "600"])  # as a Dask worker's nanny: it outlives the worker
    starter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom sandbox import Sandbox\n"
            f"print(Sandbox.start(parent_pid={owner.pid}).process.pid, flush=True)\ntime.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert starter.stdout is not None
    sandbox = int(starter.stdout.readline())
    os.kill(starter.pid, signal.SIGKILL)  # the worker that started it is lost
    starter.wait()
    time.sleep(2)  # four times the sandbox's check
    assert alive({sandbox}) == {sandbox}
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 30
    while alive({sandbox}) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert alive({sandbox}) == set()


@pytest.mark.parametrize("target", ["help"])
def test_make_help_lists_the_targets(target: str) -> None:
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(["make", "-s", target], capture_output=True, text=True, cwd=root, timeout=60)
    assert out.returncode == 0 and "run" in out.stdout and "test" in out.stdout and "lab" in out.stdout


def test_a_resume_keeps_how_the_run_was_driven_unless_told_otherwise(tmp_path: Path) -> None:
    RunOptions(timeout_s=900.0, concurrency=1).save(tmp_path)
    assert RunOptions().resumed(tmp_path).timeout_s == 900.0  # not the default 300 s: a slow model keeps its time
    assert RunOptions().resumed(tmp_path).concurrency == 1
    again = RunOptions(timeout_s=60.0, concurrency=2).resumed(tmp_path, given={"timeout_s"})
    assert (again.timeout_s, again.concurrency) == (60.0, 1)
    (tmp_path / "run.json").write_text('{"options": {}}')  # a run from before runs kept their settings
    assert RunOptions().resumed(tmp_path).timeout_s == 300.0
