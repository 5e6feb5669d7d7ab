"""The Bitbucket REST 2.0 ASGI application: routing, authentication, limits, scopes, errors."""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Message, Receive, Scope, Send

from sandbox.bitbucket import handlers  # noqa: F401  (registers the handlers)
from sandbox.bitbucket.context import Ctx
from sandbox.bitbucket.errors import MISSING_SCOPE, BitbucketError, bad_request
from sandbox.bitbucket.operations import Operation, operation
from sandbox.bitbucket.ratelimit import RateLimiter
from sandbox.bitbucket.render import Renderer
from sandbox.bitbucket.routing import ENDPOINTS, Endpoint, Handler
from sandbox.bitbucket.scopes import missing_scopes, required_scopes
from sandbox.bitbucket.validation import FORM_TYPES, check_content_type, check_query, media_type
from sandbox.bitbucket.world import World

log = logging.getLogger("sandbox.bitbucket")

NO_API = (
    "There is no API hosted at this URL.\n\nFor information about our API's, please refer to the "
    "documentation at: https://developer.atlassian.com/bitbucket/api/2/reference/"
)


# What json.dumps(content, ensure_ascii=False, separators=(",", ":")) builds on every call, built once.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content).encode("utf-8")


def error_response(exc: BitbucketError) -> Response:
    return Json(exc.envelope(), status_code=exc.status, headers=exc.headers)


