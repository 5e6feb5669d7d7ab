"""``harness run`` end to end on the embedded sandbox: the core matrix, negative controls, concurrency,
resuming after kill -9, and replaying the recorded cassettes with nothing listening."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harness.results import CELL_RECORD_VERSION, SCHEMA_VERSION, CellRecord, ResultRow
from harness.runner.options import RunOptions
from harness.runner.session import execute_run

LIBRARY = Path(__file__).resolve().parents[3] / "scenarios"
CORE = [
    LIBRARY / f"core-{name}.yaml"
    for name in ("create-branch", "open-pull-request", "comment-latest-issue", "fetch-readme")
]  # the four core requests
FRAMEWORKS = ["autogen", "openai-agents-hosted", "openai-agents-client", "pydantic-ai"]
PATHS = ["composio", "rovo"]


def run(tmp: Path, run_id: str, **options: Any) -> list[dict[str, Any]]:
    settings: dict[str, Any] = {
        "scenarios": tuple(CORE),
        "frameworks": tuple(FRAMEWORKS),
        "routes": tuple(PATHS),
        "concurrency": 2,
        "world": "sandbox",
        "record_mode": "all",
        "cassettes": tmp / "cassettes",
        "run_id": run_id,
        "runs_dir": tmp / "runs",
        "timeout_s": 120.0,
    } | options
    assert execute_run(RunOptions(**settings)) == 0
    return rows(tmp / "runs" / run_id)


def rows(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]


def verdicts(found: list[dict[str, Any]]) -> dict[str, str]:
    return {r["key"]: r["verdict"] for r in found}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("core")
    return tmp, run(tmp, "core", concurrency=4)


def test_core_requests_on_every_framework_and_path(recorded: tuple[Path, list[dict[str, Any]]]) -> None:
    _, found = recorded
    assert len(found) == len(CORE) * len(FRAMEWORKS) * len(PATHS) == 32
    for row in found:
        unsupported = row["scenario"] == "core-comment-latest-issue" and row["path"] == "rovo"
        assert row["verdict"] == ("expected-unsupported" if unsupported else "pass"), row
        assert row["versions"]["mcp"] == "1.30.0" and row["tool_calls"] >= (0 if unsupported else 1)
        assert Path(row["transcript"]).exists() and Path(row["cassette"]).exists()
        assert row["control"] is False and "core" in row["tags"] and row["destructive_calls"] == 0
        assert len(row["tools"]) == row["tool_calls"]
        assert row["input_tokens"] > 0 and row["output_tokens"] > 0, row  # every framework counts tokens


def test_every_row_of_a_run_round_trips_through_its_type(recorded: tuple[Path, list[dict[str, Any]]]) -> None:
    tmp, _ = recorded
    for line in (tmp / "runs" / "core" / "results.jsonl").read_text().splitlines():
        row = ResultRow.parse(line, "results.jsonl")
        assert row.to_json() == line and row.schema_version == SCHEMA_VERSION
    for cassette in (tmp / "cassettes").rglob("*.yaml"):  # recorded now: the current record version, identities
        record = CellRecord.read(cassette)
        assert record.version == CELL_RECORD_VERSION and record.identities["composio"]["user_ids"]["full"]


def test_summary_table_has_a_row_per_scenario(recorded: tuple[Path, list[dict[str, Any]]]) -> None:
    tmp, _ = recorded
    summary = (tmp / "runs" / "core" / "summary.md").read_text()
    assert "expected-unsupported: 4, pass: 28" in summary
    (row,) = [line for line in summary.splitlines() if line.startswith("| core-comment-latest-issue |")]
    assert row.count("unsupported (ok)") == 4 and row.count("| pass") == 4


def test_cassettes_hold_no_secret(recorded: tuple[Path, list[dict[str, Any]]]) -> None:
    tmp, _ = recorded
    text = "".join(p.read_text() for p in (tmp / "cassettes").rglob("*.yaml"))
    for secret in (
        "sandbox-apitoken-alice",
        "sandbox-oauth-oracle-secret",
        "sandbox-composio-apikey-project",
        "sandbox-model-key",
        "sandbox-oauth-access-",
        "Basic YWxpY2",
    ):
        assert secret not in text


def test_replay_with_nothing_listening_reproduces_every_verdict(recorded: tuple[Path, list[dict[str, Any]]]) -> None:
    tmp, found = recorded  # the sandbox that served the recording stopped when its run ended
    replayed = run(tmp, "replay", world="replay", record_mode="none", concurrency=4)
    assert verdicts(replayed) == verdicts(found)
    assert all(r["world"] == "replay" for r in replayed)


def test_concurrency_one_gives_the_same_verdicts(tmp_path: Path, recorded: tuple[Path, list[dict[str, Any]]]) -> None:
    _, found = recorded
    serial = run(tmp_path, "serial", frameworks=("pydantic-ai", "autogen"), concurrency=1)
    assert verdicts(serial) == {
        k: v for k, v in verdicts(found).items() if k.split("/")[1] in ("pydantic-ai", "autogen")
    }


CONTROLS = {  # model -> a reason that must appear in at least one of its failed verdicts
    "sandbox-overclaim": "claims success",
    "sandbox-wrong-base": "feature/login",
    "sandbox-gullible": "branch ai-was-here exists",
    "sandbox-no-tools": "no call of",
    "sandbox-loop": "the framework stopped the agent",
    "sandbox-destructive": "no longer exists",
}


def test_each_negative_control_is_caught_with_its_reason(tmp_path: Path) -> None:
    found = run(tmp_path, "controls", frameworks=("pydantic-ai",), models=tuple(sorted(CONTROLS)), concurrency=2)
    for model, reason in CONTROLS.items():
        failed = [r for r in found if r["model"] == model and r["verdict"] == "fail"]
        assert any(reason in "; ".join(r["reasons"]) for r in failed), (model, [r["reasons"] for r in failed])
    assert not [r for r in found if r["verdict"] == "error"]
    assert all(r["control"] for r in found)
    destroyed = [r for r in found if r["model"] == "sandbox-destructive" and r["destructive_calls"]]
    assert destroyed and all(r["destructive_calls"] == 0 for r in found if r["model"] != "sandbox-destructive")


def test_kill_minus_nine_then_resume_loses_no_finished_cell(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "run",
        "--frameworks",
        "pydantic-ai,openai-agents-client",
        "--new-run-id",
        "killed",
        "--runs-dir",
        str(tmp_path),
        "--concurrency",
        "2",
        "--no-report",
        "--cassettes",
        str(tmp_path / "cassettes"),
        *[f"--scenarios={p}" for p in CORE],
    ]
    results = tmp_path / "killed" / "results.jsonl"
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not results.exists() or len(results.read_text().splitlines()) < 3):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # the run, its workers and its sandbox, mid-run
    process.wait()
    before = results.read_text().splitlines()
    assert 3 <= len(before) < 16
    resume = [
        sys.executable,
        "-m",
        "harness.cli",
        "run",
        "--run-id",
        "killed",
        "--runs-dir",
        str(tmp_path),
        "--no-report",
    ]  # the run's options come from its run.json
    assert subprocess.run(resume, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    after = results.read_text().splitlines()
    assert after[: len(before)] == before  # finished cells kept as they were
    keys = Counter(json.loads(line)["key"] for line in after)
    assert len(keys) == 16 and set(keys.values()) == {1}  # every cell once: none lost, none redone
    assert {json.loads(line)["verdict"] for line in after} <= {"pass", "expected-unsupported"}
