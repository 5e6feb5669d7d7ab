"""Pull requests: list, create, get, update, comments, approvals, merge, decline, diff."""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse, Response

from sandbox.bitbucket.context import Ctx, J
from sandbox.bitbucket.errors import BitbucketError, field_error
from sandbox.bitbucket.gitstore import MergeConflict
from sandbox.bitbucket.handlers.repositories import render_repository, repo_for
from sandbox.bitbucket.handlers.source import _created
from sandbox.bitbucket.records import author_line, new_comment, new_pullrequest
from sandbox.bitbucket.routing import route
from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.webhooks import push_payload

PR = "/repositories/{workspace}/{repo_slug}/pullrequests"
STATES = ("OPEN", "MERGED", "DECLINED", "SUPERSEDED")


def _key(repo: Doc, pr_id: int) -> str:
    return f"{repo['full_name']}#{pr_id}"


def _pr(ctx: Ctx, repo: Doc) -> Doc:
    pr = ctx.world.store.get("pullrequest", _key(repo, int(ctx.param("pull_request_id"))))
    if pr is None:
        raise BitbucketError(404, f"Pull request {ctx.param('pull_request_id')} not found")
    return pr


def render(ctx: Ctx, repo: Doc, pr: Doc, full: bool = True) -> J:
    count = ctx.world.store.count("pr_comment", _key(repo, pr["id"]))
    return ctx.r.pullrequest(repo, pr, ctx.users, count, full)


def _user_or_403(ctx: Ctx) -> Doc:
    user = ctx.me
    if user is None:
        raise BitbucketError(403, "This action requires a user account.")
    return user


def _emit(ctx: Ctx, repo: Doc, event: str, pr: Doc, **extra: Any) -> None:
    ctx.world.emit(
        repo["full_name"],
        event,
        {
            "actor": ctx.actor(),
            "pullrequest": render(ctx, repo, pr),
            "repository": render_repository(ctx, repo),
            **extra,
        },
    )


@route("get", PR)
def list_pullrequests(ctx: Ctx) -> J:
    repo = repo_for(ctx)
    states = [s.upper() for s in ctx.query.getlist("state")] or ["OPEN"]
    if any(s not in STATES for s in states):
        raise BitbucketError(400, "Invalid state", fields={"state": [f"Must be one of {', '.join(STATES)}."]})
    docs = [p for p in ctx.world.store.children("pullrequest", repo["full_name"]) if p["state"] in states]
    return ctx.page(docs, render=lambda p: render(ctx, repo, p, full=False))


def _name(body: J, side: str) -> str | None:
    endpoint = body.get(side)
    if endpoint is None:
        return None
    branch = endpoint.get("branch") if isinstance(endpoint, dict) else None
    name = branch.get("name") if isinstance(branch, dict) else None
    if not isinstance(name, str) or not name:
        raise field_error(side, f"{side}.branch.name is required.")
    return name


@route("post", PR)
def create_pullrequest(ctx: Ctx) -> Response:
    repo = repo_for(ctx, "write")
    author = _user_or_403(ctx)
    body = ctx.fields()
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise field_error("title", "This field is required.")
    source = _name(body, "source")
    if source is None:
        raise BitbucketError(
            400,
            "Bad request",
            fields={"source": ["This field is required."]},
            detail="You must specify a valid source branch when creating a pull request.",
        )
    description = body.get("description", "")
    if not isinstance(description, str):
        raise field_error("description", "A string is required.")
    reviewers = _reviewers(ctx, body.get("reviewers"))
    for flag in ("close_source_branch", "draft"):
        if not isinstance(body.get(flag, False), bool):
            raise field_error(flag, "A boolean is required.")
    for open_pr in ctx.world.store.children("pullrequest", repo["full_name"]):
        if (
            open_pr["state"] == "OPEN"
            and open_pr["source_branch"] == source
            and open_pr["destination_branch"] == (_name(body, "destination") or repo["mainbranch"])
        ):
            raise BitbucketError(
                400,
                "Bad request",
                detail=f"There is already an open pull request from {source} to {open_pr['destination_branch']}.",
                fields={"source": ["There is already an open pull request for this branch."]},
            )
    pr = new_pullrequest(
        ctx.world,
        repo,
        author,
        title,
        source,
        _name(body, "destination"),
        description=description,
        close_source_branch=body.get("close_source_branch", False),
        draft=body.get("draft", False),
        reviewers=reviewers,
    )
    _emit(ctx, repo, "pullrequest:created", pr)
    out = render(ctx, repo, pr)
    return _created(out, out["links"]["self"]["href"])


def _reviewers(ctx: Ctx, refs: object) -> list[str]:
    if refs is None:
        return []
    if not isinstance(refs, list):
        raise field_error("reviewers", "A list of accounts is required.")
    return [_reviewer(ctx, r) for r in refs]


def _reviewer(ctx: Ctx, ref: object) -> str:
    uuid = ref.get("uuid") if isinstance(ref, dict) else None
    user = next((u for u in ctx.users.values() if u["uuid"] == uuid), None)
    if user is None:
        raise field_error("reviewers", f"{uuid} is not a valid user.")
    return str(user["username"])


