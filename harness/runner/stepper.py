"""One cell by hand, for ``notebooks/explore.ipynb``: start the sandbox, arrange a scenario's repositories, run
the conversation on one framework and MCP route, and look at the conversation, the tool calls, and the Bitbucket
state before and after. Nothing is recorded; the steps are the worker's (``harness.runner.cell``), one at a time."""

from __future__ import annotations

import atexit
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.frameworks import ADAPTERS
from harness.models import load_models
from harness.oracle import Arranged, Oracle
from harness.runner.cell import CellRun
from harness.runner.matrix import Cell
from harness.runner.session import check_models, furnished
from harness.scenarios import Scenario, load_scenario
from harness.transcript import Transcript
from harness.vocab import REFERENCE_MODEL, ROUTES
from sandbox import Sandbox

State = dict[tuple[str, str, str], str]  # (repository, kind, name) -> what it is
ABSENT = "(absent)"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Exploration:
    run: CellRun
    sandbox: Sandbox
    before: State = field(default_factory=dict)
    after: State = field(default_factory=dict)

    @property
    def cell(self) -> Cell:
        return self.run.cell

    @property
    def scenario(self) -> Scenario:
        return self.run.scenario

    @property
    def transcript(self) -> Transcript | None:
        return self.run.transcript


def start(
    scenario_file: str | Path,
    framework: str,
    route: str,
    model: str = REFERENCE_MODEL,
    models_file: str | Path | None = None,
) -> Exploration:
    """A fresh sandbox that knows the scenario's plans (and the models file's models), ready for :func:`arrange`."""
    if framework not in ADAPTERS:
        raise ValueError(f"unknown framework {framework!r}; choose from {', '.join(ADAPTERS)}")
    if route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; choose from {', '.join(ROUTES)}")
    scenario = load_scenario(_scenario_path(Path(scenario_file)))
    catalog = load_models(_scenario_path(Path(models_file)) if models_file else None)
    env = dict(os.environ)
    check_models(catalog, [model], env, "sandbox")
    sandbox = Sandbox.start()
    atexit.register(sandbox.stop)  # the kernel may stop before close(): never leave a sandbox behind
    try:
        world = furnished(sandbox, [scenario], catalog, [model], env)
        run = CellRun.open(Cell(scenario.id, framework, route, model, 1), scenario, world)
    except Exception:
        sandbox.stop()
        raise
    return Exploration(run, sandbox)


def _scenario_path(given: Path) -> Path:
    """As given, else from the project root (a notebook's kernel runs in ``notebooks/``)."""
    return given if given.exists() or given.is_absolute() else ROOT / given


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
                    f"{pr['title']}"
                )
        for issue in await oracle.issues(name):
            comments = [c["content"]["raw"] for c in await oracle.issue_comments(name, issue["id"])]
            state[(logical, "issue", f"#{issue['id']}")] = f"{issue['state']}: {issue['title']}" + (
                f" (comments: {' | '.join(comments)})" if comments else ""
            )
    return state


async def arrange(x: Exploration) -> pd.DataFrame:
    """Create the scenario's repositories for this cell; returns the state before the conversation."""
    arranged = await x.run.prepare()
    x.before = await snapshot(x.run.oracle, arranged)
    return state_table(x.before, x.before)


async def converse(x: Exploration, timeout_s: float = 120.0) -> pd.DataFrame:
    """Run the scenario's turns on the framework and route (with its faults, if any); returns the conversation."""
    return conversation_table(await x.run.converse(timeout_s))


async def finish(x: Exploration) -> pd.DataFrame:
    """Read the state after the conversation and score the cell; returns the state before and after."""
    if x.run.arranged is None:
        raise RuntimeError("arrange() and converse() first")
    x.after = await snapshot(x.run.oracle, x.run.arranged)
    await x.run.judge()
    return state_table(x.before, x.after)


async def close(x: Exploration) -> None:
    """Delete the cell's repositories and stop the sandbox."""
    try:
        await x.run.close()
    finally:
        x.sandbox.stop()


def conversation_table(transcript: Transcript) -> pd.DataFrame:
    rows = []
    for number, turn in enumerate(transcript.turns, start=1):
        rows.append({"turn": number, "who": "user", "text": turn.user})
        rows += [
            {"turn": number, "who": f"tool call: {c.name}", "text": json.dumps(c.arguments)} for c in turn.tool_calls
        ]
        rows.append({"turn": number, "who": "agent", "text": turn.answer})
    if transcript.error:
        rows.append({"turn": len(transcript.turns), "who": "stack error", "text": transcript.error})
    return pd.DataFrame(rows, columns=["turn", "who", "text"])


def tool_calls_table(transcript: Transcript, result_chars: int = 300) -> pd.DataFrame:
    """Every tool call the agent made (a Composio multi-execute counts as each tool inside it), with the start
    of the result it saw."""
    rows = [
        {
            "tool": c.name,
            "action": c.arguments.get("action"),
            "arguments": json.dumps(c.arguments),
            "error": c.is_error,
            "result": (c.result or "")[:result_chars],
        }
        for c in transcript.effective_calls()
    ]
    return pd.DataFrame(rows, columns=["tool", "action", "arguments", "error", "result"])


def state_table(before: State, after: State) -> pd.DataFrame:
    """The state before and after, one row per branch, pull request and issue; ``changed`` marks differences."""
    keys = sorted(set(before) | set(after))
    rows = [
        {
            "repository": key[0],
            "kind": key[1],
            "name": key[2],
            "before": before.get(key, ABSENT),
            "after": after.get(key, ABSENT),
            "changed": before.get(key) != after.get(key),
        }
        for key in keys
    ]
    return pd.DataFrame(rows, columns=["repository", "kind", "name", "before", "after", "changed"])


def verdict_text(x: Exploration) -> str:
    verdict = x.run.verdict
    if verdict is None:
        return "not scored yet"
    reasons = "; ".join(verdict.reasons)
    return f"{x.cell.key}: {verdict.outcome}" + (f" ({reasons})" if reasons else "")


def details(x: Exploration) -> dict[str, Any]:
    """Facts about the cell: URLs of the sandbox it talks to (credentials left out) and the package versions."""
    arranged = x.run.arranged
    return {
        "cell": x.cell.key,
        "repositories": [r.full_name for r in (arranged.repos.values() if arranged else [])],
        "sandbox": {k: v for k, v in x.sandbox.urls.items() if k != "admin"},
        "versions": x.transcript.versions if x.transcript else {},
    }
