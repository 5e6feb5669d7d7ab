"""Each framework's own MCP client lists and calls tools on both MCP paths of the sandbox.

The call reads acme/widgets' README at main through the Bitbucket sandbox, so a pass means the whole chain
(framework client -> MCP server -> loopback REST -> git store) worked, not just the handshake.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from typing import Any

import pytest

from sandbox import Sandbox
from tests.sandbox.mcp.targets import VARIANTS, McpTarget

README_HEADING = "# Widgets"
PATHS = ["composio-default", "composio-direct-tools", "rovo-full"]


def output_text(raw: str) -> str:
    """The README text inside whatever JSON wrapper the server put around it."""
    try:
        return json.dumps(json.loads(raw))
    except json.JSONDecodeError:
        return raw


async def via_openai_agents(target: McpTarget) -> tuple[set[str], str]:
    from agents.mcp import MCPServerStreamableHttp

    async with MCPServerStreamableHttp(
        params={"url": target.url, "headers": target.headers}, cache_tools_list=True, name=target.variant
    ) as server:
        names = {t.name for t in await server.list_tools()}
        result = await server.call_tool(*target.read_call)
        assert not result.isError, result.content
        return names, "".join(getattr(c, "text", "") for c in result.content)


async def via_pydantic_ai(target: McpTarget) -> tuple[set[str], str]:
    from pydantic_ai.mcp import MCPToolset

    toolset: Any = MCPToolset(target.url, headers=target.headers)
    async with toolset:
        names = {t.name for t in await toolset.list_tools()}
        result = await toolset.direct_call_tool(*target.read_call)
        return names, result if isinstance(result, str) else json.dumps(result)


async def via_autogen(target: McpTarget) -> tuple[set[str], str]:
    from autogen_ext.tools.mcp import McpWorkbench, StreamableHttpServerParams

    params = StreamableHttpServerParams(url=target.url, headers=target.headers, timeout=30, sse_read_timeout=60)
    async with McpWorkbench(params) as workbench:
        names = {t["name"] for t in await workbench.list_tools()}
        result = await workbench.call_tool(*target.read_call)
        assert not result.is_error, result.to_text()
        return names, result.to_text()


CLIENTS = {"openai-agents": via_openai_agents, "pydantic-ai": via_pydantic_ai, "autogen": via_autogen}


@pytest.mark.parametrize("variant", PATHS)
@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_framework_client_lists_and_calls(sandbox: Sandbox, client: str, variant: str) -> None:
    target = VARIANTS[variant](sandbox)
    names, text = asyncio.run(CLIENTS[client](target))
    assert target.read_call[0] in names
    assert README_HEADING in output_text(text), text[:500]


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_framework_client_sees_a_wrong_key_refused(sandbox: Sandbox, client: str) -> None:
    target = VARIANTS["rovo-full"](sandbox)
    wrong = McpTarget(
        target.variant, target.url, {"Authorization": "Basic bm9ib2R5QGV4YW1wbGUuY29tOm5vcGU="}, target.read_call
    )
    with pytest.raises(BaseException) as failure:  # each client wraps the 401 its own way (ExceptionGroup, ...)
        asyncio.run(CLIENTS[client](wrong))
    assert failure.type is not AssertionError
    told = "".join(traceback.format_exception(failure.value))
    assert "401" in told, told[-2000:]
