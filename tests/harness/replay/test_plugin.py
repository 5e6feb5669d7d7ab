"""The replay plugin as a user meets it: pytest collects cassettes and says why one does not reproduce; and what
it does to a process (nothing imported before the first cell, no collections during one)."""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from harness.replay.cassette import missed
from harness.replay.plugin import replay_heap
from harness.results import RecordedResult, ResultRow

ROOT = Path(__file__).resolve().parents[3]
CELL = Path("cassettes/core-fetch-readme/pydantic-ai--rovo--sandbox-reference.yaml")
OTHER = Path("cassettes/core-fetch-readme/autogen--rovo--sandbox-reference.yaml")


def project(tmp_path: Path, message: str | None = None, cells: tuple[Path, ...] = (CELL,)) -> Path:
    """A copy of cassettes and their scenario; ``message`` replaces the user's turn (the request changes)."""
    (tmp_path / CELL.parent).mkdir(parents=True)
    for cell in cells:
        shutil.copy(ROOT / cell, tmp_path / cell)
    (tmp_path / "scenarios").mkdir()
    scenario = (ROOT / "scenarios" / "core-fetch-readme.yaml").read_text()
    if message:
        scenario = scenario.replace("Show me the README of {workspace}/{repo}.", message)
    (tmp_path / "scenarios" / "core-fetch-readme.yaml").write_text(scenario)
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = cassettes\n")
    return tmp_path


def pytest_in(where: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", *args],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **(env or {})},
        cwd=where,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_a_cassette_is_a_passing_test(tmp_path: Path) -> None:
    done = pytest_in(project(tmp_path))
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-2000:]


def test_a_request_the_cassette_lacks_is_named_with_the_command_to_rerecord(tmp_path: Path) -> None:
    done = pytest_in(project(tmp_path, message="Show me the README of {workspace}/{repo}, please."))
    out = done.stdout
    assert done.returncode == 1, out[-2000:]
    assert "cell core-fetch-readme/pydantic-ai/rovo/sandbox-reference/1" in out
    assert "recorded: pass" in out and "replayed: error" in out
    assert "no recorded response for POST /v1/chat/completions" in out
    assert f"re-record it: pytest {tmp_path / CELL} --record-mode=rewrite" in out


def test_a_replay_that_runs_past_its_cassette_is_a_mismatch_even_with_the_recorded_verdict() -> None:
    """A cell that timed out while recording has a cassette cut short: its replay ends in an error with no counts,
    as recorded, but only because a request was missing."""
    cut = "no recorded response for POST /v1/responses: 1. POST http://bitbucket.loopback.localhost/..."
    fields = {"key": "s/f/rovo/m/1", "scenario": "s", "framework": "f", "path": "rovo", "model": "m"}
    row = ResultRow.model_validate(fields | {"verdict": "error", "reasons": [cut]})
    assert missed(row, RecordedResult(verdict="error", reasons=["timed out after 420 s"]))
    assert not missed(row, RecordedResult(verdict="error", reasons=[cut]))  # recorded so: the cassette is whole
    assert not missed(row.model_copy(update={"reasons": ["timed out"]}), RecordedResult(verdict="error"))


def test_cells_replay_in_forked_workers_and_report_as_in_pytests_process(tmp_path: Path) -> None:
    where = project(tmp_path / "project", cells=(CELL, OTHER))
    pids = tmp_path / "pids"
    done = pytest_in(where, "--replay-workers", "2", "-p", "tests.harness.replay.pids", env={"REPLAY_PIDS": str(pids)})
    assert done.returncode == 0 and "2 passed" in done.stdout, done.stdout[-2000:]
    replays = [line.split() for line in pids.read_text().splitlines()]
    assert len(replays) == 2 and all(pid != pytest_pid and parent == pytest_pid for pid, parent, pytest_pid in replays)

    (where / "scenarios" / "core-fetch-readme.yaml").write_text(
        (where / "scenarios" / "core-fetch-readme.yaml").read_text().replace("Show me the README", "Show me a README")
    )
    out = pytest_in(where, "--replay-workers", "2").stdout
    assert "2 failed" in out, out[-2000:]
    for cell in ("pydantic-ai/rovo", "autogen/rovo"):
        assert f"cell core-fetch-readme/{cell}/sandbox-reference/1" in out
    assert out.count("no recorded response for POST /v1/chat/completions") >= 2


def test_the_plugin_leaves_the_replay_stack_to_the_first_cell() -> None:
    """pytest loads the plugin in every process, xdist's controller too, which never replays a cell."""
    heavy = ("harness.runner", "harness.frameworks", "composio", "agents", "pydantic_ai", "autogen_agentchat", "vcr")
    code = f"import sys, harness.replay.plugin; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


class Node:
    me: Node


def test_a_cell_runs_without_collections_and_its_cycles_go_before_the_next_cell() -> None:
    assert gc.isenabled()
    with replay_heap():
        assert not gc.isenabled() and gc.get_freeze_count() > 0  # what lived before the cell is never rescanned
        cycle = Node()
        cycle.me = cycle
        alive = weakref.ref(cycle)
        del cycle
        garbage = [Node() for _ in range(100_000)]  # far past any collection threshold
        assert alive() is not None
        del garbage
    assert gc.isenabled()
    with replay_heap():
        assert alive() is None


@pytest.mark.slow
def test_rewrite_records_anew_and_only_a_changed_verdict_fails(tmp_path: Path) -> None:
    """Token counts may move between recordings (ids in tool results differ); the verdict must not."""
    where = project(tmp_path)
    cassette = where / CELL
    stale, count = re.subn(r"input_tokens: \d+\n", "input_tokens: 1\n", cassette.read_text())
    assert count == 1
    cassette.write_text(stale)  # metrics from an older recording
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "--record-mode=rewrite"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-2000:]
    assert "input_tokens: 1\n" not in cassette.read_text()  # the new recording replaced the stale one
    assert pytest_in(where).returncode == 0  # and replays as recorded

    text = cassette.read_text()
    cassette.write_text(text.replace("    verdict: pass", "    verdict: fail"))  # the recording said otherwise
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "--record-mode=rewrite"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "was re-recorded with a different verdict" in done.stdout and "before: fail" in done.stdout
