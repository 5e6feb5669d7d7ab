"""The session MCP endpoint: the three transport modes, the legacy handshake, and protocol-level misuse."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from sandbox import Sandbox
from tests.sandbox.bitbucket.helpers import state_digest
from tests.sandbox.composio.helpers import BASE, KEY, create_session, mcp_client, rest, set_transport, wrapper

ACCEPT = "application/json, text/event-stream"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


def post(url: str, body: Any, session_id: str | None = None, accept: str = ACCEPT) -> httpx.Response:
    headers = {"x-api-key": KEY, "accept": accept}
    if session_id:
        headers["mcp-session-id"] = session_id
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    return httpx.post(
        url, headers={**headers, "content-type": "application/json"}, timeout=10, trust_env=False, **kwargs
    )


def test_stateful_sse_legacy_handshake(sandbox: Sandbox) -> None:
    set_transport(sandbox, "stateful-sse")
    url = create_session(sandbox)["mcp"]["url"]
    init = post(url, INIT)
    session_id = init.headers.get("mcp-session-id")
    assert init.status_code == 200 and init.headers["content-type"].startswith("text/event-stream")
    assert session_id and '"serverInfo"' in init.text
    assert post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session_id).status_code == 202
    listed = post(url, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, session_id)
    assert "COMPOSIO_SEARCH_TOOLS" in listed.text and listed.text.startswith("event: message")
    headers = {"x-api-key": KEY, "mcp-session-id": session_id, "accept": "text/event-stream"}
    with httpx.stream("GET", url, headers=headers, timeout=10, trust_env=False) as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
    closed = httpx.delete(url, headers={"x-api-key": KEY, "mcp-session-id": session_id}, trust_env=False)
    assert closed.status_code == 200
    assert post(url, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, session_id).status_code == 404


def test_stateless_json_answers_each_request_alone(sandbox: Sandbox) -> None:
    session = create_session(sandbox)
    url = session["mcp"]["url"]  # the default mode
    init = post(url, INIT)
    assert init.status_code == 200 and init.headers["content-type"].startswith("application/json")
    assert "mcp-session-id" not in init.headers
    listed = post(url, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
    assert listed.json()["result"]["tools"][0]["name"] == "COMPOSIO_SEARCH_TOOLS"
    headers = {"x-api-key": KEY, "accept": "text/event-stream"}
    assert httpx.get(url, headers=headers, timeout=10, trust_env=False).status_code == 405  # no GET stream
    assert httpx.delete(url, headers=headers, timeout=10, trust_env=False).status_code == 405
    with rest(sandbox) as c:
        assert c.delete(f"{BASE}/{session['session_id']}").status_code == 200
    gone = post(url, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
    assert gone.status_code == 404 and gone.json()["error"]["slug"] == "ToolRouterV2_SessionNotFound"


def test_protocol_misuse_gets_clear_errors_not_500s(sandbox: Sandbox) -> None:
    url = create_session(sandbox)["mcp"]["url"]
    malformed = post(url, b"{not json")
    wrong_accept = post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, accept="text/html")
    not_jsonrpc = post(url, {"hello": "world"})
    unknown_method = post(url, {"jsonrpc": "2.0", "id": 4, "method": "tools/explode"})
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == -32700
    assert wrong_accept.status_code == 406 and wrong_accept.json()["error"]["message"].startswith("Not Acceptable")
    assert not_jsonrpc.status_code == 400 and "error" in not_jsonrpc.json()
    assert unknown_method.status_code < 500 and unknown_method.json()["error"]["code"] in (-32601, -32602)


def test_tools_the_session_does_not_serve_are_is_error(sandbox: Sandbox) -> None:
    """Unknown names are protocol misuse (isError); a failed tool run is a normal result (isError false)."""
    session = create_session(sandbox)
    before = state_digest(sandbox)

    async def run() -> list[tuple[bool | None, dict[str, Any]]]:
        async with mcp_client(session["mcp"]["url"], {"x-api-key": KEY}) as (mcp, _):
            calls = [
                ("BITBUCKET_DELETE_REPOSITORY", {"workspace": "acme", "repo_slug": "widgets"}),
                ("NOT_A_TOOL", {}),
                ("COMPOSIO_MULTI_EXECUTE_TOOL", {"tools": "all of them"}),
            ]
            return [(r.isError, wrapper(r)) for r in [await mcp.call_tool(n, a) for n, a in calls]]

    direct, unknown, invalid = asyncio.run(run())
    assert direct[0] is True and "run it through COMPOSIO_MULTI_EXECUTE_TOOL" in direct[1]["error"]
    assert unknown == (True, {"data": {}, "error": "Tool NOT_A_TOOL not found in this session.", "successful": False})
    assert invalid[0] is False and invalid[1]["error"].endswith("tools: Input should be a valid list")
    assert state_digest(sandbox) == before


def test_settings_switch_is_validated_and_is_error_is_configurable(sandbox: Sandbox) -> None:
    for bad in ({"mcp_transport": "carrier-pigeon"}, {"nope": 1}, {"mcp_is_error_on_failure": "yes"}):
        assert sandbox.admin.patch("/composio/settings", json=bad).status_code == 400, bad
    assert sandbox.admin.patch("/composio/settings", json={"mcp_is_error_on_failure": True}).status_code == 200
    session = create_session(sandbox, "user-nobody")

    async def run() -> tuple[bool | None, dict[str, Any]]:
        async with mcp_client(session["mcp"]["url"], {"x-api-key": KEY}) as (mcp, _):
            result = await mcp.call_tool(
                "COMPOSIO_MULTI_EXECUTE_TOOL", {"tools": [{"tool_slug": "BITBUCKET_GET_CURRENT_USER", "arguments": {}}]}
            )
            return result.isError, wrapper(result)

    is_error, out = asyncio.run(run())
    assert is_error is True and out["error"] == "1 out of 1 tools failed"
    sandbox.reset()
    assert sandbox.admin.get("/composio/settings").json()["mcp_is_error_on_failure"] is False
