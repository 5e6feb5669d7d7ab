"""Failures: scopes, Bitbucket's own errors, session restrictions and bad input (never a partial write)."""

from __future__ import annotations

import json
from typing import Any

from sandbox import Sandbox
from sandbox.bitbucket.errors import MISSING_SCOPE
from tests.sandbox.bitbucket.helpers import state_digest
from tests.sandbox.composio.helpers import BASE, create_session, execute, rest

WIDGETS = {"workspace": "acme", "repo_slug": "widgets"}
WRITES: list[tuple[str, dict[str, Any]]] = [
    ("BITBUCKET_CREATE_BRANCH", {**WIDGETS, "name": "scoped", "target_hash": "main"}),
    ("BITBUCKET_CREATE_ISSUE", {**WIDGETS, "title": "Scoped", "content": "x"}),
    ("BITBUCKET_CREATE_ISSUE_COMMENT", {**WIDGETS, "issue_id": "1", "content": "x"}),
    ("BITBUCKET_UPDATE_ISSUE", {**WIDGETS, "issue_id": "1", "state": "closed"}),
    ("BITBUCKET_DELETE_ISSUE", {**WIDGETS, "issue_id": "2"}),
    ("BITBUCKET_CREATE_PULL_REQUEST", {**WIDGETS, "title": "Scoped", "source_branch": "feature/login"}),
]


def run(sb: Sandbox, session: dict[str, Any], slug: str, arguments: Any) -> dict[str, Any]:
    r = execute(sb, session["session_id"], slug, arguments)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_scope_matrix(sandbox: Sandbox) -> None:
    """user-readonly (read scopes) gets Bitbucket's 403 for every write and changes nothing; user-1 succeeds."""
    readonly, full = create_session(sandbox, "user-readonly"), create_session(sandbox, "user-1")
    before = state_digest(sandbox)
    for slug, arguments in WRITES:
        out = run(sandbox, readonly, slug, arguments)
        assert out["result_type"] == "failed", slug
        error = json.loads(out["error"])  # Bitbucket's own error body, verbatim
        assert error["type"] == "error" and error["error"]["message"] == MISSING_SCOPE, slug
    assert state_digest(sandbox) == before
    readme = run(
        sandbox, readonly, "BITBUCKET_GET_FILE_FROM_REPOSITORY", {**WIDGETS, "commit": "main", "path": "README.md"}
    )
    assert readme["result_type"] == "completed" and readme["data"]["data"].startswith("# Widgets")
    for slug, arguments in WRITES:
        assert run(sandbox, full, slug, arguments)["result_type"] == "completed", slug
    assert state_digest(sandbox) != before


def test_the_no_pr_write_user_writes_the_repository_but_not_pull_requests(sandbox: Sandbox) -> None:
    """user-nopr (repository:write, no pullrequest:write): the no-pr-write profile of the Composio path."""
    session = create_session(sandbox, "user-nopr")
    branch, pull_request = WRITES[0], WRITES[-1]
    assert run(sandbox, session, *branch)["result_type"] == "completed"
    refused = run(sandbox, session, *pull_request)
    assert refused["result_type"] == "failed"
    assert json.loads(refused["error"])["error"]["detail"]["required"] == ["pullrequest:write"]


def test_managed_scope_gap_shows_as_bitbucket_403(sandbox: Sandbox) -> None:
    """The default managed scopes lack repository:admin, so creating a repository is refused by Bitbucket."""
    out = run(
        sandbox,
        create_session(sandbox, "user-1"),
        "BITBUCKET_CREATE_REPOSITORY",
        {"workspace": "acme", "repo_slug": "fresh"},
    )
    assert out["result_type"] == "failed"
    assert json.loads(out["error"])["error"]["detail"]["required"] == ["repository:admin"]


def test_bitbucket_404_and_429_come_back_as_failed_results(sandbox: Sandbox) -> None:
    session = create_session(sandbox, "user-1")
    missing_repo = run(
        sandbox,
        session,
        "BITBUCKET_GET_FILE_FROM_REPOSITORY",
        {"workspace": "acme", "repo_slug": "nope", "commit": "main", "path": "README.md"},
    )
    assert json.loads(missing_repo["error"]) == {
        "type": "error",
        "error": {"message": "Repository acme/nope not found"},
    }
    missing_file = run(
        sandbox, session, "BITBUCKET_GET_FILE_FROM_REPOSITORY", {**WIDGETS, "commit": "main", "path": "NOPE.md"}
    )
    assert "No such file or directory" in missing_file["error"] and missing_file["data"] == {}
    sandbox.admin.post("/faults", json={"server": "bitbucket", "path": "/pullrequests$", "status": 429})
    limited = run(sandbox, session, "BITBUCKET_LIST_PULL_REQUESTS", WIDGETS)
    assert limited["result_type"] == "failed"
    assert json.loads(limited["error"])["error"]["message"].startswith("Rate limit")
    assert run(sandbox, session, "BITBUCKET_LIST_PULL_REQUESTS", WIDGETS)["result_type"] == "completed"


