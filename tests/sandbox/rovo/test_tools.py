"""Each Bitbucket tool action against the sandbox's state, read back over Bitbucket REST."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import Sandbox
from tests.sandbox.rovo.helpers import Rovo, rest, service_header, token_header

WR = {"workspaceId": "acme", "repoId": "widgets"}


@pytest.fixture
def rovo(sandbox: Sandbox) -> Rovo:
    return Rovo(sandbox, token_header(sandbox))


def head(sb: Sandbox, branch: str) -> str:
    with rest(sb) as c:
        response = c.get(f"repositories/acme/widgets/refs/branches/{branch}")
        assert response.status_code == 200, response.text
        return str(response.json()["target"]["hash"])


def test_workspace_and_repository_reads(rovo: Rovo) -> None:
    assert rovo.ok("bitbucketWorkspace", action="get", workspaceId="acme")["name"] == "Acme Corp"
    repos = rovo.ok("bitbucketRepository", action="list", workspaceId="acme")
    assert sorted(r["slug"] for r in repos["values"]) == ["gadgets", "widgets"]
    filtered = rovo.ok("bitbucketRepository", action="list", workspaceId="acme", q='slug="gadgets"')
    assert [r["slug"] for r in filtered["values"]] == ["gadgets"]
    repo = rovo.ok("bitbucketRepository", action="get", **WR)
    assert repo["full_name"] == "acme/widgets" and repo["mainbranch"]["name"] == "main"
    reviewers = rovo.ok("bitbucketRepository", action="defaultReviewers", **WR, excludeCurrentUser=True)
    assert reviewers["values"] == [] and reviewers["size"] == 0
    missing = rovo.error("bitbucketRepository", action="get", workspaceId="acme", repoId="nope")
    assert missing.startswith('Bitbucket API error (HTTP 404): Repository acme/nope not found\n{"type":"error"')
    gone = rovo.error("bitbucketRepository", action="defaultReviewers", workspaceId="acme", repoId="nope")
    assert "HTTP 404" in gone


def test_branch_and_commit_reads(sandbox: Sandbox, rovo: Rovo) -> None:
    main = head(sandbox, "main")
    branch = rovo.ok("bitbucketRepoContent", action="branch.get", **WR, branchName="feature/login")
    assert branch["name"] == "feature/login" and branch["target"]["hash"] == head(sandbox, "feature/login")
    listing = rovo.ok("bitbucketRepoContent", action="branch.get", **WR)
    assert sorted(b["name"] for b in listing["values"]) == ["feature/login", "main"]
    assert rovo.ok("bitbucketRepoContent", action="commit.get", **WR, referenceOrSha="main")["hash"] == main
    by_branch = rovo.ok("bitbucketRepoContent", action="commit.get", **WR, referenceOrSha="feature/login")
    assert by_branch["parents"][0]["hash"] == main
    log = rovo.ok("bitbucketRepoContent", action="commit.get", **WR, pagelen=1)
    assert [c["hash"] for c in log["values"]] == [main]
    assert 'Branch "nope" not found' in rovo.error("bitbucketRepoContent", action="branch.get", **WR, branchName="nope")


def test_files_get(rovo: Rovo) -> None:
    readme = rovo.ok("bitbucketRepoContent", action="files.get", **WR, path="README.md")  # main by default
    assert readme.startswith("# Widgets\n")
    login = rovo.ok(
        "bitbucketRepoContent", action="files.get", **WR, referenceOrSha="feature/login", path="src/widgets/login.py"
    )
    assert login.startswith("def login(")
    root = rovo.ok("bitbucketRepoContent", action="files.get", **WR, referenceOrSha="main")
    assert {e["path"] for e in root["values"]} == {"README.md", "docs", "src"}
    meta = rovo.ok("bitbucketRepoContent", action="files.get", **WR, path="/docs/guide.md", format="meta")
    assert meta["type"] == "commit_file" and meta["path"] == "docs/guide.md"
    assert "No such file" in rovo.error(
        "bitbucketRepoContent", action="files.get", **WR, path="src/widgets/login.py"
    )  # not on main


def test_branch_create_then_read_back(sandbox: Sandbox, rovo: Rovo) -> None:
    created = rovo.ok("bitbucketRepoContent", action="branch.create", **WR, branchName="feature/rovo")
    assert created["name"] == "feature/rovo" and created["target"]["hash"] == head(sandbox, "main")
    assert head(sandbox, "feature/rovo") == head(sandbox, "main")
    off_login = rovo.ok(
        "bitbucketRepoContent", action="branch.create", **WR, branchName="fix", referenceOrSha="feature/login"
    )
    assert off_login["target"]["hash"] == head(sandbox, "feature/login")
    again = rovo.error("bitbucketRepoContent", action="branch.create", **WR, branchName="fix")
    assert again.startswith("Bitbucket API error (HTTP 400)") and "already exists" in again


def test_commit_create_then_files_get_at_the_new_hash(sandbox: Sandbox, rovo: Rovo) -> None:
    old = head(sandbox, "feature/login")
    branch = rovo.ok(
        "bitbucketRepoContent",
        action="commit.create",
        **WR,
        branch="feature/login",
        message="Add notes",
        files=[{"path": "docs/notes.md", "content": "# Notes\n"}, {"path": "/README.md", "content": "# Widgets v2\n"}],
    )
    new = branch["target"]["hash"]
    assert new == head(sandbox, "feature/login") != old
    assert branch["target"]["message"].startswith("Add notes") and branch["target"]["parents"][0]["hash"] == old
    notes = rovo.ok("bitbucketRepoContent", action="files.get", **WR, referenceOrSha=new, path="docs/notes.md")
    assert notes == "# Notes\n"
    assert (
        rovo.ok("bitbucketRepoContent", action="files.get", **WR, referenceOrSha=new, path="README.md")
        == "# Widgets v2\n"
    )
    assert rovo.ok("bitbucketRepoContent", action="files.get", **WR, path="README.md").startswith("# Widgets\n")
    single = rovo.ok(
        "bitbucketRepoContent",
        action="commit.create",
        **WR,
        branch="fresh",
        message="One file",
        path="data.json",
        content='{"b": 1,  "a": [ ]}\n',
    )
    assert single["name"] == "fresh" and single["target"]["parents"][0]["hash"] == head(sandbox, "main")
    raw = rovo.call("bitbucketRepoContent", action="files.get", **WR, referenceOrSha="fresh", path="data.json")
    assert raw["content"][0]["text"] == '{"b": 1,  "a": [ ]}\n'  # the file's own bytes, not re-encoded JSON


def pr(rovo: Rovo, **extra: Any) -> dict[str, Any]:
    return dict(
        rovo.ok(
            "bitbucketPullRequest",
            action="create",
            **WR,
            sourceBranch="feature/login",
            targetBranch="main",
            title="Login form",
            description="Adds the login form.",
            **extra,
        )
    )


def test_pull_request_lifecycle(sandbox: Sandbox, rovo: Rovo) -> None:
    created = pr(rovo)
    number = created["id"]
    assert created["state"] == "OPEN" and created["source"]["branch"]["name"] == "feature/login"
    with rest(sandbox) as c:
        assert c.get(f"repositories/acme/widgets/pullrequests/{number}").json()["title"] == "Login form"
    listed = rovo.ok("bitbucketPullRequest", action="list", **WR, state="OPEN", q='source.branch.name="feature/login"')
    assert [p["id"] for p in listed["values"]] == [number]
    assert rovo.ok("bitbucketPullRequest", action="list", **WR, state="MERGED")["values"] == []
    assert rovo.ok("bitbucketPullRequest", action="get", **WR, prId=number)["description"] == "Adds the login form."
    diff = rovo.ok("bitbucketPullRequest", action="diff", **WR, prId=number)
    assert "+++ b/src/widgets/login.py" in diff and "README.md" not in diff

    first = rovo.ok("bitbucketPullRequest", action="comment", **WR, prId=number, content="Looks good")
    reply = rovo.ok(
        "bitbucketPullRequest", action="comment", **WR, prId=number, content="Thanks", parentCommentId=first["id"]
    )
    inline = rovo.ok(
        "bitbucketPullRequest",
        action="comment",
        **WR,
        prId=number,
        content="Typo",
        inlinePath="src/widgets/login.py",
        inlineToLine=2,
    )
    assert reply["parent"]["id"] == first["id"] and inline["inline"] == {"path": "src/widgets/login.py", "to": 2}
    comments = rovo.ok("bitbucketPullRequest", action="comments", **WR, prId=number)
    assert [c["content"]["raw"] for c in comments["values"]] == ["Looks good", "Thanks", "Typo"]
    assert comments["values"][0]["user"]["nickname"] == "alice"

    own = rovo.error("bitbucketPullRequest", action="approve", **WR, prId=number)
    assert own.startswith("Bitbucket API error (HTTP 400): You can't approve your own pull request.")
    bob = Rovo(sandbox, token_header(sandbox, "full", "bob"))
    assert bob.ok("bitbucketPullRequest", action="approve", **WR, prId=number)["state"] == "approved"

    merged = rovo.ok(
        "bitbucketPullRequest",
        action="merge",
        **WR,
        prId=number,
        mergeStrategy="squash",
        message="Login form (#1)",
        closeSourceBranch=True,
    )
    assert merged["state"] == "MERGED"
    with rest(sandbox) as c:
        assert c.get("repositories/acme/widgets/src/main/src/widgets/login.py").status_code == 200
        assert c.get("repositories/acme/widgets/refs/branches/feature/login").status_code == 404
        assert (
            c.get(f"repositories/acme/widgets/commit/{head(sandbox, 'main')}")
            .json()["message"]
            .startswith("Login form (#1)")
        )
    again = rovo.error("bitbucketPullRequest", action="merge", **WR, prId=number)
    assert "HTTP 400" in again and "only open pull requests" in again
    # A closed pull request's diff is between its recorded commits: still the change it brought.
    assert rovo.ok("bitbucketPullRequest", action="diff", **WR, prId=number) == diff


def test_pull_request_draft_and_errors(sandbox: Sandbox, rovo: Rovo) -> None:
    draft = pr(rovo, draft=True)
    assert draft["draft"] is True
    duplicate = rovo.error(
        "bitbucketPullRequest", action="create", **WR, sourceBranch="feature/login", title="Again"
    )  # targetBranch defaults to the main branch
    assert "There is already an open pull request" in duplicate
    assert "HTTP 404" in rovo.error("bitbucketPullRequest", action="get", **WR, prId=99)
    number = draft["id"]
    own = rovo.error("bitbucketPullRequest", action="request-changes", **WR, prId=number)
    assert own.startswith("Bitbucket API error (HTTP 400)") and "your own pull request" in own
    bob = Rovo(sandbox, token_header(sandbox, "full", "bob"))
    changes = bob.ok("bitbucketPullRequest", action="request-changes", **WR, prId=number)
    assert changes["state"] == "changes_requested" and changes["user"]["nickname"] == "bob"


def test_user_pull_requests_are_the_callers_own(sandbox: Sandbox, rovo: Rovo) -> None:
    assert rovo.ok("bitbucketUser", action="pullRequests", workspaceId="acme")["values"] == []
    number = pr(rovo)["id"]
    mine = rovo.ok("bitbucketUser", action="pullRequests", workspaceId="acme")
    assert [(p["id"], p["author"]["nickname"]) for p in mine["values"]] == [(number, "alice")]
    bob = Rovo(sandbox, token_header(sandbox, "full", "bob"))
    assert bob.ok("bitbucketUser", action="pullRequests", workspaceId="acme")["size"] == 0
    assert rovo.ok("bitbucketUser", action="pullRequests", workspaceId="acme", state="MERGED")["size"] == 0
    assert "Workspace nope not found" in rovo.error("bitbucketUser", action="pullRequests", workspaceId="nope")


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("bitbucketPipeline", {"action": "get", "pipelineUuid": "{p}"}, "HTTP 404): Pipeline {p} not found"),
        ("bitbucketPipeline", {"action": "steps", "pipelineUuid": "{p}"}, "Pipelines are not enabled"),
        ("bitbucketPipeline", {"action": "step.get", "pipelineUuid": "{p}", "stepUuid": "{s}"}, "Pipeline {p} not"),
        ("bitbucketPipeline", {"action": "step.log", "pipelineUuid": "{p}", "stepUuid": "{s}"}, "Pipeline {p} not"),
        (
            "bitbucketPipeline",
            {"action": "run", "branchName": "main"},
            "HTTP 400): Pipelines are not enabled for this repository.",
        ),
        ("bitbucketDeployment", {"action": "get", "deploymentUuid": "{d}"}, "HTTP 404): Deployment {d} not found"),
        ("bitbucketEnvironment", {"action": "get", "environmentUuid": "{e}"}, "HTTP 404): Environment {e} not found"),
        (
            "bitbucketEnvironment",
            {"action": "create", "name": "prod", "environmentType": "Production"},
            "HTTP 400): Pipelines are not enabled",
        ),
        ("bitbucketEnvironment", {"action": "update", "environmentUuid": "{e}", "name": "x"}, "Environment {e} not"),
        ("bitbucketEnvironment", {"action": "delete", "environmentUuid": "{e}"}, "Environment {e} not found"),
    ],
)
def test_pipelines_deployments_environments_do_not_exist(
    rovo: Rovo, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    assert expected in rovo.error(tool, **WR, **arguments)


def test_pipeline_lists_are_empty_and_still_checked(rovo: Rovo) -> None:
    for tool in ("bitbucketPipeline", "bitbucketDeployment", "bitbucketEnvironment"):
        assert rovo.ok(tool, action="list", **WR) == {"pagelen": 10, "size": 0, "page": 1, "values": []}
        assert "Repository acme/nope not found" in rovo.error(tool, action="list", workspaceId="acme", repoId="nope")


def test_service_account_reads_and_writes_through_its_key(sandbox: Sandbox) -> None:
    bot = Rovo(sandbox, service_header())
    assert [v["workspace"]["slug"] for v in bot.ok("bitbucketWorkspace", action="list")["values"]] == ["acme"]
    created = bot.ok("bitbucketRepoContent", action="branch.create", **WR, branchName="bot/branch")
    assert created["target"]["hash"] == head(sandbox, "bot/branch")
    assert bot.ok("bitbucketUser", action="pullRequests", workspaceId="acme")["values"] == []
