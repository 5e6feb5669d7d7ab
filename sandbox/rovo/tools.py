"""The tool catalogue: names, actions, the scope each action needs, and the JSON Schemas clients see.

Tool and action names and the read/write scopes are Atlassian's published table. The input schemas are not
published; what is known are the parameter names seen in real calls (``action``, ``workspaceId``, ``repoId``,
``prId``, ``referenceOrSha``, ``path``, ``format``, ``state``, ``q``, ``page``, ``pagelen``, ``sourceBranch``,
``targetBranch``, ``title``, ``description``, ``draft``, ``content``, ``parentCommentId``, ``inlinePath``,
``inlineToLine``, ``excludeCurrentUser``). Everything else is a choice, named in the camelCase style of the
observed ones:

* ``branch.get``: ``branchName`` (omitted: the branch list, with ``q``/``sort``/paging);
* ``commit.get``: ``referenceOrSha`` (omitted: the commit log of the main branch);
* ``branch.create``: ``branchName`` + ``referenceOrSha`` (the source; default the main branch);
* ``commit.create``: ``branch``, ``message`` and ``files: [{path, content}]``, or ``path`` + ``content`` for one
  file; the branch is created from the main branch when it does not exist (Bitbucket's own rule);
* ``merge``: ``mergeStrategy``, ``message``, ``closeSourceBranch``; ``create`` also takes ``closeSourceBranch``;
* pipelines, deployments and environments: ``pipelineUuid``, ``stepUuid``, ``deploymentUuid``,
  ``environmentUuid``; ``run``: ``branchName`` (+ ``pipelineName`` for a custom pipeline); environment
  ``create``/``update``: ``name`` and ``environmentType``;
* ``bitbucketUser`` ``pullRequests``: ``workspaceId`` is required (Bitbucket's endpoint is per workspace).

Each tool has one flat object schema: ``action`` is an enum, ``required`` holds only what every action needs,
and the description lists each action's required and optional parameters (validated per action by the server).
Unknown parameters are ignored. The shared tools ``atlassianUserInfo`` and ``getAccessibleAtlassianResources``
take no parameters and are always listed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from mcp import types

from sandbox.rovo.settings import RovoSettings

READ_WS, READ_REPO, WRITE_REPO = "read:workspace:bitbucket", "read:repository:bitbucket", "write:repository:bitbucket"
READ_PR, WRITE_PR = "read:pullrequest:bitbucket", "write:pullrequest:bitbucket"
READ_PIPE, WRITE_PIPE, ADMIN_PIPE = "read:pipeline:bitbucket", "write:pipeline:bitbucket", "admin:pipeline:bitbucket"

PR_STATES = ["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]
MERGE_STRATEGIES = [
    "merge_commit",
    "squash",
    "fast_forward",
    "squash_fast_forward",
    "rebase_fast_forward",
    "rebase_merge",
]

_STRING = {"type": "string", "minLength": 1}
PARAMS: dict[str, dict[str, Any]] = {
    "workspaceId": {**_STRING, "description": "Workspace slug (e.g. acme) or UUID in braces."},
    "repoId": {**_STRING, "description": "Repository slug (e.g. widgets) or UUID in braces."},
    "prId": {"type": "integer", "minimum": 1, "description": "Pull request id."},
    "page": {"type": "integer", "minimum": 1, "description": "Page number, from 1."},
    "pagelen": {"type": "integer", "minimum": 1, "maximum": 100, "description": "Items per page (1-100)."},
    "q": {"type": "string", "description": 'Bitbucket query language filter, e.g. source.branch.name="feature/x".'},
    "sort": {"type": "string", "description": "Field to sort by; prefix with - for descending."},
    "state": {"type": "string", "enum": PR_STATES, "description": "Pull request state (default OPEN)."},
    "referenceOrSha": {**_STRING, "description": "A branch name or a commit hash."},
    "path": {
        "type": "string",
        "description": "Path from the repository root (files.get: empty for the root "
        "directory; commit.create: the one file to write).",
    },
    "format": {
        "type": "string",
        "enum": ["raw", "meta"],
        "description": "raw (default): the file's text; meta: its metadata as JSON.",
    },
    "branchName": {**_STRING, "description": "Branch name, e.g. feature/login."},
    "branch": {**_STRING, "description": "Branch to commit to (created from the main branch if missing)."},
    "message": {**_STRING, "description": "Commit message."},
    "files": {
        "type": "array",
        "minItems": 1,
        "description": "Files to write: [{path, content}].",
        "items": {
            "type": "object",
            "required": ["path", "content"],
            "properties": {"path": _STRING, "content": {"type": "string"}},
        },
    },
    "fileContent": {"type": "string", "description": "Content of the single file at path."},
    "sourceBranch": {**_STRING, "description": "Branch with the changes."},
    "targetBranch": {**_STRING, "description": "Branch to merge into (default: the main branch)."},
    "title": {**_STRING, "description": "Pull request title."},
    "description": {"type": "string", "description": "Pull request description (markdown)."},
    "draft": {"type": "boolean", "description": "Open the pull request as a draft."},
    "closeSourceBranch": {"type": "boolean", "description": "Delete the source branch after the merge."},
    "mergeStrategy": {"type": "string", "enum": MERGE_STRATEGIES, "description": "Merge strategy."},
    "mergeMessage": {"type": "string", "description": "Merge commit message."},
    "comment": {**_STRING, "description": "Comment text (markdown)."},
    "parentCommentId": {"type": "integer", "minimum": 1, "description": "Id of the comment to reply to."},
    "inlinePath": {**_STRING, "description": "File path, for an inline comment."},
    "inlineToLine": {"type": "integer", "minimum": 1, "description": "Line in the new version, for an inline comment."},
    "excludeCurrentUser": {"type": "boolean", "description": "Leave the caller out of the list."},
    "pipelineUuid": {**_STRING, "description": "Pipeline UUID in braces."},
    "stepUuid": {**_STRING, "description": "Step UUID in braces."},
    "pipelineName": {**_STRING, "description": "Custom pipeline name (default: the branch's pipeline)."},
    "deploymentUuid": {**_STRING, "description": "Deployment UUID in braces."},
    "environmentUuid": {**_STRING, "description": "Environment UUID in braces."},
    "name": {**_STRING, "description": "Environment name."},
    "environmentType": {
        "type": "string",
        "enum": ["Test", "Staging", "Production"],
        "description": "Environment type.",
    },
}
# A parameter name can mean different things in different tools; these aliases pick the right schema.
ALIASES = {
    ("bitbucketRepoContent", "content"): "fileContent",
    ("bitbucketPullRequest", "content"): "comment",
    ("bitbucketPullRequest", "message"): "mergeMessage",
}

WS_REPO = ("workspaceId", "repoId")
PAGING = ("page", "pagelen")


@dataclass(frozen=True)
class Action:
    name: str
    scope: str
    summary: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        """The Rovo permission group: reads, and everything else (write and admin scopes) as writes."""
        return "read_bitbucket" if self.scope.startswith("read:") else "write_bitbucket"

    @property
    def params(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    summary: str
    actions: tuple[Action, ...] = ()

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if a.name == name), None)

    @property
    def read_only(self) -> bool:
        return all(a.group == "read_bitbucket" for a in self.actions)

    def schema(self) -> dict[str, Any]:
        if not self.actions:
            return {"type": "object", "properties": {}}
        names = dict.fromkeys(p for a in self.actions for p in a.params)
        properties: dict[str, Any] = {
            "action": {
                "type": "string",
                "enum": [a.name for a in self.actions],
                "description": "What to do; see the tool description.",
            }
        }
        properties.update({p: PARAMS[ALIASES.get((self.name, p), p)] for p in names})
        common = [p for p in names if all(p in a.required for a in self.actions)]
        return {"type": "object", "properties": properties, "required": ["action", *common]}

    def description(self) -> str:
        lines = [self.summary]
        if self.actions:
            lines.append("Actions (required parameters; optional ones in brackets):")
        for a in self.actions:
            params = ", ".join([*a.required, *(f"[{p}]" for p in a.optional)])
            lines.append(f"- {a.name}: {a.summary} Parameters: {params or 'none'}. Scope: {a.scope}.")
        return "\n".join(lines)

    def tool(self) -> types.Tool:
        return types.Tool(
            name=self.name,
            title=self.title,
            description=self.description(),
            inputSchema=self.schema(),
            annotations=types.ToolAnnotations(title=self.title, readOnlyHint=self.read_only, openWorldHint=True),
        )


def _a(
    name: str, scope: str, summary: str, required: tuple[str, ...] = WS_REPO, optional: tuple[str, ...] = ()
) -> Action:
    return Action(name, scope, summary, required, optional)


SHARED = (
    ToolSpec(
        "atlassianUserInfo",
        "Atlassian user info",
        "The Atlassian account behind this connection: account id, name and email.",
    ),
    ToolSpec(
        "getAccessibleAtlassianResources",
        "Accessible Atlassian resources",
        "The Atlassian sites (cloud ids) this connection can reach, with the token's scopes.",
    ),
)

PULL_REQUEST_ACTIONS = (
    _a(
        "list",
        READ_PR,
        "List pull requests (OPEN unless state says otherwise).",
        optional=("state", "q", "sort", *PAGING),
    ),
    _a("get", READ_PR, "One pull request.", (*WS_REPO, "prId")),
    _a("comments", READ_PR, "The comments on a pull request.", (*WS_REPO, "prId"), PAGING),
    _a("diff", READ_PR, "The pull request's diff (unified text).", (*WS_REPO, "prId")),
    _a(
        "create",
        WRITE_PR,
        "Open a pull request.",
        (*WS_REPO, "sourceBranch", "title"),
        ("targetBranch", "description", "draft", "closeSourceBranch"),
    ),
    _a(
        "merge",
        WRITE_PR,
        "Merge an open pull request.",
        (*WS_REPO, "prId"),
        ("mergeStrategy", "message", "closeSourceBranch"),
    ),
    _a("approve", WRITE_PR, "Approve a pull request as the caller.", (*WS_REPO, "prId")),
    _a("request-changes", WRITE_PR, "Request changes on a pull request as the caller.", (*WS_REPO, "prId")),
    _a(
        "comment",
        WRITE_PR,
        "Comment on a pull request (a reply with parentCommentId; inline with inlinePath and inlineToLine).",
        (*WS_REPO, "prId", "content"),
        ("parentCommentId", "inlinePath", "inlineToLine"),
    ),
)
EXTRA_PULL_REQUEST_ACTIONS = (
    _a("decline", WRITE_PR, "Decline an open pull request.", (*WS_REPO, "prId")),
    _a(
        "update",
        WRITE_PR,
        "Change a pull request's title, description or target branch.",
        (*WS_REPO, "prId"),
        ("title", "description", "targetBranch"),
    ),
)


@functools.cache
def _bitbucket_tools(extra_pull_request_actions: bool) -> tuple[ToolSpec, ...]:
    pr_actions = PULL_REQUEST_ACTIONS + (EXTRA_PULL_REQUEST_ACTIONS if extra_pull_request_actions else ())
    return (
        ToolSpec(
            "bitbucketWorkspace",
            "Bitbucket workspaces",
            "Bitbucket workspaces linked to this Atlassian organization.",
            (
                _a("list", READ_WS, "The linked workspaces the caller belongs to.", (), ("q", *PAGING)),
                _a("get", READ_WS, "One workspace.", ("workspaceId",)),
            ),
        ),
        ToolSpec(
            "bitbucketRepository",
            "Bitbucket repositories",
            "Repositories of a Bitbucket workspace.",
            (
                _a(
                    "list",
                    READ_REPO,
                    "The workspace's repositories the caller can read.",
                    ("workspaceId",),
                    ("q", "sort", *PAGING),
                ),
                _a("get", READ_REPO, "One repository (its main branch is mainbranch.name)."),
                _a(
                    "defaultReviewers",
                    READ_REPO,
                    "The repository's default reviewers.",
                    optional=("excludeCurrentUser", *PAGING),
                ),
            ),
        ),
        ToolSpec(
            "bitbucketPullRequest", "Bitbucket pull requests", "Pull requests of a Bitbucket repository.", pr_actions
        ),
        ToolSpec(
            "bitbucketRepoContent",
            "Bitbucket repository content",
            "Branches, commits and files of a Bitbucket repository.",
            (
                _a(
                    "branch.get",
                    READ_REPO,
                    "One branch with its head commit; without branchName, the branch list.",
                    optional=("branchName", "q", "sort", *PAGING),
                ),
                _a(
                    "commit.get",
                    READ_REPO,
                    "One commit; without referenceOrSha, the main branch's log.",
                    optional=("referenceOrSha", *PAGING),
                ),
                _a(
                    "files.get",
                    READ_REPO,
                    "A file's text, or a directory listing (JSON), at a branch or commit (default: the main branch).",
                    optional=("referenceOrSha", "path", "format", *PAGING),
                ),
                _a(
                    "branch.create",
                    WRITE_REPO,
                    "Create a branch from referenceOrSha (default: the main branch).",
                    (*WS_REPO, "branchName"),
                    ("referenceOrSha",),
                ),
                _a(
                    "commit.create",
                    WRITE_REPO,
                    "Commit files to a branch: files=[{path, content}], or path and content for one file.",
                    (*WS_REPO, "branch", "message"),
                    ("files", "path", "content"),
                ),
            ),
        ),
        ToolSpec(
            "bitbucketPipeline",
            "Bitbucket Pipelines",
            "Bitbucket Pipelines runs of a repository.",
            (
                _a("list", READ_PIPE, "The repository's pipelines, newest first.", optional=PAGING),
                _a("get", READ_PIPE, "One pipeline.", (*WS_REPO, "pipelineUuid")),
                _a("steps", READ_PIPE, "The steps of a pipeline.", (*WS_REPO, "pipelineUuid"), PAGING),
                _a("step.get", READ_PIPE, "One step of a pipeline.", (*WS_REPO, "pipelineUuid", "stepUuid")),
                _a("step.log", READ_PIPE, "The log of a step.", (*WS_REPO, "pipelineUuid", "stepUuid")),
                _a("run", WRITE_PIPE, "Run the pipeline of a branch.", (*WS_REPO, "branchName"), ("pipelineName",)),
            ),
        ),
        ToolSpec(
            "bitbucketDeployment",
            "Bitbucket deployments",
            "Deployments of a repository.",
            (
                _a("list", READ_PIPE, "The repository's deployments.", optional=PAGING),
                _a("get", READ_PIPE, "One deployment.", (*WS_REPO, "deploymentUuid")),
            ),
        ),
        ToolSpec(
            "bitbucketEnvironment",
            "Bitbucket deployment environments",
            "Deployment environments of a repository.",
            (
                _a("list", READ_PIPE, "The repository's environments.", optional=PAGING),
                _a("get", READ_PIPE, "One environment.", (*WS_REPO, "environmentUuid")),
                _a("create", ADMIN_PIPE, "Create an environment.", (*WS_REPO, "name", "environmentType")),
                _a("update", ADMIN_PIPE, "Rename an environment.", (*WS_REPO, "environmentUuid", "name")),
                _a("delete", ADMIN_PIPE, "Delete an environment.", (*WS_REPO, "environmentUuid")),
            ),
        ),
        ToolSpec(
            "bitbucketUser",
            "Bitbucket user",
            "The caller's own Bitbucket activity.",
            (
                _a(
                    "pullRequests",
                    READ_PR,
                    "Pull requests the caller authored in a workspace.",
                    ("workspaceId",),
                    ("state", *PAGING),
                ),
            ),
        ),
    )


def catalogue(settings: RovoSettings) -> tuple[ToolSpec, ...]:
    """Every tool, in the order tools/list gives them (the order of the live server's list)."""
    return SHARED + _bitbucket_tools(settings.extra_pull_request_actions)


def allowed(action: Action, scopes: frozenset[str], settings: RovoSettings) -> bool:
    return action.scope in scopes and action.group not in settings.blocked_permission_groups


def visible(tool: ToolSpec, scopes: frozenset[str], settings: RovoSettings) -> bool:
    if not tool.actions:
        return True
    flags = [allowed(a, scopes, settings) for a in tool.actions]
    return any(flags) if settings.tool_visibility == "any-action" else all(flags)


def visible_tools(scopes: frozenset[str], settings: RovoSettings) -> list[ToolSpec]:
    return [t for t in catalogue(settings) if visible(t, scopes, settings)]
