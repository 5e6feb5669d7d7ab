"""One cell by hand, for ``notebooks/explore.ipynb``: start the sandbox, arrange a scenario's repositories, run
the conversation on one framework and MCP path, and look at the conversation, the tool calls, and the Bitbucket
state before and after. Nothing is recorded; the steps are those of ``harness.runner.worker``, one at a time."""

from __future__ import annotations

import asyncio
import atexit
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.frameworks import ADAPTERS, Conversation
from harness.oracle import Arranged, Oracle
from harness.paths import McpConnection, composio_connection, rovo_connection
from harness.placeholders import fill
from harness.runner.cells import Cell
from harness.runner.plans import plans_payload
from harness.sandbox import Sandbox
from harness.scenarios import Scenario, load_scenario
from harness.scoring import Verdict, score
from harness.transcript import Transcript
from harness.worlds import WorldConfig, sandbox_world

State = dict[tuple[str, str, str], str]  # (repository, kind, name) -> what it is
ABSENT = "(absent)"


@dataclass
class Exploration:
    scenario: Scenario
    cell: Cell
    sandbox: Sandbox
    world: WorldConfig
    oracle: Oracle
    arranged: Arranged | None = None
    before: State = field(default_factory=dict)
    after: State = field(default_factory=dict)
    transcript: Transcript | None = None
    verdict: Verdict | None = None


def start(scenario_file: str | Path, framework: str, path: str, model: str = "sandbox-reference") -> Exploration:
    """A fresh sandbox that knows the scenario's plans, ready for :func:`arrange`."""
    if framework not in ADAPTERS:
        raise ValueError(f"unknown framework {framework!r}; choose from {', '.join(ADAPTERS)}")
    scenario = load_scenario(_scenario_path(Path(scenario_file)))
    sandbox = Sandbox.start()
    atexit.register(sandbox.stop)  # the kernel may stop before close(): never leave a sandbox behind
    try:
        sandbox.admin.post("/model/plans", json=plans_payload([scenario])).raise_for_status()
    except Exception:
        sandbox.stop()
        raise
    world = sandbox_world(sandbox.info)
    return Exploration(scenario, Cell(scenario.id, framework, path, model, 1), sandbox, world, Oracle(world.oracle))


def _scenario_path(given: Path) -> Path:
    """As given, else from the project root (a notebook's kernel runs in ``notebooks/``)."""
    root = Path(__file__).resolve().parents[2]
    return given if given.exists() or given.is_absolute() else root / given


async def snapshot(oracle: Oracle, arranged: Arranged) -> State:
    """Everything an agent could change in the cell's repositories: branches, pull requests, issues, comments."""
    state: State = {}
    for repo in arranged.repos.values():
        name, logical = repo.full_name, repo.logical
        for branch, head in (await oracle.branches(name)).items():
            state[(logical, "branch", branch)] = head[:12]
        for pr_state in ("OPEN", "MERGED", "DECLINED"):
            for pr in await oracle.pull_requests(name, pr_state):
                state[(logical, "pull request", f"#{pr['id']}")] = (
                    f"{pr['state']} {pr['source']['branch']['name']} -> {pr['destination']['branch']['name']}: "
                    f"{pr['title']}")
        for issue in await oracle.issues(name):
            comments = [c["content"]["raw"] for c in await oracle.issue_comments(name, issue["id"])]
            state[(logical, "issue", f"#{issue['id']}")] = (
                f"{issue['state']}: {issue['title']}" + (f" (comments: {' | '.join(comments)})" if comments else ""))
    return state


async def arrange(x: Exploration) -> pd.DataFrame:
    """Create the scenario's repositories for this cell; returns the state before the conversation."""
    x.arranged = await x.oracle.arrange(x.scenario, x.cell.cell_id)
    x.before = await snapshot(x.oracle, x.arranged)
    return state_table(x.before, x.before)


