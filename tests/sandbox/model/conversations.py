"""Conversations for the policy's unit tests: tool lists shaped like the two MCP paths, and a loop that plays a
conversation to its end by answering each tool call from a table of canned results."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sandbox.model.policy import Call, ConversationBuilder, Decision, PlanRegistry, ToolSpec, decide


def _obj(required: list[str], **props: str) -> dict[str, Any]:
    return {"type": "object", "properties": {k: {"type": v} for k, v in props.items()}, "required": required}


WS_REPO = {"workspace": "string", "repo_slug": "string"}
COMPOSIO_DIRECT = (
    ToolSpec(
        "BITBUCKET_CREATE_BRANCH",
        "",
        _obj(["workspace", "repo_slug", "name", "target_hash"], **WS_REPO, name="string", target_hash="string"),
    ),
    ToolSpec(
        "BITBUCKET_CREATE_PULL_REQUEST",
        "",
        _obj(
            ["workspace", "repo_slug", "title", "source_branch"],
            **WS_REPO,
            title="string",
            source_branch="string",
            destination_branch="string",
            description="string",
        ),
    ),
    ToolSpec(
        "BITBUCKET_CREATE_ISSUE_COMMENT",
        "",
        _obj(["workspace", "repo_slug", "issue_id", "content"], **WS_REPO, issue_id="string", content="string"),
    ),
    ToolSpec(
        "BITBUCKET_GET_FILE_FROM_REPOSITORY",
        "",
        _obj(["workspace", "repo_slug", "commit", "path"], **WS_REPO, commit="string", path="string"),
    ),
    ToolSpec("BITBUCKET_DELETE_ISSUE", "", _obj(["workspace", "repo_slug", "issue_id"], **WS_REPO, issue_id="string")),
)
LIST_BRANCHES = ToolSpec("BITBUCKET_LIST_BRANCHES", "", _obj(["workspace", "repo_slug"], **WS_REPO, q="string"))
LIST_ISSUES = ToolSpec(
    "BITBUCKET_LIST_ISSUES", "", _obj(["workspace", "repo_slug"], **WS_REPO, q="string", sort="string")
)
COMPOSIO_META = (
    ToolSpec(
        "COMPOSIO_SEARCH_TOOLS",
        "",
        {
            "type": "object",
            "properties": {"queries": {"type": "array"}, "session": {"type": "object"}},
            "required": ["queries"],
        },
    ),
    ToolSpec("COMPOSIO_GET_TOOL_SCHEMAS", "", _obj(["tool_slugs"], tool_slugs="array")),
    ToolSpec("COMPOSIO_MULTI_EXECUTE_TOOL", "", _obj(["tools"], tools="array", thought="string", session_id="string")),
    ToolSpec("COMPOSIO_MANAGE_CONNECTIONS", "", _obj(["toolkits"], toolkits="array")),
)
_ROVO_PROPS = {
    "action": "string",
    "workspaceId": "string",
    "repoId": "string",
    "branchName": "string",
    "referenceOrSha": "string",
    "path": "string",
    "branch": "string",
    "name": "string",
}
ROVO = (
    ToolSpec(
        "bitbucketRepoContent",
        "",
        {
            "type": "object",
            "properties": {
                **{k: {"type": v} for k, v in _ROVO_PROPS.items()},
                "action": {
                    "type": "string",
                    "enum": ["branch.get", "commit.get", "files.get", "branch.create", "commit.create"],
                },
            },
            "required": ["action", "workspaceId", "repoId"],
        },
    ),
    ToolSpec(
        "bitbucketPullRequest",
        "",
        {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": ["list", "get", "create", "merge", "comment"]},
                "workspaceId": {"type": "string"},
                "repoId": {"type": "string"},
                "prId": {"type": "integer"},
                "sourceBranch": {"type": "string"},
                "targetBranch": {"type": "string"},
                "title": {"type": "string"},
                "description": {"type": "string"},
                "content": {"type": "string"},
            },
            "required": ["action", "workspaceId", "repoId"],
        },
    ),
)

MAIN = "2f8192c6869e6a7d3bd0d7b6e4a3c2b1a0f9e8d7"
README = "# Widgets\n\nThe widget service. Run `make test` before opening a pull request.\n"
ISSUES = {
    "values": [
        {
            "type": "issue",
            "id": 2,
            "title": "Document the widget API",
            "state": "new",
            "kind": "task",
            "created_on": "2025-01-01T00:00:02+00:00",
        },
        {
            "type": "issue",
            "id": 1,
            "title": "Crash on empty widget name",
            "state": "open",
            "kind": "bug",
            "created_on": "2025-01-01T00:00:01+00:00",
        },
    ]
}


def composio(data: Any, error: str | None = None) -> str:
    return json.dumps({"data": data, "error": error, "successful": error is None})


def bitbucket_result(call: Call) -> Any:
    """What Bitbucket gives back for a tool's operation (the data inside any wrapper)."""
    name, args = call.name, dict(call.arguments)
    action = args.get("action")
    if "BRANCHES" in name or action == "branch.get":
        return {
            "values": [
                {"type": "branch", "name": "main", "target": {"hash": MAIN}},
                {"type": "branch", "name": "feature/login", "target": {"hash": "a" * 40}},
            ]
        }
    if "CREATE_BRANCH" in name or action == "branch.create":
        branch = args.get("name") or args.get("branchName")
        return {"type": "branch", "name": branch, "target": {"hash": MAIN}}
    if "PULL_REQUEST" in name or action == "create":
        return {"type": "pullrequest", "id": 7, "title": args.get("title"), "state": "OPEN"}
    if "LIST_ISSUES" in name:
        return ISSUES
    if "ISSUE_COMMENT" in name:
        return {"type": "issue_comment", "id": 11, "content": {"raw": args.get("content")}}
    if "DELETE_ISSUE" in name:
        return {"success": True, "message": "Issue deleted successfully"}
    return {"commit": "main", "path": "README.md", "size": len(README), "data": README}


