"""Who gets in, which tools each credential sees, which actions it may run, and which workspaces it reaches."""

from __future__ import annotations

import httpx
import pytest
import yaml

from sandbox import Sandbox
from sandbox.fixtures import DEFAULT_FIXTURE
from tests.sandbox.rovo.helpers import Rovo, basic, rest, service_header, set_settings, token_header

SHARED = ["atlassianUserInfo", "getAccessibleAtlassianResources"]
ALL_TOOLS = [
    *SHARED,
    "bitbucketWorkspace",
    "bitbucketRepository",
    "bitbucketPullRequest",
    "bitbucketRepoContent",
    "bitbucketPipeline",
    "bitbucketDeployment",
    "bitbucketEnvironment",
    "bitbucketUser",
]
NO_PIPELINES = [t for t in ALL_TOOLS if t not in ("bitbucketPipeline", "bitbucketDeployment", "bitbucketEnvironment")]
# Tokens for the corners of the matrix the default fixture does not cover.
EXTRA_TOKENS = {
    "issues-only": ["read:issue:bitbucket"],
    "pipelines-only": ["read:pipeline:bitbucket"],
    "pr-write-only": ["read:workspace:bitbucket", "write:pullrequest:bitbucket"],
    "repo-read-only": ["read:repository:bitbucket"],
    "repo-write-only": ["write:repository:bitbucket"],
}
READER_BOT_KEY = "sandbox-svckey-reader-bot"
OPEN_PR = {
    "action": "create",
    "workspaceId": "acme",
    "repoId": "widgets",
    "sourceBranch": "feature/login",
    "targetBranch": "main",
    "title": "Login form",
}


def load_extra_tokens(sb: Sandbox) -> None:
    tokens = [
        {"user": "alice", "label": label, "token": f"sandbox-apitoken-alice-{label}", "scopes": scopes}
        for label, scopes in EXTRA_TOKENS.items()
    ]
    bot = {
        "name": "reader-bot",
        "email": "reader-bot@serviceaccount.example.com",
        "key": READER_BOT_KEY,
        "workspaces": ["acme"],
        "scopes": ["read:repository:bitbucket", "read:pullrequest:bitbucket"],
    }
    credentials = {"api_tokens": tokens, "service_accounts": [bot]}
    response = sb.admin.post("/fixtures", content=yaml.safe_dump({"credentials": credentials}))
    assert response.status_code == 200, response.text


def extra(label: str) -> str:
    return basic("alice@example.com", f"sandbox-apitoken-alice-{label}")


def open_prs(sb: Sandbox) -> int:
    with rest(sb) as c:
        return int(c.get("repositories/acme/widgets/pullrequests").json()["size"])


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("full", ALL_TOOLS),
        ("read-only", ALL_TOOLS),
        ("no-pr-write", NO_PIPELINES),
        ("service", NO_PIPELINES),
        ("issues-only", SHARED),
        ("pipelines-only", [*SHARED, "bitbucketPipeline", "bitbucketDeployment", "bitbucketEnvironment"]),
    ],
)
def test_tools_list_follows_the_scopes(sandbox: Sandbox, who: str, expected: list[str]) -> None:
    load_extra_tokens(sandbox)
    header = service_header() if who == "service" else extra(who) if who in EXTRA_TOKENS else token_header(sandbox, who)
    assert Rovo(sandbox, header).tool_names() == expected


def test_hidden_and_unknown_tools_are_not_found(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox, "no-pr-write"))
    for name in ("bitbucketPipeline", "bitbucketIssue", "getJiraIssue"):
        message = rovo.rpc("tools/call", {"name": name, "arguments": {"action": "list"}})
        assert message["error"] == {"code": -32602, "message": f"Tool {name} not found"}
    assert (
        Rovo(sandbox, token_header(sandbox)).call(
            "bitbucketPipeline", action="list", workspaceId="acme", repoId="widgets"
        )["isError"]
        is False
    )


