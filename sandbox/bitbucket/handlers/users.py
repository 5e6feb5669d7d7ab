"""The caller, workspaces and memberships."""

from __future__ import annotations

from sandbox.bitbucket.context import Ctx, J
from sandbox.bitbucket.errors import BitbucketError
from sandbox.bitbucket.routing import route
from sandbox.bitbucket.store import Doc


def _visible_workspaces(ctx: Ctx) -> list[tuple[Doc, str]]:
    """(workspace, permission) pairs the caller can see."""
    out = []
    for ws in ctx.world.store.all("workspace"):
        if not ctx.world.can_see_workspace(ctx.cred, ws["slug"]):
            continue
        member = ctx.world.membership(ws["slug"], ctx.cred.principal.username if ctx.cred.principal else None)
        out.append((ws, member["permission"] if member else "member"))
    return out


def _require_user(ctx: Ctx) -> Doc:
    if ctx.cred.anonymous:
        raise BitbucketError(
            401,
            "This API is only accessible with the following authentication types: apppassword, api_token, session, jwt",
        )
    user = ctx.me
    if user is None:
        raise BitbucketError(403, "This endpoint requires a user account; access tokens act as a pseudo-user.")
    return user


@route("get", "/user")
def current_user(ctx: Ctx) -> J:
    if ctx.me is None and ctx.cred.principal is not None:
        return ctx.actor()
    return ctx.r.user(_require_user(ctx), full=True) or {}


@route("get", "/user/workspaces")
def user_workspaces(ctx: Ctx) -> J:
    _require_login(ctx)
    admin = ctx.query.get("administrator")
    values: list[J] = [
        {"type": "workspace_access", "administrator": perm == "owner", "workspace": ctx.r.workspace_base(ws)}
        for ws, perm in _visible_workspaces(ctx)
    ]
    if admin in ("true", "false"):
        values = [v for v in values if v["administrator"] == (admin == "true")]
    for v in values:
        v["slug"] = v["workspace"]["slug"]  # lets q=slug="x" and sort=slug work; removed below
    page = ctx.page(values)
    for v in page["values"]:
        v.pop("slug", None)
    return page


def _require_login(ctx: Ctx) -> None:
    if ctx.cred.anonymous:
        raise BitbucketError(
            401,
            "This API is only accessible with the following authentication types: "
            "apppassword, api_token, session, jwt, workspace_access_token",
        )


@route("get", "/user/permissions/workspaces")
def user_workspace_permissions(ctx: Ctx) -> J:
    user = _require_user(ctx)
    values = [{**ctx.r.membership(ws, user, perm)} for ws, perm in _visible_workspaces(ctx)]
    return ctx.page(values)


@route("get", "/workspaces")
def workspaces(ctx: Ctx) -> J:
    _require_login(ctx)
    role = ctx.query.get("role")
    visible = _visible_workspaces(ctx)
    if role == "owner":
        visible = [(w, p) for w, p in visible if p == "owner"]
    elif role not in (None, "member", "collaborator"):
        raise BitbucketError(400, "Invalid role", fields={"role": ["Must be owner, collaborator or member."]})
    return ctx.page([ctx.r.workspace(ws) for ws, _ in visible])


def _workspace(ctx: Ctx) -> Doc:
    return ctx.world.require_workspace(ctx.cred, ctx.param("workspace"), public=True)


@route("get", "/workspaces/{workspace}")
def workspace(ctx: Ctx) -> J:
    return ctx.r.workspace(_workspace(ctx))


@route("get", "/workspaces/{workspace}/members")
def members(ctx: Ctx) -> J:
    _require_login(ctx)
    ws = _workspace(ctx)
    values = []
    for m in ctx.world.store.children("membership", ws["slug"]):
        user = ctx.users.get(m["user"])
        if user:
            entry = ctx.r.membership(ws, user)
            entry["user"]["email"] = user["email"]  # filterable with q=user.email IN (...), removed below
            entry["permission"] = m["permission"]
            values.append(entry)
    page = ctx.page(values, default_pagelen=50)
    for v in page["values"]:
        v["user"].pop("email", None)
        v.pop("permission", None)
    return page
