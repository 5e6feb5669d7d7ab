"""The Bitbucket toolkit: the 17 documented ``BITBUCKET_*`` tools plus ``BITBUCKET_LIST_ISSUES``, their schemas
and what each one calls on Bitbucket.

Parameters follow Composio's generated types (names, required/optional, defaults, ``issue_id`` a string and
``pull_request_id`` an integer). Each tool makes its REST call as the connected account's Bitbucket user and
returns Bitbucket's JSON as ``data``, except where Composio reshapes it:

* DELETE_ISSUE -> ``{success, message}``; DELETE_REPOSITORY -> ``{message}``; GET_PULL_REQUEST -> ``{pull_request}``.
* GET_FILE_FROM_REPOSITORY -> ``{commit, path, size, data}`` (``data`` the file text). Composio's typed output lists
  these four fields side by side; nesting them under ``data`` is the sandbox's reading of it. ``commit`` echoes
  the requested revision.

Any Bitbucket error becomes a failed result whose ``error`` is Bitbucket's own response body text.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.composio.errors import J, ToolFailure
from sandbox.composio.schema import field as f
from sandbox.composio.schema import obj
from sandbox.upstream import BitbucketUpstream, UpstreamResponse

TOOLKIT = {"slug": "bitbucket", "name": "Bitbucket", "logo": "https://logos.composio.dev/api/bitbucket"}
TOOLKIT_DESCRIPTION = (
    "Bitbucket is a Git-based code hosting and collaboration platform: repositories, "
    "branches, pull requests, issues and snippets."
)
VERSION = "20260101_00"

# Sends one request as the connected user (``authorization(refresh)`` gives the header; refresh re-mints it).
Authorization = Callable[[bool], str]


class Bitbucket:
    """The Bitbucket REST API as one connected account sees it."""

    def __init__(self, upstream: BitbucketUpstream, authorization: Authorization) -> None:
        self.upstream = upstream
        self.authorization = authorization

    async def send(self, method: str, path: str, *, params: J | None = None, body: Any = None) -> UpstreamResponse:
        response = await self._send(method, path, params, body, refresh=False)
        if response.status == 401:  # an expired or revoked token: the request did nothing, so retry once
            response = await self._send(method, path, params, body, refresh=True)
        if not response.ok:
            raise ToolFailure(response.text or f"Bitbucket answered HTTP {response.status}")
        return response

    async def _send(self, method: str, path: str, params: J | None, body: Any, refresh: bool) -> UpstreamResponse:
        try:
            return await self.upstream.request(method, path, self.authorization(refresh), params=params, json_body=body)
        except httpx.HTTPError as exc:
            raise ToolFailure(f"Could not reach Bitbucket: {type(exc).__name__}: {exc}") from None

    async def json(self, method: str, path: str, *, params: J | None = None, body: Any = None) -> J:
        response = await self.send(method, path, params=params, body=body)
        if not isinstance(response.body, dict):
            raise ToolFailure(f"Bitbucket answered with a non-JSON body: {response.text[:200]}")
        return response.body


def seg(value: str) -> str:
    """One URL path segment: slashes escaped, and dot segments escaped so that no client normalises them."""
    quoted = urllib.parse.quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted.strip(".") == "" else quoted


def file_path(value: str) -> str:
    return "/".join(seg(part) for part in value.lstrip("/").split("/"))


def repo(a: J) -> str:
    return f"/repositories/{seg(a['workspace'])}/{seg(a['repo_slug'])}"


def only(a: J, *names: str) -> J:
    return {n: a[n] for n in names if a.get(n) is not None}


Run = Callable[[Bitbucket, J], Awaitable[J]]


@dataclass(frozen=True)
class AppTool:
    slug: str
    name: str
    description: str
    input_schema: J
    output_fields: dict[str, str]  # top-level fields of ``data`` and their JSON types
    run: Run
    tags: tuple[str, ...]
    scopes: tuple[str, ...]
    toolkit: str = "bitbucket"
    # Search vocabulary (see search.py): the action, the objects it works on, and tools that usually help.
    action: str = "get"
    objects: tuple[str, ...] = ()
    supporting: tuple[str, ...] = ()
    pitfalls: tuple[str, ...] = ()

    @property
    def output_schema(self) -> J:
        data = {
            "type": "object",
            "title": "Data",
            "description": "Data from the action execution",
            "properties": {k: {"type": t} for k, t in self.output_fields.items()},
        }
        return {
            "type": "object",
            "title": f"{self.slug.title().replace('_', '')}Response",
            "properties": {
                "data": data,
                "error": {
                    "type": "string",
                    "nullable": True,
                    "default": None,
                    "description": "Error if any occurred during the execution of the action",
                },
                "successful": {"type": "boolean", "description": "Whether or not the action execution was successful"},
            },
            "required": ["data", "successful"],
        }


WORKSPACE = f(
    "string", "The workspace ID (slug) or UUID (in curly braces) that owns the repository.", examples=["acme"]
)
REPO_SLUG = f("string", "The slug (URL-friendly name) or UUID of the repository.", examples=["widgets"])
ISSUE_ID = f("string", "The unique identifier of the issue (a string, e.g. '1').", examples=["1"])
PAGE = f("integer", "Page number for paginated results (starts from 1).", default=None, minimum=1)


def pagelen(maximum: int) -> J:
    return f(
        "integer",
        f"Number of results per page (1-{maximum}); Bitbucket's default if not specified.",
        default=None,
        minimum=1,
        maximum=maximum,
    )


# --- executors ----------------------------------------------------------------------------------------------
async def create_branch(bb: Bitbucket, a: J) -> J:
    return await bb.json(
        "POST", repo(a) + "/refs/branches", body={"name": a["name"], "target": {"hash": a["target_hash"]}}
    )


async def create_issue(bb: Bitbucket, a: J) -> J:
    body: J = {"title": a["title"], "content": {"raw": a["content"]}, **only(a, "kind", "priority", "due_on")}
    if a.get("assignee") is not None:
        body["assignee"] = {"username": a["assignee"]}
    for name in ("component", "milestone", "version"):
        if a.get(f"{name}_id") is not None:
            body[name] = {"id": a[f"{name}_id"]}
    return await bb.json("POST", repo(a) + "/issues", body=body)


async def create_issue_comment(bb: Bitbucket, a: J) -> J:
    return await bb.json(
        "POST", f"{repo(a)}/issues/{seg(a['issue_id'])}/comments", body={"content": {"raw": a["content"]}}
    )


async def create_pull_request(bb: Bitbucket, a: J) -> J:
    body: J = {
        "title": a["title"],
        "source": {"branch": {"name": a["source_branch"]}},
        "close_source_branch": a["close_source_branch"],
        **only(a, "description", "reviewers"),
    }
    if a.get("destination_branch") is not None:  # Bitbucket itself defaults to the repository's main branch
        body["destination"] = {"branch": {"name": a["destination_branch"]}}
    return await bb.json("POST", repo(a) + "/pullrequests", body=body)


async def create_repository(bb: Bitbucket, a: J) -> J:
    body: J = {
        "scm": "git",
        **only(a, "is_private", "fork_policy", "has_issues", "has_wiki", "description", "language"),
    }
    if a.get("project_key") is not None:  # Bitbucket itself defaults to the workspace's oldest project
        body["project"] = {"key": a["project_key"]}
    return await bb.json("POST", repo(a), body=body)


async def create_snippet_comment(bb: Bitbucket, a: J) -> J:
    body: J = {"content": {"raw": a["content"]}}
    if a.get("parent_id") is not None:
        body["parent"] = {"id": a["parent_id"]}
    return await bb.json("POST", f"/snippets/{seg(a['workspace'])}/{seg(a['encoded_id'])}/comments", body=body)


async def delete_issue(bb: Bitbucket, a: J) -> J:
    await bb.send("DELETE", f"{repo(a)}/issues/{seg(a['issue_id'])}")
    return {"success": True, "message": "Issue deleted successfully"}


async def delete_repository(bb: Bitbucket, a: J) -> J:
    await bb.send("DELETE", repo(a))
    return {"message": f"Repository {a['workspace']}/{a['repo_slug']} has been successfully deleted"}


async def get_current_user(bb: Bitbucket, a: J) -> J:
    return await bb.json("GET", "/user")


async def get_file_from_repository(bb: Bitbucket, a: J) -> J:
    revision = a["commit"]
    if "/" in revision:  # a branch name with slashes cannot sit in the src/{commit} segment: use its head
        branch = await bb.json("GET", f"{repo(a)}/refs/branches/{file_path(revision)}")
        revision = str(branch.get("target", {}).get("hash", revision))
    response = await bb.send("GET", f"{repo(a)}/src/{seg(revision)}/{file_path(a['path'])}")
    if not isinstance(response.body, str) or "json" in response.content_type:
        raise ToolFailure(f"'{a['path']}' is a directory at {a['commit']}, not a file")
    return {
        "commit": a["commit"],
        "path": a["path"].lstrip("/"),
        "size": len(response.text.encode()),
        "data": response.text,
    }


async def get_pull_request(bb: Bitbucket, a: J) -> J:
    return {"pull_request": await bb.json("GET", f"{repo(a)}/pullrequests/{a['pull_request_id']}")}


async def get_snippet(bb: Bitbucket, a: J) -> J:
    if a["accept_format"] != "application/json":
        raise ToolFailure(f"accept_format {a['accept_format']!r} is not served by the sandbox; use 'application/json'")
    return await bb.json("GET", f"/snippets/{seg(a['workspace'])}/{seg(a['encoded_id'])}")


async def list_pull_requests(bb: Bitbucket, a: J) -> J:
    return await bb.json("GET", repo(a) + "/pullrequests", params=only(a, "state", "page", "pagelen"))


async def list_issues(bb: Bitbucket, a: J) -> J:
    return await bb.json("GET", repo(a) + "/issues", params=only(a, "q", "sort", "page", "pagelen"))


async def list_repositories_in_workspace(bb: Bitbucket, a: J) -> J:
    return await bb.json(
        "GET", f"/repositories/{seg(a['workspace'])}", params=only(a, "q", "role", "sort", "page", "pagelen")
    )


async def list_workspace_members(bb: Bitbucket, a: J) -> J:
    return await bb.json("GET", f"/workspaces/{seg(a['workspace'])}/members", params=only(a, "page", "pagelen"))


async def list_workspaces(bb: Bitbucket, a: J) -> J:
    return await bb.json("GET", "/workspaces", params=only(a, "q", "sort", "page", "pagelen"))


UPDATABLE = (
    "title",
    "content",
    "kind",
    "state",
    "priority",
    "component",
    "milestone",
    "version",
    "assignee_account_id",
)


async def update_issue(bb: Bitbucket, a: J) -> J:
    if not any(a.get(n) is not None for n in UPDATABLE):
        # Composio's description says at least one attribute is required; nothing is sent without one.
        raise ToolFailure(
            "Invalid request data provided - at least one of "
            + ", ".join(UPDATABLE)
            + " must be given to update the issue"
        )
    body: J = only(a, "title", "kind", "state", "priority")
    if a.get("content") is not None:
        body["content"] = {"raw": a["content"]}
    for name in ("component", "milestone", "version"):
        if a.get(name) is not None:
            body[name] = {"name": a[name]}
    account = a.get("assignee_account_id")
    if account is not None:
        body["assignee"] = {"uuid": account} if account.startswith("{") else {"account_id": account}
    return await bb.json("PUT", f"{repo(a)}/issues/{seg(a['issue_id'])}", body=body)


# --- the toolkit -------------------------------------------------------------------------------------------
KINDS = ["bug", "enhancement", "proposal", "task"]
PRIORITIES = ["trivial", "minor", "major", "critical", "blocker"]
STATES = ["new", "open", "resolved", "on hold", "invalid", "duplicate", "wontfix", "closed"]
PR_FIELDS = {"id": "integer", "title": "string", "state": "string", "created_on": "string", "updated_on": "string"}
PAGE_FIELDS = {
    "values": "array",
    "page": "integer",
    "pagelen": "integer",
    "size": "integer",
    "next": "string",
    "previous": "string",
}
COMMENT_FIELDS = {
    "id": "integer",
    "content": "object",
    "created_on": "string",
    "updated_on": "string",
    "type": "string",
    "links": "object",
}

TOOLS: tuple[AppTool, ...] = (
    AppTool(
        "BITBUCKET_CREATE_BRANCH",
        "Create a branch",
        "Creates a new branch in a bitbucket repository from a target commit hash; the branch name must be unique, "
        "adhere to bitbucket's naming conventions, and not include the 'refs/heads/' prefix.",
        obj(
            "CreateBranchRequest",
            {
                "workspace": WORKSPACE,
                "repo_slug": REPO_SLUG,
                "name": f(
                    "string",
                    "The name for the new branch (e.g., 'feature/new-login'). Important: Do not include "
                    "the 'refs/heads/' prefix.",
                    examples=["feature/new-login"],
                ),
                "target_hash": f(
                    "string",
                    "The full commit hash (SHA1) from which the new branch will be created. "
                    "This commit must exist in the repository.",
                ),
            },
        ),
        {
            "name": "string",
            "type": "string",
            "target": "object",
            "links": "object",
            "default_merge_strategy": "string",
            "merge_strategies": "array",
        },
        create_branch,
        ("createHint", "important"),
        ("repository:write",),
        action="create",
        objects=("branch",),
        supporting=("BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE", "BITBUCKET_GET_FILE_FROM_REPOSITORY"),
        pitfalls=(
            "target_hash must name a commit of the repository: its full hash, or the branch to start from "
            "(the main branch's name is mainbranch.name in BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE)",
            "Do not prefix the branch name with refs/heads/",
        ),
    ),
    AppTool(
        "BITBUCKET_CREATE_ISSUE",
        "Create an issue",
        "Creates a new issue in a bitbucket repository, setting the authenticated user as reporter; ensures "
        "assignee (if provided) has repository access, and that any specified milestone, version, or component "
        "ids exist.",
        obj(
            "CreateIssueRequest",
            {
                "workspace": WORKSPACE,
                "repo_slug": REPO_SLUG,
                "title": f("string", "Title for the new issue."),
                "content": f("string", "Detailed description for the new issue."),
                "assignee": f(
                    "string",
                    "Bitbucket username of the assignee. The assignee must have repository access.",
                    default=None,
                ),
                "kind": f(
                    "string", "Type of the issue (e.g., 'bug', 'enhancement', 'proposal', 'task').", default=None
                ),
                "priority": f(
                    "string",
                    "Priority level of the issue (e.g., 'trivial', 'minor', 'major', 'critical', 'blocker').",
                    default=None,
                ),
                "due_on": f("string", "Due date for the issue in ISO 8601 format.", default=None),
                "component_id": f("integer", "Numeric ID of an existing component.", default=None),
                "milestone_id": f("integer", "Numeric ID of an existing milestone.", default=None),
                "version_id": f("integer", "Numeric ID of an existing version.", default=None),
            },
        ),
        {"id": "integer", "title": "string", "state": "string", "type": "string", "content": "object"},
        create_issue,
        ("createHint",),
        ("issue:write",),
        action="create",
        objects=("issue",),
        supporting=("BITBUCKET_LIST_WORKSPACE_MEMBERS", "BITBUCKET_UPDATE_ISSUE"),
        pitfalls=("The repository's issue tracker must be enabled",),
    ),
    AppTool(
        "BITBUCKET_CREATE_ISSUE_COMMENT",
        "Create an issue comment",
        "Adds a new comment with markdown support to an existing bitbucket issue.",
        obj(
            "CreateIssueCommentRequest",
            {
                "workspace": WORKSPACE,
                "repo_slug": REPO_SLUG,
                "issue_id": ISSUE_ID,
                "content": f("string", "The raw text content for the comment; markdown is supported."),
            },
        ),
        COMMENT_FIELDS,
        create_issue_comment,
        ("createHint",),
        ("issue:write",),
        action="create",
        objects=("issue", "comment"),
        supporting=("BITBUCKET_LIST_ISSUES", "BITBUCKET_UPDATE_ISSUE"),
        pitfalls=("issue_id is a string, e.g. '1'", "The repository's issue tracker must be enabled"),
    ),
    AppTool(
        "BITBUCKET_CREATE_PULL_REQUEST",
        "Create a pull request",
        "Creates a new pull request in a specified bitbucket repository, ensuring the source branch exists and is "
        "distinct from the (optional) destination branch.",
        obj(
            "CreatePullRequestRequest",
            {
                "workspace": WORKSPACE,
                "repo_slug": REPO_SLUG,
                "title": f("string", "Concise title summarizing the changes for the pull request."),
                "source_branch": f("string", "Name of the source branch with changes to be merged."),
                "description": f("string", "Detailed Markdown description of the pull request.", default=None),
                "destination_branch": f(
                    "string",
                    "Name of the destination branch; defaults to the repository's main branch if unspecified.",
                    default=None,
                ),
                "reviewers": f(
                    "array",
                    "List of Bitbucket user UUIDs (in curly braces) to add as reviewers.",
                    default=None,
                    items=obj("Reviewer", {"uuid": f("string", "UUID of the reviewer.")}),
                ),
                "close_source_branch": f(
                    "boolean", "If true, closes the source branch when the pull request is merged.", default=False
                ),
            },
        ),
        PR_FIELDS,
        create_pull_request,
        ("createHint", "important"),
        ("pullrequest:write",),
        action="create",
        objects=("pullrequest",),
        supporting=(
            "BITBUCKET_LIST_PULL_REQUESTS",
            "BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE",
            "BITBUCKET_LIST_WORKSPACE_MEMBERS",
        ),
        pitfalls=(
            "The source branch must exist and differ from the destination branch",
            "Reviewers are given by UUID in curly braces, not by username",
        ),
    ),
    AppTool(
        "BITBUCKET_CREATE_REPOSITORY",
        "Create repository",
        "Creates a new bitbucket 'git' repository in a specified workspace, defaulting to the workspace's oldest "
        "project if `project key` is not provided.",
        obj(
            "CreateRepositoryRequest",
            {
                "workspace": f("string", "ID or slug of the Bitbucket workspace for the new repository."),
                "repo_slug": f("string", "URL-friendly slug for the new repository."),
                "description": f("string", "Description for the new repository.", default=None),
                "fork_policy": f(
                    "string",
                    "Forking policy for the repository.",
                    default="allow_forks",
                    enum=["allow_forks", "no_public_forks", "no_forks"],
                ),
                "has_issues": f("boolean", "Enable the issue tracker.", default=True),
                "has_wiki": f("boolean", "Enable the wiki.", default=True),
                "is_private": f("boolean", "Repository visibility: true for private.", default=True),
                "language": f("string", "Primary programming language (e.g., 'python').", default=None),
                "project_key": f(
                    "string",
                    "Key of the project for the repository; if omitted, the workspace's oldest project.",
                    default=None,
                ),
            },
        ),
        {
            "name": "string",
            "full_name": "string",
            "uuid": "string",
            "is_private": "boolean",
            "description": "string",
            "fork_policy": "string",
            "has_issues": "boolean",
            "has_wiki": "boolean",
            "language": "string",
            "type": "string",
        },
        create_repository,
        ("createHint",),
        ("repository:admin",),
        action="create",
        objects=("repository",),
        supporting=("BITBUCKET_LIST_WORKSPACES", "BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE"),
    ),
    AppTool(
        "BITBUCKET_CREATE_SNIPPET_COMMENT",
        "Create snippet comment",
        "Posts a new top-level comment or a threaded reply to an existing comment on a specified bitbucket snippet.",
        obj(
            "CreateSnippetCommentRequest",
            {
                "workspace": f("string", "Workspace ID or slug containing the snippet."),
                "encoded_id": f("string", "Unique, encoded ID of the snippet to comment on."),
                "content": f("string", "Raw text content of the comment; markup is rendered."),
                "parent_id": f(
                    "integer", "ID of an existing comment to reply to; omit for a top-level comment.", default=None
                ),
            },
        ),
        COMMENT_FIELDS,
        create_snippet_comment,
        ("createHint",),
        ("snippet",),
        action="create",
        objects=("snippet", "comment"),
        supporting=("BITBUCKET_GET_SNIPPET",),
    ),
    AppTool(
        "BITBUCKET_DELETE_ISSUE",
        "Delete issue",
        "Permanently deletes a specific issue, identified by its `issue id`, from the repository specified by "
        "`repo slug` within the given `workspace`.",
        obj("DeleteIssueRequest", {"workspace": WORKSPACE, "repo_slug": REPO_SLUG, "issue_id": ISSUE_ID}),
        {"success": "boolean", "message": "string"},
        delete_issue,
        ("destructiveHint",),
        ("issue:write",),
        action="delete",
        objects=("issue",),
        supporting=("BITBUCKET_UPDATE_ISSUE",),
        pitfalls=("issue_id is a string, e.g. '1'",),
    ),
    AppTool(
        "BITBUCKET_DELETE_REPOSITORY",
        "Delete repository",
        "Permanently deletes a specified bitbucket repository; this action is irreversible and does not affect forks.",
        obj("DeleteRepositoryRequest", {"workspace": WORKSPACE, "repo_slug": REPO_SLUG}),
        {"message": "string"},
        delete_repository,
        ("destructiveHint",),
        ("repository:delete",),
        action="delete",
        objects=("repository",),
        supporting=("BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE",),
    ),
    AppTool(
        "BITBUCKET_GET_CURRENT_USER",
        "Get current user",
        "Retrieves the profile information (uuid, display name, links, creation date) for the currently "
        "authenticated bitbucket user.",
        obj("GetCurrentUserRequest", {}),
        {"uuid": "string", "display_name": "string", "created_on": "string", "type": "string", "links": "object"},
        get_current_user,
        ("readOnlyHint",),
        ("account",),
        objects=("user",),
        supporting=("BITBUCKET_LIST_WORKSPACES",),
    ),
    AppTool(
        "BITBUCKET_GET_FILE_FROM_REPOSITORY",
        "Get file from repository",
        "Retrieves a specific file's content from a bitbucket repository at a given commit (hash, branch, or tag), "
        "failing if the file path is invalid for that commit.",
        obj(
            "GetFileFromRepositoryRequest",
            {
                "workspace": WORKSPACE,
                "repo_slug": REPO_SLUG,
                "commit": f(
                    "string",
                    "Commit hash, branch name (fetches latest), or tag for the file version.",
                    examples=["main"],
                ),
                "path": f(
                    "string",
                    "Full path to the file within the repository (e.g., 'src/main.py').",
                    examples=["README.md"],
                ),
            },
        ),
        {"commit": "string", "path": "string", "size": "integer", "data": "string"},
        get_file_from_repository,
        ("readOnlyHint", "important"),
        ("repository",),
        objects=("file",),
        supporting=("BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE",),
        pitfalls=(
            "commit may be a branch name; the repository's main branch is mainbranch.name in "
            "BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE",
        ),
    ),
    AppTool(
        "BITBUCKET_GET_PULL_REQUEST",
        "Get Pull Request",
        "Get a single pull request by id with complete details.",
        obj(
            "GetPullRequestRequest",
            {
                "workspace": WORKSPACE,
                "repo_slug": REPO_SLUG,
                "pull_request_id": f("integer", "The ID of the pull request to retrieve (an integer)."),
            },
        ),
        {"pull_request": "object"},
        get_pull_request,
        ("readOnlyHint",),
        ("pullrequest",),
        objects=("pullrequest",),
        supporting=("BITBUCKET_LIST_PULL_REQUESTS",),
        pitfalls=("pull_request_id is an integer",),
    ),
    AppTool(
        "BITBUCKET_GET_SNIPPET",
        "Get snippet",
        "Retrieves a specific bitbucket snippet by its encoded id from an existing workspace, returning its "
        "metadata and file structure.",
        obj(
            "GetSnippetRequest",
            {
                "workspace": f("string", "The workspace ID (slug) or UUID in curly braces."),
                "encoded_id": f("string", "The encoded ID of the snippet to retrieve."),
                "accept_format": f(
                    "string", "The desired response format; 'application/json'.", default="application/json"
                ),
            },
        ),
        {
            "id": "integer",
            "title": "string",
            "scm": "string",
            "is_private": "boolean",
            "created_on": "string",
            "updated_on": "string",
            "owner": "object",
            "creator": "object",
            "files": "object",
            "type": "string",
        },
        get_snippet,
        ("readOnlyHint",),
        ("snippet",),
        objects=("snippet",),
        supporting=("BITBUCKET_CREATE_SNIPPET_COMMENT",),
    ),
    AppTool(
        "BITBUCKET_LIST_PULL_REQUESTS",
        "List pull requests",
        "Lists pull requests in a specified, accessible bitbucket repository, optionally filtering by state (open, "
        "merged, declined).",
        obj(
            "ListPullRequestsRequest",
            {
                "workspace": WORKSPACE,
                "repo_slug": REPO_SLUG,
                "state": f(
                    "string",
                    "Lifecycle state of the pull requests to list.",
                    default=None,
                    enum=["OPEN", "MERGED", "DECLINED"],
                ),
                "page": PAGE,
                "pagelen": pagelen(50),
            },
        ),
        PAGE_FIELDS,
        list_pull_requests,
        ("readOnlyHint",),
        ("pullrequest",),
        action="list",
        objects=("pullrequest",),
        supporting=("BITBUCKET_GET_PULL_REQUEST",),
    ),
    # Not among the 17 tools of the older generated snapshot, but in the toolkit's newer versions (which list about
    # a hundred tools): the integration guides' "comment on the latest open issue" needs a way to find it.
    AppTool(
        "BITBUCKET_LIST_ISSUES",
        "List issues",
        "Lists issues in a bitbucket repository with an enabled issue tracker, optionally filtered with a BBQL query "
        "and sorted (e.g. q='state=\"open\"', sort='-created_on' for the latest open issue first).",
        obj(
            "ListIssuesRequest",
            {
                "workspace": WORKSPACE,
                "repo_slug": REPO_SLUG,
                "q": f(
                    "string",
                    'Query string using Bitbucket\'s filtering syntax (BBQL), e.g. state = "open".',
                    default=None,
                ),
                "sort": f(
                    "string",
                    "Field to sort by; prefix with '-' for descending order (e.g. '-created_on').",
                    default=None,
                ),
                "page": PAGE,
                "pagelen": pagelen(100),
            },
        ),
        PAGE_FIELDS,
        list_issues,
        ("readOnlyHint",),
        ("issue",),
        action="list",
        objects=("issue",),
        supporting=("BITBUCKET_CREATE_ISSUE_COMMENT", "BITBUCKET_UPDATE_ISSUE"),
        pitfalls=("The repository's issue tracker must be enabled", "BBQL strings need double quotes"),
    ),
    AppTool(
        "BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE",
        "List repositories in workspace",
        "Lists repositories in a specified bitbucket workspace, accessible to the authenticated user, with options "
        "to filter by role or query string, and sort results.",
        obj(
            "ListRepositoriesInWorkspaceRequest",
            {
                "workspace": f("string", "The workspace slug (e.g., 'my-workspace') or its UUID in curly braces."),
                "q": f(
                    "string",
                    'Query string using Bitbucket\'s filtering syntax (BBQL), e.g. name ~ "widg".',
                    default=None,
                ),
                "role": f(
                    "string",
                    "Filters repositories by the user's role: member, contributor, admin or owner.",
                    default=None,
                ),
                "sort": f(
                    "string",
                    "Field to sort by; prefix with '-' for descending order (e.g. '-updated_on').",
                    default=None,
                ),
                "page": PAGE,
                "pagelen": pagelen(100),
            },
        ),
        PAGE_FIELDS,
        list_repositories_in_workspace,
        ("readOnlyHint", "important"),
        ("repository",),
        action="list",
        objects=("repository",),
        supporting=("BITBUCKET_LIST_WORKSPACES",),
        pitfalls=("BBQL strings need double quotes",),
    ),
    AppTool(
        "BITBUCKET_LIST_WORKSPACE_MEMBERS",
        "List workspace members",
        "Lists all members of a specified bitbucket workspace; the workspace must exist.",
        obj(
            "ListWorkspaceMembersRequest",
            {
                "workspace": f("string", "The workspace slug or UUID from which to list members."),
                "page": PAGE,
                "pagelen": pagelen(100),
            },
        ),
        PAGE_FIELDS,
        list_workspace_members,
        ("readOnlyHint",),
        ("account",),
        action="list",
        objects=("member",),
        supporting=("BITBUCKET_LIST_WORKSPACES",),
    ),
    AppTool(
        "BITBUCKET_LIST_WORKSPACES",
        "List workspaces",
        "Lists bitbucket workspaces accessible to the authenticated user, optionally filtered and sorted.",
        obj(
            "ListWorkspacesRequest",
            {
                "q": f("string", 'Query string to filter workspaces (BBQL), e.g. slug="acme".', default=None),
                "sort": f("string", "Field to sort by; prefix with '-' for descending order.", default=None),
                "page": PAGE,
                "pagelen": pagelen(100),
            },
        ),
        PAGE_FIELDS,
        list_workspaces,
        ("readOnlyHint",),
        ("account",),
        action="list",
        objects=("workspace",),
        supporting=("BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE", "BITBUCKET_LIST_WORKSPACE_MEMBERS"),
    ),
    AppTool(
        "BITBUCKET_UPDATE_ISSUE",
        "Update an issue",
        "Updates an existing issue in a bitbucket repository by modifying specified attributes; requires "
        "`workspace`, `repo slug`, `issue id`, and at least one attribute to update.",
        obj(
            "UpdateIssueRequest",
            {
                "workspace": WORKSPACE,
                "repo_slug": REPO_SLUG,
                "issue_id": ISSUE_ID,
                "title": f("string", "The new title for the issue.", default=None),
                "content": f("string", "The new content for the issue, in raw text.", default=None),
                "kind": f("string", "The updated kind of the issue.", default=None, enum=KINDS),
                "state": f("string", "The updated state of the issue.", default=None, enum=STATES),
                "priority": f("string", "The updated priority of the issue.", default=None, enum=PRIORITIES),
                "component": f("string", "The name of the component to associate with the issue.", default=None),
                "milestone": f("string", "The name of the milestone to associate with the issue.", default=None),
                "version": f("string", "The name of the version affected by the issue.", default=None),
                "assignee_account_id": f(
                    "string", "The account ID (or UUID in curly braces) of the new assignee.", default=None
                ),
            },
        ),
        {
            "id": "integer",
            "title": "string",
            "state": "string",
            "kind": "string",
            "priority": "string",
            "type": "string",
        },
        update_issue,
        ("updateHint",),
        ("issue:write",),
        action="update",
        objects=("issue",),
        supporting=("BITBUCKET_CREATE_ISSUE_COMMENT", "BITBUCKET_LIST_WORKSPACE_MEMBERS"),
        pitfalls=("issue_id is a string, e.g. '1'", "Give at least one attribute to change"),
    ),
)

BITBUCKET_TOOLS: dict[str, AppTool] = {t.slug: t for t in TOOLS}