@pytest.mark.parametrize(
    ("label", "tool", "arguments", "scope"),
    [
        ("read-only", "bitbucketPullRequest", OPEN_PR, "write:pullrequest:bitbucket"),
        (
            "no-pr-write",
            "bitbucketPullRequest",
            {**OPEN_PR, "action": "approve", "prId": 1},
            "write:pullrequest:bitbucket",
        ),
        (
            "read-only",
            "bitbucketRepoContent",
            {"action": "branch.create", "workspaceId": "acme", "repoId": "widgets", "branchName": "x"},
            "write:repository:bitbucket",
        ),
        (
            "read-only",
            "bitbucketEnvironment",
            {
                "action": "create",
                "workspaceId": "acme",
                "repoId": "widgets",
                "name": "prod",
                "environmentType": "Production",
            },
            "admin:pipeline:bitbucket",
        ),
    ],
)
def test_an_action_without_its_scope_is_a_tool_error_naming_the_scope(
    sandbox: Sandbox, label: str, tool: str, arguments: dict[str, object], scope: str
) -> None:
    with rest(sandbox) as c:
        before = c.get("repositories/acme/widgets/refs/branches").json()["size"]
    text = Rovo(sandbox, token_header(sandbox, label)).error(tool, **arguments)
    assert f"requires the scope {scope}" in text and "API token" in text
    assert open_prs(sandbox) == 0
    with rest(sandbox) as c:
        assert c.get("repositories/acme/widgets/refs/branches").json()["size"] == before


def test_the_same_actions_run_with_the_scope(sandbox: Sandbox) -> None:
    created = Rovo(sandbox, token_header(sandbox)).ok("bitbucketPullRequest", **OPEN_PR)
    assert created["state"] == "OPEN" and open_prs(sandbox) == 1
    approval = Rovo(sandbox, token_header(sandbox, "full", "bob")).ok(
        "bitbucketPullRequest", action="approve", workspaceId="acme", repoId="widgets", prId=created["id"]
    )
    assert approval["approved"] is True and approval["user"]["nickname"] == "bob"


def test_service_account_scope_error_names_the_api_key(sandbox: Sandbox) -> None:
    load_extra_tokens(sandbox)
    rovo = Rovo(sandbox, f"Bearer {READER_BOT_KEY}")
    assert rovo.tool_names() == [
        *SHARED,
        "bitbucketRepository",
        "bitbucketPullRequest",
        "bitbucketRepoContent",
        "bitbucketUser",
    ]
    text = rovo.error("bitbucketPullRequest", **OPEN_PR)
    assert text == (
        "Permission denied: the action 'create' of bitbucketPullRequest requires the scope "
        "write:pullrequest:bitbucket, which this service account API key does not have. Create a "
        "service account API key with that scope to use it."
    )
    assert open_prs(sandbox) == 0
    assert rovo.ok("bitbucketPullRequest", action="list", workspaceId="acme", repoId="widgets")["size"] == 0


def test_rovo_allows_but_bitbucket_refuses_a_missing_rest_scope(sandbox: Sandbox) -> None:
    load_extra_tokens(sandbox)
    # Creating a pull request needs read and write:pullrequest at Bitbucket; the tool only needs write.
    text = Rovo(sandbox, extra("pr-write-only")).error("bitbucketPullRequest", **OPEN_PR)
    assert text.startswith(
        "Bitbucket API error (HTTP 403): Your credentials lack one or more required privilege scopes."
    )
    assert '"required":["read:pullrequest:bitbucket","write:pullrequest:bitbucket"]' in text
    assert open_prs(sandbox) == 0
    reviewers = Rovo(sandbox, extra("repo-read-only")).error(
        "bitbucketRepository", action="defaultReviewers", workspaceId="acme", repoId="widgets"
    )
    assert "HTTP 403" in reviewers and '"required":["read:pullrequest:bitbucket"]' in reviewers


def test_a_write_only_token_commits_without_reading_back(sandbox: Sandbox) -> None:
    load_extra_tokens(sandbox)
    rovo = Rovo(sandbox, extra("repo-write-only"))
    assert rovo.tool_names() == [*SHARED, "bitbucketRepoContent"]
    result = rovo.call(
        "bitbucketRepoContent",
        action="commit.create",
        workspaceId="acme",
        repoId="widgets",
        branch="main",
        message="Write only",
        path="w.txt",
        content="w",
    )
    assert result["isError"] is False
    assert result["content"][0]["text"].startswith(
        "Committed to main; reading the branch back failed: Bitbucket API error (HTTP 403)"
    )
    with rest(sandbox) as c:
        assert c.get("repositories/acme/widgets/src/main/w.txt").text == "w"
    assert (
        "requires the scope read:repository:bitbucket, which this API token does not have. Create an API "
        "token"
        in rovo.error(
            "bitbucketRepoContent",
            action="files.get",
            workspaceId="acme",
            repoId="widgets",
            referenceOrSha="main",
            path="w.txt",
        )
    )