BAD_ARGUMENTS: list[tuple[str, Any, str]] = [
    (
        "BITBUCKET_CREATE_BRANCH",
        {"workspace": "acme", "name": "x"},
        "Invalid request data provided - Following fields are missing: {'repo_slug', 'target_hash'}",
    ),
    (
        "BITBUCKET_CREATE_ISSUE_COMMENT",
        {**WIDGETS, "issue_id": 1, "content": "x"},
        "Invalid request data provided - issue_id: Input should be a valid string",
    ),
    (
        "BITBUCKET_GET_PULL_REQUEST",
        {**WIDGETS, "pull_request_id": "one"},
        "Invalid request data provided - pull_request_id: Input should be a valid integer",
    ),
    (
        "BITBUCKET_CREATE_REPOSITORY",
        {"workspace": "acme", "repo_slug": "r", "fork_policy": "anyone"},
        "Invalid request data provided - fork_policy: Input should be 'allow_forks', 'no_public_forks' or 'no_forks'",
    ),
    (
        "BITBUCKET_CREATE_PULL_REQUEST",
        {**WIDGETS, "title": "t", "source_branch": "feature/login", "reviewers": [{"name": "bob"}]},
        "Invalid request data provided - reviewers.0.uuid: Field required",
    ),
    (
        "BITBUCKET_LIST_PULL_REQUESTS",
        {**WIDGETS, "pagelen": 500},
        "Invalid request data provided - pagelen: Input should be less than or equal to 50",
    ),
    ("BITBUCKET_UPDATE_ISSUE", {**WIDGETS, "issue_id": "1"}, "at least one of title"),
    (
        "BITBUCKET_DELETE_ISSUE",
        ["acme", "widgets", "1"],
        "Invalid request data provided - arguments: Input should be a valid dictionary",
    ),
]


def test_bad_arguments_fail_before_anything_is_written(sandbox: Sandbox) -> None:
    session = create_session(sandbox, "user-1")
    before = state_digest(sandbox)
    for slug, arguments, expected in BAD_ARGUMENTS:
        out = run(sandbox, session, slug, arguments)
        assert (out["result_type"], out["data"]) == ("failed", {}), slug
        assert expected in out["error"], (slug, out["error"])
    assert state_digest(sandbox) == before
    # Pydantic's lax mode: a numeric string is a fine integer.
    assert run(sandbox, session, "BITBUCKET_LIST_PULL_REQUESTS", {**WIDGETS, "pagelen": "5"})["error"] is None


def test_session_restrictions_and_unknown_tools(sandbox: Sandbox) -> None:
    cases = [
        (
            create_session(sandbox, toolkits={"disable": ["bitbucket"]}),
            "BITBUCKET_GET_CURRENT_USER",
            4324,
            "[Session Restriction] Toolkit 'bitbucket' is not allowed for this session",
        ),
        (create_session(sandbox, toolkits={"enable": ["github"]}), "BITBUCKET_GET_CURRENT_USER", 4324, "bitbucket"),
        (
            create_session(sandbox, tools={"bitbucket": {"enable": ["BITBUCKET_GET_CURRENT_USER"]}}),
            "BITBUCKET_LIST_WORKSPACES",
            4324,
            "Tool 'BITBUCKET_LIST_WORKSPACES' is not allowed",
        ),
        (create_session(sandbox), "BITBUCKET_DO_EVERYTHING", 4301, "Tool BITBUCKET_DO_EVERYTHING not found"),
    ]
    for session, slug, code, message in cases:
        r = execute(sandbox, session["session_id"], slug, {})
        error = r.json()["error"]
        assert (r.status_code, error["code"]) == (400, code) and message in error["message"], (slug, error)
    allowed = cases[2][0]
    assert run(sandbox, allowed, "BITBUCKET_GET_CURRENT_USER", {})["result_type"] == "completed"


def test_malformed_requests_are_400s(sandbox: Sandbox) -> None:
    session_id = create_session(sandbox)["session_id"]
    with rest(sandbox) as c:
        responses = {
            "bad json": c.post(
                f"{BASE}/{session_id}/execute", content=b"{nope", headers={"content-type": "application/json"}
            ),
            "no slug": c.post(f"{BASE}/{session_id}/execute", json={"arguments": {}}),
            "no user": c.post(BASE, json={"toolkits": {"enable": ["bitbucket"]}}),
            "bad toolkits": c.post(BASE, json={"user_id": "u", "toolkits": "bitbucket"}),
            "bad meta slug": c.post(f"{BASE}/{session_id}/execute_meta", json={"slug": "BITBUCKET_GET_CURRENT_USER"}),
            "bad search": c.post(f"{BASE}/{session_id}/search", json={"queries": []}),
            "bad cursor": c.get(f"{BASE}/{session_id}/tools", params={"cursor": "???"}),
        }
        unknown_route = c.get("/api/v3.1/nothing-here")
    for name, r in responses.items():
        assert r.status_code == 400, (name, r.text)
        assert r.json()["error"]["slug"] == "ToolRouterV2_BadRequest", name
    assert unknown_route.status_code == 404 and "error" in unknown_route.json()


def test_405_names_the_allowed_methods(sandbox: Sandbox) -> None:
    session = create_session(sandbox)
    with rest(sandbox) as c:
        refused = c.put(f"{BASE}/{session['session_id']}")
    assert refused.status_code == 405 and refused.json()["error"]["message"] == "Method not allowed"
    assert {m.strip() for m in refused.headers["allow"].split(",")} == {"GET", "HEAD", "DELETE"}
