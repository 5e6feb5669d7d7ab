"""Each MCP server variant's tools/list is pinned by a snapshot under tests/sandbox/snapshots/tools/.

Any drift fails. After a deliberate change, rewrite them with ``pytest tests/sandbox/mcp --update-snapshots`` and review
the diff. The same files are what ``harness tools list --against`` compares a live service's list with.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from harness import tool_lists
from sandbox import Sandbox
from tests.sandbox.mcp.targets import VARIANTS

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots" / "tools"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_tools_list_matches_its_snapshot(sandbox: Sandbox, variant: str, request: pytest.FixtureRequest) -> None:
    target = VARIANTS[variant](sandbox)
    tools = asyncio.run(tool_lists.fetch_tools(target.url, target.headers))
    path = SNAPSHOTS / f"{variant}.json"
    if request.config.getoption("--update-snapshots"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tool_lists.dumps(tools))
    assert path.exists(), f"no snapshot {path}; create it with `pytest tests/sandbox/mcp --update-snapshots`"
    found = tool_lists.drift(tool_lists.load(path), tools)
    assert found.none, f"{variant} drifted from {path.name}:\n" + "\n".join(found.lines())
    assert path.read_text() == tool_lists.dumps(tools), f"{path.name}: same tools, different text (ordering?)"


def test_drift_names_added_removed_and_changed_tools() -> None:
    reference = [{"name": "a", "description": "x"}, {"name": "b", "inputSchema": {"type": "object"}}]
    current = [{"name": "b", "inputSchema": {"type": "object", "required": ["q"]}}, {"name": "c"}]
    found = tool_lists.drift(reference, current)
    assert (found.added, found.removed, found.changed) == (["c"], ["a"], {"b": ["inputSchema"]})
    assert not found.none
    assert tool_lists.drift(current, current).none


def test_cli_compares_a_server_with_a_snapshot(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from harness.cli import app

    target = VARIANTS["rovo-no-pr-write"](sandbox)
    monkeypatch.setenv("ROVO_AUTH", target.headers["Authorization"])
    args = ["tools", "list", "--url", target.url, "--header-env", "Authorization=ROVO_AUTH"]
    same = CliRunner().invoke(app, [*args, "--against", str(SNAPSHOTS / "rovo-no-pr-write.json")])
    assert (same.exit_code, same.output.strip()) == (0, "no drift")
    other = CliRunner().invoke(app, [*args, "--against", str(SNAPSHOTS / "rovo-full.json")])
    assert other.exit_code == 1
    assert "- bitbucketPipeline (only in the reference)" in other.output
    (tmp_path / "bad.json").write_text("{}")
    bad = CliRunner().invoke(app, [*args, "--against", str(tmp_path / "bad.json")])
    assert bad.exit_code == 2 and "expected a JSON list of tools" in bad.output
    assert "Basic" not in same.output + other.output  # the credential never reaches the output
