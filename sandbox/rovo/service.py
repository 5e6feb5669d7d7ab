"""The Atlassian Rovo MCP server (API-token path, Bitbucket tools) as a sandbox service.

It serves ``/v1/mcp`` only, at that exact path (no trailing-slash redirect, no ``/v1/sse``, no ``/v2/mcp``):

* POST/GET/DELETE: MCP streamable HTTP, behind the authentication gate (see ``auth``). Transport mode per
  ``RovoSettings.mcp_transport``; in stateful modes a session belongs to the credential that opened it, and
  any other credential using its id gets 404 "Session not found" (the SDK's own session-owner check).
* HEAD, or a GET without ``Mcp-Session-Id`` that does not ask for an event stream: 200 when the credentials
  are accepted (the documented ``curl -I .../v1/mcp -H "Authorization: ..."`` check), the gate's 401/403
  otherwise. A GET that asks for an event stream goes to the transport as the MCP spec says.
* A request whose ``Accept`` lacks what the mode needs gets the SDK's 406 JSON-RPC error ("Not Acceptable:
  Client must accept both application/json and text/event-stream" in SSE mode): a clear refusal, not a
  fallback to JSON.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.bitbucket.world import World
from sandbox.fixtures import Fixture
from sandbox.mcp_http import McpEndpoint
from sandbox.rovo import settings as rovo_settings
from sandbox.rovo.auth import gate_for
from sandbox.rovo.mcp_server import RovoTools
from sandbox.rovo.settings import ORG_FIELDS, RovoSettings
from sandbox.service import ServiceContext
from sandbox.upstream import BitbucketUpstream

MCP_PATH = "/v1/mcp"


class RovoMcpApp:
    """``/v1/mcp``: the authentication check for HEAD and plain GET, MCP for everything else."""

    def __init__(self, endpoint: McpEndpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if self._is_probe(request):
            assert self.endpoint.gate is not None
            refused = await self.endpoint.gate(request)
            response = refused or JSONResponse({"status": "ok", "endpoint": MCP_PATH, "transport": "streamable-http"})
            await response(scope, receive, send)
            return
        await self.endpoint(scope, receive, send)

    @staticmethod
    def _is_probe(request: Request) -> bool:
        if request.method == "HEAD":
            return True
        return (
            request.method == "GET"
            and "mcp-session-id" not in request.headers
            and "text/event-stream" not in request.headers.get("accept", "")
        )


class RovoService:
    name = "rovo"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.settings = RovoSettings()
        self.upstream = BitbucketUpstream(ctx.bitbucket_api)
        self.tools = RovoTools(ctx.world, self.upstream, lambda: self.settings)
        self.endpoint = McpEndpoint(
            self.tools.server,
            self.settings.mcp_transport,
            gate_for(ctx.world),
            allowed_origins=lambda: self.settings.mcp_allowed_origins,
        )

    def asgi(self) -> ASGIApp:
        app = Starlette(
            routes=[Route(MCP_PATH, RovoMcpApp(self.endpoint))], exception_handlers={HTTPException: _http_error}
        )
        app.router.redirect_slashes = False  # /v1/mcp/ is not the endpoint, and a redirect would hide that
        return app

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        try:
            async with self.endpoint.lifespan():
                yield
        finally:
            await self.upstream.aclose()

    def urls(self) -> dict[str, str]:
        return {"rovo_mcp": self.ctx.origin + MCP_PATH}

    def admin_routes(self) -> list[Route]:
        return [Route("/rovo/settings", self.settings_endpoint, methods=["GET", "PATCH"])]

    def credentials(self) -> dict[str, object]:
        org = rovo_settings.org(self.ctx.world)
        return {"rovo": {"cloud_id": org.cloud_id, "site_url": org.site_url, "site_name": org.site_name}}

    async def reset(self) -> None:
        self.settings = RovoSettings()
        self.endpoint.set_mode(self.settings.mcp_transport)

    async def settings_endpoint(self, request: Request) -> Response:
        """GET or PATCH the run-time switches and the organisation's facts (``api_token_auth``, site)."""
        if request.method == "PATCH":
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of settings to change")
            # Both parts are checked before either is applied: a bad request (the admin API's 400) changes nothing.
            org = rovo_settings.changed_org(self.ctx.world, {k: v for k, v in changes.items() if k in ORG_FIELDS})
            self.settings.update({k: v for k, v in changes.items() if k not in ORG_FIELDS})
            rovo_settings.save_org(self.ctx.world, org)
            self.endpoint.set_mode(self.settings.mcp_transport)
        return JSONResponse(self._public())

    def _public(self) -> dict[str, Any]:
        return {**self.settings.public(), **rovo_settings.org(self.ctx.world).model_dump()}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        {"error": f"{exc.status_code}: nothing is served at {request.url.path}; the Rovo MCP endpoint is {MCP_PATH}"},
        status_code=exc.status_code,
    )


def create_service(ctx: ServiceContext) -> RovoService:
    return RovoService(ctx)


def load_fixture(world: World, fixture: Fixture) -> None:
    rovo_settings.load_fixture(world, fixture)