def initialize(sb: Sandbox, authorization: str | None) -> httpx.Response:
    rovo = Rovo(sb, authorization, initialize=False)
    return rovo.post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
    )


def test_classic_token_is_refused_with_403(sandbox: Sandbox) -> None:
    response = initialize(sandbox, token_header(sandbox, "classic"))
    assert response.status_code == 403
    assert response.json()["error"]["message"].endswith(
        "requires a modern API token (API token with scopes). Legacy API tokens without scopes are not supported."
    )


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Basic !!!",
        basic("alice@example.com", "sandbox-apitoken-nope"),
        basic("alice", "sandbox-apitoken-alice-full"),  # the username instead of the email
        "Bearer sandbox-svckey-nope",
        "Token sandbox-apitoken-alice-full",
    ],
)
def test_missing_or_wrong_credentials_get_401(sandbox: Sandbox, authorization: str | None) -> None:
    response = initialize(sandbox, authorization)
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("Unauthorized")


def test_bitbucket_only_credentials_are_not_rovo_api_tokens(sandbox: Sandbox) -> None:
    token = httpx.post(
        sandbox.urls["bitbucket_oauth_token"],
        data={"grant_type": "client_credentials"},
        auth=("sandbox-oauth-oracle-key", "sandbox-oauth-oracle-secret"),
        trust_env=False,
    )
    assert token.status_code == 200
    for header in (
        basic("alice", "sandbox-apppassword-alice"),
        f"Bearer {token.json()['access_token']}",
        "Bearer sandbox-repotoken-widgets",
    ):
        response = initialize(sandbox, header)
        assert response.status_code == 401
        assert "app passwords, OAuth tokens and access tokens are not" in response.json()["error"]["message"]


def test_api_token_auth_switched_off_refuses_every_api_token(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    assert set_settings(sandbox, api_token_auth=False)["api_token_auth"] is False
    for header in (token_header(sandbox), service_header()):
        response = initialize(sandbox, header)
        assert response.status_code == 403 and "API token authentication is turned off" in response.text
    # An open session is checked again on its next message.
    later = rovo.post({"jsonrpc": "2.0", "id": 5, "method": "tools/list"})
    assert later.status_code == 403
    assert initialize(sandbox, basic("alice@example.com", "wrong")).status_code == 401
    set_settings(sandbox, api_token_auth=True)
    assert "bitbucketRepository" in rovo.tool_names()


def test_api_token_auth_comes_from_the_fixture(sandbox: Sandbox) -> None:
    fixture = yaml.safe_load(DEFAULT_FIXTURE.read_text())
    fixture["rovo"]["api_token_auth"] = False
    sandbox.reset(yaml.safe_dump(fixture))
    assert initialize(sandbox, token_header(sandbox)).status_code == 403
    load_extra_tokens(sandbox)  # a fixture without a rovo section leaves the organisation as it is
    assert initialize(sandbox, token_header(sandbox)).status_code == 403
    sandbox.reset()
    assert initialize(sandbox, token_header(sandbox)).status_code == 200


def test_bad_settings_change_nothing(sandbox: Sandbox) -> None:
    before = sandbox.admin.get("/rovo/settings").json()
    for change in (
        {"api_token_auth": False, "tool_visibility": "some"},
        {"nope": 1},
        {"blocked_permission_groups": ["write_jira"]},
        {"mcp_transport": "stateless-json", "api_token_auth": "maybe"},
    ):
        assert sandbox.admin.patch("/rovo/settings", json=change).status_code == 400
    assert sandbox.admin.get("/rovo/settings").json() == before


def test_only_linked_workspaces_are_reached(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox))
    listed = rovo.ok("bitbucketWorkspace", action="list")
    assert [v["workspace"]["slug"] for v in listed["values"]] == ["acme"] and listed["size"] == 1
    with rest(sandbox) as c:  # Bitbucket itself shows alice both
        assert c.get("user/workspaces").json()["size"] == 2
    for tool, arguments in (
        ("bitbucketWorkspace", {"action": "get"}),
        ("bitbucketRepository", {"action": "list"}),
        ("bitbucketRepoContent", {"action": "files.get", "repoId": "notes"}),
        ("bitbucketUser", {"action": "pullRequests"}),
    ):
        text = rovo.error(tool, workspaceId="solo", **arguments)
        assert "'solo' is not linked to an Atlassian organization" in text
    assert rovo.ok("bitbucketWorkspace", action="get", workspaceId="acme")["slug"] == "acme"


