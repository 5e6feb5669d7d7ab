"""What an agent did before its conversation broke stays in the transcript and the row: the calls of a loop that a
framework stopped, the tokens before a context overflow (both held by the committed cassettes' records, which
their replays must reproduce), and the turn in flight when the cell's time ran out (here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.runner.matrix import Cell
from harness.runner.worker import CellJob, run_cell
from harness.scenarios import load_scenario
from harness.scenarios.plans import compiled_plans
from harness.transcript import Transcript
from harness.worlds import sandbox_world
from sandbox import Sandbox

SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "core-create-branch.yaml"


@pytest.mark.parametrize("framework", ["pydantic-ai", "autogen"])
def test_a_timed_out_cell_keeps_the_turn_it_was_in(sandbox: Sandbox, tmp_path: Path, framework: str) -> None:
    from harness.frameworks import ADAPTERS
    from harness.replay.pool import load

    load(ADAPTERS[framework].imports)  # imported before the clock starts: only the conversation is timed
    scenario = load_scenario(SCENARIO)
    sandbox.register_plans(compiled_plans([scenario]))
    cell = Cell(scenario.id, framework, "rovo", "sandbox-reference", 1)
    hang = {"server": "bitbucket", "method": "POST", "path": f"{cell.cell_id}/refs/branches$"}
    (rule,) = sandbox.admin.post("/faults", json=[hang | {"action": "delay", "delay_ms": 60_000}]).json()["added"]
    try:
        job = CellJob(cell, scenario, str(SCENARIO), sandbox_world(sandbox.info), "all", tmp_path, tmp_path, "t", 4.0)
        row = run_cell(job)
    finally:
        sandbox.admin.delete(f"/faults/{rule['id']}")
    assert row.verdict == "error" and row.reasons[0] == "timed out after 4 s", row.reasons
    assert (row.turns, row.model_calls, row.tool_calls) == (1, 1, 1) and row.input_tokens, row
    assert row.transcript is not None
    (turn,) = Transcript.model_validate(json.loads(Path(row.transcript).read_text())["transcript"]).turns
    (call,) = turn.tool_calls
    assert call.name == "bitbucketRepoContent" and call.result is None  # asked for, never answered
