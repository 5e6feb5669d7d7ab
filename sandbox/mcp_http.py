"""MCP over streamable HTTP for the sandbox's emulated MCP servers (Composio Tool Router, Rovo).

One low-level ``mcp`` server answers in any of three transport modes, switchable at run time:

* ``stateful-sse``: the legacy handshake: ``initialize`` answers with an ``Mcp-Session-Id``, POST replies come
  as SSE, clients open a GET stream and close with DELETE (what the Rovo server does);
* ``stateful-json``: the same session, with ``application/json`` replies;
* ``stateless-json``: no session id, no GET stream, no DELETE, JSON replies: every request stands alone, which
  makes recorded traffic fully deterministic.

Handlers read the HTTP request they serve through ``current_request()`` (headers for auth, the path for the
Composio session id), because in stateful modes a session's handlers run in a task that outlives the request
that created it, so context variables set per request would not reach them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, get_args

from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

TransportMode = Literal["stateful-sse", "stateful-json", "stateless-json"]
TRANSPORT_MODES: tuple[TransportMode, ...] = get_args(TransportMode)

# Checks a request before the MCP layer sees it; returns the response that refuses it, or None to let it in.
Gate = Callable[[Request], Awaitable[Response | None]]


def current_request(server: Server[Any, Any]) -> Request:
    """The HTTP request behind the JSON-RPC message being handled."""
    request = server.request_context.request
    if not isinstance(request, Request):  # pragma: no cover - only stdio transports lack one
        raise RuntimeError("no HTTP request behind this MCP message")
    return request


def jsonrpc_error(code: int, message: str, status: int = 400) -> Response:
    """A JSON-RPC error answered at the HTTP layer (before any MCP session exists)."""
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}, status)


class McpEndpoint:
    """An ASGI app serving one MCP server at whatever exact path routes to it."""

    def __init__(self, server: Server[Any, Any], mode: TransportMode, gate: Gate | None = None) -> None:
        self.server = server
        self.mode = mode
        self.gate = gate
        self._managers = {
            m: StreamableHTTPSessionManager(
                server, json_response=m.endswith("json"), stateless=m.startswith("stateless")
            )
            for m in TRANSPORT_MODES
        }

    def set_mode(self, mode: str) -> None:
        if mode not in TRANSPORT_MODES:
            raise ValueError(f"unknown MCP transport mode {mode!r}; choose one of {', '.join(TRANSPORT_MODES)}")
        self.mode = mode  # type: ignore[assignment]

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        """Every mode's session manager runs for the whole life of the sandbox, so a switch is instant."""
        async with contextlib.AsyncExitStack() as stack:
            for manager in self._managers.values():
                await stack.enter_async_context(manager.run())
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.gate is not None:
            refused = await self.gate(Request(scope, receive))
            if refused is not None:
                await refused(scope, receive, send)
                return
        if scope["method"] in ("GET", "DELETE") and self.mode.startswith("stateless"):
            # Without sessions there is no stream to open and nothing to close (the library would hold a GET
            # open for ever): say so, as a JSON-RPC error.
            refusal = jsonrpc_error(
                -32000,
                f"Method Not Allowed: {scope['method']} needs an MCP session, and this endpoint is stateless",
                status=405,
            )
            refusal.headers["Allow"] = "POST"
            await refusal(scope, receive, send)
            return
        await self._managers[self.mode].handle_request(scope, receive, send)


def text_result(payload: Any) -> str:
    """Tool results travel as JSON text in ``content[0].text`` (compact, keys in insertion order)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
