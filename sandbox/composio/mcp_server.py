"""The session MCP server at ``/tool_router/{session_id}/mcp``: tools/list and tools/call for one session.

One low-level ``mcp`` server serves every session; each handler reads the session id from the path of the
HTTP request behind the JSON-RPC message. Tool results are Composio's wrapper ``{data, error, successful}`` as
JSON text in ``content[0].text``.

``isError`` (UNKNOWN on the real service): a tool that ran and failed, or was refused by the session's rules
(no connection, invalid arguments), is a normal result with ``successful: false``, because that is what the
model needs to read and act on. ``isError: true`` is kept for protocol misuse, a tool name the session does not
serve. Settings.mcp_is_error_on_failure makes every failed result ``isError: true`` instead.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mcp import types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import McpError
from starlette.requests import Request

from sandbox.composio.bitbucket_tools import BITBUCKET_TOOLS
from sandbox.composio.errors import CONNECT_HINT, NO_ACTIVE_CONNECTION, ComposioApiError, ToolResult
from sandbox.composio.sessions import MULTI, SEARCH, Session
from sandbox.mcp_http import current_request, text_result

if TYPE_CHECKING:
    from sandbox.composio.service import ComposioService

log = logging.getLogger("sandbox.composio")
INSTRUCTIONS = (
    f"Composio Tool Router. Find tools with {SEARCH}, then run them with {MULTI}; connect accounts "
    "with COMPOSIO_MANAGE_CONNECTIONS when a toolkit is not connected."
)


def origin_of(request: Request) -> str:
    """The origin the client used (its Host header), so links handed out work from where the client stands."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}"


def build_server(service: ComposioService) -> Server[Any, Any]:
    server: Server[Any, Any] = Server("Composio Tool Router", version="1.0.0", instructions=INSTRUCTIONS)

    def session() -> tuple[Session, Request]:
        request = current_request(server)
        found = service.sessions.get(str(request.path_params.get("session_id", "")))
        if found is None:  # deleted after the gate let the HTTP request in
            raise McpError(types.ErrorData(code=types.INVALID_PARAMS, message="Tool router session not found"))
        return found, request

    async def list_tools(req: types.ListToolsRequest) -> types.ServerResult:
        current, _ = session()
        tools = [
            types.Tool(name=t.slug, title=t.name, description=t.description, inputSchema=t.input_schema)
            for t in service.router.listed_tools(current)
        ]
        return types.ServerResult(types.ListToolsResult(tools=tools))

    async def call_tool(req: types.CallToolRequest) -> types.ServerResult:
        current, request = session()
        name, arguments = req.params.name, req.params.arguments or {}
        if name not in {t.slug for t in service.router.listed_tools(current)}:
            return _result(ToolResult.failed(_not_served(current, name)), True)
        try:
            result = await service.router.execute(current, name, arguments, origin_of(request))
        except ComposioApiError as exc:
            hint = f" {CONNECT_HINT.format(toolkits=['bitbucket'])}" if exc.slug == NO_ACTIVE_CONNECTION[1] else ""
            result = ToolResult.failed(exc.message + hint)
        except Exception as exc:  # a bug must reach the client as a result, not as a dropped request
            log.exception("tool %s failed", name)
            return _result(ToolResult.failed(f"Internal error: {type(exc).__name__}"), True)
        return _result(result, service.settings.mcp_is_error_on_failure and not result.successful)

    server.request_handlers[types.ListToolsRequest] = list_tools
    server.request_handlers[types.CallToolRequest] = call_tool
    return server


def _not_served(session: Session, name: str) -> str:
    if name in BITBUCKET_TOOLS and MULTI in session.meta_tools():
        return f"Tool {name} is not exposed directly in this session; run it through {MULTI}."
    return f"Tool {name} not found in this session."


def _result(result: ToolResult, is_error: bool) -> types.ServerResult:
    content: list[types.ContentBlock] = [types.TextContent(type="text", text=text_result(result.wrapper()))]
    return types.ServerResult(types.CallToolResult(content=content, isError=is_error))
