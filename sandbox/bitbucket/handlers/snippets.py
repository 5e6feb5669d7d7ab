"""Snippets: create (multipart or JSON), list, get, and their comments."""

from __future__ import annotations

import hashlib

from starlette.responses import Response

from sandbox.bitbucket.context import Ctx, J
from sandbox.bitbucket.errors import BitbucketError, field_error
from sandbox.bitbucket.handlers.source import _created
from sandbox.bitbucket.records import new_comment
from sandbox.bitbucket.routing import route
from sandbox.bitbucket.store import Doc


def _ws(ctx: Ctx) -> Doc:
    return ctx.world.require_workspace(ctx.cred, ctx.param("workspace"))


def _snippet(ctx: Ctx, ws: Doc) -> Doc:
    snip = ctx.world.store.get("snippet", f"{ws['slug']}/{ctx.param('encoded_id')}")
    if snip is None or (snip["is_private"] and not ctx.world.can_see_workspace(ctx.cred, ws["slug"])):
        raise BitbucketError(404, f"Snippet {ctx.param('encoded_id')} not found")
    return snip


def _list(ctx: Ctx, workspaces: list[Doc]) -> J:
    values = [
        ctx.r.snippet(ws, s, ctx.users) for ws in workspaces for s in ctx.world.store.children("snippet", ws["slug"])
    ]
    return ctx.page(values)


@route("get", "/snippets")
def list_all(ctx: Ctx) -> J:
    visible = [w for w in ctx.world.store.all("workspace") if ctx.world.can_see_workspace(ctx.cred, w["slug"])]
    return _list(ctx, visible)


@route("get", "/snippets/{workspace}")
def list_workspace(ctx: Ctx) -> J:
    return _list(ctx, [_ws(ctx)])


def _create(ctx: Ctx, ws: Doc) -> Response:
    if ctx.me is None:
        raise BitbucketError(403, "Snippets are created by user accounts.")
    files: dict[str, str] = {}
    meta: J = {}
    if ctx.form is not None:
        for key, value in ctx.form:
            if key == "file":
                files[f"file{len(files) + 1}.txt" if files else "file.txt"] = (
                    value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                )
            else:
                meta[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    else:
        meta = ctx.fields()
        raw_files = meta.get("files") or {}
        if not isinstance(raw_files, dict):
            raise field_error("files", "An object mapping file names to contents is required.")
        files = {name: (v.get("content", "") if isinstance(v, dict) else str(v)) for name, v in raw_files.items()}
    title = meta.get("title", "")
    if not isinstance(title, str):
        raise field_error("title", "A string is required.")
    is_private = meta.get("is_private", True)
    if isinstance(is_private, str):
        is_private = is_private.lower() != "false"
    if not files:
        raise field_error("files", "A snippet needs at least one file.")
    number = ctx.world.store.next_value("snippet")
    encoded = hashlib.sha1(f"{ws['slug']}:{number}".encode()).hexdigest()[:5]
    now = ctx.world.now()
    snip = {
        "id": number,
        "encoded_id": encoded,
        "title": title,
        "is_private": bool(is_private),
        "creator": ctx.me["username"],
        "files": files,
        "created_on": now,
        "updated_on": now,
    }
    ctx.world.store.put("snippet", f"{ws['slug']}/{encoded}", snip, parent=ws["slug"])
    out = ctx.r.snippet(ws, snip, ctx.users)
    return _created(out, out["links"]["self"]["href"])


@route("post", "/snippets")
def create_default(ctx: Ctx) -> Response:
    ws = next((w for w in ctx.world.store.all("workspace") if ctx.world.can_see_workspace(ctx.cred, w["slug"])), None)
    if ws is None:
        raise BitbucketError(403, "You are not a member of any workspace.")
    return _create(ctx, ws)


@route("post", "/snippets/{workspace}")
def create_in_workspace(ctx: Ctx) -> Response:
    return _create(ctx, _ws(ctx))


@route("get", "/snippets/{workspace}/{encoded_id}")
def get_snippet(ctx: Ctx) -> J:
    ws = _ws(ctx)
    return ctx.r.snippet(ws, _snippet(ctx, ws), ctx.users)


@route("get", "/snippets/{workspace}/{encoded_id}/comments")
def list_snippet_comments(ctx: Ctx) -> J:
    ws = _ws(ctx)
    snip = _snippet(ctx, ws)
    comments = ctx.world.store.children("snippet_comment", f"{ws['slug']}/{snip['encoded_id']}")
    return ctx.page(comments, render=lambda c: ctx.r.snippet_comment(ws, snip, c, ctx.users))


@route("post", "/snippets/{workspace}/{encoded_id}/comments")
def create_snippet_comment(ctx: Ctx) -> Response:
    ws = _ws(ctx)
    snip = _snippet(ctx, ws)
    body = ctx.fields()
    content = body.get("content")
    raw = content.get("raw") if isinstance(content, dict) else None
    if not isinstance(raw, str) or not raw.strip():
        raise field_error("content", "content.raw is required.")
    extra: J = {}
    parent = body.get("parent")
    if parent is not None:
        pid = parent.get("id") if isinstance(parent, dict) else None
        if (
            not isinstance(pid, int)
            or ctx.world.store.get("snippet_comment", f"{ws['slug']}/{snip['encoded_id']}:{pid}") is None
        ):
            raise field_error("parent", "parent.id must name a comment on this snippet.")
        extra["parent_id"] = pid
    comment = new_comment(ctx.world, "snippet_comment", f"{ws['slug']}/{snip['encoded_id']}", ctx.me, raw, **extra)
    out = ctx.r.snippet_comment(ws, snip, comment, ctx.users)
    return _created(out, out["links"]["self"]["href"])
