"""The issue tracker (deprecated in the API, still served): 404 when the tracker is off."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.bitbucket.context import Ctx, J
from sandbox.bitbucket.errors import BitbucketError, field_error
from sandbox.bitbucket.handlers.repositories import render_repository, repo_for
from sandbox.bitbucket.handlers.source import _created
from sandbox.bitbucket.records import new_comment, new_issue
from sandbox.bitbucket.routing import route
from sandbox.bitbucket.store import Doc

ISSUES = "/repositories/{workspace}/{repo_slug}/issues"
ENUMS = {
    "state": ("submitted", "new", "open", "resolved", "on hold", "invalid", "duplicate", "wontfix", "closed"),
    "kind": ("bug", "enhancement", "proposal", "task"),
    "priority": ("trivial", "minor", "major", "critical", "blocker"),
}


def _tracker(ctx: Ctx, level: str = "read") -> Doc:
    repo = repo_for(ctx, level)
    if not repo["has_issues"]:
        raise BitbucketError(404, f"Repository {repo['full_name']} does not have the issue tracker enabled")
    return repo


def _issue(ctx: Ctx, repo: Doc) -> Doc:
    issue = ctx.world.store.get("issue", f"{repo['full_name']}#{ctx.param('issue_id')}")
    if issue is None:
        raise BitbucketError(404, f"Issue {ctx.param('issue_id')} not found")
    return issue


def _emit(ctx: Ctx, repo: Doc, event: str, issue: Doc, **extra: Any) -> None:
    ctx.world.emit(
        repo["full_name"],
        event,
        {
            "actor": ctx.actor(),
            "issue": ctx.r.issue(repo, issue, ctx.users),
            "repository": render_repository(ctx, repo),
            **extra,
        },
    )


def _content(body: J, required: bool) -> str | None:
    if "content" not in body:
        if required:
            return ""
        return None
    content = body["content"]
    if content is None:  # PUT with "content": null clears it
        return ""
    raw = content.get("raw") if isinstance(content, dict) else content if isinstance(content, str) else None
    if not isinstance(raw, str):
        raise field_error("content", "content.raw must be a string.")
    return raw


def _checked(body: J) -> J:
    out: J = {}
    for key, allowed in ENUMS.items():
        if key in body and body[key] is not None:
            if body[key] not in allowed:
                raise field_error(key, f"Must be one of: {', '.join(allowed)}.")
            out[key] = body[key]
    if "title" in body:
        if not isinstance(body["title"], str) or not body["title"].strip():
            raise field_error("title", "A non-empty string is required.")
        out["title"] = body["title"]
    return out


@route("get", ISSUES)
def list_issues(ctx: Ctx) -> J:
    repo = _tracker(ctx)
    return ctx.page(
        ctx.world.store.children("issue", repo["full_name"]), render=lambda i: ctx.r.issue(repo, i, ctx.users)
    )


@route("post", ISSUES)
def create_issue(ctx: Ctx) -> Response:
    repo = _tracker(ctx)
    body = ctx.fields()
    fields = _checked(body)
    if "title" not in fields:
        raise field_error("title", "This field is required.")
    assignee = _assignee(ctx, body.get("assignee"))
    issue = new_issue(
        ctx.world, repo, ctx.me, fields.pop("title"), _content(body, True) or "", assignee=assignee, **fields
    )
    _emit(ctx, repo, "issue:created", issue)
    out = ctx.r.issue(repo, issue, ctx.users)
    return _created(out, out["links"]["self"]["href"])


def _assignee(ctx: Ctx, ref: object) -> str | None:
    if ref is None:
        return None
    if not isinstance(ref, dict):
        raise field_error("assignee", "An account object is required.")
    for user in ctx.users.values():
        if (
            ref.get("uuid") == user["uuid"]
            or ref.get("username") == user["username"]
            or ref.get("account_id") == user["account_id"]
        ):
            return str(user["username"])
    raise field_error("assignee", "No such user.")


@route("get", ISSUES + "/{issue_id}")
def get_issue(ctx: Ctx) -> J:
    repo = _tracker(ctx)
    return ctx.r.issue(repo, _issue(ctx, repo), ctx.users)


@route("put", ISSUES + "/{issue_id}")
def update_issue(ctx: Ctx) -> J:
    repo = _tracker(ctx)
    issue = _issue(ctx, repo)
    body = ctx.fields(clearable=("assignee", "content"))  # null clears these (the others cannot be empty)
    issue.update(_checked(body))
    content = _content(body, False)
    if content is not None:
        issue["content"] = content
    if "assignee" in body:
        issue["assignee"] = _assignee(ctx, body["assignee"])
    issue["updated_on"] = issue["edited_on"] = ctx.world.now()
    ctx.world.store.put("issue", f"{repo['full_name']}#{issue['id']}", issue, parent=repo["full_name"])
    _emit(ctx, repo, "issue:updated", issue)
    return ctx.r.issue(repo, issue, ctx.users)


@route("delete", ISSUES + "/{issue_id}")
def delete_issue(ctx: Ctx) -> Response:
    repo = _tracker(ctx)
    issue = _issue(ctx, repo)
    key = f"{repo['full_name']}#{issue['id']}"
    ctx.world.store.delete_children("issue_comment", key)
    ctx.world.store.delete("issue", key)
    return Response(status_code=204)


@route("get", ISSUES + "/{issue_id}/comments")
def list_issue_comments(ctx: Ctx) -> J:
    repo = _tracker(ctx)
    issue = _issue(ctx, repo)
    comments = ctx.world.store.children("issue_comment", f"{repo['full_name']}#{issue['id']}")
    return ctx.page(comments, render=lambda c: ctx.r.issue_comment(repo, issue, c, ctx.users))


@route("post", ISSUES + "/{issue_id}/comments")
def create_issue_comment(ctx: Ctx) -> Response:
    repo = _tracker(ctx)
    issue = _issue(ctx, repo)
    raw = _content(ctx.fields(), False)
    if raw is None or not raw.strip():
        raise field_error("content", "content.raw is required.")
    comment = new_comment(ctx.world, "issue_comment", f"{repo['full_name']}#{issue['id']}", ctx.me, raw)
    out = ctx.r.issue_comment(repo, issue, comment, ctx.users)
    _emit(ctx, repo, "issue:comment_created", issue, comment=out)
    return _created(out, out["links"]["self"]["href"])
