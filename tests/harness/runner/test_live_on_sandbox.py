"""The live world's code pointed at the embedded world through the .env that `harness sandbox up --env` prints gives
the same verdicts as the sandbox world, on every scenario without faults, on one framework and both routes.

Fault scenarios are left out: their faults are scripted through the sandbox's admin API, which the live world does
not have (there such a cell is an error that says so). Marked slow (a few minutes); on its own:
``pytest tests/harness/runner/test_live_on_sandbox.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.report.render import ROOT
from harness.scenarios import load_scenario

HARNESS = [sys.executable, "-m", "harness.cli"]
FRAMEWORK = "pydantic-ai"  # the fastest variant
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if not load_scenario(p).faults)


def sandbox_env(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """`harness sandbox up --env` running, and the .env it printed."""
    state = tmp_path / "sandbox.json"
    up = subprocess.Popen(
        [*HARNESS, "sandbox", "up", "--env", "--state-file", str(state)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert up.stdout is not None
    lines = []
    deadline = time.monotonic() + 180
    while not lines or not lines[-1].startswith("SANDBOX_ADMIN_KEY="):  # the last variable it prints
        line = up.stdout.readline()
        assert line and time.monotonic() < deadline, f"`harness sandbox up --env` printed {lines} and stopped"
        lines.append(line.strip())
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(lines) + "\n")
    return up, env_file


def verdicts(runs: Path) -> dict[tuple[str, str], str]:
    (results,) = runs.glob("*/results.jsonl")
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    return {(r["scenario"], r["path"]): r["verdict"] for r in rows}


def run(world: str, runs: Path, *extra: str) -> dict[tuple[str, str], str]:
    command = [*HARNESS, "run", "--world", world, "--frameworks", FRAMEWORK, "--paths", "composio,rovo"]
    command += [*(a for s in SCENARIOS for a in ("-s", str(s))), "--runs-dir", str(runs), "--no-report", *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return verdicts(runs)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # two runs of every scenario without faults on both routes: minutes on a busy machine
def test_the_live_world_on_the_sandboxs_env_gives_the_sandbox_worlds_verdicts(tmp_path: Path) -> None:
    assert len(SCENARIOS) >= 10 and not any(p.name.startswith("fault-") for p in SCENARIOS)
    up, env_file = sandbox_env(tmp_path)
    try:
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
        assert env["BITBUCKET_API_URL"].startswith("http://127.0.0.1:") and "SANDBOX_ADMIN_URL" in env
        live = run("live", tmp_path / "live", "--env-file", str(env_file))
    finally:
        subprocess.run([*HARNESS, "sandbox", "down", "--state-file", str(tmp_path / "sandbox.json")], timeout=60)
        up.wait(timeout=60)
    sandbox = run("sandbox", tmp_path / "sandbox")
    assert len(live) > len(SCENARIOS)  # both routes (a scenario may apply to one only: the same in both worlds)
    assert live == sandbox
    assert set(live.values()) >= {"pass", "expected-unsupported"}  # the comparison covers more than one outcome
