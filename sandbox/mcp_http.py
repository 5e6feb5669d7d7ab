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

Around the ``mcp`` library the endpoint adds what the MCP transport and JSON-RPC specifications ask and the library
leaves out: an ``Origin`` header that is neither loopback nor configured is refused with 403 (DNS rebinding; a
request without one, which is what non-browser clients send, is let in), a request for a method that does not
exist is answered -32601 (the library validates it as a known request and answers -32602), and errors raised
before any request id is known carry ``"id": null`` (the library writes the string ``"server-error"``). A
normal close of a stateful session's GET stream is logged at DEBUG, not as an ERROR traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

import anyio
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

TransportMode = Literal["stateful-sse", "stateful-json", "stateless-json"]
TRANSPORT_MODES: tuple[TransportMode, ...] = get_args(TransportMode)

# Checks a request before the MCP layer sees it; returns the response that refuses it, or None to let it in.
Gate = Callable[[Request], Awaitable[Response | None]]


METHOD_NOT_FOUND = -32601
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
ANY_ORIGIN = "*"
# Every JSON-RPC request method a client may send (the library's ClientRequest union).
CLIENT_METHODS = frozenset(
    get_args(request_type.model_fields["method"].annotation)[0] for request_type in get_args(types.ClientRequestType)
)


def current_request(server: Server[Any, Any]) -> Request:
    """The HTTP request behind the JSON-RPC message being handled."""
    request = server.request_context.request
    if not isinstance(request, Request):  # pragma: no cover - only stdio transports lack one
        raise RuntimeError("no HTTP request behind this MCP message")
    return request


def jsonrpc_error(code: int, message: str, status: int = 400) -> Response:
    """A JSON-RPC error answered at the HTTP layer (before any MCP session exists)."""
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}, status)


def origin_allowed(origin: str | None, allowed: Sequence[str]) -> bool:
    """No Origin (a non-browser client), a loopback origin, or one the settings name (``*``: any)."""
    if origin is None or ANY_ORIGIN in allowed:
        return True
    normal = origin.strip().rstrip("/").lower()
    if normal in {a.strip().rstrip("/").lower() for a in allowed}:
        return True
    try:
        parts = urlsplit(normal)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.hostname in LOOPBACK_HOSTS


class McpEndpoint:
    """An ASGI app serving one MCP server at whatever exact path routes to it."""

    def __init__(
        self,
        server: Server[Any, Any],
        mode: TransportMode,
        gate: Gate | None = None,
        allowed_origins: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        self.server = server
        self.mode = mode
        self.gate = gate
        self.allowed_origins = allowed_origins
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
        send = null_error_ids(send)
        origin = Headers(scope=scope).get("origin")
        if not origin_allowed(origin, self.allowed_origins()):
            refusal = jsonrpc_error(-32000, f"Forbidden: origin {origin} is not allowed", status=403)
            await refusal(scope, receive, send)
            return
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
        manager = self._managers[self.mode]
        if scope["method"] == "POST":
            body = await read_body(receive)
            receive = replay(body, receive)
            unknown = self._unknown_method(scope, manager, body)
            if unknown is not None:
                await unknown(scope, receive, send)
                return
        await manager.handle_request(scope, receive, send)

    def _unknown_method(self, scope: Scope, manager: StreamableHTTPSessionManager, body: bytes) -> Response | None:
        """-32601 for a request whose method no MCP client may send, once the request is otherwise acceptable."""
        try:
            message = json.loads(body)
        except ValueError:
            return None  # the library answers a parse error
        if not isinstance(message, dict) or "id" not in message or not isinstance(message.get("method"), str):
            return None
        if message["method"] in CLIENT_METHODS:
            return None
        headers: dict[str, str] = {}
        if not self.mode.startswith("stateless"):
            session_id = Headers(scope=scope).get("mcp-session-id")
            if session_id is None or session_id not in getattr(manager, "_server_instances", {}):
                return None  # the library answers the missing or unknown session
            headers["mcp-session-id"] = session_id
        error = {"code": METHOD_NOT_FOUND, "message": f"Method not found: {message['method']}"}
        return JSONResponse({"jsonrpc": "2.0", "id": message["id"], "error": error}, headers=headers)


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """The body again for the library, then whatever the connection says next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def null_error_ids(send: Send) -> Send:
    """``"id": "server-error"`` -> ``"id": null`` in the library's JSON error answers (JSON-RPC 2.0, section 5)."""
    held: Message | None = None

    async def wrapped(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start" and message["status"] >= 400:
            held = message  # an error answer: a JSON body in one piece follows
            return
        if held is not None and message["type"] == "http.response.body":
            start, held = held, None
            body = message.get("body", b"")
            if b'"server-error"' in body and not message.get("more_body", False):
                body = body.replace(b'"id":"server-error"', b'"id":null')
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                start = {**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
                message = {**message, "body": body}
            await send(start)
        await send(message)

    return wrapped


class _NormalStreamClose(logging.Filter):
    """The library logs a client closing its GET stream (a normal end of a stateful session) as an ERROR with a
    ClosedResourceError traceback; it is DEBUG news."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, anyio.ClosedResourceError | anyio.BrokenResourceError):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


logging.getLogger("mcp.server.streamable_http").addFilter(_NormalStreamClose())


def text_result(payload: Any) -> str:
    """Tool results travel as JSON text in ``content[0].text`` (compact, keys in insertion order)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