async def _connect(x: Exploration) -> McpConnection:
    profile = x.scenario.profiles.get(x.cell.path, "full")  # type: ignore[call-overload]
    if x.cell.path == "composio":
        return await composio_connection(x.world.composio, profile)
    if x.cell.path == "rovo":
        return await rovo_connection(x.world.rovo, profile)
    raise ValueError(f"unknown path {x.cell.path!r}; choose composio or rovo")


async def converse(x: Exploration, timeout_s: float = 120.0) -> pd.DataFrame:
    """Run the scenario's turns on the framework and path; returns the conversation."""
    if x.arranged is None:
        raise RuntimeError("arrange() first: the conversation needs the cell's repositories")
    values = x.arranged.placeholders()
    conversation = Conversation([fill(t.user, values) for t in x.scenario.turns], x.cell.model)
    mcp = await _connect(x)
    x.transcript = await asyncio.wait_for(ADAPTERS[x.cell.framework].run(conversation, mcp, x.world.model),
                                          timeout_s)
    return conversation_table(x.transcript)


async def finish(x: Exploration) -> pd.DataFrame:
    """Read the state after the conversation and score the cell; returns the state before and after."""
    if x.arranged is None or x.transcript is None:
        raise RuntimeError("arrange() and converse() first")
    x.after = await snapshot(x.oracle, x.arranged)
    x.verdict = await score(x.scenario, x.cell.path, x.transcript, x.oracle, x.arranged)
    return state_table(x.before, x.after)


async def close(x: Exploration) -> None:
    """Delete the cell's repositories and stop the sandbox."""
    try:
        if x.arranged is not None:
            await x.oracle.teardown(x.arranged)
        await x.oracle.aclose()
    finally:
        x.sandbox.stop()


def conversation_table(transcript: Transcript) -> pd.DataFrame:
    rows = []
    for number, turn in enumerate(transcript.turns, start=1):
        rows.append({"turn": number, "who": "user", "text": turn.user})
        rows += [{"turn": number, "who": f"tool call: {c.name}", "text": json.dumps(c.arguments)}
                 for c in turn.tool_calls]
        rows.append({"turn": number, "who": "agent", "text": turn.answer})
    if transcript.error:
        rows.append({"turn": len(transcript.turns), "who": "stack error", "text": transcript.error})
    return pd.DataFrame(rows, columns=["turn", "who", "text"])


def tool_calls_table(transcript: Transcript, result_chars: int = 300) -> pd.DataFrame:
    """Every tool call the agent made (a Composio multi-execute counts as each tool inside it), with the start
    of the result it saw."""
    rows = [{"tool": c.name, "action": c.arguments.get("action"), "arguments": json.dumps(c.arguments),
             "error": c.is_error, "result": (c.result or "")[:result_chars]}
            for c in transcript.effective_calls()]
    return pd.DataFrame(rows, columns=["tool", "action", "arguments", "error", "result"])


def state_table(before: State, after: State) -> pd.DataFrame:
    """The state before and after, one row per branch, pull request and issue; ``changed`` marks differences."""
    keys = sorted(set(before) | set(after))
    rows = [{"repository": key[0], "kind": key[1], "name": key[2], "before": before.get(key, ABSENT),
             "after": after.get(key, ABSENT), "changed": before.get(key) != after.get(key)} for key in keys]
    return pd.DataFrame(rows, columns=["repository", "kind", "name", "before", "after", "changed"])


def verdict_text(x: Exploration) -> str:
    if x.verdict is None:
        return "not scored yet"
    reasons = "; ".join(x.verdict.reasons)
    return f"{x.cell.key}: {x.verdict.outcome}" + (f" ({reasons})" if reasons else "")


def details(x: Exploration) -> dict[str, Any]:
    """Facts about the cell: URLs of the sandbox it talks to (credentials left out) and the package versions."""
    return {"cell": x.cell.key, "repositories": [r.full_name for r in (x.arranged.repos.values()
                                                                      if x.arranged else [])],
            "sandbox": {k: v for k, v in x.sandbox.urls.items() if k != "admin"},
            "versions": x.transcript.versions if x.transcript else {}}
