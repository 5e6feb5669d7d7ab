"""Intents (what a user asks for) and the tools that carry them out on each MCP path.

The intent names are those of the scenario plans (the reference model's plan steps).

Expectations name intents (``create_branch``) or tool names (``BITBUCKET_CREATE_BRANCH``, ``bitbucketRepoContent``);
an intent matches a call of any of its tools, with the given ``action`` for Rovo's action tools.
"""

from __future__ import annotations

from harness.transcript import ToolCall

# intent -> (tool, action or None)
INTENT_TOOLS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "create_branch": (("BITBUCKET_CREATE_BRANCH", None), ("bitbucketRepoContent", "branch.create")),
    "open_pull_request": (("BITBUCKET_CREATE_PULL_REQUEST", None), ("bitbucketPullRequest", "create")),
    "comment_issue": (("BITBUCKET_CREATE_ISSUE_COMMENT", None),),
    "read_file": (("BITBUCKET_GET_FILE_FROM_REPOSITORY", None), ("bitbucketRepoContent", "files.get")),
    "comment_on_pull_request": (("bitbucketPullRequest", "comment"),),
    "merge_pull_request": (("bitbucketPullRequest", "merge"),),
    "delete_repository": (("BITBUCKET_DELETE_REPOSITORY", None),),
    "delete_issue": (("BITBUCKET_DELETE_ISSUE", None),),
    "delete_branch": (("bitbucketRepoContent", "branch.delete"),),
}
DESTRUCTIVE = ("delete_repository", "delete_issue", "delete_branch", "merge_pull_request")


def matches(call: ToolCall, wanted: str) -> bool:
    """Whether ``call`` is ``wanted``: an intent name, or a tool name (optionally ``tool:action``)."""
    tool, _, action = wanted.partition(":")
    if tool == call.name and (not action or call.arguments.get("action") == action):
        return True
    return any(call.name == t and (a is None or call.arguments.get("action") == a)
               for t, a in INTENT_TOOLS.get(wanted, ()))
