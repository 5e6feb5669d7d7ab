"""Deterministic tool search: a plain-English use case -> primary and related Bitbucket tools.

The real search is a model-backed ranking whose results vary run to run. The sandbox's is a small keyword
ranking over each tool's action (create/list/get/update/delete) and objects (branch, pull request, issue, ...),
so the same query always finds the same tools: the best-scoring ones are primary, and the tools that usually
help them (a repository listing to learn the main branch before creating a branch) come as related. Like
the real one it never answers "nothing fits": an unmatched query gets the workspace and repository listings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sandbox.composio.bitbucket_tools import AppTool

# Words (after lower-casing) -> the canonical term the tools' vocabulary uses.
OBJECT_WORDS = {
    "branch": "branch",
    "branches": "branch",
    "main": "branch",
    "master": "branch",
    "pr": "pullrequest",
    "prs": "pullrequest",
    "pullrequest": "pullrequest",
    "pullrequests": "pullrequest",
    "mr": "pullrequest",
    "review": "pullrequest",
    "issue": "issue",
    "issues": "issue",
    "bug": "issue",
    "bugs": "issue",
    "ticket": "issue",
    "tickets": "issue",
    "comment": "comment",
    "comments": "comment",
    "reply": "comment",
    "note": "comment",
    "file": "file",
    "files": "file",
    "readme": "file",
    "content": "file",
    "contents": "file",
    "source": "file",
    "code": "file",
    "document": "file",
    "docs": "file",
    "repo": "repository",
    "repos": "repository",
    "repository": "repository",
    "repositories": "repository",
    "snippet": "snippet",
    "snippets": "snippet",
    "gist": "snippet",
    "workspace": "workspace",
    "workspaces": "workspace",
    "organisation": "workspace",
    "organization": "workspace",
    "member": "member",
    "members": "member",
    "people": "member",
    "collaborators": "member",
    "teammates": "member",
    "user": "user",
    "me": "user",
    "profile": "user",
    "account": "user",
    "whoami": "user",
    "myself": "user",
}
ACTION_WORDS = {
    "create": "create",
    "new": "create",
    "add": "create",
    "open": "create",
    "make": "create",
    "start": "create",
    "raise": "create",
    "post": "create",
    "write": "create",
    "comment": "create",
    "reply": "create",
    "list": "list",
    "show": "list",
    "all": "list",
    "find": "list",
    "search": "list",
    "latest": "list",
    "recent": "list",
    "which": "list",
    "enumerate": "list",
    "browse": "list",
    "get": "get",
    "fetch": "get",
    "read": "get",
    "view": "get",
    "retrieve": "get",
    "download": "get",
    "details": "get",
    "see": "get",
    "check": "get",
    "who": "get",
    "delete": "delete",
    "remove": "delete",
    "drop": "delete",
    "destroy": "delete",
    "erase": "delete",
    "update": "update",
    "edit": "update",
    "change": "update",
    "modify": "update",
    "close": "update",
    "resolve": "update",
    "assign": "update",
    "rename": "update",
    "reopen": "update",
    "set": "update",
}
READ_ACTIONS = {"list", "get"}
FALLBACK = ("BITBUCKET_LIST_WORKSPACES", "BITBUCKET_LIST_REPOSITORIES_IN_WORKSPACE", "BITBUCKET_GET_CURRENT_USER")


@dataclass(frozen=True)
class Match:
    primary: list[str]
    related: list[str]
    matched: bool  # False when nothing matched and the fallback tools were returned


def terms(text: str) -> tuple[set[str], set[str]]:
    """(objects, actions) mentioned in ``text``; "pull request" and "who am I" count as one word."""
    text = re.sub(r"\b(pull|merge)[\s_-]+requests?\b", " pullrequest ", text.lower())
    text = re.sub(r"\bwho\s+am\s+i\b", " whoami ", text)
    words = re.findall(r"[a-z0-9]+", text)
    objects = {OBJECT_WORDS[w] for w in words if w in OBJECT_WORDS}
    # "open" right before an object is a state ("the latest open issue"), not a request to open something.
    actions = {
        ACTION_WORDS[w]
        for i, w in enumerate(words)
        if w in ACTION_WORDS and not (w == "open" and i + 1 < len(words) and words[i + 1] in OBJECT_WORDS)
    }
    return objects, actions


def score(tool: AppTool, objects: set[str], actions: set[str]) -> int:
    hits = len(objects & set(tool.objects))
    if tool.objects and hits == 0:
        return 0
    wanted = actions or READ_ACTIONS  # no verb: the user most likely wants to read
    return 3 * hits - (len(tool.objects) - hits) + (2 if tool.action in wanted else 0)


def search(use_case: str, tools: Iterable[AppTool], limit: int = 6) -> Match:
    available = {t.slug: t for t in tools}
    objects, actions = terms(use_case)
    scored = sorted(
        ((score(t, objects, actions), i, t) for i, t in enumerate(available.values())), key=lambda s: (-s[0], s[1])
    )
    best = scored[0][0] if scored else 0
    if best <= 0:
        fallback = [s for s in FALLBACK if s in available]
        return Match(fallback[:1], fallback[1:limit], False)
    primary = [t.slug for s, _, t in scored if s == best][:3]
    related: list[str] = []
    for slug in primary:
        related += [h for h in available[slug].supporting if h in available]
    wanted = actions | READ_ACTIONS
    related += [t.slug for s, _, t in scored if s > 0 and t.action in wanted]
    unique = [s for s in dict.fromkeys(related) if s not in primary]
    return Match(primary, unique[: max(0, limit - len(primary))], True)
