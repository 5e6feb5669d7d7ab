"""Hosted MCP tools: the model server itself lists and calls a remote MCP server, as OpenAI's Responses API does.

A ``{"type": "mcp", "server_label", "server_url", "headers", "authorization", "require_approval",
"allowed_tools"}`` tool makes the server connect with the mcp client (streamable HTTP, the given headers, and
``authorization`` as a Bearer token), list the tools once per conversation (an ``mcp_list_tools`` item already in
the input is reused) and call them while the model asks for them. ``require_approval`` defaults to ``"always"``,
like OpenAI's; ``{"never": {"tool_names": [...]}}`` exempts tools, anything unlisted needs approval.

Only MCP servers on this machine are reachable (127.0.0.0/8, localhost, ::1): the sandbox never leaves it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.types import CallToolResult, TextContent

from sandbox.model.errors import APIError, invalid, missing, wrong_type

TIMEOUT_S = 30.0
_CONFIG_KEYS = frozenset(
    {
        "type",
        "server_label",
        "server_url",
        "headers",
        "authorization",
        "require_approval",
        "allowed_tools",
        "server_description",
        "connector_id",
        "defer_loading",
    }
)


@dataclass(frozen=True)
class McpServerConfig:
    label: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    require_approval: Any = "always"
    allowed_tools: Any = None

    def needs_approval(self, tool: str) -> bool:
        rule = self.require_approval
        if rule in ("always", None):
            return True
        if rule == "never":
            return False
        if isinstance(rule, dict):
            return tool not in _names((rule.get("never") or {}).get("tool_names"))
        return True

    def offers(self, tool: dict[str, Any]) -> bool:
        allowed = self.allowed_tools
        if allowed is None:
            return True
        if isinstance(allowed, list):
            return tool["name"] in allowed
        names = _names(allowed.get("tool_names")) if isinstance(allowed, dict) else set()
        if names and tool["name"] not in names:
            return False
        if isinstance(allowed, dict) and allowed.get("read_only"):
            return bool((tool.get("annotations") or {}).get("readOnlyHint"))
        return True


def _names(value: Any) -> set[str]:
    return {str(v) for v in value} if isinstance(value, list) else set()


def parse_config(tool: dict[str, Any], index: int) -> McpServerConfig:
    where = f"tools[{index}]"
    unknown = set(tool) - _CONFIG_KEYS
    if unknown:
        name = sorted(unknown)[0]
        raise APIError(f"Unknown parameter: '{where}.{name}'.", param=f"{where}.{name}", code="unknown_parameter")
    label = tool.get("server_label")
    if not isinstance(label, str) or not label:
        raise missing(f"{where}.server_label")
    if tool.get("connector_id"):
        raise invalid(
            "The sandbox model reaches MCP servers by 'server_url' only; connectors are not available.",
            f"{where}.connector_id",
            "unsupported_value",
        )
    url = tool.get("server_url")
    if not isinstance(url, str) or not url:
        raise missing(f"{where}.server_url")
    _check_local(url, f"{where}.server_url")
    headers = tool.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise wrong_type(f"{where}.headers", "an object of strings")
    headers = dict(headers)
    if isinstance(tool.get("authorization"), str):
        headers["Authorization"] = f"Bearer {tool['authorization']}"
    approval = tool.get("require_approval", "always")
    if not (approval in ("always", "never", None) or isinstance(approval, dict)):
        raise invalid(
            f"Invalid value: '{approval}'. Supported values are: 'always', 'never', or a filter object.",
            f"{where}.require_approval",
        )
    allowed = tool.get("allowed_tools")
    if allowed is not None and not isinstance(allowed, list | dict):
        raise wrong_type(f"{where}.allowed_tools", "an array of tool names or a filter object")
    return McpServerConfig(label, url, headers, approval, allowed)


def _check_local(url: str, param: str) -> None:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise invalid(f"Invalid '{param}': expected an http(s) URL.", param)
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = host == "localhost" or host.endswith(".localhost")
    if not local:
        raise invalid(
            f"The sandbox model only reaches MCP servers on this machine (127.0.0.1, localhost); {host!r} is not one.",
            param,
            "unsupported_value",
        )


class ListToolsError(APIError):
    def __init__(self, label: str, reason: str) -> None:
        super().__init__(
            f"Error retrieving tool list from MCP server: '{label}'. {reason}",
            param="tools",
            code="http_error",
            status=424,
            kind="external_connector_error",
        )


class HostedServer:
    """One MCP server. Each listing and each call runs in a session of its own, so a failing server can only
    fail that operation (a shared session would tear down the whole response with it)."""

    def __init__(self, config: McpServerConfig) -> None:
        self.config = config

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[ClientSession]:
        http = create_mcp_http_client(headers=dict(self.config.headers), timeout=httpx.Timeout(TIMEOUT_S))
        async with (
            http,
            streamable_http_client(self.config.url, http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            with anyio.fail_after(TIMEOUT_S):
                await session.initialize()
            yield session

    async def list_tools(self) -> list[dict[str, Any]]:
        tools: list[dict[str, Any]] = []
        try:
            async with self._session() as session:
                cursor: str | None = None
                while True:
                    with anyio.fail_after(TIMEOUT_S):
                        page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
                    tools += [
                        {
                            "name": t.name,
                            "description": t.description,
                            "input_schema": t.inputSchema,
                            "annotations": t.annotations.model_dump(exclude_none=True) if t.annotations else None,
                        }
                        for t in page.tools
                    ]
                    cursor = page.nextCursor
                    if not cursor:
                        break
        except Exception as exc:  # any transport or protocol failure ends the response with a 424
            raise ListToolsError(self.config.label, _reason(exc)) from None
        return [t for t in tools if self.config.offers(t)]

    async def call(self, name: str, arguments: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """(output, error) of one tool call."""
        try:
            async with self._session() as session:
                with anyio.fail_after(TIMEOUT_S):
                    result = await session.call_tool(name, dict(arguments))
        except Exception as exc:  # reported in the mcp_call item, as OpenAI does
            return None, f"Error calling tool {name!r}: {_reason(exc)}"
        text = _text(result)
        return (None, text) if result.isError else (text, None)


def _text(result: CallToolResult) -> str:
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    if texts:
        return "\n".join(texts)
    if result.structuredContent is not None:
        return json.dumps(result.structuredContent, ensure_ascii=False)
    return ""


def _reason(exc: BaseException) -> str:
    """The innermost cause, with the HTTP status when there is one (as OpenAI reports it)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, httpx.HTTPStatusError):
        return f"Http status code: {exc.response.status_code} ({exc.response.reason_phrase})"
    if isinstance(exc, TimeoutError):
        return "The MCP server did not answer in time."
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