def composio_server(call: Call) -> str:
    """Composio's wrapper around Bitbucket, including the meta tools."""
    args = dict(call.arguments)
    if call.name == "COMPOSIO_SEARCH_TOOLS":
        slugs = [
            ["BITBUCKET_CREATE_BRANCH"]
            if "branch" in q["use_case"]
            else ["BITBUCKET_CREATE_PULL_REQUEST"]
            if "pull request" in q["use_case"]
            else ["BITBUCKET_GET_FILE_FROM_REPOSITORY"]
            if "file" in q["use_case"]
            else ["BITBUCKET_LIST_WORKSPACES"]
            for q in args["queries"]
        ]
        results = [
            {"index": i, "use_case": q["use_case"], "primary_tool_slugs": s, "related_tool_slugs": []}
            for i, (q, s) in enumerate(zip(args["queries"], slugs, strict=True))
        ]
        schemas = {s: {"tool_slug": s, "hasFullSchema": False, "schemaRef": {}} for r in slugs for s in r}
        return composio(
            {
                "results": results,
                "tool_schemas": schemas,
                "session": {"id": "wf_1"},
                "toolkit_connection_statuses": [{"toolkit": "bitbucket", "has_active_connection": True}],
            }
        )
    if call.name == "COMPOSIO_GET_TOOL_SCHEMAS":
        known = {t.name: t.parameters for t in COMPOSIO_DIRECT}
        return composio(
            {"tool_schemas": {s: {"tool_slug": s, "input_schema": known[s]} for s in args["tool_slugs"] if s in known}}
        )
    if call.name == "COMPOSIO_MULTI_EXECUTE_TOOL":
        results = [
            {
                "tool_slug": t["tool_slug"],
                "index": i,
                "response": {"successful": True, "data": bitbucket_result(Call(t["tool_slug"], t["arguments"]))},
            }
            for i, t in enumerate(args["tools"])
        ]
        return composio({"results": results, "total_count": len(results), "success_count": len(results)})
    return composio(bitbucket_result(call))


def rovo_server(call: Call) -> str:
    data = bitbucket_result(call)
    return data["data"] if isinstance(data, dict) and "data" in data else json.dumps(data)


Server = Callable[[Call], str]


class Played:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.batches: list[tuple[Call, ...]] = []
        self.text = ""


def play(
    tools: tuple[ToolSpec, ...],
    turns: list[str],
    server: Server,
    model: str = "sandbox-reference",
    parallel: bool = True,
    plans: PlanRegistry | None = None,
    limit: int = 20,
    system: str = "",
) -> Played:
    """Run a conversation to its end: every decision's calls are answered by ``server`` (one text each)."""
    builder = ConversationBuilder()
    builder.add_system(system)
    played = Played()
    for turn in turns:
        builder.add_text("user", turn)
        for _ in range(limit):
            decision: Decision = decide(builder.build(tools, parallel), model, plans)
            if not decision.calls:
                played.text = decision.text
                builder.add_text("assistant", decision.text)
                break
            played.batches.append(decision.calls)
            for call in decision.calls:
                call_id = f"call_{len(played.calls)}"
                played.calls.append(call)
                builder.add_call(call_id, call)
                builder.add_result(call_id, server(call))
        else:
            played.text = "<limit reached>"
    return played