@route("get", PR + "/{pull_request_id}")
def get_pullrequest(ctx: Ctx) -> J:
    repo = repo_for(ctx)
    return render(ctx, repo, _pr(ctx, repo))


@route("put", PR + "/{pull_request_id}")
def update_pullrequest(ctx: Ctx) -> J:
    if ctx.cred.kind == "api_token" and ctx.world.settings.pr_update_refuses_api_tokens:
        raise BitbucketError(403, "This endpoint does not support token-based authentication")
    repo = repo_for(ctx, "write")
    pr = _pr(ctx, repo)
    body = ctx.fields()
    if "title" in body:
        if not isinstance(body["title"], str) or not body["title"].strip():
            raise field_error("title", "A non-empty string is required.")
        pr["title"] = body["title"]
    if "description" in body:
        if not isinstance(body["description"], str):
            raise field_error("description", "A string is required.")
        pr["description"] = body["description"]
    destination = _name(body, "destination")
    if destination:
        head = ctx.world.repo_git(repo).branch_head(destination)
        if head is None:
            raise field_error("destination", f"branch not found: {destination}")
        pr["destination_branch"], pr["destination_commit"] = destination, head
    if "reviewers" in body:
        pr["reviewers"] = _reviewers(ctx, body["reviewers"])
    pr["updated_on"] = ctx.world.now()
    ctx.world.store.put("pullrequest", _key(repo, pr["id"]), pr, parent=repo["full_name"])
    _emit(ctx, repo, "pullrequest:updated", pr)
    return render(ctx, repo, pr)


@route("get", PR + "/{pull_request_id}/comments")
def list_comments(ctx: Ctx) -> J:
    repo = repo_for(ctx)
    pr = _pr(ctx, repo)
    comments = ctx.world.store.children("pr_comment", _key(repo, pr["id"]))
    return ctx.page(comments, render=lambda c: ctx.r.pr_comment(repo, pr, c, ctx.users))


@route("post", PR + "/{pull_request_id}/comments")
def create_comment(ctx: Ctx) -> Response:
    repo = repo_for(ctx)
    pr = _pr(ctx, repo)
    user = _user_or_403(ctx)
    body = ctx.fields()
    content = body.get("content")
    raw = content.get("raw") if isinstance(content, dict) else None
    if not isinstance(raw, str) or not raw.strip():
        raise field_error("content", "content.raw is required.")
    extra: J = {}
    inline = body.get("inline")
    if inline is not None:
        extra["inline"] = _inline(inline)
    parent = body.get("parent")
    if parent is not None:
        parent_id = parent.get("id") if isinstance(parent, dict) else None
        if (
            not isinstance(parent_id, int)
            or ctx.world.store.get("pr_comment", f"{_key(repo, pr['id'])}:{parent_id}") is None
        ):
            raise field_error("parent", "parent.id must name a comment on this pull request.")
        extra["parent_id"] = parent_id
    comment = new_comment(ctx.world, "pr_comment", _key(repo, pr["id"]), user, raw, **extra)
    _participate(ctx, repo, pr, user)
    out = ctx.r.pr_comment(repo, pr, comment, ctx.users)
    _emit(ctx, repo, "pullrequest:comment_created", pr, comment=out)
    return _created(out, out["links"]["self"]["href"])


def _inline(inline: object) -> J:
    """``path`` and the anchor lines; a null line is left out (the schema has no null for ``from``/``to``)."""
    if not isinstance(inline, dict) or not isinstance(inline.get("path"), str):
        raise field_error("inline", "inline.path is required.")
    out: J = {"path": inline["path"]}
    for key in ("from", "to"):
        line = inline.get(key)
        if line is None:
            continue
        if not isinstance(line, int) or isinstance(line, bool) or line < 1:
            raise field_error("inline", f"inline.{key} must be a line number (1 or more).")
        out[key] = line
    return out


def _participate(ctx: Ctx, repo: Doc, pr: Doc, user: Doc, **changes: Any) -> Doc:
    entry = next((p for p in pr["participants"] if p["user"] == user["username"]), None)
    if entry is None:
        entry = {
            "user": user["username"],
            "approved": False,
            "state": None,
            "role": "REVIEWER" if user["username"] in pr["reviewers"] else "PARTICIPANT",
        }
        pr["participants"].append(entry)
    entry.update(changes, participated_on=ctx.world.now())
    ctx.world.store.put("pullrequest", _key(repo, pr["id"]), pr, parent=repo["full_name"])
    return entry


def _review(ctx: Ctx, state: str, doing: str, event: str, field: str) -> J:
    """Approve or request changes: an open pull request, someone else's, and the caller becomes a participant."""
    repo = repo_for(ctx)
    pr = _pr(ctx, repo)
    user = _user_or_403(ctx)
    if pr["state"] != "OPEN":
        raise BitbucketError(400, f"You can't {doing} a pull request that is not open.")
    if pr["author"] == user["username"]:
        raise BitbucketError(400, f"You can't {doing} your own pull request.")
    entry = _participate(ctx, repo, pr, user, approved=state == "approved", state=state)
    _emit(ctx, repo, event, pr, **{field: {"date": entry["participated_on"], "user": ctx.r.user(user)}})
    return ctx.r.participant(user, entry)


