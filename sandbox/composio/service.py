"""The Composio Tool Router emulator as a sandbox service: REST API, session MCP endpoint and admin routes.

Its origin is what the SDK takes as ``base_url`` (``urls()["composio_api"]``). Run-time state is only the
settings and a counter for request/log ids; sessions and connected accounts live in the world's store.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp

from sandbox.composio.accounts import Accounts
from sandbox.composio.api import RestApi, error_response
from sandbox.composio.errors import (
    INTERNAL,
    NOT_FOUND,
    SESSION_NOT_FOUND,
    UNAUTHORIZED,
    ComposioApiError,
    J,
)
from sandbox.composio.mcp_server import build_server
from sandbox.composio.router import Router, Settings
from sandbox.composio.sessions import Sessions
from sandbox.mcp_http import McpEndpoint
from sandbox.service import ServiceContext
from sandbox.upstream import BitbucketUpstream

log = logging.getLogger("sandbox.composio")


class ComposioService:
    name = "composio"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.settings = Settings()
        self.accounts = Accounts(ctx.world)
        self.sessions = Sessions(ctx.world)
        self.upstream = BitbucketUpstream(ctx.bitbucket_api)
        self.router = Router(ctx.world, self.accounts, self.upstream, self.settings)
        self.mcp = McpEndpoint(
            build_server(self),
            "stateless-json",
            gate=self.gate,
            allowed_origins=lambda: self.settings.mcp_allowed_origins,
        )
        self.mcp.set_mode(self.settings.mcp_transport)
        self.rest = RestApi(self)
        self._ids = itertools.count(1)

    def next_id(self, prefix: str) -> str:
        """Request and log ids: a counter, so that a run's ids repeat exactly after a reset."""
        return (
            prefix
            + hashlib.sha256(f"{self.ctx.world.ids.stable('composio-ids')}:{next(self._ids)}".encode()).hexdigest()[:20]
        )

    # the app ----------------------------------------------------------------------------------------------
    def asgi(self) -> ASGIApp:
        # The MCP path is a Route to the endpoint's ASGI app (not a Mount), so /mcp answers without a redirect.
        routes = [*self.rest.routes(), Route("/tool_router/{session_id}/mcp", self.mcp)]
        return Starlette(routes=routes, exception_handlers={HTTPException: self._http_error, Exception: self._crash})

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = "Method not allowed" if exc.status_code == 405 else f"No route for {request.url.path}"
        response = error_response(ComposioApiError(exc.status_code, NOT_FOUND, message), self.next_id("req_"))
        if exc.status_code == 405:  # name every method the path takes (RFC 9110), from all routes on that path
            allowed = {
                method
                for route in request.app.router.routes
                if isinstance(route, Route) and route.matches(request.scope)[0] is not Match.NONE
                for method in route.methods or ()
            }
            response.headers["Allow"] = ", ".join(sorted(allowed))
        return response

    async def _crash(self, request: Request, exc: Exception) -> Response:
        log.exception("unhandled error for %s %s", request.method, request.url.path)
        error = ComposioApiError(500, INTERNAL, f"Internal error: {type(exc).__name__}")
        return error_response(error, self.next_id("req_"))

    async def gate(self, request: Request) -> Response | None:
        """The MCP endpoint's auth: the project key, then a live session (JSON-RPC envelope, Composio error)."""
        if not self.accounts.valid_key(request.headers.get("x-api-key")):
            return self._mcp_refusal(
                ComposioApiError(
                    401, UNAUTHORIZED, "Invalid or missing API key: send the project API key in the x-api-key header"
                )
            )
        session_id = str(request.path_params.get("session_id", ""))
        if self.sessions.get(session_id) is None:
            return self._mcp_refusal(
                ComposioApiError(404, SESSION_NOT_FOUND, f"Tool router session {session_id} not found")
            )
        return None

    def _mcp_refusal(self, exc: ComposioApiError) -> Response:
        return JSONResponse({"jsonrpc": "2.0", "id": None, **exc.body(self.next_id("req_"))}, status_code=exc.status)

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        async with self.mcp.lifespan():
            yield
        await self.upstream.aclose()

    # sandbox integration ----------------------------------------------------------------------------------
    def urls(self) -> dict[str, str]:
        return {"composio_api": self.ctx.origin}

    def credentials(self) -> dict[str, object]:
        accounts = [
            {
                k: v
                for k, v in self.accounts.public(a).items()
                if k in ("user_id", "bitbucket_user", "id", "scopes", "status")
            }
            | {"label": a.get("label", "")}
            for a in self.accounts.all()
        ]
        return {"composio": {"api_keys": self.accounts.api_keys(), "connected_accounts": accounts}}

    async def reset(self) -> None:
        self.settings.__dict__.update(Settings().__dict__)
        self.mcp.set_mode(self.settings.mcp_transport)
        self._ids = itertools.count(1)

    def admin_routes(self) -> list[Route]:
        return [
            Route("/composio/settings", self.admin_settings, methods=["GET", "PATCH"]),
            Route("/composio/sessions", self.admin_sessions, methods=["GET"]),
            Route("/composio/connections", self.admin_connections, methods=["GET", "POST"]),
            Route("/composio/connections/{account_id}", self.admin_connection, methods=["GET", "DELETE"]),
            Route("/composio/connections/{account_id}/complete", self.admin_complete, methods=["POST"]),
        ]

    # admin ------------------------------------------------------------------------------------------------
    async def admin_settings(self, request: Request) -> Response:
        if request.method == "PATCH":
            self.settings.update(await _json(request))
            self.mcp.set_mode(self.settings.mcp_transport)
        return JSONResponse(self.settings.public())

    async def admin_sessions(self, request: Request) -> Response:
        return JSONResponse({"sessions": self.sessions.all()})

    async def admin_connections(self, request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request)
            if not isinstance(body.get("user_id"), str) or not body["user_id"]:
                raise ValueError("user_id is required")
            scopes = body.get("scopes")
            if scopes is not None and not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
                raise ValueError("scopes must be a list of strings")
            account = self.accounts.create(
                body["user_id"],
                body.get("bitbucket_user"),
                scopes=scopes,
                status=body.get("status", "ACTIVE"),
                account_id=body.get("id"),
            )
            return JSONResponse(self.accounts.public(account), status_code=201)
        user_id = request.query_params.get("user_id")
        accounts = self.accounts.for_user(user_id) if user_id else self.accounts.all()
        return JSONResponse({"connections": [self.accounts.public(a) for a in accounts]})

    async def admin_connection(self, request: Request) -> Response:
        account_id = request.path_params["account_id"]
        account = self.accounts.get(account_id)
        if account is None:
            return JSONResponse({"error": f"no connected account {account_id!r}"}, status_code=404)
        if request.method == "DELETE":
            self.accounts.delete(account_id)
            return Response(status_code=204)
        return JSONResponse(self.accounts.public(account))

    async def admin_complete(self, request: Request) -> Response:
        """Stands for the user approving a pending connection on Bitbucket (what opening redirect_url does)."""
        body = await _json(request)
        try:
            account = self.accounts.complete(
                request.path_params["account_id"], body.get("bitbucket_user"), body.get("scopes")
            )
        except LookupError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        return JSONResponse(self.accounts.public(account))


async def _json(request: Request) -> J:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body: Any = await request.json()
    except ValueError:
        raise ValueError("request body: malformed JSON") from None
    if not isinstance(body, dict):
        raise ValueError("request body: a JSON object is required")
    return body


def create_service(ctx: ServiceContext) -> ComposioService:
    return ComposioService(ctx)