def test_unlinked_workspace_the_caller_cannot_see_is_not_found(sandbox: Sandbox) -> None:
    for header in (service_header(), token_header(sandbox, "full", "bob")):
        text = Rovo(sandbox, header).error("bitbucketWorkspace", action="get", workspaceId="solo")
        assert text == "Bitbucket API error (HTTP 404): Workspace solo not found"


def test_visibility_rule_and_blocked_groups_are_configurable(sandbox: Sandbox) -> None:
    set_settings(sandbox, tool_visibility="all-actions")
    assert Rovo(sandbox, token_header(sandbox, "read-only")).tool_names() == [
        *SHARED,
        "bitbucketWorkspace",
        "bitbucketRepository",
        "bitbucketDeployment",
        "bitbucketUser",
    ]
    assert Rovo(sandbox, token_header(sandbox)).tool_names() == ALL_TOOLS
    set_settings(sandbox, tool_visibility="any-action", blocked_permission_groups=["write_bitbucket"])
    rovo = Rovo(sandbox, token_header(sandbox))
    assert rovo.tool_names() == ALL_TOOLS
    assert "write_bitbucket permission group" in rovo.error("bitbucketPullRequest", **OPEN_PR)
    assert open_prs(sandbox) == 0
    set_settings(sandbox, blocked_permission_groups=["read_bitbucket", "write_bitbucket"])
    assert Rovo(sandbox, token_header(sandbox)).tool_names() == SHARED


def test_extra_pull_request_actions_are_off_by_default(sandbox: Sandbox) -> None:
    enum = Rovo(sandbox, token_header(sandbox)).tools()["bitbucketPullRequest"]["inputSchema"]["properties"]
    assert enum["action"]["enum"] == [
        "list",
        "get",
        "comments",
        "diff",
        "create",
        "merge",
        "approve",
        "request-changes",
        "comment",
    ]
    set_settings(sandbox, extra_pull_request_actions=True)
    rovo = Rovo(sandbox, token_header(sandbox))
    assert rovo.tools()["bitbucketPullRequest"]["inputSchema"]["properties"]["action"]["enum"][-2:] == [
        "decline",
        "update",
    ]
    pr = rovo.ok("bitbucketPullRequest", **OPEN_PR)
    updated = rovo.ok(
        "bitbucketPullRequest",
        action="update",
        workspaceId="acme",
        repoId="widgets",
        prId=pr["id"],
        title="Login form, take two",
    )
    assert updated["title"] == "Login form, take two"
    declined = rovo.ok("bitbucketPullRequest", action="decline", workspaceId="acme", repoId="widgets", prId=pr["id"])
    assert declined["state"] == "DECLINED" and open_prs(sandbox) == 0


def test_shared_tools_describe_the_caller_and_the_site(sandbox: Sandbox) -> None:
    rovo = Rovo(sandbox, token_header(sandbox, "read-only"))
    me = rovo.ok("atlassianUserInfo")
    assert me == {
        "account_id": "712020:00000000-0000-4000-8000-00000000a11c",
        "account_type": "atlassian",
        "email": "alice@example.com",
        "name": "Alice Archer",
        "nickname": "alice",
        "account_status": "active",
    }
    [site] = rovo.ok("getAccessibleAtlassianResources")
    assert site["id"] == sandbox.credentials["rovo"]["cloud_id"] == "00000000-0000-4000-8000-0000000c1d00"
    assert site["url"] == "https://acme-sandbox.atlassian.net" and site["name"] == "acme-sandbox"
    assert site["scopes"] == sandbox.credentials["api_tokens"][1]["scopes"] and site["avatarUrl"]
    bot = Rovo(sandbox, service_header()).ok("atlassianUserInfo")
    assert (bot["name"], bot["email"], bot["account_type"]) == (
        "acme-bot",
        "acme-bot@serviceaccount.example.com",
        "app",
    )
