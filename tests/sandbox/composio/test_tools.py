"""Every Bitbucket tool, through REST execute, directly over MCP, and through COMPOSIO_MULTI_EXECUTE_TOOL."""

from __future__ import annotations

import asyncio

import pytest

from sandbox import Sandbox
from tests.sandbox.composio.cases import CASES, USER, Case, prepare
from tests.sandbox.composio.helpers import composio, create_session, execute, mcp_client, set_transport, wrapper


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_tool_via_rest_execute(sandbox: Sandbox, case: Case) -> None:
    ctx = prepare(sandbox)
    session = create_session(sandbox, USER)
    r = execute(sandbox, session["session_id"], case.slug, case.arguments(ctx))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["result_type"], body["error"]) == ("completed", None), body
    assert body["log_id"].startswith("log_")
    case.check(sandbox, ctx, body["data"])


def test_every_tool_directly_over_mcp(sandbox: Sandbox) -> None:
    """The direct_tools preset lists the 18 Bitbucket tools themselves (and no meta tool); stateless-json transport."""
    ctx = prepare(sandbox)
    session = composio(sandbox).create(user_id=USER, toolkits=["bitbucket"], session_preset="direct_tools", mcp=True)

    async def run() -> None:
        async with mcp_client(session.mcp.url, session.mcp.headers) as (client, session_id):
            assert session_id() is None  # stateless: no Mcp-Session-Id
            listed = sorted(t.name for t in (await client.list_tools()).tools)
            assert listed == sorted(c.slug for c in CASES)
            for case in CASES:
                result = await client.call_tool(case.slug, case.arguments(ctx))
                out = wrapper(result)
                assert (result.isError, out["successful"], out["error"]) == (False, True, None), (case.slug, out)
                case.check(sandbox, ctx, out["data"])

    asyncio.run(run())


def test_every_tool_in_one_multi_execute_over_stateful_json(sandbox: Sandbox) -> None:
    ctx = prepare(sandbox)
    set_transport(sandbox, "stateful-json")
    session = composio(sandbox).create(user_id=USER, toolkits=["bitbucket"], mcp=True)
    calls = [{"tool_slug": c.slug, "arguments": c.arguments(ctx)} for c in CASES]

    async def run() -> dict[str, object]:
        async with mcp_client(session.mcp.url, session.mcp.headers) as (client, session_id):
            assert session_id()  # the stateful handshake hands out an Mcp-Session-Id
            result = await client.call_tool("COMPOSIO_MULTI_EXECUTE_TOOL", {"tools": calls})
            assert result.isError is False
            return wrapper(result)

    out = asyncio.run(run())
    assert (out["successful"], out["error"]) == (True, None)
    data = out["data"]
    assert isinstance(data, dict)
    assert (data["total_count"], data["success_count"], data["error_count"]) == (len(CASES), len(CASES), 0)
    for i, (case, item) in enumerate(zip(CASES, data["results"], strict=True)):
        assert (item["tool_slug"], item["index"], item["response"]["successful"]) == (case.slug, i, True)
        assert "error" not in item
        case.check(sandbox, ctx, item["response"]["data"])
