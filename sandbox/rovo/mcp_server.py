"""The low-level MCP server: tools/list filtered by the caller's scopes, tools/call checked and dispatched.

Both handlers re-authenticate from the HTTP request behind the message (in stateful modes a session outlives
the request that opened it), so every message acts with the credential it was sent with.

* A tool the caller cannot see (or that does not exist) -> JSON-RPC error -32602 ``Tool <name> not found``,
  as observed; the handler is registered directly because the SDK's decorator would turn it into a tool error.
* Everything else that goes wrong is a tool result with ``isError: true``: bad arguments, an action whose
  scope the token lacks, an unlinked workspace, a Bitbucket error, Bitbucket unreachable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema
from mcp import types
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import McpError

from sandbox.bitbucket.world import World
from sandbox.mcp_http import current_request
from sandbox.rovo import errors
from sandbox.rovo.actions import EXECUTORS, Call
from sandbox.rovo.auth import AUTH_ERROR_CODE, AuthError, Caller, authenticate
from sandbox.rovo.errors import ToolError
from sandbox.rovo.settings import RovoSettings
from sandbox.rovo.tools import ToolSpec, allowed, visible_tools
from sandbox.upstream import BitbucketUpstream

log = logging.getLogger("sandbox.rovo")

# The real server's serverInfo is not recorded anywhere we found; these are chosen.
SERVER_NAME = "Atlassian MCP Server"
SERVER_VERSION = "1.0.0"
INVALID_PARAMS = -32602


class RovoTools:
    """Lists and runs the tools for whoever sent the message being handled."""

    def __init__(self, world: World, upstream: BitbucketUpstream, settings: Callable[[], RovoSettings]) -> None:
        self.world = world
        self.upstream = upstream
        self.settings = settings
        self.server: Server[Any, Any] = Server(SERVER_NAME, SERVER_VERSION)
        self.server.request_handlers[types.ListToolsRequest] = self.list_tools
        self.server.request_handlers[types.CallToolRequest] = self.call_tool

    def caller(self) -> Caller:
        request = current_request(self.server)
        try:
            return authenticate(self.world, request.headers.get("authorization"))
        except AuthError as exc:
            raise McpError(types.ErrorData(code=AUTH_ERROR_CODE, message=exc.message)) from None

    async def list_tools(self, request: types.ListToolsRequest) -> types.ServerResult:
        tools = visible_tools(self.caller().scopes, self.settings())
        return types.ServerResult(types.ListToolsResult(tools=[t.tool() for t in tools]))

    async def call_tool(self, request: types.CallToolRequest) -> types.ServerResult:
        caller = self.caller()
        name = request.params.name
        tool = next((t for t in visible_tools(caller.scopes, self.settings()) if t.name == name), None)
        if tool is None:
            raise McpError(types.ErrorData(code=INVALID_PARAMS, message=f"Tool {name} not found"))
        arguments = dict(request.params.arguments or {})
        try:
            text = await self.run(tool, arguments, caller)
        except ToolError as exc:
            return _result(exc.text, error=True)
        except httpx.HTTPError as exc:
            return _result(f"Could not reach Bitbucket: {type(exc).__name__}: {exc}", error=True)
        except Exception:  # a tool must answer, never take the session down
            log.exception("tool %s failed", name)
            return _result(f"Internal error in the Rovo MCP server while running {name}.", error=True)
        return _result(text)

    async def run(self, tool: ToolSpec, arguments: dict[str, Any], caller: Caller) -> str:
        action = self._check(tool, arguments, caller)
        call = Call(tool.name, action, arguments, caller, self.world, self.upstream)
        return await EXECUTORS[(tool.name, action)](call)

    def _check(self, tool: ToolSpec, arguments: dict[str, Any], caller: Caller) -> str:
        """The action to run, once the caller may run it with these arguments; ToolError otherwise."""
        if not tool.actions:
            return ""
        name = arguments.get("action")
        action = tool.action(name) if isinstance(name, str) else None
        if action is None:
            problem = "Missing required parameter 'action'" if name is None else f"Unknown action {name!r}"
            raise ToolError(f"{problem} for {tool.name}. Valid actions: {', '.join(a.name for a in tool.actions)}.")
        if not allowed(action, caller.scopes, self.settings()):
            if action.group in self.settings().blocked_permission_groups:
                raise errors.blocked_group(tool.name, action.name, action.group)
            raise errors.missing_scope(tool.name, action.name, action.scope, caller.is_service_account)
        for param in action.required:  # before the schema, so a missing parameter is named the same way
            if arguments.get(param) is None or arguments.get(param) == "":
                raise errors.missing_parameter(tool.name, action.name, param)
        _validate(tool, arguments)
        self._check_workspace(arguments, caller)
        return action.name

    def _check_workspace(self, arguments: dict[str, Any], caller: Caller) -> None:
        """Bitbucket tools only reach workspaces linked to the organisation."""
        ref = arguments.get("workspaceId")
        if ref is None:
            return
        ws = self.world.workspace(ref)
        if ws is None or ws["linked_to_org"]:
            return  # an unknown workspace: Bitbucket says so itself
        if self.world.can_see_workspace(caller.credential, ws["slug"]):
            raise errors.not_linked(ref)
        raise ToolError(f"Bitbucket API error (HTTP 404): Workspace {ref} not found")


def _validate(tool: ToolSpec, arguments: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(tool.schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "arguments"
        raise ToolError(f"Invalid arguments for {tool.name}: {where}: {error.message}")
    for key, hint in (
        ("workspaceId", "a workspace slug such as acme"),
        ("repoId", "a repository slug such as widgets; the workspace goes in workspaceId"),
    ):
        if "/" in str(arguments.get(key, "")):
            raise ToolError(f"Invalid arguments for {tool.name}: {key} must be {hint}, not a path.")


def _result(text: str, error: bool = False) -> types.ServerResult:
    return types.ServerResult(types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=error))