class MemoRouter(Router):
    """Starlette's router, remembering the route each (method, path) resolved to.

    Starlette tries the routes' regular expressions in order on every request (about twenty here). The routes
    never change after ``build()`` and a route's match depends only on the path and the method, so the
    remembered answer is the one the scan would give. Paths that no route matches (404s, trailing-slash
    redirects) and anything but plain HTTP requests take Starlette's own path every time.
    """

    _MAX_ENTRIES = 10_000

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes)
        self._memo: dict[tuple[str, str, str], tuple[BaseRoute, Scope]] = {}

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and b"%2f" in scope.get("raw_path", b"").lower():
            scope["path"] = keep_encoded_slashes(scope["raw_path"])
        if scope["type"] != "http" or scope.get("path_params"):
            await super().app(scope, receive, send)
            return
        key = (scope["method"], scope.get("root_path", ""), scope["path"])
        hit = self._memo.get(key)
        if hit is None:
            hit = self._resolve(scope)
            if hit is None:
                await super().app(scope, receive, send)
                return
            if len(self._memo) >= self._MAX_ENTRIES:
                self._memo.clear()
            self._memo[key] = hit
        route, child_scope = hit
        if "router" not in scope:
            scope["router"] = self
        scope["route"] = route
        scope.update(child_scope)
        scope["path_params"] = dict(child_scope["path_params"])  # a fresh dict per request, as Starlette gives
        await route.handle(scope, receive, send)

    def _resolve(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The first full match, else the first partial one (a 405), as in ``Router.app``."""
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        return partial


ENCODED_SLASH = "\ue000"  # stands for a %2F inside one path segment until the handler reads its parameter


def keep_encoded_slashes(raw_path: bytes) -> str:
    """The decoded path, with each %2F kept apart from the path's own slashes.

    The server decodes %2F into "/" before routing, which would split ``src/feature%2Flogin/README.md`` at the
    wrong place; Bitbucket treats ``feature%2Flogin`` as one segment, the branch ``feature/login``.
    """
    marked = re.sub(rb"%2[fF]", ENCODED_SLASH.encode(), raw_path)
    return unquote(marked.decode("utf-8", "replace"))


def _path(request: Request) -> str:
    """``request.url.path`` without building the whole URL (which parses the Host header on every request)."""
    path: str = request.scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


class AccessLog:
    """The last requests the API served, for tests and the admin API (never credentials)."""

    def __init__(self, size: int = 5000) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=size)

    def add(self, method: str, path: str, status: int, who: str) -> None:
        self.entries.append({"method": method, "path": path, "status": status, "credential": who})


class BitbucketAPI:
    def __init__(self, world: World) -> None:
        self.world = world
        self.limiter = RateLimiter()
        self.access_log = AccessLog()

    def starlette_path(self, ep: Endpoint) -> str:
        path = ep.path
        for name in ep.greedy:
            path = path.replace("{" + name + "}", "{" + name + ":path}")
        path = path.replace("{pull_request_id}", "{pull_request_id:int}")
        path = path.replace("{issue_id}", "{issue_id:int}").replace("{comment_id}", "{comment_id:int}")
        return "/2.0" + path

    def build(self) -> Starlette:
        grouped: dict[str, dict[str, tuple[Operation, Handler]]] = {}
        for ep in ENDPOINTS:
            grouped.setdefault(self.starlette_path(ep), {})[ep.method.upper()] = (
                operation(ep.method, ep.path),
                ep.handler,
            )
        # Literal segments must win over parameters that would swallow them (e.g. .../src vs .../{path}).
        ordered = sorted(grouped.items(), key=lambda kv: (kv[0].count("{"), -len(kv[0])))
        routes = [Route(path, self._endpoint(methods), methods=list(methods)) for path, methods in ordered]
        routes.append(Route("/site/oauth2/access_token", self._oauth, methods=["POST"]))
        app = Starlette(routes=routes, exception_handlers={HTTPException: self._http_error, Exception: self._crash})
        app.router = MemoRouter(routes)
        return app

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            err = BitbucketError(404, "Resource not found", detail=NO_API)
        elif exc.status_code == 405:
            err = BitbucketError(405, f"Method {request.method} is not allowed on this resource")
        else:
            err = BitbucketError(exc.status_code, exc.detail or "Error")
        err.headers = dict(exc.headers or {})  # a 405 names the methods the resource takes (Allow, RFC 9110)
        return error_response(err)

    async def _crash(self, request: Request, exc: Exception) -> Response:
        log.exception("unhandled error for %s %s", request.method, request.url.path)
        return error_response(BitbucketError(500, "Something went wrong", detail=type(exc).__name__))

    def _endpoint(self, methods: dict[str, tuple[Operation, Handler]]) -> Any:
        async def endpoint(request: Request) -> Response:
            op, handler = methods["GET" if request.method == "HEAD" else request.method]
            response = await self.dispatch(request, op, handler)
            who = getattr(request.state, "credential", "anonymous")
            self.access_log.add(request.method, _path(request), response.status_code, who)
            return response

        return endpoint

    async def dispatch(self, request: Request, op: Operation, handler: Handler) -> Response:
        world = self.world
        extra: dict[str, str] = {}
        try:
            cred = world.authenticate(request.headers.get("authorization"))
            request.state.credential = cred.key
            extra = self.limiter.check(cred.key, cred.rate_limit, world.epoch())
            missing = missing_scopes(self._effective(op), cred.vocabulary, cred.scopes)
            if missing and not cred.anonymous:
                raise BitbucketError(
                    403,
                    MISSING_SCOPE,
                    detail={
                        "granted": list(cred.granted_order),
                        "required": required_scopes(self._effective(op), cred.vocabulary),
                    },
                )
            ctx = Ctx(
                world,
                cred,
                op,
                Renderer(self._base(request)),
                dict(request.path_params),
                request.query_params,
                _path(request),
            )
            check_query(op.method, op.path, request.query_params)
            await self._read_body(request, ctx)
            with world.transaction():
                result = handler(ctx)
        except BitbucketError as exc:
            exc.headers = {**extra, **exc.headers}
            return error_response(exc)
        response = result if isinstance(result, Response) else Json(result)
        if extra:
            response.headers.update(extra)
        return response

    def _effective(self, op: Operation) -> Operation:
        """Operations whose scope rule is configurable per sandbox (see Settings)."""
        if (
            self.world.settings.pr_comment_requires_write
            and op.method == "post"
            and op.path.endswith("/pullrequests/{pull_request_id}/comments")
        ):
            return Operation(
                op.method,
                op.path,
                ("pullrequest:write",),
                ("read:pullrequest:bitbucket", "write:pullrequest:bitbucket"),
                op.deprecated,
            )
        return op

    @staticmethod
    def _base(request: Request) -> str:
        host = request.headers.get("host")
        if host is None:
            server_host, port = request.scope.get("server") or ("127.0.0.1", 80)
            host = f"{server_host}:{port}"
        return f"{request.scope.get('scheme', 'http')}://{host}"

    async def _read_body(self, request: Request, ctx: Ctx) -> None:
        if request.method in ("GET", "DELETE", "HEAD"):
            return
        limit = self.world.settings.max_body_bytes
        raw = await read_limited(request, limit)
        content_type = request.headers.get("content-type")
        check_content_type(content_type, raw)
        if media_type(content_type) in FORM_TYPES:
            try:
                parser = Request(request.scope, replay(raw))
                form = await parser.form(max_files=1000, max_fields=1000, max_part_size=limit)
            except Exception as exc:  # multipart parser errors have no common base class
                raise bad_request(f"Malformed form body: {exc}") from None
            fields: list[tuple[str, str | bytes]] = []
            for key, value in form.multi_items():
                fields.append((key, value if isinstance(value, str) else await value.read()))
            ctx.form = fields
            return
        if raw.strip():
            try:
                ctx.body = json.loads(raw)
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                raise bad_request(f"Malformed JSON body: {exc}") from None

    # OAuth --------------------------------------------------------------------------------------
    async def _oauth(self, request: Request) -> Response:
        from sandbox.bitbucket.oauth import token_endpoint

        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        status, body = token_endpoint(self.world, request.headers.get("authorization"), fields)
        return Json(body, status_code=status, headers={"Cache-Control": "no-store"})


def too_large(limit: int) -> BitbucketError:
    return BitbucketError(413, "Request entity too large", detail=f"The limit is {limit} bytes.")


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, counted as it arrives: a chunked upload declares no length, so the bytes read are what count."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def replay(body: bytes) -> Receive:
    """A ``receive`` that hands an already-read body to a parser (the form parser reads from the stream)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def create_app(world: World) -> tuple[Starlette, BitbucketAPI]:
    api = BitbucketAPI(world)
    return api.build(), api
