"""Bad tool input: each mistake gets a tool error that names it, the session survives, nothing is written."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sandbox import Sandbox
from tests.sandbox.rovo.helpers import Rovo, rest, token_header

WR = {"workspaceId": "acme", "repoId": "widgets"}


def snapshot(sb: Sandbox) -> str:
    """Branches, their heads and pull requests in every state: what a bad call must not change."""
    with rest(sb) as c:
        parts = [
            c.get("repositories/acme/widgets/refs/branches", params={"pagelen": 100}).text,
            c.get(
                "repositories/acme/widgets/pullrequests", params=[("state", s) for s in ("OPEN", "MERGED", "DECLINED")]
            ).text,
        ]
    return "\n".join(parts)


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("bitbucketPullRequest", {}, "Missing required parameter 'action'"),
        (
            "bitbucketPullRequest",
            {"action": "close", **WR},
            "Unknown action 'close' for bitbucketPullRequest. Valid actions: list, get, comments, diff, create, merge",
        ),
        ("bitbucketPullRequest", {"action": 3, **WR}, "Unknown action 3"),
        ("bitbucketPullRequest", {"action": "get", **WR}, "Missing required parameter 'prId' for action 'get'"),
        ("bitbucketPullRequest", {"action": "get", "workspaceId": "acme", "prId": 1}, "parameter 'repoId'"),
        ("bitbucketPullRequest", {"action": "get", **WR, "prId": "1"}, "prId: '1' is not of type 'integer'"),
        ("bitbucketPullRequest", {"action": "get", **WR, "prId": 0}, "prId: 0 is less than the minimum of 1"),
        ("bitbucketPullRequest", {"action": "list", **WR, "state": "open"}, "state: 'open' is not one of"),
        ("bitbucketPullRequest", {"action": "list", **WR, "pagelen": 1000}, "pagelen: 1000 is greater than"),
        (
            "bitbucketPullRequest",
            {"action": "create", **WR, "sourceBranch": "feature/login"},
            "Missing required parameter 'title' for action 'create'",
        ),
        (
            "bitbucketPullRequest",
            {"action": "create", **WR, "sourceBranch": "feature/login", "title": ""},
            "Missing required parameter 'title' for action 'create'",
        ),
        (
            "bitbucketPullRequest",
            {"action": "create", **WR, "sourceBranch": "x", "title": "t", "draft": "yes"},
            "draft: 'yes' is not of type 'boolean'",
        ),
        (
            "bitbucketPullRequest",
            {"action": "comment", **WR, "prId": 1, "content": "x", "inlineToLine": 3},
            "inlineToLine needs inlinePath",
        ),
        (
            "bitbucketRepoContent",
            {"action": "branch.create", **WR},
            "parameter 'branchName' for action 'branch.create'",
        ),
        (
            "bitbucketRepoContent",
            {"action": "commit.create", **WR, "branch": "b", "message": "m"},
            "commit.create needs files=[{path, content}]",
        ),
        (
            "bitbucketRepoContent",
            {"action": "commit.create", **WR, "branch": "b", "message": "m", "files": "a.txt"},
            "files: 'a.txt' is not of type 'array'",
        ),
        (
            "bitbucketRepoContent",
            {"action": "commit.create", **WR, "branch": "b", "message": "m", "files": [{"path": "a.txt"}]},
            "files.0: 'content' is a required property",
        ),
        (
            "bitbucketRepoContent",
            {
                "action": "commit.create",
                **WR,
                "branch": "b",
                "message": "m",
                "path": "a",
                "content": "x",
                "files": [{"path": "b", "content": "y"}],
            },
            "not both",
        ),
        (
            "bitbucketRepoContent",
            {
                "action": "commit.create",
                **WR,
                "branch": "b",
                "message": "m",
                "files": [{"path": "a", "content": "1"}, {"path": "/a", "content": "2"}],
            },
            "the path a is given twice",
        ),
        (
            "bitbucketRepoContent",
            {"action": "files.get", "workspaceId": "acme", "repoId": "acme/widgets"},
            "repoId must be a repository slug such as widgets",
        ),
        (
            "bitbucketRepoContent",
            {"action": "files.get", "workspaceId": 7, "repoId": "widgets"},
            "workspaceId: 7 is not of type 'string'",
        ),
        ("bitbucketWorkspace", {"action": "get", "workspaceId": ""}, "Missing required parameter 'workspaceId'"),
        (
            "bitbucketPullRequest",
            {"action": "create", **WR, "sourceBranch": "x", "title": "t", "targetBranch": ""},
            "targetBranch: '' should be non-empty",
        ),
    ],
)
def test_bad_arguments_are_tool_errors_naming_the_problem(
    sandbox: Sandbox, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    before = snapshot(sandbox)
    rovo = Rovo(sandbox, token_header(sandbox))
    text = rovo.error(tool, **arguments)
    assert expected in text, text
    assert rovo.rpc("ping")["result"] == {}
    assert snapshot(sandbox) == before


def test_arguments_that_are_not_an_object_are_a_json_rpc_error(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    message = rovo.rpc("tools/call", {"name": "bitbucketPullRequest", "arguments": ["list"]})
    assert message["error"]["code"] == -32602
    message = rovo.rpc("tools/call", {"arguments": {}})
    assert message["error"]["code"] == -32602


def test_unknown_parameters_are_ignored(sandbox: Sandbox) -> None:
    listed = Rovo(sandbox, token_header(sandbox)).ok("bitbucketPullRequest", action="list", **WR, cloudId="x")
    assert listed["values"] == []


def test_failed_writes_leave_nothing_behind(sandbox: Sandbox) -> None:
    before = snapshot(sandbox)
    rovo = Rovo(sandbox, token_header(sandbox))
    # One good file and one bad path: Bitbucket refuses the whole commit.
    bad_commit = rovo.error(
        "bitbucketRepoContent",
        action="commit.create",
        **WR,
        branch="main",
        message="m",
        files=[{"path": "ok.txt", "content": "fine"}, {"path": "../escape.txt", "content": "x"}],
    )
    assert bad_commit.startswith("Bitbucket API error (HTTP 400)")
    no_source = rovo.error("bitbucketPullRequest", action="create", **WR, sourceBranch="no-such-branch", title="t")
    assert no_source.startswith("Bitbucket API error (HTTP 400)") and "no-such-branch" in no_source
    bad_branch = rovo.error(
        "bitbucketRepoContent", action="branch.create", **WR, branchName="x", referenceOrSha="no-such-ref"
    )
    assert "HTTP 404" in bad_branch
    assert rovo.error("bitbucketRepoContent", action="branch.create", **WR, branchName="bad..name").startswith(
        "Bitbucket API error (HTTP 400)"
    )
    assert snapshot(sandbox) == before


def test_bitbucket_faults_become_tool_errors(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    added = sandbox.admin.post(
        "/faults",
        json=[
            {"server": "bitbucket", "path": "/pullrequests", "status": 429, "count": 1},
            {"server": "bitbucket", "path": "/refs/branches", "action": "drop", "count": 1},
        ],
    )
    assert added.status_code == 201, added.text
    limited = rovo.error("bitbucketPullRequest", action="list", **WR)
    assert limited.startswith("Bitbucket API error (HTTP 429)")
    dropped = rovo.error("bitbucketRepoContent", action="branch.get", **WR)
    assert dropped.startswith("Could not reach Bitbucket")
    assert rovo.ok("bitbucketPullRequest", action="list", **WR)["values"] == []  # each fault fired once


def test_rovo_faults_hit_the_mcp_endpoint(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    sandbox.admin.post("/faults", json={"server": "rovo", "path": "/v1/mcp", "status": 503, "count": 1})
    response = rovo.post({"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 503
    assert rovo.rpc("ping")["result"] == {}


def test_a_huge_argument_is_refused_without_a_crash(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "bitbucketRepoContent",
            "arguments": {
                "action": "commit.create",
                **WR,
                "branch": "big",
                "message": "m",
                "path": "big.txt",
                "content": "x" * (5 * 1024 * 1024),
            },
        },
    }
    response = httpx.post(rovo.url, content=json.dumps(body), headers=rovo.headers(), timeout=60, trust_env=False)
    assert response.status_code == 413
    with rest(sandbox) as c:
        assert c.get("repositories/acme/widgets/refs/branches/big").status_code == 404