def _withdraw(ctx: Ctx, state: str, never: str, event: str) -> Response:
    """Take back an approval or a change request the caller made."""
    repo = repo_for(ctx)
    pr = _pr(ctx, repo)
    user = _user_or_403(ctx)
    if not any(p["user"] == user["username"] and p["state"] == state for p in pr["participants"]):
        raise BitbucketError(400, f"You haven't {never} this pull request.")
    _participate(ctx, repo, pr, user, approved=False, state=None)
    _emit(ctx, repo, event, pr)
    return Response(status_code=204)


@route("post", PR + "/{pull_request_id}/approve")
def approve(ctx: Ctx) -> J:
    return _review(ctx, "approved", "approve", "pullrequest:approved", "approval")


@route("delete", PR + "/{pull_request_id}/approve")
def unapprove(ctx: Ctx) -> Response:
    return _withdraw(ctx, "approved", "approved", "pullrequest:unapproved")


@route("post", PR + "/{pull_request_id}/request-changes")
def request_changes(ctx: Ctx) -> J:
    return _review(
        ctx, "changes_requested", "request changes on", "pullrequest:changes_request_created", "changes_request"
    )


@route("delete", PR + "/{pull_request_id}/request-changes")
def remove_change_request(ctx: Ctx) -> Response:
    return _withdraw(ctx, "changes_requested", "requested changes on", "pullrequest:changes_request_removed")


def _open_pr(ctx: Ctx, level: str = "write") -> tuple[Doc, Doc, Doc]:
    repo = repo_for(ctx, level)
    pr = _pr(ctx, repo)
    if pr["state"] != "OPEN":
        raise BitbucketError(
            400, f"The pull request is {pr['state'].lower()}; only open pull requests can be merged or declined."
        )
    return repo, pr, _user_or_403(ctx)


@route("post", PR + "/{pull_request_id}/merge")
def merge(ctx: Ctx) -> J:
    repo, pr, user = _open_pr(ctx)
    body = ctx.fields()
    strategy = body.get("merge_strategy") or "merge_commit"
    if strategy not in ("merge_commit", "squash", "fast_forward"):
        raise field_error("merge_strategy", "Must be merge_commit, squash or fast_forward.")
    git = ctx.world.repo_git(repo)
    source, destination = git.branch_head(pr["source_branch"]), git.branch_head(pr["destination_branch"])
    if source is None or destination is None:
        raise BitbucketError(409, "The source or destination branch no longer exists.")
    message = body.get("message") or f"Merged in {pr['source_branch']} (pull request #{pr['id']})\n\n{pr['title']}"
    try:
        head = git.merge(source, destination, str(message), author_line(user), ctx.world.clock.now(), strategy)
    except MergeConflict as exc:
        raise BitbucketError(409, "Merge conflict", detail=f"Conflicts in: {', '.join(exc.paths)}") from None
    git.set_branch(pr["destination_branch"], head)
    ctx.world.emit(
        repo["full_name"],
        "repo:push",
        push_payload(ctx, repo, git, pr["destination_branch"], old=destination, new=head),
    )
    close = body.get("close_source_branch", pr["close_source_branch"])
    if close and pr["source_branch"] != repo["mainbranch"]:
        git.delete_branch(pr["source_branch"])
    pr.update(
        state="MERGED", merge_commit=head, closed_by=user["username"], updated_on=ctx.world.now(), source_commit=source
    )
    ctx.world.store.put("pullrequest", _key(repo, pr["id"]), pr, parent=repo["full_name"])
    _emit(ctx, repo, "pullrequest:fulfilled", pr)
    return render(ctx, repo, pr)


@route("post", PR + "/{pull_request_id}/decline")
def decline(ctx: Ctx) -> J:
    repo, pr, user = _open_pr(ctx)
    pr.update(
        state="DECLINED",
        closed_by=user["username"],
        updated_on=ctx.world.now(),
        reason=str(ctx.fields().get("reason") or ""),
    )
    ctx.world.store.put("pullrequest", _key(repo, pr["id"]), pr, parent=repo["full_name"])
    _emit(ctx, repo, "pullrequest:rejected", pr)
    return render(ctx, repo, pr)


@route("get", PR + "/{pull_request_id}/diff")
def pr_diff(ctx: Ctx) -> Response:
    repo = repo_for(ctx)
    pr = _pr(ctx, repo)
    git = ctx.world.repo_git(repo)
    src = git.branch_head(pr["source_branch"]) or pr["source_commit"]
    dst = git.branch_head(pr["destination_branch"]) or pr["destination_commit"]
    url = (
        f"{ctx.r.api}/repositories/{repo['full_name']}/diff/{repo['full_name']}:{src[:12]}%0D{dst[:12]}"
        f"?from_pullrequest_id={pr['id']}&topic=true"
    )
    return RedirectResponse(url, status_code=302)
