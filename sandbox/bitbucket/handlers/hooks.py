"""Repository webhook subscriptions (``R/hooks``)."""

from __future__ import annotations

from starlette.responses import Response

from sandbox.bitbucket.context import Ctx, J
from sandbox.bitbucket.errors import BitbucketError, field_error
from sandbox.bitbucket.handlers.repositories import repo_for
from sandbox.bitbucket.handlers.source import _created
from sandbox.bitbucket.operations import openapi_document
from sandbox.bitbucket.routing import route
from sandbox.bitbucket.store import Doc
from sandbox.bitbucket.webhooks import is_loopback_url

HOOKS = "/repositories/{workspace}/{repo_slug}/hooks"


def known_events() -> set[str]:
    schema = openapi_document()["components"]["schemas"]["webhook_subscription"]
    props = schema["allOf"][1]["properties"] if "allOf" in schema else schema["properties"]
    return set(props["events"]["items"]["enum"])


def _hook(ctx: Ctx, repo: Doc) -> Doc:
    uid = ctx.param("uid")
    uid = uid if uid.startswith("{") else "{" + uid + "}"
    hook = ctx.world.store.get("hook", uid)
    if hook is None or hook["repository"] != repo["full_name"]:
        raise BitbucketError(404, f"Webhook {ctx.param('uid')} not found")
    return hook


def _validated(body: J, partial: bool = False) -> J:
    out: J = {}
    if "url" in body or not partial:
        url = body.get("url")
        if not isinstance(url, str) or not url:
            raise field_error("url", "This field is required.")
        if not is_loopback_url(url):
            raise field_error(
                "url", "The sandbox delivers webhooks to loopback addresses only (127.0.0.1, ::1, localhost)."
            )
        out["url"] = url
    if "events" in body or not partial:
        events = body.get("events")
        if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
            raise field_error("events", "A non-empty list of event keys is required.")
        unknown = sorted(set(events) - known_events())
        if unknown:
            raise field_error("events", f"Unknown events: {', '.join(unknown)}")
        out["events"] = sorted(set(events))
    if "description" in body:
        if not isinstance(body["description"], str):
            raise field_error("description", "A string is required.")
        out["description"] = body["description"]
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise field_error("active", "A boolean is required.")
        out["active"] = body["active"]
    if "secret" in body:
        secret = body["secret"]
        if secret is not None and (not isinstance(secret, str) or len(secret) > 128):
            raise field_error("secret", "A string of at most 128 characters is required.")
        out["secret"] = secret
    return out


@route("get", HOOKS)
def list_hooks(ctx: Ctx) -> J:
    repo = repo_for(ctx, "admin")
    return ctx.page(ctx.world.store.children("hook", repo["full_name"]), render=lambda h: ctx.r.hook(repo, h))


@route("post", HOOKS)
def create_hook(ctx: Ctx) -> Response:
    repo = repo_for(ctx, "admin")
    fields = _validated(ctx.fields())
    uuid = ctx.world.ids.uuid("hook")
    hook = {
        "uuid": uuid,
        "description": "",
        "active": True,
        "secret": None,
        **fields,
        "repository": repo["full_name"],
        "created_at": ctx.world.now(),
    }
    ctx.world.store.put("hook", uuid, hook, parent=repo["full_name"])
    out = ctx.r.hook(repo, hook)
    return _created(out, out["links"]["self"]["href"])


@route("get", HOOKS + "/{uid}")
def get_hook(ctx: Ctx) -> J:
    repo = repo_for(ctx, "admin")
    return ctx.r.hook(repo, _hook(ctx, repo))


@route("put", HOOKS + "/{uid}")
def update_hook(ctx: Ctx) -> J:
    repo = repo_for(ctx, "admin")
    hook = _hook(ctx, repo)
    hook.update(_validated(ctx.fields(clearable=("secret",)), partial=True))  # "secret": null removes it
    ctx.world.store.put("hook", hook["uuid"], hook, parent=repo["full_name"])
    return ctx.r.hook(repo, hook)


@route("delete", HOOKS + "/{uid}")
def delete_hook(ctx: Ctx) -> Response:
    repo = repo_for(ctx, "admin")
    hook = _hook(ctx, repo)
    ctx.world.store.delete("hook", hook["uuid"])
    return Response(status_code=204)
